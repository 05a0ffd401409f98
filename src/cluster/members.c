/*
 * members: the member table and its links.
 *
 *   address (PEERS/add/gossip) --dial--> link up --HELLO both ways--> alive
 *   alive --silent dead_after_ms / link error--> dead --redial (backoff)--^
 *   alive --BYE--> left (not dialled again unless it comes back itself)
 *
 * A link belongs to no member until its HELLO names one; such links are
 * kept on a pending list and closed if they stay silent.
 */
#include "cluster/members.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/clock.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/work.h"
#include "cluster/serve.h"
#include "cluster/vreq.h"
#include "net/tls.h"

#define PROTO_VERSION	4	/* 3: INDEX entries carry attrs; 4: VERS_REQ, VERS */
#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	30000
#define GOSSIP_EVERY	5	/* heartbeats between member lists */
/* The PING's space flags (nodes before PING_SHORT sent 0 or 1). */
#define PING_FULL	0x01	/* below its free-space floor */
#define PING_SHORT	0x02	/* files missing for lack of room */
#define PENDING_MAX	64
#define TALLY_TICK_MS	250
#define TALLY_IDLE_MS	1000	/* a batch ends after this long idle */
#define TALLY_MAX_MS	10000	/* or after this long going on */
#define BYE_LEAVE	0	/* BYE's word: leaves the cluster */
#define BYE_STOP	1	/* stops, and will be back */

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct link		*link;
	struct member		*dialed;	/* the member we dialled */
	uint64_t		 since;
};

struct members {
	struct members_opts	 o;
	char			 priv[FS_PATH_MAX];
	char			 listen[ADDR_STR_MAX];
	struct member_list	 list;
	TAILQ_HEAD(, pending)	 pending;
	unsigned		 npending;
	SSL_CTX			*client_ctx;
	SSL_CTX			*server_ctx;
	struct evconnlistener	*listener;
	struct event		*tick;
	struct bufferevent_rate_limit_group *limit;
	struct ev_token_bucket_cfg *limit_cfg;
	struct link_env		 env;
	unsigned		 ticks;
	bool			 changed;	/* member list to persist */
	bool			 leaving;
	uint64_t		 closed_in, closed_out;	/* of ended links */
	bool			 stopping;	/* members_free runs */
	void			(*bye_done)(void *);
	void			*bye_arg;
	struct event		*bye_ev;
	struct event		*tally_ev;
};

static void dial(struct members *, struct member *);

static const char *const state_names[] = { "new", "alive", "dead", "left" };
static const char *const reach_names[] = { "never reached", "never reached",
	"refused: wrong key?", "" };

const char *
members_state_name(enum member_state s)
{
	return (state_names[s]);
}

const char *
members_reach_name(enum member_reach r)
{
	return (reach_names[r]);
}

/* Transfer batches */

static void
tally_add(struct member_tally *t, uint64_t bytes, unsigned files)
{
	uint64_t now = clock_mono_ms();

	if (t->first_ms == 0)
		t->first_ms = now;
	t->last_ms = now;
	t->bytes += bytes;
	t->files += files;
}

void
members_note_fetched(struct member *m, uint64_t bytes, unsigned files)
{
	tally_add(&m->fetched, bytes, files);
}

void
members_note_sent(struct member *m, const uint8_t sha[HASH_LEN],
    uint64_t bytes)
{
	unsigned i, files = 1;

	for (i = 0; i < MEMBER_SENT_RECENT; i++)
		if (memcmp(m->sent_recent[i], sha, 8) == 0) {
			files = 0;
			break;
		}
	if (files) {
		memcpy(m->sent_recent[m->sent_next], sha, 8);
		m->sent_next = (m->sent_next + 1) % MEMBER_SENT_RECENT;
	}
	tally_add(&m->sent, bytes, files);
}

/* One line for a batch that ended (force: the member or node goes). */
static void
tally_flush(struct member *m, struct member_tally *t, bool fetched,
    bool force, uint64_t now)
{
	char size[STR_BYTES_MAX];

	if (t->first_ms == 0 || (!force && now - t->last_ms < TALLY_IDLE_MS &&
	    now - t->first_ms < TALLY_MAX_MS))
		return;
	str_bytes(t->bytes, size);
	log_info("%s %llu file%s, %s %s %.8s (%s) in %.1f s", fetched ?
	    "fetched" : "sent", (unsigned long long)t->files, t->files == 1 ?
	    "" : "s", size, fetched ? "from" : "to", m->id_hex, m->addr,
	    (double)(t->last_ms - t->first_ms) / 1000.0);
	memset(t, 0, sizeof(*t));
	if (!fetched)
		memset(m->sent_recent, 0, sizeof(m->sent_recent));
}

