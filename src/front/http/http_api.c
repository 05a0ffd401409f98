/*
 * http_api: the table of routes (docs/API.md), and what the handlers of
 * the files API (http_files.c) and of the control plane (http_ctl.c)
 * share: the path in a target, the fs_err -> status table, small JSON
 * bodies, write locks, and jobs over one path.
 *
 * A request goes to the first route whose target it names: exactly, or
 * as a prefix (ROUTE_PREFIX).  A route may need an admin for some
 * methods; nothing else decides where a request goes.
 */
#include "front/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/work.h"

/* Decodes the part of the target after prefix into a normalised path. */
int
http_target_path(struct http_conn *c, const char *prefix, bool allow_root)
{
	char raw[PATH_LEN_MAX + 1];
	const char *t = c->req.target + strlen(prefix);
	size_t n = strcspn(t, "?#");
	int rc;

	if (http_unescape(t, n, raw, sizeof(raw)) < 0) {
		http_error(c, 400, "bad escape in path");
		return (-1);
	}
	rc = path_resolve("", raw, strlen(raw), c->path, sizeof(c->path));
	/* SECURITY: a path that tries to leave the namespace is refused. */
	if (rc < 0 || strstr(raw, "..") != NULL) {
		http_error(c, 400,
			   rc == -EACCES || rc == 0
			       ? "path outside the namespace"
			       : "bad path");
		return (-1);
	}
	if (!allow_root && c->path[0] == '\0') {
		http_error(c, 400, "a path is needed");
		return (-1);
	}
	return (0);
}

/* The one fs_err -> status table of the HTTP front end. */
static const int fs_status[FS_ERR_COUNT] = {
    [FS_OK] = 200,	    [FS_ENOENT] = 404,	[FS_NOTDIR] = 404,
    [FS_ISDIR] = 409,	    [FS_EXISTS] = 409,	[FS_NOTEMPTY] = 409,
    [FS_NAMETOOLONG] = 400, [FS_INVALID] = 400, [FS_NOSPACE] = 507,
    [FS_TOOBIG] = 507,	    [FS_DENIED] = 403,	[FS_BUSY] = 503,
    [FS_LOCKED] = 423,	    [FS_STALE] = 412,	[FS_UNAVAILABLE] = 503,
    [FS_NOMEM] = 500,	    [FS_IO] = 500,
};

void
http_error_errno(struct http_conn *c, int rc)
{
	http_error(c, fs_status[fs_err_of(rc)], strerror(-rc));
}

/* Jobs over one path */

struct http_pjob *
http_pjob_new(struct http_conn *c)
{
	struct http_pjob *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		http_error(c, 500, "out of memory");
		return (NULL);
	}
	j->c = c;
	j->f.fd = -1;
	return (j);
}

void
http_pjob_free(struct http_pjob *j)
{
	if (j->f.fd >= 0)
		close(j->f.fd);
	if (j->up)
		upload_abort(j->up);
	json_decref(j->json);
	free(j);
}

void
http_pjob_submit(struct http_conn *c, struct http_pjob *j, void (*fn)(void *),
		 void (*done)(void *))
{
	/* The job reads these copies, never c: only the loop touches a
	 * connection, and shutdown frees the server. */
	j->store = c->srv->o.store;
	memcpy(j->path, c->path, sizeof(j->path));
	memcpy(j->if_match, c->req.if_match, sizeof(j->if_match));
	j->etag_hex = c->etag_hex;
	c->st = CONN_BUSY;
	if (http_job(c, fn, done, j) < 0) {
		http_pjob_free(j);
		http_busy(c);
	}
}

/* Ends a job; NULL if the connection is gone. */
struct http_conn *
http_pjob_end(struct http_pjob *j)
{
	struct http_conn *c = j->c;

	if (!http_job_end(c)) {
		http_pjob_free(j);
		return (NULL);
	}
	return (c);
}

/* Reads a JSON body first; true once it is there. */
bool
http_need_body(struct http_conn *c)
{
	if (c->req.chunked) {
		http_error(c, 411, "send a Content-Length");
		return (false);
	}
	if (c->body_left > HTTP_BODY_MAX) {
		c->close_after = true;
		http_error(c, 413, "body too large");
		return (false);
	}
	if (c->body_left > 0) {
		http_read_body(c);
		return (false);
	}
	return (true);
}

