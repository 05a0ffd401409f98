/*
 * place (rendezvous placement) and catalog (who holds what).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cluster/catalog.h"
#include "cluster/place.h"

static void
make_view(struct place_view *v, unsigned n, unsigned replicas)
{
	unsigned i;

	memset(v, 0, sizeof(*v));
	v->replicas = replicas;
	v->n = n;
	v->self = 0;
	for (i = 0; i < n; i++) {
		memset(v->nodes[i].id, (int)(0x11 * (i + 1)), NODE_ID_LEN);
		v->nodes[i].id[0] = (uint8_t)i;
		v->nodes[i].weight = 1.0;
	}
}

static void
ids_of(const struct place_view *v, uint64_t key, unsigned want,
    uint8_t out[][NODE_ID_LEN])
{
	unsigned h[PLACE_MAX], n, i;

	n = place_holders(v, key, NULL, NULL, h, PLACE_MAX);
	assert_int_equal(n, want);
	for (i = 0; i < n && i < want; i++)	/* out has room for want */
		memcpy(out[i], v->nodes[h[i]].id, NODE_ID_LEN);
}

/* Node 0 (ids start with their index) holds every file. */
static bool
holds_first(void *arg, const uint8_t id[NODE_ID_LEN])
{
	(void)arg;
	return (id[0] == 0);
}

static void
test_holders_distinct_and_bounded(void **state)
{
	struct place_view v;
	unsigned h[PLACE_MAX], n, k, i, j;
	char path[32];

	(void)state;
	make_view(&v, 5, 2);
	for (k = 0; k < 1000; k++) {
		snprintf(path, sizeof(path), "f%u", k);
		n = place_holders(&v, place_key(path), NULL, NULL, h,
		    PLACE_MAX);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				assert_int_not_equal(h[i], h[j]);
	}
	/* Fewer candidates than copies: all of them. */
	make_view(&v, 1, 3);
	assert_int_equal(place_holders(&v, place_key("x"), NULL, NULL, h,
	    PLACE_MAX), 1);
	/* replicas = all: every node. */
	make_view(&v, 4, 0);
	assert_int_equal(place_holders(&v, place_key("x"), NULL, NULL, h,
	    PLACE_MAX), 4);
	assert_true(place_mine(&v, place_key("x")));
	/* A full node gets no new copies, but keeps the ones it has. */
	v.replicas = 1;
	for (i = 1; i < 4; i++)
		v.nodes[i].full = true;
	v.nodes[0].full = false;
	assert_true(place_mine(&v, place_key("x")));
	v.nodes[0].full = true;
	v.nodes[1].full = false;
	assert_false(place_mine(&v, place_key("x")));
	assert_int_equal(place_holders(&v, place_key("x"), holds_first, NULL,
	    h, PLACE_MAX), 1);
	assert_true(h[0] == 0 || h[0] == 1);
	v.nodes[1].full = true;
	assert_int_equal(place_holders(&v, place_key("x"), holds_first, NULL,
	    h, PLACE_MAX), 1);
	assert_int_equal(h[0], 0);
}

/* The same candidates in another order give the same holders. */
static void
test_order_does_not_matter(void **state)
{
	struct place_view a, b;
	uint8_t x[3][NODE_ID_LEN], y[3][NODE_ID_LEN];
	unsigned k, i;
	char path[32];

	(void)state;
	make_view(&a, 6, 3);
	b = a;
	for (i = 0; i < 6; i++)
		b.nodes[i] = a.nodes[5 - i];
	for (k = 0; k < 500; k++) {
		snprintf(path, sizeof(path), "dir/file-%u", k);
		ids_of(&a, place_key(path), 3, x);
		ids_of(&b, place_key(path), 3, y);
		assert_memory_equal(x, y, sizeof(x));
	}
}

