/*
 * dav_lock: WebDAV write locks (RFC 4918 class 2) as this node holds
 * them, and the LOCK and UNLOCK methods.
 *
 * A lock is a token ("opaquelocktoken:" and a random UUID), a path, a
 * depth (0, or infinity: the whole tree below a collection), a scope
 * (exclusive, or shared with other shared locks) and a timeout.  A write
 * to a path passes only if the request names, in its If header, the token
 * of every lock that covers it: a lock on the path itself, an infinite
 * one above it, and, for a write that takes a whole tree (DELETE, MOVE),
 * any lock below it.  The other front ends cannot send a token, so a
 * WebDAV lock holds their writes back too (dav_server_write_check, asked
 * by the node's write check); a cluster lock (`shoal lock`, the tracker's
 * leases) holds back WebDAV writers the same way (dav_write_refused).
 *
 * LOCK on a path that does not exist makes it, empty (RFC 4918 9.10.4),
 * so a client can lock a name before it writes it.  Expired locks are
 * dropped when the table is next looked at.  Loop thread only: the table
 * is the loop's, and a pool job never sees it.
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"

TAILQ_HEAD(dav_lock_list, dav_lock);

struct dav_locks {
	struct dav_lock_list list;
	unsigned n;
};

struct dav_locks *
dav_locks_new(void)
{
	struct dav_locks *t = calloc(1, sizeof(*t));

	if (t != NULL)
		TAILQ_INIT(&t->list);
	return (t);
}

void
dav_locks_free(struct dav_locks *t)
{
	struct dav_lock *l;

	if (t == NULL)
		return;
	while ((l = TAILQ_FIRST(&t->list)) != NULL) {
		TAILQ_REMOVE(&t->list, l, entry);
		free(l);
	}
	free(t);
}

static void
expire(struct dav_locks *t)
{
	struct dav_lock *l, *next;
	uint64_t now = clock_mono_ms();

	for (l = TAILQ_FIRST(&t->list); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (l->expires_ms <= now) {
			TAILQ_REMOVE(&t->list, l, entry);
			t->n--;
			free(l);
		}
	}
}

/* Is path under (or at) top?  "" is the root, above everything. */
static bool
under(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (n == 0)
		return (true);
	return (strncmp(path, top, n) == 0 &&
		(path[n] == '\0' || path[n] == '/'));
}

/* Does lock l cover a write to path (tree: and everything below it)? */
static bool
covers(const struct dav_lock *l, const char *path, bool tree)
{
	if (strcmp(l->path, path) == 0)
		return (true);
	if (l->infinite && under(path, l->path))
		return (true);
	return (tree && under(l->path, path));
}

static bool
named(const char *token, char tokens[][DAV_TOKEN_MAX + 1], unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcmp(tokens[i], token) == 0)
			return (true);
	return (false);
}

const struct dav_lock *
dav_locks_blocking(struct dav_locks *t, const char *path, bool tree,
		   char tokens[][DAV_TOKEN_MAX + 1], unsigned n)
{
	struct dav_lock *l;

	expire(t);
	TAILQ_FOREACH(l, &t->list, entry)
	if (covers(l, path, tree) && !named(l->token, tokens, n))
		return (l);
	return (NULL);
}

bool
dav_locks_token_covers(struct dav_locks *t, const char *path, const char *token)
{
	struct dav_lock *l;

	expire(t);
	TAILQ_FOREACH(l, &t->list, entry)
	if (strcmp(l->token, token) == 0 && covers(l, path, false))
		return (true);
	return (false);
}

void
dav_locks_drop_tree(struct dav_locks *t, const char *path)
{
	struct dav_lock *l, *next;

	for (l = TAILQ_FIRST(&t->list); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (under(l->path, path)) {
			TAILQ_REMOVE(&t->list, l, entry);
			t->n--;
			free(l);
		}
	}
}

int
dav_lock_xml(const struct dav_lock *l, struct buf *b)
{
	uint64_t now = clock_mono_ms();
	unsigned left = l->expires_ms > now
			    ? (unsigned)((l->expires_ms - now + 999) / 1000)
			    : 0;
	int rc;

	rc = buf_printf(b,
			"<D:activelock><D:locktype><D:write/></D:locktype>"
			"<D:lockscope><D:%s/></D:lockscope>"
			"<D:depth>%s</D:depth>",
			l->shared ? "shared" : "exclusive",
			l->infinite ? "infinity" : "0");
	if (rc == 0 && l->owner[0])
		rc = buf_printf(b, "<D:owner>%s</D:owner>", l->owner);
	if (rc == 0)
		rc = buf_printf(b,
				"<D:timeout>Second-%u</D:timeout>"
				"<D:locktoken><D:href>%s</D:href>"
				"</D:locktoken><D:lockroot><D:href>",
				left, l->token);
	if (rc == 0)
		rc = dav_href(b, l->path, false);
	if (rc == 0)
		rc = buf_puts(b, "</D:href></D:lockroot></D:activelock>");
	return (rc);
}

