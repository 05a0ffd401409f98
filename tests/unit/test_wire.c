/*
 * Tests for wire: the peer protocol's frame header and payload fields.
 *
 * What peers rely on: every field written is read back as the same value
 * in big-endian order; a header is refused (-EPROTO) for a wrong version,
 * type or flags and (-EMSGSIZE) for a length over its type's cap, before a
 * payload byte is buffered; the writer refuses to finish a frame the reader
 * would refuse; and a reader that runs out of payload fails, stays failed
 * and never looks past the bytes it was given.  The prefix tests hand the
 * reader a heap copy of exactly len bytes, so AddressSanitizer reports any
 * overread.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cluster/wire.h"

/* Room for the largest frame of any type and one byte more. */
#define FRAME_BUF_MAX	(WIRE_HDR_LEN + WIRE_FRAME_MAX + 1)

/*
 * A heap copy of exactly n bytes.  Even for n == 0 this is a distinct
 * allocation, so reading any byte of an empty payload is reported.
 */
static uint8_t *
exact_copy(const void *s, size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, s, n);
	return (p);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A header as a peer would send it. */
static void
make_hdr(uint8_t h[WIRE_HDR_LEN], uint8_t ver, uint8_t type, uint16_t flags,
    uint32_t len)
{
	h[0] = ver;
	h[1] = type;
	h[2] = (uint8_t)(flags >> 8);
	h[3] = (uint8_t)flags;
	put_be32(h + 4, len);
}

static void
test_ints_big_endian_round_trip(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x7f, 0xff,
		0x00, 0x00, 0x01, 0x02, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
		0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	};
	struct wire_rd r;
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_u8(&b, 0), 0);
	assert_int_equal(wire_u8(&b, 0x7f), 0);
	assert_int_equal(wire_u8(&b, UINT8_MAX), 0);
	assert_int_equal(wire_u16(&b, 0), 0);
	assert_int_equal(wire_u16(&b, 0x0102), 0);
	assert_int_equal(wire_u16(&b, UINT16_MAX), 0);
	assert_int_equal(wire_u32(&b, 0), 0);
	assert_int_equal(wire_u32(&b, 0x01020304), 0);
	assert_int_equal(wire_u32(&b, UINT32_MAX), 0);
	assert_int_equal(wire_u64(&b, 0), 0);
	assert_int_equal(wire_u64(&b, 0x0102030405060708ull), 0);
	assert_int_equal(wire_u64(&b, UINT64_MAX), 0);
	assert_int_equal(wire_u64(&b, 0x8000000000000001ull), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));

	wire_rd_init(&r, b.data, b.len);
	assert_int_equal(wire_get_u8(&r), 0);
	assert_int_equal(wire_get_u8(&r), 0x7f);
	assert_int_equal(wire_get_u8(&r), UINT8_MAX);
	assert_int_equal(wire_get_u16(&r), 0);
	assert_int_equal(wire_get_u16(&r), 0x0102);
	assert_int_equal(wire_get_u16(&r), UINT16_MAX);
	assert_int_equal(wire_get_u32(&r), 0);
	assert_int_equal(wire_get_u32(&r), 0x01020304);
	assert_true(wire_get_u32(&r) == UINT32_MAX);
	assert_true(wire_get_u64(&r) == 0);
	assert_true(wire_get_u64(&r) == 0x0102030405060708ull);
	assert_true(wire_get_u64(&r) == UINT64_MAX);
	assert_true(wire_get_u64(&r) == 0x8000000000000001ull);
	assert_false(r.bad);
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
}

/* Byte strings are binary: NULs and 0xff inside come back as sent. */
static void
test_bytes_round_trip(void **state)
{
	static const uint8_t blob[] = { 'a', '\0', 0xff, '\0', 'z' };
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x05, 'a', '\0', 0xff, '\0', 'z',
	};
	const uint8_t *p;
	struct wire_rd r;
	struct buf b;
	uint32_t n;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_bytes(&b, "", 0), 0);
	assert_int_equal(wire_bytes(&b, blob, sizeof(blob)), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));

	wire_rd_init(&r, b.data, b.len);
	n = 99;
	p = wire_get_bytes(&r, 0, &n);
	assert_non_null(p);
	assert_int_equal(n, 0);
	/* The maximum is inclusive. */
	p = wire_get_bytes(&r, sizeof(blob), &n);
	assert_non_null(p);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	/* Borrowed: it points into the payload, not at a copy. */
	assert_ptr_equal(p, (const uint8_t *)b.data + 4 + 4);
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
}

