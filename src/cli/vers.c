/*
 * vers: `shoal versions`, `shoal trash` and `shoal restore`, over the
 * node's /v1/versions, /v1/trash and /v1/restore (docs/VERSIONS.md).
 * Each prints a table (or the node's JSON with --json); a restore prints
 * one line per file it changed, and exits 1 if any could not be restored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "store/path.h"

/* prefix + escaped path (its leading '/' dropped) + query. */
static int
target(struct buf *b, const char *prefix, const char *path,
    const char *query)
{
	buf_init(b, 3 * PATH_LEN_MAX + 128);
	while (*path == '/')
		path++;
	if (buf_puts(b, prefix) < 0 || url_path(b, path) < 0 ||
	    (query && buf_puts(b, query) < 0))
		return (-ENAMETOOLONG);
	return (0);
}

static json_t *
answer(struct response *r)
{
	json_error_t e;

	return (r->body.len ? json_loadb(r->body.data, r->body.len, 0, &e) :
	    NULL);
}

/* GET of a listing; prints it (or fails); rc as a command's. */
static int
get_list(struct client *c, const struct cli_args *a, const char *prefix,
    const char *path, json_t **out)
{
	struct response r;
	struct buf t;
	int rc;

	*out = NULL;
	if (target(&t, prefix, path, NULL) < 0) {
		buf_release(&t);
		return (cli_fail(a->cmd->name, path, "path too long"));
	}
	rc = client_request(c, "GET", t.data, NULL, NULL, 0, -1, 0, -1, &r);
	buf_release(&t);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? cli_fail(a->cmd->name, path,
		    response_error(&r)) : 1;
		response_release(&r);
		return (rc);
	}
	if (c->json)
		cli_print_body(&r);
	else
		*out = answer(&r);
	response_release(&r);
	return (0);
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return (s ? s : "");
}

/* The nodes that keep a row: their ids' first 8 digits, comma-separated,
 * padded to width (0: none, and a newline). */
static void
print_nodes_width(json_t *v, int width)
{
	json_t *n;
	size_t i;
	int w = 0;

	printf(" ");
	json_array_foreach(json_object_get(v, "nodes"), i, n) {
		w += printf("%s%.8s", i ? "," : "",
		    json_string_value(n) ? json_string_value(n) : "");
	}
	if (width == 0)
		printf("\n");
	else
		for (; w < width; w++)
			putchar(' ');
}

static void
print_nodes(json_t *v)
{
	print_nodes_width(v, 0);
}

int
vers_list(struct client *c, const struct cli_args *a)
{
	json_t *j, *v;
	size_t i;
	int rc;

	if ((rc = get_list(c, a, "/v1/versions/", a->path[0], &j)) != 0 ||
	    j == NULL)
		return (rc);
	if (json_array_size(json_object_get(j, "versions")) == 0)
		printf("no old versions of %s on any node\n", a->path[0]);
	else
		printf("%-30s %-31s %12s  %-12s %-8s %s\n", "ID", "TIME",
		    "SIZE", "SHA256", "WRITER", "KEPT ON");
	json_array_foreach(json_object_get(j, "versions"), i, v) {
		printf("%-30s %-31s %12lld  %.12s %-8.8s", str(v, "id"),
		    str(v, "time"), (long long)json_integer_value(
		    json_object_get(v, "size")), str(v, "sha256"),
		    str(v, "writer"));
		print_nodes(v);
	}
	json_decref(j);
	return (0);
}

int
vers_trash(struct client *c, const struct cli_args *a)
{
	const char *path = a->npos ? a->path[0] : "/";
	json_t *j, *v;
	size_t i;
	int rc;

	if ((rc = get_list(c, a, strcmp(path, "/") == 0 ? "/v1/trash" :
	    "/v1/trash/", strcmp(path, "/") == 0 ? "" : path, &j)) != 0 ||
	    j == NULL)
		return (rc);
	if (json_array_size(json_object_get(j, "trash")) == 0)
		printf("nothing of %s in the trash on any node\n", path);
	else
		printf("%-31s %-8s %12s  %-30s %-17s %s\n", "DELETED", "BY",
		    "SIZE", "ID", "KEPT ON", "PATH");
	json_array_foreach(json_object_get(j, "trash"), i, v) {
		printf("%-31s %-8.8s %12lld  %-30s", str(v, "deleted"),
		    str(v, "by"), (long long)json_integer_value(
		    json_object_get(v, "size")), str(v, "id"));
		print_nodes_width(v, 17);
		printf(" /%s\n", str(v, "path"));
	}
	json_decref(j);
	return (0);
}

