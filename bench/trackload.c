/*
 * trackload: many simulated nodes against one running `shoal tracker`,
 * over the real protocol (one TLS link per node, twire frames).
 *
 *   trackload --tracker HOST:PORT --key HEX [--nodes N] [--files F]
 *             [--seconds S] [--lookups L] [--conns-per-sec R] [--json] ...
 *
 * Three phases, one after the other, on the same links:
 *
 *  1. announce   every node connects (paced at R per second), sends
 *                T_HELLO, waits for T_WELCOME, sends its F files as
 *                T_FILES (reset), then asks the tracker, on its own link,
 *                for its last file (T_QUERY file) until the answer lists
 *                it as a holder.  A node is "announced" when that answer
 *                came; the phase ends when every node is announced, so
 *                the time covers connect, TLS, HELLO, the files and
 *                whatever the tracker does before a query can see them
 *                (for example a group commit).
 *  2. heartbeats every node keeps --inflight T_BEATs outstanding on its
 *                link (a new one for each T_BEAT_ACK) for S seconds; the
 *                ACKs received in the window are counted.
 *  3. lookups    over one link, L sequential T_QUERY file requests for
 *                random existing paths (half per-node, half shared),
 *                then --pages T_QUERY files pages from the top, one page
 *                under shared/ and one under sim/ (--page-limit paths
 *                asked for each), and one T_QUERY nodes.
 *
 * Paths: node i holds sim/i/file-K.bin and --shared-pct percent of its
 * files under shared/file-K.bin, K from a pool of --shared-pool names
 * spread evenly over the nodes, so a shared path has many holders (all
 * with the same size, hash and version).
 *
 * With --pid PID (the tracker's) the tracker's CPU time (utime + stime,
 * every thread) and memory (VmRSS, VmHWM) are read at each phase's start
 * and end.  With --http HOST:PORT, GET /v1/nodes is checked once after
 * the announce.  Nothing is hidden: a refused HELLO, a link that goes
 * down, a query that fails or a path that is not found is an error, and
 * the exit status is 1 if there was any (2 for bad usage).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "base/buf.h"
#include "base/log.h"
#include "cluster/link.h"
#include "cluster/twire.h"
#include "cluster/wire.h"
#include "net/addr.h"
#include "net/tls.h"

#define INFLIGHT_MAX	16
#define NS		1000000000ull
#define MS		1000000ull
#define ERRORS_KEPT	20
#define LAT_MAX		(4u << 20)	/* latency samples kept per series */

enum phase { PH_ANNOUNCE, PH_BEATS, PH_LOOKUPS, PH_N };
static const char *phase_name[PH_N] = { "announce", "heartbeats", "lookups" };

enum sstate {
	S_NEW,		/* not connected yet */
	S_CONNECTING,	/* TCP + TLS */
	S_HELLO,	/* HELLO sent, waiting for WELCOME */
	S_CHECKING,	/* files sent, waiting for a query to see them */
	S_READY,	/* announced */
	S_DEAD,		/* link down or refused */
};

struct sim {
	struct link	*l;
	uint32_t	 idx;
	uint8_t		 state;
	uint8_t		 id[NODE_ID_LEN];
	char		 idhex[2 * NODE_ID_LEN + 1];
	uint64_t	 t_connect, t_welcome, t_sent, t_ready;
	uint64_t	 last_beat;
	uint32_t	 check_req;
	uint8_t		 check_tries;
	uint64_t	 check_at;	/* when to ask again */
	uint16_t	 beats_out, beat_tail;
	uint64_t	 beat_t[INFLIGHT_MAX];
};

struct series {
	double		*v;
	size_t		 n, cap;
	uint64_t	 dropped;
};

struct opts {
	const char	*tracker;
	const char	*http;
	uint8_t		 key[TLS_CLUSTER_KEY_LEN];
	uint32_t	 nodes, files, lookups, rate, inflight, pages;
	uint32_t	 shared_pct, shared_pool, max_pending, page_limit;
	double		 seconds, timeout;
	int		 pid;
	bool		 json;
	uint64_t	 seed;
};

enum qkind { Q_NONE, Q_LOOKUP, Q_PAGE, Q_NODES };

static struct {
	struct opts	 o;
	struct event_base *base;
	struct link_env	 env;
	struct sockaddr_storage sa;
	struct sim	*sims;
	struct buf	 fb;		/* frame being built */
	uint32_t	 nshared, nlocal;
	uint32_t	 shared_held;	/* shared names held by someone */
	enum phase	 phase;
	bool		 closing;
	uint32_t	 req_seq;
	uint64_t	 t0;		/* first connect */

	/* announce */
	uint32_t	 next_connect, connecting, up, welcomed, sent, ready,
			 dead;
	uint64_t	 t_all_sent, t_all_ready, t_ramp_done;
	uint64_t	 check_queries, check_retries, check_status[4];
	uint32_t	*retry;
	size_t		 nretry;
	uint32_t	 hb_ms, expire_ms;
	uint64_t	 nodes_frames, nodes_entries, locks_frames;

	/* heartbeats */
	uint64_t	 beat_start, beat_end;
	bool		 beat_open;
	uint64_t	 beats_sent, beats_acked, beats_late, stray_acks;
	uint64_t	 keepalive_sent, keepalive_acked;

	/* lookups */
	struct sim	*qs;
	uint32_t	 q_req;
	enum qkind	 q_kind;
	uint64_t	 q_t;
	bool		 q_done;
	uint32_t	 q_status;
	char		*q_json;
	size_t		 q_len;
	uint64_t	 q_rtt;

	struct series	 lat_welcome, lat_confirm, lat_beat, lat_lookup;

	/* per phase */
	uint64_t	 rx_frames[PH_N][WIRE_TYPE_MAX];
	uint64_t	 rx_bytes[PH_N][WIRE_TYPE_MAX];
	uint64_t	 down[PH_N];
	uint64_t	 refused;
	uint64_t	 nerrors;
	char		*errors[ERRORS_KEPT];
	struct event	*tick, *ramp;
} T;

/* --------------------------------------------------------------- utils -- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec);
}

static double
secs(uint64_t ns)
{
	return ((double)ns / 1e9);
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

static void
error_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
error_add(const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (T.nerrors < ERRORS_KEPT) {
		T.errors[T.nerrors] = strdup(msg);
		fprintf(stderr, "trackload: ERROR %s\n", msg);
	} else if (T.nerrors == ERRORS_KEPT)
		fprintf(stderr, "trackload: (further errors counted, not "
		    "printed)\n");
	T.nerrors++;
}

static void
series_add(struct series *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *nv;

		if (cap > LAT_MAX || (nv = realloc(s->v, cap *
		    sizeof(*nv))) == NULL) {
			s->dropped++;
			return;
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The q-th quantile (nearest rank) of a sorted series. */
static double
quantile(const struct series *s, unsigned permille)
{
	size_t r;

	if (s->n == 0)
		return (0);
	r = (s->n * permille + 999) / 1000;
	return (s->v[r ? r - 1 : 0]);
}

