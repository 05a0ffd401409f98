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
 * With a tracker, a lock is also the cluster's (dav_lease.c): LOCK first
 * takes the tracker's lease on the path, so every front end of every
 * node refuses writes to it; a refresh renews the lease; UNLOCK, and a
 * DELETE or MOVE that drops the lock, release it.  A lock that times
 * out is not released by hand: its lease was taken for the same time
 * and ends at the tracker by itself (releasing it late could end a newer
 * lease of the same holder); a node that stops says bye, and the tracker
 * drops its leases.  Without a tracker the lock holds on this node only,
 * and the answer (Shoal-Lock) and the log say so.
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
			(void)dav_lease_release(t, l, NULL, NULL);
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
	if (rc == 0)
		rc = dav_lease_discovery(t, path, b);
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
	char extra[DAV_TOKEN_MAX + 80];

	buf_init(&b, 64 * 1024);
	/* Shoal-Lock says how far the lock reaches. */
	(void)str_fmt(extra, sizeof(extra),
		      "Lock-Token: <%s>\r\nShoal-Lock: %s\r\n", l->token,
		      l->leased ? "cluster" : "held on this node only");
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

/* LOCK on a name with nothing there: an empty file is made. */
struct create_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	struct dav_lock *l;
	struct dav_locks *locks;
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
		(void)dav_lease_release(j->locks, j->l, NULL, NULL);
		free(j->l);
		free(j);
		return;
	}
	ctx = r->c->srv->o.route_arg;
	if (j->rc < 0 && j->rc != -EEXIST) {
		(void)dav_lease_release(j->locks, j->l, NULL, NULL);
		dav_error_errno(r, j->rc);
		free(j->l);
		free(j);
		return;
	}
	/* Another lock may have come while the tracker or the job was
	 * asked (its lease, if it shares one, stays). */
	if (conflict(ctx->locks, j->l->path, j->l->infinite, j->l->shared)) {
		(void)dav_lease_release(j->locks, j->l, NULL, NULL);
		dav_error(r, 423, "locked by another client");
		free(j->l);
		free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&ctx->locks->list, j->l, entry);
	ctx->locks->n++;
	log_info("dav: %s locked /%s (%s, %s; %s)", r->c->peer, j->l->path,
		 j->l->shared ? "shared" : "exclusive",
		 j->l->infinite ? "infinity" : "depth 0",
		 j->l->leased ? "the tracker's lease"
			      : "held on this node only");
	answer_lock(r, j->l, j->created ? 201 : 200);
	free(j);
}

static void
create_start(struct create_job *j)
{
	struct http_conn *c = j->r->c;

	c->st = CONN_BUSY;
	if (http_job(c, create_run, create_done, j) < 0) {
		(void)dav_lease_release(j->locks, j->l, NULL, NULL);
		free(j->l);
		free(j);
		http_busy(c);
	}
}

/* The tracker's answer to a LOCK's lease: then the name is made. */
static void
lease_done(void *arg, int status, const char *msg, const struct twire_lock *tl)
{
	struct create_job *j = arg;
	struct dav_req *r = j->r;

	(void)tl;
	if (status == 0)
		j->l->leased = true;
	if (!http_job_end(r->c)) {
		(void)dav_lease_release(j->locks, j->l, NULL, NULL);
		free(j->l);
		free(j);
		return;
	}
	if (status != 0) {
		dav_error(r, dav_lease_status(status),
			  msg && msg[0] ? msg : strerror(status));
		free(j->l);
		free(j);
		return;
	}
	create_start(j);
}

/* A refresh waiting for the tracker to renew the lease. */
struct refresh_job {
	struct dav_req *r;
	struct dav_locks *locks;
	char token[DAV_TOKEN_MAX + 1];
	unsigned timeout_s;
};

