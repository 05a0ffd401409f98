/*
 * Tests for versions (store/versions.h, store/index_vers.h) and the time
 * parser a point-in-time restore takes (base/rfc3339.h):
 *   - RFC 3339: the forms accepted, every prefix of them and the bad ones
 *     refused, the calendar's ranges, and format -> parse round trips;
 *   - vers_decide, the rule of a point-in-time restore, as a table;
 *   - a real store: uploads and deletes keep the old content (identical
 *     bytes once), versions.keep prunes the oldest first, pressure and
 *     age pruning go oldest first, a pruned row stays as a record, and a
 *     restore makes a new version whose replaced content is kept again.
 */
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/rfc3339.h"
#include "store/hash.h"
#include "store/index.h"
#include "store/index_vers.h"
#include "store/store.h"
#include "store/upload.h"
#include "store/versions.h"

/* RFC 3339 */

static int
parse(const char *s, size_t len, int64_t *ns)
{
	/* A copy of exactly len bytes: the parser must not read past. */
	char *b = malloc(len ? len : 1);
	int rc;

	assert_non_null(b);
	memcpy(b, s, len);
	rc = rfc3339_parse(b, len, ns);
	free(b);
	return (rc);
}

static void
test_time_forms(void **state)
{
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2026-12-03T14:00:00Z", 1796306400LL * 1000000000},
	    {"2026-12-03t14:00:00z", 1796306400LL * 1000000000},
	    {"2026-12-03 14:00:00Z", 1796306400LL * 1000000000},
	    {"2026-12-03T15:30:00+01:30", 1796306400LL * 1000000000},
	    {"2026-12-03T12:00:00-02:00", 1796306400LL * 1000000000},
	    {"2026-12-03T14:00:00.5Z", 1796306400LL * 1000000000 + 500000000},
	    {"2026-12-03T14:00:00.123456789123Z",
	     1796306400LL * 1000000000 + 123456789},
	    {"2024-02-29T00:00:00Z", 1709164800LL * 1000000000},
	    {"2016-12-31T23:59:60Z", 1483228799LL * 1000000000},
	};
	int64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ns = -1;
		assert_int_equal(parse(ok[i].s, strlen(ok[i].s), &ns), 0);
		assert_int_equal(ns, ok[i].ns);
	}
}

static void
test_time_bad(void **state)
{
	static const char *bad[] = {
	    "",
	    "yesterday",
	    "2026-12-03",
	    "2026-12-03T14:00:00",
	    "2026-13-01T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-12-03T24:00:00Z",
	    "2026-12-03T14:60:00Z",
	    "2026-12-03T14:00:61Z",
	    "2026-12-03T14:00:00.Z",
	    "2026-12-03T14:00:00+1:00",
	    "2026-12-03T14:00:00+24:00",
	    "2026-12-03T14:00:00Zx",
	    "1969-12-31T23:59:59Z",
	    "1970-01-01T00:00:00+00:01",
	    "2201-01-01T00:00:00Z",
	    "9999-12-31T23:59:59Z",
	    "+2026-12-03T14:00:00Z",
	    "2026-12-03T14:00:00\nZ",
	    "2026-12-03T14:00:00."
	    "00000000000000000000000000000000000000000000000Z",
	};
	const char *good = "2026-12-03T14:00:00.25+01:00";
	int64_t ns = 7;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], strlen(bad[i]), &ns), -EINVAL);
		assert_int_equal(ns, 7);
	}
	/* A time cut short anywhere is not a time. */
	for (n = 0; n < strlen(good); n++)
		assert_int_equal(parse(good, n, &ns), -EINVAL);
	assert_int_equal(parse(good, strlen(good), &ns), 0);
}

static void
test_time_round_trip(void **state)
{
	static const int64_t t[] = {
	    0,
	    1,
	    999999999,
	    1000000000,
	    951782400LL * 1000000000,
	    1796306400LL * 1000000000 + 42,
	    4102444799LL * 1000000000,
	};
	char out[RFC3339_LEN];
	int64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rfc3339_format(t[i], out);
		assert_int_equal(parse(out, strlen(out), &ns), 0);
		assert_int_equal(ns, t[i]);
	}
	rfc3339_format(1796306400LL * 1000000000, out);
	assert_string_equal(out, "2026-12-03T14:00:00Z");
}

