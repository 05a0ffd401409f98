/*
 * Tests for vv: version vectors, the order that decides which copy of a
 * file wins and when two copies conflict.
 *
 * What sync relies on: vv_compare is the element-wise order on counters
 * (a missing node counts as 0), so BEFORE and AFTER mirror each other and
 * EQUAL and CONCURRENT are symmetric; a merge is at least as new as both
 * of its inputs; a bump makes a vector strictly newer than it was; the
 * encoding round-trips byte for byte, and decoding refuses anything that
 * is not a sorted, duplicate-free list of at most VV_MAX entries; a full
 * vector refuses a new writer with -ENOSPC rather than dropping one, and
 * vv_bump_compact folds it instead (the rule in vv.h): the folded vector
 * is AFTER the one it was made from and every ancestor's descendant in
 * turn, never BEFORE or EQUAL to anything it does not descend from, and
 * still CONCURRENT with a version made concurrently.
 *
 * The law tests run over vectors drawn with a fixed-seed generator from a
 * small pool of ids and small counters, so that equal, ordered and
 * concurrent pairs all occur often, and check vv_compare against a plain
 * per-id model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/vv.h"

#define POOL		6	/* distinct ids in the law tests */
#define ROUNDS		2000
#define REC_LEN		(NODE_ID_LEN + 8)

/* The id of node k: ids sort in the order of k. */
static void
make_id(uint8_t id[NODE_ID_LEN], unsigned k)
{
	memset(id, 0x5a, NODE_ID_LEN);
	id[0] = (uint8_t)(k >> 8);
	id[1] = (uint8_t)k;
}

static uint8_t *
exact_copy(const void *s, size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, s, n);
	return (p);
}

/* xorshift64: the same sequence on every run. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/*
 * A vector with counters c[k] for the pool ids, built the way nodes build
 * them: by bumps, in a shuffled order of ids.
 */
static void
build(struct vv *v, const uint64_t c[POOL], uint64_t *seed)
{
	uint8_t id[NODE_ID_LEN];
	uint64_t left[POOL];
	unsigned k, total = 0;

	vv_clear(v);
	for (k = 0; k < POOL; k++) {
		left[k] = c[k];
		total += (unsigned)c[k];
	}
	while (total > 0) {
		k = (unsigned)(next_rand(seed) % POOL);
		if (left[k] == 0)
			continue;
		make_id(id, k);
		assert_int_equal(vv_bump(v, id), 0);
		left[k]--;
		total--;
	}
	for (k = 0; k < POOL; k++) {
		make_id(id, k);
		assert_true(vv_get(v, id) == c[k]);
	}
}

static void
draw(uint64_t c[POOL], uint64_t *seed)
{
	unsigned k;

	for (k = 0; k < POOL; k++)
		c[k] = next_rand(seed) % 3;
}

static enum vv_order
model_compare(const uint64_t a[POOL], const uint64_t b[POOL])
{
	int a_more = 0, b_more = 0;
	unsigned k;

	for (k = 0; k < POOL; k++) {
		a_more |= a[k] > b[k];
		b_more |= b[k] > a[k];
	}
	if (a_more && b_more)
		return (VV_CONCURRENT);
	return (a_more ? VV_AFTER : b_more ? VV_BEFORE : VV_EQUAL);
}

static enum vv_order
mirror(enum vv_order o)
{
	return (o == VV_BEFORE ? VV_AFTER : o == VV_AFTER ? VV_BEFORE : o);
}

/* Equal as vectors, and encoded to the same bytes. */
static void
assert_vv_same(const struct vv *a, const struct vv *b)
{
	uint8_t ea[VV_ENC_MAX], eb[VV_ENC_MAX];
	size_t na, nb;

	assert_int_equal(vv_compare(a, b), VV_EQUAL);
	na = vv_encode(a, ea);
	nb = vv_encode(b, eb);
	assert_int_equal(na, nb);
	assert_memory_equal(ea, eb, na);
}

