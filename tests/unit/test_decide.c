/*
 * decide: the sync and repair rules as tables.
 *
 * Each row of a table is one situation (this node's row and a peer's
 * entry, two concurrent versions, a path and its losing version, the
 * facts of one catalog entry) and what every node must do with it.
 * Versions are written as the counters of two writers, A and B: {2, 1}
 * after {1, 1}, {2, 0} concurrent with {1, 1}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/decide.h"
#include "cluster/members.h"

#define ID_A 0x11
#define ID_B 0x22

/* One side of a situation. */
struct side {
	uint8_t type; /* ENTRY_FILE or ENTRY_DIR */
	bool deleted;
	bool remote; /* a row held elsewhere */
	int64_t mtime_s;
	uint8_t writer;	 /* first byte of modified_by */
	uint8_t content; /* every byte of sha256 */
	unsigned a, b;	 /* version counters of A and B */
};

static void
make_meta(struct file_meta *m, const struct side *s)
{
	uint8_t id[NODE_ID_LEN];
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->type = s->type;
	m->deleted = s->deleted;
	m->remote = s->remote;
	m->mtime_ns = s->mtime_s * 1000000000;
	memset(m->modified_by, s->writer, NODE_ID_LEN);
	memset(m->sha256, s->content, HASH_LEN);
	vv_clear(&m->vv);
	memset(id, ID_A, sizeof(id));
	for (i = 0; i < s->a; i++)
		assert_int_equal(vv_bump(&m->vv, id), 0);
	memset(id, ID_B, sizeof(id));
	for (i = 0; i < s->b; i++)
		assert_int_equal(vv_bump(&m->vv, id), 0);
}

/* A view in which this node holds every new file, or none. */
static void
make_view(struct place_view *v, bool mine)
{
	memset(v, 0, sizeof(*v));
	v->n = 1;
	v->nodes[0].weight = 1.0;
	if (mine) {
		v->replicas = 0; /* every node holds all */
		v->self = 0;
	} else {
		v->replicas = 1;
		v->self = -1; /* the one holder is another node */
	}
}

#define F ENTRY_FILE
#define D ENTRY_DIR