static json_t *
series_json(struct series *s)
{
	double sum = 0;
	size_t i;

	if (s->n == 0)
		return (json_null());
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	for (i = 0; i < s->n; i++)
		sum += s->v[i];
	return (json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}",
	    "n", (json_int_t)s->n, "mean", sum / (double)s->n,
	    "p50", quantile(s, 500), "p90", quantile(s, 900),
	    "p99", quantile(s, 990), "max", s->v[s->n - 1]));
}

static int
parse_hex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * n)
		return (-1);
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    strspn(s + 2 * i, "0123456789abcdefABCDEF") < 2)
			return (-1);
		out[i] = (uint8_t)v;
	}
	return (0);
}

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/* The tracker process, read from /proc. */
struct procsnap {
	bool	ok;
	double	cpu_s;
	long	rss_kib, hwm_kib;
	int	threads;
};

static struct procsnap
proc_snap(int pid)
{
	struct procsnap p = { 0 };
	char path[64], line[4096], *rp;
	unsigned long ut, st;
	FILE *f;

	if (pid <= 0)
		return (p);
	(void)snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (p);
	if (fgets(line, sizeof(line), f) != NULL &&
	    (rp = strrchr(line, ')')) != NULL &&
	    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) == 2) {
		p.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		p.ok = true;
	}
	fclose(f);
	(void)snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (p);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			p.rss_kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			p.hwm_kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "Threads:", 8) == 0)
			p.threads = (int)strtol(line + 8, NULL, 10);
	}
	fclose(f);
	return (p);
}

static json_t *
procsnap_json(const struct procsnap *p)
{
	if (!p->ok)
		return (json_null());
	return (json_pack("{s:f, s:I, s:I, s:i}", "cpu_s", p->cpu_s,
	    "rss_kib", (json_int_t)p->rss_kib, "hwm_kib",
	    (json_int_t)p->hwm_kib, "threads", p->threads));
}

static bool
status_ok(uint32_t st)
{
	return (st == 0 || st == 200);
}

/* ---------------------------------------------------------- the files -- */

static void
local_path(char *out, size_t size, uint32_t node, uint32_t k)
{
	(void)snprintf(out, size, "sim/%u/file-%u.bin", node, k);
}

static void
shared_path(char *out, size_t size, uint32_t k)
{
	(void)snprintf(out, size, "shared/file-%u.bin", k);
}

/* The j-th shared name of node i: windows of the pool, in turn. */
static uint32_t
shared_of(uint32_t i, uint32_t j)
{
	return ((uint32_t)(((uint64_t)i * T.nshared + j) % T.o.shared_pool));
}

static void
make_file(struct twire_file *f, const struct sim *s, uint32_t n)
{
	uint64_t r;

	memset(f, 0, sizeof(*f));
	f->live = true;
	if (n < T.nshared) {
		uint32_t k = shared_of(s->idx, n);

		shared_path(f->path, sizeof(f->path), k);
		SHA256((const unsigned char *)f->path, strlen(f->path),
		    f->sha256);
		f->size = 4096 + (uint64_t)k * 7919 % (1u << 24);
		(void)snprintf(f->version, sizeof(f->version), "5ba7ed00:1");
		return;
	}
	n -= T.nshared;
	local_path(f->path, sizeof(f->path), s->idx, n);
	r = T.o.seed ^ ((uint64_t)s->idx << 32 | n);
	for (size_t i = 0; i < HASH_LEN; i += 8) {
		uint64_t x = splitmix(&r);

		memcpy(f->sha256 + i, &x, 8);
	}
	f->size = splitmix(&r) % (64u << 20);
	(void)snprintf(f->version, sizeof(f->version), "%.8s:%u", s->idhex,
	    1 + n % 3);
}

/* The path a node checks for: the last one it sent. */
static void
check_path(const struct sim *s, char *out, size_t size)
{
	if (T.nlocal > 0)
		local_path(out, size, s->idx, T.nlocal - 1);
	else
		shared_path(out, size, shared_of(s->idx, T.nshared - 1));
}

/* -------------------------------------------------------------- frames -- */

static void sim_dead(struct sim *, const char *);

static int
sim_send(struct sim *s, const char *what)
{
	int rc;

	if (s->state == S_DEAD || s->l == NULL)
		return (-ENOTCONN);
	if ((rc = link_send(s->l, &T.fb)) < 0) {
		error_add("node %u: sending %s: %s", s->idx, what,
		    strerror(-rc));
		sim_dead(s, "send failed");
	}
	return (rc);
}

static int
send_query(struct sim *s, uint32_t req, uint8_t kind, const char *path,
    const char *after, uint32_t limit)
{
	struct twire_query q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.req = req;
	q.kind = kind;
	(void)snprintf(q.path, sizeof(q.path), "%s", path);
	(void)snprintf(q.after, sizeof(q.after), "%s", after);
	q.limit = limit;
	if ((rc = twire_put_query(&T.fb, &q)) < 0) {
		error_add("encoding a query for %s: %s", path, strerror(-rc));
		return (rc);
	}
	return (sim_send(s, "T_QUERY"));
}

static void
send_check(struct sim *s)
{
	char path[PATH_LEN_MAX + 1];

	check_path(s, path, sizeof(path));
	s->check_req = ++T.req_seq;
	T.check_queries++;
	(void)send_query(s, s->check_req, TWIRE_Q_FILE, path, "", 0);
}

static int
send_beat(struct sim *s)
{
	uint64_t t = now_ns();
	int rc;

	if (s->beats_out >= INFLIGHT_MAX)
		return (-ENOBUFS);
	if ((rc = twire_put_beat(&T.fb, WIRE_T_BEAT, t)) < 0)
		return (rc);
	if ((rc = sim_send(s, "T_BEAT")) < 0)
		return (rc);
	s->beat_t[(s->beat_tail + s->beats_out) % INFLIGHT_MAX] = t;
	s->beats_out++;
	s->last_beat = t;
	return (0);
}

static void
send_files(struct sim *s)
{
	struct twire_list tl;
	struct twire_file f;
	uint32_t n, frames = 0;
	int rc;

	if ((rc = twire_list_begin(&tl, &T.fb, WIRE_T_FILES,
	    TWIRE_FLAG_RESET)) < 0)
		goto fail;
	for (n = 0; n < T.o.files; n++) {
		make_file(&f, s, n);
		if ((rc = twire_add_file(&tl, &f)) == -EMSGSIZE) {
			/* Full: this frame goes, the next continues it. */
			if ((rc = twire_list_end(&tl)) < 0 ||
			    sim_send(s, "T_FILES") < 0)
				goto fail;
			frames++;
			if ((rc = twire_list_begin(&tl, &T.fb, WIRE_T_FILES,
			    0)) < 0 || (rc = twire_add_file(&tl, &f)) < 0)
				goto fail;
		} else if (rc < 0)
			goto fail;
	}
	if ((rc = twire_list_end(&tl)) < 0 || sim_send(s, "T_FILES") < 0)
		goto fail;
	return;
fail:
	if (s->state != S_DEAD) {
		error_add("node %u: encoding T_FILES: %s", s->idx,
		    strerror(-rc));
		sim_dead(s, "encoding failed");
	}
}

