/*
 * fuzz_wire: feeds arbitrary bytes to the peer protocol's frame header
 * check, its payload reader and the version vector decoder, the parts of
 * a peer's frame that are read before anything else looks at it.
 *
 * Input layout: a frame as it comes off a link, the first WIRE_HDR_LEN
 * bytes a header and the rest its payload; an input shorter than a header
 * is all payload.  The header's length field need not match the payload:
 * the check must judge the header alone.
 *
 * The header: wire_frame_check must return 0, -EPROTO or -EMSGSIZE and
 * agree with a plain reading of the eight bytes.  The writer must then
 * frame the same payload under the same type exactly when it fits the
 * type's cap, with a header the check accepts.
 *
 * The payload is walked as a list of tagged fields: each step reads a u8
 * tag through the reader, whose low three bits pick the next field's kind
 * (u8, u16, u32, u64, byte string, text, fixed bytes, a mid-walk
 * wire_rd_done) and whose high five bits pick its maximum or size.  A
 * shadow offset predicts every result: a field inside the payload gives
 * the big-endian value or the borrowed bytes, a field that runs past it or
 * over its maximum (or text with a NUL) makes the reader bad, and once bad
 * it stays bad.  Everything read is written again with the writer and must
 * give back exactly the bytes consumed.
 *
 * Last, the payload as a version vector: vv_decode must accept exactly a
 * sorted, duplicate-free list of at most VV_MAX whole records, and what it
 * accepts must encode to the same bytes.
 *
 * libFuzzer's input is a heap buffer of exactly its size and the payload
 * is its tail, so ASan sees any read past the end; text goes into a heap
 * buffer of exactly max + 1 bytes for the same reason.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cluster/wire.h"
#include "store/vv.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                        \
	do {                                                            \
		if (!(e)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #e);                    \
			abort();                                        \
		}                                                       \
	} while (0)

enum op {
	OP_U8,
	OP_U16,
	OP_U32,
	OP_U64,
	OP_BYTES,
	OP_STR,
	OP_FIXED,
	OP_DONE,
};

/* Maxima for byte strings and text, picked by a tag's high bits. */
static const uint32_t maxima[32] = {
	0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 24, 31, 32, 48, 63, 64, 100, 127,
	128, 255, 256, 512, 768, 1024, 2048, 4096, 8192, 16384, 65534, 65535,
	65536, UINT32_MAX,
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return (v);
}

static void
check_header(const uint8_t *h, const uint8_t *payload, size_t plen)
{
	struct wire_hdr hdr;
	struct wire_hdr again;
	struct buf b;
	uint32_t cap;
	bool proto_ok;
	int rc;

	rc = wire_frame_check(h, &hdr);
	cap = wire_max_len(h[1]);
	proto_ok = h[0] == WIRE_VERSION && h[2] == 0 && h[3] == 0 && cap > 0;
	CHECK(cap <= WIRE_FRAME_MAX);
	if (!proto_ok)
		CHECK(rc == -EPROTO);
	else if (be(h + 4, 4) > cap)
		CHECK(rc == -EMSGSIZE);
	else {
		CHECK(rc == 0);
		CHECK(hdr.version == WIRE_VERSION && hdr.type == h[1]);
		CHECK(hdr.flags == 0 && hdr.len == be(h + 4, 4));
	}
	if (cap == 0)
		return;

	/* The writer frames this payload under this type iff it fits. */
	buf_init(&b, WIRE_HDR_LEN + plen);
	CHECK(wire_begin(&b, (enum wire_type)h[1]) == 0);
	CHECK(wire_fixed(&b, payload, plen) == 0);
	rc = wire_end(&b);
	if (plen > cap)
		CHECK(rc == -EMSGSIZE);
	else {
		CHECK(rc == 0);
		CHECK(b.len == WIRE_HDR_LEN + plen);
		CHECK(wire_frame_check((const uint8_t *)b.data, &again) == 0);
		CHECK(again.type == h[1] && again.len == plen);
		if (plen > 0)
			CHECK(memcmp(b.data + WIRE_HDR_LEN, payload,
			    plen) == 0);
		/* A legal header with this length is the input itself. */
		if (proto_ok && hdr.len == plen)
			CHECK(memcmp(b.data, h, WIRE_HDR_LEN) == 0);
	}
	buf_release(&b);
}

/* Reads one text field into a heap buffer of exactly max + 1 bytes. */
static void
walk_str(struct wire_rd *r, const uint8_t *p, size_t left, uint32_t max,
    bool *bad, struct buf *out)
{
	size_t n;
	char *s;
	int rc;

	/* Past 64 KiB a u16 length cannot reach: no need for the room. */
	if (max > UINT16_MAX)
		max = UINT16_MAX;
	if ((s = malloc((size_t)max + 1)) == NULL)
		abort();
	rc = wire_get_str(r, s, max);
	CHECK(rc == 0 || rc == -EPROTO);
	CHECK(s[0] == '\0' || rc == 0);
	if (*bad || left < 2) {
		CHECK(rc == -EPROTO);
		*bad = true;
	} else {
		n = (size_t)be(p, 2);
		if (n > max || left - 2 < n || memchr(p + 2, '\0', n)) {
			CHECK(rc == -EPROTO);
			*bad = true;
		} else {
			CHECK(rc == 0);
			CHECK(strlen(s) == n && memcmp(s, p + 2, n) == 0);
			CHECK(wire_str(out, s) == 0);
		}
	}
	free(s);
}

