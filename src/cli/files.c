/*
 * files: the `shoal` commands on the namespace, through a node's HTTP
 * API: put, get (trees too, and standard input and output), ls, rm, mv,
 * mkdir, send, lock, unlock, pin, unpin, pins.  The arguments come
 * checked from cmd.c; remote paths are absolute.  Each command prints one
 * clear line on failure and returns the exit status.
 */
#include "cli/cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "cli/cache.h"
#include "cli/client.h"
#include "store/path.h"

#define TREE_DEPTH_MAX 64

/* prefix + escaped path (its leading '/' dropped). */
static int
api_path(struct buf *b, const char *prefix, const char *path)
{
	buf_reset(b);
	while (*path == '/')
		path++;
	if (buf_puts(b, prefix) < 0 || url_path(b, path) < 0)
		return (-ENAMETOOLONG);
	return (0);
}

static int
fail(const char *cmd, const char *what, struct response *r)
{
	return (cli_fail(cmd, what, response_error(r)));
}

static json_t *
body_json(struct response *r)
{
	json_error_t e;

	return (r->body.len ? json_loadb(r->body.data, r->body.len, 0, &e)
			    : NULL);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return (s ? s + 1 : p);
}

/* One request without a body on prefix+path; r is filled. */
static int
simple_request(struct client *c, const char *method, const char *prefix,
	       const char *path, struct response *r)
{
	struct buf p;
	int rc;

	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	if (api_path(&p, prefix, path) < 0) {
		buf_release(&p);
		memset(r, 0, sizeof(*r));
		return (-ENAMETOOLONG);
	}
	rc = client_request(c, method, p.data, NULL, NULL, 0, -1, 0, -1, r);
	buf_release(&p);
	return (rc);
}

/* The listing of a folder, or NULL with r->status saying why. */
static json_t *
list_dir(struct client *c, const char *path, struct response *r)
{
	json_t *j;

	if (simple_request(c, "GET", "/v1/list/", path, r) < 0 ||
	    r->status != 200)
		return (NULL);
	j = body_json(r);
	return (json_is_array(json_object_get(j, "entries")) ? j : NULL);
}

static int
by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	const char *p = json_string_value(json_object_get(*x, "name"));
	const char *q = json_string_value(json_object_get(*y, "name"));

	return (strcmp(p ? p : "", q ? q : ""));
}

/* The entries array sorted by name, in place. */
static void
sort_entries(json_t *entries)
{
	size_t n = json_array_size(entries), i;
	json_t **v;

	if (n < 2 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(entries, i));
	qsort(v, n, sizeof(*v), by_name);
	json_array_clear(entries);
	for (i = 0; i < n; i++)
		json_array_append_new(entries, v[i]);
	free(v);
}

/* put */

