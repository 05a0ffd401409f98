/*
 * Tests for a whole-folder scan (scan_tree with prune) racing writes.
 *
 * A pruning scan marks every path it walks and, at the end, turns every
 * live row it did not mark into a tombstone: the file was deleted while
 * the node was not watching.  A file that lands in a folder the walk has
 * already passed (a fetched peer version, an upload committing) was not
 * walked either, yet it is anything but deleted.  Before the fix the scan
 * tombstoned it, and the tombstone then deleted it on every node.
 *
 * The walk's folder callback makes that moment happen every time: when
 * the walk enters its second folder, a file is written and indexed in the
 * first one.
 */
#include <errno.h>
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
	(void)snprintf(dir, sizeof(dir), "/tmp/shoal-scanrace-XXXXXX");
	assert_non_null(mkdtemp(dir));
	(void)snprintf(p, sizeof(p), "%s/.shoal", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(".shoal/node_id", "00112233445566778899aabbccddeeff\n");
	(void)snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	(void)snprintf(p, sizeof(p), "%s/b", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	write_file("a/one.txt", "one");
	write_file("b/two.txt", "two");
	write_file("gone.txt", "deleted while the node was down");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

static bool
live(struct store *s, const char *path)
{
	struct file_meta m;

	return (index_get(s->index, path, &m) == 0 && !m.deleted);
}

struct late {
	struct store	*store;
	char		 first[16];
	char		 written[32];
};

/* On the walk's second folder, a file arrives in its first one. */
static void
on_dir(const char *path, void *arg)
{
	struct late *l = arg;
	struct file_meta m;

	if (path[0] == '\0' || l->written[0] != '\0')
		return;
	if (l->first[0] == '\0') {
		(void)snprintf(l->first, sizeof(l->first), "%s", path);
		return;
	}
	(void)snprintf(l->written, sizeof(l->written), "%s/late.txt",
	    l->first);
	write_file(l->written, "arrived during the walk");
	assert_int_equal(store_index_file(l->store, l->written, &m), 0);
}

static void
test_file_landing_behind_the_walk_survives(void **state)
{
	struct scan_stats st;
	struct late l;
	struct store s;
	char err[256] = "", p[128];

	(void)state;
	assert_int_equal(store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(scan_tree(&s, "", 1, NULL, NULL, &st), 0);
	assert_true(live(&s, "gone.txt"));

	(void)snprintf(p, sizeof(p), "%s/gone.txt", dir);
	assert_int_equal(unlink(p), 0);
	memset(&l, 0, sizeof(l));
	l.store = &s;
	assert_int_equal(scan_tree(&s, "", 1, on_dir, &l, &st), 0);
	assert_true(l.written[0] != '\0');

	assert_true(live(&s, l.written));
	assert_true(live(&s, "a/one.txt"));
	assert_true(live(&s, "b/two.txt"));
	/* What was really deleted still is. */
	assert_false(live(&s, "gone.txt"));
	assert_int_equal(st.removed, 1);
	store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_file_landing_behind_the_walk_survives, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
