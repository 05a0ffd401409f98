/*
 * Tests for http_query: the one query-string parser of the HTTP front ends.
 *
 * What callers rely on: values come back percent-decoded ('+' a space);
 * bad escapes, decoded NUL/CR/LF and empty keys are -EINVAL; a key given
 * twice is -EEXIST; past the length or parameter cap is -E2BIG; and a
 * query cut at any byte parses as exactly what that prefix says (each
 * prefix is a heap copy of exactly its bytes, so ASan reports overreads).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/http/http_query.h"

static struct http_query q;

static char *
exact_copy(const char *s, size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return (p);
}

static int
parse(const char *s)
{
	return (http_query_parse(&q, s, strlen(s)));
}

static void
test_values(void **state)
{
	(void)state;
	assert_int_equal(parse("after=a%2Fb%20c&limit=5&x=1+2&flag"), 0);
	assert_int_equal(q.n, 4);
	assert_string_equal(http_query_get(&q, "after"), "a/b c");
	assert_string_equal(http_query_get(&q, "limit"), "5");
	assert_string_equal(http_query_get(&q, "x"), "1 2");
	assert_string_equal(http_query_get(&q, "flag"), "");
	assert_null(http_query_get(&q, "missing"));
	assert_null(http_query_get(&q, "Limit"));

	/* Empty pieces are skipped; '=' inside a value is part of it. */
	assert_int_equal(parse("&&a=1&&b=x=y&"), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(http_query_get(&q, "b"), "x=y");
	assert_int_equal(parse(""), 0);
	assert_int_equal(q.n, 0);
	/* Keys are decoded too, and escapes take either case. */
	assert_int_equal(parse("%61fter=%c3%A9"), 0);
	assert_string_equal(http_query_get(&q, "after"), "\xc3\xa9");

	assert_int_equal(http_query_target(&q, "/v1/all/d?limit=3#frag"), 0);
	assert_string_equal(http_query_get(&q, "limit"), "3");
	assert_int_equal(http_query_target(&q, "/v1/all/d"), 0);
	assert_int_equal(q.n, 0);
}

static void
test_refused(void **state)
{
	(void)state;
	assert_int_equal(parse("a=1&a=2"), -EEXIST);
	assert_int_equal(parse("a=1&b&a"), -EEXIST);
	assert_int_equal(parse("a%3D=1&a%3d=2"), -EEXIST);
	assert_int_equal(parse("=1"), -EINVAL);
	assert_int_equal(parse("a=%"), -EINVAL);
	assert_int_equal(parse("a=%4"), -EINVAL);
	assert_int_equal(parse("a=%zz"), -EINVAL);
	assert_int_equal(parse("a=%00"), -EINVAL);
	assert_int_equal(parse("a=%0d%0a"), -EINVAL);
	assert_int_equal(parse("a=%0a"), -EINVAL);
	assert_int_equal(parse("%00=1"), -EINVAL);
	assert_int_equal(http_query_parse(&q, "a=\0b", 4), -EINVAL);
	assert_string_equal(http_query_error(-EEXIST),
			    "a query parameter given twice");
}

static void
test_caps(void **state)
{
	char big[HTTP_QUERY_LEN_MAX + 2];
	char many[4 * HTTP_QUERY_PARAMS_MAX + 8];
	size_t o = 0;
	unsigned i;

	(void)state;
	/* As many parameters as allowed, keys alone (the most NULs). */
	for (i = 0; i < HTTP_QUERY_PARAMS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s%c",
				      i ? "&" : "", 'a' + (char)i);
	assert_int_equal(parse(many), 0);
	assert_int_equal(q.n, HTTP_QUERY_PARAMS_MAX);
	(void)snprintf(many + o, sizeof(many) - o, "&z");
	assert_int_equal(parse(many), -E2BIG);

	/* The longest query, then one byte more. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "a=", 2);
	assert_int_equal(http_query_parse(&q, big, HTTP_QUERY_LEN_MAX), 0);
	assert_int_equal(strlen(http_query_get(&q, "a")),
			 HTTP_QUERY_LEN_MAX - 2);
	assert_int_equal(http_query_parse(&q, big, HTTP_QUERY_LEN_MAX + 1),
			 -E2BIG);

	/* The longest query made of the most key-only parameters. */
	memset(big, 'k', sizeof(big));
	for (i = 0; i < HTTP_QUERY_PARAMS_MAX; i++) {
		big[2 * i] = (char)('a' + i);
		if (i + 1 < HTTP_QUERY_PARAMS_MAX)
			big[2 * i + 1] = '&';
	}
	assert_int_equal(http_query_parse(&q, big, HTTP_QUERY_LEN_MAX), 0);
	assert_int_equal(q.n, HTTP_QUERY_PARAMS_MAX);
}

/*
 * Every prefix of "after=a%2Fb&limit=5": a prefix that cuts an escape is
 * refused; any other gives the keys and values that prefix spells.
 */
static void
test_every_prefix(void **state)
{
	static const char text[] = "after=a%2Fb&limit=5";
	/* after's value for each prefix length; NULL: not given. */
	static const char *const after[] = {NULL,  NULL,  NULL,	 NULL,	NULL,
					    "",	   "",	  "a",	 "",	"",
					    "a/",  "a/b", "a/b", "a/b", "a/b",
					    "a/b", "a/b", "a/b", "a/b", "a/b"};
	size_t n, len = strlen(text);
	const char *v;
	char *p;
	int rc;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(text, n);
		rc = http_query_parse(&q, p, n);
		if (n == 8 || n == 9) {
			assert_int_equal(rc, -EINVAL);
			free(p);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(q.n, n == 0 ? 0 : n <= 12 ? 1 : 2);
		v = http_query_get(&q, "after");
		if (after[n] == NULL)
			assert_null(v);
		else
			assert_string_equal(v, after[n]);
		if (n > 0 && n < 5)
			assert_int_equal(strlen(q.p[0].key), n);
		v = http_query_get(&q, "limit");
		if (n < 17)
			assert_null(v);
		else
			assert_string_equal(v, n == 19 ? "5" : "");
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_every_prefix),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
