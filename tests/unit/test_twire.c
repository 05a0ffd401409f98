/*
 * Tests for twire: the payloads of the node <-> tracker frames.
 *
 * What the tracker and the nodes rely on: every encoder's frame decodes to
 * the values it was given (round trip), under its own type and within its
 * type's cap; a list stops with -EMSGSIZE at its entry cap or at the frame
 * cap and leaves the frame as it was; and every decoder refuses (-EPROTO)
 * a payload cut short at any length, one with bytes left over, counts over
 * the caps, paths that are not in normal form or are private, owners and
 * versions that are not short printable text, and out-of-range op, kind
 * and flag values.  Decoders are handed a heap copy of exactly the payload,
 * so AddressSanitizer reports any read past it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cluster/twire.h"
#include "cluster/wire.h"
#include "store/vv.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
/* Room for the largest frame of any type and some more. */
#define FRAME_BUF_MAX	(WIRE_HDR_LEN + WIRE_FRAME_MAX + 4096)

/* A heap copy of exactly n bytes (a distinct allocation even for 0). */
static uint8_t *
exact_copy(const void *s, size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, s, n);
	return (p);
}

/* A heap string of n copies of c (and its NUL). */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return (s);
}

/*
 * A normalised path of exactly len bytes (len >= 1), of names no longer
 * than PATH_NAME_MAX; first is its first byte, so paths can differ.
 */
static void
long_path(char *out, size_t len, char first)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (i % 201 == 200 && i + 1 < len) ? '/' : 'p';
	out[0] = first;
	out[len] = '\0';
}

static void
fill_id(uint8_t id[NODE_ID_LEN], uint8_t seed)
{
	int i;

	for (i = 0; i < NODE_ID_LEN; i++)
		id[i] = (uint8_t)(seed + 17 * i);
}

/* The frame in b: a legal header of type t for exactly its payload. */
static const uint8_t *
frame_payload(const struct buf *b, enum wire_type t, size_t *len)
{
	struct wire_hdr h;

	assert_true(b->len >= WIRE_HDR_LEN);
	assert_int_equal(wire_frame_check((const uint8_t *)b->data, &h), 0);
	assert_int_equal(h.type, t);
	assert_int_equal(h.len, b->len - WIRE_HDR_LEN);
	*len = b->len - WIRE_HDR_LEN;
	return ((const uint8_t *)b->data + WIRE_HDR_LEN);
}

/* Every decoder, run whole: 0 or -EPROTO. */
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
};

static int
read_list(enum wire_type t, const uint8_t *p, size_t len)
{
	static struct twire_file f;
	static struct twire_node n;
	static struct twire_lock l;
	struct wire_rd r;
	uint8_t flags;
	uint32_t count, i;
	int rc;

	if (twire_list_read(&r, p, len, t, &flags, &count) < 0)
		return (-EPROTO);
	for (i = 0; i < count; i++) {
		if (t == WIRE_T_FILES)
			rc = twire_next_file(&r, &f);
		else if (t == WIRE_T_NODES)
			rc = twire_next_node(&r, &n);
		else
			rc = twire_next_lock(&r, &l);
		if (rc < 0)
			return (rc);
	}
	return (wire_rd_done(&r));
}

static int
decode(enum dec d, const uint8_t *src, size_t len)
{
	static struct twire_hello h;
	static struct twire_lock_req q;
	static struct twire_lock_ans a;
	static struct twire_query y;
	static char text[TWIRE_MSG_MAX + 1];
	uint8_t *p = exact_copy(src, len);
	const char *json;
	uint32_t u1, u2;
	uint16_t st;
	uint64_t t;
	size_t jl;
	int rc = -EINVAL;

	switch (d) {
	case D_HELLO: rc = twire_get_hello(p, len, &h); break;
	case D_WELCOME: rc = twire_get_welcome(p, len, &u1, &u2); break;
	case D_REFUSE: rc = twire_get_refuse(p, len, text, sizeof(text));
		break;
	case D_BEAT: rc = twire_get_beat(p, len, &t); break;
	case D_LOCK_REQ: rc = twire_get_lock_req(p, len, &q); break;
	case D_LOCK_ANS: rc = twire_get_lock_ans(p, len, &a); break;
	case D_QUERY: rc = twire_get_query(p, len, &y); break;
	case D_ANSWER: rc = twire_get_answer(p, len, &u1, &st, &json, &jl);
		break;
	case D_FILES: rc = read_list(WIRE_T_FILES, p, len); break;
	case D_NODES: rc = read_list(WIRE_T_NODES, p, len); break;
	case D_LOCKS: rc = read_list(WIRE_T_LOCKS, p, len); break;
	}
	free(p);
	assert_true(rc == 0 || rc == -EPROTO);
	return (rc);
}

/*
 * The payload decodes whole, and is refused cut short at every length
 * and with any byte left over.
 */
static void
check_strict(enum dec d, const uint8_t *p, size_t len)
{
	static const uint8_t extra[] = { 0x00, 0x01, 0xff };
	uint8_t *more;
	size_t n, i;

	assert_int_equal(decode(d, p, len), 0);
	for (n = 0; n < len; n++)
		if (decode(d, p, n) != -EPROTO)
			fail_msg("decoder %d accepted %zu of %zu bytes", d, n,
			    len);
	more = malloc(len + 2);
	assert_non_null(more);
	memcpy(more, p, len);
	for (i = 0; i < ARRAY_LEN(extra); i++) {
		more[len] = extra[i];
		more[len + 1] = extra[i];
		assert_int_equal(decode(d, more, len + 1), -EPROTO);
		assert_int_equal(decode(d, more, len + 2), -EPROTO);
	}
	free(more);
}

/* Text with an explicit length, so it may hold a NUL. */
static void
put_raw_str(struct buf *b, const char *s, size_t n)
{
	assert_int_equal(wire_u16(b, (uint16_t)n), 0);
	assert_int_equal(wire_fixed(b, s, n), 0);
}

/* Paths that are not what a normalised, public path looks like. */
static const char *const bad_paths[] = {
	"..", "../a", "a/..", "a/../b", "./a", "a/.", ".", "a/./b",
	"/a", "/", "/a/b", "a//b", "a/", "a/b/", "//a",
	"a\x01", "\x1f" "b", "a\x7f" "b", "a\nb", "a\tb", "\x1b[0m",
	".shoal", ".shoal/x", ".shoal/a/b",
};

/* Good paths: normalised, outside the private folder. */
static const char *const good_paths[] = {
	"a", "a.txt", "dir/sub/file", ".shoalx", "x/.shoal", ".hidden",
	"a b", "caf\xc3\xa9", "-", "~x", "a/b/c/d/e/f/g/h",
};

static const char *const bad_owners_short[] = {
	"", "a b", " alice", "alice ", "a\tb", "a\nb", "\x7f", "a\x01",
	"bob\x1b",
};

static const char *const bad_versions_short[] = {
	"ABCD:1", "0A:1", "0a:1 ", "x", "0a:-1", "0a;1", "g", "0a:1\n",
	" ", "0x1f",
};

/* Round trips */

static void
test_hello_round_trip(void **state)
{
	struct twire_hello h, g;
	const uint8_t *p;
	struct buf b;
	size_t len;

	(void)state;
	memset(&h, 0, sizeof(h));
	fill_id(h.id, 0xa0);
	snprintf(h.peer_addr, sizeof(h.peer_addr), "192.0.2.1:7000");
	snprintf(h.http_addr, sizeof(h.http_addr), "[2001:db8::1]:8080");
	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(twire_put_hello(&b, &h), 0);
	p = frame_payload(&b, WIRE_T_HELLO, &len);
	memset(&g, 0x55, sizeof(g));
	assert_int_equal(twire_get_hello(p, len, &g), 0);
	assert_memory_equal(g.id, h.id, NODE_ID_LEN);
	assert_string_equal(g.peer_addr, h.peer_addr);
	assert_string_equal(g.http_addr, h.http_addr);
	check_strict(D_HELLO, p, len);

	/* The longest addresses, and empty ones. */
	memset(h.peer_addr, '1', ADDR_STR_MAX - 1);
	h.peer_addr[ADDR_STR_MAX - 1] = '\0';
	h.http_addr[0] = '\0';
	assert_int_equal(twire_put_hello(&b, &h), 0);
	p = frame_payload(&b, WIRE_T_HELLO, &len);
	assert_int_equal(twire_get_hello(p, len, &g), 0);
	assert_string_equal(g.peer_addr, h.peer_addr);
	assert_string_equal(g.http_addr, "");
	check_strict(D_HELLO, p, len);
	buf_release(&b);
}

static void
test_welcome_round_trip(void **state)
{
	static const uint32_t v[][2] = {
		{ 1000, 5000 }, { 1, 1 }, { UINT32_MAX, UINT32_MAX },
	};
	const uint8_t *p;
	struct buf b;
	uint32_t hb, exp;
	size_t len, i;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (i = 0; i < ARRAY_LEN(v); i++) {
		assert_int_equal(twire_put_welcome(&b, v[i][0], v[i][1]), 0);
		p = frame_payload(&b, WIRE_T_WELCOME, &len);
		assert_int_equal(len, 8);
		assert_int_equal(twire_get_welcome(p, len, &hb, &exp), 0);
		assert_true(hb == v[i][0] && exp == v[i][1]);
		check_strict(D_WELCOME, p, len);
	}
	buf_release(&b);
}