/* clang-format off */
static const struct entry_case {
	const char *what;
	bool have; /* this node has a row */
	struct side l, r;
	bool mine;
	enum decide_act act;
	bool conflict, merge, set_aside;
} entry_cases[] = {
	{ "new file, placed here", false, { 0 },
	    { F, false, false, 10, ID_A, 1, 1, 0 }, true, DECIDE_FETCH, false,
	    false, false },
	{ "new file, placed elsewhere", false, { 0 },
	    { F, false, false, 10, ID_A, 1, 1, 0 }, false, DECIDE_ROW, false,
	    false, false },
	{ "new folder", false, { 0 }, { D, false, false, 10, ID_A, 0, 1, 0 },
	    false, DECIDE_DIR, false, false, false },
	{ "deletion of a path never seen", false, { 0 },
	    { F, true, false, 10, ID_A, 0, 2, 0 }, true, DECIDE_DELETE, false,
	    false, false },
	{ "the same version", true, { F, false, false, 10, ID_A, 1, 1, 1 },
	    { F, false, false, 10, ID_A, 1, 1, 1 }, true, DECIDE_IGNORE,
	    false, false, false },
	{ "an older version", true, { F, false, false, 20, ID_B, 2, 1, 2 },
	    { F, false, false, 10, ID_A, 1, 1, 1 }, true, DECIDE_IGNORE,
	    false, false, false },
	{ "an older deletion", true, { F, false, false, 20, ID_B, 2, 1, 2 },
	    { F, true, false, 10, ID_A, 0, 1, 1 }, true, DECIDE_IGNORE, false,
	    false, false },
	{ "newer, content already here", true,
	    { F, false, false, 10, ID_A, 1, 1, 0 },
	    { F, false, false, 10, ID_B, 1, 1, 1 }, true, DECIDE_ADOPT, false,
	    false, false },
	{ "newer content, placed here", true,
	    { F, false, false, 10, ID_A, 1, 1, 0 },
	    { F, false, false, 20, ID_B, 2, 1, 1 }, true, DECIDE_FETCH, false,
	    false, false },
	{ "newer content, placed elsewhere", true,
	    { F, false, true, 10, ID_A, 1, 1, 0 },
	    { F, false, false, 20, ID_B, 2, 1, 1 }, false, DECIDE_ROW, false,
	    false, false },
	{ "newer deletion", true, { F, false, false, 10, ID_A, 1, 1, 0 },
	    { F, true, false, 20, ID_B, 0, 1, 1 }, true, DECIDE_DELETE, false,
	    false, false },
	{ "a file replaced by a folder", true,
	    { F, false, false, 10, ID_A, 1, 1, 0 },
	    { D, false, false, 20, ID_B, 0, 1, 1 }, true, DECIDE_DIR, false,
	    false, false },
	{ "concurrent, same content: no conflict", true,
	    { F, false, false, 10, ID_A, 1, 2, 0 },
	    { F, false, false, 30, ID_B, 1, 1, 1 }, true, DECIDE_ADOPT, false,
	    false, false },
	{ "concurrent folders", true, { D, false, false, 10, ID_A, 0, 2, 0 },
	    { D, false, false, 30, ID_B, 0, 1, 1 }, true, DECIDE_ADOPT, false,
	    false, false },
	{ "concurrent deletions", true, { F, true, false, 10, ID_A, 0, 2, 0 },
	    { F, true, false, 30, ID_B, 0, 1, 1 }, true, DECIDE_ADOPT, false,
	    false, false },
	{ "conflict, theirs later: ours set aside", true,
	    { F, false, false, 10, ID_A, 1, 2, 0 },
	    { F, false, false, 30, ID_B, 2, 1, 1 }, true, DECIDE_FETCH, true,
	    true, true },
	{ "conflict, theirs later, placed elsewhere", true,
	    { F, false, false, 10, ID_A, 1, 2, 0 },
	    { F, false, false, 30, ID_B, 2, 1, 1 }, false, DECIDE_ROW, true,
	    true, true },
	{ "conflict, theirs later, ours held elsewhere", true,
	    { F, false, true, 10, ID_A, 1, 2, 0 },
	    { F, false, false, 30, ID_B, 2, 1, 1 }, true, DECIDE_FETCH, true,
	    true, false },
	{ "conflict, ours later: theirs copied", true,
	    { F, false, false, 30, ID_A, 1, 2, 0 },
	    { F, false, false, 10, ID_B, 2, 1, 1 }, true, DECIDE_COPY, true,
	    false, false },
	{ "conflict, same mtime, their node id higher", true,
	    { F, false, false, 10, ID_A, 1, 2, 0 },
	    { F, false, false, 10, ID_B, 2, 1, 1 }, true, DECIDE_FETCH, true,
	    true, true },
	{ "conflict, same mtime, their node id lower", true,
	    { F, false, false, 10, ID_B, 1, 2, 0 },
	    { F, false, false, 10, ID_A, 2, 1, 1 }, true, DECIDE_COPY, true,
	    false, false },
	{ "conflict, ours deleted: theirs lives", true,
	    { F, true, false, 30, ID_A, 0, 2, 0 },
	    { F, false, false, 10, ID_B, 2, 1, 1 }, true, DECIDE_FETCH, true,
	    true, false },
	{ "conflict, theirs deleted: ours lives", true,
	    { F, false, false, 10, ID_A, 1, 2, 0 },
	    { F, true, false, 30, ID_B, 0, 1, 1 }, true, DECIDE_KEEP, true,
	    false, false },
	{ "conflict, theirs a folder: the folder wins", true,
	    { F, false, false, 30, ID_A, 1, 2, 0 },
	    { D, false, false, 10, ID_B, 0, 1, 1 }, true, DECIDE_DIR, true,
	    true, true },
	{ "conflict, ours a folder: theirs copied", true,
	    { D, false, false, 10, ID_A, 0, 2, 0 },
	    { F, false, false, 30, ID_B, 2, 1, 1 }, true, DECIDE_COPY, true,
	    false, false },
};
/* clang-format on */

static const char *const act_names[] = {
    "IGNORE", "ADOPT", "KEEP", "COPY", "DELETE", "DIR", "ROW", "FETCH",
};