/* Standard input into an unnamed temporary file: PUT needs a length. */
static int
stdin_to_temp(uint64_t *size)
{
	const char *t = getenv("TMPDIR");
	char path[FS_PATH_MAX], b[65536];
	struct stat st;
	ssize_t n;
	int fd;

	if (t == NULL || t[0] != '/')
		t = "/tmp";
	if ((fd = open(t, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		if (str_fmt(path, sizeof(path), "%s/shoal-stdin-XXXXXX", t) <
			0 ||
		    (fd = mkstemp(path)) < 0)
			return (-errno);
		(void)unlink(path);
	}
	while ((n = read(STDIN_FILENO, b, sizeof(b))) != 0) {
		if (n < 0 || write(fd, b, (size_t)n) != n) {
			close(fd);
			return (-EIO);
		}
	}
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return (-errno);
	}
	*size = (uint64_t)st.st_size;
	return (fd);
}

/* Uploads fd (size bytes) to remote; prints a failure.  r is kept. */
static int
put_fd(struct client *c, int fd, uint64_t size, const char *remote,
       struct response *r)
{
	struct buf p;

	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	if (api_path(&p, "/v1/files/", remote) < 0) {
		buf_release(&p);
		memset(r, 0, sizeof(*r));
		return (cli_fail("put", remote, "path too long"));
	}
	/* 200 or 201 means stored, even should the rest of the answer be
	 * cut; the status is what counts. */
	(void)client_request(c, "PUT", p.data, NULL, NULL, 0, fd, size, -1, r);
	buf_release(&p);
	if (r->status == 200 || r->status == 201)
		return (0);
	if (r->status != 0)
		return (fail("put", remote, r));
	return (1);
}

/* One folder; with parents, one that is there already is fine. */
static int
mkdir_one(struct client *c, const char *p, bool parents)
{
	struct response r;
	int rc = 0;

	if (simple_request(c, "POST", "/v1/mkdir/", p, &r) < 0 &&
	    r.status == 0) {
		response_release(&r);
		return (1);
	}
	if (r.status == 409 && parents) {
		response_release(&r);
		json_decref(list_dir(c, p, &r));
		if (r.status != 200)
			rc = r.status ? cli_fail("mkdir", p,
						 "exists and is "
						 "not a folder")
				      : 1;
	} else if (r.status != 201)
		rc = fail("mkdir", p, &r);
	response_release(&r);
	return (rc);
}

/* POST /v1/mkdir; with parents, each missing parent too. */
static int
make_dir(struct client *c, const char *path, bool parents, bool quiet)
{
	size_t l;
	char *p, *s;
	int rc = 0;

	if ((p = cli_abs(path)) == NULL)
		return (1);
	while ((l = strlen(p)) > 1 && p[l - 1] == '/')
		p[l - 1] = '\0';
	for (s = parents ? strchr(p + 1, '/') : NULL;; s = strchr(s + 1, '/')) {
		bool last = s == NULL;

		if (!last)
			*s = '\0';
		if (p[1] != '\0' &&
		    (rc = mkdir_one(c, p, parents || !last)) != 0)
			break;
		if (last)
			break;
		*s = '/';
	}
	if (rc == 0 && !quiet) {
		if (c->json) {
			json_t *j = json_pack("{s:s}", "created", p);

			cli_print_json(j);
			json_decref(j);
		} else
			printf("mkdir: %s\n", p);
	}
	free(p);
	return (rc);
}

struct tree_file {
	char *local;
	char *remote;
	uint64_t size;
};

struct tree {
	struct tree_file *v;
	size_t n, cap;
	uint64_t bytes;
};

static int
tree_add(struct tree *t, const char *local, const char *remote, uint64_t size)
{
	struct tree_file *nv;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		if ((nv = realloc(t->v, t->cap * sizeof(*nv))) == NULL)
			return (-ENOMEM);
		t->v = nv;
	}
	t->v[t->n].local = strdup(local);
	t->v[t->n].remote = strdup(remote);
	t->v[t->n].size = size;
	if (t->v[t->n].local == NULL || t->v[t->n].remote == NULL) {
		free(t->v[t->n].local);
		free(t->v[t->n].remote);
		return (-ENOMEM);
	}
	t->n++;
	t->bytes += size;
	return (0);
}

static void
tree_release(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].local);
		free(t->v[i].remote);
	}
	free(t->v);
}