static void
test_refuse_round_trip(void **state)
{
	char out[TWIRE_MSG_MAX + 1], small[8];
	char *longr;
	const uint8_t *p;
	struct buf b;
	size_t len;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(twire_put_refuse(&b, "unknown node"), 0);
	p = frame_payload(&b, WIRE_T_REFUSE, &len);
	assert_int_equal(twire_get_refuse(p, len, out, sizeof(out)), 0);
	assert_string_equal(out, "unknown node");
	check_strict(D_REFUSE, p, len);

	/* Into a small buffer: cut, still terminated. */
	assert_int_equal(twire_get_refuse(p, len, small, sizeof(small)), 0);
	assert_string_equal(small, "unknown");

	assert_int_equal(twire_put_refuse(&b, ""), 0);
	p = frame_payload(&b, WIRE_T_REFUSE, &len);
	assert_int_equal(twire_get_refuse(p, len, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	/* A reason over the cap is cut to it by the encoder. */
	longr = repeat('r', TWIRE_MSG_MAX + 100);
	assert_int_equal(twire_put_refuse(&b, longr), 0);
	p = frame_payload(&b, WIRE_T_REFUSE, &len);
	assert_int_equal(len, 2 + TWIRE_MSG_MAX);
	assert_int_equal(twire_get_refuse(p, len, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), TWIRE_MSG_MAX);
	assert_memory_equal(out, longr, TWIRE_MSG_MAX);
	check_strict(D_REFUSE, p, len);
	free(longr);
	buf_release(&b);
}

static void
test_beat_round_trip(void **state)
{
	static const uint64_t v[] = { 0, 1, 0x0102030405060708ull,
	    UINT64_MAX };
	const uint8_t *p;
	struct buf b;
	uint64_t t;
	size_t len, i;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (i = 0; i < ARRAY_LEN(v); i++) {
		assert_int_equal(twire_put_beat(&b, WIRE_T_BEAT, v[i]), 0);
		p = frame_payload(&b, WIRE_T_BEAT, &len);
		assert_int_equal(twire_get_beat(p, len, &t), 0);
		assert_true(t == v[i]);
		check_strict(D_BEAT, p, len);
		assert_int_equal(twire_put_beat(&b, WIRE_T_BEAT_ACK, v[i]), 0);
		p = frame_payload(&b, WIRE_T_BEAT_ACK, &len);
		assert_int_equal(twire_get_beat(p, len, &t), 0);
		assert_true(t == v[i]);
	}
	assert_int_equal(twire_put_beat(&b, WIRE_T_HELLO, 1), -EINVAL);
	assert_int_equal(twire_put_beat(&b, WIRE_T_WELCOME, 1), -EINVAL);
	buf_release(&b);
}

static void
test_lock_req_round_trip(void **state)
{
	static const uint8_t ops[] = { TWIRE_LOCK, TWIRE_UNLOCK };
	struct twire_lock_req q, g;
	const uint8_t *p;
	struct buf b;
	size_t len, i;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (i = 0; i < ARRAY_LEN(ops); i++) {
		memset(&q, 0, sizeof(q));
		q.req = 0xdeadbeef;
		q.op = ops[i];
		snprintf(q.path, sizeof(q.path), "docs/report.odt");
		snprintf(q.owner, sizeof(q.owner), "alice");
		q.ttl_s = 3600;
		assert_int_equal(twire_put_lock_req(&b, &q), 0);
		p = frame_payload(&b, WIRE_T_LOCK_REQ, &len);
		memset(&g, 0x55, sizeof(g));
		assert_int_equal(twire_get_lock_req(p, len, &g), 0);
		assert_true(g.req == q.req && g.ttl_s == q.ttl_s);
		assert_int_equal(g.op, q.op);
		assert_string_equal(g.path, q.path);
		assert_string_equal(g.owner, q.owner);
		check_strict(D_LOCK_REQ, p, len);
	}

	/* The node's own owner, the longest owner and the longest path. */
	q.op = TWIRE_LOCK;
	snprintf(q.owner, sizeof(q.owner), "%s", "(node)");
	long_path(q.path, PATH_LEN_MAX, 'z');
	assert_true(twire_path_ok(q.path, false));
	assert_int_equal(twire_put_lock_req(&b, &q), 0);
	p = frame_payload(&b, WIRE_T_LOCK_REQ, &len);
	assert_int_equal(twire_get_lock_req(p, len, &g), 0);
	assert_string_equal(g.path, q.path);
	assert_string_equal(g.owner, "(node)");
	memset(q.owner, 'o', TWIRE_OWNER_MAX);
	q.owner[TWIRE_OWNER_MAX] = '\0';
	assert_int_equal(twire_put_lock_req(&b, &q), 0);
	p = frame_payload(&b, WIRE_T_LOCK_REQ, &len);
	assert_int_equal(twire_get_lock_req(p, len, &g), 0);
	assert_string_equal(g.owner, q.owner);
	buf_release(&b);
}

static void
make_lock(struct twire_lock *l, const char *path, uint8_t seed,
    const char *owner)
{
	memset(l, 0, sizeof(*l));
	l->held = true;
	snprintf(l->path, sizeof(l->path), "%s", path);
	fill_id(l->node, seed);
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->token = 0x1122334455667788ull;
	l->expires_wall_ms = 1767323045000ull;
	l->remaining_ms = 3600000;
}

static void
assert_lock_equal(const struct twire_lock *a, const struct twire_lock *b)
{
	assert_int_equal(a->held, b->held);
	assert_string_equal(a->path, b->path);
	if (!a->held)
		return;
	assert_memory_equal(a->node, b->node, NODE_ID_LEN);
	assert_string_equal(a->owner, b->owner);
	assert_true(a->token == b->token);
	assert_true(a->expires_wall_ms == b->expires_wall_ms);
	assert_true(a->remaining_ms == b->remaining_ms);
}

static void
test_lock_ans_round_trip(void **state)
{
	struct twire_lock_ans a, g;
	const uint8_t *p;
	struct buf b;
	size_t len;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);

	/* Granted: the lock as it stands. */
	memset(&a, 0, sizeof(a));
	a.req = 7;
	make_lock(&a.lock, "docs/a.txt", 3, "alice");
	assert_int_equal(twire_put_lock_ans(&b, &a), 0);
	p = frame_payload(&b, WIRE_T_LOCK_ANS, &len);
	memset(&g, 0x55, sizeof(g));
	assert_int_equal(twire_get_lock_ans(p, len, &g), 0);
	assert_int_equal(g.req, 7);
	assert_int_equal(g.status, 0);
	assert_string_equal(g.msg, "");
	assert_lock_equal(&g.lock, &a.lock);
	check_strict(D_LOCK_ANS, p, len);

	/* Refused: a status, a message and the lock that is in the way. */
	a.req = UINT32_MAX;
	a.status = EBUSY;
	snprintf(a.msg, sizeof(a.msg), "docs/a.txt: locked by bob");
	a.lock.remaining_ms = UINT32_MAX;
	a.lock.token = UINT64_MAX;
	assert_int_equal(twire_put_lock_ans(&b, &a), 0);
	p = frame_payload(&b, WIRE_T_LOCK_ANS, &len);
	assert_int_equal(twire_get_lock_ans(p, len, &g), 0);
	assert_true(g.req == UINT32_MAX);
	assert_int_equal(g.status, EBUSY);
	assert_string_equal(g.msg, a.msg);
	assert_lock_equal(&g.lock, &a.lock);
	check_strict(D_LOCK_ANS, p, len);

	/* Released, with no path: only the flag and an empty path go out. */
	memset(&a, 0, sizeof(a));
	a.req = 9;
	a.status = ENOENT;
	snprintf(a.msg, sizeof(a.msg), "not locked");
	fill_id(a.lock.node, 1);	/* not sent for a released lock */
	assert_int_equal(twire_put_lock_ans(&b, &a), 0);
	p = frame_payload(&b, WIRE_T_LOCK_ANS, &len);
	assert_int_equal(len, 4 + 2 + 2 + strlen("not locked") + 1 + 2);
	memset(&g, 0x55, sizeof(g));
	assert_int_equal(twire_get_lock_ans(p, len, &g), 0);
	assert_false(g.lock.held);
	assert_string_equal(g.lock.path, "");
	assert_string_equal(g.lock.owner, "");
	assert_true(g.lock.token == 0 && g.lock.remaining_ms == 0);
	check_strict(D_LOCK_ANS, p, len);

	/* Released, naming its path. */
	snprintf(a.lock.path, sizeof(a.lock.path), "docs/a.txt");
	assert_int_equal(twire_put_lock_ans(&b, &a), 0);
	p = frame_payload(&b, WIRE_T_LOCK_ANS, &len);
	assert_int_equal(twire_get_lock_ans(p, len, &g), 0);
	assert_false(g.lock.held);
	assert_string_equal(g.lock.path, "docs/a.txt");
	check_strict(D_LOCK_ANS, p, len);

	/* The longest message. */
	memset(a.msg, 'm', TWIRE_MSG_MAX);
	a.msg[TWIRE_MSG_MAX] = '\0';
	assert_int_equal(twire_put_lock_ans(&b, &a), 0);
	p = frame_payload(&b, WIRE_T_LOCK_ANS, &len);
	assert_int_equal(twire_get_lock_ans(p, len, &g), 0);
	assert_string_equal(g.msg, a.msg);
	buf_release(&b);
}

static void
test_query_round_trip(void **state)
{
	static const struct {
		uint8_t		 kind;
		const char	*path, *after;
		uint32_t	 limit;
	} c[] = {
		{ TWIRE_Q_NODES, "", "", 0 },
		{ TWIRE_Q_FILES, "", "", 100 },
		{ TWIRE_Q_FILES, "docs", "docs/m.txt", UINT32_MAX },
		{ TWIRE_Q_FILE, "docs/a.txt", "", 0 },
		{ TWIRE_Q_LOCKS, "", "", 50 },
		{ TWIRE_Q_LOCKS, "docs", "", 1 },
	};
	struct twire_query q, g;
	const uint8_t *p;
	struct buf b;
	size_t len, i;
	int rc;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (i = 0; i < ARRAY_LEN(c); i++) {
		memset(&q, 0, sizeof(q));
		q.req = (uint32_t)(1000 + i);
		q.kind = c[i].kind;
		snprintf(q.path, sizeof(q.path), "%s", c[i].path);
		snprintf(q.after, sizeof(q.after), "%s", c[i].after);
		q.limit = c[i].limit;
		assert_int_equal(twire_put_query(&b, &q), 0);
		p = frame_payload(&b, WIRE_T_QUERY, &len);
		memset(&g, 0x55, sizeof(g));
		assert_int_equal(twire_get_query(p, len, &g), 0);
		assert_int_equal(g.req, q.req);
		assert_int_equal(g.kind, q.kind);
		assert_string_equal(g.path, q.path);
		assert_string_equal(g.after, q.after);
		assert_true(g.limit == q.limit);
		check_strict(D_QUERY, p, len);
	}

	/*
	 * Both paths long: the frame may be over T_QUERY's cap, but then
	 * the encoder says so rather than framing what a peer refuses.
	 */
	memset(&q, 0, sizeof(q));
	q.kind = TWIRE_Q_FILES;
	long_path(q.path, PATH_LEN_MAX, 'a');
	long_path(q.after, PATH_LEN_MAX, 'b');
	rc = twire_put_query(&b, &q);
	if (rc == 0) {
		p = frame_payload(&b, WIRE_T_QUERY, &len);
		assert_int_equal(twire_get_query(p, len, &g), 0);
		assert_string_equal(g.after, q.after);
	} else
		assert_int_equal(rc, -EMSGSIZE);
	buf_release(&b);
}

static void
test_answer_round_trip(void **state)
{
	static const char js[] = "{\"nodes\": [{\"id\": \"ab\"}]}";
	const char *json;
	const uint8_t *p;
	struct buf b;
	uint32_t req;
	uint16_t status;
	size_t len, jl;
	char *big;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(twire_put_answer(&b, 42, 0, js, strlen(js)), 0);
	p = frame_payload(&b, WIRE_T_ANSWER, &len);
	assert_int_equal(twire_get_answer(p, len, &req, &status, &json, &jl),
	    0);
	assert_int_equal(req, 42);
	assert_int_equal(status, 0);
	assert_int_equal(jl, strlen(js));
	assert_memory_equal(json, js, jl);
	/* Borrowed from the payload. */
	assert_ptr_equal(json, p + 4 + 2 + 4);
	check_strict(D_ANSWER, p, len);

	/* An empty answer with an error status. */
	assert_int_equal(twire_put_answer(&b, UINT32_MAX, ENOENT, "", 0), 0);
	p = frame_payload(&b, WIRE_T_ANSWER, &len);
	assert_int_equal(twire_get_answer(p, len, &req, &status, &json, &jl),
	    0);
	assert_true(req == UINT32_MAX);
	assert_int_equal(status, ENOENT);
	assert_int_equal(jl, 0);
	check_strict(D_ANSWER, p, len);

	/* The largest answer, and one byte more. */
	big = repeat(' ', TWIRE_JSON_MAX + 1);
	assert_int_equal(twire_put_answer(&b, 1, 0, big, TWIRE_JSON_MAX + 1),
	    -EMSGSIZE);
	assert_int_equal(twire_put_answer(&b, 1, 0, big, TWIRE_JSON_MAX), 0);
	p = frame_payload(&b, WIRE_T_ANSWER, &len);
	assert_int_equal(twire_get_answer(p, len, &req, &status, &json, &jl),
	    0);
	assert_int_equal(jl, TWIRE_JSON_MAX);
	free(big);
	buf_release(&b);
}

/* Lists */

static void
make_file(struct twire_file *f, bool live, const char *path, uint64_t size,
    uint8_t seed, const char *version)
{
	memset(f, 0, sizeof(*f));
	f->live = live;
	snprintf(f->path, sizeof(f->path), "%s", path);
	if (!live)
		return;
	f->size = size;
	memset(f->sha256, seed, HASH_LEN);
	snprintf(f->version, sizeof(f->version), "%s", version);
}

static void
assert_file_equal(const struct twire_file *a, const struct twire_file *b)
{
	assert_int_equal(a->live, b->live);
	assert_string_equal(a->path, b->path);
	if (!a->live) {
		assert_true(b->size == 0);
		assert_string_equal(b->version, "");
		return;
	}
	assert_true(a->size == b->size);
	assert_memory_equal(a->sha256, b->sha256, HASH_LEN);
	assert_string_equal(a->version, b->version);
}

static void
test_files_round_trip(void **state)
{
	static const uint8_t flagv[] = { TWIRE_FLAG_RESET, 0 };
	struct twire_file f[5], g;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i;
	uint8_t flags;
	size_t len, k;

	(void)state;
	make_file(&f[0], true, "a.txt", 12, 1, "01020304:3");
	make_file(&f[1], false, "gone/b.bin", 0, 0, "");
	make_file(&f[2], true, "docs/big.iso", (uint64_t)INT64_MAX, 0xff,
	    "01020304:3,0a0b0c0d:18446744073709551615+2");
	make_file(&f[3], true, "empty", 0, 0, "");
	make_file(&f[4], false, "x/.shoal", 0, 0, "");
	buf_init(&b, FRAME_BUF_MAX);
	for (k = 0; k < ARRAY_LEN(flagv); k++) {
		assert_int_equal(twire_list_begin(&li, &b, WIRE_T_FILES,
		    flagv[k]), 0);
		for (i = 0; i < ARRAY_LEN(f); i++)
			assert_int_equal(twire_add_file(&li, &f[i]), 0);
		assert_int_equal(twire_list_end(&li), 0);
		p = frame_payload(&b, WIRE_T_FILES, &len);
		assert_int_equal(twire_list_read(&r, p, len, WIRE_T_FILES,
		    &flags, &n), 0);
		assert_int_equal(flags, flagv[k]);
		assert_int_equal(n, ARRAY_LEN(f));
		for (i = 0; i < n; i++) {
			memset(&g, 0x55, sizeof(g));
			assert_int_equal(twire_next_file(&r, &g), 0);
			assert_file_equal(&f[i], &g);
		}
		assert_int_equal(wire_rd_done(&r), 0);
		check_strict(D_FILES, p, len);
	}

	/* An empty reset list: "I hold nothing". */
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_FILES,
	    TWIRE_FLAG_RESET), 0);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_FILES, &len);
	assert_int_equal(len, 5);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_FILES, &flags,
	    &n), 0);
	assert_int_equal(flags, TWIRE_FLAG_RESET);
	assert_int_equal(n, 0);
	assert_int_equal(wire_rd_done(&r), 0);
	check_strict(D_FILES, p, len);
	buf_release(&b);
}