static void
test_entry_table(void **state)
{
	const struct entry_case *c;
	struct file_meta l, r;
	struct place_view v;
	struct decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(entry_cases) / sizeof(entry_cases[0]); i++) {
		c = &entry_cases[i];
		make_meta(&l, &c->l);
		make_meta(&r, &c->r);
		make_view(&v, c->mine);
		d = decide_entry("dir/f.txt", c->have ? &l : NULL, &r, &v);
		if (d.act != c->act || d.conflict != c->conflict ||
		    d.merge != c->merge || d.set_aside != c->set_aside)
			fail_msg(
			    "%s: got %s conflict %d merge %d set_aside %d, "
			    "want %s %d %d %d",
			    c->what, act_names[d.act], d.conflict, d.merge,
			    d.set_aside, act_names[c->act], c->conflict,
			    c->merge, c->set_aside);
	}
}

/* The winner of a conflict is the same seen from either side. */
/* clang-format off */
static const struct wins_case {
	const char *what;
	struct side l, r;
	bool remote_wins;
} wins_cases[] = {
	{ "later mtime", { F, false, false, 10, ID_B, 1, 0, 0 },
	    { F, false, false, 11, ID_A, 2, 0, 0 }, true },
	{ "earlier mtime", { F, false, false, 11, ID_A, 1, 0, 0 },
	    { F, false, false, 10, ID_B, 2, 0, 0 }, false },
	{ "same mtime, higher node", { F, false, false, 10, ID_A, 1, 0, 0 },
	    { F, false, false, 10, ID_B, 2, 0, 0 }, true },
	{ "same mtime, lower node", { F, false, false, 10, ID_B, 1, 0, 0 },
	    { F, false, false, 10, ID_A, 2, 0, 0 }, false },
	{ "live over deleted", { F, true, false, 99, ID_B, 1, 0, 0 },
	    { F, false, false, 10, ID_A, 2, 0, 0 }, true },
	{ "deleted under live", { F, false, false, 10, ID_A, 1, 0, 0 },
	    { F, true, false, 99, ID_B, 2, 0, 0 }, false },
	{ "folder over file", { F, false, false, 99, ID_B, 1, 0, 0 },
	    { D, false, false, 10, ID_A, 0, 0, 0 }, true },
	{ "file under folder", { D, false, false, 10, ID_A, 0, 0, 0 },
	    { F, false, false, 99, ID_B, 2, 0, 0 }, false },
};
/* clang-format on */

static void
test_winner_table(void **state)
{
	const struct wins_case *c;
	struct file_meta l, r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wins_cases) / sizeof(wins_cases[0]); i++) {
		c = &wins_cases[i];
		make_meta(&l, &c->l);
		make_meta(&r, &c->r);
		if (decide_remote_wins(&l, &r) != c->remote_wins ||
		    decide_remote_wins(&r, &l) == c->remote_wins)
			fail_msg("%s: the other side wins", c->what);
	}
}

/* clang-format off */
static const struct name_case {
	const char *path;
	int64_t mtime_s;
	uint8_t node[3];
	const char *want;
} name_cases[] = {
	{ "a/report.txt", 1709647629, { 0xab, 0xcd, 0xef },
	    "a/report.sync-conflict-20240305-140709-abcdef.txt" },
	{ "notes", 946684799, { 0x00, 0x01, 0x02 },
	    "notes.sync-conflict-19991231-235959-000102" },
	{ ".bashrc", 0, { 0xff, 0xfe, 0xfd },
	    ".bashrc.sync-conflict-19700101-000000-fffefd" },
	{ "dir.d/file", 1709647629, { 0x10, 0x20, 0x30 },
	    "dir.d/file.sync-conflict-20240305-140709-102030" },
	{ "x/archive.tar.gz", 1709647629, { 0x01, 0x02, 0x03 },
	    "x/archive.tar.sync-conflict-20240305-140709-010203.gz" },
	{ "d/.hidden.conf", 1709647629, { 0x01, 0x02, 0x03 },
	    "d/.hidden.sync-conflict-20240305-140709-010203.conf" },
};
/* clang-format on */

static void
test_conflict_name_table(void **state)
{
	const struct name_case *c;
	struct file_meta m;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		c = &name_cases[i];
		memset(&m, 0, sizeof(m));
		m.mtime_ns = c->mtime_s * 1000000000 + 999999999;
		memcpy(m.modified_by, c->node, sizeof(c->node));
		m.modified_by[3] = 0x77; /* only three bytes show */
		assert_non_null(got = decide_conflict_name(c->path, &m));
		assert_string_equal(got, c->want);
		free(got);
	}
}

