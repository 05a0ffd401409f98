/*
 * tclient: the node's side of the tracker protocol.
 *
 *   idle --dial--> connecting --TLS up, T_HELLO--> waiting
 *   waiting --T_WELCOME--> registered: file list, then changes, beats
 *   any --link down / T_REFUSE / silent too long--> idle (redial, backoff)
 *
 * File lists are read from the index on the worker pool, one job at a
 * time, from the last sequence number sent; a new registration starts
 * again from zero with a RESET list, so the tracker's copy is replaced,
 * never merged with a stale one.
 */
#include "cluster/tclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/link.h"
#include "cluster/members.h"
#include "net/tls.h"
#include "store/index.h"
#include "store/path.h"

#define TICK_MS			250
#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		4000
#define REQUEST_TIMEOUT_MS	10000
#define LIST_ROWS		16384	/* index rows per job */
#define LIST_FRAMES		(LIST_ROWS / TWIRE_FILES_MAX + 1)

enum tc_state { TC_IDLE, TC_CONNECTING, TC_WAITING, TC_REGISTERED };

struct treq {
	TAILQ_ENTRY(treq)	 entry;
	uint32_t		 id;
	bool			 is_lock;
	tclient_lock_cb		 lock_cb;
	tclient_answer_cb	 answer_cb;
	void			*arg;
	uint64_t		 deadline;
};

struct tclient {
	struct tclient_opts	 o;
	char			 tracker[ADDR_STR_MAX];
	char			 peer_addr[ADDR_STR_MAX];
	char			 http_addr[ADDR_STR_MAX];
	struct sockaddr_storage	 sa;
	SSL_CTX			*ctx;
	struct link_env		 env;
	struct link		*link;
	enum tc_state		 st;
	uint64_t		 next_dial;
	unsigned		 backoff_ms;
	uint32_t		 beat_ms, expire_ms;
	uint64_t		 next_beat, last_heard;
	struct event		*tick;
	struct locks		*locks;
	TAILQ_HEAD(, treq)	 reqs;
	uint32_t		 next_req;
	/* file list */
	uint64_t		 sent_seq;	/* index rows up to here sent */
	bool			 reset_due;	/* next list replaces all */
	bool			 listing, list_again;
	uint64_t		 epoch;		/* bumps per registration */
	bool			 leaving;
};

struct list_job {
	struct tclient	*tc;
	uint64_t	 since, last_seq, epoch;
	bool		 reset;
	unsigned	 rows;
	struct buf	 frames[LIST_FRAMES];
	struct twire_list li;
	unsigned	 nframes;
	bool		 failed;
};

/* Requests */

static void
req_end(struct tclient *tc, struct treq *r, int status, const char *msg,
    const struct twire_lock *l, const char *json, size_t len)
{
	TAILQ_REMOVE(&tc->reqs, r, entry);
	if (r->is_lock)
		r->lock_cb(r->arg, status, msg, l);
	else
		r->answer_cb(r->arg, status, json, len);
	free(r);
}

static void
fail_all(struct tclient *tc, const char *why)
{
	struct treq *r;
	static const char busy[] = "{\"error\": \"the tracker is unreachable\"}";

	while ((r = TAILQ_FIRST(&tc->reqs)) != NULL)
		req_end(tc, r, r->is_lock ? ENOTCONN : 503, why, NULL, busy,
		    sizeof(busy) - 1);
}