static void
test_nodes_round_trip(void **state)
{
	struct twire_node nd[3], g;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i;
	uint8_t flags;
	size_t len;

	(void)state;
	memset(nd, 0, sizeof(nd));
	for (i = 0; i < ARRAY_LEN(nd); i++)
		fill_id(nd[i].id, (uint8_t)(i * 40));
	snprintf(nd[0].peer_addr, ADDR_STR_MAX, "10.0.0.1:7000");
	snprintf(nd[0].http_addr, ADDR_STR_MAX, "10.0.0.1:8080");
	snprintf(nd[1].peer_addr, ADDR_STR_MAX, "[::1]:7000");
	memset(nd[2].peer_addr, '9', ADDR_STR_MAX - 1);
	memset(nd[2].http_addr, '8', ADDR_STR_MAX - 1);

	buf_init(&b, FRAME_BUF_MAX);
	/* T_NODES has no flags byte: what is passed is not written. */
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_NODES, 0), 0);
	for (i = 0; i < ARRAY_LEN(nd); i++)
		assert_int_equal(twire_add_node(&li, &nd[i]), 0);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_NODES, &len);
	assert_int_equal(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3], 3);
	flags = 0x55;
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_NODES, &flags,
	    &n), 0);
	assert_int_equal(flags, 0);
	assert_int_equal(n, ARRAY_LEN(nd));
	for (i = 0; i < n; i++) {
		memset(&g, 0x55, sizeof(g));
		assert_int_equal(twire_next_node(&r, &g), 0);
		assert_memory_equal(g.id, nd[i].id, NODE_ID_LEN);
		assert_string_equal(g.peer_addr, nd[i].peer_addr);
		assert_string_equal(g.http_addr, nd[i].http_addr);
	}
	assert_int_equal(wire_rd_done(&r), 0);
	check_strict(D_NODES, p, len);
	buf_release(&b);
}

