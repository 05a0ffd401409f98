/*
 * files: the `shoal` commands that go through a node's HTTP API: put, get,
 * ls, rm, mv, mkdir, send, lock, unlock, and the control commands peers,
 * status, add and bye.  Each prints one clear line on failure and returns
 * the exit status.
 */
#include "cli/cli.h"

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
#include "cli/cache.h"
#include "cli/client.h"
#include "store/path.h"

/* "/v1/files/" + escaped path (a leading '/' of the path is dropped). */
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
	fprintf(stderr, "shoal: %s %s: %s\n", cmd, what, response_error(r));
	return (1);
}

static json_t *
body_json(struct response *r)
{
	json_error_t e;

	return (r->body.len ? json_loadb(r->body.data, r->body.len, 0, &e) :
	    NULL);
}

static int
cmd_put(struct client *c, int argc, char **argv)
{
	struct response r;
	struct stat st;
	struct buf p;
	int fd, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: shoal put LOCAL REMOTE\n");
		return (2);
	}
	if ((fd = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "shoal: put: %s: %s\n", argv[1], fd < 0 ?
		    strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return (1);
	}
	buf_init(&p, 16384);
	if (api_path(&p, "/v1/files/", argv[2]) < 0) {
		close(fd);
		return (1);
	}
	rc = client_request(c, "PUT", p.data, NULL, NULL, 0, fd,
	    (uint64_t)st.st_size, -1, &r);
	close(fd);
	buf_release(&p);
	if (rc < 0 || (r.status != 200 && r.status != 201)) {
		rc = rc < 0 && r.status == 0 ? 1 : fail("put", argv[2], &r);
		response_release(&r);
		return (rc ? rc : 1);
	}
	if (c->json)
		fwrite(r.body.data, 1, r.body.len, stdout);
	else
		printf("stored %s (%lld bytes, sha256 %.*s)\n", argv[2],
		    (long long)st.st_size, 64, r.etag[0] == '"' ? r.etag + 1 :
		    r.etag);
	response_release(&r);
	return (0);
}

/* get: through the cache, so an unchanged file moves no data. */
static int
cmd_get(struct client *c, int argc, char **argv)
{
	char key[65], etag[80], dest[4300], extra[160], part[4300];
	const char *remote = NULL, *out = NULL, *base;
	struct cache cache;
	struct response r;
	struct stat st;
	struct buf p;
	bool cached = false;
	int i, fd, rc;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (remote == NULL)
			remote = argv[i];
		else {
			fprintf(stderr, "usage: shoal get REMOTE [-o LOCAL]\n");
			return (2);
		}
	if (remote == NULL) {
		fprintf(stderr, "usage: shoal get REMOTE [-o LOCAL]\n");
		return (2);
	}
	base = strrchr(remote, '/') ? strrchr(remote, '/') + 1 : remote;
	if (out == NULL)
		out = base;
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
		(void)str_fmt(dest, sizeof(dest), "%s/%s", out, base);
	else
		(void)str_copy(dest, sizeof(dest), out);
	if (cache_open(&cache) < 0) {
		fprintf(stderr, "shoal: get: no cache folder (set "
		    "XDG_CACHE_HOME or HOME)\n");
		return (1);
	}
	cache_key(c->base, remote, key);
	extra[0] = '\0';
	if (cache_etag(&cache, key, etag, sizeof(etag)) == 0) {
		cached = true;
		(void)str_fmt(extra, sizeof(extra), "If-None-Match: %s\r\n",
		    etag);
	}
	buf_init(&p, 16384);
	if (api_path(&p, "/v1/files/", remote) < 0 ||
	    (fd = cache_begin(&cache, key)) < 0) {
		buf_release(&p);
		fprintf(stderr, "shoal: get: cannot write the cache\n");
		return (1);
	}
	rc = client_request(c, "GET", p.data, extra, NULL, 0, -1, 0, fd, &r);
	buf_release(&p);
	if (close(fd) < 0)
		rc = -EIO;
	if (rc == 0 && r.status == 304 && cached) {
		rc = cache_copy_out(&cache, key, dest);
		cache_discard(&cache, key);
	} else if (rc == 0 && r.status == 200) {
		if ((rc = cache_commit(&cache, key, r.etag)) == 0)
			rc = cache_copy_out(&cache, key, dest);
	} else {
		cache_discard(&cache, key);
		rc = r.status ? fail("get", remote, &r) : 1;
		response_release(&r);
		return (rc);
	}
	cache_evict(&cache, key);
	if (rc < 0) {
		(void)str_fmt(part, sizeof(part), "%s", dest);
		fprintf(stderr, "shoal: get %s: cannot write %s: %s\n", remote,
		    part, strerror(-rc));
		response_release(&r);
		return (1);
	}
	if (c->json)
		printf("{\"path\": \"%s\", \"file\": \"%s\", \"cached\": %s}\n",
		    remote, dest, r.status == 304 ? "true" : "false");
	else
		printf("%s -> %s%s\n", remote, dest, r.status == 304 ?
		    " (from cache, unchanged)" : "");
	response_release(&r);
	return (0);
}

