/*
 * dav_api: the WebDAV server on the HTTP front end's connections.
 *
 *   head ──> login (the connections' HTTP Basic) ──> dav_route: method,
 *        path, Depth, Destination, Overwrite ──> [If job (pool): the
 *        path's ETag; the If header evaluated on the loop] ──> handler
 *
 * The method is the row of one table; a method no row knows is 501, one
 * the path cannot take is 405.  SECURITY: a target or Destination that
 * is not a path in normal form below the root ("..", bad escapes,
 * control bytes) is 400; DIR/.shoal does not exist for a client (404),
 * and a Destination naming another host is 502 (RFC 4918 9.8.5).  GET,
 * HEAD and PUT are the files API's (http_files.c): ranges, ETags (the
 * SHA-256 of the content), the ingest.
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "base/cfg.h"
#include "base/log.h"
#include "base/work.h"
#include "store/hash.h"

/* Headers */

static int
split_head(struct dav_req *r, const struct buf *h, struct span *method,
	   struct span *target)
{
	struct cursor cur, lc;
	struct span line, name, val;

	cur_init(&cur, h->data, h->len);
	do
		line = cur_until(&cur, '\r');
	while (cur_eat(&cur, '\r') && cur_eat(&cur, '\n') && line.len == 0 &&
	       !cur_eof(&cur));
	cur_init(&lc, line.p, line.len);
	*method = cur_until(&lc, ' ');
	(void)cur_eat(&lc, ' ');
	*target = cur_until(&lc, ' ');
	r->nhdr = 0;
	while (!cur_eof(&cur)) {
		line = cur_until(&cur, '\r');
		if (!cur_eat(&cur, '\r') || !cur_eat(&cur, '\n'))
			return (-1);
		if (line.len == 0)
			break;
		cur_init(&lc, line.p, line.len);
		name = cur_until(&lc, ':');
		if (!cur_eat(&lc, ':'))
			return (-1);
		val = cur_rest(&lc);
		while (val.len && (val.p[0] == ' ' || val.p[0] == '\t')) {
			val.p++;
			val.len--;
		}
		while (val.len && (val.p[val.len - 1] == ' ' ||
				   val.p[val.len - 1] == '\t'))
			val.len--;
		if (r->nhdr == HTTP_HEADERS_COUNT_MAX)
			return (-1);
		r->hdr[r->nhdr].name = name;
		r->hdr[r->nhdr].value = val;
		r->nhdr++;
	}
	return (0);
}

bool
dav_header(const struct dav_req *r, const char *name, struct span *out)
{
	size_t i;

	for (i = 0; i < r->nhdr; i++)
		if (span_eq_ci(r->hdr[i].name, name)) {
			*out = r->hdr[i].value;
			return (true);
		}
	return (false);
}

/* Answers */

void
dav_error(struct dav_req *r, int status, const char *msg)
{
	struct http_conn *c = r->c;
	char body[512];
	int n;

	log_debug("dav: %s %d %s", c->peer, status, msg ? msg : "");
	n = snprintf(body, sizeof(body), "%d %s%s%s\n", status,
		     http_status_text(status), msg ? ": " : "", msg ? msg : "");
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)strlen(body);
	http_respond(c, status, "text/plain; charset=utf-8", NULL, body,
		     (size_t)n);
}

/* The one fs_err -> status table of WebDAV (RFC 4918 9.x). */
static const int fs_status[FS_ERR_COUNT] = {
    [FS_OK] = 200,	    [FS_ENOENT] = 404,	[FS_NOTDIR] = 409,
    [FS_ISDIR] = 405,	    [FS_EXISTS] = 405,	[FS_NOTEMPTY] = 409,
    [FS_NAMETOOLONG] = 400, [FS_INVALID] = 403, [FS_NOSPACE] = 507,
    [FS_TOOBIG] = 507,	    [FS_DENIED] = 403,	[FS_BUSY] = 503,
    [FS_LOCKED] = 423,	    [FS_STALE] = 412,	[FS_UNAVAILABLE] = 503,
    [FS_NOMEM] = 500,	    [FS_IO] = 500,
};

void
dav_error_errno(struct dav_req *r, int rc)
{
	dav_error(r, fs_status[fs_err_of(rc)], strerror(-rc));
}

void
dav_respond_xml(struct dav_req *r, int status, struct buf *b)
{
	http_respond(r->c, status, "application/xml; charset=utf-8", NULL,
		     b->data, b->len);
	buf_release(b);
}

/* What the connections answer themselves (a bad head, busy, and the
 * files API's errors for GET and PUT) goes out as text. */