static void
test_compare_examples(void **state)
{
	uint8_t x[NODE_ID_LEN], y[NODE_ID_LEN];
	struct vv empty, a, b;

	(void)state;
	make_id(x, 1);
	make_id(y, 2);
	vv_clear(&empty);
	assert_int_equal(vv_compare(&empty, &empty), VV_EQUAL);
	assert_true(vv_get(&empty, x) == 0);

	vv_clear(&a);
	assert_int_equal(vv_bump(&a, x), 0);
	assert_true(vv_get(&a, x) == 1);
	assert_true(vv_get(&a, y) == 0);
	assert_int_equal(vv_compare(&empty, &a), VV_BEFORE);
	assert_int_equal(vv_compare(&a, &empty), VV_AFTER);

	/* Two nodes each changed the file without seeing the other. */
	vv_clear(&b);
	assert_int_equal(vv_bump(&b, y), 0);
	assert_int_equal(vv_compare(&a, &b), VV_CONCURRENT);
	assert_int_equal(vv_compare(&b, &a), VV_CONCURRENT);

	/* y saw x's change, then changed it again. */
	assert_int_equal(vv_merge(&b, &a), 0);
	assert_int_equal(vv_compare(&a, &b), VV_BEFORE);
	assert_int_equal(vv_compare(&b, &a), VV_AFTER);

	/* x changes it again meanwhile: a conflict on an older base. */
	assert_int_equal(vv_bump(&a, x), 0);
	assert_true(vv_get(&a, x) == 2);
	assert_int_equal(vv_compare(&a, &b), VV_CONCURRENT);
}

/*
 * vv_compare matches the model; BEFORE and AFTER mirror each other and
 * EQUAL and CONCURRENT are symmetric; a vector equals itself.
 */
static void
test_compare_laws(void **state)
{
	uint64_t ca[POOL], cb[POOL], seed = 0x9e3779b97f4a7c15ull;
	unsigned i, seen[4] = { 0 };
	enum vv_order ab, ba;
	struct vv a, b;

	(void)state;
	for (i = 0; i < ROUNDS; i++) {
		draw(ca, &seed);
		draw(cb, &seed);
		build(&a, ca, &seed);
		build(&b, cb, &seed);

		ab = vv_compare(&a, &b);
		ba = vv_compare(&b, &a);
		assert_int_equal(ab, model_compare(ca, cb));
		assert_int_equal(ba, mirror(ab));
		assert_int_equal(ab == VV_BEFORE, ba == VV_AFTER);
		assert_int_equal(ab == VV_AFTER, ba == VV_BEFORE);
		assert_int_equal(vv_compare(&a, &a), VV_EQUAL);
		seen[ab]++;
	}
	/* The draw is only a test if it produced every answer. */
	for (i = 0; i < 4; i++)
		assert_true(seen[i] > 0);
}

/*
 * A merge holds the larger counter of each id, is newer than or equal to
 * both inputs, and does not depend on the order or on repeating it.
 */
static void
test_merge_dominates(void **state)
{
	uint64_t ca[POOL], cb[POOL], seed = 0x2545f4914f6cdd1dull;
	uint8_t id[NODE_ID_LEN];
	struct vv a, b, ab, ba, again;
	enum vv_order o;
	unsigned i, k;

	(void)state;
	for (i = 0; i < ROUNDS; i++) {
		draw(ca, &seed);
		draw(cb, &seed);
		build(&a, ca, &seed);
		build(&b, cb, &seed);

		ab = a;
		assert_int_equal(vv_merge(&ab, &b), 0);
		ba = b;
		assert_int_equal(vv_merge(&ba, &a), 0);
		for (k = 0; k < POOL; k++) {
			make_id(id, k);
			assert_true(vv_get(&ab, id) ==
			    (ca[k] > cb[k] ? ca[k] : cb[k]));
		}
		o = vv_compare(&ab, &a);
		assert_true(o == VV_EQUAL || o == VV_AFTER);
		o = vv_compare(&ab, &b);
		assert_true(o == VV_EQUAL || o == VV_AFTER);
		/* Equal to an input exactly when that input was not older. */
		assert_int_equal(vv_compare(&ab, &a) == VV_EQUAL,
		    vv_compare(&a, &b) != VV_BEFORE &&
		    vv_compare(&a, &b) != VV_CONCURRENT);
		assert_vv_same(&ab, &ba);
		again = ab;
		assert_int_equal(vv_merge(&again, &b), 0);
		assert_int_equal(vv_merge(&again, &again), 0);
		assert_vv_same(&again, &ab);
	}
}

