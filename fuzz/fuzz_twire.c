/*
 * fuzz_twire: feeds arbitrary bytes to every decoder of the node <->
 * tracker payloads (twire.h), the parts that read what a node or the
 * tracker sends before anything trusts it.
 *
 * Input layout: the first byte is a selector, the rest a payload.  The
 * payload goes to every decoder: T_HELLO, T_WELCOME, T_REFUSE, T_BEAT,
 * T_LOCK_REQ, T_LOCK_ANS, T_QUERY, T_ANSWER, and the lists T_FILES,
 * T_NODES and T_LOCKS read with twire_list_read, their _next loop and
 * wire_rd_done.  The selector (mod 11, in that order) picks the decoder a
 * seed was made for; that one also gets the strictness checks below.  An
 * empty input is an empty payload for decoder 0.
 *
 * Every decoder must return 0 or -EPROTO.  What one accepts must hold
 * what twire.h promises (paths in normal form and public, owners and
 * versions short printable text, op, kind and flags in range, a count
 * within its cap) and must be canonical: encoded again with its encoder
 * it gives back exactly the payload, and that frame's header is legal for
 * the type; decoded again it gives the same values (round trip).
 *
 * Those promises are checked against oracles written here without
 * path_resolve, and the payload as text is also given straight to
 * twire_path_ok, twire_owner_ok and twire_version_ok, which must agree
 * with the oracles (for paths, except names with ".." inside, which
 * twire_path_ok refuses as well: see test_path_ok_dots_in_names).
 *
 * The selected decoder, if it accepted the payload, must refuse it cut
 * short (every length for short payloads, a sample for long ones) and with
 * a byte left over.  Cut copies live on the heap in buffers of exactly
 * their size, and libFuzzer's input is one too, so ASan sees any read past
 * the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "cluster/twire.h"
#include "cluster/wire.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                        \
	do {                                                            \
		if (!(e)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #e);                    \
			abort();                                        \
		}                                                       \
	} while (0)

enum dec {
	D_HELLO,
	D_WELCOME,
	D_REFUSE,
	D_BEAT,
	D_LOCK_REQ,
	D_LOCK_ANS,
	D_QUERY,
	D_ANSWER,
	D_FILES,
	D_NODES,
	D_LOCKS,
	D_COUNT
};

#define FRAME_MAX	(WIRE_HDR_LEN + WIRE_FRAME_MAX)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct buf	 out;		/* re-encoded frames */
static bool		 ready;

/* A NUL-terminated string of at most max bytes in a field of max + 1. */
static void
check_str(const char *s, size_t max)
{
	CHECK(memchr(s, '\0', max + 1) != NULL);
}

static bool
ascii_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return (false);
	return (true);
}

/*
 * The promises of twire.h, written out again without path_resolve: a
 * path in normal form has no leading, trailing or doubled '/', no "." or
 * ".." name, no name over PATH_NAME_MAX, no control byte, is not over
 * PATH_LEN_MAX and is not in the private folder (the root "" is allowed
 * only where the caller says).
 */
static bool
oracle_path(const char *s, bool allow_root)
{
	size_t len = strlen(s), i, start, n;
	const size_t priv = strlen(PATH_PRIVATE);

	if (len == 0)
		return (allow_root);
	if (len > PATH_LEN_MAX || s[0] == '/' || s[len - 1] == '/')
		return (false);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (false);
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && s[i] != '/'; i++)
			;
		n = i - start;
		if (n == 0 || n > PATH_NAME_MAX)
			return (false);
		if ((n == 1 && s[start] == '.') ||
		    (n == 2 && s[start] == '.' && s[start + 1] == '.'))
			return (false);
	}
	return (!(strncmp(s, PATH_PRIVATE, priv) == 0 &&
	    (s[priv] == '\0' || s[priv] == '/')));
}

/* UTF-8 as RFC 3629's ABNF spells it (section 4), byte ranges only. */
static bool
oracle_utf8(const unsigned char *s)
{
	size_t tail;

	while (*s) {
		unsigned char c = *s, lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			tail = 1;
		else if (c >= 0xe0 && c <= 0xef)
			tail = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			tail = 3;
		else
			return (false);
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (s[1] < lo || s[1] > hi)
			return (false);
		for (size_t i = 2; i <= tail; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return (false);
		s += tail + 1;
	}
	return (true);
}

static bool
oracle_owner(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > TWIRE_OWNER_MAX ||
	    !oracle_utf8((const unsigned char *)s))
		return (false);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return (false);
	return (true);
}

