/*
 * s3_api: the S3 server on the HTTP front end's connections.
 *
 *   head ──> s3_route: split target, headers ──> auth job (pool):
 *            sigv4_parse, key lookup, sigv4_verify
 *        ──> auth_done (loop): the table of operations ──> handler
 *
 * Every request is authenticated before anything else is looked at; an
 * anonymous one is AccessDenied.  The operation is the first row of the
 * table whose method, level (service, bucket, object) and subresource
 * (a query parameter such as ?location) match; a request naming a
 * subresource no row knows is NotImplemented, never a wrong success.
 */
#include "front/s3/s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/cfg.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/work.h"
#include "front/prefetch.h"
#include "front/s3/s3_keys.h"
#include "front/s3/s3_xml.h"
#include "store/hash.h"

/* Headers */

/* Splits the raw head (request line, header lines) into r->hdr. */
static int
split_head(struct s3_req *r, const struct buf *h)
{
	struct cursor cur;
	struct span line, name, val, target;

	cur_init(&cur, h->data, h->len);
	/* Empty lines may come before the request line. */
	do
		line = cur_until(&cur, '\r');
	while (cur_eat(&cur, '\r') && cur_eat(&cur, '\n') && line.len == 0 &&
	       !cur_eof(&cur));
	{
		struct cursor lc;

		cur_init(&lc, line.p, line.len);
		(void)cur_until(&lc, ' ');
		(void)cur_eat(&lc, ' ');
		target = cur_until(&lc, ' ');
	}
	{
		struct cursor tc;

		cur_init(&tc, target.p, target.len);
		r->rawpath = cur_until(&tc, '?');
		r->rawquery = cur_eat(&tc, '?') ? cur_until(&tc, '#')
						: (struct span){"", 0};
	}
	r->nhdr = 0;
	while (!cur_eof(&cur)) {
		struct cursor lc;

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
s3_header(const struct s3_req *r, const char *name, struct span *out)
{
	size_t i;

	for (i = 0; i < r->nhdr; i++)
		if (span_eq_ci(r->hdr[i].name, name)) {
			*out = r->hdr[i].value;
			return (true);
		}
	return (false);
}

bool
s3_header_str(const struct s3_req *r, const char *name, char *out, size_t size)
{
	struct span v;

	out[0] = '\0';
	if (!s3_header(r, name, &v))
		return (true);
	if (v.len >= size)
		return (false);
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return (true);
}

/* Answers */

void
s3_respond_xml(struct s3_req *r, int status, struct buf *b)
{
	char extra[64];

	(void)str_fmt(extra, sizeof(extra), "x-amz-request-id: %s\r\n", r->id);
	http_respond(r->c, status, "application/xml", extra, b->data, b->len);
	buf_release(b);
}

void
s3_error(struct s3_req *r, enum s3_err e, const char *msg)
{
	struct http_conn *c = r->c;
	char res[PATH_LEN_MAX + 2], extra[64];
	struct buf b;
	int status = s3_err_http_status(e);

	log_debug("s3: %s %d %s %s", c->peer, status, s3_err_code(e),
		  msg ? msg : "");
	(void)str_fmt(res, sizeof(res), "/%s",
		      r->path[0] ? r->path : r->bucket);
	buf_init(&b, 64 * 1024);
	if (e == S3_ERR_NOT_MODIFIED) {
		http_respond(c, 304, NULL, NULL, NULL, 0);
		return;
	}
	if (s3_xml_error(&b, e, msg, res, r->id) < 0) {
		buf_release(&b);
		http_respond(c, status, NULL, NULL, NULL, 0);
		return;
	}
	(void)str_fmt(extra, sizeof(extra), "x-amz-request-id: %s\r\n", r->id);
	http_respond(c, status, "application/xml", extra, b.data, b.len);
	buf_release(&b);
}

/* The one errno -> S3 error table; enoent says what a missing path is. */
void
s3_error_errno(struct s3_req *r, int rc, enum s3_err enoent)
{
	static const enum s3_err map[FS_ERR_COUNT] = {
	    [FS_OK] = S3_OK,
	    [FS_ENOENT] = S3_ERR_NO_SUCH_KEY,
	    [FS_NOTDIR] = S3_ERR_INVALID_KEY,
	    [FS_ISDIR] = S3_ERR_INVALID_KEY,
	    [FS_EXISTS] = S3_ERR_CONFLICT,
	    [FS_NOTEMPTY] = S3_ERR_BUCKET_NOT_EMPTY,
	    [FS_NAMETOOLONG] = S3_ERR_KEY_TOO_LONG,
	    [FS_INVALID] = S3_ERR_INVALID_KEY,
	    [FS_NOSPACE] = S3_ERR_ENTITY_TOO_LARGE,
	    [FS_TOOBIG] = S3_ERR_ENTITY_TOO_LARGE,
	    [FS_DENIED] = S3_ERR_ACCESS_DENIED,
	    [FS_BUSY] = S3_ERR_SLOW_DOWN,
	    [FS_LOCKED] = S3_ERR_LOCKED,
	    [FS_STALE] = S3_ERR_PRECONDITION_FAILED,
	    [FS_UNAVAILABLE] = S3_ERR_UNAVAILABLE,
	    [FS_NOMEM] = S3_ERR_INTERNAL,
	    [FS_IO] = S3_ERR_INTERNAL,
	};
	enum fs_err fe = fs_err_of(rc);

	if (fe == FS_ENOENT) {
		s3_error(r, enoent, NULL);
		return;
	}
	s3_error(r, map[fe],
		 fe == FS_ISDIR	   ? "the key names a folder"
		 : fe == FS_NOTDIR ? "a part of the key names an object"
				   : strerror(-rc));
}

bool
s3_write_refused(struct s3_req *r, const char *path)
{
	struct http_conn *c = r->c;
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char why[512];
	int rc;

	if (ctl->write_check == NULL)
		return (false);
	rc = ctl->write_check(ctl->arg, path, r->account, c->req.lock_token,
			      why, sizeof(why));
	if (rc == 0)
		return (false);
	if (c->body_left > 0) {
		c->req.keep_alive = false;
		c->close_after = true;
	}
	s3_error(r, rc == -EBUSY ? S3_ERR_LOCKED : S3_ERR_CONFLICT, why);
	return (true);
}

void
s3_etag(const uint8_t sha[32], char out[35])
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex(sha, hex);
	out[0] = '"';
	memcpy(out + 1, hex, 32);
	out[33] = '"';
	out[34] = '\0';
}

void
s3_http_date(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Names */

/* Bucket names as S3 has them: 3..63 of [a-z0-9.-], starting and ending
 * with a letter or digit. */
static bool
bucket_name_ok(const char *b)
{
	size_t i, n = strlen(b);

	if (n < 3 || n > S3_BUCKET_MAX)
		return (false);
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') ||
		      (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
		      b[i] == '-'))
			return (false);
	return (b[0] != '.' && b[0] != '-' && b[n - 1] != '.' &&
		b[n - 1] != '-' && strstr(b, "..") == NULL);
}

/*
 * SECURITY: a key becomes a path only if it is one already in normal
 * form: no "." or ".." component, no empty component (a//b), no control
 * byte, no component longer than a file name may be.  Anything else would
 * either leave the bucket or name a file other than the key.
 */
bool
s3_key_ok(struct s3_req *r, const char *bucket, const char *key, char *path,
	  size_t size)
{
	size_t i, n = strlen(key), comp = 0;

	if (n > S3_KEY_MAX) {
		s3_error(r, S3_ERR_KEY_TOO_LONG, NULL);
		return (false);
	}
	for (i = 0; i < n; i++) {
		comp = key[i] == '/' ? 0 : comp + 1;
		if (comp > PATH_NAME_MAX) {
			s3_error(r, S3_ERR_KEY_TOO_LONG,
				 "a part of the key between slashes is longer "
				 "than a file name may be");
			return (false);
		}
	}
	if (str_fmt(path, size, "%s/%s", bucket, key) < 0) {
		s3_error(r, S3_ERR_KEY_TOO_LONG, NULL);
		return (false);
	}
	/* A trailing slash names a folder ("a/b/"): checked without it. */
	n = strlen(path);
	if (n > 0 && path[n - 1] == '/' && key[0] != '\0')
		path[n - 1] = '\0';
	if (!path_valid(path)) {
		s3_error(
		    r, S3_ERR_INVALID_KEY,
		    "this key cannot be a file "
		    "name: it has an empty, '.' or '..' part, or a control "
		    "character");
		return (false);
	}
	return (true);
}

/* Jobs */

struct s3_job *
s3_job_new(struct s3_req *r)
{
	struct s3_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return (NULL);
	}
	j->r = r;
	j->f.fd = -1;
	buf_init(&j->out, 64u << 20);
	return (j);
}