/* ------------------------------------------------------------- links -- */

static void
sim_dead(struct sim *s, const char *why)
{
	struct link *l = s->l;

	if (s->state == S_DEAD)
		return;
	if (s->state == S_CONNECTING || s->state == S_HELLO)
		T.connecting--;
	s->state = S_DEAD;
	T.dead++;
	s->l = NULL;
	if (l != NULL)
		link_close(l, why);
}

static void
on_up(struct link *l, void *arg)
{
	struct sim *s = link_owner(l);
	struct twire_hello h;
	int rc;

	(void)arg;
	if (s == NULL)
		return;
	T.up++;
	memset(&h, 0, sizeof(h));
	memcpy(h.id, s->id, NODE_ID_LEN);
	(void)snprintf(h.peer_addr, sizeof(h.peer_addr), "10.%u.%u.%u:44444",
	    (s->idx + 1) >> 16 & 255, (s->idx + 1) >> 8 & 255,
	    (s->idx + 1) & 255);
	(void)snprintf(h.http_addr, sizeof(h.http_addr), "10.%u.%u.%u:8080",
	    (s->idx + 1) >> 16 & 255, (s->idx + 1) >> 8 & 255,
	    (s->idx + 1) & 255);
	if ((rc = twire_put_hello(&T.fb, &h)) < 0) {
		error_add("node %u: encoding T_HELLO: %s", s->idx,
		    strerror(-rc));
		sim_dead(s, "encoding failed");
		return;
	}
	if (sim_send(s, "T_HELLO") == 0)
		s->state = S_HELLO;
}

static void
on_down(struct link *l, const char *why, void *arg)
{
	struct sim *s = link_owner(l);

	(void)arg;
	if (s == NULL || s->l != l)
		return;		/* closed by us */
	s->l = NULL;
	if (T.closing)
		return;
	T.down[T.phase]++;
	if (s->state == S_CONNECTING || s->state == S_HELLO)
		T.connecting--;
	error_add("node %u: link down during %s (state %d, %s): %s", s->idx,
	    phase_name[T.phase], s->state,
	    s->state <= S_CONNECTING ? "connecting" : "connected", why);
	if (s->state != S_DEAD) {
		s->state = S_DEAD;
		T.dead++;
	}
}

static void
on_welcome(struct sim *s, const uint8_t *p, uint32_t len)
{
	uint32_t hb, ex;

	if (s->state != S_HELLO) {
		error_add("node %u: unexpected T_WELCOME (state %d)", s->idx,
		    s->state);
		return;
	}
	if (twire_get_welcome(p, len, &hb, &ex) < 0) {
		error_add("node %u: malformed T_WELCOME", s->idx);
		sim_dead(s, "malformed frame");
		return;
	}
	T.hb_ms = hb;
	T.expire_ms = ex;
	s->t_welcome = now_ns();
	s->last_beat = s->t_welcome;
	T.connecting--;
	T.welcomed++;
	series_add(&T.lat_welcome, secs(s->t_welcome - s->t_connect) * 1e3);
	send_files(s);
	if (s->state == S_DEAD)
		return;
	s->t_sent = now_ns();
	if (++T.sent == T.o.nodes)
		T.t_all_sent = s->t_sent;
	s->state = S_CHECKING;
	send_check(s);
}

static void
on_refuse(struct sim *s, const uint8_t *p, uint32_t len)
{
	char why[TWIRE_MSG_MAX + 1];

	if (twire_get_refuse(p, len, why, sizeof(why)) < 0)
		(void)snprintf(why, sizeof(why), "(malformed T_REFUSE)");
	T.refused++;
	error_add("node %u: refused: %s", s->idx, why);
	sim_dead(s, "refused");
}

static void
on_list(struct sim *s, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct wire_rd r;
	uint8_t flags;
	uint32_t n, i;
	int rc = 0;

	if (twire_list_read(&r, p, len, type, &flags, &n) < 0)
		rc = -EPROTO;
	for (i = 0; rc == 0 && i < n; i++) {
		if (type == WIRE_T_NODES) {
			struct twire_node e;

			rc = twire_next_node(&r, &e);
		} else {
			struct twire_lock e;

			rc = twire_next_lock(&r, &e);
		}
	}
	if (rc == 0)
		rc = wire_rd_done(&r);
	if (rc < 0) {
		error_add("node %u: malformed %s (%u bytes)", s->idx,
		    wire_type_name(type), len);
		return;
	}
	if (type == WIRE_T_NODES) {
		T.nodes_frames++;
		T.nodes_entries += n;
	} else
		T.locks_frames++;
}

static void
on_ack(struct sim *s, const uint8_t *p, uint32_t len)
{
	uint64_t v, now = now_ns(), sent;

	if (twire_get_beat(p, len, &v) < 0) {
		error_add("node %u: malformed T_BEAT_ACK", s->idx);
		return;
	}
	if (s->beats_out == 0) {
		T.stray_acks++;
		return;
	}
	sent = s->beat_t[s->beat_tail];
	s->beat_tail = (uint16_t)((s->beat_tail + 1) % INFLIGHT_MAX);
	s->beats_out--;
	if (T.phase != PH_BEATS) {
		T.keepalive_acked++;
		return;
	}
	if (!T.beat_open || sent < T.beat_start) {
		T.beats_late++;
		return;
	}
	if (now > T.beat_end) {
		T.beats_late++;
		T.beat_open = false;
		return;
	}
	T.beats_acked++;
	series_add(&T.lat_beat, secs(now - sent) * 1e3);
	if (send_beat(s) == 0)
		T.beats_sent++;
}

static void
on_check_answer(struct sim *s, uint32_t st, const char *json, size_t len)
{
	uint64_t wait_ms;

	T.check_status[status_ok(st) ? 0 : (st == 404 || st == ENOENT) ? 1 :
	    3]++;
	if (status_ok(st) && memmem(json, len, s->idhex, 32) != NULL) {
		s->state = S_READY;
		s->t_ready = now_ns();
		s->check_req = 0;
		series_add(&T.lat_confirm, secs(s->t_ready - s->t_sent) * 1e3);
		if (++T.ready + T.dead >= T.o.nodes)
			T.t_all_ready = s->t_ready;
		return;
	}
	if (status_ok(st))
		T.check_status[2]++;	/* found, but not with us */
	/* Not visible yet: ask again, 5 ms later, then 10, 20, ... 100. */
	T.check_retries++;
	wait_ms = s->check_tries < 5 ? 5u << s->check_tries : 100;
	s->check_tries++;
	s->check_at = now_ns() + wait_ms * MS;
	s->check_req = 0;
	T.retry[T.nretry++] = s->idx;
}

