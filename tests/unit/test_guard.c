/*
 * Tests for guard: the failed-login policy and connection admission of
 * every front end, as pure decisions over explicit times.
 *
 * What a user would notice: wrong passwords from one address lock that
 * address out after the limit, and only it; an account guessed at from
 * many addresses is locked for all of them; the right password is refused
 * while locked and taken once the lockout is over; failures older than the
 * window are forgotten; a full table forgets the oldest idle entry, never
 * a lockout while others are free of one; and a listener keeps its last
 * slots for addresses that hold none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "front/guard.h"

static const struct guard_policy policy = {
    .max_per_address = 3,
    .max_per_account = 5,
    .window_s = 60,
    .lockout_s = 10,
};

static int
check(struct guard *g, const char *host, const char *user, uint64_t now)
{
	unsigned retry = 12345;
	int rc = guard_check(g, host, user, now, &retry);

	if (rc == 0)
		assert_int_equal(retry, 0);
	else
		assert_true(retry >= 1 && retry <= policy.lockout_s);
	return (rc);
}

static void
test_address_lockout(void **state)
{
	struct guard *g = guard_new(&policy);
	unsigned retry;

	(void)state;
	assert_non_null(g);
	guard_failed(g, "ftp", "10.0.0.1", "alice", 1000);
	guard_failed(g, "http", "10.0.0.1", "bob", 2000);
	assert_int_equal(check(g, "10.0.0.1", "carol", 2000), 0);
	/* The third, through any front end, locks the address ... */
	guard_failed(g, "ftp", "10.0.0.1", "carol", 3000);
	assert_int_equal(check(g, "10.0.0.1", "carol", 3000), -EAGAIN);
	assert_int_equal(check(g, "10.0.0.1", NULL, 3000), -EAGAIN);
	assert_int_equal(guard_check(g, "10.0.0.1", "x", 3000, &retry),
			 -EAGAIN);
	assert_int_equal(retry, 10);
	assert_int_equal(guard_check(g, "10.0.0.1", "x", 12500, &retry),
			 -EAGAIN);
	assert_int_equal(retry, 1);
	/* ... and only it: the same accounts from elsewhere are fine. */
	assert_int_equal(check(g, "10.0.0.2", "carol", 3000), 0);
	assert_int_equal(check(g, "10.0.0.2", "alice", 3000), 0);
	/* Over at the end of the lockout, with a fresh allowance. */
	assert_int_equal(check(g, "10.0.0.1", "carol", 13000), 0);
	guard_failed(g, "ftp", "10.0.0.1", "dave", 13000);
	guard_failed(g, "ftp", "10.0.0.1", "dave", 13001);
	assert_int_equal(check(g, "10.0.0.1", "erin", 13002), 0);
	guard_free(g);
}

static void
test_account_lockout_from_many_addresses(void **state)
{
	struct guard *g = guard_new(&policy);
	char host[32];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(host, sizeof(host), "10.0.1.%d", i);
		guard_failed(g, "http", host, "alice", 1000 + (uint64_t)i);
		assert_int_equal(check(g, "10.9.9.9", "alice", 1000), 0);
	}
	guard_failed(g, "http", "10.0.1.9", "alice", 2000);
	/* Locked for every address, the right password or not ... */
	assert_int_equal(check(g, "10.9.9.9", "alice", 2000), -EAGAIN);
	assert_int_equal(check(g, "10.0.1.0", "alice", 2000), -EAGAIN);
	/* ... not for other accounts, nor for no account (a token) ... */
	assert_int_equal(check(g, "10.9.9.9", "bob", 2000), 0);
	assert_int_equal(check(g, "10.9.9.9", NULL, 2000), 0);
	assert_int_equal(check(g, "10.9.9.9", "", 2000), 0);
	/* ... until the lockout is over. */
	assert_int_equal(check(g, "10.9.9.9", "alice", 11999), -EAGAIN);
	assert_int_equal(check(g, "10.9.9.9", "alice", 12000), 0);
	guard_free(g);
}

