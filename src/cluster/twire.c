/*
 * twire: node <-> tracker payloads.  Field order is the order of the
 * struct members; every string has a cap, checked before it is copied.
 */
#include "cluster/twire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool
twire_path_ok(const char *path, bool allow_root)
{
	/* The normal form only, by the rule sync and the scanner share (so
	 * a ".." component is refused, a name like "v1..v2" is not). */
	if (path[0] == '\0')
		return (allow_root);
	return (path_valid(path));
}

bool
twire_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned need, i;
	uint32_t c;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2) {
			need = 1;
			c = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			need = 2;
			c = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4) {
			need = 3;
			c = *p & 0x07;
		} else
			return (false);
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return (false);
			c = c << 6 | (p[i] & 0x3f);
		}
		/* No overlong forms, surrogates or code points past U+10FFFF. */
		if ((need == 2 && c < 0x800) || (need == 3 && (c < 0x10000 ||
		    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
			return (false);
		p += need + 1;
	}
	return (true);
}

bool
twire_owner_ok(const char *owner)
{
	const unsigned char *p;

	if (owner[0] == '\0' || strlen(owner) > TWIRE_OWNER_MAX ||
	    !twire_utf8_ok(owner))
		return (false);
	for (p = (const unsigned char *)owner; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return (false);
	return (true);
}

bool
twire_version_ok(const char *v)
{
	size_t n = strlen(v);

	return (n <= TWIRE_VERSION_MAX &&
	    strspn(v, "0123456789abcdef:,+") == n);
}

void
twire_version_text(const struct vv *v, char out[TWIRE_VERSION_MAX + 1])
{
	size_t len = 0;
	unsigned i;
	int n;

	out[0] = '\0';
	for (i = 0; i < v->n; i++) {
		const uint8_t *id = v->e[i].id;

		/* Room for this entry and a "+NN" tail. */
		n = snprintf(out + len, TWIRE_VERSION_MAX + 1 - len,
		    "%s%02x%02x%02x%02x:%llu", i ? "," : "", id[0], id[1],
		    id[2], id[3], (unsigned long long)v->e[i].c);
		if (n < 0 || len + (size_t)n + 4 > TWIRE_VERSION_MAX) {
			out[len] = '\0';
			(void)snprintf(out + len, TWIRE_VERSION_MAX + 1 - len,
			    "+%u", v->n - i);
			return;
		}
		len += (size_t)n;
	}
}

/* Encoding */

#define TRY(x) do { if ((rc = (x)) < 0) return (rc); } while (0)

int
twire_put_hello(struct buf *b, const struct twire_hello *h)
{
	int rc;

	TRY(wire_begin(b, WIRE_T_HELLO));
	TRY(wire_u16(b, TWIRE_PROTO));
	TRY(wire_fixed(b, h->id, NODE_ID_LEN));
	TRY(wire_str(b, h->peer_addr));
	TRY(wire_str(b, h->http_addr));
	return (wire_end(b));
}

int
twire_put_welcome(struct buf *b, uint32_t heartbeat_ms, uint32_t expire_ms)
{
	int rc;

	TRY(wire_begin(b, WIRE_T_WELCOME));
	TRY(wire_u32(b, heartbeat_ms));
	TRY(wire_u32(b, expire_ms));
	return (wire_end(b));
}

int
twire_put_refuse(struct buf *b, const char *reason)
{
	char r[TWIRE_MSG_MAX + 1];
	int rc;

	(void)snprintf(r, sizeof(r), "%s", reason);
	TRY(wire_begin(b, WIRE_T_REFUSE));
	TRY(wire_str(b, r));
	return (wire_end(b));
}

int
twire_put_beat(struct buf *b, enum wire_type t, uint64_t v)
{
	int rc;

	if (t != WIRE_T_BEAT && t != WIRE_T_BEAT_ACK)
		return (-EINVAL);
	TRY(wire_begin(b, t));
	TRY(wire_u64(b, v));
	return (wire_end(b));
}

static int
put_lock(struct buf *b, const struct twire_lock *l)
{
	int rc;

	TRY(wire_u8(b, l->held));
	TRY(wire_str(b, l->path));
	if (!l->held)
		return (0);
	TRY(wire_fixed(b, l->node, NODE_ID_LEN));
	TRY(wire_str(b, l->owner));
	TRY(wire_u64(b, l->token));
	TRY(wire_u64(b, l->expires_wall_ms));
	return (wire_u32(b, l->remaining_ms));
}

int
twire_put_lock_req(struct buf *b, const struct twire_lock_req *q)
{
	int rc;

	TRY(wire_begin(b, WIRE_T_LOCK_REQ));
	TRY(wire_u32(b, q->req));
	TRY(wire_u8(b, q->op));
	TRY(wire_str(b, q->path));
	TRY(wire_str(b, q->owner));
	TRY(wire_u32(b, q->ttl_s));
	return (wire_end(b));
}

int
twire_put_lock_ans(struct buf *b, const struct twire_lock_ans *a)
{
	int rc;

	TRY(wire_begin(b, WIRE_T_LOCK_ANS));
	TRY(wire_u32(b, a->req));
	TRY(wire_u16(b, a->status));
	TRY(wire_str(b, a->msg));
	TRY(put_lock(b, &a->lock));
	return (wire_end(b));
}

int
twire_put_query(struct buf *b, const struct twire_query *q)
{
	int rc;

	TRY(wire_begin(b, WIRE_T_QUERY));
	TRY(wire_u32(b, q->req));
	TRY(wire_u8(b, q->kind));
	TRY(wire_str(b, q->path));
	TRY(wire_str(b, q->after));
	TRY(wire_u32(b, q->limit));
	return (wire_end(b));
}

int
twire_put_answer(struct buf *b, uint32_t req, uint16_t status,
    const char *json, size_t len)
{
	int rc;

	if (len > TWIRE_JSON_MAX)
		return (-EMSGSIZE);
	TRY(wire_begin(b, WIRE_T_ANSWER));
	TRY(wire_u32(b, req));
	TRY(wire_u16(b, status));
	TRY(wire_bytes(b, json, (uint32_t)len));
	return (wire_end(b));
}

static uint32_t
list_max(enum wire_type t)
{
	switch (t) {
	case WIRE_T_FILES: return (TWIRE_FILES_MAX);
	case WIRE_T_NODES: return (TWIRE_NODES_MAX);
	case WIRE_T_LOCKS: return (TWIRE_LOCKS_MAX);
	default: return (0);
	}
}

int
twire_list_begin(struct twire_list *l, struct buf *b, enum wire_type t,
    uint8_t flags)
{
	int rc;

	if ((l->max = list_max(t)) == 0)
		return (-EINVAL);
	l->b = b;
	l->n = 0;
	TRY(wire_begin(b, t));
	if (t != WIRE_T_NODES)
		TRY(wire_u8(b, flags));
	l->count_at = b->len;
	return (wire_u32(b, 0));
}

/* Adds what put() writes, or nothing if the frame or the count is full. */
static int
list_add(struct twire_list *l, int (*put)(struct buf *, const void *),
    const void *e)
{
	size_t at = l->b->len;

	if (l->n >= l->max)
		return (-EMSGSIZE);
	if (put(l->b, e) < 0 ||
	    l->b->len - WIRE_HDR_LEN > wire_max_len((uint8_t)l->b->data[1])) {
		buf_truncate(l->b, at);
		return (-EMSGSIZE);
	}
	l->n++;
	return (0);
}

static int
put_file(struct buf *b, const void *arg)
{
	const struct twire_file *f = arg;
	int rc;

	TRY(wire_u8(b, f->live));
	TRY(wire_str(b, f->path));
	if (!f->live)
		return (0);
	TRY(wire_u64(b, f->size));
	TRY(wire_fixed(b, f->sha256, HASH_LEN));
	return (wire_str(b, f->version));
}

static int
put_node(struct buf *b, const void *arg)
{
	const struct twire_node *n = arg;
	int rc;

	TRY(wire_fixed(b, n->id, NODE_ID_LEN));
	TRY(wire_str(b, n->peer_addr));
	return (wire_str(b, n->http_addr));
}

static int
put_lock_entry(struct buf *b, const void *arg)
{
	return (put_lock(b, arg));
}

int
twire_add_file(struct twire_list *l, const struct twire_file *f)
{
	return (list_add(l, put_file, f));
}

int
twire_add_node(struct twire_list *l, const struct twire_node *n)
{
	return (list_add(l, put_node, n));
}

int
twire_add_lock(struct twire_list *l, const struct twire_lock *k)
{
	return (list_add(l, put_lock_entry, k));
}

int
twire_list_end(struct twire_list *l)
{
	uint8_t *p = (uint8_t *)l->b->data + l->count_at;

	p[0] = (uint8_t)(l->n >> 24);
	p[1] = (uint8_t)(l->n >> 16);
	p[2] = (uint8_t)(l->n >> 8);
	p[3] = (uint8_t)l->n;
	return (wire_end(l->b));
}

/* Decoding */

static int
get_addr(struct wire_rd *r, char out[ADDR_STR_MAX])
{
	return (wire_get_str(r, out, ADDR_STR_MAX - 1));
}

int
twire_get_hello(const uint8_t *p, size_t len, struct twire_hello *h)
{
	struct wire_rd r;
	const uint8_t *id;

	wire_rd_init(&r, p, len);
	if (wire_get_u16(&r) != TWIRE_PROTO)
		return (-EPROTO);
	if ((id = wire_get_fixed(&r, NODE_ID_LEN)) != NULL)
		memcpy(h->id, id, NODE_ID_LEN);
	(void)get_addr(&r, h->peer_addr);
	(void)get_addr(&r, h->http_addr);
	return (wire_rd_done(&r));
}

int
twire_get_welcome(const uint8_t *p, size_t len, uint32_t *hb, uint32_t *exp)
{
	struct wire_rd r;

	wire_rd_init(&r, p, len);
	*hb = wire_get_u32(&r);
	*exp = wire_get_u32(&r);
	if (*hb == 0 || *exp == 0)
		return (-EPROTO);
	return (wire_rd_done(&r));
}

int
twire_get_refuse(const uint8_t *p, size_t len, char *out, size_t size)
{
	char r_[TWIRE_MSG_MAX + 1];
	struct wire_rd r;

	wire_rd_init(&r, p, len);
	(void)wire_get_str(&r, r_, TWIRE_MSG_MAX);
	(void)snprintf(out, size, "%s", r_);
	return (wire_rd_done(&r));
}

int
twire_get_beat(const uint8_t *p, size_t len, uint64_t *t)
{
	struct wire_rd r;

	wire_rd_init(&r, p, len);
	*t = wire_get_u64(&r);
	return (wire_rd_done(&r));
}

static int
get_path(struct wire_rd *r, char out[PATH_LEN_MAX + 1], bool allow_root)
{
	if (wire_get_str(r, out, PATH_LEN_MAX) < 0)
		return (-EPROTO);
	/* SECURITY: a path that is not in normal form is refused, so a
	 * ".." never reaches a database or a folder. */
	if (!twire_path_ok(out, allow_root)) {
		r->bad = true;
		return (-EPROTO);
	}
	return (0);
}

static int
get_owner(struct wire_rd *r, char out[TWIRE_OWNER_MAX + 1])
{
	if (wire_get_str(r, out, TWIRE_OWNER_MAX) < 0)
		return (-EPROTO);
	if (!twire_owner_ok(out)) {
		r->bad = true;
		return (-EPROTO);
	}
	return (0);
}

static int
get_lock(struct wire_rd *r, struct twire_lock *l)
{
	const uint8_t *id;
	uint8_t held = wire_get_u8(r);

	memset(l, 0, sizeof(*l));
	if (held > 1) {
		r->bad = true;
		return (-EPROTO);
	}
	l->held = held;
	/* A released lock in an answer may name no path. */
	if (get_path(r, l->path, !held) < 0)
		return (-EPROTO);
	if (!l->held)
		return (r->bad ? -EPROTO : 0);
	if ((id = wire_get_fixed(r, NODE_ID_LEN)) != NULL)
		memcpy(l->node, id, NODE_ID_LEN);
	if (get_owner(r, l->owner) < 0)
		return (-EPROTO);
	l->token = wire_get_u64(r);
	l->expires_wall_ms = wire_get_u64(r);
	l->remaining_ms = wire_get_u32(r);
	return (r->bad ? -EPROTO : 0);
}

int
twire_get_lock_req(const uint8_t *p, size_t len, struct twire_lock_req *q)
{
	struct wire_rd r;

	memset(q, 0, sizeof(*q));
	wire_rd_init(&r, p, len);
	q->req = wire_get_u32(&r);
	q->op = wire_get_u8(&r);
	if (q->op != TWIRE_LOCK && q->op != TWIRE_UNLOCK)
		return (-EPROTO);
	if (get_path(&r, q->path, false) < 0 || get_owner(&r, q->owner) < 0)
		return (-EPROTO);
	q->ttl_s = wire_get_u32(&r);
	return (wire_rd_done(&r));
}

int
twire_get_lock_ans(const uint8_t *p, size_t len, struct twire_lock_ans *a)
{
	struct wire_rd r;

	wire_rd_init(&r, p, len);
	a->req = wire_get_u32(&r);
	a->status = wire_get_u16(&r);
	(void)wire_get_str(&r, a->msg, TWIRE_MSG_MAX);
	if (get_lock(&r, &a->lock) < 0)
		return (-EPROTO);
	return (wire_rd_done(&r));
}

int
twire_get_query(const uint8_t *p, size_t len, struct twire_query *q)
{
	struct wire_rd r;

	wire_rd_init(&r, p, len);
	q->req = wire_get_u32(&r);
	q->kind = wire_get_u8(&r);
	if (q->kind < TWIRE_Q_NODES || q->kind > TWIRE_Q_LOCKS)
		return (-EPROTO);
	if (get_path(&r, q->path, q->kind != TWIRE_Q_FILE) < 0 ||
	    get_path(&r, q->after, true) < 0)
		return (-EPROTO);
	q->limit = wire_get_u32(&r);
	return (wire_rd_done(&r));
}

int
twire_get_answer(const uint8_t *p, size_t len, uint32_t *req,
    uint16_t *status, const char **json, size_t *jlen)
{
	struct wire_rd r;
	uint32_t n = 0;
	const uint8_t *j;

	wire_rd_init(&r, p, len);
	*req = wire_get_u32(&r);
	*status = wire_get_u16(&r);
	j = wire_get_bytes(&r, TWIRE_JSON_MAX, &n);
	*json = (const char *)j;
	*jlen = n;
	return (wire_rd_done(&r));
}

int
twire_list_read(struct wire_rd *r, const uint8_t *p, size_t len,
    enum wire_type t, uint8_t *flags, uint32_t *n)
{
	uint32_t max = list_max(t);

	wire_rd_init(r, p, len);
	*flags = t == WIRE_T_NODES ? 0 : wire_get_u8(r);
	*n = wire_get_u32(r);
	if (max == 0 || *n > max || (*flags & ~TWIRE_FLAG_RESET) != 0)
		r->bad = true;
	return (r->bad ? -EPROTO : 0);
}

int
twire_next_file(struct wire_rd *r, struct twire_file *f)
{
	const uint8_t *sha;
	uint8_t live = wire_get_u8(r);

	if (live > 1) {
		r->bad = true;
		return (-EPROTO);
	}
	f->live = live;
	if (get_path(r, f->path, false) < 0)
		return (-EPROTO);
	f->size = 0;
	f->version[0] = '\0';
	memset(f->sha256, 0, HASH_LEN);
	if (!f->live)
		return (r->bad ? -EPROTO : 0);
	f->size = wire_get_u64(r);
	if ((sha = wire_get_fixed(r, HASH_LEN)) != NULL)
		memcpy(f->sha256, sha, HASH_LEN);
	if (wire_get_str(r, f->version, TWIRE_VERSION_MAX) < 0 ||
	    !twire_version_ok(f->version) || f->size > INT64_MAX) {
		r->bad = true;
		return (-EPROTO);
	}
	return (0);
}

int
twire_next_node(struct wire_rd *r, struct twire_node *n)
{
	const uint8_t *id;

	if ((id = wire_get_fixed(r, NODE_ID_LEN)) != NULL)
		memcpy(n->id, id, NODE_ID_LEN);
	(void)get_addr(r, n->peer_addr);
	(void)get_addr(r, n->http_addr);
	return (r->bad ? -EPROTO : 0);
}

int
twire_next_lock(struct wire_rd *r, struct twire_lock *l)
{
	return (get_lock(r, l));
}

void
twire_time(uint64_t wall_ms, char out[32])
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	(void)strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
twire_lock_json(const struct twire_lock *l)
{
	char id[2 * NODE_ID_LEN + 1], when[32];

	str_hex(l->node, NODE_ID_LEN, id);
	twire_time(l->expires_wall_ms, when);
	return (json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:f}", "path",
	    l->path, "holder", id, "owner", l->owner, "token",
	    (json_int_t)l->token, "expires", when, "expires_ms",
	    (json_int_t)l->expires_wall_ms, "remaining_s",
	    (double)l->remaining_ms / 1000.0));
}

void
twire_lock_busy(const struct twire_lock *l, char *out, size_t size)
{
	char id[2 * NODE_ID_LEN + 1], when[32];

	str_hex(l->node, NODE_ID_LEN, id);
	twire_time(l->expires_wall_ms, when);
	if (strcmp(l->owner, "(node)") == 0)
		(void)snprintf(out, size, "%s: locked by node %.8s until %s",
		    l->path, id, when);
	else
		(void)snprintf(out, size, "%s: locked by %s on node %.8s until "
		    "%s", l->path, l->owner, id, when);
}