static void
test_locks_round_trip(void **state)
{
	static const uint8_t flagv[] = { TWIRE_FLAG_RESET, 0 };
	struct twire_lock l[4], g;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i;
	uint8_t flags;
	size_t len, k;

	(void)state;
	make_lock(&l[0], "docs/a.txt", 1, "alice");
	make_lock(&l[1], "docs/b", 2, "(node)");
	memset(&l[2], 0, sizeof(l[2]));
	/* Released. */
	snprintf(l[2].path, sizeof(l[2].path), "old/lock");
	make_lock(&l[3], "z", 3, "bob");
	l[3].token = 1;
	l[3].expires_wall_ms = 0;
	l[3].remaining_ms = 0;
	buf_init(&b, FRAME_BUF_MAX);
	for (k = 0; k < ARRAY_LEN(flagv); k++) {
		assert_int_equal(twire_list_begin(&li, &b, WIRE_T_LOCKS,
		    flagv[k]), 0);
		for (i = 0; i < ARRAY_LEN(l); i++)
			assert_int_equal(twire_add_lock(&li, &l[i]), 0);
		assert_int_equal(twire_list_end(&li), 0);
		p = frame_payload(&b, WIRE_T_LOCKS, &len);
		assert_int_equal(twire_list_read(&r, p, len, WIRE_T_LOCKS,
		    &flags, &n), 0);
		assert_int_equal(flags, flagv[k]);
		assert_int_equal(n, ARRAY_LEN(l));
		for (i = 0; i < n; i++) {
			memset(&g, 0x55, sizeof(g));
			assert_int_equal(twire_next_lock(&r, &g), 0);
			assert_lock_equal(&l[i], &g);
		}
		assert_int_equal(wire_rd_done(&r), 0);
		check_strict(D_LOCKS, p, len);
	}
	buf_release(&b);
}

static void
test_list_begin_other_types(void **state)
{
	static const enum wire_type t[] = { WIRE_T_HELLO, WIRE_T_BEAT,
	    WIRE_T_ANSWER, WIRE_HELLO, WIRE_INDEX };
	struct twire_list li;
	struct wire_rd r;
	struct buf b;
	uint8_t flags;
	uint32_t n;
	size_t i;
	static const uint8_t empty[5];

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (i = 0; i < ARRAY_LEN(t); i++) {
		assert_int_equal(twire_list_begin(&li, &b, t[i], 0), -EINVAL);
		assert_int_equal(twire_list_read(&r, empty, sizeof(empty),
		    t[i], &flags, &n), -EPROTO);
	}
	buf_release(&b);
}

/* Caps of lists */

/* Adding e fails with -EMSGSIZE and leaves the frame byte for byte. */
static void
assert_add_refused(struct twire_list *li, enum wire_type t, const void *e)
{
	struct buf *b = li->b;
	size_t len = b->len;
	uint32_t n = li->n;
	uint8_t *before = exact_copy(b->data, len);
	int rc;

	if (t == WIRE_T_FILES)
		rc = twire_add_file(li, e);
	else if (t == WIRE_T_NODES)
		rc = twire_add_node(li, e);
	else
		rc = twire_add_lock(li, e);
	assert_int_equal(rc, -EMSGSIZE);
	assert_int_equal(b->len, len);
	assert_int_equal(li->n, n);
	assert_memory_equal(b->data, before, len);
	free(before);
}

static void
test_list_entry_cap(void **state)
{
	struct twire_file f, gf;
	struct twire_node nd, gn;
	struct twire_lock l, gl;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i;
	uint8_t flags;
	size_t len;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);

	/* T_FILES: TWIRE_FILES_MAX small entries, then no more. */
	make_file(&f, false, "f", 0, 0, "");
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_FILES,
	    TWIRE_FLAG_RESET), 0);
	for (i = 0; i < TWIRE_FILES_MAX; i++)
		assert_int_equal(twire_add_file(&li, &f), 0);
	assert_add_refused(&li, WIRE_T_FILES, &f);
	assert_add_refused(&li, WIRE_T_FILES, &f);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_FILES, &len);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_FILES, &flags,
	    &n), 0);
	assert_int_equal(n, TWIRE_FILES_MAX);
	assert_int_equal(flags, TWIRE_FLAG_RESET);
	for (i = 0; i < n; i++) {
		assert_int_equal(twire_next_file(&r, &gf), 0);
		assert_string_equal(gf.path, "f");
	}
	assert_int_equal(wire_rd_done(&r), 0);

	/* T_NODES: TWIRE_NODES_MAX. */
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.peer_addr, sizeof(nd.peer_addr), "10.1.1.1:7000");
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_NODES, 0), 0);
	for (i = 0; i < TWIRE_NODES_MAX; i++) {
		nd.id[0] = (uint8_t)i;
		assert_int_equal(twire_add_node(&li, &nd), 0);
	}
	assert_add_refused(&li, WIRE_T_NODES, &nd);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_NODES, &len);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_NODES, &flags,
	    &n), 0);
	assert_int_equal(n, TWIRE_NODES_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(twire_next_node(&r, &gn), 0);
		assert_int_equal(gn.id[0], (uint8_t)i);
	}
	assert_int_equal(wire_rd_done(&r), 0);

	/* T_LOCKS: TWIRE_LOCKS_MAX, held and released. */
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_LOCKS,
	    TWIRE_FLAG_RESET), 0);
	for (i = 0; i < TWIRE_LOCKS_MAX; i++) {
		make_lock(&l, "l", 1, "o");
		l.held = i % 2 == 0;
		assert_int_equal(twire_add_lock(&li, &l), 0);
	}
	assert_add_refused(&li, WIRE_T_LOCKS, &l);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_LOCKS, &len);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_LOCKS, &flags,
	    &n), 0);
	assert_int_equal(n, TWIRE_LOCKS_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(twire_next_lock(&r, &gl), 0);
		assert_int_equal(gl.held, i % 2 == 0);
	}
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
}

/* Entries as large as they come fill the frame before the count cap. */
static void
test_list_frame_cap_files(void **state)
{
	struct twire_file *f, g, small, tiny;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i, fitted;
	uint8_t flags;
	size_t len, entry, left;

	(void)state;
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->live = true;
	f->size = 1;
	memset(f->version, '0', TWIRE_VERSION_MAX);
	f->version[TWIRE_VERSION_MAX] = '\0';
	entry = 1 + 2 + PATH_LEN_MAX + 8 + HASH_LEN + 2 + TWIRE_VERSION_MAX;

	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_FILES, 0), 0);
	for (i = 0;; i++) {
		long_path(f->path, PATH_LEN_MAX, (char)('a' + i % 26));
		f->size = i;
		if (twire_add_file(&li, f) < 0)
			break;
		assert_true(i < TWIRE_FILES_MAX);
	}
	fitted = i;
	assert_int_equal(fitted, (WIRE_FRAME_MAX - 5) / entry);
	assert_true(b.len - WIRE_HDR_LEN <= WIRE_FRAME_MAX);
	assert_add_refused(&li, WIRE_T_FILES, f);

	/*
	 * What still fits is still taken: an entry one byte too big is
	 * refused, one that fills the frame to the last byte is not, and
	 * after it not even the smallest entry fits.
	 */
	left = WIRE_FRAME_MAX - (b.len - WIRE_HDR_LEN);
	assert_true(left > 45 + 1 && left - 45 <= PATH_LEN_MAX);
	make_file(&small, true, "", 5, 9, "");
	long_path(small.path, left - 45 + 1, 's');
	assert_add_refused(&li, WIRE_T_FILES, &small);
	long_path(small.path, left - 45, 's');
	assert_int_equal(twire_add_file(&li, &small), 0);
	assert_int_equal(b.len - WIRE_HDR_LEN, WIRE_FRAME_MAX);
	make_file(&tiny, false, "t", 0, 0, "");
	assert_add_refused(&li, WIRE_T_FILES, &tiny);
	assert_int_equal(twire_list_end(&li), 0);

	p = frame_payload(&b, WIRE_T_FILES, &len);
	assert_int_equal(len, WIRE_FRAME_MAX);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_FILES, &flags,
	    &n), 0);
	assert_int_equal(n, fitted + 1);
	for (i = 0; i < fitted; i++) {
		assert_int_equal(twire_next_file(&r, &g), 0);
		long_path(f->path, PATH_LEN_MAX, (char)('a' + i % 26));
		assert_string_equal(g.path, f->path);
		assert_true(g.size == i);
		assert_string_equal(g.version, f->version);
	}
	assert_int_equal(twire_next_file(&r, &g), 0);
	assert_file_equal(&small, &g);
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
	free(f);
}