static bool
oracle_version(const char *s)
{
	size_t n = strlen(s), i;

	if (n > TWIRE_VERSION_MAX)
		return (false);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || s[i] == ':' ||
		    s[i] == ',' || s[i] == '+'))
			return (false);
	return (true);
}

/*
 * The checks on arbitrary text: what they accept, the oracle accepts.
 * The other way round too, but for names with ".." inside ("a..b"):
 * twire_path_ok refuses any "..", a known over-strictness reported
 * separately (tests/unit/test_twire.c, test_path_ok_dots_in_names).
 */
static void
check_checks(const uint8_t *p, size_t len)
{
	char *s;
	size_t n;

	n = len > PATH_LEN_MAX + 1 ? PATH_LEN_MAX + 1 : len;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	CHECK(!twire_path_ok(s, false) || oracle_path(s, false));
	CHECK(!twire_path_ok(s, true) || oracle_path(s, true));
	if (strstr(s, "..") == NULL) {
		CHECK(twire_path_ok(s, false) == oracle_path(s, false));
		CHECK(twire_path_ok(s, true) == oracle_path(s, true));
	}
	CHECK(twire_owner_ok(s) == oracle_owner(s));
	CHECK(twire_version_ok(s) == oracle_version(s));
	free(s);
}

/* The frame in out is a legal one of type t and its payload is p[len]. */
static void
check_same(enum wire_type t, const uint8_t *p, size_t len)
{
	struct wire_hdr h;

	CHECK(out.len == WIRE_HDR_LEN + len);
	CHECK(wire_frame_check((const uint8_t *)out.data, &h) == 0);
	CHECK(h.type == t && h.len == len);
	if (len > 0)
		CHECK(memcmp(out.data + WIRE_HDR_LEN, p, len) == 0);
}

static const uint8_t *
out_payload(void)
{
	return ((const uint8_t *)out.data + WIRE_HDR_LEN);
}

static size_t
out_len(void)
{
	return (out.len - WIRE_HDR_LEN);
}

static void
check_lock(const struct twire_lock *l)
{
	char busy[128];
	json_t *j;

	check_str(l->path, PATH_LEN_MAX);
	check_str(l->owner, TWIRE_OWNER_MAX);
	CHECK(twire_path_ok(l->path, !l->held));
	CHECK(oracle_path(l->path, !l->held));
	if (!l->held) {
		CHECK(l->owner[0] == '\0' && l->token == 0 &&
		    l->expires_wall_ms == 0 && l->remaining_ms == 0);
		return;
	}
	CHECK(twire_owner_ok(l->owner) && oracle_owner(l->owner));
	/* For people: within bounds whatever the values. */
	twire_lock_busy(l, busy, sizeof(busy));
	CHECK(strstr(busy, "locked by") != NULL || strlen(busy) ==
	    sizeof(busy) - 1);
	j = twire_lock_json(l);
	/* json_pack takes UTF-8 only; ASCII must always come out. */
	if (ascii_text(l->path) && ascii_text(l->owner))
		CHECK(j != NULL);
	json_decref(j);
}

static bool
lock_eq(const struct twire_lock *a, const struct twire_lock *b)
{
	return (a->held == b->held && strcmp(a->path, b->path) == 0 &&
	    memcmp(a->node, b->node, NODE_ID_LEN) == 0 &&
	    strcmp(a->owner, b->owner) == 0 && a->token == b->token &&
	    a->expires_wall_ms == b->expires_wall_ms &&
	    a->remaining_ms == b->remaining_ms);
}

static void
check_file(const struct twire_file *f)
{
	check_str(f->path, PATH_LEN_MAX);
	check_str(f->version, TWIRE_VERSION_MAX);
	CHECK(twire_path_ok(f->path, false) && oracle_path(f->path, false));
	CHECK(twire_version_ok(f->version) && oracle_version(f->version));
	CHECK(f->size <= INT64_MAX);
	if (!f->live) {
		static const uint8_t zero[HASH_LEN];

		CHECK(f->size == 0 && f->version[0] == '\0');
		CHECK(memcmp(f->sha256, zero, HASH_LEN) == 0);
	}
}

