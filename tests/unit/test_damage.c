/*
 * Tests for the damage rule (store_is_damaged): a file whose inode and
 * mtime are those of its row but whose size is not was damaged, not
 * edited.  Anything an edit does (a new mtime, a new inode from a
 * replace) or a row that is not a live file is not damage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

#define MTIME	1700000000123456789LL

static void
test_table(void **state)
{
	static const struct {
		uint64_t	 size;		/* on disk */
		uint64_t	 ino;
		int64_t		 mtime_ns;
		int		 type;
		bool		 deleted;
		bool		 damaged;
	} cases[] = {
		{ 0, 7, MTIME, ENTRY_FILE, false, true },	/* truncated */
		{ 500, 7, MTIME, ENTRY_FILE, false, true },	/* half */
		{ 2000, 7, MTIME, ENTRY_FILE, false, true },	/* grown */
		{ 1000, 7, MTIME, ENTRY_FILE, false, false },	/* unchanged */
		{ 0, 7, MTIME + 1, ENTRY_FILE, false, false },	/* an edit */
		{ 0, 8, MTIME, ENTRY_FILE, false, false },	/* replaced */
		{ 0, 7, MTIME, ENTRY_DIR, false, false },
		{ 0, 7, MTIME, ENTRY_FILE, true, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct file_meta row;
		struct stat st;

		memset(&row, 0, sizeof(row));
		memset(&st, 0, sizeof(st));
		row.size = 1000;
		row.ino = 7;
		row.mtime_ns = MTIME;
		row.type = cases[i].type;
		row.deleted = cases[i].deleted;
		st.st_size = (off_t)cases[i].size;
		st.st_ino = cases[i].ino;
		st.st_mtim.tv_sec = cases[i].mtime_ns / 1000000000;
		st.st_mtim.tv_nsec = cases[i].mtime_ns % 1000000000;
		assert_int_equal(store_is_damaged(&row, &st),
		    cases[i].damaged);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