static void
test_window_and_success(void **state)
{
	struct guard *g = guard_new(&policy);

	(void)state;
	/* Failures further apart than the window never add up. */
	guard_failed(g, "ftp", "10.0.0.1", "alice", 0);
	guard_failed(g, "ftp", "10.0.0.1", "alice", 30000);
	guard_failed(g, "ftp", "10.0.0.1", "alice", 60000);
	assert_int_equal(check(g, "10.0.0.1", "alice", 60000), 0);
	guard_failed(g, "ftp", "10.0.0.1", "alice", 61000);
	guard_failed(g, "ftp", "10.0.0.1", "alice", 62000);
	assert_int_equal(check(g, "10.0.0.1", "alice", 62000), -EAGAIN);
	/* A success clears the account's count, not the address's. */
	guard_failed(g, "ftp", "10.0.2.1", "bob", 100000);
	guard_failed(g, "ftp", "10.0.2.2", "bob", 100000);
	guard_failed(g, "ftp", "10.0.2.3", "bob", 100000);
	guard_failed(g, "ftp", "10.0.2.4", "bob", 100000);
	guard_succeeded(g, "bob");
	guard_failed(g, "ftp", "10.0.2.5", "bob", 100000);
	assert_int_equal(check(g, "10.0.2.6", "bob", 100000), 0);
	guard_failed(g, "ftp", "10.0.2.1", "x", 100000);
	guard_failed(g, "ftp", "10.0.2.1", "y", 100000);
	assert_int_equal(check(g, "10.0.2.1", "z", 100000), -EAGAIN);
	guard_free(g);
}

static void
test_full_table_keeps_lockouts(void **state)
{
	struct guard *g = guard_new(&policy);
	char host[32];
	int i;

	(void)state;
	/* One address locked, then many more addresses than entries. */
	for (i = 0; i < 3; i++)
		guard_failed(g, "ftp", "192.168.0.1", NULL, 1000);
	for (i = 0; i < GUARD_ENTRIES * 2; i++) {
		snprintf(host, sizeof(host), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		guard_failed(g, "ftp", host, NULL, 2000 + (uint64_t)i / 1000);
	}
	assert_int_equal(check(g, "192.168.0.1", NULL, 5000), -EAGAIN);
	/* An over-long key is cut, not overrun. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	guard_failed(g, "ftp", host, "alice", 6000);
	guard_free(g);
}

static void
test_admit(void **state)
{
	static const struct {
		unsigned total, from, max, per, reserve;
		bool admit;
	} t[] = {
	    /* the global cap and the per-address cap */
	    {0, 0, 16, 4, 4, true},
	    {16, 0, 16, 4, 4, false},
	    {5, 4, 16, 4, 4, false},
	    {5, 3, 16, 4, 4, true},
	    /* the reserve: the last 4 slots only for new addresses */
	    {11, 1, 16, 4, 4, true},
	    {12, 1, 16, 4, 4, false},
	    {12, 0, 16, 4, 4, true},
	    {15, 0, 16, 4, 4, true},
	    {15, 1, 16, 4, 4, false},
	    /* no reserve */
	    {15, 1, 16, 4, 0, true},
	    /* a reserve never above a quarter of the listener */
	    {1, 1, 2, 2, 16, true},
	    {2, 0, 2, 2, 16, false},
	    {11, 1, 16, 16, 100, true},
	    {12, 1, 16, 16, 100, false},
	    {239, 31, 256, 32, 16, true},
	    {240, 1, 256, 32, 16, false},
	    {240, 0, 256, 32, 16, true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(guard_admit(t[i].total, t[i].from, t[i].max,
					     t[i].per, t[i].reserve),
				 t[i].admit);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_lockout),
	    cmocka_unit_test(test_account_lockout_from_many_addresses),
	    cmocka_unit_test(test_window_and_success),
	    cmocka_unit_test(test_full_table_keeps_lockouts),
	    cmocka_unit_test(test_admit),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