static void
test_bytes_over_max_is_bad(void **state)
{
	static const uint8_t blob[] = { 1, 2, 3, 4, 5 };
	struct wire_rd r;
	struct buf b;
	uint32_t n = 0;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_bytes(&b, blob, sizeof(blob)), 0);
	assert_int_equal(wire_u8(&b, 7), 0);

	/* All five bytes are there, but the caller allowed only four. */
	wire_rd_init(&r, b.data, b.len);
	assert_null(wire_get_bytes(&r, sizeof(blob) - 1, &n));
	assert_true(r.bad);
	assert_int_equal(wire_get_u8(&r), 0);
	assert_int_equal(wire_rd_done(&r), -EPROTO);
	buf_release(&b);
}

/* A length field claiming more than the payload holds, up to 4 GiB. */
static void
test_bytes_length_past_end(void **state)
{
	static const uint32_t lens[] = { 4, 5, 0x7fffffff, UINT32_MAX };
	uint8_t raw[8] = { 0, 0, 0, 0, 'a', 'b', 'c', 'd' };
	struct wire_rd r;
	uint8_t *p;
	uint32_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_be32(raw, lens[i]);
		p = exact_copy(raw, sizeof(raw));
		wire_rd_init(&r, p, sizeof(raw));
		n = 0;
		if (lens[i] == 4) {
			assert_non_null(wire_get_bytes(&r, UINT32_MAX, &n));
			assert_int_equal(n, 4);
			assert_int_equal(wire_rd_done(&r), 0);
		} else {
			assert_null(wire_get_bytes(&r, UINT32_MAX, &n));
			assert_true(r.bad);
			assert_int_equal(wire_rd_done(&r), -EPROTO);
		}
		free(p);
	}
}

static void
test_str_round_trip(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00,
		0x00, 0x05, 'h', 'e', 'l', 'l', 'o',
	};
	char out[6];
	struct wire_rd r;
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_str(&b, ""), 0);
	assert_int_equal(wire_str(&b, "hello"), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));

	wire_rd_init(&r, b.data, b.len);
	memset(out, 'x', sizeof(out));
	assert_int_equal(wire_get_str(&r, out, 0), 0);
	assert_string_equal(out, "");
	/* The maximum is inclusive: out[max + 1] holds it with its NUL. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(wire_get_str(&r, out, 5), 0);
	assert_string_equal(out, "hello");
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
}

/* The longest text a u16 length can carry, and one byte more. */
static void
test_str_longest(void **state)
{
	size_t n = UINT16_MAX;
	char *s, *out;
	struct wire_rd r;
	struct buf b;

	(void)state;
	s = malloc(n + 2);
	out = malloc(n + 1);
	assert_non_null(s);
	assert_non_null(out);
	memset(s, 'q', n + 1);
	s[n + 1] = '\0';

	buf_init(&b, 2 * n);
	assert_int_equal(wire_str(&b, s), -ENAMETOOLONG);
	assert_int_equal(b.len, 0);
	s[n] = '\0';
	assert_int_equal(wire_str(&b, s), 0);
	assert_int_equal(b.len, 2 + n);
	assert_int_equal((uint8_t)b.data[0], 0xff);
	assert_int_equal((uint8_t)b.data[1], 0xff);

	wire_rd_init(&r, b.data, b.len);
	assert_int_equal(wire_get_str(&r, out, n), 0);
	assert_string_equal(out, s);
	assert_int_equal(wire_rd_done(&r), 0);
	buf_release(&b);
	free(out);
	free(s);
}

/* Too long for the caller's buffer: refused before anything is copied. */
static void
test_str_over_max_is_bad(void **state)
{
	char out[5];
	struct wire_rd r;
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_str(&b, "hello"), 0);

	wire_rd_init(&r, b.data, b.len);
	memset(out, 'x', sizeof(out));
	assert_int_equal(wire_get_str(&r, out, 4), -EPROTO);
	assert_true(r.bad);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[4], 'x');	/* nothing written past out[0] */
	assert_int_equal(wire_rd_done(&r), -EPROTO);
	buf_release(&b);
}