/* restore --version ID -o FILE: the bytes only, nothing changes. */
static int
fetch_version(struct client *c, const struct cli_args *a)
{
	const char *path = a->path[0];
	struct response r;
	struct buf t, q;
	bool out_std = strcmp(a->out, "-") == 0;
	int fd, rc;

	buf_init(&q, 256);
	if (buf_puts(&q, "?id=") < 0 || url_path(&q, a->version) < 0 ||
	    target(&t, "/v1/versions/", path, q.data) < 0) {
		buf_release(&q);
		buf_release(&t);
		return (cli_fail("restore", path, "path too long"));
	}
	buf_release(&q);
	fd = out_std ? STDOUT_FILENO : open(a->out, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		buf_release(&t);
		return (cli_fail("restore", a->out, strerror(errno)));
	}
	rc = client_request(c, "GET", t.data, NULL, NULL, 0, -1, 0, fd, &r);
	buf_release(&t);
	if (!out_std)
		close(fd);
	if (rc < 0 || r.status != 200) {
		if (!out_std)
			(void)unlink(a->out);
		rc = r.status ? cli_fail("restore", path, response_error(&r)) :
		    1;
		response_release(&r);
		return (rc);
	}
	response_release(&r);
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "path", path,
		    "version", a->version, "output", a->out);

		cli_print_json(j);
		json_decref(j);
	} else
		fprintf(out_std ? stderr : stdout, "fetched version %s of %s "
		    "into %s\n", a->version, path, out_std ?
		    "standard output" : a->out);
	return (0);
}

static void
print_paths(json_t *j, const char *key, const char *verb)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(j, key), i, p) {
		const char *s = json_string_value(p);

		if (s == NULL)
			s = json_string_value(json_object_get(p, "path"));
		printf("%s /%s\n", verb, s ? s + (s[0] == '/') : "");
	}
}

int
vers_restore_cmd(struct client *c, const struct cli_args *a)
{
	const char *path = a->path[0];
	bool dry = (a->opts & CLI_OPT_DRY) != 0;
	struct response r;
	struct buf t;
	json_t *body, *j;
	char *s;
	int rc;

	if (a->opts & CLI_OPT_O)
		return (fetch_version(c, a));
	body = json_object();
	if (a->version)
		json_object_set_new(body, "version", json_string(a->version));
	if (a->before) {
		json_object_set_new(body, "before", json_string(a->before));
		json_object_set_new(body, "dry_run", json_boolean(dry));
	}
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL || target(&t, "/v1/restore/", path, NULL) < 0) {
		free(s);
		buf_release(&t);
		return (cli_fail("restore", path, "out of memory"));
	}
	rc = client_request(c, "POST", t.data, "Content-Type: "
	    "application/json\r\n", s, strlen(s), -1, 0, -1, &r);
	buf_release(&t);
	free(s);
	if (rc < 0 || r.status != 200) {
		rc = r.status ? cli_fail("restore", path, response_error(&r)) :
		    1;
		response_release(&r);
		return (rc);
	}
	j = answer(&r);
	if (c->json)
		cli_print_body(&r);
	else {
		print_paths(j, "restored", dry ? "would restore" : "restored");
		print_paths(j, "trashed", dry ? "would move to the trash" :
		    "moved to the trash");
		print_paths(j, "lost", "could not restore (pruned)");
		print_paths(j, "failed", "could not restore");
		if (json_array_size(json_object_get(j, "restored")) +
		    json_array_size(json_object_get(j, "trashed")) +
		    json_array_size(json_object_get(j, "lost")) +
		    json_array_size(json_object_get(j, "failed")) == 0)
			printf("%s: nothing to change\n", path);
	}
	rc = json_array_size(json_object_get(j, "lost")) +
	    json_array_size(json_object_get(j, "failed")) > 0 ? 1 : 0;
	json_decref(j);
	response_release(&r);
	return (rc);
}
