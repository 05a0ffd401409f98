/*
 * Tests for locks: a node's copy of the cluster's write locks.
 *
 * The rule every writer relies on: a lock on PATH holds back writes to
 * PATH, to anything under it and to the folders above it, but not to a
 * sibling that merely shares a prefix ("a.txt2" next to "a.txt").  The
 * holder passes: its node, and on that node the lock's owner (anyone for
 * a "(node)" lock, and the node itself, user NULL, always).  A fencing
 * token must be the lock's own; one with no lock to match is stale.  A
 * lease runs out on this node's monotonic clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cluster/locks.h"
#include "cluster/twire.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define HOUR_MS		3600000u

static const uint8_t self[NODE_ID_LEN] = { 0x11, 0x11, 0x11, 0x11, 1 };
static const uint8_t other[NODE_ID_LEN] = { 0x22, 0x22, 0x22, 0x22, 2 };
static const uint8_t third[NODE_ID_LEN] = { 0x33, 0x33, 0x33, 0x33, 3 };

static void
hold(struct locks *ls, const char *path, const uint8_t node[NODE_ID_LEN],
    const char *owner, uint64_t token, uint32_t remaining_ms)
{
	struct twire_lock l;

	memset(&l, 0, sizeof(l));
	l.held = true;
	snprintf(l.path, sizeof(l.path), "%s", path);
	memcpy(l.node, node, NODE_ID_LEN);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	l.token = token;
	l.expires_wall_ms = 1767323045000ull;
	l.remaining_ms = remaining_ms;
	locks_apply(ls, &l);
}

static void
release(struct locks *ls, const char *path)
{
	struct twire_lock l;

	memset(&l, 0, sizeof(l));
	snprintf(l.path, sizeof(l.path), "%s", path);
	locks_apply(ls, &l);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* locks_check, with a why that is always written when it fails. */
static int
check(struct locks *ls, const char *path, const uint8_t node[NODE_ID_LEN],
    const char *user, uint64_t token, char why[512])
{
	int rc;

	memset(why, 0, 512);
	rc = locks_check(ls, path, node, user, token, why, 512);
	assert_true(rc == 0 || rc == -EBUSY || rc == -ESTALE);
	if (rc == -EBUSY)
		assert_non_null(strstr(why, "locked by"));
	if (rc != 0)
		assert_true(why[0] != '\0');
	return (rc);
}

static int
nlocks(struct locks *ls)
{
	json_t *j = locks_json(ls);
	json_t *a;
	int n;

	assert_non_null(j);
	a = json_object_get(j, "locks");
	assert_true(json_is_array(a));
	n = (int)json_array_size(a);
	json_decref(j);
	return (n);
}

/* Each test gets an empty table, freed even when the test fails. */
static int
setup(void **state)
{
	*state = locks_new();
	return (*state == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	locks_free(*state);
	return (0);
}

static void
test_apply_add_replace_remove(void **state)
{
	struct locks *ls = *state;
	char why[512];

	assert_non_null(ls);
	assert_int_equal(nlocks(ls), 0);
	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), 0);

	/* Added: another node's lock holds us back. */
	hold(ls, "a.txt", other, "bob", 5, HOUR_MS);
	assert_int_equal(nlocks(ls), 1);
	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), -EBUSY);
	assert_non_null(strstr(why, "a.txt: locked by bob on node 22222222"));

	/* Replaced (same path): now it is ours, with a new token. */
	hold(ls, "a.txt", self, "(node)", 6, HOUR_MS);
	assert_int_equal(nlocks(ls), 1);
	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), 0);
	assert_int_equal(check(ls, "a.txt", self, "x", 6, why), 0);
	assert_int_equal(check(ls, "a.txt", self, "x", 5, why), -ESTALE);
	assert_int_equal(check(ls, "a.txt", other, NULL, 0, why), -EBUSY);

	/* A second path is a second lock. */
	hold(ls, "b.txt", other, "bob", 7, HOUR_MS);
	assert_int_equal(nlocks(ls), 2);

	/* Removed. */
	release(ls, "a.txt");
	assert_int_equal(nlocks(ls), 1);
	assert_int_equal(check(ls, "a.txt", other, NULL, 0, why), 0);
	assert_int_equal(check(ls, "b.txt", self, NULL, 0, why), -EBUSY);
	/* Releasing what is not there changes nothing. */
	release(ls, "a.txt");
	release(ls, "never");
	release(ls, "");
	assert_int_equal(nlocks(ls), 1);

	locks_clear(ls);
	assert_int_equal(nlocks(ls), 0);
	assert_int_equal(check(ls, "b.txt", self, NULL, 0, why), 0);

	/* Freed with locks in it (LeakSanitizer watches), and NULL. */
	ls = locks_new();
	assert_non_null(ls);
	hold(ls, "x", other, "bob", 1, HOUR_MS);
	hold(ls, "y", self, "bob", 2, HOUR_MS);
	locks_free(ls);
	locks_free(NULL);
}