static void
on_answer(struct sim *s, const uint8_t *p, uint32_t len)
{
	uint32_t req;
	uint16_t st;
	const char *json;
	size_t jlen;

	if (twire_get_answer(p, len, &req, &st, &json, &jlen) < 0) {
		error_add("node %u: malformed T_ANSWER (%u bytes)", s->idx,
		    len);
		return;
	}
	if (s->state == S_CHECKING && req == s->check_req) {
		on_check_answer(s, st, json, jlen);
		return;
	}
	if (s == T.qs && req == T.q_req && T.q_kind != Q_NONE) {
		T.q_rtt = now_ns() - T.q_t;
		T.q_status = st;
		free(T.q_json);
		T.q_json = malloc(jlen + 1);
		if (T.q_json != NULL) {
			memcpy(T.q_json, json, jlen);
			T.q_json[jlen] = '\0';
		}
		T.q_len = jlen;
		T.q_done = true;
		return;
	}
	error_add("node %u: T_ANSWER for unknown request %u (status %u)",
	    s->idx, req, st);
}

static void
on_frame(struct link *l, const struct wire_hdr *h, const uint8_t *p,
    void *arg)
{
	struct sim *s = link_owner(l);

	(void)arg;
	if (s == NULL || s->l != l)
		return;
	T.rx_frames[T.phase][h->type]++;
	T.rx_bytes[T.phase][h->type] += WIRE_HDR_LEN + h->len;
	switch (h->type) {
	case WIRE_T_WELCOME:
		on_welcome(s, p, h->len);
		break;
	case WIRE_T_REFUSE:
		on_refuse(s, p, h->len);
		break;
	case WIRE_T_NODES:
	case WIRE_T_LOCKS:
		on_list(s, h->type, p, h->len);
		break;
	case WIRE_T_BEAT_ACK:
		on_ack(s, p, h->len);
		break;
	case WIRE_T_ANSWER:
		on_answer(s, p, h->len);
		break;
	default:
		error_add("node %u: unexpected frame %s (%u bytes)", s->idx,
		    wire_type_name(h->type), h->len);
		break;
	}
}

static void
sim_connect(struct sim *s)
{
	s->t_connect = now_ns();
	if (T.t0 == 0)
		T.t0 = s->t_connect;
	s->state = S_CONNECTING;
	T.connecting++;
	if ((s->l = link_connect(&T.env, (struct sockaddr *)&T.sa)) ==
	    NULL) {
		T.connecting--;
		s->state = S_DEAD;
		T.dead++;
		error_add("node %u: connect: %s", s->idx, strerror(errno));
		return;
	}
	link_set_owner(s->l, s);
}

/* -------------------------------------------------------------- timers -- */

/* Every 5 ms: new connections at the rate asked, and due check retries. */
static void
on_ramp(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ns(), want;
	size_t i, n;

	(void)fd;
	(void)what;
	(void)arg;
	if (T.phase == PH_ANNOUNCE && T.next_connect < T.o.nodes) {
		want = T.t0 ? (now - T.t0) * T.o.rate / NS + 1 : 1;
		while (T.next_connect < T.o.nodes && T.next_connect < want &&
		    T.connecting < T.o.max_pending)
			sim_connect(&T.sims[T.next_connect++]);
		if (T.next_connect == T.o.nodes)
			T.t_ramp_done = now_ns();
	}
	/* Check retries that are due. */
	n = T.nretry;
	T.nretry = 0;
	for (i = 0; i < n; i++) {
		struct sim *s = &T.sims[T.retry[i]];

		if (s->state != S_CHECKING)
			continue;
		if (s->check_at > now)
			T.retry[T.nretry++] = s->idx;
		else
			send_check(s);
	}
}

/* Every second: progress, and a heartbeat per interval on idle links. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ns(), hb = (uint64_t)T.hb_ms * MS;
	uint32_t i;

	(void)fd;
	(void)what;
	(void)arg;
	if (T.phase == PH_ANNOUNCE && T.t0)
		fprintf(stderr, "trackload: %6.1f s: %u connected, %u up, "
		    "%u welcomed, %u announced, %u dead, %" PRIu64
		    " check retries\n", secs(now - T.t0), T.next_connect,
		    T.up, T.welcomed, T.ready, T.dead, T.check_retries);
	if (T.phase == PH_BEATS || hb == 0)
		return;
	for (i = 0; i < T.next_connect; i++) {
		struct sim *s = &T.sims[i];

		if (s->state >= S_CHECKING && s->state != S_DEAD &&
		    s->beats_out == 0 && now - s->last_beat >= hb &&
		    send_beat(s) == 0)
			T.keepalive_sent++;
	}
}

static void
run_until(bool (*done)(void), double timeout_s)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * 1e9);

	while (!done() && now_ns() < end)
		event_base_loop(T.base, EVLOOP_ONCE);
}

static bool
announce_done(void)
{
	return (T.next_connect == T.o.nodes &&
	    T.ready + T.dead >= T.o.nodes);
}

static bool
beats_done(void)
{
	return (now_ns() >= T.beat_end);
}

static bool
drained(void)
{
	uint32_t i;

	for (i = 0; i < T.o.nodes; i++)
		if (T.sims[i].state == S_READY && T.sims[i].beats_out > 0)
			return (false);
	return (true);
}

static bool
query_done(void)
{
	return (T.q_done || T.qs->state == S_DEAD);
}

/* One query over the lookup link; false if it failed. */
static bool
query(enum qkind kind, uint8_t tk, const char *path, const char *after,
    uint32_t limit)
{
	T.q_req = ++T.req_seq;
	T.q_kind = kind;
	T.q_done = false;
	T.q_t = now_ns();
	if (send_query(T.qs, T.q_req, tk, path, after, limit) < 0)
		return (false);
	run_until(query_done, 60);
	T.q_kind = Q_NONE;
	if (!T.q_done) {
		error_add("query %s%s%s: %s", path, *after ? " after " : "",
		    after, T.qs->state == S_DEAD ? "link down" :
		    "no answer within 60 s");
		return (false);
	}
	return (true);
}

/* ---------------------------------------------------------------- http -- */