json_t *
http_body_json(struct http_conn *c)
{
	json_error_t e;

	return (c->body.len ? json_loadb(c->body.data, c->body.len, 0, &e)
			    : NULL);
}

/*
 * A write under a lock held by someone else is refused (423), and so is
 * one carrying a stale fencing token (409).  Requests authenticated with
 * the node's API token write as the node itself.
 */
bool
http_write_refused(struct http_conn *c, const char *path)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char why[512];
	int rc;

	if (ctl->write_check == NULL)
		return (false);
	rc = ctl->write_check(ctl->arg, path,
			      strcmp(c->user, "(token)") == 0 ? NULL : c->user,
			      c->req.lock_token, why, sizeof(why));
	if (rc == 0)
		return (false);
	if (c->body_left > 0) {
		/* The body is not read: the connection cannot go on. */
		c->req.keep_alive = false;
		c->close_after = true;
	}
	http_error(c, rc == -EBUSY ? 423 : 409, why);
	return (true);
}

/* The table of routes */

enum route_match {
	ROUTE_EXACT,  /* the whole target */
	ROUTE_PREFIX, /* the target starts with it */
};

#define ADMIN_POST (1u << HTTP_POST)

/*
 * SECURITY: the calls that stop the node or change its membership need the
 * API token or an admin account (admin: a mask of methods); any other
 * account gets 403.
 */
static const struct route {
	const char *target;
	enum route_match match;
	void (*handler)(struct http_conn *);
	unsigned admin;
} routes[] = {
    {"/v1/files/", ROUTE_PREFIX, http_route_files, 0},
    {"/v1/list", ROUTE_EXACT, http_route_list, 0},
    {"/v1/list/", ROUTE_PREFIX, http_route_list, 0},
    {"/v1/mkdir/", ROUTE_PREFIX, http_route_mkdir, 0},
    {"/v1/upload/", ROUTE_PREFIX, http_route_upload, 0},
    {"/v1/move", ROUTE_EXACT, http_route_move, 0},
    {"/v1/versions/", ROUTE_PREFIX, http_route_versions, 0},
    {"/v1/trash", ROUTE_EXACT, http_route_trash, 0},
    {"/v1/trash?", ROUTE_PREFIX, http_route_trash, 0},
    {"/v1/trash/", ROUTE_PREFIX, http_route_trash, 0},
    {"/v1/restore", ROUTE_EXACT, http_route_restore, 0},
    {"/v1/restore/", ROUTE_PREFIX, http_route_restore, 0},
    {"/v1/locks", ROUTE_EXACT, http_route_locks, 0},
    {"/v1/locks/", ROUTE_PREFIX, http_route_locks, 0},
    {"/v1/pins", ROUTE_EXACT, http_route_pins, 0},
    {"/v1/pins/", ROUTE_PREFIX, http_route_pins, 0},
    {"/v1/all", ROUTE_EXACT, http_route_all, 0},
    {"/v1/all/", ROUTE_PREFIX, http_route_all, 0},
    {"/v1/all?", ROUTE_PREFIX, http_route_all, 0},
    {"/v1/status", ROUTE_EXACT, http_route_status, 0},
    {"/v1/peers", ROUTE_EXACT, http_route_peers, ADMIN_POST},
    {"/v1/bye", ROUTE_EXACT, http_route_bye, ADMIN_POST},
    {"/v1/scrub", ROUTE_EXACT, http_route_scrub, ADMIN_POST},
    {"/v1/send/", ROUTE_PREFIX, http_route_send, 0},
    {"/metrics", ROUTE_EXACT, http_route_metrics, 0},
};

void
http_route(struct http_conn *c)
{
	const char *t = c->req.target;
	const struct route *r;
	size_t i;

	if (c->req.method == HTTP_OTHER) {
		http_error(c, 405, "method not allowed");
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		if (r->match == ROUTE_EXACT
			? strcmp(t, r->target) == 0
			: strncmp(t, r->target, strlen(r->target)) == 0)
			break;
	}
	if (i == sizeof(routes) / sizeof(routes[0])) {
		http_error(c, 404, "no such endpoint");
		return;
	}
	if ((r->admin & (1u << c->req.method)) && !c->admin) {
		log_info("http: %s: %s may not use %s", c->peer, c->user,
			 r->target);
		http_error(c, 403,
			   "needs the node's API token or an admin "
			   "account");
		return;
	}
	r->handler(c);
}