static void
test_check_without_lock(void **state)
{
	struct locks *ls = *state;
	char why[512];

	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), 0);
	assert_int_equal(check(ls, "a.txt", self, "alice", 0, why), 0);
	/* A token with no lock to match: stale. */
	assert_int_equal(check(ls, "a.txt", self, "alice", 1, why), -ESTALE);
	assert_non_null(strstr(why, "stale"));
	assert_non_null(strstr(why, "a.txt"));
	assert_int_equal(check(ls, "a.txt", self, NULL, UINT64_MAX, why),
	    -ESTALE);
	/* No table at all (no tracker): the same. */
	assert_int_equal(check(NULL, "a.txt", self, NULL, 0, why), 0);
	assert_int_equal(check(NULL, "a.txt", self, NULL, 3, why), -ESTALE);
	assert_true(locks_allow_remote(NULL, "a.txt", other, why,
	    sizeof(why)));
}

static void
test_check_other_node(void **state)
{
	static const char *const blocked[] = {
		"docs/a.txt",		/* the path itself */
		"docs/a.txt/x",		/* under it */
		"docs/a.txt/x/y/z",
		"docs",			/* a folder above it */
		"",			/* the root */
	};
	static const char *const free_[] = {
		"docs/a.txt2",		/* a sibling sharing a prefix */
		"docs/a.tx",
		"docs/a.txt.bak",
		"docs/a",
		"docs/b.txt",
		"doc",
		"docs2",
		"docs2/a.txt",
		"other/docs/a.txt",
		"a.txt",
	};
	static const char *const users[] = { NULL, "alice", "bob",
	    "(node)" };
	struct locks *ls = *state;
	char why[512];
	size_t i, u;

	hold(ls, "docs/a.txt", other, "bob", 10, HOUR_MS);
	for (i = 0; i < ARRAY_LEN(blocked); i++)
		for (u = 0; u < ARRAY_LEN(users); u++) {
			if (check(ls, blocked[i], self, users[u], 0, why) !=
			    -EBUSY)
				fail_msg("write to \"%s\" passed", blocked[i]);
			assert_non_null(strstr(why, "docs/a.txt: locked by "
			    "bob"));
			/* The lock's token from another node: still busy. */
			assert_int_equal(check(ls, blocked[i], self, users[u],
			    10, why), -EBUSY);
		}
	for (i = 0; i < ARRAY_LEN(free_); i++)
		for (u = 0; u < ARRAY_LEN(users); u++)
			if (check(ls, free_[i], self, users[u], 0, why) != 0)
				fail_msg("write to \"%s\" held back: %s",
				    free_[i], why);
}

static void
test_check_same_node_node_owner(void **state)
{
	static const char *const users[] = { NULL, "alice", "bob",
	    "(node)" };
	static const char *const paths[] = { "docs/a.txt", "docs/a.txt/x",
	    "docs" };
	struct locks *ls = *state;
	char why[512];
	size_t i, u;

	hold(ls, "docs/a.txt", self, LOCK_OWNER_NODE, 10, HOUR_MS);
	for (i = 0; i < ARRAY_LEN(paths); i++)
		for (u = 0; u < ARRAY_LEN(users); u++)
			assert_int_equal(check(ls, paths[i], self, users[u],
			    0, why), 0);
	/* Another node is held back, and told it is the node's lock. */
	assert_int_equal(check(ls, "docs/a.txt", other, NULL, 0, why),
	    -EBUSY);
	assert_non_null(strstr(why, "locked by node 11111111"));
}