/* Text with a NUL would be cut short as a C string: refused anywhere. */
static void
test_str_with_nul_is_bad(void **state)
{
	static const uint8_t raw[][6] = {
		{ 0x00, 0x04, '\0', 'b', 'c', 'd' },
		{ 0x00, 0x04, 'a', '\0', 'c', 'd' },
		{ 0x00, 0x04, 'a', 'b', 'c', '\0' },
	};
	char out[16];
	struct wire_rd r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		wire_rd_init(&r, raw[i], sizeof(raw[i]));
		memset(out, 'x', sizeof(out));
		assert_int_equal(wire_get_str(&r, out, sizeof(out) - 1),
		    -EPROTO);
		assert_true(r.bad);
		assert_int_equal(out[0], '\0');
		assert_int_equal(wire_rd_done(&r), -EPROTO);
	}
}

static void
test_fixed_round_trip(void **state)
{
	static const uint8_t id[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4,
	    5, 6, 7, 8, 9, 10, 11 };
	const uint8_t *p;
	struct wire_rd r;
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(wire_fixed(&b, id, sizeof(id)), 0);
	assert_int_equal(wire_fixed(&b, "", 0), 0);
	/* No length prefix: the bytes alone. */
	assert_int_equal(b.len, sizeof(id));
	assert_memory_equal(b.data, id, sizeof(id));

	wire_rd_init(&r, b.data, b.len);
	p = wire_get_fixed(&r, sizeof(id));
	assert_non_null(p);
	assert_memory_equal(p, id, sizeof(id));
	assert_int_equal(wire_rd_done(&r), 0);
	assert_null(wire_get_fixed(&r, 1));
	assert_true(r.bad);
	buf_release(&b);
}

/* A whole frame: the writer's bytes pass the header check and read back. */
static void
test_frame_build_and_parse(void **state)
{
	static const uint8_t id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15, 16 };
	static const uint8_t blob[] = { 0, 1, 2, 0xfe, 0xff };
	struct wire_hdr h;
	struct wire_rd r;
	struct buf b;
	const uint8_t *p;
	char name[32];
	uint32_t n;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	assert_int_equal(wire_begin(&b, WIRE_HELLO), 0);
	assert_int_equal(wire_fixed(&b, id, sizeof(id)), 0);
	assert_int_equal(wire_str(&b, "node-a:7000"), 0);
	assert_int_equal(wire_u8(&b, 3), 0);
	assert_int_equal(wire_u16(&b, 7000), 0);
	assert_int_equal(wire_u32(&b, 0xcafef00d), 0);
	assert_int_equal(wire_u64(&b, 1234567890123ull), 0);
	assert_int_equal(wire_bytes(&b, blob, sizeof(blob)), 0);
	assert_int_equal(wire_end(&b), 0);
	assert_int_equal(b.len, WIRE_HDR_LEN + 16 + 2 + 11 + 1 + 2 + 4 + 8 +
	    4 + 5);

	/* version 1, HELLO, flags 0, length big-endian */
	assert_int_equal((uint8_t)b.data[0], WIRE_VERSION);
	assert_int_equal((uint8_t)b.data[1], WIRE_HELLO);
	assert_int_equal((uint8_t)b.data[2], 0);
	assert_int_equal((uint8_t)b.data[3], 0);
	assert_int_equal((uint8_t)b.data[4], 0);
	assert_int_equal((uint8_t)b.data[5], 0);
	assert_int_equal((uint8_t)b.data[6], 0);
	assert_int_equal((uint8_t)b.data[7], b.len - WIRE_HDR_LEN);

	assert_int_equal(wire_frame_check((const uint8_t *)b.data, &h), 0);
	assert_int_equal(h.version, WIRE_VERSION);
	assert_int_equal(h.type, WIRE_HELLO);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.len, b.len - WIRE_HDR_LEN);
	assert_string_equal(wire_type_name(h.type), "HELLO");

	wire_rd_init(&r, b.data + WIRE_HDR_LEN, h.len);
	p = wire_get_fixed(&r, sizeof(id));
	assert_non_null(p);
	assert_memory_equal(p, id, sizeof(id));
	assert_int_equal(wire_get_str(&r, name, sizeof(name) - 1), 0);
	assert_string_equal(name, "node-a:7000");
	assert_int_equal(wire_get_u8(&r), 3);
	assert_int_equal(wire_get_u16(&r), 7000);
	assert_true(wire_get_u32(&r) == 0xcafef00d);
	assert_true(wire_get_u64(&r) == 1234567890123ull);
	p = wire_get_bytes(&r, 64, &n);
	assert_non_null(p);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_int_equal(wire_rd_done(&r), 0);

	/* wire_begin starts over: a second frame does not carry the first. */
	assert_int_equal(wire_begin(&b, WIRE_BYE), 0);
	assert_int_equal(wire_end(&b), 0);
	assert_int_equal(b.len, WIRE_HDR_LEN);
	assert_int_equal(wire_frame_check((const uint8_t *)b.data, &h), 0);
	assert_int_equal(h.type, WIRE_BYE);
	assert_int_equal(h.len, 0);
	buf_release(&b);
}