static struct dav_lock *
by_token(struct dav_locks *t, const char *token)
{
	struct dav_lock *k;

	TAILQ_FOREACH(k, &t->list, entry)
	if (strcmp(k->token, token) == 0)
		return (k);
	return (NULL);
}

static void
refresh_done(void *arg, int status, const char *msg,
	     const struct twire_lock *tl)
{
	struct refresh_job *j = arg;
	struct dav_req *r = j->r;
	struct dav_lock *k;

	(void)tl;
	if (!http_job_end(r->c)) {
		free(j);
		return;
	}
	if (status != 0) {
		dav_error(r, dav_lease_status(status),
			  msg && msg[0] ? msg : strerror(status));
	} else if ((k = by_token(j->locks, j->token)) == NULL) {
		dav_error(r, 412, "the lock ended while it was refreshed");
	} else {
		k->timeout_s = j->timeout_s;
		k->expires_ms = clock_mono_ms() + k->timeout_s * 1000ull;
		answer_lock(r, k, 200);
	}
	free(j);
}

/* A refresh of k: its lease is renewed first, if it has one. */
static void
refresh(struct dav_req *r, struct dav_locks *t, struct dav_lock *k,
	unsigned timeout_s)
{
	struct refresh_job *j;
	int rc;

	if (!k->leased) {
		k->timeout_s = timeout_s;
		k->expires_ms = clock_mono_ms() + k->timeout_s * 1000ull;
		answer_lock(r, k, 200);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	j->r = r;
	j->locks = t;
	j->timeout_s = timeout_s;
	memcpy(j->token, k->token, sizeof(j->token));
	if ((rc = dav_lease_take(t, k, dav_lease_ttl(t, k, timeout_s),
				 refresh_done, j)) < 0) {
		free(j);
		dav_error(r, 503, "the tracker is unreachable");
		return;
	}
	r->c->jobs++; /* refresh_done ends it */
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
		refresh(r, ctx->locks, k, timeout_of(r));
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
	j->locks = ctx->locks;
	memcpy(j->path, r->path, sizeof(j->path));
	/* With a tracker the lease comes first: the name is made once
	 * the whole cluster holds back other writers. */
	rc = dav_lease_take(ctx->locks, l,
			    dav_lease_ttl(ctx->locks, l, l->timeout_s),
			    lease_done, j);
	if (rc == 0) {
		c->jobs++; /* lease_done ends it */
		return;
	}
	if (rc != -ENOSYS) {
		free(l);
		free(j);
		if (rc == -EINVAL)
			dav_error(r, 403,
				  "the root is not locked in a cluster "
				  "with a tracker");
		else
			dav_error(r, 503, "the tracker is unreachable");
		return;
	}
	/* No tracker: the lock holds on this node only. */
	create_start(j);
}

static void
unlock_done(void *arg, int status, const char *msg, const struct twire_lock *tl)
{
	struct http_conn *c = arg;

	(void)tl;
	dav_lease_log_release(status, msg);
	if (!http_job_end(c))
		return;
	/* The lock is gone here whatever the tracker said; a lease it
	 * kept ends at its expiry. */
	http_respond(c, 204, NULL, NULL, NULL, 0);
}

void
dav_unlock_method(struct dav_req *r)
{
	struct dav_ctx *ctx = r->c->srv->o.route_arg;
	struct dav_lock *l;
	struct span v;
	char tok[DAV_TOKEN_MAX + 1];
	int rc;

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
	/* The answer waits for the lease to go, so that a write anywhere
	 * after it finds the path free (once the tracker has told that
	 * node). */
	if ((rc = dav_lease_release(ctx->locks, l, unlock_done, r->c)) == 0) {
		r->c->jobs++; /* unlock_done ends it */
		free(l);
		return;
	}
	if (rc != -ENOENT)
		log_warnx("dav: the lease on /%s is kept to its expiry: the "
			  "tracker is unreachable",
			  l->path);
	free(l);
	http_respond(r->c, 204, NULL, NULL, NULL, 0);
}