/* vers_decide */

#define S(x) ((int64_t)(x)*1000000000)

static struct vers_row
row(uint8_t content, int64_t mtime, int64_t kept, enum vers_kind kind,
    bool pruned)
{
	struct vers_row r;

	memset(&r, 0, sizeof(r));
	memset(r.sha256, content, HASH_LEN);
	r.mtime_ns = mtime;
	r.kept_ns = kept;
	r.kind = (uint8_t)kind;
	r.pruned = pruned;
	return (r);
}

static void
test_decide(void **state)
{
	struct vers_row rows[4];
	struct vers_live live = {.exists = true, .mtime_ns = S(200)};
	size_t pick = 99;

	(void)state;
	memset(live.sha256, 9, HASH_LEN);
	/* Written before T and not touched since: unchanged. */
	live.mtime_ns = S(50);
	assert_int_equal(vers_decide(&live, NULL, 0, S(100), &pick),
			 VERS_UNCHANGED);
	/* Made after T, nothing known from before: to the trash. */
	live.mtime_ns = S(200);
	assert_int_equal(vers_decide(&live, NULL, 0, S(100), &pick),
			 VERS_DO_TRASH);
	/* Overwritten after T: the newest content from before T. */
	rows[0] = row(1, S(10), S(60), VERS_VERSION, false);
	rows[1] = row(2, S(60), S(200), VERS_VERSION, false);
	rows[2] = row(3, S(150), S(200), VERS_VERSION, false);
	assert_int_equal(vers_decide(&live, rows, 3, S(100), &pick),
			 VERS_DO_RESTORE);
	assert_int_equal(pick, 1);
	/* ... which was pruned: lost. */
	rows[1].pruned = true;
	assert_int_equal(vers_decide(&live, rows, 3, S(100), &pick), VERS_LOST);
	assert_int_equal(pick, 1);
	/* Deleted after T: it comes back. */
	live.exists = false;
	rows[0] = row(4, S(10), S(150), VERS_TRASH, false);
	assert_int_equal(vers_decide(&live, rows, 1, S(100), &pick),
			 VERS_DO_RESTORE);
	assert_int_equal(pick, 0);
	/* Deleted before T, made again after: to the trash again. */
	live.exists = true;
	rows[0] = row(4, S(10), S(50), VERS_TRASH, false);
	assert_int_equal(vers_decide(&live, rows, 1, S(100), &pick),
			 VERS_DO_TRASH);
	/* Deleted before T and absent now: unchanged. */
	live.exists = false;
	assert_int_equal(vers_decide(&live, rows, 1, S(100), &pick),
			 VERS_UNCHANGED);
	/* The live content is already the old one (restored before). */
	live.exists = true;
	memset(live.sha256, 2, HASH_LEN);
	rows[0] = row(2, S(60), S(200), VERS_VERSION, false);
	assert_int_equal(vers_decide(&live, rows, 1, S(100), &pick),
			 VERS_UNCHANGED);
	/* Of two kept copies of one content, the later-kept decides. */
	live.exists = false;
	rows[0] = row(5, S(60), S(70), VERS_TRASH, false);
	rows[1] = row(5, S(60), S(150), VERS_VERSION, false);
	assert_int_equal(vers_decide(&live, rows, 2, S(100), &pick),
			 VERS_DO_RESTORE);
	assert_int_equal(pick, 1);
}

/* A real store */

static char dir[64];
static struct store st;