static void
test_check_same_node_user_owner(void **state)
{
	static const char *const paths[] = { "docs/a.txt", "docs/a.txt/x",
	    "docs" };
	struct locks *ls = *state;
	char why[512];
	size_t i;

	hold(ls, "docs/a.txt", self, "alice", 10, HOUR_MS);
	for (i = 0; i < ARRAY_LEN(paths); i++) {
		assert_int_equal(check(ls, paths[i], self, "alice", 0, why),
		    0);
		assert_int_equal(check(ls, paths[i], self, NULL, 0, why), 0);
		assert_int_equal(check(ls, paths[i], self, "bob", 0, why),
		    -EBUSY);
		assert_non_null(strstr(why, "locked by alice"));
		/* Owners are compared whole. */
		assert_int_equal(check(ls, paths[i], self, "alic", 0, why),
		    -EBUSY);
		assert_int_equal(check(ls, paths[i], self, "alice2", 0, why),
		    -EBUSY);
		assert_int_equal(check(ls, paths[i], self, "Alice", 0, why),
		    -EBUSY);
		assert_int_equal(check(ls, paths[i], self, "", 0, why),
		    -EBUSY);
		/* The name "(node)" is not the node itself. */
		assert_int_equal(check(ls, paths[i], self, LOCK_OWNER_NODE, 0,
		    why), -EBUSY);
	}
	/* Other nodes, whoever the user. */
	assert_int_equal(check(ls, "docs/a.txt", other, "alice", 0, why),
	    -EBUSY);
	assert_int_equal(check(ls, "docs/a.txt", other, NULL, 0, why), -EBUSY);
}

static void
test_check_tokens(void **state)
{
	struct locks *ls = *state;
	char why[512];

	hold(ls, "docs/a.txt", self, "alice", 42, HOUR_MS);
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 42, why), 0);
	assert_int_equal(check(ls, "docs/a.txt", self, NULL, 42, why), 0);
	assert_int_equal(check(ls, "docs/a.txt/x", self, "alice", 42, why), 0);
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 41, why),
	    -ESTALE);
	assert_non_null(strstr(why, "stale fencing token 41"));
	assert_non_null(strstr(why, "42"));
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 43, why),
	    -ESTALE);
	assert_int_equal(check(ls, "docs/a.txt", self, NULL, UINT64_MAX, why),
	    -ESTALE);
	/* Someone else with the right token is still someone else. */
	assert_int_equal(check(ls, "docs/a.txt", self, "bob", 42, why),
	    -EBUSY);
	/* Renewed with a new token: the old one is stale now. */
	hold(ls, "docs/a.txt", self, "alice", 43, HOUR_MS);
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 42, why),
	    -ESTALE);
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 43, why), 0);
	/* Released: any token is stale. */
	release(ls, "docs/a.txt");
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 43, why),
	    -ESTALE);
	assert_int_equal(check(ls, "docs/a.txt", self, "alice", 0, why), 0);
}