static int
by_entry_name(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Makes the remote folders of a local tree and lists its files. */
static int
put_walk(struct client *c, const char *local, const char *remote,
	 struct tree *t, int depth)
{
	char lp[FS_PATH_MAX], rp[PATH_LEN_MAX + 2];
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (depth > TREE_DEPTH_MAX)
		return (cli_fail("put", local, "folders nested too deep"));
	if (make_dir(c, remote, true, true) != 0)
		return (1);
	if ((d = opendir(local)) == NULL)
		return (cli_fail("put", local, strerror(errno)));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? 2 * cap : 32;
			if ((nv = realloc(names, cap * sizeof(*nv))) == NULL)
				break;
			names = nv;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	/* A stable order: the same tree uploads the same way. */
	if (n)
		qsort(names, n, sizeof(*names), by_entry_name);
	for (i = 0; i < n && rc == 0; i++) {
		if (str_fmt(lp, sizeof(lp), "%s/%s", local, names[i]) < 0 ||
		    str_fmt(rp, sizeof(rp), "%s%s%s", remote,
			    remote[1] ? "/" : "", names[i]) < 0) {
			rc = cli_fail("put", lp, "path too long");
			break;
		}
		if (lstat(lp, &st) < 0)
			rc = cli_fail("put", lp, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = put_walk(c, lp, rp, t, depth + 1);
		else if (S_ISREG(st.st_mode) &&
			 tree_add(t, lp, rp, (uint64_t)st.st_size) < 0)
			rc = cli_fail("put", lp, "out of memory");
		/* symbolic links and special files are not copied */
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return (rc);
}

static int
put_tree(struct client *c, const char *local, const char *remote)
{
	struct tree t = {0};
	struct response r;
	struct timespec ts;
	json_t *stored = json_array();
	size_t i;
	int rc, fd;

	rc = put_walk(c, local, remote, &t, 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->prog_total = t.bytes;
	c->prog_base = 0;
	c->prog_t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	for (i = 0; i < t.n && rc == 0; i++) {
		if ((fd = open(t.v[i].local, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = cli_fail("put", t.v[i].local, strerror(errno));
			break;
		}
		rc = put_fd(c, fd, t.v[i].size, t.v[i].remote, &r);
		close(fd);
		if (rc == 0)
			json_array_append_new(
			    stored,
			    json_pack("{s:s, s:I}", "path", t.v[i].remote,
				      "size", (json_int_t)t.v[i].size));
		response_release(&r);
		c->prog_base += t.v[i].size;
	}
	if (rc == 0)
		client_progress_end(c, "put");
	c->prog_total = 0;
	if (rc == 0 && c->json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:O}", "path", remote,
				      "files", (json_int_t)t.n, "bytes",
				      (json_int_t)t.bytes, "stored", stored);

		cli_print_json(j);
		json_decref(j);
	} else if (rc == 0)
		printf("stored %s: %zu file(s), %llu bytes\n", remote, t.n,
		       (unsigned long long)t.bytes);
	json_decref(stored);
	tree_release(&t);
	return (rc);
}

int
files_put(struct client *c, const struct cli_args *a)
{
	const char *local = a->pos[0];
	char remote[PATH_LEN_MAX + 2];
	struct response r;
	struct stat st;
	uint64_t size = 0;
	int fd, rc;

	/* REMOTE ending in '/' is a folder: the file keeps its name. */
	if (str_copy(remote, sizeof(remote), a->path[1]) < 0)
		return (cli_fail("put", a->path[1], "path too long"));
	if (remote[strlen(remote) - 1] == '/' && !(a->opts & CLI_OPT_R)) {
		if (strcmp(local, "-") == 0)
			return (cli_fail("put", remote,
					 "standard input needs "
					 "a file name, not a folder"));
		if (str_fmt(remote + strlen(remote),
			    sizeof(remote) - strlen(remote), "%s",
			    base_name(local)) < 0)
			return (cli_fail("put", remote, "path too long"));
	}
	if (a->opts & CLI_OPT_R) {
		size_t l = strlen(remote);

		if (stat(local, &st) < 0)
			return (cli_fail("put -r", local, strerror(errno)));
		if (!S_ISDIR(st.st_mode))
			return (cli_fail("put -r", local, "not a folder"));
		/* put -r DIR /dest/ copies DIR into /dest/DIR */
		if (l > 1 && remote[l - 1] == '/') {
			char lc[FS_PATH_MAX];
			const char *b;

			(void)str_copy(lc, sizeof(lc), local);
			while (strlen(lc) > 1 && lc[strlen(lc) - 1] == '/')
				lc[strlen(lc) - 1] = '\0';
			b = base_name(lc);
			if (str_fmt(remote + l, sizeof(remote) - l, "%s", b) <
			    0)
				return (cli_fail("put", remote,
						 "path too "
						 "long"));
		}
		while (strlen(remote) > 1 && remote[strlen(remote) - 1] == '/')
			remote[strlen(remote) - 1] = '\0';
		return (put_tree(c, local, remote));
	}
	if (strcmp(local, "-") == 0) {
		if ((fd = stdin_to_temp(&size)) < 0)
			return (cli_fail("put", "-", strerror(-fd)));
	} else {
		if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			rc = cli_fail("put", local,
				      fd < 0 ? strerror(errno)
				      : S_ISDIR(st.st_mode)
					  ? "a folder (use put -r)"
					  : "not a regular file");
			if (fd >= 0)
				close(fd);
			return (rc);
		}
		size = (uint64_t)st.st_size;
	}
	rc = put_fd(c, fd, size, remote, &r);
	close(fd);
	if (rc == 0) {
		if (c->json)
			cli_print_body(&r);
		else
			printf("stored %s (%llu bytes, sha256 %.*s)\n", remote,
			       (unsigned long long)size, 64,
			       r.etag[0] == '"' ? r.etag + 1 : r.etag);
	}
	response_release(&r);
	return (rc);
}

/* get */

/* A download that did not end well: the node's reason, or a cut. */
static int
get_failed(const char *remote, struct response *r)
{
	if (r->status == 200 || r->status == 206)
		return (cli_fail("get", remote,
				 "the node closed the "
				 "connection before the whole file came"));
	return (r->status ? fail("get", remote, r) : 1);
}

/*
 * One file: through the cache when there is one, so an unchanged file
 * moves no data.  dest NULL: standard output.  *from_cache tells.
 */
static int
get_one(struct client *c, const struct cache *cache, const char *remote,
	const char *dest, bool *from_cache)
{
	char key[65], etag[80], extra[160], tmp[FS_PATH_MAX];
	struct response r;
	struct buf p;
	bool cached = false;
	int fd, rc;

	*from_cache = false;
	extra[0] = '\0';
	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	if (api_path(&p, "/v1/files/", remote) < 0) {
		buf_release(&p);
		return (cli_fail("get", remote, "path too long"));
	}
	if (cache->max > 0) {
		cache_key(c->base, remote, key);
		if (cache_etag(cache, key, etag, sizeof(etag)) == 0) {
			cached = true;
			(void)str_fmt(extra, sizeof(extra),
				      "If-None-Match: "
				      "%s\r\n",
				      etag);
		}
		fd = cache_begin(cache, key);
	} else if (dest == NULL)
		fd = STDOUT_FILENO;
	else if (str_fmt(tmp, sizeof(tmp), "%s.shoal-part", dest) < 0)
		fd = -ENAMETOOLONG;
	else
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		buf_release(&p);
		return (cli_fail("get", remote,
				 cache->max > 0 ? "cannot "
						  "write the cache"
						: strerror(errno)));
	}
	rc = client_request(c, "GET", p.data, extra, NULL, 0, -1, 0, fd, &r);
	buf_release(&p);
	if (fd != STDOUT_FILENO && close(fd) < 0)
		rc = -EIO;
	if (cache->max == 0) {
		if (rc == 0 && r.status == 200) {
			if (dest && rename(tmp, dest) < 0)
				rc = -errno;
		} else {
			if (dest)
				(void)unlink(tmp);
			rc = get_failed(remote, &r);
			response_release(&r);
			return (rc);
		}
	} else if (rc == 0 && r.status == 304 && cached) {
		*from_cache = true;
		rc = cache_copy_out(cache, key, dest);
		cache_discard(cache, key);
	} else if (rc == 0 && r.status == 200) {
		if ((rc = cache_commit(cache, key, r.etag)) == 0)
			rc = cache_copy_out(cache, key, dest);
	} else {
		cache_discard(cache, key);
		rc = get_failed(remote, &r);
		response_release(&r);
		return (rc);
	}
	if (cache->max > 0)
		cache_evict(cache, key);
	response_release(&r);
	if (rc < 0) {
		char why[FS_PATH_MAX + 128];

		(void)snprintf(why, sizeof(why), "cannot write %s: %s",
			       dest ? dest : "standard output", strerror(-rc));
		return (cli_fail("get", remote, why));
	}
	return (0);
}

/* Makes the local folders of a remote tree and lists its files. */
static int
get_walk(struct client *c, const char *remote, const char *local,
	 struct tree *t, int depth)
{
	char lp[FS_PATH_MAX], rp[PATH_LEN_MAX + 2];
	struct response r;
	json_t *j, *e;
	size_t i;
	int rc = 0;

	if (depth > TREE_DEPTH_MAX)
		return (cli_fail("get", remote, "folders nested too deep"));
	if ((j = list_dir(c, remote, &r)) == NULL) {
		rc = get_failed(remote, &r);
		response_release(&r);
		return (rc);
	}
	response_release(&r);
	/* Listed first: a folder that is not there makes nothing here. */
	if (mkdir(local, 0755) < 0 && errno != EEXIST) {
		json_decref(j);
		return (cli_fail("get", local, strerror(errno)));
	}
	sort_entries(json_object_get(j, "entries"));
	json_array_foreach(json_object_get(j, "entries"), i, e)
	{
		const char *name =
		    json_string_value(json_object_get(e, "name"));
		const char *type =
		    json_string_value(json_object_get(e, "type"));

		/* A symlink is listed, not copied: its target is. */
		if (name == NULL || type == NULL || strchr(name, '/') ||
		    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strcmp(type, "link") == 0)
			continue;
		if (str_fmt(lp, sizeof(lp), "%s/%s", local, name) < 0 ||
		    str_fmt(rp, sizeof(rp), "%s%s%s", remote,
			    remote[1] ? "/" : "", name) < 0) {
			rc = cli_fail("get", rp, "path too long");
			break;
		}
		if (strcmp(type, "dir") == 0)
			rc = get_walk(c, rp, lp, t, depth + 1);
		else if (tree_add(t, lp, rp,
				  (uint64_t)json_integer_value(
				      json_object_get(e, "size"))) < 0)
			rc = cli_fail("get", rp, "out of memory");
		if (rc)
			break;
	}
	json_decref(j);
	return (rc);
}

static int
get_tree(struct client *c, const struct cache *cache, const char *remote,
	 const char *local)
{
	struct tree t = {0};
	struct timespec ts;
	size_t i, hits = 0;
	bool hit;
	int rc;

	rc = get_walk(c, remote, local, &t, 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->prog_total = t.bytes;
	c->prog_base = 0;
	c->prog_t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	for (i = 0; i < t.n && rc == 0; i++) {
		rc = get_one(c, cache, t.v[i].remote, t.v[i].local, &hit);
		hits += hit;
		c->prog_base += t.v[i].size;
	}
	if (rc == 0)
		client_progress_end(c, "get");
	c->prog_total = 0;
	if (rc == 0 && c->json) {
		json_t *j =
		    json_pack("{s:s, s:s, s:I, s:I, s:I}", "path", remote,
			      "dir", local, "files", (json_int_t)t.n, "bytes",
			      (json_int_t)t.bytes, "cached", (json_int_t)hits);

		cli_print_json(j);
		json_decref(j);
	} else if (rc == 0)
		printf("%s -> %s: %zu file(s), %llu bytes (%zu from cache)\n",
		       remote, local, t.n, (unsigned long long)t.bytes, hits);
	tree_release(&t);
	return (rc);
}

int
files_get(struct client *c, const struct cli_args *a)
{
	const char *remote = a->path[0], *out = a->out	      ? a->out
						: a->npos > 1 ? a->pos[1]
							      : NULL;
	char dest[FS_PATH_MAX];
	struct cache cache;
	struct stat st;
	bool hit, to_stdout = out && strcmp(out, "-") == 0;
	FILE *say = to_stdout ? stderr : stdout;
	int rc;

	if (cache_open(&cache) < 0) {
		client_err("get: no cache folder (set XDG_CACHE_HOME or HOME, "
			   "or SHOAL_CACHE_MAX=0)");
		return (1);
	}
	if (a->opts & CLI_OPT_R) {
		if (to_stdout)
			return (cli_fail("get -r", remote,
					 "a tree cannot go "
					 "to standard output"));
		return (get_tree(c, &cache, remote,
				 out		       ? out
				 : strcmp(remote, "/") ? base_name(remote)
						       : "."));
	}
	if (base_name(remote)[0] == '\0')
		return (cli_fail("get", remote, "a folder (use get -r)"));
	if (out == NULL)
		out = base_name(remote);
	if (to_stdout)
		dest[0] = '\0';
	else if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
		(void)str_fmt(dest, sizeof(dest), "%s/%s", out,
			      base_name(remote));
	else
		(void)str_copy(dest, sizeof(dest), out);
	if ((rc = get_one(c, &cache, remote, to_stdout ? NULL : dest, &hit)) !=
	    0)
		return (rc);
	/* With -o -, standard output is the file: the rest goes to stderr. */
	fflush(stdout);
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:b}", "path", remote, "file",
				      to_stdout ? "-" : dest, "cached", hit);
		char *s = json_dumps(j, JSON_COMPACT);

		if (s)
			fprintf(say, "%s\n", s);
		free(s);
		json_decref(j);
	} else
		fprintf(say, "%s -> %s%s\n", remote,
			to_stdout ? "standard output" : dest,
			hit ? " (from cache, unchanged)" : "");
	return (0);
}

