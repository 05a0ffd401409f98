/*
 * Tests for parse: the cursor and span helpers that all network text goes
 * through.
 *
 * What callers rely on: a number is refused (-ERANGE) the moment it passes
 * its maximum, including values that would wrap a uint64_t; "no digits" is
 * -EINVAL; a failed parse does not move the cursor; and nothing ever reads
 * past the length it was given.  The prefix tests hand each parse a heap
 * copy of exactly len bytes, so AddressSanitizer reports any overread.
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
#include "base/parse.h"

/*
 * A heap copy of exactly n bytes, with no NUL after them.  Even for n == 0
 * this is a distinct allocation (glibc and ASan both give one), so reading
 * any byte of an empty input is reported.
 */
static char *
exact_copy(const char *s, size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return (p);
}

static void
test_eat_until_rest(void **state)
{
	static const char line[] = "USER anonymous";
	struct cursor c;
	struct span s;

	(void)state;
	cur_init(&c, line, strlen(line));
	assert_false(cur_eat(&c, 'u'));
	s = cur_until(&c, ' ');
	assert_true(span_eq(s, "USER"));
	assert_true(cur_eat(&c, ' '));
	assert_false(cur_eat(&c, ' '));
	s = cur_rest(&c);
	assert_true(span_eq(s, "anonymous"));
	assert_true(cur_eof(&c));
	assert_false(cur_eat(&c, 'x'));
	s = cur_until(&c, ' ');
	assert_int_equal(s.len, 0);
	s = cur_rest(&c);
	assert_int_equal(s.len, 0);
}

static void
test_until_without_delim_takes_rest(void **state)
{
	struct cursor c;
	struct span s;

	(void)state;
	cur_init(&c, "NOOP", 4);
	s = cur_until(&c, ' ');
	assert_true(span_eq(s, "NOOP"));
	assert_true(cur_eof(&c));

	/* A delimiter first gives an empty span and does not consume it. */
	cur_init(&c, " x", 2);
	s = cur_until(&c, ' ');
	assert_int_equal(s.len, 0);
	assert_true(cur_eat(&c, ' '));
}

static void
test_u64_basic(void **state)
{
	struct cursor c;
	uint64_t v = 0;

	(void)state;
	cur_init(&c, "1025,", 5);
	assert_int_equal(cur_u64(&c, 65535, &v), 0);
	assert_int_equal(v, 1025);
	assert_true(cur_eat(&c, ','));
	assert_true(cur_eof(&c));

	cur_init(&c, "0", 1);
	assert_int_equal(cur_u64(&c, 0, &v), 0);
	assert_int_equal(v, 0);

	/* Leading zeros do not count towards the maximum. */
	cur_init(&c, "000000000000000000000000000042", 30);
	assert_int_equal(cur_u64(&c, 42, &v), 0);
	assert_int_equal(v, 42);
	assert_true(cur_eof(&c));
}

static void
test_u64_max_is_inclusive(void **state)
{
	struct cursor c;
	uint64_t v = 7;

	(void)state;
	cur_init(&c, "255", 3);
	assert_int_equal(cur_u64(&c, 255, &v), 0);
	assert_int_equal(v, 255);

	cur_init(&c, "256", 3);
	assert_int_equal(cur_u64(&c, 255, &v), -ERANGE);
	assert_int_equal(c.len, 3);	/* not consumed */
	assert_int_equal(v, 255);	/* not written */

	cur_init(&c, "65536", 5);
	assert_int_equal(cur_u64(&c, 65535, &v), -ERANGE);
	cur_init(&c, "65535", 5);
	assert_int_equal(cur_u64(&c, 65535, &v), 0);
	assert_int_equal(v, 65535);
}

/*
 * Maxima below ten: a single digit can already be too big.  EPRT's protocol
 * field is parsed with max 2, and "|3|" must not read as 3.
 */
static void
test_u64_small_max(void **state)
{
	struct cursor c;
	uint64_t v = 99;

	(void)state;
	cur_init(&c, "1", 1);
	assert_int_equal(cur_u64(&c, 0, &v), -ERANGE);
	cur_init(&c, "7", 1);
	assert_int_equal(cur_u64(&c, 5, &v), -ERANGE);
	cur_init(&c, "3", 1);
	assert_int_equal(cur_u64(&c, 2, &v), -ERANGE);
	cur_init(&c, "13", 2);
	assert_int_equal(cur_u64(&c, 2, &v), -ERANGE);
	cur_init(&c, "10", 2);
	assert_int_equal(cur_u64(&c, 9, &v), -ERANGE);
	assert_int_equal(v, 99);

	cur_init(&c, "5", 1);
	assert_int_equal(cur_u64(&c, 5, &v), 0);
	assert_int_equal(v, 5);
	cur_init(&c, "9", 1);
	assert_int_equal(cur_u64(&c, 9, &v), 0);
	assert_int_equal(v, 9);
}