static void
dav_conn_error(struct http_conn *c, int status, const char *msg)
{
	struct dav_req *r = c->ext;
	struct dav_req tmp = {.c = c};

	if (r == NULL)
		r = &tmp;
	/* A PUT whose folder is missing: 409, not 404 (RFC 4918 9.7.1). */
	if (r->m == DAV_PUT && status == 404)
		status = 409;
	dav_error(r, status, msg);
}

void
dav_http_date(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void
dav_iso_date(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
dav_href(struct buf *b, const char *path, bool dir)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = buf_puts(b, "/");

	for (p = (const unsigned char *)path; rc == 0 && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL)
			rc = buf_append(b, p, 1);
		else
			rc =
			    buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	if (rc == 0 && dir && path[0])
		rc = buf_puts(b, "/");
	return (rc);
}

/* Paths */

/*
 * SECURITY: a path from the target or a Destination becomes a store path
 * only in normal form, below the root, outside DIR/.shoal.  0, or the
 * status to answer.
 */
int
dav_path_of(const char *raw, size_t n, char *out, size_t size, bool *slash)
{
	char dec[PATH_LEN_MAX + 1];
	int rc;

	if (http_unescape(raw, n, dec, sizeof(dec)) < 0 || dec[0] != '/')
		return (400);
	*slash = strlen(dec) > 1 && dec[strlen(dec) - 1] == '/';
	{
		const char *p = dec;

		while (*p == '/')
			p++;
		if (strncmp(p, ".shoal", 6) == 0 &&
		    (p[6] == '\0' || p[6] == '/'))
			return (404);
	}
	rc = path_resolve("", dec, strlen(dec), out, size);
	if (rc < 0 || strstr(dec, "/../") != NULL ||
	    (strlen(dec) >= 3 && strcmp(dec + strlen(dec) - 3, "/..") == 0))
		return (rc == -ENAMETOOLONG ? 414 : 400);
	if (path_is_private(out))
		return (404);
	return (0);
}

/* "http://host:port/path" (the same host only) or "/path". */
static int
destination(struct dav_req *r)
{
	struct span d, host;
	const char *p, *e, *slash;
	bool dir;

	if (!dav_header(r, "destination", &d) || d.len == 0)
		return (400);
	p = d.p;
	e = d.p + d.len;
	if (d.len > 7 && (strncasecmp(p, "http://", 7) == 0 ||
			  (d.len > 8 && strncasecmp(p, "https://", 8) == 0))) {
		p += p[4] == ':' ? 7 : 8;
		slash = memchr(p, '/', (size_t)(e - p));
		if (slash == NULL)
			slash = e;
		/* SECURITY: a copy to another server is not ours to make. */
		if (!dav_header(r, "host", &host) ||
		    host.len != (size_t)(slash - p) ||
		    strncasecmp(host.p, p, host.len) != 0)
			return (502);
		p = slash;
	}
	if (p == e)
		return (400);
	{
		const char *q = memchr(p, '?', (size_t)(e - p));
		const char *h = memchr(p, '#', (size_t)(e - p));

		if (q != NULL)
			e = q;
		if (h != NULL && h < e)
			e = h;
	}
	return (
	    dav_path_of(p, (size_t)(e - p), r->dest, sizeof(r->dest), &dir));
}

/* Depth: 0, 1 or infinity (the default). */
static int
depth_of(struct dav_req *r)
{
	struct span d;

	r->depth = DAV_DEPTH_INF;
	if (!dav_header(r, "depth", &d))
		return (0);
	if (span_eq(d, "0"))
		r->depth = 0;
	else if (span_eq(d, "1"))
		r->depth = 1;
	else if (!span_eq_ci(d, "infinity"))
		return (-1);
	return (0);
}

/* Locks */

const char *
dav_user(const struct http_conn *c)
{
	/* The node's API token writes as the node itself. */
	return (strcmp(c->user, "(token)") == 0 ? NULL : c->user);
}

bool
dav_write_refused(struct dav_req *r, const char *path, bool tree)
{
	struct http_conn *c = r->c;
	const struct http_ctl *ctl = &c->srv->o.ctl;
	struct dav_ctx *ctx = c->srv->o.route_arg;
	const struct dav_lock *l;
	char why[512];
	int rc;

	if (ctl->write_check != NULL &&
	    (rc = ctl->write_check(ctl->arg, path, dav_user(c), 0, why,
				   sizeof(why))) != 0) {
		if (c->body_left > 0) {
			c->req.keep_alive = false;
			c->close_after = true;
		}
		dav_error(r, rc == -EBUSY ? 423 : 409, why);
		return (true);
	}
	l = dav_locks_blocking(ctx->locks, path, tree, r->tokens, r->ntokens);
	if (l == NULL)
		return (false);
	if (c->body_left > 0) {
		c->req.keep_alive = false;
		c->close_after = true;
	}
	{
		struct buf b;

		buf_init(&b, 8192);
		if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				 "<D:error xmlns:D=\"DAV:\"><D:lock-token-"
				 "submitted><D:href>") == 0 &&
		    dav_href(&b, l->path, false) == 0 &&
		    buf_puts(&b, "</D:href></D:lock-token-submitted>"
				 "</D:error>\n") == 0) {
			dav_respond_xml(r, 423, &b);
			return (true);
		}
		buf_release(&b);
	}
	dav_error(r, 423, "locked");
	return (true);
}