static void
test_list_frame_cap_locks(void **state)
{
	struct twire_lock *l, g;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i, fitted;
	uint8_t flags;
	size_t len, entry;

	(void)state;
	l = calloc(1, sizeof(*l));
	assert_non_null(l);
	make_lock(l, "x", 4, "");
	memset(l->owner, 'w', TWIRE_OWNER_MAX);
	l->owner[TWIRE_OWNER_MAX] = '\0';
	entry = 1 + 2 + PATH_LEN_MAX + NODE_ID_LEN + 2 + TWIRE_OWNER_MAX +
	    8 + 8 + 4;

	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_LOCKS,
	    TWIRE_FLAG_RESET), 0);
	for (i = 0;; i++) {
		long_path(l->path, PATH_LEN_MAX, (char)('a' + i % 26));
		l->token = i;
		if (twire_add_lock(&li, l) < 0)
			break;
		assert_true(i < TWIRE_LOCKS_MAX);
	}
	fitted = i;
	assert_int_equal(fitted, (WIRE_FRAME_MAX - 5) / entry);
	assert_add_refused(&li, WIRE_T_LOCKS, l);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_LOCKS, &len);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_LOCKS, &flags,
	    &n), 0);
	assert_int_equal(n, fitted);
	assert_int_equal(flags, TWIRE_FLAG_RESET);
	for (i = 0; i < n; i++) {
		assert_int_equal(twire_next_lock(&r, &g), 0);
		assert_true(g.token == i);
		assert_string_equal(g.owner, l->owner);
	}
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
	free(l);
}

/* A buffer with a smaller cap than the frame's: the buffer's cap rules. */
static void
test_list_buffer_cap(void **state)
{
	struct twire_node nd, g;
	struct twire_list li;
	struct wire_rd r;
	const uint8_t *p;
	struct buf b;
	uint32_t n, i, fitted;
	uint8_t flags;
	size_t len;

	(void)state;
	memset(&nd, 0, sizeof(nd));
	snprintf(nd.peer_addr, sizeof(nd.peer_addr), "192.0.2.200:7000");
	buf_init(&b, 300);
	assert_int_equal(twire_list_begin(&li, &b, WIRE_T_NODES, 0), 0);
	for (i = 0;; i++) {
		nd.id[0] = (uint8_t)i;
		if (twire_add_node(&li, &nd) < 0)
			break;
	}
	fitted = i;
	assert_true(fitted >= 1 && fitted < 20);
	assert_add_refused(&li, WIRE_T_NODES, &nd);
	assert_int_equal(twire_list_end(&li), 0);
	p = frame_payload(&b, WIRE_T_NODES, &len);
	assert_int_equal(twire_list_read(&r, p, len, WIRE_T_NODES, &flags,
	    &n), 0);
	assert_int_equal(n, fitted);
	for (i = 0; i < n; i++) {
		assert_int_equal(twire_next_node(&r, &g), 0);
		assert_int_equal(g.id[0], (uint8_t)i);
		assert_string_equal(g.peer_addr, nd.peer_addr);
	}
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
}

/* Decoders refusing hand-made payloads */

static void
list_head(struct buf *b, enum wire_type t, uint8_t flags, uint32_t n)
{
	buf_reset(b);
	if (t != WIRE_T_NODES)
		assert_int_equal(wire_u8(b, flags), 0);
	assert_int_equal(wire_u32(b, n), 0);
}

static int
dec_buf(enum dec d, const struct buf *b)
{
	return (decode(d, (const uint8_t *)b->data, b->len));
}

static void
test_list_counts_and_flags(void **state)
{
	static const struct {
		enum wire_type	t;
		enum dec	d;
		uint32_t	max;
	} c[] = {
		{ WIRE_T_FILES, D_FILES, TWIRE_FILES_MAX },
		{ WIRE_T_NODES, D_NODES, TWIRE_NODES_MAX },
		{ WIRE_T_LOCKS, D_LOCKS, TWIRE_LOCKS_MAX },
	};
	static const uint32_t over[] = { 1, 2, 0x10000, INT32_MAX,
	    UINT32_MAX - 1, UINT32_MAX };
	static const uint8_t badflags[] = { 2, 3, 0x80, 0x81, 0xff };
	struct wire_rd r;
	struct buf b;
	uint8_t flags;
	uint32_t n;
	size_t i, j;

	(void)state;
	buf_init(&b, 1024);
	for (i = 0; i < ARRAY_LEN(c); i++) {
		/* Over the cap: refused by the header alone. */
		for (j = 0; j < ARRAY_LEN(over); j++) {
			uint32_t cnt = over[j] <= 2 ? c[i].max + over[j] :
			    over[j];

			list_head(&b, c[i].t, 0, cnt);
			assert_int_equal(twire_list_read(&r,
			    (const uint8_t *)b.data, b.len, c[i].t, &flags,
			    &n), -EPROTO);
			assert_true(r.bad);
		}
		/* At the cap, but the entries are not there. */
		list_head(&b, c[i].t, 0, c[i].max);
		assert_int_equal(twire_list_read(&r, (const uint8_t *)b.data,
		    b.len, c[i].t, &flags, &n), 0);
		assert_int_equal(n, c[i].max);
		assert_int_equal(dec_buf(c[i].d, &b), -EPROTO);
		/* Count 1, no entry. */
		list_head(&b, c[i].t, 0, 1);
		assert_int_equal(dec_buf(c[i].d, &b), -EPROTO);
		/* Count 0 and one byte more. */
		list_head(&b, c[i].t, 0, 0);
		assert_int_equal(dec_buf(c[i].d, &b), 0);
		assert_int_equal(wire_u8(&b, 0), 0);
		assert_int_equal(dec_buf(c[i].d, &b), -EPROTO);
	}
	/* Flags: RESET only (T_NODES has none to get wrong). */
	for (i = 0; i < ARRAY_LEN(badflags); i++) {
		list_head(&b, WIRE_T_FILES, badflags[i], 0);
		assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
		list_head(&b, WIRE_T_LOCKS, badflags[i], 0);
		assert_int_equal(dec_buf(D_LOCKS, &b), -EPROTO);
	}
	list_head(&b, WIRE_T_FILES, TWIRE_FLAG_RESET, 0);
	assert_int_equal(dec_buf(D_FILES, &b), 0);
	list_head(&b, WIRE_T_LOCKS, TWIRE_FLAG_RESET, 0);
	assert_int_equal(dec_buf(D_LOCKS, &b), 0);
	buf_release(&b);
}

/* Payload builders with every field raw. */
static void
mk_lock_req(struct buf *b, uint8_t op, const char *path, size_t plen,
    const char *owner, size_t olen)
{
	buf_reset(b);
	assert_int_equal(wire_u32(b, 5), 0);
	assert_int_equal(wire_u8(b, op), 0);
	put_raw_str(b, path, plen);
	put_raw_str(b, owner, olen);
	assert_int_equal(wire_u32(b, 60), 0);
}

static void
mk_query_raw(struct buf *b, uint8_t kind, const char *path, size_t plen,
    const char *after, size_t alen)
{
	buf_reset(b);
	assert_int_equal(wire_u32(b, 5), 0);
	assert_int_equal(wire_u8(b, kind), 0);
	put_raw_str(b, path, plen);
	put_raw_str(b, after, alen);
	assert_int_equal(wire_u32(b, 10), 0);
}

static void
mk_query(struct buf *b, uint8_t kind, const char *path, const char *after)
{
	mk_query_raw(b, kind, path, strlen(path), after, strlen(after));
}

/* A T_FILES payload of one entry. */
static void
mk_file(struct buf *b, uint8_t live, const char *path, size_t plen,
    uint64_t size, const char *version, size_t vlen)
{
	static const uint8_t sha[HASH_LEN];

	list_head(b, WIRE_T_FILES, 0, 1);
	assert_int_equal(wire_u8(b, live), 0);
	put_raw_str(b, path, plen);
	if (live != 1)
		return;
	assert_int_equal(wire_u64(b, size), 0);
	assert_int_equal(wire_fixed(b, sha, HASH_LEN), 0);
	put_raw_str(b, version, vlen);
}

/* A lock entry (after what precedes it in b). */
static void
put_raw_lock(struct buf *b, uint8_t held, const char *path, size_t plen,
    const char *owner, size_t olen)
{
	static const uint8_t id[NODE_ID_LEN] = { 1, 2, 3 };

	assert_int_equal(wire_u8(b, held), 0);
	put_raw_str(b, path, plen);
	if (held != 1)
		return;
	assert_int_equal(wire_fixed(b, id, NODE_ID_LEN), 0);
	put_raw_str(b, owner, olen);
	assert_int_equal(wire_u64(b, 1), 0);
	assert_int_equal(wire_u64(b, 2), 0);
	assert_int_equal(wire_u32(b, 3), 0);
}

/* A live file's fields, whatever the flag says. */
static void
mk_file_flag(struct buf *b, uint8_t live)
{
	static const uint8_t sha[HASH_LEN];

	list_head(b, WIRE_T_FILES, 0, 1);
	assert_int_equal(wire_u8(b, live), 0);
	put_raw_str(b, "a", 1);
	assert_int_equal(wire_u64(b, 1), 0);
	assert_int_equal(wire_fixed(b, sha, HASH_LEN), 0);
	put_raw_str(b, "0a:1", 4);
}

/* A held lock's fields, whatever the flag says. */
static void
put_full_lock(struct buf *b, uint8_t held)
{
	static const uint8_t id[NODE_ID_LEN] = { 1, 2, 3 };

	assert_int_equal(wire_u8(b, held), 0);
	put_raw_str(b, "a", 1);
	assert_int_equal(wire_fixed(b, id, NODE_ID_LEN), 0);
	put_raw_str(b, "bob", 3);
	assert_int_equal(wire_u64(b, 1), 0);
	assert_int_equal(wire_u64(b, 2), 0);
	assert_int_equal(wire_u32(b, 3), 0);
}