static void
test_u64_overflow(void **state)
{
	static const char top[] = "18446744073709551615";
	static const char wrap[] = "18446744073709551616";
	static const char huge[] = "99999999999999999999999999";
	struct cursor c;
	uint64_t v = 0;

	(void)state;
	cur_init(&c, top, strlen(top));
	assert_int_equal(cur_u64(&c, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_true(cur_eof(&c));

	/* One more would wrap to 0: it must be refused, not accepted as 0. */
	cur_init(&c, wrap, strlen(wrap));
	assert_int_equal(cur_u64(&c, UINT64_MAX, &v), -ERANGE);
	cur_init(&c, huge, strlen(huge));
	assert_int_equal(cur_u64(&c, UINT64_MAX, &v), -ERANGE);
	cur_init(&c, top, strlen(top));
	assert_int_equal(cur_u64(&c, UINT64_MAX - 1, &v), -ERANGE);
}

static void
test_u64_no_digits(void **state)
{
	struct cursor c;
	uint64_t v = 5;

	(void)state;
	cur_init(&c, "", 0);
	assert_int_equal(cur_u64(&c, 100, &v), -EINVAL);
	cur_init(&c, "abc", 3);
	assert_int_equal(cur_u64(&c, 100, &v), -EINVAL);
	assert_int_equal(c.len, 3);
	/* No sign and no leading space: only digits make a number. */
	cur_init(&c, "-1", 2);
	assert_int_equal(cur_u64(&c, 100, &v), -EINVAL);
	cur_init(&c, "+1", 2);
	assert_int_equal(cur_u64(&c, 100, &v), -EINVAL);
	cur_init(&c, " 1", 2);
	assert_int_equal(cur_u64(&c, 100, &v), -EINVAL);
	assert_int_equal(v, 5);
}

static void
test_span_u64_whole_span(void **state)
{
	struct span s;
	uint64_t v = 0;

	(void)state;
	s = (struct span){ "4096", 4 };
	assert_int_equal(span_u64(s, 4096, &v), 0);
	assert_int_equal(v, 4096);
	s = (struct span){ "4097", 4 };
	assert_int_equal(span_u64(s, 4096, &v), -ERANGE);
	s = (struct span){ "12 ", 3 };
	assert_int_equal(span_u64(s, 100, &v), -EINVAL);
	s = (struct span){ " 12", 3 };
	assert_int_equal(span_u64(s, 100, &v), -EINVAL);
	s = (struct span){ "12x", 3 };
	assert_int_equal(span_u64(s, 100, &v), -EINVAL);
	s = (struct span){ "", 0 };
	assert_int_equal(span_u64(s, 100, &v), -EINVAL);
	/* The span's length, not a NUL, says where the number ends. */
	s = (struct span){ "12345", 2 };
	assert_int_equal(span_u64(s, 100, &v), 0);
	assert_int_equal(v, 12);
}

static void
test_span_eq(void **state)
{
	struct span s = { "RETRX", 4 };

	(void)state;
	assert_true(span_eq(s, "RETR"));
	assert_false(span_eq(s, "RETRX"));
	assert_false(span_eq(s, "RET"));
	assert_false(span_eq(s, "retr"));
	assert_true(span_eq_ci(s, "retr"));
	assert_true(span_eq_ci(s, "ReTr"));
	assert_false(span_eq_ci(s, "retrx"));
	assert_false(span_eq_ci(s, "ret"));
	s.len = 0;
	assert_true(span_eq(s, ""));
	assert_true(span_eq_ci(s, ""));
	assert_false(span_eq(s, "R"));
}

static void
test_span_has_ctl(void **state)
{
	(void)state;
	assert_false(span_has_ctl((struct span){ "a b\tc", 5 }));
	assert_false(span_has_ctl((struct span){ "", 0 }));
	assert_true(span_has_ctl((struct span){ "a\0b", 3 }));
	assert_true(span_has_ctl((struct span){ "a\rb", 3 }));
	assert_true(span_has_ctl((struct span){ "a\nb", 3 }));
	assert_true(span_has_ctl((struct span){ "\n", 1 }));
	/* Bytes past the span's length are not the span's business. */
	assert_false(span_has_ctl((struct span){ "ab\r\n", 2 }));
}

/*
 * Every prefix of a number parses to the number those digits spell, and a
 * prefix never sees the digits after it.
 */
static void
test_u64_every_prefix(void **state)
{
	static const char digits[] = "18446744073709551616";
	size_t i, n, len = strlen(digits);
	struct cursor c;
	uint64_t v, want;
	char *p;
	int rc;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(digits, n);
		cur_init(&c, p, n);
		rc = cur_u64(&c, UINT64_MAX, &v);
		if (n == 0)
			assert_int_equal(rc, -EINVAL);
		else if (n == len)
			assert_int_equal(rc, -ERANGE);
		else {
			want = 0;
			for (i = 0; i < n; i++)
				want = want * 10 + (uint64_t)(digits[i] - '0');
			assert_int_equal(rc, 0);
			assert_true(v == want);
			assert_true(cur_eof(&c));
		}
		free(p);
	}
}

/*
 * A small list parser in the style of the FTP address arguments, run over
 * every prefix of "12,345,6789": it sees exactly the complete numbers and
 * the partial last one the prefix holds.
 */
static void
test_list_every_prefix(void **state)
{
	static const char list[] = "12,345,6789";
	size_t n, len = strlen(list), got;
	uint64_t v[4], want[4];
	size_t nwant;
	struct cursor c;
	char *p;
	size_t i;

	(void)state;
	for (n = 0; n <= len; n++) {
		/* The expected numbers, from the prefix as text. */
		nwant = 0;
		for (i = 0; i < n; i++) {
			if (list[i] == ',')
				continue;
			if (i == 0 || list[i - 1] == ',')
				want[nwant++] = 0;
			want[nwant - 1] = want[nwant - 1] * 10 +
			    (uint64_t)(list[i] - '0');
		}

		p = exact_copy(list, n);
		cur_init(&c, p, n);
		got = 0;
		while (got < 4 && cur_u64(&c, 9999, &v[got]) == 0) {
			got++;
			if (!cur_eat(&c, ','))
				break;
		}
		assert_true(cur_eof(&c));
		assert_int_equal(got, nwant);
		for (i = 0; i < got; i++)
			assert_true(v[i] == want[i]);
		free(p);
	}
}

/* cur_until over every prefix stops at the prefix's end, never past it. */
static void
test_until_every_prefix(void **state)
{
	static const char kv[] = "listen=127.0.0.1:2121";
	size_t n, len = strlen(kv), eq = 6;
	struct cursor c;
	struct span s;
	char *p;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(kv, n);
		cur_init(&c, p, n);
		s = cur_until(&c, '=');
		assert_int_equal(s.len, n < eq ? n : eq);
		assert_int_equal(cur_eat(&c, '='), n > eq);
		s = cur_rest(&c);
		assert_int_equal(s.len, n > eq ? n - eq - 1 : 0);
		assert_true(cur_eof(&c));
		free(p);
	}
}