bool
dav_need_body(struct dav_req *r)
{
	struct http_conn *c = r->c;

	if (c->req.chunked) {
		dav_error(r, 411, "send a Content-Length");
		return (false);
	}
	if (c->body_left > DAV_BODY_MAX) {
		c->close_after = true;
		dav_error(r, 413, "body too large");
		return (false);
	}
	if (c->body_left > 0) {
		if (c->req.expect_continue && c->body.len == 0 &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			evbuffer_add_printf(bufferevent_get_output(c->bev),
					    "HTTP/1.1 100 Continue\r\n\r\n");
		c->req.expect_continue = false;
		http_read_body(c);
		return (false);
	}
	return (true);
}

/* Methods */

static void
m_options(struct dav_req *r)
{
	http_respond(r->c, 200, NULL,
		     "DAV: 1, 2\r\n"
		     "MS-Author-Via: DAV\r\n"
		     "Allow: OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, "
		     "PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK\r\n"
		     "Accept-Ranges: bytes\r\n",
		     NULL, 0);
}

/* GET on a collection: a short page; on a file: the files API's. */
struct stat_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	struct fs_entry e;
	int rc;
	void (*then)(struct dav_req *, struct stat_job *);
};

static void
stat_run(void *arg)
{
	struct stat_job *j = arg;

	j->rc = fs_stat_target(j->store, j->path, &j->e);
	if (j->rc == 0 && j->e.type == FS_FILE)
		(void)fs_stat(j->store, j->path, FS_LIST_META, &j->e);
}

static void
stat_done(void *arg)
{
	struct stat_job *j = arg;
	struct dav_req *r = j->r;

	if (!http_job_end(r->c)) {
		free(j);
		return;
	}
	j->then(r, j);
	free(j);
}

static void
stat_submit(struct dav_req *r,
	    void (*then)(struct dav_req *, struct stat_job *))
{
	struct http_conn *c = r->c;
	struct stat_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	j->r = r;
	j->store = c->srv->o.store;
	j->then = then;
	memcpy(j->path, r->path, sizeof(j->path));
	c->st = CONN_BUSY;
	if (http_job(c, stat_run, stat_done, j) < 0) {
		free(j);
		http_busy(c);
	}
}

static void
get_stat(struct dav_req *r, struct stat_job *j)
{
	static const char page[] =
	    "<!DOCTYPE html><title>shoal</title><p>A WebDAV folder: mount "
	    "it, or list it with PROPFIND.</p>\n";

	if (j->rc < 0) {
		dav_error_errno(r, j->rc);
		return;
	}
	if (j->e.type == FS_DIR) {
		http_respond(r->c, 200, "text/html; charset=utf-8", NULL, page,
			     sizeof(page) - 1);
		return;
	}
	(void)str_copy(r->c->path, sizeof(r->c->path), r->path);
	http_file_get(r->c);
}

static void
m_get(struct dav_req *r)
{
	stat_submit(r, get_stat);
}

/* PUT: the files API's upload; X-OC-Mtime then sets the mtime. */
struct mtime_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	int64_t mtime_ns;
	uint8_t sha[HASH_LEN];
	int rc;
};

static void
put_answer(struct dav_req *r, const uint8_t sha[HASH_LEN])
{
	char extra[160], hex[HASH_HEX_LEN + 1];

	hash_hex(sha, hex);
	hex[DAV_ETAG_HEX] = '\0';
	(void)str_fmt(extra, sizeof(extra), "ETag: \"%s\"\r\n%s", hex,
		      r->mtime >= 0 ? "X-OC-Mtime: accepted\r\n" : "");
	http_respond(r->c, r->c->created ? 201 : 204, NULL, extra, NULL, 0);
}

static void
mtime_run(void *arg)
{
	struct mtime_job *j = arg;

	j->rc = fs_set_mtime(j->store, j->path, j->mtime_ns);
}