static void
test_expired_leases(void **state)
{
	struct locks *ls = *state;
	char why[512];

	/* No time left at all. */
	hold(ls, "a.txt", other, "bob", 1, 0);
	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), 0);
	assert_true(locks_allow_remote(ls, "a.txt", self, why, sizeof(why)));
	assert_int_equal(nlocks(ls), 0);

	/* A millisecond, run out. */
	hold(ls, "a.txt", other, "bob", 2, 1);
	hold(ls, "b.txt", other, "bob", 3, 1);
	hold(ls, "live.txt", other, "bob", 4, HOUR_MS);
	sleep_ms(5);
	assert_int_equal(check(ls, "a.txt", self, NULL, 0, why), 0);
	assert_int_equal(check(ls, "a", self, NULL, 0, why), 0);
	assert_true(locks_allow_remote(ls, "b.txt", self, why, sizeof(why)));
	/* A token for an expired lease is stale. */
	hold(ls, "c.txt", self, "alice", 9, 1);
	sleep_ms(5);
	assert_int_equal(check(ls, "c.txt", self, "alice", 9, why), -ESTALE);
	/* Only the live one is listed, and it still holds. */
	assert_int_equal(nlocks(ls), 1);
	assert_int_equal(check(ls, "live.txt", self, NULL, 0, why), -EBUSY);

	/* Renewal before expiry keeps it. */
	hold(ls, "r.txt", other, "bob", 5, 1);
	hold(ls, "r.txt", other, "bob", 5, HOUR_MS);
	sleep_ms(5);
	assert_int_equal(check(ls, "r.txt", self, NULL, 0, why), -EBUSY);
}

static void
test_allow_remote(void **state)
{
	struct locks *ls = *state;
	char why[512];

	hold(ls, "docs/a.txt", other, "bob", 10, HOUR_MS);
	/* The holder's node may change it, and what is around it. */
	assert_true(locks_allow_remote(ls, "docs/a.txt", other, why,
	    sizeof(why)));
	assert_true(locks_allow_remote(ls, "docs/a.txt/x", other, why,
	    sizeof(why)));
	assert_true(locks_allow_remote(ls, "docs", other, why, sizeof(why)));
	/* Another node may not, in any of the three ways. */
	memset(why, 0, sizeof(why));
	assert_false(locks_allow_remote(ls, "docs/a.txt", third, why,
	    sizeof(why)));
	assert_non_null(strstr(why, "locked by bob"));
	assert_false(locks_allow_remote(ls, "docs/a.txt/x", third, why,
	    sizeof(why)));
	assert_false(locks_allow_remote(ls, "docs", third, why, sizeof(why)));
	/* Nor may this node, arriving by sync. */
	assert_false(locks_allow_remote(ls, "docs/a.txt", self, why,
	    sizeof(why)));
	/* Unlocked paths, and siblings, are free. */
	assert_true(locks_allow_remote(ls, "docs/a.txt2", third, why,
	    sizeof(why)));
	assert_true(locks_allow_remote(ls, "docs/b", third, why, sizeof(why)));
	assert_true(locks_allow_remote(ls, "x", third, why, sizeof(why)));
}

static void
test_json(void **state)
{
	struct locks *ls = *state;
	json_t *j, *a, *e;
	double rem;

	hold(ls, "docs/a.txt", other, "bob", 10, HOUR_MS);
	hold(ls, "gone", other, "bob", 11, 0);
	hold(ls, "b", self, LOCK_OWNER_NODE, 12, 60000);
	j = locks_json(ls);
	assert_non_null(j);
	a = json_object_get(j, "locks");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 2);

	e = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
	    "docs/a.txt");
	assert_string_equal(json_string_value(json_object_get(e, "holder")),
	    "22222222020000000000000000000000");
	assert_string_equal(json_string_value(json_object_get(e, "owner")),
	    "bob");
	assert_int_equal(json_integer_value(json_object_get(e, "token")), 10);
	assert_string_equal(json_string_value(json_object_get(e, "expires")),
	    "2026-01-02T03:04:05Z");
	rem = json_real_value(json_object_get(e, "remaining_s"));
	assert_true(rem > 3500 && rem <= 3600);

	e = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
	    "b");
	assert_string_equal(json_string_value(json_object_get(e, "owner")),
	    "(node)");
	assert_int_equal(json_integer_value(json_object_get(e, "token")), 12);
	rem = json_real_value(json_object_get(e, "remaining_s"));
	assert_true(rem > 50 && rem <= 60);
	json_decref(j);

	locks_clear(ls);
	j = locks_json(ls);
	assert_int_equal(json_array_size(json_object_get(j, "locks")), 0);
	json_decref(j);
}

/*
 * Two locks a write to their common folder would take along, the first
 * one in the table held by the writer: the second, another node's, must
 * still hold the write back, whichever order they came in.  (The tracker
 * grants both: "d/x" and "d/y" do not meet.)
 */