/* ls */

static void
print_entry(json_t *e)
{
	time_t t = (time_t)json_integer_value(json_object_get(e, "mtime"));
	const char *hash = json_string_value(json_object_get(e, "hash"));
	const char *type = json_string_value(json_object_get(e, "type"));
	char when[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%-4s %12lld  %s  %.12s  %s%s\n", type ? type : "?",
	       (long long)json_integer_value(json_object_get(e, "size")), when,
	       hash ? hash : "-           ",
	       json_string_value(json_object_get(e, "name")),
	       type && strcmp(type, "dir") == 0 ? "/" : "");
}

/* ls --all shows paths as everything else does: absolute. */
static void
abs_path_field(json_t *e)
{
	const char *v = json_string_value(json_object_get(e, "path"));
	char *s;

	if (v && v[0] != '/' && (s = cli_abs(v)) != NULL) {
		json_object_set_new(e, "path", json_string(s));
		free(s);
	}
}

/* ls FILE: the file's entry in its folder's listing. */
static json_t *
file_entry(struct client *c, const char *path)
{
	char parent[PATH_LEN_MAX + 2];
	const char *name = base_name(path);
	struct response r;
	json_t *j, *e, *found = NULL;
	size_t i;

	if (str_copy(parent, sizeof(parent), path) < 0)
		return (NULL);
	parent[name - path] = '\0';
	if ((j = list_dir(c, parent, &r)) == NULL) {
		response_release(&r);
		return (NULL);
	}
	response_release(&r);
	json_array_foreach(json_object_get(j, "entries"), i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && strcmp(n, name) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "type")),
			   "dir") != 0) {
			found = json_incref(e);
			break;
		}
	}
	json_decref(j);
	return (found);
}