static void
mk_locks_flag(struct buf *b, uint8_t held)
{
	list_head(b, WIRE_T_LOCKS, 0, 1);
	put_full_lock(b, held);
}

static void
mk_locks(struct buf *b, uint8_t held, const char *path, size_t plen,
    const char *owner, size_t olen)
{
	list_head(b, WIRE_T_LOCKS, 0, 1);
	put_raw_lock(b, held, path, plen, owner, olen);
}

static void
mk_lock_ans(struct buf *b, const char *msg, size_t mlen, uint8_t held,
    const char *path, size_t plen, const char *owner, size_t olen)
{
	buf_reset(b);
	assert_int_equal(wire_u32(b, 5), 0);
	assert_int_equal(wire_u16(b, 0), 0);
	put_raw_str(b, msg, mlen);
	put_raw_lock(b, held, path, plen, owner, olen);
}

/*
 * Every field that carries a path, given path: refused (want -EPROTO) or
 * taken (want 0), with the empty path allowed only where it means "all"
 * or "no path".
 */
static void
check_path_fields(struct buf *b, const char *path, size_t plen, int want)
{
	bool empty = plen == 0;

	mk_lock_req(b, TWIRE_LOCK, path, plen, "alice", 5);
	assert_int_equal(dec_buf(D_LOCK_REQ, b), empty ? -EPROTO : want);
	mk_lock_req(b, TWIRE_UNLOCK, path, plen, "alice", 5);
	assert_int_equal(dec_buf(D_LOCK_REQ, b), empty ? -EPROTO : want);
	mk_file(b, 1, path, plen, 1, "0a:1", 4);
	assert_int_equal(dec_buf(D_FILES, b), empty ? -EPROTO : want);
	mk_file(b, 0, path, plen, 0, "", 0);
	assert_int_equal(dec_buf(D_FILES, b), empty ? -EPROTO : want);
	mk_locks(b, 1, path, plen, "bob", 3);
	assert_int_equal(dec_buf(D_LOCKS, b), empty ? -EPROTO : want);
	mk_locks(b, 0, path, plen, "", 0);
	assert_int_equal(dec_buf(D_LOCKS, b), want);
	mk_lock_ans(b, "m", 1, 1, path, plen, "bob", 3);
	assert_int_equal(dec_buf(D_LOCK_ANS, b), empty ? -EPROTO : want);
	mk_lock_ans(b, "m", 1, 0, path, plen, "", 0);
	assert_int_equal(dec_buf(D_LOCK_ANS, b), want);
	mk_query_raw(b, TWIRE_Q_FILE, path, plen, "", 0);
	assert_int_equal(dec_buf(D_QUERY, b), empty ? -EPROTO : want);
	mk_query_raw(b, TWIRE_Q_FILES, path, plen, "", 0);
	assert_int_equal(dec_buf(D_QUERY, b), want);
	mk_query_raw(b, TWIRE_Q_FILES, "", 0, path, plen);
	assert_int_equal(dec_buf(D_QUERY, b), want);
	mk_query_raw(b, TWIRE_Q_NODES, path, plen, "", 0);
	assert_int_equal(dec_buf(D_QUERY, b), want);
	mk_query_raw(b, TWIRE_Q_LOCKS, path, plen, path, plen);
	assert_int_equal(dec_buf(D_QUERY, b), want);
}

static void
test_decoders_refuse_bad_paths(void **state)
{
	char *p = malloc(PATH_LEN_MAX + 2);
	char name[PATH_NAME_MAX + 2];
	struct buf b;
	size_t i;

	(void)state;
	assert_non_null(p);
	buf_init(&b, 3 * PATH_LEN_MAX);
	for (i = 0; i < ARRAY_LEN(bad_paths); i++) {
		assert_false(twire_path_ok(bad_paths[i], false));
		assert_false(twire_path_ok(bad_paths[i], true));
		check_path_fields(&b, bad_paths[i], strlen(bad_paths[i]),
		    -EPROTO);
	}
	for (i = 0; i < ARRAY_LEN(good_paths); i++)
		check_path_fields(&b, good_paths[i], strlen(good_paths[i]), 0);
	check_path_fields(&b, "", 0, 0);

	/* A NUL inside. */
	check_path_fields(&b, "a\0b", 3, -EPROTO);
	check_path_fields(&b, "\0", 1, -EPROTO);

	/* The longest path is taken, one byte more is not. */
	long_path(p, PATH_LEN_MAX, 'q');
	check_path_fields(&b, p, PATH_LEN_MAX, 0);
	long_path(p, PATH_LEN_MAX + 1, 'q');
	check_path_fields(&b, p, PATH_LEN_MAX + 1, -EPROTO);

	/* The longest name is taken, one byte more is not. */
	memset(name, 'n', sizeof(name));
	check_path_fields(&b, name, PATH_NAME_MAX, 0);
	check_path_fields(&b, name, PATH_NAME_MAX + 1, -EPROTO);
	buf_release(&b);
	free(p);
}

static void
test_decoders_refuse_bad_owners(void **state)
{
	char o[TWIRE_OWNER_MAX + 2];
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < ARRAY_LEN(bad_owners_short); i++) {
		const char *s = bad_owners_short[i];

		assert_false(twire_owner_ok(s));
		mk_lock_req(&b, TWIRE_LOCK, "a", 1, s, strlen(s));
		assert_int_equal(dec_buf(D_LOCK_REQ, &b), -EPROTO);
		mk_lock_req(&b, TWIRE_UNLOCK, "a", 1, s, strlen(s));
		assert_int_equal(dec_buf(D_LOCK_REQ, &b), -EPROTO);
		mk_locks(&b, 1, "a", 1, s, strlen(s));
		assert_int_equal(dec_buf(D_LOCKS, &b), -EPROTO);
		mk_lock_ans(&b, "", 0, 1, "a", 1, s, strlen(s));
		assert_int_equal(dec_buf(D_LOCK_ANS, &b), -EPROTO);
	}
	/* A NUL inside. */
	mk_lock_req(&b, TWIRE_LOCK, "a", 1, "al\0ce", 5);
	assert_int_equal(dec_buf(D_LOCK_REQ, &b), -EPROTO);

	/* The longest owner is taken, one byte more is not. */
	memset(o, 'o', sizeof(o));
	for (i = TWIRE_OWNER_MAX; i <= TWIRE_OWNER_MAX + 1; i++) {
		int want = i == TWIRE_OWNER_MAX ? 0 : -EPROTO;

		mk_lock_req(&b, TWIRE_LOCK, "a", 1, o, i);
		assert_int_equal(dec_buf(D_LOCK_REQ, &b), want);
		mk_locks(&b, 1, "a", 1, o, i);
		assert_int_equal(dec_buf(D_LOCKS, &b), want);
		mk_lock_ans(&b, "", 0, 1, "a", 1, o, i);
		assert_int_equal(dec_buf(D_LOCK_ANS, &b), want);
	}
	mk_lock_req(&b, TWIRE_LOCK, "a", 1, "(node)", 6);
	assert_int_equal(dec_buf(D_LOCK_REQ, &b), 0);
	buf_release(&b);
}

static void
test_decoders_refuse_bad_versions(void **state)
{
	char v[TWIRE_VERSION_MAX + 2];
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < ARRAY_LEN(bad_versions_short); i++) {
		const char *s = bad_versions_short[i];

		assert_false(twire_version_ok(s));
		mk_file(&b, 1, "a", 1, 1, s, strlen(s));
		assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
	}
	mk_file(&b, 1, "a", 1, 1, "0a\0:1", 5);
	assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);

	/* The longest version is taken, one byte more is not. */
	memset(v, 'f', sizeof(v));
	mk_file(&b, 1, "a", 1, 1, v, TWIRE_VERSION_MAX);
	assert_int_equal(dec_buf(D_FILES, &b), 0);
	mk_file(&b, 1, "a", 1, 1, v, TWIRE_VERSION_MAX + 1);
	assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);

	/* A size a signed 64-bit column cannot hold. */
	mk_file(&b, 1, "a", 1, (uint64_t)INT64_MAX, "0a:1", 4);
	assert_int_equal(dec_buf(D_FILES, &b), 0);
	mk_file(&b, 1, "a", 1, (uint64_t)INT64_MAX + 1, "0a:1", 4);
	assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
	mk_file(&b, 1, "a", 1, UINT64_MAX, "0a:1", 4);
	assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
	buf_release(&b);
}