void
s3_read_body(struct s3_req *r)
{
	struct http_conn *c = r->c;

	if (c->req.expect_continue && c->body.len == 0 &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	c->req.expect_continue = false;
	http_read_body(c);
}

void
s3_job_free(struct s3_job *j)
{
	if (j->arg && j->arg_free)
		j->arg_free(j->arg);
	if (j->f.fd >= 0)
		close(j->f.fd);
	if (j->up)
		upload_abort(j->up);
	buf_release(&j->out);
	free(j);
}

void
s3_job_submit(struct s3_job *j, void (*fn)(void *), void (*done)(void *))
{
	struct s3_req *r = j->r;
	struct http_conn *c = r->c;

	j->store = c->srv->o.store;
	if (j->path[0] == '\0')
		memcpy(j->path, r->path, sizeof(j->path));
	if (j->bucket[0] == '\0')
		memcpy(j->bucket, r->bucket, sizeof(j->bucket));
	memcpy(j->account, r->account, sizeof(j->account));
	c->st = CONN_BUSY;
	if (http_job(c, fn, done, j) < 0) {
		s3_job_free(j);
		c->close_after = true;
		s3_error(r, S3_ERR_SLOW_DOWN, NULL);
	}
}

struct s3_req *
s3_job_end(struct s3_job *j)
{
	struct s3_req *r = j->r;

	if (!http_job_end(r->c)) {
		s3_job_free(j);
		return (NULL);
	}
	return (r);
}

#define S3_PREFETCH_TRIES 3

static void
fetched_first(void *arg, int rc, const char *why)
{
	struct s3_job *j = arg;
	struct s3_req *r;

	if ((r = s3_job_end(j)) == NULL)
		return;
	if (rc < 0) {
		s3_error(r, S3_ERR_UNAVAILABLE, why);
		s3_job_free(j);
		return;
	}
	j->rc = 0;
	j->err = S3_OK;
	s3_job_submit(j, j->again_fn, j->again_done);
}

void
s3_job_fetch_first(struct s3_job *j, const char *src, void (*fn)(void *),
		   void (*done)(void *))
{
	struct s3_req *r = j->r;
	struct http_conn *c = r->c;
	char why[256] = "its copy here is not ready yet, try again";

	if (j->prefetch_tries++ >= S3_PREFETCH_TRIES ||
	    prefetch_start(c->srv->o.ctl.remote, c->srv->o.base, src,
			   fetched_first, j, why, sizeof(why)) == NULL) {
		s3_error(r, S3_ERR_UNAVAILABLE, why);
		s3_job_free(j);
		return;
	}
	j->again_fn = fn;
	j->again_done = done;
	/* The connection stays until fetched_first: it ends this hold. */
	http_job_hold(c);
}

/* The table of operations */

enum level {
	L_SERVICE, /* GET / */
	L_BUCKET,  /* /bucket */
	L_OBJECT,  /* /bucket/key */
};

static void
not_implemented(struct s3_req *r)
{
	s3_error(r, S3_ERR_NOT_IMPLEMENTED, NULL);
}

static const struct op {
	enum http_method method;
	enum level level;
	const char *sub; /* a query parameter, or NULL */
	void (*handler)(struct s3_req *);
} ops[] = {
    {HTTP_GET, L_SERVICE, NULL, s3_list_buckets},
    {HTTP_GET, L_BUCKET, "location", s3_bucket_location},
    {HTTP_GET, L_BUCKET, "versioning", s3_bucket_versioning},
    {HTTP_GET, L_BUCKET, "versions", s3_list_versions},
    {HTTP_GET, L_BUCKET, "uploads", s3_mp_list_uploads},
    {HTTP_POST, L_BUCKET, "delete", s3_delete_objects},
    {HTTP_GET, L_BUCKET, NULL, s3_list_objects},
    {HTTP_HEAD, L_BUCKET, NULL, s3_head_bucket},
    {HTTP_PUT, L_BUCKET, NULL, s3_create_bucket},
    {HTTP_DELETE, L_BUCKET, NULL, s3_delete_bucket},
    {HTTP_POST, L_OBJECT, "uploads", s3_mp_create},
    {HTTP_PUT, L_OBJECT, "uploadId", s3_mp_part},
    {HTTP_POST, L_OBJECT, "uploadId", s3_mp_complete},
    {HTTP_DELETE, L_OBJECT, "uploadId", s3_mp_abort},
    {HTTP_GET, L_OBJECT, "uploadId", s3_mp_list_parts},
    {HTTP_GET, L_OBJECT, "versionId", s3_get_object},
    {HTTP_HEAD, L_OBJECT, "versionId", s3_get_object},
    {HTTP_GET, L_OBJECT, NULL, s3_get_object},
    {HTTP_HEAD, L_OBJECT, NULL, s3_get_object},
    {HTTP_PUT, L_OBJECT, NULL, s3_put_object},
    {HTTP_DELETE, L_OBJECT, NULL, s3_delete_object},
};

/* Subresources and operations this server does not do (yet): a request
 * naming one is NotImplemented, not taken for a plain GET or PUT. */
static const char *const unsupported[] = {
    "acl",
    "accelerate",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versions",
    "website",
    "attributes",
    "partNumber",
};

/*
 * Virtual-host style: with s3.domain set, Host BUCKET.DOMAIN[:PORT] names
 * the bucket and the path is the key alone.  The bucket, or NULL when the
 * request is path style (any other Host).
 */
static const char *
host_bucket(const struct s3_req *r, char *out, size_t size)
{
	const struct s3_ctx *ctx = r->c->srv->o.route_arg;
	size_t dl = strlen(ctx->domain), n;
	struct span h;
	const char *colon;

	if (dl == 0 || !s3_header(r, "host", &h))
		return (NULL);
	if ((colon = memchr(h.p, ':', h.len)) != NULL)
		h.len = (size_t)(colon - h.p);
	if (h.len < dl + 2 || h.p[h.len - dl - 1] != '.' ||
	    strncasecmp(h.p + h.len - dl, ctx->domain, dl) != 0)
		return (NULL);
	n = h.len - dl - 1;
	if (n >= size)
		return (""); /* too long: refused as a bad name */
	memcpy(out, h.p, n);
	out[n] = '\0';
	return (out);
}

static void
dispatch(struct s3_req *r)
{
	struct http_conn *c = r->c;
	char raw[PATH_LEN_MAX + S3_BUCKET_MAX + 2], vb[S3_BUCKET_MAX + 2];
	char both[sizeof(raw) + sizeof(vb)];
	const char *p, *slash, *vhost;
	enum level lv;
	size_t i, k, q;

	if (http_unescape(r->rawpath.p, r->rawpath.len, raw, sizeof(raw)) < 0 ||
	    raw[0] != '/') {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad escape in the path");
		return;
	}
	/* BUCKET.DOMAIN/KEY is read as /BUCKET/KEY. */
	if ((vhost = host_bucket(r, vb, sizeof(vb))) != NULL) {
		if (vhost[0] == '\0' || strchr(vhost, '/') != NULL) {
			s3_error(r, S3_ERR_INVALID_BUCKET_NAME, NULL);
			return;
		}
		if (str_fmt(both, sizeof(both), "/%s%s", vhost, raw) < 0 ||
		    str_copy(raw, sizeof(raw), both) < 0) {
			s3_error(r, S3_ERR_KEY_TOO_LONG, NULL);
			return;
		}
	}
	p = raw + 1;
	if (*p == '\0')
		lv = L_SERVICE;
	else {
		slash = strchr(p, '/');
		k = slash ? (size_t)(slash - p) : strlen(p);
		if (k > S3_BUCKET_MAX) {
			s3_error(r, S3_ERR_INVALID_BUCKET_NAME, NULL);
			return;
		}
		memcpy(r->bucket, p, k);
		r->bucket[k] = '\0';
		if (!bucket_name_ok(r->bucket)) {
			s3_error(r, S3_ERR_INVALID_BUCKET_NAME, NULL);
			return;
		}
		if (slash == NULL || slash[1] == '\0') {
			lv = L_BUCKET;
			(void)str_copy(r->path, sizeof(r->path), r->bucket);
		} else {
			lv = L_OBJECT;
			if (str_copy(r->key, sizeof(r->key), slash + 1) < 0) {
				s3_error(r, S3_ERR_KEY_TOO_LONG, NULL);
				return;
			}
			if (!s3_key_ok(r, r->bucket, r->key, r->path,
				       sizeof(r->path)))
				return;
		}
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].method == c->req.method && ops[i].level == lv &&
		    (ops[i].sub == NULL || http_query_get(&r->q, ops[i].sub)))
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		s3_error(r,
			 c->req.method == HTTP_OTHER
			     ? S3_ERR_NOT_IMPLEMENTED
			     : S3_ERR_METHOD_NOT_ALLOWED,
			 NULL);
		return;
	}
	/* A parameter naming something else the row does not do. */
	for (q = 0; q < r->q.n; q++) {
		const char *key = r->q.p[q].key;

		if ((ops[i].sub && strcmp(key, ops[i].sub) == 0) ||
		    (ops[i].handler == s3_mp_part &&
		     strcmp(key, "partNumber") == 0))
			continue;
		for (k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]);
		     k++)
			if (strcmp(key, unsupported[k]) == 0) {
				not_implemented(r);
				return;
			}
	}
	ops[i].handler(r);
}