/*
 * ls --all [PATH]: every file in the network under PATH, with its holders,
 * from the tracker, page by page.  --json prints one {"files": [...]}.
 */
static int
ls_all(struct client *c, const char *path)
{
	json_t *all = json_array(), *j, *e, *h;
	char after[PATH_LEN_MAX + 1] = "", holders[1024];
	struct response r;
	struct buf p;
	size_t i, k;
	int rc = 0;

	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	for (;;) {
		if (api_path(&p, "/v1/all/", path) < 0 ||
		    buf_puts(&p, "?limit=5000&after=") < 0 ||
		    url_path(&p, after) < 0) {
			rc = 1;
			break;
		}
		if (client_request(c, "GET", p.data, NULL, NULL, 0, -1, 0, -1,
				   &r) < 0 ||
		    r.status != 200) {
			rc = r.status ? fail("ls --all", path, &r) : 1;
			response_release(&r);
			break;
		}
		j = body_json(&r);
		response_release(&r);
		json_array_extend(all, json_object_get(j, "files"));
		e = json_object_get(j, "next");
		if (!json_is_string(e) ||
		    str_copy(after, sizeof(after), json_string_value(e)) < 0) {
			json_decref(j);
			break;
		}
		json_decref(j);
	}
	buf_release(&p);
	if (rc == 0 && c->json) {
		j = json_pack("{s:O}", "files", all);
		cli_print_json(j);
		json_decref(j);
	} else if (rc == 0) {
		size_t w = 4;

		json_array_foreach(all, i, e)
		{
			abs_path_field(e);
			if (cli_width(json_string_value(
				json_object_get(e, "path"))) > w)
				w = cli_width(json_string_value(
				    json_object_get(e, "path")));
		}
		cli_pad("PATH", w);
		printf(" %12s  %-12s  %-24s  %s\n", "SIZE", "SHA256", "VERSION",
		       "HOLDERS");
		json_array_foreach(all, i, e)
		{
			holders[0] = '\0';
			json_array_foreach(json_object_get(e, "holders"), k,
					   h)(void)
			    str_fmt(holders + strlen(holders),
				    sizeof(holders) - strlen(holders), "%s%.8s",
				    k ? "," : "", json_string_value(h));
			cli_pad(json_string_value(json_object_get(e, "path")),
				w);
			printf(" %12lld  %.12s  %-24s  %s\n",
			       (long long)json_integer_value(
				   json_object_get(e, "size")),
			       json_string_value(json_object_get(e, "sha256")),
			       json_string_value(json_object_get(e, "version")),
			       holders);
		}
	}
	json_decref(all);
	return (rc);
}