static void
test_decoders_refuse_bad_enums(void **state)
{
	static const uint8_t badops[] = { 0, 3, 4, 0x7f, 0x80, 0xff };
	static const uint8_t badkinds[] = { 0, TWIRE_Q_LOCKS + 1, 0x80,
	    0xff };
	static const uint8_t badflag[] = { 2, 3, 0x80, 0xff };
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < ARRAY_LEN(badops); i++) {
		mk_lock_req(&b, badops[i], "a", 1, "alice", 5);
		assert_int_equal(dec_buf(D_LOCK_REQ, &b), -EPROTO);
	}
	for (i = 0; i < ARRAY_LEN(badkinds); i++) {
		mk_query(&b, badkinds[i], "", "");
		assert_int_equal(dec_buf(D_QUERY, &b), -EPROTO);
	}
	mk_file_flag(&b, 1);
	assert_int_equal(dec_buf(D_FILES, &b), 0);
	mk_locks_flag(&b, 1);
	assert_int_equal(dec_buf(D_LOCKS, &b), 0);
	for (i = 0; i < ARRAY_LEN(badflag); i++) {
		/* live, held: 0 or 1. */
		mk_file(&b, badflag[i], "a", 1, 0, "", 0);
		assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
		mk_locks(&b, badflag[i], "a", 1, "", 0);
		assert_int_equal(dec_buf(D_LOCKS, &b), -EPROTO);
		mk_lock_ans(&b, "", 0, badflag[i], "a", 1, "", 0);
		assert_int_equal(dec_buf(D_LOCK_ANS, &b), -EPROTO);
		/* With every field of a live file or held lock after it. */
		mk_file_flag(&b, badflag[i]);
		assert_int_equal(dec_buf(D_FILES, &b), -EPROTO);
		mk_locks_flag(&b, badflag[i]);
		assert_int_equal(dec_buf(D_LOCKS, &b), -EPROTO);
		buf_reset(&b);
		assert_int_equal(wire_u32(&b, 5), 0);
		assert_int_equal(wire_u16(&b, 0), 0);
		put_raw_str(&b, "", 0);
		put_full_lock(&b, badflag[i]);
		assert_int_equal(dec_buf(D_LOCK_ANS, &b), -EPROTO);
	}
	buf_release(&b);
}

static void
test_decoders_refuse_other_fields(void **state)
{
	char *s = repeat('x', 70000);
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 200000);

	/* T_HELLO: another protocol version; an address too long. */
	for (i = 0; i < 3; i++) {
		static const uint16_t proto[] = { 0, 2, UINT16_MAX };
		static const uint8_t id[NODE_ID_LEN];

		buf_reset(&b);
		assert_int_equal(wire_u16(&b, proto[i]), 0);
		assert_int_equal(wire_fixed(&b, id, NODE_ID_LEN), 0);
		put_raw_str(&b, "a", 1);
		put_raw_str(&b, "b", 1);
		assert_int_equal(dec_buf(D_HELLO, &b), -EPROTO);
	}
	for (i = ADDR_STR_MAX - 1; i <= ADDR_STR_MAX; i++) {
		static const uint8_t id[NODE_ID_LEN];
		int want = i < ADDR_STR_MAX ? 0 : -EPROTO;

		buf_reset(&b);
		assert_int_equal(wire_u16(&b, TWIRE_PROTO), 0);
		assert_int_equal(wire_fixed(&b, id, NODE_ID_LEN), 0);
		put_raw_str(&b, s, i);
		put_raw_str(&b, "b", 1);
		assert_int_equal(dec_buf(D_HELLO, &b), want);
		buf_reset(&b);
		assert_int_equal(wire_u16(&b, TWIRE_PROTO), 0);
		assert_int_equal(wire_fixed(&b, id, NODE_ID_LEN), 0);
		put_raw_str(&b, "a", 1);
		put_raw_str(&b, s, i);
		assert_int_equal(dec_buf(D_HELLO, &b), want);
		/* The same in a node list. */
		list_head(&b, WIRE_T_NODES, 0, 1);
		assert_int_equal(wire_fixed(&b, id, NODE_ID_LEN), 0);
		put_raw_str(&b, s, i);
		put_raw_str(&b, "", 0);
		assert_int_equal(dec_buf(D_NODES, &b), want);
		list_head(&b, WIRE_T_NODES, 0, 1);
		assert_int_equal(wire_fixed(&b, id, NODE_ID_LEN), 0);
		put_raw_str(&b, "", 0);
		put_raw_str(&b, s, i);
		assert_int_equal(dec_buf(D_NODES, &b), want);
	}

	/* T_WELCOME: neither interval may be 0. */
	buf_reset(&b);
	assert_int_equal(wire_u32(&b, 0), 0);
	assert_int_equal(wire_u32(&b, 5000), 0);
	assert_int_equal(dec_buf(D_WELCOME, &b), -EPROTO);
	buf_reset(&b);
	assert_int_equal(wire_u32(&b, 1000), 0);
	assert_int_equal(wire_u32(&b, 0), 0);
	assert_int_equal(dec_buf(D_WELCOME, &b), -EPROTO);

	/* T_REFUSE and T_LOCK_ANS: a message over TWIRE_MSG_MAX. */
	buf_reset(&b);
	put_raw_str(&b, s, TWIRE_MSG_MAX);
	assert_int_equal(dec_buf(D_REFUSE, &b), 0);
	buf_reset(&b);
	put_raw_str(&b, s, TWIRE_MSG_MAX + 1);
	assert_int_equal(dec_buf(D_REFUSE, &b), -EPROTO);
	buf_reset(&b);
	put_raw_str(&b, "a\0b", 3);
	assert_int_equal(dec_buf(D_REFUSE, &b), -EPROTO);
	mk_lock_ans(&b, s, TWIRE_MSG_MAX, 0, "", 0, "", 0);
	assert_int_equal(dec_buf(D_LOCK_ANS, &b), 0);
	mk_lock_ans(&b, s, TWIRE_MSG_MAX + 1, 0, "", 0, "", 0);
	assert_int_equal(dec_buf(D_LOCK_ANS, &b), -EPROTO);

	/* T_ANSWER: JSON over its cap, or longer than the payload. */
	buf_reset(&b);
	assert_int_equal(wire_u32(&b, 1), 0);
	assert_int_equal(wire_u16(&b, 0), 0);
	assert_int_equal(wire_u32(&b, TWIRE_JSON_MAX + 1), 0);
	assert_int_equal(dec_buf(D_ANSWER, &b), -EPROTO);
	buf_reset(&b);
	assert_int_equal(wire_u32(&b, 1), 0);
	assert_int_equal(wire_u16(&b, 0), 0);
	assert_int_equal(wire_u32(&b, 3), 0);
	assert_int_equal(wire_fixed(&b, "{}", 2), 0);
	assert_int_equal(dec_buf(D_ANSWER, &b), -EPROTO);
	buf_reset(&b);
	assert_int_equal(wire_u32(&b, 1), 0);
	assert_int_equal(wire_u16(&b, 0), 0);
	assert_int_equal(wire_u32(&b, UINT32_MAX), 0);
	assert_int_equal(dec_buf(D_ANSWER, &b), -EPROTO);

	/* Every decoder: nothing at all. */
	for (i = D_HELLO; i <= D_LOCKS; i++)
		assert_int_equal(decode((enum dec)i, (const uint8_t *)"", 0),
		    -EPROTO);
	buf_release(&b);
	free(s);
}

/* The checks themselves */

static void
test_path_ok(void **state)
{
	char *p = malloc(PATH_LEN_MAX + 2);
	char name[PATH_NAME_MAX + 2];
	size_t i;

	(void)state;
	assert_non_null(p);
	assert_true(twire_path_ok("", true));
	assert_false(twire_path_ok("", false));
	for (i = 0; i < ARRAY_LEN(good_paths); i++) {
		assert_true(twire_path_ok(good_paths[i], false));
		assert_true(twire_path_ok(good_paths[i], true));
	}
	for (i = 0; i < ARRAY_LEN(bad_paths); i++) {
		assert_false(twire_path_ok(bad_paths[i], false));
		assert_false(twire_path_ok(bad_paths[i], true));
	}
	long_path(p, PATH_LEN_MAX, 'a');
	assert_true(twire_path_ok(p, false));
	long_path(p, PATH_LEN_MAX + 1, 'a');
	assert_false(twire_path_ok(p, false));
	memset(name, 'n', PATH_NAME_MAX);
	name[PATH_NAME_MAX] = '\0';
	assert_true(twire_path_ok(name, false));
	name[PATH_NAME_MAX] = 'n';
	name[PATH_NAME_MAX + 1] = '\0';
	assert_false(twire_path_ok(name, false));
	free(p);
}

/*
 * ".." as a name is what must never get through; dots inside a name are
 * an ordinary file name ("notes..txt", "v1..v2", "..." ), which
 * path_resolve keeps as it is.
 */
static void
test_path_ok_dots_in_names(void **state)
{
	static const char *const names[] = {
		"notes..txt", "a..b", "...", "x..", "..x", "dir/v1..v2/f",
	};
	char norm[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(names); i++) {
		/* Normal form, as the node's index holds it. */
		assert_int_equal(path_resolve("", names[i], strlen(names[i]),
		    norm, sizeof(norm)), 0);
		assert_string_equal(norm, names[i]);
		if (!twire_path_ok(names[i], false))
			fail_msg("twire_path_ok(\"%s\") refuses a normalised "
			    "path", names[i]);
	}
}

static void
test_owner_ok(void **state)
{
	char o[TWIRE_OWNER_MAX + 2];
	size_t i;

	(void)state;
	assert_true(twire_owner_ok("alice"));
	assert_true(twire_owner_ok("(node)"));
	assert_true(twire_owner_ok("a.b@example.org"));
	assert_true(twire_owner_ok("x"));
	assert_true(twire_owner_ok("~!#$%^&*()"));
	for (i = 0; i < ARRAY_LEN(bad_owners_short); i++)
		assert_false(twire_owner_ok(bad_owners_short[i]));
	memset(o, 'o', sizeof(o));
	o[TWIRE_OWNER_MAX] = '\0';
	assert_true(twire_owner_ok(o));
	o[TWIRE_OWNER_MAX] = 'o';
	o[TWIRE_OWNER_MAX + 1] = '\0';
	assert_false(twire_owner_ok(o));
}