int
dav_locks_discovery(struct dav_locks *t, const char *path, struct buf *b)
{
	struct dav_lock *l;
	int rc = 0;

	expire(t);
	TAILQ_FOREACH(l, &t->list, entry)
	if (rc == 0 && covers(l, path, false))
		rc = dav_lock_xml(l, b);
	return (rc);
}

/* Timeout: Second-N or Infinite, the first we understand; capped. */
static unsigned
timeout_of(struct dav_req *r)
{
	struct span v;
	struct cursor c;
	uint64_t s;

	if (!dav_header(r, "timeout", &v))
		return (DAV_TIMEOUT_MAX);
	cur_init(&c, v.p, v.len);
	while (!cur_eof(&c)) {
		struct span one = cur_until(&c, ',');

		(void)cur_eat(&c, ',');
		while (one.len && one.p[0] == ' ') {
			one.p++;
			one.len--;
		}
		if (one.len > 7 && strncasecmp(one.p, "Second-", 7) == 0) {
			one.p += 7;
			one.len -= 7;
			if (span_u64(one, UINT32_MAX, &s) == 0)
				return (s == 0		      ? 1
					: s > DAV_TIMEOUT_MAX ? DAV_TIMEOUT_MAX
							      : (unsigned)s);
		}
		if (span_eq_ci(one, "Infinite"))
			return (DAV_TIMEOUT_MAX);
	}
	return (DAV_TIMEOUT_MAX);
}

static void
new_token(char out[DAV_TOKEN_MAX + 1])
{
	uint8_t u[16];
	char h[33];

	if (RAND_bytes(u, sizeof(u)) != 1)
		fatal("dav: no random bytes for a lock token");
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	str_hex(u, sizeof(u), h);
	(void)str_fmt(out, DAV_TOKEN_MAX + 1,
		      "opaquelocktoken:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8,
		      h + 12, h + 16, h + 20);
}

static void
answer_lock(struct dav_req *r, const struct dav_lock *l, int status)
{
	struct buf b;
	char extra[DAV_TOKEN_MAX + 32];

	buf_init(&b, 64 * 1024);
	(void)str_fmt(extra, sizeof(extra), "Lock-Token: <%s>\r\n", l->token);
	if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			 "<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>") < 0 ||
	    dav_lock_xml(l, &b) < 0 ||
	    buf_puts(&b, "</D:lockdiscovery></D:prop>\n") < 0) {
		buf_release(&b);
		dav_error(r, 500, "out of memory");
		return;
	}
	http_respond(r->c, status, "application/xml; charset=utf-8", extra,
		     b.data, b.len);
	buf_release(&b);
}

/* LOCK on a name with nothing there: an empty file is made. */
struct create_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	struct dav_lock *l;
	bool created;
	int rc;
};

static void
create_run(void *arg)
{
	struct create_job *j = arg;
	struct fs_entry e;
	struct upload *up;

	if ((j->rc = fs_stat(j->store, j->path, 0, &e)) != -ENOENT)
		return;
	if ((j->rc = fs_write_begin(j->store, j->path, UPLOAD_UNIQUE, 0, NULL,
				    &up)) < 0) {
		if (j->rc == -ENOENT)
			j->rc = -ENOTDIR; /* no folder: 409 */
		return;
	}
	if ((j->rc = upload_flush(up)) == 0 &&
	    (j->rc = upload_commit(up, NULL)) == 0)
		j->created = true;
	upload_abort(up);
}

static void
create_done(void *arg)
{
	struct create_job *j = arg;
	struct dav_req *r = j->r;
	struct dav_ctx *ctx;

	if (!http_job_end(r->c)) {
		free(j->l);
		free(j);
		return;
	}
	ctx = r->c->srv->o.route_arg;
	if (j->rc < 0 && j->rc != -EEXIST) {
		dav_error_errno(r, j->rc);
		free(j->l);
		free(j);
		return;
	}
	/* Another lock may have come while the job ran. */
	TAILQ_INSERT_TAIL(&ctx->locks->list, j->l, entry);
	ctx->locks->n++;
	log_info("dav: %s locked /%s (%s, %s)", r->c->peer, j->l->path,
		 j->l->shared ? "shared" : "exclusive",
		 j->l->infinite ? "infinity" : "depth 0");
	answer_lock(r, j->l, j->created ? 201 : 200);
	free(j);
}