static void
tallies_flush(struct member *m, bool force)
{
	uint64_t now = clock_mono_ms();

	tally_flush(m, &m->fetched, true, force, now);
	tally_flush(m, &m->sent, false, force, now);
}

static void
on_tally(evutil_socket_t fd, short what, void *arg)
{
	struct members *mb = arg;
	struct member *m;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(m, &mb->list, entry)
		tallies_flush(m, false);
}

void
member_id_hex(const uint8_t id[NODE_ID_LEN], char out[33])
{
	str_hex(id, NODE_ID_LEN, out);
}

static struct member *
member_new(struct members *mb, const char *addr)
{
	struct member *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	if (addr)
		(void)str_copy(m->addr, sizeof(m->addr), addr);
	m->weight = 1.0;
	m->capacity = 1.0;
	/* Not heard since we started: as if it went down then. */
	m->down_at = clock_mono_ms();
	m->backoff_ms = BACKOFF_MIN_MS;
	m->rtt_ms = 1.0;
	TAILQ_INSERT_TAIL(&mb->list, m, entry);
	mb->changed = true;
	return (m);
}

struct member *
members_find(struct members *mb, const uint8_t id[NODE_ID_LEN])
{
	struct member *m;

	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->id_known && memcmp(m->id, id, NODE_ID_LEN) == 0)
			return (m);
	return (NULL);
}

static struct member *
find_addr(struct members *mb, const char *addr)
{
	struct member *m;

	TAILQ_FOREACH(m, &mb->list, entry)
		if (strcmp(m->addr, addr) == 0)
			return (m);
	return (NULL);
}

unsigned
members_alive(const struct members *mb)
{
	const struct member *m;
	unsigned n = 0;

	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->state == MEMBER_ALIVE && m->link)
			n++;
	return (n);
}

void
members_counters(const struct members *mb, uint64_t *in, uint64_t *out)
{
	const struct member *m;

	*in = mb->closed_in;
	*out = mb->closed_out;
	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->link) {
			*in += link_bytes_in(m->link);
			*out += link_bytes_out(m->link);
		}
}

unsigned
members_links_full(const struct members *mb)
{
	const struct member *m;
	unsigned n = 0;

	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->link != NULL && link_out_full(m->link))
			n++;
	return (n);
}

struct member_list *
members_list(struct members *mb)
{
	return (&mb->list);
}

const char *
members_listen_addr(const struct members *mb)
{
	return (mb->listen);
}

/*
 * Lower is better: a fast, reliable, well-weighted member first.  Failures
 * count heavily (a member that sent a bad block is avoided), throughput
 * helps (MB/s measured on past fetches).
 */
double
members_score(const struct member *m)
{
	double s = (m->rtt_ms + 0.1) * (1.0 + 2.0 * m->failures);

	s /= 1.0 + m->mbps / 100.0;
	return (s / (m->weight > 0 ? m->weight : 1.0));
}

unsigned
members_ranked(struct members *mb, struct member **out, unsigned max)
{
	struct member *m, *t;
	unsigned n = 0, i, j;

	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->state == MEMBER_ALIVE && m->link && n < max)
			out[n++] = m;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && members_score(out[j]) <
		    members_score(out[j - 1]); j--) {
			t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return (n);
}

int
members_send(struct member *m, const struct buf *frame)
{
	if (m->link == NULL)
		return (-ENOTCONN);
	return (link_send(m->link, frame));
}

struct evbuffer *
member_bulk(struct member *m)
{
	return (m->link ? link_bulk(m->link) : NULL);
}

/* Persisting the member list */

struct save_job {
	char	*path;
	char	*text;
};

static void
save_run(void *arg)
{
	struct save_job *j = arg;
	char tmp[FS_PATH_MAX];
	FILE *f;

	if (str_fmt(tmp, sizeof(tmp), "%s.new", j->path) < 0 ||
	    (f = fopen(tmp, "w")) == NULL)
		return;
	fputs(j->text, f);
	if (fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0)
		(void)rename(tmp, j->path);
	else
		fclose(f);
}

static void
save_done(void *arg)
{
	struct save_job *j = arg;

	free(j->path);
	free(j->text);
	free(j);
}

/* DIR/.shoal/members: what a restarted node dials to rejoin. */
static void
save_members(struct members *mb)
{
	struct save_job *j;
	struct member *m;
	struct buf b;

	mb->changed = false;
	buf_init(&b, 1 << 20);
	if (buf_puts(&b, "# members this node knows; rewritten by shoal\n") <
	    0)
		goto out;
	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->id_known && m->state != MEMBER_LEFT && m->addr[0] &&
		    buf_printf(&b, "%s %s\n", m->id_hex, m->addr) < 0)
			goto out;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto out;
	if (asprintf(&j->path, "%s/members", mb->priv) < 0) {
		free(j);
		goto out;
	}
	j->text = b.data;
	b.data = NULL;
	if (work_submit(mb->o.pool, save_run, save_done, j) < 0)
		save_done(j);