/* A bump is a new version: strictly after the old one, from any start. */
static void
test_bump_makes_after(void **state)
{
	uint64_t ca[POOL], seed = 0x123456789abcdefull;
	uint8_t id[NODE_ID_LEN], other[NODE_ID_LEN];
	struct vv a, b;
	unsigned i, k;

	(void)state;
	for (i = 0; i < ROUNDS; i++) {
		draw(ca, &seed);
		build(&a, ca, &seed);
		k = (unsigned)(next_rand(&seed) % POOL);
		make_id(id, k);
		make_id(other, (k + 1) % POOL);
		b = a;
		assert_int_equal(vv_bump(&b, id), 0);
		assert_int_equal(vv_compare(&b, &a), VV_AFTER);
		assert_int_equal(vv_compare(&a, &b), VV_BEFORE);
		assert_true(vv_get(&b, id) == ca[k] + 1);
		assert_true(vv_get(&b, other) == vv_get(&a, other));
	}
}

/* Large counters survive: the encoding is 64-bit big-endian. */
static void
test_encode_layout(void **state)
{
	uint8_t x[NODE_ID_LEN], y[NODE_ID_LEN], enc[VV_ENC_MAX];
	uint8_t want[2 * REC_LEN];
	struct vv v, w;
	size_t n;

	(void)state;
	make_id(x, 3);
	make_id(y, 1);
	memset(want, 0, sizeof(want));
	memcpy(want, y, NODE_ID_LEN);
	want[REC_LEN - 1] = 1;
	memcpy(want + REC_LEN, x, NODE_ID_LEN);
	want[REC_LEN + NODE_ID_LEN] = 0x01;
	want[REC_LEN + NODE_ID_LEN + 7] = 0x02;

	/* Bumped out of order, encoded sorted by id. */
	vv_clear(&v);
	assert_int_equal(vv_bump(&v, x), 0);
	assert_int_equal(vv_bump(&v, y), 0);
	assert_int_equal(vv_decode(&w, want, sizeof(want)), 0);
	assert_true(vv_get(&w, x) == 0x0100000000000002ull);
	assert_true(vv_get(&w, y) == 1);
	assert_int_equal(vv_merge(&v, &w), 0);
	n = vv_encode(&v, enc);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(enc, want, sizeof(want));

	vv_clear(&v);
	assert_int_equal(vv_encode(&v, enc), 0);
}

static void
test_encode_decode_round_trip(void **state)
{
	uint64_t ca[POOL], seed = 0xfeedfacecafebeefull;
	uint8_t id[NODE_ID_LEN], enc[VV_ENC_MAX], enc2[VV_ENC_MAX];
	struct vv a, d;
	size_t n;
	unsigned i;

	(void)state;
	for (i = 0; i < 200; i++) {
		draw(ca, &seed);
		build(&a, ca, &seed);
		n = vv_encode(&a, enc);
		assert_int_equal(n, a.n * REC_LEN);
		assert_int_equal(vv_decode(&d, enc, n), 0);
		assert_int_equal(d.n, a.n);
		assert_vv_same(&a, &d);
		assert_int_equal(vv_encode(&d, enc2), n);
		assert_memory_equal(enc, enc2, n);
	}

	/* A full vector with counters that need all 64 bits. */
	vv_clear(&a);
	for (i = 0; i < VV_MAX; i++) {
		make_id(id, VV_MAX - i);
		assert_int_equal(vv_bump(&a, id), 0);
	}
	n = vv_encode(&a, enc);
	assert_int_equal(n, VV_ENC_MAX);
	for (i = 0; i < VV_MAX; i++)
		memset(enc + i * REC_LEN + NODE_ID_LEN, 0xff - i, 8);
	assert_int_equal(vv_decode(&d, enc, n), 0);
	assert_int_equal(d.n, VV_MAX);
	make_id(id, 1);
	assert_true(vv_get(&d, id) == UINT64_MAX);
	assert_int_equal(vv_encode(&d, enc2), n);
	assert_memory_equal(enc, enc2, n);

	assert_int_equal(vv_decode(&d, enc, 0), 0);
	assert_int_equal(d.n, 0);
}