static void
test_i64_bounds(void **state)
{
	struct cursor c;
	int64_t v = 7;

	(void)state;
	assert_int_equal(span_i64(span_str("-9223372036854775808"), INT64_MIN,
				  INT64_MAX, &v),
			 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(
	    span_i64(span_str("9223372036854775807"), INT64_MIN, INT64_MAX, &v),
	    0);
	assert_true(v == INT64_MAX);
	assert_int_equal(span_i64(span_str("-9223372036854775809"), INT64_MIN,
				  INT64_MAX, &v),
			 -ERANGE);
	assert_int_equal(
	    span_i64(span_str("9223372036854775808"), INT64_MIN, INT64_MAX, &v),
	    -ERANGE);
	assert_int_equal(span_i64(span_str("-0"), 0, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(span_i64(span_str("-3"), -3, -1, &v), 0);
	assert_true(v == -3);
	assert_int_equal(span_i64(span_str("-4"), -3, -1, &v), -ERANGE);
	assert_int_equal(span_i64(span_str("0"), -3, -1, &v), -ERANGE);
	assert_int_equal(span_i64(span_str("5"), 10, 20, &v), -ERANGE);
	assert_int_equal(span_i64(span_str("-"), -10, 10, &v), -EINVAL);
	assert_int_equal(span_i64(span_str(""), -10, 10, &v), -EINVAL);
	assert_int_equal(span_i64(span_str("+1"), -10, 10, &v), -EINVAL);
	assert_int_equal(span_i64(span_str(" 1"), -10, 10, &v), -EINVAL);
	assert_int_equal(span_i64(span_str("1 "), -10, 10, &v), -EINVAL);
	assert_int_equal(span_i64(span_str(NULL), -10, 10, &v), -EINVAL);
	assert_true(v == -3);

	/* A refused number leaves the cursor where it was. */
	cur_init(&c, "-1,", 3);
	assert_int_equal(cur_i64(&c, 0, 10, &v), -ERANGE);
	assert_int_equal(c.len, 3);
	assert_int_equal(cur_i64(&c, -1, 10, &v), 0);
	assert_true(v == -1);
	assert_true(cur_eat(&c, ','));
}

/* Every prefix of "-1234567" is -EINVAL until a digit is in, then the
 * negative of those digits. */
static void
test_i64_every_prefix(void **state)
{
	static const char text[] = "-1234567";
	size_t i, n, len = strlen(text);
	struct cursor c;
	int64_t v, want;
	char *p;
	int rc;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(text, n);
		cur_init(&c, p, n);
		rc = cur_i64(&c, -10000000, 10000000, &v);
		if (n < 2) {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(c.len, n);
		} else {
			want = 0;
			for (i = 1; i < n; i++)
				want = want * 10 + (text[i] - '0');
			assert_int_equal(rc, 0);
			assert_true(v == -want);
			assert_true(cur_eof(&c));
		}
		free(p);
	}
}

static void
test_double_forms(void **state)
{
	struct cursor c;
	double d = 9;

	(void)state;
	assert_int_equal(span_double(span_str("0.5"), 0, 1, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(span_double(span_str("0.1"), 0, 1, &d), 0);
	assert_true(d == 0.1);
	assert_int_equal(span_double(span_str(".25"), 0, 1, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(span_double(span_str("3."), 0, 10, &d), 0);
	assert_true(d == 3.0);
	assert_int_equal(span_double(span_str("-2.5"), -10, 10, &d), 0);
	assert_true(d == -2.5);
	assert_int_equal(span_double(span_str("1000"), 0, 1000, &d), 0);
	assert_true(d == 1000.0);
	assert_int_equal(
	    span_double(span_str("123456789012345678"), 0, 1e18, &d), 0);
	assert_int_equal(
	    span_double(span_str("1234567890123456789"), 0, 1e19, &d), -ERANGE);
	assert_int_equal(
	    span_double(span_str("0.0000000000000000001"), 0, 1, &d), -ERANGE);
	assert_int_equal(span_double(span_str("1.5"), 0, 1, &d), -ERANGE);
	assert_int_equal(span_double(span_str("-0.5"), 0, 1, &d), -ERANGE);
	d = 9;
	assert_int_equal(span_double(span_str("1e3"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("inf"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("nan"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("0x10"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("."), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("-"), -1, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str("1.2.3"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str(" 1"), 0, 1e6, &d), -EINVAL);
	assert_int_equal(span_double(span_str(""), 0, 1e6, &d), -EINVAL);
	assert_true(d == 9);

	cur_init(&c, "2.5x", 4);
	assert_int_equal(cur_double(&c, 0, 2, &d), -ERANGE);
	assert_int_equal(c.len, 4);
	assert_int_equal(cur_double(&c, 0, 3, &d), 0);
	assert_true(d == 2.5);
	assert_true(cur_eat(&c, 'x'));
}

/* Every prefix of "12.375" is the number its digits spell. */
static void
test_double_every_prefix(void **state)
{
	static const char text[] = "12.375";
	static const double want[] = {0, 1, 12, 12, 12.3, 12.37, 12.375};
	size_t n, len = strlen(text);
	struct cursor c;
	double d;
	char *p;
	int rc;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(text, n);
		cur_init(&c, p, n);
		rc = cur_double(&c, 0, 100, &d);
		if (n == 0)
			assert_int_equal(rc, -EINVAL);
		else {
			assert_int_equal(rc, 0);
			assert_true(d == want[n]);
			assert_true(cur_eof(&c));
		}
		free(p);
	}
}

static void
test_hex_forms(void **state)
{
	static const unsigned char want[4] = {0x00, 0xff, 0x7f, 0xa0};
	unsigned char out[4] = {1, 2, 3, 4};
	struct cursor c;

	(void)state;
	assert_int_equal(span_hex(span_str("00ff7Fa0"), out, 4), 0);
	assert_memory_equal(out, want, 4);
	memset(out, 1, sizeof(out));
	/* Refused inputs leave out as it was. */
	assert_int_equal(span_hex(span_str("00ff7Fa"), out, 4), -EINVAL);
	assert_int_equal(span_hex(span_str("00ff7Fa00"), out, 4), -EINVAL);
	assert_int_equal(span_hex(span_str("00ff7Fag"), out, 4), -EINVAL);
	assert_int_equal(span_hex(span_str("00ff 7Fa"), out, 4), -EINVAL);
	assert_int_equal(span_hex(span_str("0x00ff7F"), out, 4), -EINVAL);
	assert_int_equal(span_hex(span_str("-0ff7Fa0"), out, 4), -EINVAL);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[3], 1);
	assert_int_equal(span_hex(span_str(""), out, 0), 0);

	cur_init(&c, "abz", 3);
	assert_int_equal(cur_hex(&c, out, 2), -EINVAL);
	assert_int_equal(c.len, 3);
	assert_int_equal(cur_hex(&c, out, 1), 0);
	assert_int_equal(out[0], 0xab);
	assert_true(cur_eat(&c, 'z'));
}

/*
 * Every prefix of a 24-digit string decodes the whole bytes it holds,
 * refuses one byte more without moving, and is a 12-byte span only whole.
 */
static void
test_hex_every_prefix(void **state)
{
	static const char text[] = "0123456789abcdefABCDEF00";
	static const unsigned char want[12] = {0x01, 0x23, 0x45, 0x67,
					       0x89, 0xab, 0xcd, 0xef,
					       0xab, 0xcd, 0xef, 0x00};
	size_t n, len = strlen(text);
	unsigned char out[13];
	struct cursor c;
	char *p;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(text, n);
		cur_init(&c, p, n);
		assert_int_equal(cur_hex(&c, out, n / 2 + 1), -EINVAL);
		assert_int_equal(c.len, n);
		assert_int_equal(cur_hex(&c, out, n / 2), 0);
		assert_memory_equal(out, want, n / 2);
		assert_int_equal(c.len, n % 2);
		cur_init(&c, p, n);
		assert_int_equal(span_hex((struct span){p, n}, out, 12),
				 n == len ? 0 : -EINVAL);
		free(p);
	}
}

/* span_hex undoes str_hex for every byte value. */
static void
test_hex_round_trip(void **state)
{
	unsigned char in[256], out[256];
	char text[513];
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	str_hex(in, sizeof(in), text);
	assert_int_equal(span_hex(span_str(text), out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
}

/* cur_word over every prefix of a PEERS line sees the words it holds. */
static void
test_word_every_prefix(void **state)
{
	static const char line[] = " \t10.0.0.1:4000  2.5\r\n";
	size_t n, len = strlen(line);
	struct cursor c;
	struct span a, b, e;
	char *p;

	(void)state;
	for (n = 0; n <= len; n++) {
		p = exact_copy(line, n);
		cur_init(&c, p, n);
		a = cur_word(&c);
		b = cur_word(&c);
		e = cur_word(&c);
		assert_int_equal(a.len, n <= 2 ? 0 : n < 15 ? n - 2 : 13);
		assert_int_equal(b.len, n <= 17 ? 0 : n < 20 ? n - 17 : 3);
		if (b.len == 3)
			assert_true(span_eq(b, "2.5"));
		assert_int_equal(e.len, 0);
		assert_true(cur_eof(&c));
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eat_until_rest),
		cmocka_unit_test(test_until_without_delim_takes_rest),
		cmocka_unit_test(test_u64_basic),
		cmocka_unit_test(test_u64_max_is_inclusive),
		cmocka_unit_test(test_u64_small_max),
		cmocka_unit_test(test_u64_overflow),
		cmocka_unit_test(test_u64_no_digits),
		cmocka_unit_test(test_span_u64_whole_span),
		cmocka_unit_test(test_span_eq),
		cmocka_unit_test(test_span_has_ctl),
		cmocka_unit_test(test_u64_every_prefix),
		cmocka_unit_test(test_list_every_prefix),
		cmocka_unit_test(test_until_every_prefix),
		cmocka_unit_test(test_i64_bounds),
		cmocka_unit_test(test_i64_every_prefix),
		cmocka_unit_test(test_double_forms),
		cmocka_unit_test(test_double_every_prefix),
		cmocka_unit_test(test_hex_forms),
		cmocka_unit_test(test_hex_every_prefix),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_word_every_prefix),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