out:
	buf_release(&b);
}

/* Frames */

static void
send_hello(struct members *mb, struct link *l)
{
	struct buf b;

	buf_init(&b, 4096);
	if (wire_begin(&b, WIRE_HELLO) == 0 && wire_u16(&b, PROTO_VERSION) ==
	    0 && wire_fixed(&b, mb->o.self, NODE_ID_LEN) == 0 &&
	    wire_str(&b, mb->listen) == 0 &&
	    wire_u16(&b, (uint16_t)*mb->o.replicas) == 0 && wire_end(&b) == 0)
		(void)link_send(l, &b);
	buf_release(&b);
}

static void
send_members(struct members *mb, struct member *to)
{
	struct member *m;
	struct buf b;
	uint16_t n = 0;

	buf_init(&b, wire_max_len(WIRE_MEMBERS) + WIRE_HDR_LEN);
	if (wire_begin(&b, WIRE_MEMBERS) < 0)
		goto out;
	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->id_known && m->state == MEMBER_ALIVE && m->addr[0])
			n++;
	if (wire_u16(&b, n) < 0)
		goto out;
	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->id_known && m->state == MEMBER_ALIVE && m->addr[0] &&
		    (wire_fixed(&b, m->id, NODE_ID_LEN) < 0 ||
		    wire_str(&b, m->addr) < 0))
			goto out;
	if (wire_end(&b) == 0)
		(void)members_send(to, &b);
out:
	buf_release(&b);
}

static void
send_simple(struct member *m, enum wire_type t, uint64_t v)
{
	struct buf b;

	buf_init(&b, 128);
	if (wire_begin(&b, t) == 0 && wire_u64(&b, v) == 0 &&
	    wire_end(&b) == 0)
		(void)members_send(m, &b);
	buf_release(&b);
}

static void
send_ping(struct members *mb, struct member *m)
{
	uint8_t d[HASH_LEN];
	uint32_t busy = 0;
	uint64_t free_bytes = 0;
	bool full = false, short_space = false;
	struct buf b;

	mb->o.cbs.digest(d, &busy, mb->o.arg);
	if (mb->o.cbs.space)
		mb->o.cbs.space(&free_bytes, &full, &short_space, mb->o.arg);
	buf_init(&b, 128);
	if (wire_begin(&b, WIRE_PING) == 0 &&
	    wire_u64(&b, clock_mono_ms()) == 0 &&
	    wire_fixed(&b, d, HASH_LEN) == 0 && wire_u32(&b, busy) == 0 &&
	    wire_u32(&b, (uint32_t)(mb->o.capacity * 1000.0 + 0.5)) == 0 &&
	    wire_u64(&b, free_bytes) == 0 &&
	    wire_u8(&b, (full ? PING_FULL : 0) |
	    (short_space ? PING_SHORT : 0)) == 0 &&
	    wire_end(&b) == 0)
		(void)members_send(m, &b);
	buf_release(&b);
}

/* logged: the reason already had its line (BYE). */
static void
member_down(struct members *mb, struct member *m, enum member_state st,
    const char *why, bool logged)
{
	struct link *l = m->link;
	bool was_alive = m->state == MEMBER_ALIVE && l != NULL;

	tallies_flush(m, true);

	m->link = NULL;
	serve_member_down(mb->o.serve, m);
	if (mb->o.vreq != NULL)
		vreq_member_down(mb->o.vreq, m);
	if (m->state == MEMBER_ALIVE)
		m->down_at = clock_mono_ms();
	if (m->state != MEMBER_LEFT)
		m->state = st;
	if (l) {
		link_set_owner(l, NULL);
		link_close(l, why);
	}
	if (was_alive) {
		/* Leaving or stopping, the links end because we said so. */
		if (!logged && !mb->leaving)
			log_info("member %.8s (%s) is %s: %s", m->id_hex,
			    m->addr, members_state_name(m->state), why);
		if (mb->o.cbs.on_down)
			mb->o.cbs.on_down(m, mb->o.arg);
	}
	m->next_dial = clock_mono_ms() + m->backoff_ms;
}

/* Which of two links between us and peer to keep: the one opened by the
 * smaller node id, so both ends choose the same. */
static bool
keep_new_link(struct members *mb, struct member *m, struct link *nl)
{
	const uint8_t *opener_old, *opener_new;

	opener_old = link_outgoing(m->link) ? mb->o.self : m->id;
	opener_new = link_outgoing(nl) ? mb->o.self : m->id;
	return (memcmp(opener_new, opener_old, NODE_ID_LEN) < 0);
}