/* A conflicting lock: one that meets path where either is exclusive. */
static const struct dav_lock *
conflict(struct dav_locks *t, const char *path, bool infinite, bool shared)
{
	struct dav_lock *l;

	expire(t);
	TAILQ_FOREACH(l, &t->list, entry)
	if ((covers(l, path, false) || (infinite && under(l->path, path))) &&
	    (!shared || !l->shared))
		return (l);
	return (NULL);
}

void
dav_lock_method(struct dav_req *r)
{
	struct http_conn *c = r->c;
	struct dav_ctx *ctx = c->srv->o.route_arg;
	const struct http_ctl *ctl = &c->srv->o.ctl;
	struct dav_xml x;
	struct dav_lock *l;
	struct create_job *j;
	char why[512];
	int rc;

	if (!dav_need_body(r))
		return;
	if (c->body.len == 0) {
		/* A refresh: the If header names the lock. */
		struct dav_lock *k;

		expire(ctx->locks);
		TAILQ_FOREACH(k, &ctx->locks->list, entry)
		if (named(k->token, r->tokens, r->ntokens) &&
		    covers(k, r->path, false))
			break;
		if (k == NULL) {
			dav_error(r, r->ntokens ? 412 : 400,
				  "a refresh names a lock in If");
			return;
		}
		k->timeout_s = timeout_of(r);
		k->expires_ms = clock_mono_ms() + k->timeout_s * 1000ull;
		answer_lock(r, k, 200);
		return;
	}
	if ((rc = dav_xml_parse(DAV_XML_LOCKINFO, c->body.data, c->body.len,
				&x)) < 0) {
		dav_error(r, rc == -E2BIG ? 413 : 400, "bad lockinfo");
		return;
	}
	if (r->depth == 1) {
		dav_xml_release(&x);
		dav_error(r, 400, "a lock has Depth 0 or infinity");
		return;
	}
	if (conflict(ctx->locks, r->path, r->depth == DAV_DEPTH_INF,
		     x.shared) != NULL) {
		dav_xml_release(&x);
		dav_error(r, 423, "locked by another client");
		return;
	}
	if (ctl->write_check != NULL &&
	    (rc = ctl->write_check(ctl->arg, r->path, dav_user(c), 0, why,
				   sizeof(why))) != 0) {
		dav_xml_release(&x);
		dav_error(r, 423, why);
		return;
	}
	if (ctx->locks->n >= DAV_LOCKS_MAX) {
		dav_xml_release(&x);
		dav_error(r, 503, "too many locks");
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		free(l);
		dav_xml_release(&x);
		dav_error(r, 500, "out of memory");
		return;
	}
	new_token(l->token);
	memcpy(l->path, r->path, sizeof(l->path));
	l->infinite = r->depth == DAV_DEPTH_INF;
	l->shared = x.shared;
	memcpy(l->owner, x.owner, sizeof(l->owner));
	(void)str_copy(l->user, sizeof(l->user), c->user);
	l->timeout_s = timeout_of(r);
	l->expires_ms = clock_mono_ms() + l->timeout_s * 1000ull;
	dav_xml_release(&x);
	j->r = r;
	j->store = c->srv->o.store;
	j->l = l;
	memcpy(j->path, r->path, sizeof(j->path));
	c->st = CONN_BUSY;
	if (http_job(c, create_run, create_done, j) < 0) {
		free(l);
		free(j);
		http_busy(c);
	}
}

void
dav_unlock_method(struct dav_req *r)
{
	struct dav_ctx *ctx = r->c->srv->o.route_arg;
	struct dav_lock *l;
	struct span v;
	char tok[DAV_TOKEN_MAX + 1];

	if (!dav_header(r, "lock-token", &v) || v.len < 3 || v.p[0] != '<' ||
	    v.p[v.len - 1] != '>' || v.len - 2 > DAV_TOKEN_MAX) {
		dav_error(r, 400, "Lock-Token: <token> is needed");
		return;
	}
	memcpy(tok, v.p + 1, v.len - 2);
	tok[v.len - 2] = '\0';
	expire(ctx->locks);
	TAILQ_FOREACH(l, &ctx->locks->list, entry)
	if (strcmp(l->token, tok) == 0 && covers(l, r->path, false))
		break;
	if (l == NULL) {
		dav_error(r, 409, "no such lock on this resource");
		return;
	}
	log_info("dav: %s unlocked /%s", r->c->peer, l->path);
	TAILQ_REMOVE(&ctx->locks->list, l, entry);
	ctx->locks->n--;
	free(l);
	http_respond(r->c, 204, NULL, NULL, NULL, 0);
}