static int
setup(void **state)
{
	char p[128], err[256] = "";
	FILE *f;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/shoal-versions-XXXXXX");
	assert_non_null(mkdtemp(dir));
	(void)snprintf(p, sizeof(p), "%s/.shoal", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/.shoal/node_id", dir);
	assert_non_null(f = fopen(p, "w"));
	fputs("00112233445566778899aabbccddeeff\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(store_open(&st, dir, err, sizeof(err)), 0);
	st.keep.keep = 3;
	return (0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	store_close(&st);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return (system(cmd) == 0 ? 0 : -1);
}

static void
write_version(const char *path, const char *text)
{
	struct upload *up;
	struct iovec iov = {(void *)text, strlen(text)};

	assert_int_equal(store_make_parents(&st, path), 0);
	assert_int_equal(upload_begin(&st, path, UPLOAD_NEW, 0, &up), 0);
	assert_int_equal(upload_write(up, &iov, 1), 0);
	assert_int_equal(upload_flush(up), 0);
	assert_int_equal(upload_commit(up, NULL), 0);
	upload_abort(up);
}

struct seen {
	struct vers_row r[16];
	char path[16][64];
	int n;
};

static int
see(const char *path, const struct vers_row *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16) {
		snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
		s->r[s->n++] = *r;
	}
	return (0);
}

static void
sha_of(const char *text, uint8_t out[HASH_LEN])
{
	struct hasher h;

	assert_int_equal(hasher_init(&h), 0);
	assert_int_equal(hasher_update(&h, text, strlen(text)), 0);
	assert_int_equal(hasher_final(&h, out), 0);
	hasher_release(&h);
}

static int
blobs(void)
{
	struct dirent *de;
	char p[128];
	DIR *d;
	int n = 0;

	(void)snprintf(p, sizeof(p), "%s/.shoal/versions", dir);
	assert_non_null(d = opendir(p));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
unpruned(struct seen *s)
{
	struct seen all = {0};
	int i;

	memset(s, 0, sizeof(*s));
	(void)index_vers_list(st.index, "a.txt", see, &all);
	for (i = 0; i < all.n; i++)
		if (!all.r[i].pruned)
			see(all.path[i], &all.r[i], s);
}

static void
test_keep_prune_restore(void **state)
{
	static const char *v[] = {"one\n", "two\n", "three\n", "four\n",
				  "five\n"};
	uint8_t sha[HASH_LEN];
	struct vers_stats stats;
	struct file_meta m;
	struct seen s;
	bool changed;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		write_version("a.txt", v[i]);
	/* keep = 3: the newest three old contents, newest first. */
	unpruned(&s);
	assert_int_equal(s.n, 3);
	for (i = 0; i < 3; i++) {
		sha_of(v[3 - i], sha);
		assert_memory_equal(s.r[i].sha256, sha, HASH_LEN);
		assert_int_equal(s.r[i].kind, VERS_VERSION);
	}
	assert_int_equal(blobs(), 3);
	/* The pruned rows stay as records, without bytes. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(index_vers_list(st.index, "a.txt", see, &s), 4);
	assert_true(s.r[3].pruned && !s.r[2].pruned);
	assert_int_equal(vers_open(&st, "a.txt", s.r[3].id, &s.r[15]),
			 -ENODATA);
	assert_int_equal(vers_open(&st, "a.txt", "0123-4", &s.r[15]), -ENOENT);
	/* A restore is a new version; what it replaced is kept. */
	unpruned(&s);
	assert_int_equal(vers_restore(&st, "a.txt", s.r[2].id, &changed), 0);
	assert_true(changed);
	assert_int_equal(index_get(st.index, "a.txt", &m), 0);
	sha_of(v[1], sha);
	assert_memory_equal(m.sha256, sha, HASH_LEN);
	unpruned(&s);
	sha_of(v[4], sha);
	assert_memory_equal(s.r[0].sha256, sha, HASH_LEN);
	/* keep = 3 again: "two", kept first, went; its bytes too. */
	assert_int_equal(s.n, 3);
	assert_int_equal(blobs(), 3);
	/* A delete goes to the trash. */
	assert_int_equal(store_unlink(&st, "a.txt"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(index_vers_trash(st.index, "", see, &s), 1);
	assert_string_equal(s.path[0], "a.txt");
	sha_of(v[1], sha);
	assert_memory_equal(s.r[0].sha256, sha, HASH_LEN);
	assert_int_equal(blobs(), 4);
	/* Identical bytes under two names are stored once. */
	write_version("d.txt", "five\n");
	write_version("e.txt", "five\n");
	assert_int_equal(store_unlink(&st, "d.txt"), 0);
	assert_int_equal(store_unlink(&st, "e.txt"), 0);
	assert_int_equal(blobs(), 4);
	assert_int_equal(vers_stats(&st, &stats), 0);
	assert_int_equal(stats.c.count[VERS_TRASH], 3);
	assert_int_equal(stats.c.count[VERS_VERSION], 3);
	assert_int_equal(stats.prunes, 2);
}

static void
test_prune_oldest_first(void **state)
{
	struct vers_stats stats;
	struct seen s;
	int64_t now;

	(void)state;
	st.keep.keep = 10;
	write_version("b.txt", "b1\n");
	write_version("b.txt", "b2\n");
	write_version("b.txt", "b3\n");
	write_version("c.txt", "c1\n");
	assert_int_equal(store_unlink(&st, "c.txt"), 0);
	/* Pressure (a floor no disk has): every row goes, oldest first. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(index_vers_oldest(st.index, 16, see, &s), 3);
	assert_true(s.r[0].kept_ns <= s.r[1].kept_ns);
	assert_true(s.r[1].kept_ns <= s.r[2].kept_ns);
	assert_string_equal(s.path[2], "c.txt");
	/* Age: versions older than a day are none of them. */
	st.keep.days = 1;
	now = s.r[2].kept_ns + 1;
	assert_int_equal(vers_prune(&st, now, 0), 0);
	/* A day later, the versions go, the trash (30 days) stays. */
	assert_int_equal(vers_prune(&st, now + 86400LL * 1000000000, 0), 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(index_vers_oldest(st.index, 16, see, &s), 1);
	assert_int_equal(s.r[0].kind, VERS_TRASH);
	assert_int_equal(vers_prune(&st, now, UINT64_MAX), 1);
	assert_int_equal(vers_stats(&st, &stats), 0);
	assert_int_equal(stats.c.count[0] + stats.c.count[1], 0);
	assert_int_equal(stats.pressure_prunes, 1);
	assert_int_equal(blobs(), 0);
}

/* The plan of a point-in-time restore, on a real store. */
struct planned {
	char path[64];
	enum vers_action a;
};

static int
plan_see(const char *path, enum vers_action a, const struct vers_row *r,
	 void *arg)
{
	struct planned *p = arg;
	int i;

	(void)r;
	for (i = 0; p[i].path[0]; i++)
		;
	snprintf(p[i].path, sizeof(p[i].path), "%s", path);
	p[i].a = a;
	return (0);
}

static int64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static void
test_plan(void **state)
{
	struct planned p[16];
	struct file_meta m;
	int64_t t = 0;

	(void)state;
	st.keep.keep = 10;
	write_version("dir/changed.txt", "old\n");
	write_version("dir/deleted.txt", "here\n");
	write_version("dir/same.txt", "same\n");
	write_version("other/changed.txt", "old\n");
	assert_int_equal(index_get(st.index, "dir/same.txt", &m), 0);
	t = m.mtime_ns;
	assert_int_equal(index_get(st.index, "dir/deleted.txt", &m), 0);
	t = m.mtime_ns > t ? m.mtime_ns : t;
	/* File times are coarser than the clock: wait until a write is
	 * sure to be later than t. */
	while (wall_ns() < t + 50000000)
		;
	write_version("dir/changed.txt", "new\n");
	write_version("other/changed.txt", "new\n");
	assert_int_equal(store_unlink(&st, "dir/deleted.txt"), 0);
	write_version("dir/created.txt", "made after\n");
	memset(p, 0, sizeof(p));
	assert_int_equal(vers_plan(&st, "dir", t, plan_see, p), 0);
	/* In path order; the unchanged file and the other folder not. */
	assert_string_equal(p[0].path, "dir/changed.txt");
	assert_int_equal(p[0].a, VERS_DO_RESTORE);
	assert_string_equal(p[1].path, "dir/created.txt");
	assert_int_equal(p[1].a, VERS_DO_TRASH);
	assert_string_equal(p[2].path, "dir/deleted.txt");
	assert_int_equal(p[2].a, VERS_DO_RESTORE);
	assert_string_equal(p[3].path, "");
	/* Everything ("") takes in the other folder too. */
	memset(p, 0, sizeof(p));
	assert_int_equal(vers_plan(&st, "", t, plan_see, p), 0);
	assert_string_equal(p[3].path, "other/changed.txt");
	assert_string_equal(p[4].path, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_forms),
	    cmocka_unit_test(test_time_bad),
	    cmocka_unit_test(test_time_round_trip),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test_setup_teardown(test_keep_prune_restore, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_prune_oldest_first, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