/* Three sorted records, the base for the refusal tests. */
static void
make_records(uint8_t *p, const unsigned *ks, size_t n)
{
	size_t i;

	memset(p, 0, n * REC_LEN);
	for (i = 0; i < n; i++) {
		make_id(p + i * REC_LEN, ks[i]);
		p[i * REC_LEN + REC_LEN - 1] = (uint8_t)(i + 1);
	}
}

static void
test_decode_refuses_order(void **state)
{
	static const unsigned sorted[] = { 1, 2, 3 };
	static const unsigned bad[][3] = {
		{ 2, 1, 3 },	/* descending at the start */
		{ 1, 3, 2 },	/* descending at the end */
		{ 1, 1, 3 },	/* duplicate */
		{ 1, 3, 3 },	/* duplicate at the end */
		{ 3, 2, 1 },
	};
	uint8_t raw[3 * REC_LEN];
	struct vv v;
	size_t i;

	(void)state;
	make_records(raw, sorted, 3);
	assert_int_equal(vv_decode(&v, raw, sizeof(raw)), 0);
	assert_int_equal(v.n, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_records(raw, bad[i], 3);
		assert_int_equal(vv_decode(&v, raw, sizeof(raw)), -EINVAL);
	}

	/* Ids that differ only in their last byte are still ordered. */
	make_records(raw, sorted, 2);
	raw[NODE_ID_LEN - 1] = 0x02;
	raw[REC_LEN + NODE_ID_LEN - 1] = 0x01;
	raw[REC_LEN + 1] = raw[1];
	assert_int_equal(vv_decode(&v, raw, 2 * REC_LEN), -EINVAL);
	raw[REC_LEN + NODE_ID_LEN - 1] = 0x03;
	assert_int_equal(vv_decode(&v, raw, 2 * REC_LEN), 0);
}