static void
on_hello(struct members *mb, struct link *l, struct pending *p,
    const uint8_t *payload, uint32_t len)
{
	struct wire_rd r;
	const uint8_t *id;
	char addr[ADDR_STR_MAX], hex[33];
	struct member *m;
	uint16_t ver, replicas;

	wire_rd_init(&r, payload, len);
	ver = wire_get_u16(&r);
	id = wire_get_fixed(&r, NODE_ID_LEN);
	if (wire_get_str(&r, addr, sizeof(addr) - 1) < 0 || ver !=
	    PROTO_VERSION || (replicas = wire_get_u16(&r), wire_rd_done(&r)) <
	    0) {
		log_warnx("peer %s: bad HELLO", link_peer(l));
		link_close(l, "bad HELLO");
		return;
	}
	/* One replication factor per cluster: a node made with --join
	 * learns it from the first member it meets. */
	if (replicas != REPLICAS_UNKNOWN && replicas != *mb->o.replicas) {
		if (*mb->o.replicas != REPLICAS_UNKNOWN) {
			log_warnx("peer %s has replicas = %u, this node %u "
			    "(0: all): link refused", link_peer(l), replicas,
			    *mb->o.replicas);
			link_close(l, "replicas differ");
			return;
		}
		if (mb->o.cbs.learn_replicas)
			mb->o.cbs.learn_replicas(replicas, mb->o.arg);
	}
	member_id_hex(id, hex);
	if (memcmp(id, mb->o.self, NODE_ID_LEN) == 0) {
		/* Our own address in PEERS: remember not to dial it. */
		if (p->dialed) {
			p->dialed->state = MEMBER_LEFT;
			memcpy(p->dialed->id, id, NODE_ID_LEN);
		}
		link_close(l, "this is ourselves");
		return;
	}
	/* A listener on a wildcard address: use the host we see. */
	addr_fill_wildcard(addr, link_addr(l));
	if ((m = members_find(mb, id)) == NULL) {
		m = p->dialed && !p->dialed->id_known ? p->dialed :
		    find_addr(mb, addr);
		if (m && m->id_known)
			m = NULL;
		if (m == NULL && (m = member_new(mb, addr)) == NULL) {
			link_close(l, "out of memory");
			return;
		}
		memcpy(m->id, id, NODE_ID_LEN);
		memcpy(m->id_hex, hex, sizeof(hex));
		m->id_known = true;
		mb->changed = true;
	}
	if (strcmp(m->addr, addr) != 0) {
		(void)str_copy(m->addr, sizeof(m->addr), addr);
		mb->changed = true;
	}
	if (m->dialing == l)
		m->dialing = NULL;
	if (m->link && m->link != l) {
		if (!keep_new_link(mb, m, l)) {
			link_close(l, "duplicate link");
			return;
		}
		link_set_owner(m->link, NULL);
		link_close(m->link, "replaced by a newer link");
		m->link = NULL;
	}
	m->link = l;
	link_set_owner(l, m);
	m->reach = MEMBER_REACH_OK;
	m->reached = true;
	{
		char name[LINK_NAME_MAX];

		if (str_fmt(name, sizeof(name), "%.8s (%s)", m->id_hex,
		    m->addr) == 0)
			link_set_name(l, name);
	}
	m->last_heard = clock_mono_ms();
	m->backoff_ms = BACKOFF_MIN_MS;
	if (m->state != MEMBER_ALIVE) {
		m->state = MEMBER_ALIVE;
		mb->changed = true;
		log_info("member %.8s (%s) is alive", m->id_hex, m->addr);
		send_members(mb, m);
		if (mb->o.cbs.on_up)
			mb->o.cbs.on_up(m, mb->o.arg);
	}
}

static void
on_members(struct members *mb, struct member *from, const uint8_t *payload,
    uint32_t len)
{
	char addr[ADDR_STR_MAX];
	struct wire_rd r;
	const uint8_t *id;
	struct member *m;
	uint16_t n, i;

	wire_rd_init(&r, payload, len);
	n = wire_get_u16(&r);
	for (i = 0; i < n && !r.bad; i++) {
		id = wire_get_fixed(&r, NODE_ID_LEN);
		if (wire_get_str(&r, addr, sizeof(addr) - 1) < 0)
			break;
		if (memcmp(id, mb->o.self, NODE_ID_LEN) == 0 ||
		    members_find(mb, id) != NULL)
			continue;
		if ((m = find_addr(mb, addr)) != NULL && m->id_known)
			continue;
		if (m == NULL && (m = member_new(mb, addr)) == NULL)
			continue;
		memcpy(m->id, id, NODE_ID_LEN);
		member_id_hex(id, m->id_hex);
		m->id_known = true;
		log_info("learned member %.8s (%s) from %.8s", m->id_hex,
		    m->addr, from->id_hex);
		if (!mb->leaving && m->link == NULL && m->dialing == NULL)
			dial(mb, m);
	}
	if (wire_rd_done(&r) < 0)
		log_warnx("peer %s: bad MEMBERS", from->addr);
}