/* GET /v1/nodes from the tracker's HTTP API: nodes and files counted. */
static json_t *
http_nodes(const char *hostport)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct timeval tv = { 60, 0 };
	struct buf b;
	char req[256], *body, *hdr_end;
	json_t *doc, *nodes, *e, *out;
	json_error_t jerr;
	uint64_t t0 = now_ns(), files = 0;
	size_t i, live = 0;
	ssize_t n = 0;
	int fd, code = 0;

	if (addr_parse(hostport, &ss, &sl) < 0) {
		error_add("--http %s: not HOST:PORT", hostport);
		return (NULL);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		error_add("GET http://%s/v1/nodes: %s", hostport,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return (NULL);
	}
	(void)snprintf(req, sizeof(req), "GET /v1/nodes HTTP/1.0\r\n"
	    "Host: %s\r\nConnection: close\r\n\r\n", hostport);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		error_add("GET /v1/nodes: write: %s", strerror(errno));
		close(fd);
		return (NULL);
	}
	buf_init(&b, 1u << 30);
	for (;;) {
		char *p = buf_extend(&b, 65536);

		if (p == NULL)
			break;
		n = read(fd, p, 65536);
		buf_truncate(&b, b.len - 65536 + (n > 0 ? (size_t)n : 0));
		if (n <= 0)
			break;
	}
	close(fd);
	if (b.len == 0 || (hdr_end = strstr(b.data, "\r\n\r\n")) == NULL ||
	    sscanf(b.data, "HTTP/%*d.%*d %d", &code) != 1 || code != 200) {
		error_add("GET /v1/nodes: HTTP %d, %zu bytes%s", code, b.len,
		    n < 0 ? " (read error)" : "");
		buf_release(&b);
		return (NULL);
	}
	body = hdr_end + 4;
	if (strcasestr(b.data, "transfer-encoding: chunked") != NULL &&
	    strcasestr(b.data, "transfer-encoding: chunked") < hdr_end) {
		/* De-chunk in place. */
		char *r = body, *w = body;
		unsigned long cl;

		while ((cl = strtoul(r, &r, 16)) > 0) {
			r = strstr(r, "\r\n");
			if (r == NULL)
				break;
			memmove(w, r + 2, cl);
			w += cl;
			r += 2 + cl + 2;
		}
		*w = '\0';
	}
	doc = json_loads(body, 0, &jerr);
	if (doc == NULL || !json_is_array(nodes = json_object_get(doc,
	    "nodes"))) {
		error_add("GET /v1/nodes: not the JSON expected: %s",
		    doc ? "no \"nodes\" array" : jerr.text);
		json_decref(doc);
		buf_release(&b);
		return (NULL);
	}
	json_array_foreach(nodes, i, e) {
		json_t *st = json_object_get(e, "state");

		files += (uint64_t)json_integer_value(json_object_get(e,
		    "files"));
		if (json_is_string(st) && strcmp(json_string_value(st),
		    "live") == 0)
			live++;
	}
	out = json_pack("{s:f, s:I, s:I, s:I, s:I}", "ms",
	    secs(now_ns() - t0) * 1e3, "bytes", (json_int_t)(b.len -
	    (size_t)(body - b.data)), "nodes",
	    (json_int_t)json_array_size(nodes), "live", (json_int_t)live,
	    "files", (json_int_t)files);
	json_decref(doc);
	buf_release(&b);
	return (out);
}

/* ---------------------------------------------------------------- main -- */

static void
usage(void)
{
	fprintf(stderr,
"usage: trackload --tracker HOST:PORT --key HEX [options]\n"
"  --nodes N          simulated nodes, one TLS link each (10000)\n"
"  --files F          files per node (100)\n"
"  --shared-pct P     percent of each node's files under shared/ (10)\n"
"  --shared-pool K    distinct shared/ names (1000)\n"
"  --seconds S        length of the heartbeat phase (10)\n"
"  --inflight K       heartbeats outstanding per link (1, at most 16)\n"
"  --lookups L        sequential file queries (2000)\n"
"  --pages N          T_QUERY files pages timed (5)\n"
"  --page-limit N     paths per page (1000)\n"
"  --conns-per-sec R  connection ramp-up (2000)\n"
"  --max-pending N    connections not yet welcomed at once (1000)\n"
"  --timeout S        for the announce (300)\n"
"  --http HOST:PORT   also check GET /v1/nodes after the announce\n"
"  --pid PID          the tracker's: CPU time and memory per phase\n"
"  --seed N           for the paths' sizes and hashes (1)\n"
"  --json             one line of JSON on stdout\n");
	exit(2);
}

static uint32_t
opt_u32(const char *name, const char *v, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || end == v || x < min || x > max) {
		fprintf(stderr, "trackload: %s: a number from %u to %u, not "
		    "%s\n", name, min, max, v);
		exit(2);
	}
	return ((uint32_t)x);
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tracker", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "files", required_argument, NULL, 'f' },
		{ "shared-pct", required_argument, NULL, 'P' },
		{ "shared-pool", required_argument, NULL, 'K' },
		{ "seconds", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "pages", required_argument, NULL, 'g' },
		{ "page-limit", required_argument, NULL, 'G' },
		{ "conns-per-sec", required_argument, NULL, 'r' },
		{ "max-pending", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "http", required_argument, NULL, 'h' },
		{ "pid", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts *o = &T.o;
	char *keyhex = NULL;
	int c;

	o->nodes = 10000;
	o->files = 100;
	o->shared_pct = 10;
	o->shared_pool = 1000;
	o->seconds = 10;
	o->inflight = 1;
	o->lookups = 2000;
	o->pages = 5;
	o->page_limit = 1000;
	o->rate = 2000;
	o->max_pending = 1000;
	o->timeout = 300;
	o->seed = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->tracker = optarg; break;
		case 'k': keyhex = optarg; break;
		case 'n': o->nodes = opt_u32("--nodes", optarg, 1, 1000000);
			break;
		case 'f': o->files = opt_u32("--files", optarg, 1, 1000000);
			break;
		case 'P': o->shared_pct = opt_u32("--shared-pct", optarg, 0,
			    100); break;
		case 'K': o->shared_pool = opt_u32("--shared-pool", optarg,
			    1, 100000000); break;
		case 's': o->seconds = opt_u32("--seconds", optarg, 1,
			    86400); break;
		case 'i': o->inflight = opt_u32("--inflight", optarg, 1,
			    INFLIGHT_MAX); break;
		case 'l': o->lookups = opt_u32("--lookups", optarg, 0,
			    100000000); break;
		case 'g': o->pages = opt_u32("--pages", optarg, 0, 100000);
			break;
		case 'G': o->page_limit = opt_u32("--page-limit", optarg, 1,
			    1000000); break;
		case 'r': o->rate = opt_u32("--conns-per-sec", optarg, 1,
			    1000000); break;
		case 'm': o->max_pending = opt_u32("--max-pending", optarg, 1,
			    1000000); break;
		case 'T': o->timeout = opt_u32("--timeout", optarg, 1,
			    86400); break;
		case 'h': o->http = optarg; break;
		case 'p': o->pid = (int)opt_u32("--pid", optarg, 1,
			    0x7fffffff); break;
		case 'S': o->seed = opt_u32("--seed", optarg, 0,
			    0xffffffffu); break;
		case 'j': o->json = true; break;
		default: usage();
		}
	}
	if (optind != argc || o->tracker == NULL || keyhex == NULL)
		usage();
	if (parse_hex(keyhex, o->key, sizeof(o->key)) < 0) {
		fprintf(stderr, "trackload: --key: 64 hex digits (the "
		    "cluster key from .shoal/cluster_key)\n");
		exit(2);
	}
	T.nshared = (uint32_t)((uint64_t)o->files * o->shared_pct / 100);
	if (T.nshared > o->shared_pool)
		T.nshared = o->shared_pool;
	T.nlocal = o->files - T.nshared;
}