static void
test_decode_refuses_length(void **state)
{
	static const size_t lens[] = { 1, NODE_ID_LEN, REC_LEN - 1,
	    REC_LEN + 1, 2 * REC_LEN - 1, VV_ENC_MAX - 1, VV_ENC_MAX + 1 };
	uint8_t raw[(VV_MAX + 1) * REC_LEN];
	unsigned ks[VV_MAX + 1];
	struct vv v;
	size_t i;

	(void)state;
	for (i = 0; i < VV_MAX + 1; i++)
		ks[i] = (unsigned)i + 1;
	make_records(raw, ks, VV_MAX + 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_int_equal(vv_decode(&v, raw, lens[i]), -EINVAL);

	/* Sorted and whole, but one writer more than a vector holds. */
	assert_int_equal(vv_decode(&v, raw, VV_ENC_MAX), 0);
	assert_int_equal(v.n, VV_MAX);
	assert_int_equal(vv_decode(&v, raw, sizeof(raw)), -EINVAL);
}

/*
 * Every prefix of a valid encoding, in a heap copy of exactly that length:
 * whole records decode to the first records, a partial one is refused, and
 * nothing past the copy is read.
 */
static void
test_decode_every_prefix(void **state)
{
	static const unsigned ks[] = { 1, 4, 9 };
	uint8_t raw[3 * REC_LEN], id[NODE_ID_LEN], *copy;
	struct vv v;
	size_t n, i;

	(void)state;
	make_records(raw, ks, 3);
	for (n = 0; n <= sizeof(raw); n++) {
		copy = exact_copy(raw, n);
		if (n % REC_LEN != 0)
			assert_int_equal(vv_decode(&v, copy, n), -EINVAL);
		else {
			assert_int_equal(vv_decode(&v, copy, n), 0);
			assert_int_equal(v.n, n / REC_LEN);
			for (i = 0; i < 3; i++) {
				make_id(id, ks[i]);
				assert_true(vv_get(&v, id) ==
				    (i < v.n ? i + 1 : 0));
			}
		}
		free(copy);
	}
}

/* A full vector refuses a new writer and keeps every one it had. */
static void
test_cap(void **state)
{
	uint8_t id[NODE_ID_LEN], enc[VV_ENC_MAX], enc2[VV_ENC_MAX];
	struct vv full, v, src;
	unsigned i;
	size_t n;

	(void)state;
	vv_clear(&full);
	for (i = 0; i < VV_MAX; i++) {
		make_id(id, 2 * i + 1);
		assert_int_equal(vv_bump(&full, id), 0);
	}
	assert_int_equal(full.n, VV_MAX);
	n = vv_encode(&full, enc);

	/* New ids below, between and above the present ones. */
	v = full;
	for (i = 0; i <= 2 * VV_MAX; i += VV_MAX / 2) {
		make_id(id, i);
		assert_int_equal(vv_bump(&v, id), -ENOSPC);
		assert_true(vv_get(&v, id) == 0);
	}
	assert_int_equal(vv_encode(&v, enc2), n);
	assert_memory_equal(enc, enc2, n);

	/* A writer already present still counts up. */
	make_id(id, 1);
	assert_int_equal(vv_bump(&v, id), 0);
	assert_true(vv_get(&v, id) == 2);
	assert_int_equal(vv_compare(&v, &full), VV_AFTER);

	/* Merging a new writer into a full vector. */
	vv_clear(&src);
	make_id(id, 2);
	assert_int_equal(vv_bump(&src, id), 0);
	v = full;
	assert_int_equal(vv_merge(&v, &src), -ENOSPC);
	assert_true(vv_get(&v, id) == 0);
	/* ...but newer counters of present writers merge in. */
	vv_clear(&src);
	make_id(id, 3);
	assert_int_equal(vv_bump(&src, id), 0);
	assert_int_equal(vv_bump(&src, id), 0);
	assert_int_equal(vv_merge(&v, &src), 0);
	assert_true(vv_get(&v, id) == 2);

	/* Two halves make exactly a full vector. */
	vv_clear(&v);
	vv_clear(&src);
	for (i = 0; i < VV_MAX; i++) {
		make_id(id, 2 * i + 1);
		assert_int_equal(vv_bump(i % 2 ? &v : &src, id), 0);
	}
	assert_int_equal(vv_merge(&v, &src), 0);
	assert_vv_same(&v, &full);
}

/* Writers 1..VV_MAX, each once, in order: a full vector. */
static void
make_full(struct vv *v)
{
	uint8_t id[NODE_ID_LEN];
	unsigned i;

	vv_clear(v);
	for (i = 0; i < VV_MAX; i++) {
		make_id(id, i + 1);
		assert_int_equal(vv_bump(v, id), 0);
		if (i % 3 == 0)	/* counters differ: the fold picks lows */
			assert_int_equal(vv_bump(v, id), 0);
	}
	assert_int_equal(v->n, VV_MAX);
}

/* The 33rd writer of a path folds the vector instead of failing. */
static void
test_fold_new_writer(void **state)
{
	uint8_t id[NODE_ID_LEN], enc[VV_ENC_MAX];
	struct vv full, v, d, other;
	unsigned i;

	(void)state;
	make_full(&full);
	v = full;
	make_id(id, 100);
	assert_int_equal(vv_bump_compact(&v, id), 0);
	assert_true(vv_get(&v, id) == 1);
	assert_true(v.n <= VV_KEEP + 1);
	/* The writers that wrote most are kept. */
	for (i = 0; i < VV_MAX; i += 3) {
		make_id(id, i + 1);
		if (i / 3 < VV_KEEP - 1)
			assert_true(vv_get(&v, id) == 2);
	}
	assert_int_equal(vv_compare(&v, &full), VV_AFTER);
	assert_int_equal(vv_compare(&full, &v), VV_BEFORE);
	assert_int_equal(vv_compare(&v, &v), VV_EQUAL);
	/* It survives the wire. */
	assert_int_equal(vv_decode(&d, enc, vv_encode(&v, enc)), 0);
	assert_int_equal(vv_compare(&d, &full), VV_AFTER);

	/* A writer already present is bumped without a fold. */
	d = full;
	make_id(id, 5);
	assert_int_equal(vv_bump_compact(&d, id), 0);
	assert_int_equal(d.n, VV_MAX);
	assert_int_equal(vv_compare(&d, &full), VV_AFTER);

	/* A version made concurrently from the full one stays concurrent
	 * with the folded one, both ways, and with its descendants. */
	other = full;
	make_id(id, 7);
	assert_int_equal(vv_bump(&other, id), 0);
	assert_int_equal(vv_compare(&v, &other), VV_CONCURRENT);
	assert_int_equal(vv_compare(&other, &v), VV_CONCURRENT);
	d = v;
	make_id(id, 100);
	assert_int_equal(vv_bump_compact(&d, id), 0);
	assert_int_equal(vv_compare(&d, &other), VV_CONCURRENT);
	/* Merging a folded vector into the one it came from gives it. */
	d = full;
	assert_int_equal(vv_merge(&d, &v), 0);
	assert_int_equal(vv_compare(&d, &v), VV_EQUAL);
	d = v;
	assert_int_equal(vv_merge(&d, &full), 0);
	assert_int_equal(vv_compare(&d, &v), VV_EQUAL);
	/* Two nodes folding the same vector concurrently: a conflict. */
	other = full;
	make_id(id, 101);
	assert_int_equal(vv_bump_compact(&other, id), 0);
	assert_int_equal(vv_compare(&v, &other), VV_CONCURRENT);
	assert_int_equal(vv_compare(&other, &v), VV_CONCURRENT);
}

/* Folds in a row: each version is AFTER the one it was made from, and
 * later descendants still know the vector their base names. */
static void
test_fold_chain(void **state)
{
	uint8_t id[NODE_ID_LEN];
	struct vv cur, prev, base;
	unsigned i;

	(void)state;
	make_full(&cur);
	base = cur;
	for (i = 0; i < 4 * VV_MAX; i++) {
		prev = cur;
		make_id(id, 200 + i);
		assert_int_equal(vv_bump_compact(&cur, id), 0);
		assert_true(cur.n <= VV_MAX);
		assert_int_equal(vv_compare(&cur, &prev), VV_AFTER);
		assert_int_equal(vv_compare(&prev, &cur), VV_BEFORE);
		if (i == 0)
			assert_int_equal(vv_compare(&cur, &base), VV_AFTER);
	}
	/* The writer of the first fold writes again: it is still after. */
	prev = cur;
	make_id(id, 200 + 4 * VV_MAX - 1);
	assert_int_equal(vv_bump_compact(&cur, id), 0);
	assert_int_equal(vv_compare(&cur, &prev), VV_AFTER);
}

/* A counter at its maximum is not bumped: wrapping would make a new
 * version compare older than the one it replaces. */
static void
test_bump_refuses_wrap(void **state)
{
	uint8_t enc[NODE_ID_LEN + 8];
	struct vv v, before;

	(void)state;
	memset(enc, 0x11, NODE_ID_LEN);
	memset(enc + NODE_ID_LEN, 0xff, 8);
	assert_int_equal(vv_decode(&v, enc, sizeof(enc)), 0);
	before = v;
	assert_int_equal(vv_bump(&v, enc), -EOVERFLOW);
	assert_int_equal(vv_compare(&v, &before), VV_EQUAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_examples),
		cmocka_unit_test(test_fold_new_writer),
		cmocka_unit_test(test_fold_chain),
		cmocka_unit_test(test_compare_laws),
		cmocka_unit_test(test_merge_dominates),
		cmocka_unit_test(test_bump_makes_after),
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_encode_decode_round_trip),
		cmocka_unit_test(test_decode_refuses_order),
		cmocka_unit_test(test_decode_refuses_length),
		cmocka_unit_test(test_decode_every_prefix),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_bump_refuses_wrap),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