/* A node leaving moves only the files it held. */
static void
test_leaving_moves_little(void **state)
{
	struct place_view all, less;
	uint8_t x[2][NODE_ID_LEN], y[2][NODE_ID_LEN];
	unsigned k, moved = 0, had = 0, i;
	char path[32];

	(void)state;
	make_view(&all, 5, 2);
	less = all;
	less.n = 4;	/* the last node is gone */
	for (k = 0; k < 2000; k++) {
		bool held = false;

		snprintf(path, sizeof(path), "%u.bin", k);
		ids_of(&all, place_key(path), 2, x);
		ids_of(&less, place_key(path), 2, y);
		for (i = 0; i < 2; i++)
			if (memcmp(x[i], all.nodes[4].id, NODE_ID_LEN) == 0)
				held = true;
		if (!held) {
			/* Untouched files keep both holders, in order. */
			assert_memory_equal(x, y, sizeof(x));
			continue;
		}
		had++;
		/* The surviving holder stays a holder. */
		for (i = 0; i < 2; i++)
			if (memcmp(x[i], all.nodes[4].id, NODE_ID_LEN) != 0)
				assert_true(memcmp(x[i], y[0], NODE_ID_LEN) ==
				    0 || memcmp(x[i], y[1], NODE_ID_LEN) == 0);
		moved++;
	}
	/* About 2/5 of the files had a copy there. */
	assert_true(had > 600 && had < 1000);
	assert_int_equal(moved, had);
}

/* A node of weight 2 gets about twice the files. */
static void
test_weight(void **state)
{
	struct place_view v;
	unsigned h[1], k, count[3] = { 0 };
	char path[32];

	(void)state;
	make_view(&v, 3, 1);
	v.nodes[2].weight = 2.0;
	for (k = 0; k < 20000; k++) {
		snprintf(path, sizeof(path), "w%u", k);
		assert_int_equal(place_holders(&v, place_key(path), NULL,
		    NULL, h, 1), 1);
		count[h[0]]++;
	}
	/* Expected shares 1/4, 1/4, 1/2. */
	assert_true(count[0] > 4500 && count[0] < 5500);
	assert_true(count[1] > 4500 && count[1] < 5500);
	assert_true(count[2] > 9300 && count[2] < 10700);
}

static void
test_catalog_holders(void **state)
{
	struct catalog *c = catalog_new();
	struct file_meta m, old, mine;
	uint8_t a[NODE_ID_LEN], b[NODE_ID_LEN];
	struct cat_entry *e;

	(void)state;
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	memset(&m, 0, sizeof(m));
	m.type = ENTRY_FILE;
	m.size = 10;
	memset(m.sha256, 1, HASH_LEN);
	old = m;
	memset(old.sha256, 2, HASH_LEN);
	/* A member's announcement can come before our own row. */
	catalog_peer(c, "x", a, &m);
	assert_non_null(e = catalog_find(c, "x"));
	assert_false(e->live);
	mine = m;
	mine.remote = true;	/* we only record it */
	catalog_self(c, "x", &mine);
	assert_true(e->live);
	assert_false(e->held);
	assert_true(catalog_holds(e, a));
	/* b holds an older version: not a holder of the current one. */
	catalog_peer(c, "x", b, &old);
	assert_false(catalog_holds(e, b));
	/* a drops its copy. */
	m.remote = true;
	catalog_peer(c, "x", a, &m);
	assert_false(catalog_holds(e, a));
	/* A deletion of ours removes the entry. */
	catalog_self(c, "x", &(struct file_meta){ .deleted = true });
	assert_null(catalog_find(c, "x"));
	catalog_free(c);
}

static void
test_catalog_pins(void **state)
{
	struct catalog *c = catalog_new();

	(void)state;
	assert_int_equal(catalog_pin(c, "dir", true), 0);
	assert_int_equal(catalog_pin(c, "dir", true), 0);
	assert_true(catalog_pinned(c, "dir"));
	assert_true(catalog_pinned(c, "dir/a/b"));
	assert_false(catalog_pinned(c, "dirt"));
	assert_false(catalog_pinned(c, "di"));
	assert_int_equal(catalog_pin(c, "dir", false), 0);
	assert_int_equal(catalog_pin(c, "dir", false), -ENOENT);
	assert_false(catalog_pinned(c, "dir/a"));
	catalog_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holders_distinct_and_bounded),
		cmocka_unit_test(test_order_does_not_matter),
		cmocka_unit_test(test_leaving_moves_little),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_catalog_holders),
		cmocka_unit_test(test_catalog_pins),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