static void
mtime_done(void *arg)
{
	struct mtime_job *j = arg;
	struct dav_req *r = j->r;

	if (!http_job_end(r->c)) {
		free(j);
		return;
	}
	if (j->rc < 0)
		log_info("dav: %s: mtime of %s not set: %s", r->c->peer,
			 j->path, strerror(-j->rc));
	put_answer(r, j->sha);
	free(j);
}

static void
put_stored(struct http_conn *c, const uint8_t sha[HASH_LEN])
{
	struct dav_req *r = c->ext;
	struct mtime_job *j;

	if (r->mtime < 0 || (j = calloc(1, sizeof(*j))) == NULL) {
		put_answer(r, sha);
		return;
	}
	j->r = r;
	j->store = c->srv->o.store;
	memcpy(j->path, r->path, sizeof(j->path));
	memcpy(j->sha, sha, HASH_LEN);
	j->mtime_ns = r->mtime * 1000000000;
	c->st = CONN_BUSY;
	if (http_job(c, mtime_run, mtime_done, j) < 0) {
		free(j);
		put_answer(r, sha);
	}
}

static void
m_put(struct dav_req *r)
{
	struct http_conn *c = r->c;

	if (r->path[0] == '\0' || r->slash) {
		dav_error(r, 405, "a collection");
		return;
	}
	if (dav_write_refused(r, r->path, false))
		return;
	(void)str_copy(c->path, sizeof(c->path), r->path);
	c->stored = put_stored;
	http_file_put(c, true);
}

static void
m_post(struct dav_req *r)
{
	dav_error(r, 405, "POST is not a WebDAV method");
}

static const struct method {
	const char *name;
	enum dav_method m;
	void (*handler)(struct dav_req *);
} methods[] = {
    {"OPTIONS", DAV_OPTIONS, m_options},
    {"GET", DAV_GET, m_get},
    {"HEAD", DAV_HEAD, m_get},
    {"PUT", DAV_PUT, m_put},
    {"DELETE", DAV_DELETE, dav_delete},
    {"MKCOL", DAV_MKCOL, dav_mkcol},
    {"PROPFIND", DAV_PROPFIND, dav_propfind},
    {"PROPPATCH", DAV_PROPPATCH, dav_proppatch},
    {"COPY", DAV_COPY, dav_copymove},
    {"MOVE", DAV_MOVE, dav_copymove},
    {"LOCK", DAV_LOCK, dav_lock_method},
    {"UNLOCK", DAV_UNLOCK, dav_unlock_method},
    {"POST", DAV_POST, m_post},
};

/* Does the token name a lock that covers path? */
static bool
token_holds(void *arg, const char *path, const char *token)
{
	struct dav_req *r = arg;
	struct dav_ctx *ctx = r->c->srv->o.route_arg;

	return (dav_locks_token_covers(ctx->locks, path, token));
}

/* The If header, once the path's ETag is known. */
static void
if_stat(struct dav_req *r, struct stat_job *j)
{
	struct dav_if *h;
	struct span v;
	char etag[HASH_HEX_LEN + 1] = "";
	unsigned i;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	if (!dav_header(r, "if", &v) || dav_if_parse(v.p, v.len, h) < 0) {
		log_debug("dav: %s: If: %.*s", r->c->peer, (int)v.len, v.p);
		free(h);
		dav_error(r, 400, "malformed If header");
		return;
	}
	/* The state tokens it names are the ones the client holds. */
	r->ntokens = 0;
	for (i = 0; i < h->ncond && r->ntokens < DAV_IF_TOKENS; i++)
		if (!h->cond[i].etag &&
		    str_copy(r->tokens[r->ntokens], DAV_TOKEN_MAX + 1,
			     h->cond[i].val) == 0)
			r->ntokens++;
	if (j->rc == 0 && j->e.type == FS_FILE && j->e.has_meta) {
		hash_hex(j->e.meta.sha256, etag);
		etag[DAV_ETAG_HEX] = '\0';
	}
	if (!dav_if_eval(h, r->path, etag, token_holds, r)) {
		free(h);
		dav_error(r, 412, "the If header does not hold");
		return;
	}
	free(h);
	methods[r->m].handler(r);
}

static void
req_free(void *arg)
{
	free(arg);
}

