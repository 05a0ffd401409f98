/*
 * tracker: nodes register over TLS (the cluster key), announce their
 * files, heartbeat, take and release locks, and ask questions.
 *
 *   link accepted --T_HELLO--> registered (live) --silent expire_s--> gone
 *                                           \--BYE / clean shutdown--> gone
 *
 * Expiry counts full elapsed time on the monotonic clock.  A node whose
 * link drops without BYE (killed, cut off) stays listed until it expires,
 * so a short network blip does not churn the directory.
 */
#include "tracker/tracker_int.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/locks.h"
#include "cluster/members.h"
#include "net/tls.h"

#define HELLO_TIMEOUT_MS	10000
#define TICK_MS			250
#define TRIM_EVERY_MS		5000


static uint32_t
expire_ms(const struct tracker *tr)
{
	return (tr->o.expire_s * 1000u);
}

/* Node table */

static unsigned
slot_in(unsigned size, const uint8_t *id)
{
	uint32_t h;

	memcpy(&h, id, sizeof(h));	/* ids are random */
	return (h & (size - 1));
}

static unsigned
slot(const struct tracker *tr, const uint8_t *id)
{
	return (slot_in(tr->hash_size, id));
}

struct tnode *
tracker_node(struct tracker *tr, const uint8_t id[NODE_ID_LEN])
{
	struct tnode *n;

	for (n = tr->hash[slot(tr, id)]; n != NULL; n = n->hnext)
		if (memcmp(n->id, id, NODE_ID_LEN) == 0)
			return (n);
	return (NULL);
}

static void
rehash(struct tracker *tr)
{
	unsigned size = tr->hash_size * 2, i;
	struct tnode **h = calloc(size, sizeof(*h)), *n, *next;

	if (h == NULL)
		return;	/* longer chains, still correct */
	for (i = 0; i < tr->hash_size; i++)
		for (n = tr->hash[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = h[slot_in(size, n->id)];
			h[slot_in(size, n->id)] = n;
		}
	free(tr->hash);
	tr->hash = h;
	tr->hash_size = size;
}

void
tracker_node_insert(struct tracker *tr, struct tnode *n)
{
	unsigned s;

	if (tr->nnodes >= tr->hash_size)
		rehash(tr);
	s = slot(tr, n->id);
	member_id_hex(n->id, n->id_hex);
	n->hnext = tr->hash[s];
	tr->hash[s] = n;
	TAILQ_INSERT_HEAD(&tr->nodes, n, entry);
	tr->nnodes++;
}

/* Locks */

static void
lock_wire(const struct tlock *k, struct twire_lock *out)
{
	uint64_t now = clock_mono_ms();

	*out = k->l;
	out->remaining_ms = k->deadline > now ?
	    (uint32_t)(k->deadline - now) : 0;
}

static void
send_frame(struct tnode *n, const struct buf *b)
{
	if (n->link != NULL && link_is_up(n->link))
		(void)link_send(n->link, b);
}

/* Tells every connected node that a lock was taken, renewed or freed. */
static void
broadcast_lock(struct tracker *tr, const struct twire_lock *l)
{
	struct twire_list li;
	struct tnode *n;
	struct buf b;

	buf_init(&b, 16384);
	if (twire_list_begin(&li, &b, WIRE_T_LOCKS, 0) == 0 &&
	    twire_add_lock(&li, l) == 0 && twire_list_end(&li) == 0)
		TAILQ_FOREACH(n, &tr->nodes, entry)
			send_frame(n, &b);
	buf_release(&b);
}

static void
lock_drop(struct tracker *tr, struct tlock *k, const char *why)
{
	struct twire_lock gone;
	char id[2 * NODE_ID_LEN + 1];

	member_id_hex(k->l.node, id);
	log_info("lock on %s (token %llu, node %.8s, owner %s) ends: %s",
	    k->l.path,
	    (unsigned long long)k->l.token, id, k->l.owner, why);
	memset(&gone, 0, sizeof(gone));
	(void)str_copy(gone.path, sizeof(gone.path), k->l.path);
	TAILQ_REMOVE(&tr->locks, k, entry);
	tdb_lock_del(tr, k->l.path);
	broadcast_lock(tr, &gone);
	free(k);
}

static struct tlock *
lock_find(struct tracker *tr, const char *path)
{
	struct tlock *k;

	TAILQ_FOREACH(k, &tr->locks, entry)
		if (strcmp(k->l.path, path) == 0)
			return (k);
	return (NULL);
}

json_t *
tracker_locks_json(struct tracker *tr)
{
	json_t *a = json_array();
	struct twire_lock l;
	struct tlock *k;

	TAILQ_FOREACH(k, &tr->locks, entry) {
		lock_wire(k, &l);
		json_array_append_new(a, twire_lock_json(&l));
	}
	return (json_pack("{s:o}", "locks", a));
}

/* The most recently registered first, at most max of them (an answer
 * over the protocol must fit a frame); "total" says how many there are. */
json_t *
tracker_nodes_json(struct tracker *tr, unsigned max)
{
	json_t *a = json_array();
	uint64_t now = clock_mono_ms();
	struct tnode *n;
	unsigned i = 0;

	TAILQ_FOREACH(n, &tr->nodes, entry) {
		if (i++ == max)
			break;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:f,"
		    " s:s, s:b}", "id", n->id_hex, "peer_addr", n->peer_addr,
		    "http_addr", n->http_addr, "files", (json_int_t)n->files,
		    "last_heartbeat_s", (double)(now - n->last_heard) / 1000.0,
		    "state", n->live ? "live" : "returning", "connected",
		    n->link != NULL));
	}
	return (json_pack("{s:o, s:i}", "nodes", a, "total", (int)tr->nnodes));
}