static void
on_ping(struct member *m, const uint8_t *payload, uint32_t len)
{
	struct wire_rd r;
	uint64_t t;
	const uint8_t *d;
	uint8_t flags;

	wire_rd_init(&r, payload, len);
	t = wire_get_u64(&r);
	d = wire_get_fixed(&r, HASH_LEN);
	m->busy = wire_get_u32(&r);
	m->capacity = wire_get_u32(&r) / 1000.0;
	m->free_bytes = wire_get_u64(&r);
	flags = wire_get_u8(&r);
	m->full = (flags & PING_FULL) != 0;
	m->short_space = (flags & PING_SHORT) != 0;
	if (wire_rd_done(&r) < 0) {
		log_warnx("peer %s: bad PING", m->addr);
		return;
	}
	memcpy(m->digest, d, HASH_LEN);
	m->digest_known = true;
	send_simple(m, WIRE_PONG, t);
}

static void
on_pong(struct member *m, const uint8_t *payload, uint32_t len)
{
	struct wire_rd r;
	uint64_t t, now = clock_mono_ms();

	wire_rd_init(&r, payload, len);
	t = wire_get_u64(&r);
	if (wire_rd_done(&r) < 0 || t > now)
		return;
	m->rtt_ms = 0.8 * m->rtt_ms + 0.2 * (double)(now - t);
}

static void
on_bye(struct members *mb, struct member *m, const uint8_t *payload,
    uint32_t len)
{
	struct wire_rd r;
	uint64_t word;

	wire_rd_init(&r, payload, len);
	word = wire_get_u64(&r);
	if (wire_rd_done(&r) == 0 && word == BYE_STOP) {
		/* It stops and will be back: dialled again, as a dead one. */
		log_info("member %.8s (%s) stopped", m->id_hex, m->addr);
		member_down(mb, m, MEMBER_DEAD, "stopped", true);
		return;
	}
	log_info("member %.8s (%s) left the cluster", m->id_hex, m->addr);
	m->state = MEMBER_LEFT;
	mb->changed = true;
	member_down(mb, m, MEMBER_LEFT, "said bye", true);
}

static void
link_frame(struct link *l, const struct wire_hdr *h, const uint8_t *payload,
    void *arg)
{
	struct members *mb = arg;
	struct member *m = link_owner(l);
	struct pending *p;

	if (m == NULL) {
		TAILQ_FOREACH(p, &mb->pending, entry)
			if (p->link == l)
				break;
		if (p == NULL || h->type != WIRE_HELLO) {
			log_warnx("peer %s: %s before HELLO", link_peer(l),
			    wire_type_name(h->type));
			link_close(l, "protocol error");
			return;
		}
		TAILQ_REMOVE(&mb->pending, p, entry);
		mb->npending--;
		/* Until HELLO proves otherwise, the dial counts as failed. */
		if (p->dialed && p->dialed->dialing == l) {
			p->dialed->dialing = NULL;
			p->dialed->next_dial = clock_mono_ms() +
			    p->dialed->backoff_ms;
			if (p->dialed->backoff_ms < BACKOFF_MAX_MS)
				p->dialed->backoff_ms *= 2;
		}
		on_hello(mb, l, p, payload, h->len);
		free(p);
		return;
	}
	m->last_heard = clock_mono_ms();
	switch (h->type) {
	case WIRE_HELLO:
		log_warnx("member %.8s: second HELLO", m->id_hex);
		break;
	case WIRE_MEMBERS:
		on_members(mb, m, payload, h->len);
		break;
	case WIRE_PING:
		on_ping(m, payload, h->len);
		break;
	case WIRE_PONG:
		on_pong(m, payload, h->len);
		break;
	case WIRE_BLOCK_REQ:
		if (mb->o.serve != NULL)
			serve_block_req(mb->o.serve, m, payload, h->len);
		break;
	case WIRE_VERS_REQ:
	case WIRE_VERS:
		if (mb->o.vreq != NULL)
			vreq_frame(mb->o.vreq, m, h, payload);
		break;
	case WIRE_BYE:
		on_bye(mb, m, payload, h->len);
		break;
	default:
		if (mb->o.cbs.on_frame)
			mb->o.cbs.on_frame(m, h, payload, mb->o.arg);
		break;
	}
}

static void
link_drain(struct link *l, void *arg)
{
	struct members *mb = arg;
	struct member *m = link_owner(l);

	if (m != NULL && m->link == l)
		serve_drained(mb->o.serve, m);
}