static int
cmd_ls(struct client *c, int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "";
	struct response r;
	json_t *j, *e;
	struct buf p;
	size_t i;
	int rc;

	buf_init(&p, 16384);
	if (api_path(&p, "/v1/list/", path) < 0)
		return (1);
	rc = client_request(c, "GET", p.data, NULL, NULL, 0, -1, 0, -1, &r);
	buf_release(&p);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? fail("ls", path[0] ? path : "/", &r) : 1;
		response_release(&r);
		return (rc);
	}
	if (c->json) {
		fwrite(r.body.data, 1, r.body.len, stdout);
		response_release(&r);
		return (0);
	}
	j = body_json(&r);
	json_array_foreach(json_object_get(j, "entries"), i, e) {
		time_t t = (time_t)json_integer_value(json_object_get(e,
		    "mtime"));
		const char *hash = json_string_value(json_object_get(e,
		    "hash"));
		char when[32];
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		printf("%-4s %12lld  %s  %.12s  %s%s\n",
		    json_string_value(json_object_get(e, "type")),
		    (long long)json_integer_value(json_object_get(e, "size")),
		    when, hash ? hash : "-           ",
		    json_string_value(json_object_get(e, "name")),
		    strcmp(json_string_value(json_object_get(e, "type")),
		    "dir") == 0 ? "/" : "");
	}
	json_decref(j);
	response_release(&r);
	return (0);
}

/*
 * ls --all [PATH]: every file in the network under PATH, with its holders,
 * from the tracker, page by page.  --json prints one {"files": [...]}.
 */
static int
cmd_ls_all(struct client *c, const char *path)
{
	json_t *all = json_array(), *j, *e, *h;
	char after[PATH_LEN_MAX + 1] = "";
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
		    &r) < 0 || r.status != 200) {
			rc = r.status ? fail("ls --all", path[0] ? path : "/",
			    &r) : 1;
			response_release(&r);
			break;
		}
		j = body_json(&r);
		response_release(&r);
		json_array_extend(all, json_object_get(j, "files"));
		e = json_object_get(j, "next");
		if (!json_is_string(e) || str_copy(after, sizeof(after),
		    json_string_value(e)) < 0) {
			json_decref(j);
			break;
		}
		json_decref(j);
	}
	buf_release(&p);
	if (rc == 0 && c->json) {
		j = json_pack("{s:O}", "files", all);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (rc == 0) {
		printf("%-40s %12s  %-12s  %-24s  %s\n", "PATH", "SIZE",
		    "SHA256", "VERSION", "HOLDERS");
		json_array_foreach(all, i, e) {
			printf("%-40s %12lld  %.12s  %-24s  ",
			    json_string_value(json_object_get(e, "path")),
			    (long long)json_integer_value(json_object_get(e,
			    "size")), json_string_value(json_object_get(e,
			    "sha256")), json_string_value(json_object_get(e,
			    "version")));
			json_array_foreach(json_object_get(e, "holders"), k, h)
				printf("%s%.8s", k ? "," : "",
				    json_string_value(h));
			putchar('\n');
		}
	}
	json_decref(all);
	return (rc);
}

/* lock PATH [--ttl SECONDS], unlock PATH */
static int
cmd_lock(struct client *c, int argc, char **argv)
{
	bool lock = strcmp(argv[0], "lock") == 0;
	const char *path = NULL;
	char body[64] = "", *end;
	struct response r;
	struct buf p;
	json_t *j;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (lock && strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			unsigned long t = strtoul(argv[++i], &end, 10);

			if (*end != '\0' || t < 1 || t > 86400) {
				fprintf(stderr, "shoal: lock: --ttl takes 1 "
				    "to 86400 seconds\n");
				return (2);
			}
			(void)str_fmt(body, sizeof(body), "{\"ttl\": %lu}", t);
		} else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: shoal %s\n", lock ?
			    "lock PATH [--ttl SECONDS]" : "unlock PATH");
			return (2);
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: shoal %s\n", lock ?
		    "lock PATH [--ttl SECONDS]" : "unlock PATH");
		return (2);
	}
	buf_init(&p, 3 * PATH_LEN_MAX + 64);
	if (api_path(&p, "/v1/locks/", path) < 0) {
		buf_release(&p);
		return (1);
	}
	rc = client_request(c, lock ? "POST" : "DELETE", p.data, body[0] ?
	    "Content-Type: application/json\r\n" : NULL, body[0] ? body :
	    NULL, strlen(body), -1, 0, -1, &r);
	buf_release(&p);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? fail(argv[0], path, &r) : 1;
		response_release(&r);
		return (rc);
	}
	j = body_json(&r);
	if (c->json)
		fwrite(r.body.data, 1, r.body.len, stdout);
	else if (lock) {
		const char *owner = json_string_value(json_object_get(j,
		    "owner"));

		printf("locked %s: token %lld, held by %s%snode %.8s until %s\n",
		    path, (long long)json_integer_value(json_object_get(j,
		    "token")), owner && strcmp(owner, "(node)") != 0 ? owner :
		    "", owner && strcmp(owner, "(node)") != 0 ? " on " : "",
		    json_string_value(json_object_get(j, "holder")),
		    json_string_value(json_object_get(j, "expires")));
	}
	else
		printf("unlocked %s\n", path);
	json_decref(j);
	response_release(&r);
	return (0);
}