/* Authentication: a job with copies of the head and slots for the result. */
struct auth_job {
	struct s3_req *r; /* not touched by auth_run */
	struct s3_keys *keys;
	struct auth *accounts;
	struct buf head;
	char method[8];
	enum s3_err err;
	struct sigv4_auth auth;
	struct sigv4_chain chain;
	char account[AUTH_NAME_MAX + 1];
};

static void
auth_run(void *arg)
{
	struct auth_job *a = arg;
	struct s3_req tmp;
	struct sigv4_req sr;
	char secret[S3_SECRET_LEN + 1];

	/* Its own split of its own copy of the head. */
	memset(&tmp, 0, sizeof(tmp));
	if (split_head(&tmp, &a->head) < 0) {
		a->err = S3_ERR_INVALID_REQUEST;
		return;
	}
	sr = (struct sigv4_req){.method = a->method,
				.path = tmp.rawpath,
				.query = tmp.rawquery,
				.headers = tmp.hdr,
				.nheaders = tmp.nhdr};
	if ((a->err = sigv4_parse(&sr, &a->auth)) != S3_OK)
		return;
	if (a->auth.kind == SIGV4_ANONYMOUS) {
		a->err = S3_ERR_ACCESS_DENIED;
		return;
	}
	/* SECURITY: a key of an account deleted since is no key. */
	if (s3_keys_lookup(a->keys, a->auth.access_key, a->account, secret) <
		0 ||
	    !auth_has(a->accounts, a->account, NULL)) {
		OPENSSL_cleanse(secret, sizeof(secret));
		a->err = S3_ERR_INVALID_ACCESS_KEY;
		return;
	}
	a->err = sigv4_verify(&sr, &a->auth, secret, strlen(secret),
			      (int64_t)time(NULL), &a->chain);
	OPENSSL_cleanse(secret, sizeof(secret));
}