static void
link_up(struct link *l, void *arg)
{
	send_hello(arg, l);
}

static void
link_down(struct link *l, const char *why, void *arg)
{
	struct members *mb = arg;
	struct member *m = link_owner(l);
	struct pending *p;

	mb->closed_in += link_bytes_in(l);
	mb->closed_out += link_bytes_out(l);
	if (mb->stopping)
		return;
	TAILQ_FOREACH(p, &mb->pending, entry)
		if (p->link == l) {
			if (p->dialed && p->dialed->dialing == l) {
				p->dialed->dialing = NULL;
				p->dialed->next_dial = clock_mono_ms() +
				    p->dialed->backoff_ms;
				if (p->dialed->backoff_ms < BACKOFF_MAX_MS)
					p->dialed->backoff_ms *= 2;
				p->dialed->reach = strcmp(why,
					    "handshake failed") == 0 ?
					    MEMBER_REACH_REFUSED :
					    MEMBER_REACH_NOTHING;
			}
			TAILQ_REMOVE(&mb->pending, p, entry);
			mb->npending--;
			free(p);
			return;
		}
	/* member_down tells sync, which gives the link's requests to
	 * other holders; the link itself is already down. */
	if (m && m->link == l)
		member_down(mb, m, MEMBER_DEAD, why, false);
}

static int
add_pending(struct members *mb, struct link *l, struct member *dialed)
{
	struct pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (-ENOMEM);
	p->link = l;
	p->dialed = dialed;
	p->since = clock_mono_ms();
	TAILQ_INSERT_TAIL(&mb->pending, p, entry);
	mb->npending++;
	return (0);
}

static void
dial(struct members *mb, struct member *m)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct link *l;

	if (addr_parse(m->addr, &ss, &sl) < 0) {
		m->state = MEMBER_LEFT;
		log_warnx("member address '%s' is not HOST:PORT", m->addr);
		return;
	}
	if ((l = link_connect(&mb->env, (struct sockaddr *)&ss)) == NULL) {
		m->next_dial = clock_mono_ms() + m->backoff_ms;
		return;
	}
	if (add_pending(mb, l, m) < 0) {
		link_close(l, "out of memory");
		return;
	}
	m->dialing = l;
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct members *mb = arg;
	struct link *l;

	(void)lev;
	(void)socklen;
	if (mb->npending >= PENDING_MAX || mb->leaving) {
		close(fd);
		return;
	}
	if ((l = link_accept(&mb->env, fd, sa)) == NULL)
		return;
	if (add_pending(mb, l, NULL) < 0)
		link_close(l, "out of memory");
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct members *mb = arg;
	struct member *m, *t;
	struct pending *p, *pn;
	uint64_t now = clock_mono_ms();
	bool gossip;

	(void)fd;
	(void)what;
	gossip = ++mb->ticks % GOSSIP_EVERY == 0;
	for (m = TAILQ_FIRST(&mb->list); m != NULL; m = t) {
		t = TAILQ_NEXT(m, entry);
		if (m->link && m->state == MEMBER_ALIVE) {
			if (now - m->last_heard > mb->o.dead_after_ms) {
				member_down(mb, m, MEMBER_DEAD,
				    "no heartbeat", false);
				continue;
			}
			send_ping(mb, m);
			if (gossip)
				send_members(mb, m);
		} else if (m->state != MEMBER_LEFT && m->dialing == NULL &&
		    m->link == NULL && now >= m->next_dial && !mb->leaving)
			dial(mb, m);
	}
	/* A link that never says HELLO is dropped.  Links dialled above
	 * started after now: compare without underflow. */
	for (p = TAILQ_FIRST(&mb->pending); p != NULL; p = pn) {
		pn = TAILQ_NEXT(p, entry);
		if (now > p->since && now - p->since > mb->o.dead_after_ms)
			link_close(p->link, "no HELLO");
	}
	if (mb->changed)
		save_members(mb);
}

/* Loading PEERS and members */