void
tracker_resume(struct tracker *tr)
{
	struct tnode *n;

	if (tr->npaused == 0)
		return;
	TAILQ_FOREACH(n, &tr->nodes, entry)
		if (n->paused) {
			n->paused = false;
			/* Its heartbeats waited unread: not its fault. */
			n->last_heard = clock_mono_ms();
			if (n->link != NULL)
				link_pause(n->link, false);
		}
	tr->npaused = 0;
}

static void
node_remove(struct tracker *tr, struct tnode *n, const char *why)
{
	struct tnode **pp;
	struct tlock *k, *kn;

	log_info("node %.8s (%s) removed: %s", n->id_hex, n->peer_addr, why);
	for (k = TAILQ_FIRST(&tr->locks); k != NULL; k = kn) {
		kn = TAILQ_NEXT(k, entry);
		if (memcmp(k->l.node, n->id, NODE_ID_LEN) == 0)
			lock_drop(tr, k, "its node is gone");
	}
	for (pp = &tr->hash[slot(tr, n->id)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	TAILQ_REMOVE(&tr->nodes, n, entry);
	tr->nnodes--;
	if (n->paused)
		tr->npaused--;
	tdb_node_del(tr, n->id);
	if (n->link != NULL) {
		link_set_owner(n->link, NULL);
		link_finish(n->link, why);
	}
	free(n);
}

/* Frames */

static void
refuse(struct tracker *tr, struct link *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct tracker *tr, struct link *l, const char *fmt, ...)
{
	char why[TWIRE_MSG_MAX + 1];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("node at %s refused: %s", link_peer(l), why);
	buf_init(&b, 1024);
	if (twire_put_refuse(&b, why) == 0)
		(void)link_send(l, &b);
	buf_release(&b);
	link_finish(l, "refused");
}

static void
send_welcome(struct tracker *tr, struct tnode *n)
{
	struct twire_list li;
	struct twire_node tn;
	struct twire_lock l;
	struct tnode *o;
	struct tlock *k;
	struct buf b;
	unsigned sent = 0;

	buf_init(&b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (twire_put_welcome(&b, expire_ms(tr) / 4, expire_ms(tr)) == 0)
		send_frame(n, &b);
	/* Some live nodes to connect to; gossip among the members tells
	 * the rest, so this stays small however large the cluster. */
	if (twire_list_begin(&li, &b, WIRE_T_NODES, 0) == 0) {
		TAILQ_FOREACH(o, &tr->nodes, entry) {
			if (o == n || !o->live || o->link == NULL)
				continue;
			memcpy(tn.id, o->id, NODE_ID_LEN);
			(void)str_copy(tn.peer_addr, sizeof(tn.peer_addr),
			    o->peer_addr);
			(void)str_copy(tn.http_addr, sizeof(tn.http_addr),
			    o->http_addr);
			if (twire_add_node(&li, &tn) < 0 ||
			    ++sent == TRACKER_NODES_SENT)
				break;
		}
		if (twire_list_end(&li) == 0)
			send_frame(n, &b);
	}
	/* The whole lock table (it is small: locks are taken by people). */
	if (twire_list_begin(&li, &b, WIRE_T_LOCKS, TWIRE_FLAG_RESET) == 0) {
		TAILQ_FOREACH(k, &tr->locks, entry) {
			lock_wire(k, &l);
			if (twire_add_lock(&li, &l) < 0)
				break;
		}
		if (twire_list_end(&li) == 0)
			send_frame(n, &b);
	}
	buf_release(&b);
}

static int
check_addr(const char *a, bool may_be_off)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (may_be_off && (a[0] == '\0' || strcmp(a, "off") == 0))
		return (0);
	return (addr_parse(a, &ss, &sl));
}

static void
on_hello(struct tracker *tr, struct link *l, const uint8_t *p, size_t len)
{
	struct twire_hello h;
	struct tnode *n;
	char id[2 * NODE_ID_LEN + 1];

	if (twire_get_hello(p, len, &h) < 0) {
		refuse(tr, l, "malformed hello");
		return;
	}
	member_id_hex(h.id, id);
	if (check_addr(h.peer_addr, false) < 0 ||
	    check_addr(h.http_addr, true) < 0) {
		refuse(tr, l, "node %.8s: bad address", id);
		return;
	}
	/* A listener on a wildcard address: use the host we see. */
	addr_fill_wildcard(h.peer_addr, link_addr(l));
	n = tracker_node(tr, h.id);
	/* SECURITY: every node holds the cluster key, so an id cannot be
	 * proved; it can at least not be taken from a node that is alive. */
	if (n != NULL && n->link != NULL && n->link != l &&
	    link_is_up(n->link)) {
		refuse(tr, l, "node id %s is in use by a live node at %s", id,
		    n->peer_addr);
		return;
	}
	if (n == NULL) {
		if ((n = calloc(1, sizeof(*n))) == NULL) {
			link_close(l, "out of memory");
			return;
		}
		memcpy(n->id, h.id, NODE_ID_LEN);
		tracker_node_insert(tr, n);
	}
	n->link = l;
	link_set_owner(l, n);
	(void)str_copy(n->peer_addr, sizeof(n->peer_addr), h.peer_addr);
	(void)str_copy(n->http_addr, sizeof(n->http_addr), h.http_addr);
	n->live = true;
	n->last_heard = clock_mono_ms();
	n->registered_ms = clock_wall_ms();
	n->gen++;
	tdb_node_put(tr, n);
	log_info("node %.8s registered from %s (peer %s)", n->id_hex,
	    link_peer(l), n->peer_addr);
	send_welcome(tr, n);
}

static void
on_files(struct tracker *tr, struct tnode *n, const uint8_t *p, size_t len)
{
	struct twire_file f;
	struct wire_rd r;
	uint8_t flags;
	uint32_t count, i;

	/* Checked whole here, so nothing malformed is queued. */
	if (twire_list_read(&r, p, len, WIRE_T_FILES, &flags, &count) < 0)
		goto bad;
	for (i = 0; i < count; i++)
		if (twire_next_file(&r, &f) < 0)
			goto bad;
	if (wire_rd_done(&r) < 0)
		goto bad;
	tdb_files(tr, n, p, len);
	/* The database is behind: this node waits until it catches up. */
	if (tdb_backlog(tr) > TRACKER_BACKLOG_MAX && !n->paused) {
		link_pause(n->link, true);
		n->paused = true;
		tr->npaused++;
	}
	return;
bad:
	log_warnx("node %.8s: malformed file list, link closed", n->id_hex);
	link_close(n->link, "protocol error");
}

struct lock_job {
	struct tracker	*tr;
	uint8_t		 node[NODE_ID_LEN];
	uint64_t	 gen;
	uint32_t	 req;
	bool		 renew;
	struct twire_lock l;
};

static void
answer_lock(struct tracker *tr, const uint8_t *node, uint64_t gen,
    uint32_t req, int status, const char *msg, const struct twire_lock *l)
{
	struct twire_lock_ans a;
	struct tnode *n = tracker_node(tr, node);
	struct buf b;

	if (n == NULL || n->gen != gen)
		return;	/* it went away meanwhile */
	memset(&a, 0, sizeof(a));
	a.req = req;
	a.status = (uint16_t)status;
	(void)str_copy(a.msg, sizeof(a.msg), msg);
	if (l != NULL)
		a.lock = *l;
	buf_init(&b, 16384);
	if (twire_put_lock_ans(&b, &a) == 0)
		send_frame(n, &b);
	buf_release(&b);
}

static void
lock_committed(void *arg, int rc)
{
	struct lock_job *j = arg;
	struct tracker *tr = j->tr;
	struct tlock *k = lock_find(tr, j->l.path);
	struct twire_lock now;

	if (k == NULL || k->l.token != j->l.token) {
		answer_lock(tr, j->node, j->gen, j->req, ECANCELED,
		    "the lock ended before it was recorded", NULL);
	} else if (rc < 0) {
		if (!j->renew)
			lock_drop(tr, k, "not recorded");
		answer_lock(tr, j->node, j->gen, j->req, EIO,
		    "the tracker could not record the lock", NULL);
	} else {
		lock_wire(k, &now);
		answer_lock(tr, j->node, j->gen, j->req, 0, "", &now);
		broadcast_lock(tr, &now);
	}
	free(j);
}

static void
lock_busy_msg(const struct twire_lock *l, char *out, size_t size)
{
	twire_lock_busy(l, out, size);
}

static void
on_lock_req(struct tracker *tr, struct tnode *n, const uint8_t *p,
    size_t len)
{
	struct twire_lock_req q;
	struct lock_job *j;
	struct tlock *k, *c;
	struct twire_lock w;
	char msg[TWIRE_MSG_MAX + 1];
	uint64_t now = clock_mono_ms();
	uint32_t ttl;

	if (twire_get_lock_req(p, len, &q) < 0) {
		log_warnx("node %.8s: malformed lock request", n->id_hex);
		link_close(n->link, "protocol error");
		return;
	}
	ttl = q.ttl_s == 0 ? LOCK_TTL_DEFAULT : q.ttl_s > LOCK_TTL_MAX ?
	    LOCK_TTL_MAX : q.ttl_s;
	/* Locks are shown to people and scripts as JSON. */
	if (!twire_utf8_ok(q.path)) {
		answer_lock(tr, n->id, n->gen, q.req, EINVAL,
		    "only paths in UTF-8 can be locked", NULL);
		return;
	}
	k = lock_find(tr, q.path);
	if (q.op == TWIRE_UNLOCK) {
		if (k == NULL) {
			answer_lock(tr, n->id, n->gen, q.req, ENOENT,
			    "not locked", NULL);
			return;
		}
		lock_wire(k, &w);
		if (memcmp(k->l.node, n->id, NODE_ID_LEN) != 0 ||
		    (strcmp(k->l.owner, q.owner) != 0 &&
		    strcmp(q.owner, "(node)") != 0)) {
			lock_busy_msg(&w, msg, sizeof(msg));
			answer_lock(tr, n->id, n->gen, q.req, EPERM, msg, &w);
			return;
		}
		w.held = false;
		lock_drop(tr, k, "unlocked by its holder");
		answer_lock(tr, n->id, n->gen, q.req, 0, "", &w);
		return;
	}
	/* Any lock on the path, inside it or around it, held by someone
	 * else refuses the request. */
	TAILQ_FOREACH(c, &tr->locks, entry)
		if (locks_paths_meet(c->l.path, q.path) &&
		    (memcmp(c->l.node, n->id, NODE_ID_LEN) != 0 ||
		    strcmp(c->l.owner, q.owner) != 0)) {
			lock_wire(c, &w);
			lock_busy_msg(&w, msg, sizeof(msg));
			answer_lock(tr, n->id, n->gen, q.req, EBUSY, msg, &w);
			return;
		}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		answer_lock(tr, n->id, n->gen, q.req, ENOMEM, "out of memory",
		    NULL);
		return;
	}
	j->tr = tr;
	memcpy(j->node, n->id, NODE_ID_LEN);
	j->gen = n->gen;
	j->req = q.req;
	if (k != NULL) {
		j->renew = true;	/* same holder: a longer lease */
	} else {
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			free(j);
			answer_lock(tr, n->id, n->gen, q.req, ENOMEM,
			    "out of memory", NULL);
			return;
		}
		k->l.held = true;
		(void)str_copy(k->l.path, sizeof(k->l.path), q.path);
		memcpy(k->l.node, n->id, NODE_ID_LEN);
		(void)str_copy(k->l.owner, sizeof(k->l.owner), q.owner);
		/* Fencing tokens only grow, across restarts too (the
		 * counter is committed with the lock). */
		k->l.token = ++tr->token;
		TAILQ_INSERT_TAIL(&tr->locks, k, entry);
	}
	k->deadline = now + (uint64_t)ttl * 1000;
	k->l.expires_wall_ms = (uint64_t)clock_wall_ms() + (uint64_t)ttl * 1000;
	j->l = k->l;
	log_info("lock on %s %s: token %llu, node %.8s, owner %s, %u s", q.path,
	    j->renew ? "renewed" : "granted", (unsigned long long)k->l.token,
	    n->id_hex, q.owner, ttl);
	tdb_lock_put(tr, &k->l, lock_committed, j);
}