static bool
file_eq(const struct twire_file *a, const struct twire_file *b)
{
	return (a->live == b->live && strcmp(a->path, b->path) == 0 &&
	    a->size == b->size && memcmp(a->sha256, b->sha256,
	    HASH_LEN) == 0 && strcmp(a->version, b->version) == 0);
}

static bool
node_eq(const struct twire_node *a, const struct twire_node *b)
{
	return (memcmp(a->id, b->id, NODE_ID_LEN) == 0 &&
	    strcmp(a->peer_addr, b->peer_addr) == 0 &&
	    strcmp(a->http_addr, b->http_addr) == 0);
}

/* Each decoder with its round trip; returns what the decoder returned. */

static int
rt_hello(const uint8_t *p, size_t len)
{
	struct twire_hello h, g;
	int rc;

	rc = twire_get_hello(p, len, &h);
	if (rc != 0)
		return (rc);
	check_str(h.peer_addr, ADDR_STR_MAX - 1);
	check_str(h.http_addr, ADDR_STR_MAX - 1);
	CHECK(twire_put_hello(&out, &h) == 0);
	check_same(WIRE_T_HELLO, p, len);
	CHECK(twire_get_hello(out_payload(), out_len(), &g) == 0);
	CHECK(memcmp(g.id, h.id, NODE_ID_LEN) == 0);
	CHECK(strcmp(g.peer_addr, h.peer_addr) == 0);
	CHECK(strcmp(g.http_addr, h.http_addr) == 0);
	return (0);
}

static int
rt_welcome(const uint8_t *p, size_t len)
{
	uint32_t hb, exp, hb2, exp2;
	int rc;

	rc = twire_get_welcome(p, len, &hb, &exp);
	if (rc != 0)
		return (rc);
	CHECK(hb != 0 && exp != 0);
	CHECK(twire_put_welcome(&out, hb, exp) == 0);
	check_same(WIRE_T_WELCOME, p, len);
	CHECK(twire_get_welcome(out_payload(), out_len(), &hb2, &exp2) == 0);
	CHECK(hb2 == hb && exp2 == exp);
	return (0);
}

static int
rt_refuse(const uint8_t *p, size_t len)
{
	char r[TWIRE_MSG_MAX + 1], g[TWIRE_MSG_MAX + 1], small[9];
	int rc;

	rc = twire_get_refuse(p, len, r, sizeof(r));
	if (rc != 0)
		return (rc);
	check_str(r, TWIRE_MSG_MAX);
	CHECK(twire_put_refuse(&out, r) == 0);
	check_same(WIRE_T_REFUSE, p, len);
	CHECK(twire_get_refuse(out_payload(), out_len(), g, sizeof(g)) == 0);
	CHECK(strcmp(g, r) == 0);
	/* Into a small buffer: the same text, cut. */
	CHECK(twire_get_refuse(p, len, small, sizeof(small)) == 0);
	CHECK(strncmp(small, r, sizeof(small) - 1) == 0);
	CHECK(strlen(small) < sizeof(small));
	return (0);
}

static int
rt_beat(const uint8_t *p, size_t len)
{
	uint64_t t, g;
	int rc;

	rc = twire_get_beat(p, len, &t);
	if (rc != 0)
		return (rc);
	CHECK(twire_put_beat(&out, WIRE_T_BEAT, t) == 0);
	check_same(WIRE_T_BEAT, p, len);
	CHECK(twire_get_beat(out_payload(), out_len(), &g) == 0 && g == t);
	CHECK(twire_put_beat(&out, WIRE_T_BEAT_ACK, t) == 0);
	check_same(WIRE_T_BEAT_ACK, p, len);
	return (0);
}

static int
rt_lock_req(const uint8_t *p, size_t len)
{
	struct twire_lock_req q, g;
	int rc;

	rc = twire_get_lock_req(p, len, &q);
	if (rc != 0)
		return (rc);
	CHECK(q.op == TWIRE_LOCK || q.op == TWIRE_UNLOCK);
	check_str(q.path, PATH_LEN_MAX);
	check_str(q.owner, TWIRE_OWNER_MAX);
	CHECK(twire_path_ok(q.path, false) && oracle_path(q.path, false));
	CHECK(twire_owner_ok(q.owner) && oracle_owner(q.owner));
	CHECK(twire_put_lock_req(&out, &q) == 0);
	check_same(WIRE_T_LOCK_REQ, p, len);
	CHECK(twire_get_lock_req(out_payload(), out_len(), &g) == 0);
	CHECK(g.req == q.req && g.op == q.op && g.ttl_s == q.ttl_s);
	CHECK(strcmp(g.path, q.path) == 0 && strcmp(g.owner, q.owner) == 0);
	return (0);
}