static void
test_copy_needed(void **state)
{
	struct file_meta copy, r;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(r.sha256, 1, HASH_LEN);
	copy = r;
	assert_true(decide_copy_needed(NULL, &r));
	assert_false(decide_copy_needed(&copy, &r));
	copy.sha256[HASH_LEN - 1] = 2;
	assert_true(decide_copy_needed(&copy, &r));
}

#define N2  2
#define ALL REPLICAS_ALL

/* clang-format off */
static const struct repair_case {
	const char *what;
	struct repair_facts f;
	enum repair_act want;
} repair_cases[] = {
	/* replicas, held, pulling, mine, pinned, all_hold, holders, copies,
	 * room, dropping, now, keep_until */
	{ "a holder without a copy fetches one",
	    { N2, false, false, true, false, true, 2, 1, true, false, 5, 0 },
	    REPAIR_FETCH },
	{ "not while one is being made",
	    { N2, false, true, true, false, true, 2, 1, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "not when no live copy exists",
	    { N2, false, false, true, false, true, 2, 0, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "not while the pull queue is long",
	    { N2, false, false, true, false, true, 2, 1, false, false, 5, 0 },
	    REPAIR_NONE },
	{ "a holder with a copy does nothing",
	    { N2, true, false, true, false, true, 2, 2, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "a pin fetches a copy",
	    { N2, false, false, false, true, true, 2, 2, true, false, 5, 0 },
	    REPAIR_FETCH },
	{ "replicas = all: a lost copy is fetched",
	    { ALL, false, false, true, false, true, 3, 2, true, false, 5, 0 },
	    REPAIR_FETCH },
	{ "replicas = all: a pin alone fetches nothing",
	    { ALL, false, false, false, true, true, 3, 2, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "an extra copy is dropped once all holders hold it",
	    { N2, true, false, false, false, true, 2, 3, true, false, 5, 0 },
	    REPAIR_DROP },
	{ "not before every holder holds it",
	    { N2, true, false, false, false, false, 2, 2, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "not while placement names fewer holders than N",
	    { N2, true, false, false, false, true, 1, 2, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "not while a read keeps it",
	    { N2, true, false, false, false, true, 2, 3, true, false, 5, 6 },
	    REPAIR_NONE },
	{ "once the read's keep is over",
	    { N2, true, false, false, false, true, 2, 3, true, false, 6, 6 },
	    REPAIR_DROP },
	{ "not while other drops run",
	    { N2, true, false, false, false, true, 2, 3, true, true, 5, 0 },
	    REPAIR_NONE },
	{ "not while a copy is being made",
	    { N2, true, true, false, false, true, 2, 3, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "a pinned copy stays",
	    { N2, true, false, false, true, true, 2, 3, true, false, 5, 0 },
	    REPAIR_NONE },
	{ "replicas = all drops nothing",
	    { ALL, true, false, false, false, true, 0, 3, true, false, 5, 0 },
	    REPAIR_NONE },
};
/* clang-format on */

static void
test_repair_table(void **state)
{
	const struct repair_case *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(repair_cases) / sizeof(repair_cases[0]); i++) {
		c = &repair_cases[i];
		if (decide_repair(&c->f) != c->want)
			fail_msg("%s: got %d, want %d", c->what,
				 decide_repair(&c->f), c->want);
	}
}

/* clang-format off */
static const struct missing_case {
	unsigned replicas, alive, copies, want;
} missing_cases[] = {
	{ 2, 5, 2, 0 },
	{ 2, 5, 3, 0 },
	/* an extra copy is not negative */
	{ 2, 5, 1, 1 },
	{ 3, 5, 0, 3 },
	{ ALL, 4, 4, 0 },
	{ ALL, 4, 1, 3 },
	/* every live node should hold it */
	{ ALL, 1, 0, 1 },
};
/* clang-format on */

static void
test_missing_table(void **state)
{
	const struct missing_case *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(missing_cases) / sizeof(missing_cases[0]); i++) {
		c = &missing_cases[i];
		assert_int_equal(
		    decide_missing(c->replicas, c->alive, c->copies), c->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entry_table),
	    cmocka_unit_test(test_winner_table),
	    cmocka_unit_test(test_conflict_name_table),
	    cmocka_unit_test(test_copy_needed),
	    cmocka_unit_test(test_repair_table),
	    cmocka_unit_test(test_missing_table),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