struct query_job {
	struct tracker	*tr;
	uint8_t		 node[NODE_ID_LEN];
	uint64_t	 gen;
	uint32_t	 req;
};

static void
send_answer(struct tracker *tr, const uint8_t *node, uint64_t gen,
    uint32_t req, int status, const char *json)
{
	struct tnode *n = tracker_node(tr, node);
	size_t len = json ? strlen(json) : 0;
	struct buf b;

	if (n == NULL || n->gen != gen)
		return;
	buf_init(&b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (json == NULL) {
		json = "{\"error\": \"the tracker is busy\"}";
		len = strlen(json);
	}
	if (len > TWIRE_JSON_MAX) {
		json = "{\"error\": \"answer too large: ask for fewer\"}";
		len = strlen(json);
		status = 413;
	}
	if (twire_put_answer(&b, req, (uint16_t)status, json, len) == 0)
		send_frame(n, &b);
	buf_release(&b);
}

static void
query_done(void *arg, int status, char *json)
{
	struct query_job *j = arg;

	send_answer(j->tr, j->node, j->gen, j->req, status, json);
	free(json);
	free(j);
}

static void
on_query(struct tracker *tr, struct tnode *n, const uint8_t *p, size_t len)
{
	struct twire_query q;
	struct query_job *j;
	json_t *js = NULL;
	char *text;

	if (twire_get_query(p, len, &q) < 0) {
		log_warnx("node %.8s: malformed query", n->id_hex);
		link_close(n->link, "protocol error");
		return;
	}
	if (q.kind == TWIRE_Q_NODES)
		js = tracker_nodes_json(tr, TRACKER_NODES_MAX);
	else if (q.kind == TWIRE_Q_LOCKS)
		js = tracker_locks_json(tr);
	if (js != NULL) {
		text = json_dumps(js, JSON_COMPACT);
		json_decref(js);
		send_answer(tr, n->id, n->gen, q.req, 200, text);
		free(text);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_answer(tr, n->id, n->gen, q.req, 503, NULL);
		return;
	}
	j->tr = tr;
	memcpy(j->node, n->id, NODE_ID_LEN);
	j->gen = n->gen;
	j->req = q.req;
	tdb_query(tr, q.kind, q.path, q.after, q.limit, query_done, j);
}

static struct tpend *
pend_find(struct tracker *tr, struct link *l)
{
	struct tpend *p;

	TAILQ_FOREACH(p, &tr->pending, entry)
		if (p->link == l)
			return (p);
	return (NULL);
}

static void
link_frame(struct link *l, const struct wire_hdr *h, const uint8_t *payload,
    void *arg)
{
	struct tracker *tr = arg;
	struct tnode *n = link_owner(l);
	struct tpend *p;
	struct buf b;
	uint64_t t;

	if (n == NULL) {
		if ((p = pend_find(tr, l)) == NULL)
			return;	/* refused, on its way out */
		TAILQ_REMOVE(&tr->pending, p, entry);
		free(p);
		if (h->type != WIRE_T_HELLO) {
			log_warnx("node at %s: %s before T_HELLO",
			    link_peer(l), wire_type_name(h->type));
			link_close(l, "protocol error");
			return;
		}
		on_hello(tr, l, payload, h->len);
		return;
	}
	n->last_heard = clock_mono_ms();
	switch (h->type) {
	case WIRE_T_BEAT:
		buf_init(&b, 64);
		if (twire_get_beat(payload, h->len, &t) == 0 &&
		    twire_put_beat(&b, WIRE_T_BEAT_ACK, t) == 0)
			(void)link_send(l, &b);
		buf_release(&b);
		break;
	case WIRE_T_FILES:
		on_files(tr, n, payload, h->len);
		break;
	case WIRE_T_LOCK_REQ:
		on_lock_req(tr, n, payload, h->len);
		break;
	case WIRE_T_QUERY:
		on_query(tr, n, payload, h->len);
		break;
	case WIRE_BYE:
		node_remove(tr, n, "said bye");
		break;
	default:
		log_warnx("node %.8s: unexpected %s, link closed", n->id_hex,
		    wire_type_name(h->type));
		link_close(l, "protocol error");
		break;
	}
}

static void
link_down(struct link *l, const char *why, void *arg)
{
	struct tracker *tr = arg;
	struct tnode *n = link_owner(l);
	struct tpend *p;

	if ((p = pend_find(tr, l)) != NULL) {
		TAILQ_REMOVE(&tr->pending, p, entry);
		free(p);
	}
	if (n != NULL && n->link == l) {
		n->link = NULL;
		log_info("node %.8s: link down (%s); listed until it expires",
		    n->id_hex, why);
	}
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct tracker *tr = arg;
	struct tpend *p;

	(void)lev;
	(void)socklen;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return;
	}
	if ((p->link = link_accept(&tr->env, fd, sa)) == NULL) {
		free(p);
		return;
	}
	p->since = clock_mono_ms();
	TAILQ_INSERT_TAIL(&tr->pending, p, entry);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tracker *tr = arg;
	uint64_t now = clock_mono_ms();
	struct tnode *n, *nn;
	struct tlock *k, *kn;
	struct tpend *p, *pn;

	(void)fd;
	(void)what;
	for (n = TAILQ_FIRST(&tr->nodes); n != NULL; n = nn) {
		nn = TAILQ_NEXT(n, entry);
		if (!n->paused && now - n->last_heard >= expire_ms(tr))
			node_remove(tr, n, n->live ? "no heartbeat" :
			    "did not return after a tracker restart");
	}
	for (k = TAILQ_FIRST(&tr->locks); k != NULL; k = kn) {
		kn = TAILQ_NEXT(k, entry);
		if (k->deadline <= now)
			lock_drop(tr, k, "expired");
	}
	for (p = TAILQ_FIRST(&tr->pending); p != NULL; p = pn) {
		pn = TAILQ_NEXT(p, entry);
		if (now - p->since > HELLO_TIMEOUT_MS)
			link_close(p->link, "no T_HELLO");	/* frees p */
	}
	/*
	 * After a burst (thousands of nodes announcing at once) the heap
	 * keeps the memory it grew to; give it back once things are quiet,
	 * at most every few seconds.
	 */
	if (tdb_idle(tr) && now - tr->last_trim > TRIM_EVERY_MS) {
		malloc_trim(0);
		tr->last_trim = now;
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: tracker shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

static int
read_key(const char *dir, uint8_t key[TLS_CLUSTER_KEY_LEN], char *err,
    size_t errlen)
{
	char path[FS_PATH_MAX], hexkey[TLS_CLUSTER_KEY_HEX_LEN + 2];
	FILE *f;
	int rc;

	(void)str_fmt(path, sizeof(path), "%s/.shoal/cluster_key", dir);
	if ((f = fopen(path, "r")) == NULL) {
		(void)str_fmt(err, errlen, "%s: %s (prepare the folder with "
		    "'shoal init %s --join KEY')", path, strerror(errno), dir);
		return (-ENOENT);
	}
	if (fgets(hexkey, sizeof(hexkey), f) == NULL)
		hexkey[0] = '\0';
	fclose(f);
	hexkey[strcspn(hexkey, "\r\n")] = '\0';
	if ((rc = tls_cluster_key_parse(hexkey, key)) < 0)
		(void)str_fmt(err, errlen, "%s: not a cluster key", path);
	return (rc);
}

static int
tracker_start(struct tracker *tr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t key[TLS_CLUSTER_KEY_LEN];
	char dbpath[FS_PATH_MAX];
	struct timeval tv = { 0, TICK_MS * 1000 };

	if (read_key(tr->o.dir, key, err, errlen) < 0)
		return (-1);
	tr->server_ctx = tls_tracker_ctx(key, 1, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	if (tr->server_ctx == NULL)
		return (-1);
	(void)str_fmt(dbpath, sizeof(dbpath), "%s/.shoal/tracker.db",
	    tr->o.dir);
	if (tdb_open(tr->o.db, dbpath, &tr->db, err, errlen) < 0)
		return (-1);
	tr->hash_size = 1024;
	if ((tr->hash = calloc(tr->hash_size, sizeof(*tr->hash))) == NULL ||
	    (tr->q = tdb_queue_new(tr)) == NULL)
		return (-1);
	if (tracker_db_load(tr) < 0) {
		(void)str_fmt(err, errlen, "%s: cannot load the tables",
		    tdb_name(tr->db));
		return (-1);
	}
	/* One thread: the database connection is used by one at a time. */
	if ((tr->pool = work_pool_new(tr->base, 1)) == NULL)
		return (-1);
	tr->env.base = tr->base;
	tr->env.server_ctx = tr->server_ctx;
	tr->env.small = true;
	tr->env.cbs.on_frame = link_frame;
	tr->env.cbs.on_down = link_down;
	tr->env.arg = tr;
	if (addr_parse(tr->o.listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "bad --listen address '%s'",
		    tr->o.listen);
		return (-1);
	}
	tr->listener = evconnlistener_new_bind(tr->base, on_accept, tr,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, (int)sl);
	if (tr->listener == NULL) {
		(void)str_fmt(err, errlen, "cannot listen on %s: %s",
		    tr->o.listen, strerror(errno));
		return (-1);
	}
	if (strcmp(tr->o.http, "off") != 0 &&
	    tracker_http_start(tr, tr->o.http, err, errlen) < 0)
		return (-1);
	if ((tr->tick = event_new(tr->base, -1, EV_PERSIST, on_tick, tr)) ==
	    NULL || event_add(tr->tick, &tv) < 0)
		return (-1);
	return (0);
}

static void
tracker_stop(struct tracker *tr)
{
	struct tnode *n;
	struct tlock *k;
	struct tpend *p;

	tracker_http_stop(tr);
	if (tr->listener)
		evconnlistener_free(tr->listener);
	while ((p = TAILQ_FIRST(&tr->pending)) != NULL)
		link_close(p->link, "tracker stopping");
	TAILQ_FOREACH(n, &tr->nodes, entry)
		if (n->link) {
			link_set_owner(n->link, NULL);
			link_close(n->link, "tracker stopping");
			n->link = NULL;
		}
	/* Runs the reaps of the closed links. */
	event_base_loop(tr->base, EVLOOP_NONBLOCK);
	/* Queued writes finish before the database closes. */
	work_pool_free(tr->pool);
	while ((n = TAILQ_FIRST(&tr->nodes)) != NULL) {
		TAILQ_REMOVE(&tr->nodes, n, entry);
		free(n);
	}
	while ((k = TAILQ_FIRST(&tr->locks)) != NULL) {
		TAILQ_REMOVE(&tr->locks, k, entry);
		free(k);
	}
	tdb_queue_free(tr->q);
	if (tr->tick)
		event_free(tr->tick);
	tdb_close(tr->db);
	free(tr->hash);
	SSL_CTX_free(tr->server_ctx);
}

int
tracker_run(const struct tracker_opts *o)
{
	struct tracker tr;
	struct event *sigint, *sigterm;
	struct tlock *k;
	char err[512] = "";
	unsigned nlocks = 0;
	int rc = 0;

	memset(&tr, 0, sizeof(tr));
	tr.o = *o;
	TAILQ_INIT(&tr.pending);
	TAILQ_INIT(&tr.nodes);
	TAILQ_INIT(&tr.locks);
	signal(SIGPIPE, SIG_IGN);
	if ((tr.base = event_base_new()) == NULL)
		return (1);
	sigint = evsignal_new(tr.base, SIGINT, on_signal, tr.base);
	sigterm = evsignal_new(tr.base, SIGTERM, on_signal, tr.base);
	if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) < 0 ||
	    event_add(sigterm, NULL) < 0 ||
	    tracker_start(&tr, err, sizeof(err)) < 0) {
		log_errorx("tracker: %s", err[0] ? err : "cannot start");
		rc = 1;
	} else {
		TAILQ_FOREACH(k, &tr.locks, entry)
			nlocks++;
		log_info("tracker: nodes on %s, http on %s, database %s, "
		    "expiry %u s (heartbeat %u ms), %u nodes and %u locks "
		    "loaded", o->listen, o->http, tdb_name(tr.db), o->expire_s,
		    expire_ms(&tr) / 4, tr.nnodes, nlocks);
		event_base_dispatch(tr.base);
	}
	tracker_stop(&tr);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	event_base_free(tr.base);
	return (rc);
}