static int
rt_lock_ans(const uint8_t *p, size_t len)
{
	struct twire_lock_ans a, g;
	int rc;

	rc = twire_get_lock_ans(p, len, &a);
	if (rc != 0)
		return (rc);
	check_str(a.msg, TWIRE_MSG_MAX);
	check_lock(&a.lock);
	CHECK(twire_put_lock_ans(&out, &a) == 0);
	check_same(WIRE_T_LOCK_ANS, p, len);
	CHECK(twire_get_lock_ans(out_payload(), out_len(), &g) == 0);
	CHECK(g.req == a.req && g.status == a.status);
	CHECK(strcmp(g.msg, a.msg) == 0 && lock_eq(&g.lock, &a.lock));
	return (0);
}

static int
rt_query(const uint8_t *p, size_t len)
{
	struct twire_query q, g;
	int rc;

	rc = twire_get_query(p, len, &q);
	if (rc != 0)
		return (rc);
	CHECK(q.kind >= TWIRE_Q_NODES && q.kind <= TWIRE_Q_LOCKS);
	check_str(q.path, PATH_LEN_MAX);
	check_str(q.after, PATH_LEN_MAX);
	CHECK(twire_path_ok(q.path, q.kind != TWIRE_Q_FILE));
	CHECK(oracle_path(q.path, q.kind != TWIRE_Q_FILE));
	CHECK(twire_path_ok(q.after, true) && oracle_path(q.after, true));
	CHECK(twire_put_query(&out, &q) == 0);
	check_same(WIRE_T_QUERY, p, len);
	CHECK(twire_get_query(out_payload(), out_len(), &g) == 0);
	CHECK(g.req == q.req && g.kind == q.kind && g.limit == q.limit);
	CHECK(strcmp(g.path, q.path) == 0 && strcmp(g.after, q.after) == 0);
	return (0);
}

static int
rt_answer(const uint8_t *p, size_t len)
{
	const char *json, *json2;
	uint32_t req, req2;
	uint16_t st, st2;
	size_t jl, jl2;
	int rc;

	rc = twire_get_answer(p, len, &req, &st, &json, &jl);
	if (rc != 0)
		return (rc);
	CHECK(jl <= TWIRE_JSON_MAX);
	/* Borrowed from the payload, and within it. */
	CHECK(json == (const char *)p + 10 && 10 + jl == len);
	CHECK(twire_put_answer(&out, req, st, json, jl) == 0);
	check_same(WIRE_T_ANSWER, p, len);
	CHECK(twire_get_answer(out_payload(), out_len(), &req2, &st2, &json2,
	    &jl2) == 0);
	CHECK(req2 == req && st2 == st && jl2 == jl);
	if (jl > 0)
		CHECK(memcmp(json2, json, jl) == 0);
	return (0);
}

/*
 * A list: decoded entry by entry and added to a new list as it goes; if
 * the whole payload is accepted, the new frame must be the payload, and
 * decoding it again must give the same entries.
 */
