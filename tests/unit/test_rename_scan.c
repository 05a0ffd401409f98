/*
 * Tests for store_rename against the folder watcher.
 *
 * The watcher sees shoal's own renames and re-examines the paths they
 * touched on the worker pool, at any moment.  The moment that matters is
 * after rename(2) moved the file and before the index followed: there the
 * old path is gone from the disk while its row is still live.  renameat is
 * wrapped (-Wl,--wrap=renameat) so that scan_path, the watcher's own
 * function, runs on the old paths exactly then, every time.
 *
 * What a user would notice: a file moved into a folder that is then
 * renamed is in the folder, but not in the index, so it never reaches
 * the other nodes (and their digests agree, so nothing notices).
 *
 * The watcher's look at a renamed folder at that moment must not be lost
 * either: only that walk moves the folder's watch to its new name.  So
 * scan_path answers -EBUSY there, having done nothing, and the watcher
 * looks again (watch.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/index.h"
#include "store/scan.h"
#include "store/store.h"

int __real_renameat(int, const char *, int, const char *);

static struct store *racing; /* scan these right after each rename(2) */
static const char *race_paths[4];
static int race_rc[4];
static int dirs_seen;

static void
count_dir(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	dirs_seen++;
}

int __wrap_renameat(int, const char *, int, const char *);

int
__wrap_renameat(int ofd, const char *old, int nfd, const char *new)
{
	int rc = __real_renameat(ofd, old, nfd, new), i;

	if (rc == 0 && racing != NULL)
		for (i = 0; i < 4 && race_paths[i] != NULL; i++)
			race_rc[i] = scan_path(racing, race_paths[i], count_dir,
			    NULL);
	return (rc);
}

static char dir[64];

static void
write_file(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_non_null(f = fopen(p, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	char p[128];

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/shoal-rename-XXXXXX");
	assert_non_null(mkdtemp(dir));
	(void)snprintf(p, sizeof(p), "%s/.shoal", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(".shoal/node_id", "00112233445566778899aabbccddeeff\n");
	(void)snprintf(p, sizeof(p), "%s/docs", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	write_file("b.bin", "the moved file");
	write_file("docs/note.txt", "note");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	racing = NULL;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

static bool
live(struct store *s, const char *path)
{
	struct file_meta m;

	return (index_get(s->index, path, &m) == 0);
}

static void
test_move_then_rename_folder(void **state)
{
	struct scan_stats st;
	struct store s;
	char err[256] = "";

	(void)state;
	assert_int_equal(store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(scan_tree(&s, "", 1, NULL, NULL, &st), 0);
	assert_true(live(&s, "b.bin"));
	assert_true(live(&s, "docs/note.txt"));

	racing = &s;
	race_paths[0] = "b.bin";
	race_paths[1] = "docs/b-moved.bin";
	race_paths[2] = NULL;
	assert_int_equal(store_rename(&s, "b.bin", "docs/b-moved.bin"), 0);
	race_paths[0] = "docs/b-moved.bin";
	race_paths[1] = "docs/note.txt";
	race_paths[2] = "docs";
	race_paths[3] = "papers";
	assert_int_equal(store_rename(&s, "docs", "papers"), 0);
	racing = NULL;

	assert_true(live(&s, "papers/b-moved.bin"));
	assert_true(live(&s, "papers/note.txt"));
	assert_true(live(&s, "papers"));
	assert_false(live(&s, "b.bin"));
	assert_false(live(&s, "docs/b-moved.bin"));
	assert_false(live(&s, "docs/note.txt"));
	assert_false(live(&s, "docs"));
	store_close(&s);
}

static void
test_renamed_folder_busy_until_done(void **state)
{
	struct scan_stats st;
	struct store s;
	char err[256] = "";

	(void)state;
	assert_int_equal(store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(scan_tree(&s, "", 1, NULL, NULL, &st), 0);
	racing = &s;
	race_paths[0] = "papers";
	race_paths[1] = NULL;
	dirs_seen = 0;
	assert_int_equal(store_rename(&s, "docs", "papers"), 0);
	racing = NULL;
	/* Mid-rename: nothing done, and the caller told to come back. */
	assert_int_equal(race_rc[0], -EBUSY);
	assert_int_equal(dirs_seen, 0);
	/* Once it is over, the look walks the folder under its new name. */
	assert_int_equal(scan_path(&s, "papers", count_dir, NULL), 0);
	assert_int_equal(dirs_seen, 1);
	assert_true(live(&s, "papers/note.txt"));
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_move_then_rename_folder, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_renamed_folder_busy_until_done,
					    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