int
files_ls(struct client *c, const struct cli_args *a)
{
	const char *path = a->npos ? a->path[0] : "/";
	struct response r;
	json_t *j, *e;
	size_t i;
	int rc;

	if (a->opts & CLI_OPT_ALL)
		return (ls_all(c, path));
	if ((j = list_dir(c, path, &r)) == NULL) {
		/* Not a folder: perhaps a file, shown alone. */
		if (r.status != 0 && strcmp(path, "/") != 0 &&
		    (e = file_entry(c, path)) != NULL) {
			j = json_pack("{s:s, s:[o]}", "path", path, "entries",
				      e);
		} else {
			rc = r.status ? fail("ls", path, &r) : 1;
			response_release(&r);
			return (rc);
		}
	}
	response_release(&r);
	sort_entries(json_object_get(j, "entries"));
	if (c->json)
		cli_print_json(j);
	else
		json_array_foreach(json_object_get(j, "entries"), i, e)
		    print_entry(e);
	json_decref(j);
	return (0);
}

/* lock PATH [--ttl SECONDS], unlock PATH */
static int
lock_cmd(struct client *c, const struct cli_args *a, bool lock)
{
	const char *path = a->path[0];
	char body[64] = "";
	struct response r;
	struct buf p;
	json_t *j;
	int rc;

	if (a->opts & CLI_OPT_TTL)
		(void)str_fmt(body, sizeof(body), "{\"ttl\": %llu}",
			      (unsigned long long)a->ttl);
	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	if (api_path(&p, "/v1/locks/", path) < 0) {
		buf_release(&p);
		return (cli_fail(a->cmd->name, path, "path too long"));
	}
	rc = client_request(c, lock ? "POST" : "DELETE", p.data,
			    body[0] ? "Content-Type: application/json\r\n"
				    : NULL,
			    body[0] ? body : NULL, strlen(body), -1, 0, -1, &r);
	buf_release(&p);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? fail(a->cmd->name, path, &r) : 1;
		response_release(&r);
		return (rc);
	}
	j = body_json(&r);
	if (c->json)
		cli_print_body(&r);
	else if (lock) {
		const char *owner =
		    json_string_value(json_object_get(j, "owner"));
		bool named = owner && strcmp(owner, "(node)") != 0;

		printf(
		    "locked %s: token %lld, held by %s%snode %.8s until %s\n",
		    path,
		    (long long)json_integer_value(json_object_get(j, "token")),
		    named ? owner : "", named ? " on " : "",
		    json_string_value(json_object_get(j, "holder")),
		    json_string_value(json_object_get(j, "expires")));
	} else
		printf("unlocked %s\n", path);
	json_decref(j);
	response_release(&r);
	return (0);
}