static void
test_version_ok(void **state)
{
	char v[TWIRE_VERSION_MAX + 2];
	size_t i;

	(void)state;
	assert_true(twire_version_ok(""));
	assert_true(twire_version_ok("0a0b0c0d:1"));
	assert_true(twire_version_ok("0a0b0c0d:1,ffffffff:18446744073709551615"
	    "+3"));
	assert_true(twire_version_ok("0123456789abcdef:,+"));
	for (i = 0; i < ARRAY_LEN(bad_versions_short); i++)
		assert_false(twire_version_ok(bad_versions_short[i]));
	memset(v, '1', sizeof(v));
	v[TWIRE_VERSION_MAX] = '\0';
	assert_true(twire_version_ok(v));
	v[TWIRE_VERSION_MAX] = '1';
	v[TWIRE_VERSION_MAX + 1] = '\0';
	assert_false(twire_version_ok(v));
}

/* twire_version_text */

/* Into a heap buffer of exactly TWIRE_VERSION_MAX + 1 bytes. */
static char *
version_text(const struct vv *v)
{
	char *out = malloc(TWIRE_VERSION_MAX + 1);

	assert_non_null(out);
	memset(out, 'X', TWIRE_VERSION_MAX + 1);
	twire_version_text(v, out);
	assert_true(strlen(out) <= TWIRE_VERSION_MAX);
	assert_true(twire_version_ok(out));
	return (out);
}

static void
test_version_text_small(void **state)
{
	struct vv v;
	char *t;

	(void)state;
	vv_clear(&v);
	t = version_text(&v);
	assert_string_equal(t, "");
	free(t);

	v.n = 1;
	memset(v.e[0].id, 0, NODE_ID_LEN);
	v.e[0].id[0] = 0x01;
	v.e[0].id[1] = 0x02;
	v.e[0].id[2] = 0xab;
	v.e[0].id[3] = 0xff;
	v.e[0].id[4] = 0xee;	/* shortened away */
	v.e[0].c = 7;
	t = version_text(&v);
	assert_string_equal(t, "0102abff:7");
	free(t);

	v.n = 2;
	memset(v.e[1].id, 0xfe, NODE_ID_LEN);
	v.e[1].c = UINT64_MAX;
	t = version_text(&v);
	assert_string_equal(t, "0102abff:7,fefefefe:18446744073709551615");
	free(t);
}

/* Parses "E,E,...+N": the number of entries shown and N (0 if none). */
static void
version_shape(const char *t, unsigned *shown, unsigned *rest)
{
	const char *plus = strchr(t, '+');
	const char *s;

	*shown = t[0] != '\0' && t[0] != '+';
	for (s = t; *s && s != plus; s++)
		if (*s == ',')
			(*shown)++;
	*rest = 0;
	if (plus != NULL) {
		assert_true(plus[1] >= '1' && plus[1] <= '9');
		*rest = (unsigned)strtoul(plus + 1, NULL, 10);
		assert_null(strchr(plus + 1, '+'));
		assert_null(strchr(plus + 1, ','));
		assert_null(strchr(plus + 1, ':'));
	}
}

static void
test_version_text_full(void **state)
{
	unsigned shown, rest, i, w;
	struct vv v;
	char *t;
	size_t n;

	(void)state;
	/* VV_MAX entries with the longest counters cannot all be shown. */
	vv_clear(&v);
	v.n = VV_MAX;
	for (i = 0; i < VV_MAX; i++) {
		memset(v.e[i].id, 0, NODE_ID_LEN);
		v.e[i].id[0] = (uint8_t)i;
		v.e[i].c = UINT64_MAX - i;
	}
	t = version_text(&v);
	n = strlen(t);
	assert_true(n <= TWIRE_VERSION_MAX);
	assert_non_null(strchr(t, '+'));
	version_shape(t, &shown, &rest);
	assert_true(shown >= 1 && rest >= 1);
	assert_int_equal(shown + rest, VV_MAX);
	/* Ends with "+N", N being what was left out. */
	{
		char tail[16];

		snprintf(tail, sizeof(tail), "+%u", rest);
		assert_true(n > strlen(tail));
		assert_string_equal(t + n - strlen(tail), tail);
	}
	/* Shown entries are the first ones, whole. */
	assert_memory_equal(t, "00000000:18446744073709551615,", 30);
	free(t);

	/* VV_MAX entries with short counters all fit: no "+". */
	for (i = 0; i < VV_MAX; i++)
		v.e[i].c = i + 1;
	t = version_text(&v);
	assert_null(strchr(t, '+'));
	version_shape(t, &shown, &rest);
	assert_int_equal(shown, VV_MAX);
	assert_int_equal(rest, 0);
	free(t);

	/*
	 * Counters of every width, so the text ends at every offset near
	 * the cap: the "+N" tail always fits whole.
	 */
	for (w = 1; w <= 20; w++) {
		uint64_t c = 1;

		for (i = 1; i < w; i++)
			c *= 10;	/* w digits */
		for (n = 0; n < VV_MAX; n++) {
			vv_clear(&v);
			v.n = VV_MAX;
			for (i = 0; i < VV_MAX; i++) {
				memset(v.e[i].id, 0, NODE_ID_LEN);
				v.e[i].id[0] = (uint8_t)i;
				/* The first n entries one digit wider. */
				v.e[i].c = i < n && w < 20 ? c * 10 : c;
			}
			t = version_text(&v);
			version_shape(t, &shown, &rest);
			assert_int_equal(shown + rest, VV_MAX);
			free(t);
		}
	}

	/* Every count of long entries: bounded, and shown + N = n. */
	for (v.n = 1; v.n <= VV_MAX; v.n++) {
		for (i = 0; i < v.n; i++)
			v.e[i].c = UINT64_MAX;
		t = version_text(&v);
		version_shape(t, &shown, &rest);
		assert_int_equal(shown + rest, v.n);
		free(t);
	}
}

/* For people */

static void
test_lock_json_and_busy(void **state)
{
	struct twire_lock l;
	char out[256], when[32];
	json_t *j;

	(void)state;
	twire_time(0, when);
	assert_string_equal(when, "1970-01-01T00:00:00Z");
	twire_time(1767323045999ull, when);
	assert_string_equal(when, "2026-01-02T03:04:05Z");

	make_lock(&l, "docs/a.txt", 0, "alice");
	memset(l.node, 0xab, NODE_ID_LEN);
	l.expires_wall_ms = 1767323045000ull;
	l.remaining_ms = 1500;
	l.token = 9;
	twire_lock_busy(&l, out, sizeof(out));
	assert_string_equal(out, "docs/a.txt: locked by alice on node "
	    "abababab until 2026-01-02T03:04:05Z");
	snprintf(l.owner, sizeof(l.owner), "(node)");
	twire_lock_busy(&l, out, sizeof(out));
	assert_string_equal(out, "docs/a.txt: locked by node abababab until "
	    "2026-01-02T03:04:05Z");
	/* Cut to a small buffer, still terminated. */
	twire_lock_busy(&l, out, 11);
	assert_string_equal(out, "docs/a.txt");

	j = twire_lock_json(&l);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "path")),
	    "docs/a.txt");
	assert_string_equal(json_string_value(json_object_get(j, "holder")),
	    "abababababababababababababababab");
	assert_string_equal(json_string_value(json_object_get(j, "owner")),
	    "(node)");
	assert_int_equal(json_integer_value(json_object_get(j, "token")), 9);
	assert_string_equal(json_string_value(json_object_get(j, "expires")),
	    "2026-01-02T03:04:05Z");
	assert_true(json_real_value(json_object_get(j, "remaining_s")) ==
	    1.5);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_welcome_round_trip),
		cmocka_unit_test(test_refuse_round_trip),
		cmocka_unit_test(test_beat_round_trip),
		cmocka_unit_test(test_lock_req_round_trip),
		cmocka_unit_test(test_lock_ans_round_trip),
		cmocka_unit_test(test_query_round_trip),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_files_round_trip),
		cmocka_unit_test(test_nodes_round_trip),
		cmocka_unit_test(test_locks_round_trip),
		cmocka_unit_test(test_list_begin_other_types),
		cmocka_unit_test(test_list_entry_cap),
		cmocka_unit_test(test_list_frame_cap_files),
		cmocka_unit_test(test_list_frame_cap_locks),
		cmocka_unit_test(test_list_buffer_cap),
		cmocka_unit_test(test_list_counts_and_flags),
		cmocka_unit_test(test_decoders_refuse_bad_paths),
		cmocka_unit_test(test_decoders_refuse_bad_owners),
		cmocka_unit_test(test_decoders_refuse_bad_versions),
		cmocka_unit_test(test_decoders_refuse_bad_enums),
		cmocka_unit_test(test_decoders_refuse_other_fields),
		cmocka_unit_test(test_path_ok),
		cmocka_unit_test(test_path_ok_dots_in_names),
		cmocka_unit_test(test_owner_ok),
		cmocka_unit_test(test_version_ok),
		cmocka_unit_test(test_version_text_small),
		cmocka_unit_test(test_version_text_full),
		cmocka_unit_test(test_lock_json_and_busy),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