static void
test_frame_check_version_type_flags(void **state)
{
	static const uint8_t bad_versions[] = { 0, 2, 0x10, 0xff };
	static const uint8_t bad_types[] = { 0, WIRE_TYPE_MAX, 0x7f, 0xff };
	static const uint16_t bad_flags[] = { 1, 0x0100, 0x8000, 0xffff };
	uint8_t hdr[WIRE_HDR_LEN];
	struct wire_hdr h;
	size_t i;

	(void)state;
	make_hdr(hdr, WIRE_VERSION, WIRE_PING, 0, 0);
	assert_int_equal(wire_frame_check(hdr, &h), 0);

	for (i = 0; i < sizeof(bad_versions); i++) {
		make_hdr(hdr, bad_versions[i], WIRE_PING, 0, 0);
		assert_int_equal(wire_frame_check(hdr, &h), -EPROTO);
	}
	for (i = 0; i < sizeof(bad_types); i++) {
		make_hdr(hdr, WIRE_VERSION, bad_types[i], 0, 0);
		assert_int_equal(wire_frame_check(hdr, &h), -EPROTO);
		assert_int_equal(wire_max_len(bad_types[i]), 0);
		assert_string_equal(wire_type_name(bad_types[i]), "UNKNOWN");
	}
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		make_hdr(hdr, WIRE_VERSION, WIRE_PING, bad_flags[i], 0);
		assert_int_equal(wire_frame_check(hdr, &h), -EPROTO);
	}
	/* A header wrong in two ways is a protocol error, not a size one. */
	make_hdr(hdr, 2, WIRE_PING, 0, UINT32_MAX);
	assert_int_equal(wire_frame_check(hdr, &h), -EPROTO);
	make_hdr(hdr, WIRE_VERSION, 0, 0, UINT32_MAX);
	assert_int_equal(wire_frame_check(hdr, &h), -EPROTO);
}

/* Each known type has a cap; exactly the cap passes, one more does not. */
static void
test_frame_check_length_caps(void **state)
{
	uint8_t hdr[WIRE_HDR_LEN];
	struct wire_hdr h;
	uint32_t cap;
	uint8_t t;

	(void)state;
	assert_int_equal(wire_max_len(WIRE_PING), 128);
	assert_int_equal(wire_max_len(WIRE_INDEX), WIRE_FRAME_MAX);
	for (t = 1; t < WIRE_TYPE_MAX; t++) {
		cap = wire_max_len(t);
		assert_true(cap > 0 && cap <= WIRE_FRAME_MAX);
		assert_string_not_equal(wire_type_name(t), "UNKNOWN");

		make_hdr(hdr, WIRE_VERSION, t, 0, 0);
		assert_int_equal(wire_frame_check(hdr, &h), 0);
		make_hdr(hdr, WIRE_VERSION, t, 0, cap);
		assert_int_equal(wire_frame_check(hdr, &h), 0);
		assert_int_equal(h.len, cap);
		make_hdr(hdr, WIRE_VERSION, t, 0, cap + 1);
		assert_int_equal(wire_frame_check(hdr, &h), -EMSGSIZE);
		make_hdr(hdr, WIRE_VERSION, t, 0, WIRE_FRAME_MAX + 1);
		assert_int_equal(wire_frame_check(hdr, &h), -EMSGSIZE);
		/* The length's top byte counts: 16 MiB does not read as 0. */
		make_hdr(hdr, WIRE_VERSION, t, 0, 0x01000000);
		assert_int_equal(wire_frame_check(hdr, &h), -EMSGSIZE);
		make_hdr(hdr, WIRE_VERSION, t, 0, UINT32_MAX);
		assert_int_equal(wire_frame_check(hdr, &h), -EMSGSIZE);
	}
}