int
files_lock(struct client *c, const struct cli_args *a)
{
	return (lock_cmd(c, a, true));
}

int
files_unlock(struct client *c, const struct cli_args *a)
{
	return (lock_cmd(c, a, false));
}

/* pins: the paths kept on this node whatever the placement. */
int
files_pins(struct client *c, const struct cli_args *a)
{
	struct response r;
	json_t *j, *p;
	size_t i;
	int rc;

	if (client_request(c, "GET", "/v1/pins", NULL, NULL, 0, -1, 0, -1, &r) <
		0 ||
	    r.status != 200) {
		rc = r.status ? fail(a->cmd->name, "/", &r) : 1;
		response_release(&r);
		return (rc);
	}
	j = body_json(&r);
	if (c->json)
		cli_print_body(&r);
	else
		json_array_foreach(json_object_get(j, "pins"), i, p)
		    printf("/%s\n", json_string_value(p) +
					(json_string_value(p)[0] == '/'));
	json_decref(j);
	response_release(&r);
	return (0);
}

/* rm, send, pin, unpin: one request on one path. */
static int
one_path(struct client *c, const struct cli_args *a, const char *method,
	 const char *prefix, int ok, const char *done)
{
	const char *path = a->path[0];
	struct response r;
	json_t *j;
	int rc;

	rc = simple_request(c, method, prefix, path, &r);
	if (rc < 0 || r.status != ok) {
		rc = r.status ? fail(a->cmd->name, path, &r) : 1;
		response_release(&r);
		return (rc);
	}
	j = body_json(&r);
	if (j == NULL)
		j = json_pack("{s:s}", done, path);
	if (c->json)
		cli_print_json(j);
	else if (json_object_get(j, "members"))
		printf("offered %s to %lld member(s)\n", path,
		       (long long)json_integer_value(
			   json_object_get(j, "members")));
	else
		printf("%s %s\n", done, path);
	json_decref(j);
	response_release(&r);
	return (0);
}