static struct treq *
req_new(struct tclient *tc, bool is_lock)
{
	struct treq *r;

	if (tc->st != TC_REGISTERED || (r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->id = ++tc->next_req;
	r->is_lock = is_lock;
	r->deadline = clock_mono_ms() + REQUEST_TIMEOUT_MS;
	TAILQ_INSERT_TAIL(&tc->reqs, r, entry);
	return (r);
}

static struct treq *
req_find(struct tclient *tc, uint32_t id)
{
	struct treq *r;

	TAILQ_FOREACH(r, &tc->reqs, entry)
		if (r->id == id)
			return (r);
	return (NULL);
}

/* The file list */

static int
list_row(const char *path, const struct file_meta *m, void *arg)
{
	struct list_job *j = arg;
	struct twire_file f;
	struct buf *b;

	j->last_seq = m->seq;
	j->rows++;
	/* Folders are not listed; a full list has no use for tombstones;
	 * a name the tracker would refuse (an old row) is left out. */
	if (m->type != ENTRY_FILE || (j->reset && m->deleted) ||
	    !path_valid(path))
		return (0);
	f.live = !m->deleted;
	if (str_copy(f.path, sizeof(f.path), path) < 0)
		return (0);
	f.size = m->size;
	memcpy(f.sha256, m->sha256, HASH_LEN);
	twire_version_text(&m->vv, f.version);
	if (j->nframes > 0 && twire_add_file(&j->li, &f) == 0)
		return (0);
	/* A new frame: the first of a full list carries RESET. */
	if (j->nframes > 0 && twire_list_end(&j->li) < 0)
		return (-EIO);
	if (j->nframes == LIST_FRAMES)
		return (-ENOSPC);
	b = &j->frames[j->nframes];
	buf_init(b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (twire_list_begin(&j->li, b, WIRE_T_FILES, j->reset &&
	    j->nframes == 0 ? TWIRE_FLAG_RESET : 0) < 0 ||
	    twire_add_file(&j->li, &f) < 0)
		return (-EIO);
	j->nframes++;
	return (0);
}

static void
list_run(void *arg)
{
	struct list_job *j = arg;
	int rc;

	rc = index_changes(j->tc->o.index, j->since, LIST_ROWS, list_row, j);
	if (rc < 0 && rc != -ENOSPC)
		j->failed = true;
	if (j->nframes == 0 && j->reset) {
		/* An empty folder still replaces what the tracker had. */
		buf_init(&j->frames[0], 64);
		if (twire_list_begin(&j->li, &j->frames[0], WIRE_T_FILES,
		    TWIRE_FLAG_RESET) == 0)
			j->nframes = 1;
	}
	if (j->nframes > 0 && twire_list_end(&j->li) < 0)
		j->failed = true;
}

static void list_start(struct tclient *);

static void
list_done(void *arg)
{
	struct list_job *j = arg;
	struct tclient *tc = j->tc;
	unsigned i;
	bool more = false;

	tc->listing = false;
	if (j->epoch == tc->epoch && tc->st == TC_REGISTERED && !j->failed) {
		for (i = 0; i < j->nframes; i++)
			(void)link_send(tc->link, &j->frames[i]);
		if (j->rows > 0)
			tc->sent_seq = j->last_seq;
		tc->reset_due = false;
		more = j->rows == LIST_ROWS;
	} else if (j->failed)
		log_warnx("tracker: cannot read the file list; retrying");
	for (i = 0; i < j->nframes; i++)
		buf_release(&j->frames[i]);
	free(j);
	if (more || tc->list_again) {
		tc->list_again = false;
		list_start(tc);
	}
}

static void
list_start(struct tclient *tc)
{
	struct list_job *j;

	if (tc->st != TC_REGISTERED)
		return;
	if (tc->listing) {
		tc->list_again = true;
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->tc = tc;
	j->since = tc->reset_due ? 0 : tc->sent_seq;
	j->reset = tc->reset_due;
	j->epoch = tc->epoch;
	if (work_submit(tc->o.pool, list_run, list_done, j) < 0) {
		free(j);
		return;
	}
	tc->listing = true;
}

void
tclient_changed(struct tclient *tc)
{
	if (tc != NULL)
		list_start(tc);
}

/* Frames from the tracker */

static void
on_nodes(struct tclient *tc, const uint8_t *p, size_t len)
{
	struct twire_node n;
	struct wire_rd r;
	struct member *m;
	uint8_t flags;
	uint32_t count, i;
	char err[256];

	if (twire_list_read(&r, p, len, WIRE_T_NODES, &flags, &count) < 0)
		goto bad;
	for (i = 0; i < count; i++) {
		if (twire_next_node(&r, &n) < 0)
			goto bad;
		if (memcmp(n.id, tc->o.self, NODE_ID_LEN) == 0)
			continue;
		m = members_find(tc->o.members, n.id);
		if (m != NULL && m->state == MEMBER_ALIVE)
			continue;
		if (members_add(tc->o.members, n.peer_addr, false, err,
		    sizeof(err)) < 0)
			log_warnx("tracker: node %s: %s", n.peer_addr, err);
	}
	return;
bad:
	log_warnx("tracker: malformed node list");
}

static void
on_locks(struct tclient *tc, const uint8_t *p, size_t len)
{
	struct twire_lock l;
	struct wire_rd r;
	uint8_t flags;
	uint32_t count, i;

	if (twire_list_read(&r, p, len, WIRE_T_LOCKS, &flags, &count) < 0) {
		log_warnx("tracker: malformed lock table");
		return;
	}
	if (flags & TWIRE_FLAG_RESET)
		locks_clear(tc->locks);
	for (i = 0; i < count; i++) {
		if (twire_next_lock(&r, &l) < 0) {
			log_warnx("tracker: malformed lock table");
			return;
		}
		locks_apply(tc->locks, &l);
	}
}

static void
on_lock_ans(struct tclient *tc, const uint8_t *p, size_t len)
{
	struct twire_lock_ans a;
	struct treq *r;

	if (twire_get_lock_ans(p, len, &a) < 0) {
		log_warnx("tracker: malformed lock answer");
		return;
	}
	/* The table knows at once what its own request changed. */
	if (a.status == 0)
		locks_apply(tc->locks, &a.lock);
	if ((r = req_find(tc, a.req)) != NULL && r->is_lock)
		req_end(tc, r, a.status, a.msg, a.lock.path[0] ? &a.lock :
		    NULL, NULL, 0);
}

static void
on_answer(struct tclient *tc, const uint8_t *p, size_t len)
{
	const char *json;
	struct treq *r;
	uint32_t id;
	uint16_t status;
	size_t jlen;

	if (twire_get_answer(p, len, &id, &status, &json, &jlen) < 0) {
		log_warnx("tracker: malformed answer");
		return;
	}
	if ((r = req_find(tc, id)) != NULL && !r->is_lock)
		req_end(tc, r, status, NULL, NULL, json, jlen);
}

static void
link_frame(struct link *l, const struct wire_hdr *h, const uint8_t *p,
    void *arg)
{
	struct tclient *tc = arg;
	char why[TWIRE_MSG_MAX + 1];

	(void)l;
	tc->last_heard = clock_mono_ms();
	switch (h->type) {
	case WIRE_T_WELCOME:
		if (tc->st != TC_WAITING || twire_get_welcome(p, h->len,
		    &tc->beat_ms, &tc->expire_ms) < 0) {
			link_close(tc->link, "protocol error");
			return;
		}
		tc->st = TC_REGISTERED;
		tc->backoff_ms = BACKOFF_MIN_MS;
		tc->epoch++;
		tc->reset_due = true;
		tc->next_beat = tc->last_heard + tc->beat_ms;
		log_info("tracker %s: registered (heartbeat every %u ms)",
		    tc->tracker, tc->beat_ms);
		list_start(tc);
		break;
	case WIRE_T_REFUSE:
		(void)twire_get_refuse(p, h->len, why, sizeof(why));
		log_errorx("tracker %s refused this node: %s", tc->tracker,
		    why);
		link_close(tc->link, "refused");
		break;
	case WIRE_T_BEAT_ACK:
		break;
	case WIRE_T_NODES:
		on_nodes(tc, p, h->len);
		break;
	case WIRE_T_LOCKS:
		on_locks(tc, p, h->len);
		break;
	case WIRE_T_LOCK_ANS:
		on_lock_ans(tc, p, h->len);
		break;
	case WIRE_T_ANSWER:
		on_answer(tc, p, h->len);
		break;
	default:
		log_warnx("tracker %s: unexpected %s", tc->tracker,
		    wire_type_name(h->type));
		link_close(tc->link, "protocol error");
		break;
	}
}

static void
link_up(struct link *l, void *arg)
{
	struct tclient *tc = arg;
	struct twire_hello h;
	struct buf b;

	memset(&h, 0, sizeof(h));
	memcpy(h.id, tc->o.self, NODE_ID_LEN);
	(void)str_copy(h.peer_addr, sizeof(h.peer_addr), tc->peer_addr);
	(void)str_copy(h.http_addr, sizeof(h.http_addr), tc->http_addr);
	buf_init(&b, 4096);
	if (twire_put_hello(&b, &h) == 0)
		(void)link_send(l, &b);
	buf_release(&b);
	tc->st = TC_WAITING;
	tc->last_heard = clock_mono_ms();
}

static void
link_down(struct link *l, const char *why, void *arg)
{
	struct tclient *tc = arg;

	if (l != tc->link)
		return;
	if (tc->st == TC_REGISTERED)
		log_warnx("tracker %s: link down (%s); working on with the "
		    "members known", tc->tracker, why);
	tc->link = NULL;
	tc->st = TC_IDLE;
	tc->next_dial = clock_mono_ms() + tc->backoff_ms;
	if (tc->backoff_ms < BACKOFF_MAX_MS)
		tc->backoff_ms *= 2;
	fail_all(tc, "the tracker is unreachable");
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tclient *tc = arg;
	uint64_t now = clock_mono_ms();
	struct treq *r, *rn;
	struct buf b;

	(void)fd;
	(void)what;
	for (r = TAILQ_FIRST(&tc->reqs); r != NULL; r = rn) {
		rn = TAILQ_NEXT(r, entry);
		if (r->deadline <= now)
			req_end(tc, r, r->is_lock ? ETIMEDOUT : 504,
			    "the tracker did not answer", NULL,
			    "{\"error\": \"the tracker did not answer\"}", 39);
	}
	if (tc->st == TC_IDLE && now >= tc->next_dial && !tc->leaving) {
		if ((tc->link = link_connect(&tc->env,
		    (struct sockaddr *)&tc->sa)) != NULL)
			tc->st = TC_CONNECTING;
		else
			tc->next_dial = now + tc->backoff_ms;
		return;
	}
	if (tc->st == TC_CONNECTING || tc->st == TC_WAITING) {
		if (now - tc->last_heard > REQUEST_TIMEOUT_MS && tc->link)
			link_close(tc->link, "no answer");
		return;
	}
	if (tc->st != TC_REGISTERED)
		return;
	/* A tracker silent for a whole expiry is gone, whatever TCP says. */
	if (now - tc->last_heard > tc->expire_ms) {
		link_close(tc->link, "the tracker went silent");
		return;
	}
	if (now >= tc->next_beat) {
		tc->next_beat = now + tc->beat_ms;
		buf_init(&b, 64);
		if (twire_put_beat(&b, WIRE_T_BEAT, now) == 0)
			(void)link_send(tc->link, &b);
		buf_release(&b);
	}
}

/* Requests from the node */

int
tclient_lock(struct tclient *tc, enum twire_lock_op op, const char *path,
    const char *owner, uint32_t ttl_s, tclient_lock_cb cb, void *arg)
{
	struct twire_lock_req q;
	struct treq *r;
	struct buf b;
	int rc;

	if (tc == NULL || (r = req_new(tc, true)) == NULL)
		return (-ENOTCONN);
	r->lock_cb = cb;
	r->arg = arg;
	memset(&q, 0, sizeof(q));
	q.req = r->id;
	q.op = (uint8_t)op;
	q.ttl_s = ttl_s;
	buf_init(&b, 16384);
	if ((rc = str_copy(q.path, sizeof(q.path), path)) < 0 ||
	    (rc = str_copy(q.owner, sizeof(q.owner), owner)) < 0 ||
	    (rc = twire_put_lock_req(&b, &q)) < 0 ||
	    (rc = link_send(tc->link, &b)) < 0) {
		TAILQ_REMOVE(&tc->reqs, r, entry);
		free(r);
	}
	buf_release(&b);
	return (rc);
}

int
tclient_query(struct tclient *tc, enum twire_query_kind kind,
    const char *path, const char *after, uint32_t limit,
    tclient_answer_cb cb, void *arg)
{
	struct twire_query q;
	struct treq *r;
	struct buf b;
	int rc;

	if (tc == NULL || (r = req_new(tc, false)) == NULL)
		return (-ENOTCONN);
	r->answer_cb = cb;
	r->arg = arg;
	memset(&q, 0, sizeof(q));
	q.req = r->id;
	q.kind = (uint8_t)kind;
	q.limit = limit;
	buf_init(&b, 16384);
	if ((rc = str_copy(q.path, sizeof(q.path), path)) < 0 ||
	    (rc = str_copy(q.after, sizeof(q.after), after)) < 0 ||
	    (rc = twire_put_query(&b, &q)) < 0 ||
	    (rc = link_send(tc->link, &b)) < 0) {
		TAILQ_REMOVE(&tc->reqs, r, entry);
		free(r);
	}
	buf_release(&b);
	return (rc);
}

void
tclient_bye(struct tclient *tc)
{
	struct buf b;

	if (tc == NULL)
		return;
	tc->leaving = true;
	if (tc->st != TC_REGISTERED)
		return;
	buf_init(&b, 64);
	if (wire_begin(&b, WIRE_BYE) == 0 && wire_end(&b) == 0)
		(void)link_send(tc->link, &b);
	buf_release(&b);
	link_finish(tc->link, "leaving");
}

bool
tclient_up(const struct tclient *tc)
{
	return (tc != NULL && tc->st == TC_REGISTERED);
}

const char *
tclient_addr(const struct tclient *tc)
{
	return (tc->tracker);
}

struct locks *
tclient_locks(struct tclient *tc)
{
	return (tc ? tc->locks : NULL);
}

struct tclient *
tclient_new(const struct tclient_opts *o, char *err, size_t errlen)
{
	struct tclient *tc;
	struct timeval tv = { 0, TICK_MS * 1000 };
	socklen_t sl;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return (NULL);
	tc->o = *o;
	TAILQ_INIT(&tc->reqs);
	tc->backoff_ms = BACKOFF_MIN_MS;
	if (str_copy(tc->tracker, sizeof(tc->tracker), o->tracker) < 0 ||
	    addr_parse(o->tracker, &tc->sa, &sl) < 0) {
		(void)str_fmt(err, errlen, "tracker: '%s' is not HOST:PORT",
		    o->tracker);
		goto fail;
	}
	(void)str_copy(tc->peer_addr, sizeof(tc->peer_addr), o->peer_addr);
	(void)str_copy(tc->http_addr, sizeof(tc->http_addr), o->http_addr);
	if ((tc->ctx = tls_tracker_ctx(o->cluster_key, 0, err, errlen)) ==
	    NULL || (tc->locks = locks_new()) == NULL)
		goto fail;
	tc->env.base = o->base;
	tc->env.client_ctx = tc->ctx;
	tc->env.small = true;
	tc->env.log_heartbeats = o->log_heartbeats;
	tc->env.cbs.on_up = link_up;
	tc->env.cbs.on_frame = link_frame;
	tc->env.cbs.on_down = link_down;
	tc->env.arg = tc;
	if ((tc->tick = event_new(o->base, -1, EV_PERSIST, on_tick, tc)) ==
	    NULL || event_add(tc->tick, &tv) < 0)
		goto fail;
	return (tc);
fail:
	tclient_free(tc);
	return (NULL);
}

void
tclient_free(struct tclient *tc)
{
	if (tc == NULL)
		return;
	if (tc->tick)
		event_free(tc->tick);
	if (tc->link) {
		link_close(tc->link, "node stopping");	/* fails requests */
		tc->link = NULL;
	}
	fail_all(tc, "the node is stopping");
	locks_free(tc->locks);
	SSL_CTX_free(tc->ctx);
	free(tc);
}