static void
dav_route(struct http_conn *c)
{
	struct dav_req *r;
	struct span method, target, v;
	size_t i, n;
	int st;

	if (c->ext) {
		/* A body was read: the method goes on. */
		r = c->ext;
		methods[r->m].handler(r);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		c->close_after = true;
		http_respond(c, 503, NULL, NULL, NULL, 0);
		return;
	}
	r->c = c;
	c->etag_hex = DAV_ETAG_HEX;
	r->m = DAV_UNKNOWN;
	r->mtime = -1;
	c->ext = r;
	c->ext_free = req_free;
	if (split_head(r, &c->head, &method, &target) < 0) {
		dav_error(r, 400, "malformed head");
		return;
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (span_eq(method, methods[i].name))
			break;
	if (i == sizeof(methods) / sizeof(methods[0])) {
		dav_error(r, 501, "not a WebDAV method");
		return;
	}
	r->m = methods[i].m;
	if (target.len == 1 && target.p[0] == '*' && r->m == DAV_OPTIONS) {
		m_options(r);
		return;
	}
	n = 0;
	while (n < target.len && target.p[n] != '?' && target.p[n] != '#')
		n++;
	/* A fragment is the client's, never sent: one that is sent names
	 * something other than what the path alone does.  Refused, so that
	 * DELETE /a/#b cannot take /a. */
	if (n < target.len && target.p[n] == '#') {
		dav_error(r, 400, "a fragment in the target");
		return;
	}
	/* An absolute target names this server (RFC 9112 3.2.2). */
	if (n > 7 && strncasecmp(target.p, "http", 4) == 0) {
		const char *s = memchr(target.p, '/', n);

		if (s == NULL || s + 1 >= target.p + n || s[1] != '/' ||
		    (s = memchr(s + 2, '/', n - (size_t)(s + 2 - target.p))) ==
			NULL) {
			dav_error(r, 400, "bad target");
			return;
		}
		n -= (size_t)(s - target.p);
		target.p = s;
	}
	if ((st = dav_path_of(target.p, n, r->path, sizeof(r->path),
			      &r->slash)) != 0) {
		dav_error(r, st, st == 404 ? NULL : "bad path");
		return;
	}
	if (depth_of(r) < 0) {
		dav_error(r, 400, "Depth is 0, 1 or infinity");
		return;
	}
	r->overwrite = true;
	if (dav_header(r, "overwrite", &v)) {
		if (span_eq_ci(v, "F"))
			r->overwrite = false;
		else if (!span_eq_ci(v, "T")) {
			dav_error(r, 400, "Overwrite is T or F");
			return;
		}
	}
	if ((r->m == DAV_COPY || r->m == DAV_MOVE) &&
	    (st = destination(r)) != 0) {
		dav_error(r, st,
			  st == 502 ? "the Destination is on another server"
				    : "bad Destination");
		return;
	}
	if (dav_header(r, "x-oc-mtime", &v)) {
		int64_t t;

		if (span_i64(v, 0, INT64_C(1) << 40, &t) == 0)
			r->mtime = t;
	}
	if (dav_header(r, "if", &v)) {
		stat_submit(r, if_stat);
		return;
	}
	methods[r->m].handler(r);
}

/* The server */

struct http_server *
dav_server_new(const struct http_opts *base, char *err, size_t errlen)
{
	struct http_opts o = *base;
	struct dav_ctx *ctx;
	struct http_server *srv;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
	    (ctx->locks = dav_locks_new()) == NULL) {
		free(ctx);
		(void)str_fmt(err, errlen, "dav: out of memory");
		return (NULL);
	}
	ctx->store = base->store;
	ctx->depth_infinity = base->cfg->dav_depth_infinity;
	o.name = "dav";
	o.listen = base->cfg->dav_listen;
	o.tls_mode = base->cfg->dav_tls;
	o.route = dav_route;
	o.route_arg = ctx;
	o.route_login = true;
	o.error = dav_conn_error;
	o.body_max = DAV_BODY_MAX;
	if ((srv = http_server_new(&o, err, errlen)) == NULL) {
		dav_locks_free(ctx->locks);
		free(ctx);
		return (NULL);
	}
	dav_locks_set_ctl(ctx->locks, &srv->o.ctl);
	return (srv);
}

void
dav_server_free(struct http_server *srv)
{
	struct dav_ctx *ctx;

	if (srv == NULL)
		return;
	ctx = srv->o.route_arg;
	http_server_free(srv);
	dav_locks_free(ctx->locks);
	free(ctx);
}

int
dav_server_write_check(struct http_server *srv, const char *path, char *why,
		       size_t whylen)
{
	struct dav_ctx *ctx;
	const struct dav_lock *l;

	if (srv == NULL)
		return (0);
	ctx = srv->o.route_arg;
	if ((l = dav_locks_blocking(ctx->locks, path, true, NULL, 0)) == NULL)
		return (0);
	(void)str_fmt(why, whylen, "/%s is locked over WebDAV by %s", l->path,
		      l->user);
	return (-EBUSY);
}