/*
 * The writer refuses what the header check would refuse: for every type a
 * payload of exactly the cap is finished and passes wire_frame_check, and
 * one byte more fails with -EMSGSIZE.
 */
static void
test_end_over_cap(void **state)
{
	struct wire_hdr h;
	struct buf b;
	uint32_t cap;
	uint8_t t;

	(void)state;
	buf_init(&b, FRAME_BUF_MAX);
	for (t = 1; t < WIRE_TYPE_MAX; t++) {
		cap = wire_max_len(t);
		assert_int_equal(wire_begin(&b, (enum wire_type)t), 0);
		assert_non_null(buf_extend(&b, cap));
		memset(b.data + WIRE_HDR_LEN, 0xa5, cap);
		assert_int_equal(wire_end(&b), 0);
		assert_int_equal(wire_frame_check((const uint8_t *)b.data, &h),
		    0);
		assert_int_equal(h.type, t);
		assert_int_equal(h.len, cap);

		assert_int_equal(wire_u8(&b, 0xa5), 0);
		assert_int_equal(wire_end(&b), -EMSGSIZE);
	}

	/* Not even a header: nothing to patch. */
	buf_reset(&b);
	assert_int_equal(wire_end(&b), -EINVAL);
	assert_int_equal(wire_fixed(&b, "\x01\x09\0\0\0\0\0", 7), 0);
	assert_int_equal(wire_end(&b), -EINVAL);
	buf_release(&b);
}

/* Once a read runs short the reader stays bad, even with bytes left. */
static void
test_reader_stays_bad(void **state)
{
	static const uint8_t raw[] = { 0x11, 0x22, 0x33 };
	char out[8];
	uint32_t n = 0;
	struct wire_rd r;
	uint8_t *p;

	(void)state;
	p = exact_copy(raw, sizeof(raw));
	wire_rd_init(&r, p, sizeof(raw));
	assert_int_equal(wire_get_u32(&r), 0);
	assert_true(r.bad);
	/* Three bytes are there, but no field after a failure is read. */
	assert_int_equal(wire_get_u8(&r), 0);
	assert_int_equal(wire_get_u16(&r), 0);
	assert_null(wire_get_fixed(&r, 0));
	assert_null(wire_get_bytes(&r, UINT32_MAX, &n));
	memset(out, 'x', sizeof(out));
	assert_int_equal(wire_get_str(&r, out, sizeof(out) - 1), -EPROTO);
	assert_int_equal(out[0], '\0');
	assert_true(r.bad);
	assert_int_equal(wire_rd_done(&r), -EPROTO);
	free(p);

	/* The same for a u64 whose second half is missing. */
	p = exact_copy("\x01\x02\x03\x04\x05", 5);
	wire_rd_init(&r, p, 5);
	(void)wire_get_u64(&r);
	assert_true(r.bad);
	assert_int_equal(wire_get_u8(&r), 0);
	assert_int_equal(wire_rd_done(&r), -EPROTO);
	free(p);
}

/* Bytes left over are an error even when every read succeeded. */
static void
test_done_needs_empty(void **state)
{
	static const uint8_t raw[] = { 0, 1, 2 };
	struct wire_rd r;

	(void)state;
	wire_rd_init(&r, raw, sizeof(raw));
	assert_int_equal(wire_get_u16(&r), 1);
	assert_false(r.bad);
	assert_int_equal(wire_rd_done(&r), -EPROTO);
	assert_int_equal(wire_get_u8(&r), 2);
	assert_int_equal(wire_rd_done(&r), 0);

	wire_rd_init(&r, raw, 0);
	assert_int_equal(wire_rd_done(&r), 0);
}

/* The field sequence the prefix test writes and reads. */
enum field { F_U8, F_U16, F_U32, F_U64, F_BYTES, F_STR, F_FIXED, F_EMPTY };

static const uint8_t prefix_blob[] = { 'x', 0, 'y' };
static const uint8_t prefix_fixed[] = { 9, 8, 7 };