static void
load_list(struct members *mb, const char *name, bool with_ids)
{
	char path[FS_PATH_MAX], line[512];
	FILE *f;

	if (str_fmt(path, sizeof(path), "%s/%s", mb->priv, name) < 0 ||
	    (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[ADDR_STR_MAX], b[ADDR_STR_MAX];
		struct sockaddr_storage ss;
		struct member *m;
		struct cursor cur;
		struct span sa, sb;
		socklen_t sl;
		double weight;
		char *hash;

		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		cur_init(&cur, line, strlen(line));
		sa = cur_word(&cur);
		sb = cur_word(&cur);
		if (sa.len == 0)
			continue;
		if (sa.len >= sizeof(a) || sb.len >= sizeof(b)) {
			log_warnx("%s: a word longer than %zu bytes", path,
			    sizeof(a) - 1);
			continue;
		}
		memcpy(a, sa.p, sa.len);
		a[sa.len] = '\0';
		memcpy(b, sb.p, sb.len);
		b[sb.len] = '\0';
		if (with_ids) {
			uint8_t id[NODE_ID_LEN];

			if (span_hex(sa, id, NODE_ID_LEN) < 0 || b[0] == '\0')
				continue;
			if (members_find(mb, id) ||
			    memcmp(id, mb->o.self, NODE_ID_LEN) == 0)
				continue;
			if ((m = find_addr(mb, b)) == NULL &&
			    (m = member_new(mb, b)) == NULL)
				continue;
			memcpy(m->id, id, NODE_ID_LEN);
			memcpy(m->id_hex, a, 33);
			m->id_known = true;
			continue;
		}
		if (addr_parse(a, &ss, &sl) < 0) {
			log_warnx("%s: '%s' is not HOST:PORT", path, a);
			continue;
		}
		if ((m = find_addr(mb, a)) == NULL &&
		    (m = member_new(mb, a)) == NULL)
			continue;
		if (sb.len > 0 && span_double(sb, 0.0, 1e6, &weight) == 0 &&
		    weight > 0)
			m->weight = weight;
	}
	fclose(f);
}

int
members_add(struct members *mb, const char *addr, bool remember, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	struct member *m;
	socklen_t sl;
	char path[FS_PATH_MAX];
	FILE *f;

	if (addr_parse(addr, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "'%s' is not HOST:PORT", addr);
		return (-EINVAL);
	}
	if ((m = find_addr(mb, addr)) == NULL &&
	    (m = member_new(mb, addr)) == NULL) {
		(void)str_fmt(err, errlen, "out of memory");
		return (-ENOMEM);
	}
	if (m->state == MEMBER_LEFT || m->state == MEMBER_DEAD) {
		m->state = MEMBER_NEW;
		m->backoff_ms = BACKOFF_MIN_MS;
	}
	/* What this dial meets is what `shoal add` reports. */
	if (m->state != MEMBER_ALIVE)
		m->reach = MEMBER_REACH_UNTRIED;
	m->next_dial = 0;
	if (remember) {
		if (str_fmt(path, sizeof(path), "%s/peers", mb->priv) < 0 ||
		    (f = fopen(path, "a")) == NULL) {
			(void)str_fmt(err, errlen, "cannot write the PEERS "
			    "file");
			return (-EIO);
		}
		fprintf(f, "%s\n", addr);
		fclose(f);
	}
	if (!m->link && !m->dialing)
		dial(mb, m);
	return (0);
}

static void
on_bye_flushed(evutil_socket_t fd, short what, void *arg)
{
	struct members *mb = arg;
	struct member *m;
	bool pending = false;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(m, &mb->list, entry)
		if (m->link && link_pending(m->link) > 0)
			pending = true;
	if (pending && mb->ticks++ < 100) {
		struct timeval tv = { 0, 20000 };

		evtimer_add(mb->bye_ev, &tv);
		return;
	}
	if (mb->bye_done)
		mb->bye_done(mb->bye_arg);
}

static void
say_bye(struct members *mb, uint64_t word, void (*done)(void *), void *arg)
{
	struct member *m;
	struct buf b;
	struct timeval tv = { 0, 20000 };

	if (mb->leaving) {
		/* Already saying it: a second request ends at once. */
		if (done)
			done(arg);
		return;
	}
	mb->leaving = true;
	mb->bye_done = done;
	mb->bye_arg = arg;
	mb->ticks = 0;
	buf_init(&b, 128);
	if (wire_begin(&b, WIRE_BYE) == 0 && wire_u64(&b, word) == 0 &&
	    wire_end(&b) == 0)
		TAILQ_FOREACH(m, &mb->list, entry)
			if (m->link)
				(void)link_send(m->link, &b);
	buf_release(&b);
	mb->bye_ev = evtimer_new(mb->o.base, on_bye_flushed, mb);
	if (mb->bye_ev)
		evtimer_add(mb->bye_ev, &tv);
	else if (done)
		done(arg);
}

void
members_bye(struct members *mb, void (*done)(void *), void *arg)
{
	say_bye(mb, BYE_LEAVE, done, arg);
}

void
members_stop(struct members *mb, void (*done)(void *), void *arg)
{
	say_bye(mb, BYE_STOP, done, arg);
}

struct members *
members_new(const struct members_opts *o, char *err, size_t errlen)
{
	struct members *mb;
	struct sockaddr_storage ss;
	struct timeval tv;
	socklen_t sl;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return (NULL);
	mb->o = *o;
	TAILQ_INIT(&mb->list);
	TAILQ_INIT(&mb->pending);
	if (str_copy(mb->priv, sizeof(mb->priv), o->priv_dir) < 0 ||
	    str_copy(mb->listen, sizeof(mb->listen), o->listen) < 0 ||
	    addr_parse(o->listen, &ss, &sl) < 0) {
		(void)str_fmt(err, errlen, "peer.listen: bad address '%s'",
		    o->listen);
		goto fail;
	}
	mb->client_ctx = tls_peer_ctx(o->cluster_key, 0, err, errlen);
	mb->server_ctx = tls_peer_ctx(o->cluster_key, 1, err, errlen);
	if (mb->client_ctx == NULL || mb->server_ctx == NULL)
		goto fail;
	if (o->send_limit > 0) {
		size_t rate = o->send_limit > SIZE_MAX / 2 ? SIZE_MAX / 2 :
		    (size_t)o->send_limit;
		struct timeval tick = { 0, 100000 };

		mb->limit_cfg = ev_token_bucket_cfg_new(EV_RATE_LIMIT_MAX,
		    EV_RATE_LIMIT_MAX, rate / 10, rate / 10, &tick);
		if (mb->limit_cfg)
			mb->limit = bufferevent_rate_limit_group_new(o->base,
			    mb->limit_cfg);
	}
	mb->env.base = o->base;
	mb->env.client_ctx = mb->client_ctx;
	mb->env.server_ctx = mb->server_ctx;
	mb->env.send_limit = mb->limit;
	mb->env.cbs.on_up = link_up;
	mb->env.cbs.on_frame = link_frame;
	mb->env.cbs.on_down = link_down;
	mb->env.cbs.on_drain = link_drain;
	mb->env.out_high = o->out_high;
	mb->env.log_heartbeats = o->log_heartbeats;
	mb->env.arg = mb;
	mb->listener = evconnlistener_new_bind(o->base, on_accept, mb,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, (int)sl);
	if (mb->listener == NULL) {
		(void)str_fmt(err, errlen, "peer: cannot listen on %s: %s",
		    o->listen, strerror(errno));
		goto fail;
	}
	load_list(mb, "peers", false);
	load_list(mb, "members", true);
	mb->tick = event_new(o->base, -1, EV_PERSIST, on_tick, mb);
	tv.tv_sec = o->heartbeat_ms / 1000;
	tv.tv_usec = (o->heartbeat_ms % 1000) * 1000;
	if (mb->tick == NULL || event_add(mb->tick, &tv) < 0)
		goto fail;
	mb->tally_ev = event_new(o->base, -1, EV_PERSIST, on_tally, mb);
	tv.tv_sec = 0;
	tv.tv_usec = TALLY_TICK_MS * 1000;
	if (mb->tally_ev == NULL || event_add(mb->tally_ev, &tv) < 0)
		goto fail;
	/* Dial what we know now rather than at the first tick. */
	event_active(mb->tick, 0, 0);
	log_info("peer protocol listening on %s", mb->listen);
	return (mb);
fail:
	members_free(mb);
	return (NULL);
}

void
members_free(struct members *mb)
{
	struct member *m;
	struct pending *p;

	if (mb == NULL)
		return;
	/*
	 * Close every link first, telling nobody: the rate limit group may
	 * only be freed empty, and the modules above are going away too.
	 */
	mb->stopping = true;
	TAILQ_FOREACH(m, &mb->list, entry) {
		tallies_flush(m, true);
		if (m->link)
			link_close(m->link, "shutting down");
		if (m->dialing)
			link_close(m->dialing, "shutting down");
		m->link = m->dialing = NULL;
	}
	TAILQ_FOREACH(p, &mb->pending, entry)
		link_close(p->link, "shutting down");
	if (mb->tick)
		event_free(mb->tick);
	if (mb->bye_ev)
		event_free(mb->bye_ev);
	if (mb->tally_ev)
		event_free(mb->tally_ev);
	if (mb->listener)
		evconnlistener_free(mb->listener);
	while ((p = TAILQ_FIRST(&mb->pending)) != NULL) {
		TAILQ_REMOVE(&mb->pending, p, entry);
		link_set_owner(p->link, NULL);
		free(p);
	}
	while ((m = TAILQ_FIRST(&mb->list)) != NULL) {
		TAILQ_REMOVE(&mb->list, m, entry);
		free(m->sync);
		free(m);
	}
	if (mb->limit)
		bufferevent_rate_limit_group_free(mb->limit);
	if (mb->limit_cfg)
		ev_token_bucket_cfg_free(mb->limit_cfg);
	SSL_CTX_free(mb->client_ctx);
	SSL_CTX_free(mb->server_ctx);
	free(mb);
}
