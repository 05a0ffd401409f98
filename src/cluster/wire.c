/*
 * wire: frames and fields.  The table of types is the one place that knows
 * each message's legal size.
 */
#include "cluster/wire.h"

#include <errno.h>
#include <string.h>

struct wire_type_info {
	const char	*name;
	uint32_t	 max;
};

static const struct wire_type_info types[WIRE_TYPE_MAX] = {
	[WIRE_HELLO] = { "HELLO", 4096 },
	[WIRE_MEMBERS] = { "MEMBERS", 256 * 1024 },
	[WIRE_PING] = { "PING", 128 },
	[WIRE_PONG] = { "PONG", 128 },
	[WIRE_BYE] = { "BYE", 64 },
	[WIRE_INDEX_REQ] = { "INDEX_REQ", 64 },
	[WIRE_INDEX] = { "INDEX", WIRE_FRAME_MAX },
	[WIRE_BLOCK_REQ] = { "BLOCK_REQ", 8192 },
	[WIRE_BLOCK] = { "BLOCK", (1u << 20) + 8192 },
	[WIRE_ACK] = { "ACK", 8192 },
	[WIRE_T_HELLO] = { "T_HELLO", 4096 },
	[WIRE_T_WELCOME] = { "T_WELCOME", 64 },
	[WIRE_T_REFUSE] = { "T_REFUSE", 1024 },
	[WIRE_T_FILES] = { "T_FILES", WIRE_FRAME_MAX },
	[WIRE_T_BEAT] = { "T_BEAT", 64 },
	[WIRE_T_BEAT_ACK] = { "T_BEAT_ACK", 64 },
	[WIRE_T_NODES] = { "T_NODES", 256 * 1024 },
	[WIRE_T_LOCKS] = { "T_LOCKS", WIRE_FRAME_MAX },
	[WIRE_T_LOCK_REQ] = { "T_LOCK_REQ", 8192 },
	[WIRE_T_LOCK_ANS] = { "T_LOCK_ANS", 8192 },
	[WIRE_T_QUERY] = { "T_QUERY", 8192 },
	[WIRE_T_ANSWER] = { "T_ANSWER", WIRE_FRAME_MAX },
	[WIRE_VERS_REQ] = { "VERS_REQ", 8192 },
	[WIRE_VERS] = { "VERS", WIRE_FRAME_MAX },
};

uint32_t
wire_max_len(uint8_t type)
{
	if (type == 0 || type >= WIRE_TYPE_MAX)
		return (0);
	return (types[type].max);
}

const char *
wire_type_name(uint8_t type)
{
	if (type == 0 || type >= WIRE_TYPE_MAX)
		return ("UNKNOWN");
	return (types[type].name);
}

int
wire_frame_check(const uint8_t *h, struct wire_hdr *out)
{
	out->version = h[0];
	out->type = h[1];
	out->flags = (uint16_t)(h[2] << 8 | h[3]);
	out->len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
	    (uint32_t)h[6] << 8 | h[7];
	if (out->version != WIRE_VERSION || out->flags != 0 ||
	    wire_max_len(out->type) == 0)
		return (-EPROTO);
	if (out->len > wire_max_len(out->type))
		return (-EMSGSIZE);
	return (0);
}

int
wire_begin(struct buf *b, enum wire_type t)
{
	uint8_t h[WIRE_HDR_LEN] = { WIRE_VERSION, (uint8_t)t, 0, 0, 0, 0, 0,
	    0 };

	buf_reset(b);
	return (buf_append(b, h, sizeof(h)));
}

int
wire_end(struct buf *b)
{
	uint32_t n;

	if (b->len < WIRE_HDR_LEN)
		return (-EINVAL);
	n = (uint32_t)(b->len - WIRE_HDR_LEN);
	if (n > wire_max_len((uint8_t)b->data[1]))
		return (-EMSGSIZE);
	b->data[4] = (char)(n >> 24);
	b->data[5] = (char)(n >> 16);
	b->data[6] = (char)(n >> 8);
	b->data[7] = (char)n;
	return (0);
}

int
wire_u8(struct buf *b, uint8_t v)
{
	return (buf_append(b, &v, 1));
}

int
wire_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return (buf_append(b, x, 2));
}

int
wire_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return (buf_append(b, x, 4));
}

int
wire_u64(struct buf *b, uint64_t v)
{
	int rc;

	if ((rc = wire_u32(b, (uint32_t)(v >> 32))) < 0)
		return (rc);
	return (wire_u32(b, (uint32_t)v));
}

int
wire_bytes(struct buf *b, const void *p, uint32_t n)
{
	int rc;

	if ((rc = wire_u32(b, n)) < 0)
		return (rc);
	return (buf_append(b, p, n));
}

int
wire_fixed(struct buf *b, const void *p, size_t n)
{
	return (buf_append(b, p, n));
}

int
wire_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	int rc;

	if (n > UINT16_MAX)
		return (-ENAMETOOLONG);
	if ((rc = wire_u16(b, (uint16_t)n)) < 0)
		return (rc);
	return (buf_append(b, s, n));
}

void
wire_rd_init(struct wire_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->bad = false;
}

const uint8_t *
wire_get_fixed(struct wire_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len) {
		r->bad = true;
		return (NULL);
	}
	p = r->p;
	r->p += n;
	r->len -= n;
	return (p);
}

uint8_t
wire_get_u8(struct wire_rd *r)
{
	const uint8_t *p = wire_get_fixed(r, 1);

	return (p ? p[0] : 0);
}

uint16_t
wire_get_u16(struct wire_rd *r)
{
	const uint8_t *p = wire_get_fixed(r, 2);

	return (p ? (uint16_t)(p[0] << 8 | p[1]) : 0);
}

uint32_t
wire_get_u32(struct wire_rd *r)
{
	const uint8_t *p = wire_get_fixed(r, 4);

	return (p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3] : 0);
}

uint64_t
wire_get_u64(struct wire_rd *r)
{
	uint64_t hi = wire_get_u32(r);

	return (hi << 32 | wire_get_u32(r));
}

const uint8_t *
wire_get_bytes(struct wire_rd *r, uint32_t max, uint32_t *len)
{
	uint32_t n = wire_get_u32(r);

	if (n > max) {
		r->bad = true;
		return (NULL);
	}
	*len = n;
	return (wire_get_fixed(r, n));
}

int
wire_get_str(struct wire_rd *r, char *out, size_t max)
{
	uint16_t n = wire_get_u16(r);
	const uint8_t *p;

	out[0] = '\0';
	if (n > max) {
		r->bad = true;
		return (-EPROTO);
	}
	if ((p = wire_get_fixed(r, n)) == NULL)
		return (-EPROTO);
	if (memchr(p, '\0', n) != NULL) {
		r->bad = true;
		return (-EPROTO);
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return (0);
}

int
wire_rd_done(const struct wire_rd *r)
{
	return (r->bad || r->len != 0 ? -EPROTO : 0);
}