/* Enough descriptors for one socket per node, and some. */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)T.o.nodes + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit r2 = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want) {
		fprintf(stderr, "trackload: need %lu descriptors, the limit "
		    "is %lu (run as root, or raise ulimit -n)\n",
		    (unsigned long)want, (unsigned long)rl.rlim_cur);
		exit(1);
	}
}

static json_t *
rx_json(enum phase ph)
{
	json_t *o = json_object();
	int t;

	for (t = 1; t < WIRE_TYPE_MAX; t++)
		if (T.rx_frames[ph][t])
			json_object_set_new(o, wire_type_name((uint8_t)t),
			    json_pack("{s:I, s:I}", "frames",
			    (json_int_t)T.rx_frames[ph][t], "bytes",
			    (json_int_t)T.rx_bytes[ph][t]));
	return (o);
}

static void
pick_lookup(uint64_t *rng, char *path, size_t size, uint32_t *node)
{
	if (T.nlocal == 0 || (T.shared_held > 0 && (splitmix(rng) & 1))) {
		shared_path(path, size, (uint32_t)(splitmix(rng) %
		    T.shared_held));
		*node = UINT32_MAX;
		return;
	}
	/* A node that was announced. */
	do
		*node = (uint32_t)(splitmix(rng) % T.o.nodes);
	while (T.sims[*node].state != S_READY);
	local_path(path, size, *node, (uint32_t)(splitmix(rng) % T.nlocal));
}