int
files_rm(struct client *c, const struct cli_args *a)
{
	return (one_path(c, a, "DELETE", "/v1/files/", 204, "removed"));
}

int
files_send(struct client *c, const struct cli_args *a)
{
	return (one_path(c, a, "POST", "/v1/send/", 200, "offered"));
}

int
files_pin(struct client *c, const struct cli_args *a)
{
	return (one_path(c, a, "POST", "/v1/pins/", 200, "pinned"));
}

int
files_unpin(struct client *c, const struct cli_args *a)
{
	return (one_path(c, a, "DELETE", "/v1/pins/", 200, "unpinned"));
}

int
files_mkdir(struct client *c, const struct cli_args *a)
{
	return (make_dir(c, a->path[0], (a->opts & CLI_OPT_P) != 0, false));
}

int
files_mv(struct client *c, const struct cli_args *a)
{
	struct response r;
	char *body;
	json_t *j;
	int rc;

	j = json_pack("{s:s, s:s}", "from", a->path[0], "to", a->path[1]);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		return (cli_fail("mv", a->path[0], "out of memory"));
	rc = client_request(c, "POST", "/v1/move",
			    "Content-Type: "
			    "application/json\r\n",
			    body, strlen(body), -1, 0, -1, &r);
	free(body);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? fail("mv", a->path[0], &r) : 1;
		response_release(&r);
		return (rc);
	}
	if (c->json)
		cli_print_body(&r);
	else
		printf("moved %s -> %s\n", a->path[0], a->path[1]);
	response_release(&r);
	return (0);
}