static void
authjob_free(struct auth_job *a)
{
	sigv4_chain_wipe(&a->chain);
	buf_release(&a->head);
	free(a);
}

static void
auth_done(void *arg)
{
	struct auth_job *a = arg;
	struct s3_req *r = a->r;
	struct http_conn *c = r->c;
	enum s3_err err = a->err;

	if (!http_job_end(c)) {
		authjob_free(a);
		return;
	}
	r->auth = a->auth;
	r->chain = a->chain;
	memcpy(r->account, a->account, sizeof(r->account));
	authjob_free(a);
	if (err != S3_OK) {
		log_info("s3: %s %s: %s", c->peer,
			 r->auth.access_key[0] ? r->auth.access_key
					       : "(anonymous)",
			 s3_err_code(err));
		s3_error(r, err, NULL);
		return;
	}
	dispatch(r);
}

static void
req_free(void *arg)
{
	struct s3_req *r = arg;

	if (r->dec)
		s3_chunked_free(r->dec);
	if (r->part)
		s3_part_cancel(r->part);
	if (r->pending)
		evbuffer_free(r->pending);
	if (r->h_owned)
		s3_hash_free(r->h);
	sigv4_chain_wipe(&r->chain);
	free(r);
}

static const char *const method_names[] = {
    [HTTP_GET] = "GET",	  [HTTP_HEAD] = "HEAD",	    [HTTP_PUT] = "PUT",
    [HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE", [HTTP_OTHER] = "OTHER",
};

static void
s3_route(struct http_conn *c)
{
	struct s3_ctx *ctx = c->srv->o.route_arg;
	struct s3_req *r;
	struct auth_job *a;
	uint8_t rnd[8];
	int rc;

	if (c->ext) {
		/* A body was read (http_read_body): the operation goes on. */
		r = c->ext;
		dispatch(r);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		c->close_after = true;
		http_respond(c, 503, NULL, NULL, NULL, 0);
		return;
	}
	r->c = c;
	c->ext = r;
	c->ext_free = req_free;
	/* A chunked body's end is known once it is read: until then, an
	 * answer given early ends the connection. */
	http_chunked_init(&r->te);
	if (c->req.chunked)
		c->body_left = UINT64_MAX;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	str_hex(rnd, sizeof(rnd), r->id);
	if (split_head(r, &c->head) < 0) {
		s3_error(r, S3_ERR_INVALID_REQUEST, "malformed head");
		return;
	}
	if ((rc = http_query_parse(&r->q, r->rawquery.p, r->rawquery.len)) <
	    0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, http_query_error(rc));
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	a->r = r;
	a->keys = ctx->keys;
	a->accounts = ctx->auth;
	(void)str_copy(a->method, sizeof(a->method),
		       method_names[c->req.method]);
	buf_init(&a->head, HTTP_HEAD_MAX);
	if (buf_append(&a->head, c->head.data, c->head.len) < 0) {
		authjob_free(a);
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	c->st = CONN_BUSY;
	if (http_job(c, auth_run, auth_done, a) < 0) {
		authjob_free(a);
		c->close_after = true;
		s3_error(r, S3_ERR_SLOW_DOWN, NULL);
	}
}

/* What the connections refuse before a request reaches s3_route. */
static void
s3_conn_error(struct http_conn *c, int status, const char *msg)
{
	struct buf b;
	enum s3_err e;

	switch (status) {
	case 431:
	case 413:
		e = S3_ERR_ENTITY_TOO_LARGE;
		break;
	case 501:
		e = S3_ERR_NOT_IMPLEMENTED;
		break;
	case 503:
		e = S3_ERR_SLOW_DOWN;
		break;
	default:
		e = S3_ERR_INVALID_REQUEST;
	}
	buf_init(&b, 4096);
	if (s3_xml_error(&b, e, msg, NULL, NULL) < 0)
		buf_reset(&b);
	/* The status is the connection's (431, 505...), the body S3's. */
	http_respond(c, status, "application/xml",
		     status == 503 ? "Retry-After: 1\r\n" : NULL, b.data,
		     b.len);
	buf_release(&b);
}

/* The server */

static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct s3_ctx *ctx = arg;

	(void)fd;
	(void)what;
	s3_mp_expire(ctx->pool, ctx->store, ctx->expiry_s);
}

struct http_server *
s3_server_new(const struct http_opts *base, char *err, size_t errlen)
{
	struct http_opts o = *base;
	struct s3_ctx *ctx;
	struct http_server *srv;
	char path[FS_PATH_MAX];

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return (NULL);
	(void)str_copy(ctx->region, sizeof(ctx->region), base->cfg->s3_region);
	(void)str_copy(ctx->domain, sizeof(ctx->domain), base->cfg->s3_domain);
	if (str_fmt(path, sizeof(path), "%s/%s", base->priv_dir, S3_KEYS_FILE) <
		0 ||
	    (ctx->keys = s3_keys_new(path)) == NULL) {
		(void)str_fmt(err, errlen, "s3: out of memory");
		free(ctx);
		return (NULL);
	}
	o.name = "s3";
	o.listen = base->cfg->s3_listen;
	o.tls_mode = base->cfg->s3_tls;
	o.route = s3_route;
	o.route_arg = ctx;
	o.error = s3_conn_error;
	o.body_max = S3_XML_DELETE_BODY_MAX;
	ctx->pool = base->pool;
	ctx->auth = base->auth;
	ctx->store = base->store;
	ctx->expiry_s = base->cfg->s3_multipart_expiry;
	if ((srv = http_server_new(&o, err, errlen)) == NULL) {
		s3_keys_free(ctx->keys);
		free(ctx);
		return (NULL);
	}
	/* At start (uploads abandoned while the node was down), then
	 * every hour, or every expiry if it is shorter. */
	{
		struct timeval tv = {
		    ctx->expiry_s < 3600 ? ctx->expiry_s : 3600, 0};

		if ((ctx->expire = event_new(base->base, -1, EV_PERSIST,
					     on_expire, ctx)) != NULL)
			(void)event_add(ctx->expire, &tv);
		on_expire(-1, 0, ctx);
	}
	return (srv);
}

void
s3_server_free(struct http_server *srv)
{
	struct s3_ctx *ctx;

	if (srv == NULL)
		return;
	ctx = srv->o.route_arg;
	if (ctx->expire)
		event_free(ctx->expire);
	http_server_free(srv);
	s3_keys_free(ctx->keys);
	free(ctx);
}