int
main(int argc, char **argv)
{
	struct procsnap ps[PH_N + 1];
	double cpu[PH_N + 1];
	uint64_t t_ph[PH_N + 1], rng;
	json_t *out, *jann, *jbeat, *jlook, *jpages, *jnodesq = NULL,
	    *jhttp = NULL, *jerr, *jproc;
	char err[256], *line;
	socklen_t sl;
	uint32_t i, lookups_ok = 0, lookups_bad = 0;
	double ann_s = 0, beat_s;
	struct timeval t5ms = { 0, 5000 }, t1s = { 1, 0 };

	parse_opts(argc, argv);
	log_init("trackload", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (addr_parse(T.o.tracker, &T.sa, &sl) < 0) {
		fprintf(stderr, "trackload: --tracker %s: not a numeric "
		    "HOST:PORT\n", T.o.tracker);
		return (2);
	}
	if ((T.base = event_base_new()) == NULL)
		return (1);
	T.env.base = T.base;
	T.env.client_ctx = tls_tracker_ctx(T.o.key, 0, err, sizeof(err));
	if (T.env.client_ctx == NULL) {
		fprintf(stderr, "trackload: TLS: %s\n", err);
		return (1);
	}
	T.env.cbs.on_up = on_up;
	T.env.cbs.on_frame = on_frame;
	T.env.cbs.on_down = on_down;
	buf_init(&T.fb, WIRE_HDR_LEN + WIRE_FRAME_MAX);
	if ((T.sims = calloc(T.o.nodes, sizeof(*T.sims))) == NULL ||
	    (T.retry = calloc(T.o.nodes, sizeof(*T.retry))) == NULL)
		return (1);
	for (i = 0; i < T.o.nodes; i++) {
		struct sim *s = &T.sims[i];

		s->idx = i;
		RAND_bytes(s->id, NODE_ID_LEN);
		for (int k = 0; k < NODE_ID_LEN; k++)
			(void)snprintf(s->idhex + 2 * k, 3, "%02x", s->id[k]);
	}
	{
		uint64_t held = (uint64_t)T.o.nodes * T.nshared;

		T.shared_held = held < T.o.shared_pool ? (uint32_t)held :
		    T.o.shared_pool;
	}
	T.tick = event_new(T.base, -1, EV_PERSIST, on_tick, NULL);
	T.ramp = event_new(T.base, -1, EV_PERSIST, on_ramp, NULL);
	evtimer_add(T.tick, &t1s);
	evtimer_add(T.ramp, &t5ms);
	fprintf(stderr, "trackload: %u nodes x %u files (%u shared of a pool "
	    "of %u) against %s, %u connections/s\n", T.o.nodes, T.o.files,
	    T.nshared, T.o.shared_pool, T.o.tracker, T.o.rate);

	/* 1. announce */
	T.phase = PH_ANNOUNCE;
	ps[0] = proc_snap(T.o.pid);
	cpu[0] = cpu_self();
	t_ph[0] = now_ns();
	on_ramp(-1, 0, NULL);
	run_until(announce_done, T.o.timeout);
	t_ph[1] = now_ns();
	ps[1] = proc_snap(T.o.pid);
	cpu[1] = cpu_self();
	if (!announce_done()) {
		error_add("announce: %u of %u nodes announced after %.0f s "
		    "(%u welcomed, %u files sent, %u dead)", T.ready,
		    T.o.nodes, T.o.timeout, T.welcomed, T.sent, T.dead);
		T.t_all_ready = t_ph[1];
	}
	ann_s = secs((T.t_all_ready ? T.t_all_ready : t_ph[1]) - T.t0);
	if (T.t0 == 0 || ann_s <= 0)
		ann_s = 1e-9;
	fprintf(stderr, "trackload: announce: %u nodes, %" PRIu64 " files "
	    "in %.2f s (%.0f nodes/s, %.0f files/s)\n", T.ready,
	    (uint64_t)T.ready * T.o.files, ann_s, T.ready / ann_s,
	    (double)T.ready * T.o.files / ann_s);
	if (T.o.http != NULL) {
		jhttp = http_nodes(T.o.http);
		if (jhttp != NULL) {
			json_int_t hn = json_integer_value(json_object_get(
			    jhttp, "nodes")), hf = json_integer_value(
			    json_object_get(jhttp, "files"));

			if (hn != (json_int_t)T.ready || hf !=
			    (json_int_t)T.ready * T.o.files)
				error_add("GET /v1/nodes: %lld nodes, %lld "
				    "files; %u nodes, %llu files announced",
				    (long long)hn, (long long)hf, T.ready,
				    (unsigned long long)T.ready * T.o.files);
		}
	}

	/* 2. heartbeats */
	T.phase = PH_BEATS;
	/* Keep-alive beats still out are let in first. */
	run_until(drained, 10);
	ps[1] = proc_snap(T.o.pid);
	cpu[1] = cpu_self();
	t_ph[1] = now_ns();
	T.beat_start = now_ns();
	T.beat_end = T.beat_start + (uint64_t)(T.o.seconds * 1e9);
	T.beat_open = true;
	fprintf(stderr, "trackload: heartbeats: start (%u nodes, %u in "
	    "flight each, %.0f s)\n", T.ready, T.o.inflight, T.o.seconds);
	for (i = 0; i < T.o.nodes; i++) {
		struct sim *s = &T.sims[i];

		if (s->state != S_READY)
			continue;
		for (uint32_t k = 0; k < T.o.inflight; k++)
			if (send_beat(s) == 0)
				T.beats_sent++;
	}
	if (T.ready > 0)
		run_until(beats_done, T.o.seconds + 1);
	else
		T.beat_end = T.beat_start;
	T.beat_open = false;
	t_ph[2] = now_ns();
	ps[2] = proc_snap(T.o.pid);
	cpu[2] = cpu_self();
	beat_s = secs(T.beat_end - T.beat_start);
	if (beat_s <= 0)
		beat_s = 1e-9;
	run_until(drained, 10);
	if (!drained()) {
		uint64_t out_n = 0;

		for (i = 0; i < T.o.nodes; i++)
			if (T.sims[i].state == S_READY)
				out_n += T.sims[i].beats_out;
		error_add("heartbeats: %" PRIu64 " T_BEATs still unanswered "
		    "10 s after the phase", out_n);
	}
	fprintf(stderr, "trackload: heartbeats: %" PRIu64 " answered in "
	    "%.1f s (%.0f/s)\n", T.beats_acked, beat_s,
	    T.beats_acked / beat_s);

	/* 3. lookups */
	T.phase = PH_LOOKUPS;
	t_ph[2] = now_ns();
	ps[2] = proc_snap(T.o.pid);
	cpu[2] = cpu_self();
	jpages = json_array();
	for (i = 0; i < T.o.nodes && T.sims[i].state != S_READY; i++)
		;
	T.qs = i < T.o.nodes ? &T.sims[i] : NULL;
	rng = T.o.seed * 7919 + 17;
	for (i = 0; T.qs != NULL && i < T.o.lookups; i++) {
		char path[PATH_LEN_MAX + 1];
		uint32_t node;

		pick_lookup(&rng, path, sizeof(path), &node);
		if (!query(Q_LOOKUP, TWIRE_Q_FILE, path, "", 0))
			break;
		series_add(&T.lat_lookup, secs(T.q_rtt) * 1e3);
		if (!status_ok(T.q_status) || (node != UINT32_MAX &&
		    (T.q_json == NULL || strstr(T.q_json,
		    T.sims[node].idhex) == NULL))) {
			if (lookups_bad++ < 5)
				error_add("lookup %s: status %u, %s", path,
				    T.q_status, T.q_json && status_ok(
				    T.q_status) ? "its holder is not listed" :
				    (T.q_json ? T.q_json : ""));
			else
				T.nerrors++;
		} else
			lookups_ok++;
	}
	if (T.qs != NULL)
		fprintf(stderr, "trackload: lookups: %u ok, %u bad\n",
		    lookups_ok, lookups_bad);
	{
		char after[PATH_LEN_MAX + 1] = "";
		/* Pages of everything, then one under each folder. */
		const char *prefixes[3] = { "", "shared", "sim" };

		for (int pf = 0; pf < 3 && T.qs != NULL; pf++) {
			after[0] = '\0';
			for (i = 0; i < (pf ? 1 : T.o.pages); i++) {
				json_t *doc, *files, *next;
				json_error_t je;
				size_t nf = 0;

				if (!query(Q_PAGE, TWIRE_Q_FILES,
				    prefixes[pf], after, T.o.page_limit))
					break;
				doc = T.q_json ? json_loads(T.q_json, 0, &je) :
				    NULL;
				files = doc ? json_object_get(doc, "files") :
				    NULL;
				next = doc ? json_object_get(doc, "next") :
				    NULL;
				nf = json_is_array(files) ?
				    json_array_size(files) : 0;
				json_array_append_new(jpages, json_pack(
				    "{s:s, s:s, s:f, s:I, s:I, s:i}",
				    "prefix", prefixes[pf], "after", after,
				    "ms", secs(T.q_rtt) * 1e3,
				    "bytes", (json_int_t)T.q_len,
				    "files", (json_int_t)nf,
				    "status", (int)T.q_status));
				if (!status_ok(T.q_status) || doc == NULL ||
				    !json_is_array(files)) {
					error_add("files page under \"%s\" "
					    "after \"%s\": status %u, %s",
					    prefixes[pf], after, T.q_status,
					    doc ? "no files array" :
					    "not JSON");
					json_decref(doc);
					break;
				}
				if (nf == 0 && i == 0 && (pf == 0 ||
				    (pf == 1 && T.nshared > 0) ||
				    (pf == 2 && T.nlocal > 0)))
					error_add("files page under \"%s\": "
					    "empty", prefixes[pf]);
				if (!json_is_string(next)) {
					json_decref(doc);
					break;
				}
				(void)snprintf(after, sizeof(after), "%s",
				    json_string_value(next));
				json_decref(doc);
			}
		}
		if (T.qs != NULL && query(Q_NODES, TWIRE_Q_NODES, "", "", 0)) {
			json_t *doc, *nodes;
			json_error_t je;

			doc = T.q_json ? json_loads(T.q_json, 0, &je) : NULL;
			nodes = doc ? json_object_get(doc, "nodes") : NULL;
			jnodesq = json_pack("{s:f, s:I, s:i, s:I}", "ms",
			    secs(T.q_rtt) * 1e3, "bytes", (json_int_t)T.q_len,
			    "status", (int)T.q_status, "nodes",
			    (json_int_t)(json_is_array(nodes) ?
			    json_array_size(nodes) : 0));
			if (!status_ok(T.q_status) || !json_is_array(nodes))
				error_add("nodes query: status %u, %zu bytes: "
				    "%.200s", T.q_status, T.q_len,
				    T.q_json ? T.q_json : "");
			json_decref(doc);
		}
	}
	t_ph[3] = now_ns();
	ps[3] = proc_snap(T.o.pid);
	cpu[3] = cpu_self();
	if (T.qs == NULL)
		error_add("lookups: no announced node to ask from");

	/* The end: links closed (no BYE: the nodes just go away). */
	T.closing = true;
	for (i = 0; i < T.o.nodes; i++)
		if (T.sims[i].l != NULL) {
			struct link *l = T.sims[i].l;

			T.sims[i].l = NULL;
			link_close(l, "done");
		}
	event_base_loop(T.base, EVLOOP_NONBLOCK);

	jann = json_pack("{s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, "
	    "s:o, s:o, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, "
	    "s:i, s:i, s:s}",
	    "seconds", ann_s,
	    "nodes_per_s", T.ready / ann_s,
	    "files_per_s", (double)T.ready * T.o.files / ann_s,
	    "ramp_s", T.t_ramp_done ? secs(T.t_ramp_done - T.t0) : 0.0,
	    "files_sent_s", T.t_all_sent ? secs(T.t_all_sent - T.t0) : 0.0,
	    "nodes", (json_int_t)T.ready,
	    "files", (json_int_t)T.ready * T.o.files,
	    "welcomed", (json_int_t)T.welcomed,
	    "dead", (json_int_t)T.dead,
	    "welcome_ms", series_json(&T.lat_welcome),
	    "visible_ms", series_json(&T.lat_confirm),
	    "check_queries", (json_int_t)T.check_queries,
	    "check_retries", (json_int_t)T.check_retries,
	    "check_answers", "found", (json_int_t)T.check_status[0],
	    "not_found", (json_int_t)T.check_status[1],
	    "found_without_us", (json_int_t)T.check_status[2],
	    "other", (json_int_t)T.check_status[3],
	    "t_nodes_frames", (json_int_t)T.nodes_frames,
	    "t_nodes_entries", (json_int_t)T.nodes_entries,
	    "t_locks_frames", (json_int_t)T.locks_frames,
	    "heartbeat_ms", (int)T.hb_ms, "expire_ms", (int)T.expire_ms,
	    "meaning", "from the first connect until every node's T_QUERY "
	    "file for the last path it sent listed it as a holder");
	jbeat = json_pack("{s:f, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:i, "
	    "s:o}",
	    "seconds", beat_s,
	    "sent", (json_int_t)T.beats_sent,
	    "acked", (json_int_t)T.beats_acked,
	    "per_s", T.beats_acked / beat_s,
	    "late", (json_int_t)T.beats_late,
	    "stray_acks", (json_int_t)T.stray_acks,
	    "keepalive_sent", (json_int_t)T.keepalive_sent,
	    "keepalive_acked", (json_int_t)T.keepalive_acked,
	    "inflight_per_link", (int)T.o.inflight,
	    "rtt_ms", series_json(&T.lat_beat));
	if (ps[1].ok && ps[2].ok && ps[2].cpu_s > ps[1].cpu_s) {
		double tc = ps[2].cpu_s - ps[1].cpu_s;

		json_object_set_new(jbeat, "tracker_cpu_s", json_real(tc));
		json_object_set_new(jbeat, "per_tracker_cpu_s",
		    json_real(T.beats_acked / tc));
	}
	json_object_set_new(jbeat, "client_cpu_s", json_real(cpu[2] -
	    cpu[1]));
	jlook = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}",
	    "n", (json_int_t)T.lat_lookup.n, "ok", (json_int_t)lookups_ok,
	    "bad", (json_int_t)lookups_bad,
	    "ms", series_json(&T.lat_lookup), "pages", jpages,
	    "nodes_query", jnodesq ? jnodesq : json_null());
	jproc = json_object();
	for (i = 0; i <= PH_N; i++) {
		static const char *when[] = { "start", "after_announce",
		    "after_heartbeats", "after_lookups" };

		json_object_set_new(jproc, when[i], procsnap_json(&ps[i]));
	}
	jerr = json_array();
	for (i = 0; i < T.nerrors && i < ERRORS_KEPT; i++)
		json_array_append_new(jerr, json_string(T.errors[i]));
	out = json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:o, s:o, s:o, s:o, "
	    "s:o, s:{s:o, s:o, s:o}, s:{s:f, s:f, s:f}, s:{s:I, s:I, s:I}, "
	    "s:I, s:I, s:o, s:b}",
	    "tracker", T.o.tracker,
	    "nodes", (json_int_t)T.o.nodes,
	    "files_per_node", (json_int_t)T.o.files,
	    "shared_per_node", (json_int_t)T.nshared,
	    "shared_pool", (json_int_t)T.shared_held,
	    "conns_per_sec", (int)T.o.rate,
	    "announce", jann, "heartbeats", jbeat, "lookups", jlook,
	    "http_nodes", jhttp ? jhttp : json_null(),
	    "tracker_proc", jproc,
	    "rx", "announce", rx_json(PH_ANNOUNCE), "heartbeats",
	    rx_json(PH_BEATS), "lookups", rx_json(PH_LOOKUPS),
	    "client_cpu_s", "announce", cpu[1] - cpu[0], "heartbeats",
	    cpu[2] - cpu[1], "lookups", cpu[3] - cpu[2],
	    "links_down", "announce", (json_int_t)T.down[PH_ANNOUNCE],
	    "heartbeats", (json_int_t)T.down[PH_BEATS], "lookups",
	    (json_int_t)T.down[PH_LOOKUPS],
	    "refused", (json_int_t)T.refused,
	    "error_count", (json_int_t)T.nerrors,
	    "errors", jerr, "ok", T.nerrors == 0);
	if (out == NULL) {
		fprintf(stderr, "trackload: building the summary failed\n");
		return (1);
	}
	if (T.o.json) {
		line = json_dumps(out, JSON_COMPACT);
		printf("%s\n", line);
		free(line);
	} else {
		json_t *l = json_object_get(jlook, "ms");

		printf("announce    %u nodes, %" PRIu64 " files in %.2f s: "
		    "%.0f nodes/s, %.0f files/s\n", T.ready,
		    (uint64_t)T.ready * T.o.files, ann_s, T.ready / ann_s,
		    (double)T.ready * T.o.files / ann_s);
		printf("            (\"announced\": from the first connect "
		    "until a T_QUERY on each node's link saw its last file)\n");
		printf("            every node welcomed and its files sent "
		    "after %.2f s (the ramp-up alone: %.2f s)\n",
		    T.t_all_sent ? secs(T.t_all_sent - T.t0) : 0.0,
		    T.t_ramp_done ? secs(T.t_ramp_done - T.t0) : 0.0);
		printf("heartbeats  %" PRIu64 " answered in %.1f s: %.0f/s",
		    T.beats_acked, beat_s, T.beats_acked / beat_s);
		if (json_object_get(jbeat, "per_tracker_cpu_s"))
			printf(", %.0f per tracker CPU-second",
			    json_real_value(json_object_get(jbeat,
			    "per_tracker_cpu_s")));
		printf("\n");
		if (json_is_object(l))
			printf("lookups     %u: p50 %.3f ms, p99 %.3f ms, max "
			    "%.3f ms\n", lookups_ok,
			    json_real_value(json_object_get(l, "p50")),
			    json_real_value(json_object_get(l, "p99")),
			    json_real_value(json_object_get(l, "max")));
		for (i = 0; i < json_array_size(jpages); i++) {
			json_t *pg = json_array_get(jpages, i);

			printf("files page  under \"%s\": %lld paths, %lld "
			    "bytes, %.2f ms\n", json_string_value(
			    json_object_get(pg, "prefix")),
			    (long long)json_integer_value(json_object_get(pg,
			    "files")), (long long)json_integer_value(
			    json_object_get(pg, "bytes")), json_real_value(
			    json_object_get(pg, "ms")));
		}
		if (jnodesq)
			printf("nodes query %lld nodes, %lld bytes, %.2f ms\n",
			    (long long)json_integer_value(json_object_get(
			    jnodesq, "nodes")), (long long)json_integer_value(
			    json_object_get(jnodesq, "bytes")),
			    json_real_value(json_object_get(jnodesq, "ms")));
		if (ps[3].ok)
			printf("tracker     VmHWM %ld MiB, VmRSS %ld MiB\n",
			    ps[3].hwm_kib / 1024, ps[3].rss_kib / 1024);
		printf("errors      %" PRIu64 "\n", T.nerrors);
	}
	json_decref(out);
	return (T.nerrors ? 1 : 0);
}