static void
write_fields(struct buf *b, size_t *ends)
{
	assert_int_equal(wire_u8(b, 0xab), 0);
	ends[F_U8] = b->len;
	assert_int_equal(wire_u16(b, 0xbeef), 0);
	ends[F_U16] = b->len;
	assert_int_equal(wire_u32(b, 0xdeadbeef), 0);
	ends[F_U32] = b->len;
	assert_int_equal(wire_u64(b, 0x0123456789abcdefull), 0);
	ends[F_U64] = b->len;
	assert_int_equal(wire_bytes(b, prefix_blob, sizeof(prefix_blob)), 0);
	ends[F_BYTES] = b->len;
	assert_int_equal(wire_str(b, "path/a"), 0);
	ends[F_STR] = b->len;
	assert_int_equal(wire_fixed(b, prefix_fixed, sizeof(prefix_fixed)),
	    0);
	ends[F_FIXED] = b->len;
	assert_int_equal(wire_bytes(b, "", 0), 0);
	ends[F_EMPTY] = b->len;
}

/* A read inside the prefix gives the value; one past it leaves r bad. */
static void
check_int(const struct wire_rd *r, int inside, uint64_t got, uint64_t want)
{
	if (inside) {
		assert_false(r->bad);
		assert_true(got == want);
	} else
		assert_true(r->bad);
}

/*
 * Every prefix of a valid payload, in a heap copy of exactly that length:
 * the fields wholly inside it read back right, every later one fails, the
 * reader ends bad, and nothing past the copy is touched.
 */
static void
test_every_prefix(void **state)
{
	size_t ends[F_EMPTY + 1], n;
	const uint8_t *p;
	struct wire_rd r;
	struct buf b;
	char str[16];
	uint8_t *copy;
	uint32_t len;
	uint64_t v;
	int rc;

	(void)state;
	buf_init(&b, 1024);
	write_fields(&b, ends);

	for (n = 0; n <= b.len; n++) {
		copy = exact_copy(b.data, n);
		wire_rd_init(&r, copy, n);

		/* What a failed integer read returns is not promised. */
		v = wire_get_u8(&r);
		check_int(&r, n >= ends[F_U8], v, 0xab);
		v = wire_get_u16(&r);
		check_int(&r, n >= ends[F_U16], v, 0xbeef);
		v = wire_get_u32(&r);
		check_int(&r, n >= ends[F_U32], v, 0xdeadbeef);
		v = wire_get_u64(&r);
		check_int(&r, n >= ends[F_U64], v, 0x0123456789abcdefull);

		len = 0;
		p = wire_get_bytes(&r, 64, &len);
		if (n >= ends[F_BYTES]) {
			assert_non_null(p);
			assert_int_equal(len, sizeof(prefix_blob));
			assert_memory_equal(p, prefix_blob,
			    sizeof(prefix_blob));
		} else
			assert_null(p);

		rc = wire_get_str(&r, str, sizeof(str) - 1);
		if (n >= ends[F_STR]) {
			assert_int_equal(rc, 0);
			assert_string_equal(str, "path/a");
		} else {
			assert_int_equal(rc, -EPROTO);
			assert_string_equal(str, "");
		}

		p = wire_get_fixed(&r, sizeof(prefix_fixed));
		if (n >= ends[F_FIXED]) {
			assert_non_null(p);
			assert_memory_equal(p, prefix_fixed,
			    sizeof(prefix_fixed));
		} else
			assert_null(p);

		len = 99;
		p = wire_get_bytes(&r, 0, &len);
		if (n == b.len) {
			assert_non_null(p);
			assert_int_equal(len, 0);
			assert_false(r.bad);
			assert_int_equal(wire_rd_done(&r), 0);
		} else {
			assert_null(p);
			assert_true(r.bad);
			assert_int_equal(wire_rd_done(&r), -EPROTO);
		}
		free(copy);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ints_big_endian_round_trip),
		cmocka_unit_test(test_bytes_round_trip),
		cmocka_unit_test(test_bytes_over_max_is_bad),
		cmocka_unit_test(test_bytes_length_past_end),
		cmocka_unit_test(test_str_round_trip),
		cmocka_unit_test(test_str_longest),
		cmocka_unit_test(test_str_over_max_is_bad),
		cmocka_unit_test(test_str_with_nul_is_bad),
		cmocka_unit_test(test_fixed_round_trip),
		cmocka_unit_test(test_frame_build_and_parse),
		cmocka_unit_test(test_frame_check_version_type_flags),
		cmocka_unit_test(test_frame_check_length_caps),
		cmocka_unit_test(test_end_over_cap),
		cmocka_unit_test(test_reader_stays_bad),
		cmocka_unit_test(test_done_needs_empty),
		cmocka_unit_test(test_every_prefix),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
