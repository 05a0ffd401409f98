/*
 * Tests for the shared listing filter (front/fsview.h) on a real folder:
 * files, folders, symlinks inside and outside, a FIFO, a socket, a name
 * that is not UTF-8, a name with a control byte and the private folder.
 * Every front end lists through fs_list and fs_stat, so what these see is
 * what FTP (NLST, LIST, MLSD, MLST) and HTTP (/v1/list) show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "front/fsview.h"
#include "store/hash.h"
#include "store/store.h"
#include "store/upload.h"
#include "store/vv.h"

struct fixture {
	char base[64]; /* holds both */
	char dir[256]; /* the shared folder */
	char out[256]; /* a folder beside it */
	struct store s;
};

static void
put(const char *dir, const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
link_at(const char *dir, const char *target, const char *name)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(symlink(target, p), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[1024], err[256] = "", base[] = "/tmp/shoal-fsview-XXXXXX";
	struct sockaddr_un sun;
	int sock;

	assert_non_null(f);
	assert_non_null(mkdtemp(base));
	snprintf(f->base, sizeof(f->base), "%s", base);
	snprintf(f->dir, sizeof(f->dir), "%s/dir", base);
	snprintf(f->out, sizeof(f->out), "%s/outside", base);
	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_int_equal(mkdir(f->out, 0755), 0);
	put(f->out, "secret.txt", "outside");
	snprintf(p, sizeof(p), "%s/.shoal", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	put(p, "node_id", "0123456789abcdef0123456789abcdef\n");
	put(p, "cluster.key", "key");

	put(f->dir, "file.txt", "hello");
	snprintf(p, sizeof(p), "%s/sub", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put(p, "inner.txt", "inner");
	link_at(f->dir, "file.txt", "link-in");
	link_at(f->dir, "sub", "link-dir-in");
	link_at(f->dir, "missing", "link-dangling");
	link_at(f->dir, f->out, "link-out-abs");
	link_at(f->dir, "../outside/secret.txt", "link-out-rel");
	link_at(f->dir, ".shoal/cluster.key", "link-private");
	link_at(f->dir, "fifo", "link-fifo");
	snprintf(p, sizeof(p), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(p, 0644), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%.90s/sock", f->dir);
	assert_true((sock = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(sock);
	put(f->dir, "bad-\xff\xfe-utf8", "x");
	put(f->dir, "ctl\r\n226 forged", "x");
	put(f->dir, "tab\there", "x");
	put(f->dir, "caf\xc3\xa9.txt", "utf-8 is fine");

	assert_int_equal(store_open(&f->s, f->dir, err, sizeof(err)), 0);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[700];

	store_close(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->base);
	assert_int_equal(system(cmd), 0);
	free(f);
	return (0);
}

struct seen {
	char names[64][PATH_NAME_MAX + 1];
	enum fs_type types[64];
	char targets[64][64];
	size_t n;
};

static int
collect(const struct fs_entry *e, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", e->name);
	snprintf(s->targets[s->n], sizeof(s->targets[0]), "%.63s", e->target);
	s->types[s->n++] = e->type;
	return (0);
}

static int
find(const struct seen *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return ((int)i);
	return (-1);
}

/* The folder's listing holds exactly what the filter lets through. */
static void
test_list_root(void **state)
{
	static const struct {
		const char *name;
		enum fs_type type;
		const char *target;
	} shown[] = {
	    {"file.txt", FS_FILE, ""},
	    {"sub", FS_DIR, ""},
	    {"link-in", FS_LINK, "file.txt"},
	    {"link-dir-in", FS_LINK, "sub"},
	    {"link-dangling", FS_LINK, "missing"},
	    {"caf\xc3\xa9.txt", FS_FILE, ""},
	};
	struct fixture *f = *state;
	struct seen s;
	size_t i;
	int k;

	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    fs_list(&f->s, "", FS_LIST_META, FS_LIST_MAX, collect, &s), 0);
	for (i = 0; i < s.n; i++)
		print_message("listed: %s\n", s.names[i]);
	assert_int_equal(s.n, sizeof(shown) / sizeof(shown[0]));
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		k = find(&s, shown[i].name);
		assert_true(k >= 0);
		assert_int_equal(s.types[k], shown[i].type);
		assert_string_equal(s.targets[k], shown[i].target);
	}
}

/* One path at a time, the same answer as the listing. */
static void
test_stat_matches_list(void **state)
{
	static const struct {
		const char *path;
		int rc;
	} cases[] = {
	    {"file.txt", 0},	       {"sub", 0},
	    {"sub/inner.txt", 0},      {"link-in", 0},
	    {"link-dir-in", 0},	       {"link-dangling", 0},
	    {"caf\xc3\xa9.txt", 0},    {"link-out-abs", -ENOENT},
	    {"link-out-rel", -ENOENT}, {"link-private", -ENOENT},
	    {"link-fifo", -ENOENT},    {"fifo", -ENOENT},
	    {"sock", -ENOENT},	       {"bad-\xff\xfe-utf8", -ENOENT},
	    {"tab\there", -ENOENT},    {"nothing", -ENOENT},
	};
	struct fixture *f = *state;
	struct fs_entry *e = malloc(sizeof(*e));
	size_t i;

	assert_non_null(e);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("stat %s\n", cases[i].path);
		assert_int_equal(fs_stat(&f->s, cases[i].path, 0, e),
				 cases[i].rc);
	}
	assert_int_equal(fs_stat(&f->s, "file.txt", FS_LIST_META, e), 0);
	assert_int_equal(e->size, 5);
	assert_true(e->has_meta);
	assert_int_equal(fs_stat(&f->s, "", 0, e), 0);
	assert_int_equal(e->type, FS_DIR);
	free(e);
}

/* Inside a folder: the same filter, and no private folder to hide. */
static void
test_list_sub(void **state)
{
	struct fixture *f = *state;
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(fs_list(&f->s, "sub", 0, FS_LIST_MAX, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "inner.txt");
	assert_int_equal(
	    fs_list(&f->s, "file.txt", 0, FS_LIST_MAX, collect, &s), -ENOTDIR);
}

/* The cap on entries holds. */
static void
test_list_max(void **state)
{
	struct fixture *f = *state;
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(fs_list(&f->s, "", 0, 2, collect, &s), 0);
	assert_int_equal(s.n, 2);
}

/* Records path as a file held only by another node. */
static void
held_elsewhere(struct store *s, const char *path, uint64_t size)
{
	static const uint8_t other[NODE_ID_LEN] = {0xee, 0xee};
	struct file_meta m;

	memset(&m, 0, sizeof(m));
	m.type = ENTRY_FILE;
	m.size = size;
	m.mtime_ns = 1700000000LL * 1000000000LL;
	m.sha256[0] = 0xab;
	memcpy(m.modified_by, other, NODE_ID_LEN);
	assert_int_equal(vv_bump(&m.vv, other), 0);
	assert_int_equal(store_apply_remote(s, path, &m), 0);
}

/* Writes n bytes of b through up (a pool would do it in chunks). */
static void
write_all(struct upload *up, const uint8_t *b, size_t n)
{
	struct iovec iov = {(void *)b, n};

	assert_int_equal(upload_write(up, &iov, 1), 0);
}

/*
 * An upload interrupted and resumed from its partial commits the same
 * file, file hash and block list as one written in one go: the kept
 * prefix is hashed again when the upload resumes.
 */
static void
test_partial_resume_same_blocks(void **state)
{
	struct fixture *f = *state;
	size_t total = 2 * HASH_BLOCK_SIZE + 12345, cut = HASH_BLOCK_SIZE + 777;
	char key[UPLOAD_KEY_LEN + 1], other[UPLOAD_KEY_LEN + 1];
	uint8_t *data = malloc(total), *blocks = NULL, sha[HASH_LEN];
	struct file_meta m, done;
	struct fs_entry e;
	struct hasher h;
	struct upload *up;
	uint64_t have = 0, size = 0;
	size_t i;

	assert_non_null(data);
	for (i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	upload_partial_key("guest", "new.bin", key);
	upload_partial_key("alice", "new.bin", other);
	assert_string_not_equal(key, other);

	assert_int_equal(fs_write_resumable(&f->s, "new.bin", UPLOAD_NEW, 0,
					    key, &have, NULL, &up),
			 0);
	write_all(up, data, cut);
	upload_suspend(up);
	assert_int_equal(fs_partial_size(&f->s, "new.bin", key, &size), 0);
	assert_int_equal(size, cut);
	assert_int_equal(fs_partial_size(&f->s, "new.bin", other, &size),
			 -ENOENT);
	assert_int_equal(fs_stat(&f->s, "new.bin", 0, &e), -ENOENT);

	/* Not its size: refused, and the partial stays. */
	assert_int_equal(fs_write_resumable(&f->s, "new.bin", UPLOAD_NEW,
					    cut + 1, key, &have, NULL, &up),
			 -ERANGE);
	assert_int_equal(have, cut);
	assert_int_equal(fs_partial_size(&f->s, "new.bin", key, &size), 0);
	assert_int_equal(size, cut);

	assert_int_equal(fs_write_resumable(&f->s, "new.bin", UPLOAD_NEW, cut,
					    key, &have, NULL, &up),
			 0);
	assert_int_equal(upload_size(up), cut);
	write_all(up, data + cut, total - cut);
	assert_int_equal(upload_flush(up), 0);
	assert_int_equal(upload_commit(up, &done), 0);
	upload_abort(up);
	assert_int_equal(fs_partial_size(&f->s, "new.bin", key, &size),
			 -ENOENT);

	assert_int_equal(hasher_init(&h), 0);
	assert_int_equal(hasher_update(&h, data, total), 0);
	assert_int_equal(hasher_final(&h, sha), 0);
	assert_memory_equal(done.sha256, sha, HASH_LEN);
	assert_int_equal(index_get_any(f->s.index, "new.bin", &m, &blocks), 0);
	assert_int_equal(m.size, total);
	assert_memory_equal(m.sha256, sha, HASH_LEN);
	assert_int_equal(m.nblocks, h.blocks.len / HASH_LEN);
	assert_memory_equal(blocks, h.blocks.data, h.blocks.len);
	hasher_release(&h);
	free(blocks);
	free(data);
}

/* Partials expire by age; 0 removes them all. */
static void
test_partial_expire(void **state)
{
	struct fixture *f = *state;
	char key[UPLOAD_KEY_LEN + 1];
	struct upload *up;
	uint64_t have = 0, size;

	upload_partial_key("guest", "old.bin", key);
	assert_int_equal(fs_write_resumable(&f->s, "old.bin", UPLOAD_NEW, 0,
					    key, &have, NULL, &up),
			 0);
	write_all(up, (const uint8_t *)"some bytes", 10);
	upload_suspend(up);
	assert_int_equal(upload_partial_expire(&f->s, 3600), 0);
	assert_int_equal(fs_partial_size(&f->s, "old.bin", key, &size), 0);
	assert_int_equal(upload_partial_expire(&f->s, 0), 1);
	assert_int_equal(fs_partial_size(&f->s, "old.bin", key, &size),
			 -ENOENT);
}

/* Rows held elsewhere (replicas = N) pass the same filter. */
static void
test_list_remote(void **state)
{
	struct fixture *f = *state;
	struct fs_entry *e = malloc(sizeof(*e));
	struct seen s;
	int k;

	assert_non_null(e);
	held_elsewhere(&f->s, "sub/far.txt", 42);
	held_elsewhere(&f->s, "sub/bad-\xff-far", 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    fs_list(&f->s, "sub", FS_LIST_META, FS_LIST_MAX, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(find(&s, "inner.txt") >= 0);
	assert_true((k = find(&s, "far.txt")) >= 0);
	assert_int_equal(s.types[k], FS_FILE);
	assert_int_equal(fs_stat(&f->s, "sub/far.txt", FS_LIST_META, e), 0);
	assert_true(e->remote);
	assert_true(e->has_meta);
	assert_int_equal(e->size, 42);
	assert_int_equal(fs_stat(&f->s, "sub/bad-\xff-far", 0, e), -ENOENT);
	free(e);
}

static void
test_name_filter(void **state)
{
	static const struct {
		const char *name;
		bool shown;
	} cases[] = {
	    {"a", true},
	    {"caf\xc3\xa9", true},
	    {"v1..v2", true},
	    {"", false},
	    {".", false},
	    {"..", false},
	    {"a\rb", false},
	    {"a\nb", false},
	    {"del\x7f", false},
	    {"\xff", false},
	    {"\xc0\xaf", false},     /* overlong */
	    {"\xed\xa0\x80", false}, /* surrogate */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(fs_name_shown(cases[i].name), cases[i].shown);
}

static void
test_err_of(void **state)
{
	static const struct {
		int rc;
		enum fs_err e;
	} cases[] = {
	    {0, FS_OK},
	    {-ENOENT, FS_ENOENT},
	    {-EEXIST, FS_EXISTS},
	    {-EISDIR, FS_ISDIR},
	    {-ENOTDIR, FS_NOTDIR},
	    {-ENOSPC, FS_NOSPACE},
	    {-EDQUOT, FS_NOSPACE},
	    {-EACCES, FS_DENIED},
	    {-EBUSY, FS_BUSY},
	    {-EHOSTUNREACH, FS_UNAVAILABLE},
	    {-EIO, FS_IO},
	    {-EPROTO, FS_IO},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(fs_err_of(cases[i].rc), cases[i].e);
}

/* A file's attributes (S3 metadata, WebDAV dead properties) are part of
 * its version: a rename keeps them. */
static void
test_rename_keeps_attrs(void **state)
{
	struct fixture *f = *state;
	static const char attrs[] = "dav:urn:x name value\n";
	struct upload *up;
	struct file_meta m;
	struct iovec iov = {(void *)"bytes", 5};
	char out[INDEX_ATTRS_MAX];
	size_t len = 0;

	assert_int_equal(fs_write_begin(&f->s, "a.txt", UPLOAD_NEW, 0, NULL,
					&up), 0);
	assert_int_equal(upload_write(up, &iov, 1), 0);
	assert_int_equal(upload_set_attrs(up, attrs, sizeof(attrs) - 1), 0);
	assert_int_equal(upload_flush(up), 0);
	assert_int_equal(upload_commit(up, NULL), 0);
	upload_abort(up);
	assert_int_equal(fs_rename(&f->s, "a.txt", "b.txt"), 0);
	assert_int_equal(fs_meta(&f->s, "b.txt", &m), 0);
	assert_int_equal(fs_attrs(&f->s, "b.txt", m.sha256, out, sizeof(out),
				  &len),
			 0);
	assert_int_equal(len, sizeof(attrs) - 1);
	assert_memory_equal(out, attrs, len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stat_matches_list, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_list_sub, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_remote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_resume_same_blocks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_expire, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rename_keeps_attrs, setup,
					    teardown),
	    cmocka_unit_test(test_name_filter),
	    cmocka_unit_test(test_err_of),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