/*
 * The tagged walk.  off is the shadow offset: how much of the payload a
 * correct reader has consumed, and so where its pointer must be.
 */
static void
walk(const uint8_t *payload, size_t plen)
{
	const uint8_t *got;
	struct wire_rd r;
	struct buf out;
	size_t off = 0, w;
	uint32_t max, n, len;
	uint64_t v;
	uint8_t tag;
	bool bad = false;

	buf_init(&out, plen + 2 * UINT16_MAX);
	wire_rd_init(&r, payload, plen);
	while (!bad && off < plen) {
		tag = wire_get_u8(&r);
		CHECK(!r.bad && tag == payload[off]);
		CHECK(wire_u8(&out, tag) == 0);
		off++;
		max = maxima[tag >> 3];
		switch ((enum op)(tag & 7)) {
		case OP_U8:
		case OP_U16:
		case OP_U32:
		case OP_U64:
			w = (size_t)1 << (tag & 7);
			if (w == 1)
				v = wire_get_u8(&r);
			else if (w == 2)
				v = wire_get_u16(&r);
			else if (w == 4)
				v = wire_get_u32(&r);
			else
				v = wire_get_u64(&r);
			if (plen - off < w) {
				bad = true;
				break;
			}
			CHECK(v == be(payload + off, w));
			CHECK(wire_fixed(&out, payload + off, w) == 0);
			off += w;
			break;
		case OP_BYTES:
			len = 0;
			got = wire_get_bytes(&r, max, &len);
			n = plen - off < 4 ? 0 : (uint32_t)be(payload + off, 4);
			if (plen - off < 4 || n > max || plen - off - 4 < n) {
				CHECK(got == NULL);
				bad = true;
				break;
			}
			CHECK(got == payload + off + 4 && len == n);
			CHECK(wire_bytes(&out, got, len) == 0);
			off += 4 + n;
			break;
		case OP_STR:
			walk_str(&r, payload + off, plen - off, max, &bad,
			    &out);
			if (!bad)
				off += 2 + (size_t)be(payload + off, 2);
			break;
		case OP_FIXED:
			n = tag >> 3;
			got = wire_get_fixed(&r, n);
			if (plen - off < n) {
				CHECK(got == NULL);
				bad = true;
				break;
			}
			CHECK(got == payload + off);
			CHECK(wire_fixed(&out, got, n) == 0);
			off += n;
			break;
		case OP_DONE:
			CHECK((wire_rd_done(&r) == 0) == (off == plen));
			break;
		}
		CHECK(r.bad == bad);
		if (!bad)
			CHECK(r.p == payload + off && r.len == plen - off);
	}

	/* Bad is for good: no read succeeds afterwards. */
	if (bad) {
		CHECK(wire_get_fixed(&r, 0) == NULL);
		CHECK(wire_get_bytes(&r, UINT32_MAX, &len) == NULL);
		CHECK(r.bad && wire_rd_done(&r) == -EPROTO);
	} else
		CHECK(off == plen && wire_rd_done(&r) == 0);

	/* What was read, written again, is what was consumed. */
	CHECK(out.len == off);
	if (off > 0)
		CHECK(memcmp(out.data, payload, off) == 0);
	buf_release(&out);
}

static void
check_vv(const uint8_t *p, size_t len)
{
	const size_t rec = NODE_ID_LEN + 8;
	uint8_t enc[VV_ENC_MAX];
	bool want;
	struct vv v;
	size_t o;
	unsigned i;
	int rc;

	want = len % rec == 0 && len / rec <= VV_MAX;
	for (o = rec; want && o < len; o += rec)
		want = memcmp(p + o - rec, p + o, NODE_ID_LEN) < 0;
	rc = vv_decode(&v, p, len);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == want);
	if (rc != 0)
		return;
	CHECK(v.n == len / rec);
	CHECK(vv_encode(&v, enc) == len);
	if (len > 0)
		CHECK(memcmp(enc, p, len) == 0);
	for (i = 0; i < v.n; i++)
		CHECK(vv_get(&v, v.e[i].id) == v.e[i].c);
	CHECK(vv_compare(&v, &v) == VV_EQUAL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload = data;
	size_t plen = size;

	if (size >= WIRE_HDR_LEN) {
		payload = data + WIRE_HDR_LEN;
		plen = size - WIRE_HDR_LEN;
		check_header(data, payload, plen);
	}
	walk(payload, plen);
	check_vv(payload, plen);
	return (0);
}
