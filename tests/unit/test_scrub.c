/*
 * Tests for the scrub's progress file parser (scrub_state_parse): the two
 * forms it writes are read back, every prefix of them (a file cut short
 * by a crash) and every malformed one is refused, so a node starts its
 * pass afresh rather than after a path it never wrote.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/scrub.h"
#include "store/path.h"

static int
parse(const char *s, size_t len, char *after, size_t size, int64_t *started,
      int64_t *done)
{
	/* A copy of exactly len bytes: the parser must not read past. */
	char *b = malloc(len ? len : 1);
	int rc;

	assert_non_null(b);
	memcpy(b, s, len);
	rc = scrub_state_parse(b, len, after, size, started, done);
	free(b);
	return (rc);
}

static void
test_forms(void **state)
{
	char after[PATH_LEN_MAX + 1] = "x";
	int64_t started = -1, done = -1;
	const char *p = "pass 1700000000\nafter docs/a file.txt\n";
	const char *d = "done 1700000123\n";
	const char *e = "pass 5\nafter \n";

	(void)state;
	assert_int_equal(
	    parse(p, strlen(p), after, sizeof(after), &started, &done), 1);
	assert_int_equal(started, 1700000000);
	assert_string_equal(after, "docs/a file.txt");
	assert_int_equal(
	    parse(d, strlen(d), after, sizeof(after), &started, &done), 0);
	assert_int_equal(done, 1700000123);
	/* From the first file. */
	assert_int_equal(
	    parse(e, strlen(e), after, sizeof(after), &started, &done), 1);
	assert_string_equal(after, "");
}

static void
test_every_prefix_refused(void **state)
{
	const char *forms[] = {"pass 1700000000\nafter docs/a.txt\n",
			       "done 1700000123\n"};
	char after[PATH_LEN_MAX + 1];
	int64_t started, done;
	size_t f, n;

	(void)state;
	for (f = 0; f < 2; f++)
		for (n = 0; n < strlen(forms[f]); n++)
			assert_int_equal(parse(forms[f], n, after,
					       sizeof(after), &started, &done),
					 -EINVAL);
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "done\n",
	    "done -1\n",
	    "done +5\n",
	    "done 5",
	    "done 5\n\n",
	    "done 99999999999999999999\n",
	    "done 5\nafter x\n",
	    "pass 5\n",
	    "pass 5\nafter a\n\n",
	    "pass 5\nbefore a\n",
	    "pass x\nafter a\n",
	    "pass 5\nafter a\tb\n",
	    "pass 5\nafter a\rb\n",
	    "pass 5 after a\n",
	    "PASS 5\nafter a\n",
	    "started 5\n",
	};
	char after[PATH_LEN_MAX + 1];
	int64_t started, done;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], strlen(bad[i]), after,
				       sizeof(after), &started, &done),
				 -EINVAL);
}

static void
test_caps(void **state)
{
	char *s = malloc(PATH_LEN_MAX + 64);
	char small[8], after[PATH_LEN_MAX + 1];
	int64_t started, done;
	size_t len;

	(void)state;
	assert_non_null(s);
	/* A path longer than the buffer given, and than any path. */
	assert_int_equal(parse("pass 5\nafter 12345678\n", 22, small,
			       sizeof(small), &started, &done),
			 -EINVAL);
	assert_int_equal(parse("pass 5\nafter 1234567\n", 21, small,
			       sizeof(small), &started, &done),
			 1);
	memcpy(s, "pass 5\nafter ", 13);
	/* Components of seven bytes: a valid path of any length. */
	for (len = 0; len < PATH_LEN_MAX + 1; len++)
		s[13 + len] = len % 8 == 6 ? '/' : 'a';
	s[13 + PATH_LEN_MAX + 1] = '\n';
	len = 13 + PATH_LEN_MAX + 2;
	assert_int_equal(parse(s, len, after, sizeof(after), &started, &done),
			 -EINVAL);
	/* The longest path fits. */
	s[13 + PATH_LEN_MAX] = '\n';
	assert_int_equal(
	    parse(s, len - 1, after, sizeof(after), &started, &done), 1);
	assert_int_equal(strlen(after), PATH_LEN_MAX);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_every_prefix_refused),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_caps),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