static int
rt_list(enum wire_type t, const uint8_t *p, size_t len)
{
	struct twire_file f, f2;
	struct twire_node n, n2;
	struct twire_lock l, l2;
	struct twire_list li;
	struct wire_rd r, r2;
	uint8_t flags, flags2;
	uint32_t count, count2, i, max;
	int rc;

	max = t == WIRE_T_FILES ? TWIRE_FILES_MAX : t == WIRE_T_NODES ?
	    TWIRE_NODES_MAX : TWIRE_LOCKS_MAX;
	rc = twire_list_read(&r, p, len, t, &flags, &count);
	CHECK(rc == 0 || rc == -EPROTO);
	CHECK((rc == 0) == !r.bad);
	if (rc != 0)
		return (rc);
	CHECK(count <= max);
	CHECK((flags & ~TWIRE_FLAG_RESET) == 0);
	if (t == WIRE_T_NODES)
		CHECK(flags == 0);
	CHECK(twire_list_begin(&li, &out, t, flags) == 0);
	for (i = 0; i < count; i++) {
		if (t == WIRE_T_FILES) {
			rc = twire_next_file(&r, &f);
			if (rc == 0) {
				check_file(&f);
				CHECK(twire_add_file(&li, &f) == 0);
			}
		} else if (t == WIRE_T_NODES) {
			rc = twire_next_node(&r, &n);
			if (rc == 0) {
				check_str(n.peer_addr, ADDR_STR_MAX - 1);
				check_str(n.http_addr, ADDR_STR_MAX - 1);
				CHECK(twire_add_node(&li, &n) == 0);
			}
		} else {
			rc = twire_next_lock(&r, &l);
			if (rc == 0) {
				check_lock(&l);
				CHECK(twire_add_lock(&li, &l) == 0);
			}
		}
		CHECK(rc == 0 || rc == -EPROTO);
		CHECK((rc == 0) == !r.bad);
		if (rc != 0)
			return (rc);
	}
	if ((rc = wire_rd_done(&r)) != 0)
		return (rc);
	CHECK(twire_list_end(&li) == 0);
	CHECK(li.n == count);
	check_same(t, p, len);

	/* Again, side by side with the original. */
	CHECK(twire_list_read(&r, p, len, t, &flags, &count) == 0);
	CHECK(twire_list_read(&r2, out_payload(), out_len(), t, &flags2,
	    &count2) == 0);
	CHECK(flags2 == flags && count2 == count);
	for (i = 0; i < count; i++) {
		if (t == WIRE_T_FILES) {
			CHECK(twire_next_file(&r, &f) == 0);
			CHECK(twire_next_file(&r2, &f2) == 0);
			CHECK(file_eq(&f, &f2));
		} else if (t == WIRE_T_NODES) {
			CHECK(twire_next_node(&r, &n) == 0);
			CHECK(twire_next_node(&r2, &n2) == 0);
			CHECK(node_eq(&n, &n2));
		} else {
			CHECK(twire_next_lock(&r, &l) == 0);
			CHECK(twire_next_lock(&r2, &l2) == 0);
			CHECK(lock_eq(&l, &l2));
		}
	}
	CHECK(wire_rd_done(&r) == 0 && wire_rd_done(&r2) == 0);
	return (0);
}

static int
run(enum dec d, const uint8_t *p, size_t len)
{
	int rc = -EINVAL;

	switch (d) {
	case D_HELLO: rc = rt_hello(p, len); break;
	case D_WELCOME: rc = rt_welcome(p, len); break;
	case D_REFUSE: rc = rt_refuse(p, len); break;
	case D_BEAT: rc = rt_beat(p, len); break;
	case D_LOCK_REQ: rc = rt_lock_req(p, len); break;
	case D_LOCK_ANS: rc = rt_lock_ans(p, len); break;
	case D_QUERY: rc = rt_query(p, len); break;
	case D_ANSWER: rc = rt_answer(p, len); break;
	case D_FILES: rc = rt_list(WIRE_T_FILES, p, len); break;
	case D_NODES: rc = rt_list(WIRE_T_NODES, p, len); break;
	case D_LOCKS: rc = rt_list(WIRE_T_LOCKS, p, len); break;
	case D_COUNT: break;
	}
	CHECK(rc == 0 || rc == -EPROTO);
	return (rc);
}

/* d on a heap copy of exactly p[n]. */
static int
run_copy(enum dec d, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n);
	int rc;

	if (c == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(c, p, n);
	rc = run(d, c, n);
	free(c);
	return (rc);
}

/* Accepted whole: refused cut short and with a byte more. */
static void
check_strict(enum dec d, const uint8_t *p, size_t len)
{
	uint8_t *more;
	size_t n, step;

	step = len <= 512 ? 1 : len / 61;
	for (n = 0; n < len; n += step)
		CHECK(run_copy(d, p, n) == -EPROTO);
	if (len > 0)
		CHECK(run_copy(d, p, len - 1) == -EPROTO);
	if ((more = malloc(len + 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(more, p, len);
	more[len] = len > 0 ? p[0] : 0;
	CHECK(run(d, more, len + 1) == -EPROTO);
	free(more);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = size > 0 ? data + 1 : data;
	size_t len = size > 0 ? size - 1 : 0;
	enum dec sel = size > 0 ? (enum dec)(data[0] % D_COUNT) : D_HELLO;
	int d;

	if (!ready) {
		buf_init(&out, FRAME_MAX);
		ready = true;
	}
	check_checks(p, len);
	for (d = 0; d < D_COUNT; d++)
		if (run((enum dec)d, p, len) == 0 && (enum dec)d == sel)
			check_strict(sel, p, len);
	return (0);
}
