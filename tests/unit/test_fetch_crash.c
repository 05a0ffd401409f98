/*
 * Tests for a node that stops between a fetch's rename into place and the
 * row that records it.
 *
 * fetch_commit renames the fetched file under its name, then writes its
 * row.  A node killed in between used to leave a file the index did not
 * know; the start-up scan took it for a change made here and gave it a
 * new version of this node's own, which then beat a deletion or a rename
 * made meanwhile by the file's author: a deleted file came back.
 * renameat2 is wrapped (-Wl,--wrap=renameat2 and renameat) so that a
 * child process running fetch_commit exits right after the rename, as if
 * killed there; the parent reopens the store as a restarted node would.
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/fetch.h"
#include "store/hash.h"
#include "store/index.h"
#include "store/scan.h"
#include "store/store.h"

int __real_renameat2(int, const char *, int, const char *, unsigned);
int __wrap_renameat2(int, const char *, int, const char *, unsigned);
int __real_renameat(int, const char *, int, const char *);
int __wrap_renameat(int, const char *, int, const char *);

static bool stop_after_rename;

int
__wrap_renameat2(int ofd, const char *old, int nfd, const char *new,
    unsigned flags)
{
	int rc = __real_renameat2(ofd, old, nfd, new, flags);

	if (rc == 0 && stop_after_rename)
		_exit(0);
	return (rc);
}

int
__wrap_renameat(int ofd, const char *old, int nfd, const char *new)
{
	int rc = __real_renameat(ofd, old, nfd, new);

	if (rc == 0 && stop_after_rename)
		_exit(0);
	return (rc);
}

static char dir[64];
static const uint8_t peer[NODE_ID_LEN] = { 0xaa, 0xbb, 0xcc, 0xdd };
static const char text[] = "a version made on another node";

static void
write_file(const char *rel, const char *content)
{
	char p[256];
	FILE *f;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_non_null(f = fopen(p, "w"));
	assert_true(fputs(content, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	char p[128];

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/shoal-fetchcrash-XXXXXX");
	assert_non_null(mkdtemp(dir));
	(void)snprintf(p, sizeof(p), "%s/.shoal", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(".shoal/node_id", "00112233445566778899aabbccddeeff\n");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* The peer's version of a.txt: its blocks into h (kept), its meta in m. */
static void
peer_version(struct hasher *h, struct file_meta *m, const char *content)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(hasher_init(h), 0);
	assert_int_equal(hasher_update(h, content, strlen(content)), 0);
	assert_int_equal(hasher_final(h, m->sha256), 0);
	m->type = ENTRY_FILE;
	m->size = strlen(content);
	m->mtime_ns = 1700000000LL * 1000000000LL;
	m->blocks = (const uint8_t *)h->blocks.data;
	m->nblocks = h->blocks.len / HASH_LEN;
	assert_int_equal(vv_bump(&m->vv, peer), 0);
	memcpy(m->modified_by, peer, NODE_ID_LEN);
}

/* Runs fetch_commit of m's content in a child that stops after rename. */
static void
commit_and_stop(const struct file_meta *m, const char *content)
{
	int status;
	pid_t pid;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		struct store s;
		struct fetch *f;
		struct iovec iov = { (void *)content, strlen(content) };
		uint8_t have[1];
		char err[256] = "";

		if (store_open(&s, dir, err, sizeof(err)) < 0 ||
		    fetch_begin(&s, "a.txt", m, &f, have) < 0 ||
		    fetch_put_block(f, 0, &iov, 1) < 0)
			_exit(2);
		stop_after_rename = true;
		/* Returns only if nothing was renamed. */
		_exit(fetch_commit(f, "a.txt", NULL, false) < 0 ? 4 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_fetched_file_keeps_its_version_after_a_stop(void **state)
{
	struct file_meta m, cur;
	struct hasher h;
	struct store s;
	char err[256] = "";

	(void)state;
	peer_version(&h, &m, text);
	commit_and_stop(&m, text);
	/* The node starts again: store_open, then the start-up scan. */
	assert_int_equal(store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(scan_path(&s, "a.txt", NULL, NULL), 0);
	assert_int_equal(index_get_any(s.index, "a.txt", &cur, NULL), 0);
	assert_false(cur.deleted);
	assert_memory_equal(cur.sha256, m.sha256, HASH_LEN);
	/* The peer's version, not a new one of this node's. */
	assert_int_equal(vv_compare(&cur.vv, &m.vv), VV_EQUAL);
	assert_memory_equal(cur.modified_by, peer, NODE_ID_LEN);
	store_close(&s);
	hasher_release(&h);
}

static void
test_other_content_under_the_name_is_not_adopted(void **state)
{
	struct file_meta m, cur;
	struct hasher h;
	struct store s;
	char err[256] = "";
	uint8_t self[NODE_ID_LEN];

	(void)state;
	peer_version(&h, &m, text);
	commit_and_stop(&m, text);
	/* A user rewrote the file while the node was down. */
	write_file("a.txt", "edited by hand while the node was down");
	assert_int_equal(store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(scan_path(&s, "a.txt", NULL, NULL), 0);
	assert_int_equal(index_get_any(s.index, "a.txt", &cur, NULL), 0);
	/* A change made here: this node's own version. */
	memcpy(self, s.node_id, NODE_ID_LEN);
	assert_memory_equal(cur.modified_by, self, NODE_ID_LEN);
	assert_memory_not_equal(cur.sha256, m.sha256, HASH_LEN);
	store_close(&s);
	hasher_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_fetched_file_keeps_its_version_after_a_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_other_content_under_the_name_is_not_adopted, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