/* pins: the paths kept on this node whatever the placement. */
static int
cmd_pins(struct client *c)
{
	struct response r;
	json_t *j, *p;
	size_t i;

	if (client_request(c, "GET", "/v1/pins", NULL, NULL, 0, -1, 0, -1,
	    &r) < 0 || r.status != 200) {
		int rc = r.status ? fail("pins", "/", &r) : 1;

		response_release(&r);
		return (rc);
	}
	j = body_json(&r);
	if (c->json)
		fwrite(r.body.data, 1, r.body.len, stdout);
	else
		json_array_foreach(json_object_get(j, "pins"), i, p)
			printf("/%s\n", json_string_value(p));
	json_decref(j);
	response_release(&r);
	return (0);
}

/* rm, mkdir, send, pin, unpin: one request on one path. */
static int
cmd_simple(struct client *c, const char *cmd, const char *method,
    const char *prefix, const char *path, int ok1, int ok2)
{
	struct response r;
	struct buf p;
	int rc;

	buf_init(&p, 16384);
	if (api_path(&p, prefix, path) < 0)
		return (1);
	rc = client_request(c, method, p.data, NULL, NULL, 0, -1, 0, -1, &r);
	buf_release(&p);
	if (rc < 0 || (r.status != ok1 && r.status != ok2)) {
		rc = r.status ? fail(cmd, path, &r) : 1;
		response_release(&r);
		return (rc);
	}
	if (c->json && r.body.len)
		fwrite(r.body.data, 1, r.body.len, stdout);
	else if (!c->json) {
		json_t *j = body_json(&r);
		json_t *n = j ? json_object_get(j, "members") : NULL;

		if (n)
			printf("offered %s to %lld member(s)\n", path,
			    (long long)json_integer_value(n));
		else
			printf("%s: %s\n", cmd, path);
		json_decref(j);
	}
	response_release(&r);
	return (0);
}

static int
cmd_mv(struct client *c, int argc, char **argv)
{
	struct response r;
	char *body;
	json_t *j;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: shoal mv FROM TO\n");
		return (2);
	}
	j = json_pack("{s:s, s:s}", "from", argv[1], "to", argv[2]);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = client_request(c, "POST", "/v1/move", "Content-Type: "
	    "application/json\r\n", body, strlen(body), -1, 0, -1, &r);
	free(body);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? fail("mv", argv[1], &r) : 1;
		response_release(&r);
		return (rc);
	}
	if (c->json)
		fwrite(r.body.data, 1, r.body.len, stdout);
	else
		printf("moved %s -> %s\n", argv[1], argv[2]);
	response_release(&r);
	return (0);
}

int
cli_remote(const struct client_opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct client c;
	int rc;

	if (client_init(&c, o) < 0)
		return (1);
	if (strcmp(cmd, "put") == 0)
		rc = cmd_put(&c, argc, argv);
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(&c, argc, argv);
	else if (strcmp(cmd, "ls") == 0 && argc >= 2 &&
	    strcmp(argv[1], "--all") == 0)
		rc = cmd_ls_all(&c, argc > 2 ? argv[2] : "");
	else if (strcmp(cmd, "ls") == 0)
		rc = cmd_ls(&c, argc, argv);
	else if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0)
		rc = cmd_lock(&c, argc, argv);
	else if (strcmp(cmd, "pins") == 0)
		rc = cmd_pins(&c);
	else if (strcmp(cmd, "mv") == 0)
		rc = cmd_mv(&c, argc, argv);
	else if (argc != 2 && (strcmp(cmd, "rm") == 0 || strcmp(cmd,
	    "mkdir") == 0 || strcmp(cmd, "send") == 0 || strcmp(cmd, "pin") ==
	    0 || strcmp(cmd, "unpin") == 0)) {
		fprintf(stderr, "usage: shoal %s PATH\n", cmd);
		rc = 2;
	} else if (strcmp(cmd, "rm") == 0)
		rc = cmd_simple(&c, cmd, "DELETE", "/v1/files/", argv[1], 204,
		    204);
	else if (strcmp(cmd, "mkdir") == 0)
		rc = cmd_simple(&c, cmd, "POST", "/v1/mkdir/", argv[1], 201,
		    201);
	else if (strcmp(cmd, "send") == 0)
		rc = cmd_simple(&c, cmd, "POST", "/v1/send/", argv[1], 200,
		    200);
	else if (strcmp(cmd, "pin") == 0)
		rc = cmd_simple(&c, "pinned", "POST", "/v1/pins/", argv[1], 200,
		    200);
	else if (strcmp(cmd, "unpin") == 0)
		rc = cmd_simple(&c, "unpinned", "DELETE", "/v1/pins/", argv[1],
		    200, 200);
	else
		rc = cli_ctl(&c, argc, argv);
	client_release(&c);
	return (rc);
}