static void
test_parent_write_meets_every_lock(void **state)
{
	struct locks *ls = *state;
	char why[512];

	/* Another node's first: held back. */
	hold(ls, "d/y", other, "bob", 2, HOUR_MS);
	hold(ls, "d/x", self, LOCK_OWNER_NODE, 1, HOUR_MS);
	assert_int_equal(check(ls, "d", self, NULL, 0, why), -EBUSY);
	assert_false(locks_allow_remote(ls, "d", self, why, sizeof(why)));
	locks_clear(ls);

	/* The writer's own first: the same answer is expected. */
	hold(ls, "d/x", self, LOCK_OWNER_NODE, 1, HOUR_MS);
	hold(ls, "d/y", other, "bob", 2, HOUR_MS);
	if (check(ls, "d", self, NULL, 0, why) != -EBUSY)
		fail_msg("deleting \"d\" passes although \"d/y\" is locked by "
		    "another node (only the first covering lock, \"d/x\", is "
		    "checked)");
	if (locks_allow_remote(ls, "d", self, why, sizeof(why)))
		fail_msg("a remote change to \"d\" passes although \"d/y\" "
		    "is locked by another node");
	locks_clear(ls);

	/* Two users of this node: alice may not take bob's file along. */
	hold(ls, "d/x", self, "alice", 1, HOUR_MS);
	hold(ls, "d/y", self, "bob", 2, HOUR_MS);
	if (check(ls, "d", self, "alice", 0, why) != -EBUSY)
		fail_msg("alice may delete \"d\" with bob's lock on \"d/y\"");
}

/*
 * A lock the decoders accept must be listable: locks_json must not drop
 * it.  Bytes >= 0x80 pass twire_path_ok (path_resolve keeps them, so a
 * Latin-1 file name from an FTP client is a normal path) and
 * twire_owner_ok, but twire_lock_json uses json_pack "s", which refuses
 * text that is not UTF-8 and returns NULL.
 */
static void
test_json_lists_every_accepted_lock(void **state)
{
	struct locks *ls = *state;
	struct twire_lock l;
	json_t *j;

	/* UTF-8 is fine. */
	assert_true(twire_owner_ok("caf\xc3\xa9"));
	hold(ls, "caf\xc3\xa9", other, "caf\xc3\xa9", 1, HOUR_MS);
	assert_int_equal(nlocks(ls), 1);
	locks_clear(ls);

	/*
	 * Latin-1: owners must be UTF-8 (refused on the wire), and the
	 * tracker refuses to lock a path that is not, so JSON can always
	 * carry a lock.  The path check itself stays byte-transparent.
	 */
	assert_false(twire_owner_ok("caf\xe9"));
	assert_true(twire_path_ok("caf\xe9", false));
	assert_false(twire_utf8_ok("caf\xe9"));
	assert_true(twire_utf8_ok("caf\xc3\xa9"));
	assert_false(twire_utf8_ok("\xc0\xaf"));		/* overlong '/' */
	assert_false(twire_utf8_ok("\xed\xa0\x80"));	/* a surrogate */
	assert_false(twire_utf8_ok("\xf4\x90\x80\x80"));	/* > U+10FFFF */
	assert_true(twire_utf8_ok("\xf0\x9f\x90\x9f"));	/* a fish */
	memset(&l, 0, sizeof(l));
	l.held = true;
	snprintf(l.path, sizeof(l.path), "a");
	snprintf(l.owner, sizeof(l.owner), "bob");
	j = twire_lock_json(&l);
	assert_non_null(j);
	json_decref(j);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_apply_add_replace_remove),
		T(test_check_without_lock),
		T(test_check_other_node),
		T(test_check_same_node_node_owner),
		T(test_check_same_node_user_owner),
		T(test_check_tokens),
		T(test_expired_leases),
		T(test_allow_remote),
		T(test_json),
		T(test_parent_write_meets_every_lock),
		T(test_json_lists_every_accepted_lock),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
