/*
 * Tests for the cluster key's text form (net/tls.h), which the node, the
 * tracker and `shoal init --join` all read.
 *
 * What callers rely on: exactly 64 hex digits of either case give the key
 * `shoal init` printed; anything else (a digit short or over, a space, a
 * sign, "0x", a newline left in) is refused and leaves the key as it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/tls.h"

static const char good[] =
    "00112233445566778899aabbccddeeff0123456789abcdefFEDCBA9876543210";

static void
test_parses_64_hex_digits(void **state)
{
	uint8_t key[TLS_CLUSTER_KEY_LEN];

	(void)state;
	assert_int_equal(tls_cluster_key_parse(good, key), 0);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[1], 0x11);
	assert_int_equal(key[10], 0xaa);
	assert_int_equal(key[15], 0xff);
	assert_int_equal(key[16], 0x01);
	assert_int_equal(key[24], 0xfe);
	assert_int_equal(key[31], 0x10);
}

static void
test_hex_round_trips(void **state)
{
	uint8_t key[TLS_CLUSTER_KEY_LEN], back[TLS_CLUSTER_KEY_LEN];
	char hex[TLS_CLUSTER_KEY_HEX_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < TLS_CLUSTER_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 37 + 5);
	tls_cluster_key_hex(key, hex);
	assert_int_equal(strlen(hex), TLS_CLUSTER_KEY_HEX_LEN);
	for (i = 0; i < TLS_CLUSTER_KEY_HEX_LEN; i++)
		assert_true((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f'));
	assert_int_equal(tls_cluster_key_parse(hex, back), 0);
	assert_memory_equal(key, back, sizeof(key));
}

static void
assert_refused(const char *s)
{
	uint8_t key[TLS_CLUSTER_KEY_LEN], before[TLS_CLUSTER_KEY_LEN];

	memset(key, 0x5a, sizeof(key));
	memcpy(before, key, sizeof(key));
	assert_int_equal(tls_cluster_key_parse(s, key), -EINVAL);
	assert_memory_equal(key, before, sizeof(key));
}

static void
test_refuses_every_other_length(void **state)
{
	char s[2 * TLS_CLUSTER_KEY_HEX_LEN + 1];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(s); n++) {
		if (n == TLS_CLUSTER_KEY_HEX_LEN)
			continue;
		memset(s, 'a', n);
		s[n] = '\0';
		assert_refused(s);
	}
}

/* One bad byte at each position in turn. */
static void
test_refuses_a_bad_byte_anywhere(void **state)
{
	static const char bad[] = { 'g', 'G', 'x', ' ', '+', '-', '\n', '\r',
	    '\t', '.', '/', ':', '@', '`', '\x7f', '\x80', '\xff' };
	char s[sizeof(good)];
	size_t i, j;

	(void)state;
	for (i = 0; i < TLS_CLUSTER_KEY_HEX_LEN; i++)
		for (j = 0; j < sizeof(bad); j++) {
			memcpy(s, good, sizeof(good));
			s[i] = bad[j];
			assert_refused(s);
		}
}

static void
test_refuses_prefixes_and_padding(void **state)
{
	char s[TLS_CLUSTER_KEY_HEX_LEN + 3];

	(void)state;
	/* "0x" in front, cut to length: the 'x' is not a digit. */
	memcpy(s, "0x", 2);
	memcpy(s + 2, good, TLS_CLUSTER_KEY_HEX_LEN - 2);
	s[TLS_CLUSTER_KEY_HEX_LEN] = '\0';
	assert_refused(s);
	/* A newline the caller forgot to strip. */
	memcpy(s, good, TLS_CLUSTER_KEY_HEX_LEN);
	memcpy(s + TLS_CLUSTER_KEY_HEX_LEN, "\n", 2);
	assert_refused(s);
	/* A leading space. */
	s[0] = ' ';
	memcpy(s + 1, good, TLS_CLUSTER_KEY_HEX_LEN);
	s[TLS_CLUSTER_KEY_HEX_LEN + 1] = '\0';
	assert_refused(s);
}

static void
test_tls_names(void **state)
{
	static const char *const ok_names[] = {
		"host1", "10.0.0.5", "::1", "fe80::1", "a.b-c.example",
		"host1,10.0.0.5", "X1", "1host",
	};
	static const char *const bad_names[] = {
		"", ",", "a,", ",a", "a,,b", "bad_name", "-a", "a-", "a..b",
		".a", "a.", "a b", "1.2.3.4/24", "a\n", "*.example",
	};
	char why[300], s[400];
	size_t i;

	(void)state;
	assert_int_equal(tls_names_check(NULL, why, sizeof(why)), 0);
	for (i = 0; i < sizeof(ok_names) / sizeof(ok_names[0]); i++)
		assert_int_equal(tls_names_check(ok_names[i], why, sizeof(why)),
		    0);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(tls_names_check(bad_names[i], why, sizeof(why)),
		    -EINVAL);
	/* Labels of 63 bytes pass, 64 do not; 253 bytes in all at most. */
	memset(s, 'a', 63);
	s[63] = '\0';
	assert_int_equal(tls_names_check(s, why, sizeof(why)), 0);
	memset(s, 'a', 64);
	s[64] = '\0';
	assert_int_equal(tls_names_check(s, why, sizeof(why)), -EINVAL);
	for (i = 0; i < 254; i++)
		s[i] = i % 2 ? '.' : 'a';
	s[253] = '\0';
	assert_int_equal(tls_names_check(s, why, sizeof(why)), 0);
	s[253] = 'a';
	s[254] = '\0';
	assert_int_equal(tls_names_check(s, why, sizeof(why)), -EINVAL);
	/* TLS_NAMES_MAX names, and one more. */
	s[0] = '\0';
	for (i = 0; i < TLS_NAMES_MAX; i++)
		strcat(s, i ? ",h" : "h");
	assert_int_equal(tls_names_check(s, why, sizeof(why)), 0);
	strcat(s, ",h");
	assert_int_equal(tls_names_check(s, why, sizeof(why)), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_64_hex_digits),
		cmocka_unit_test(test_hex_round_trips),
		cmocka_unit_test(test_refuses_every_other_length),
		cmocka_unit_test(test_refuses_a_bad_byte_anywhere),
		cmocka_unit_test(test_refuses_prefixes_and_padding),
		cmocka_unit_test(test_tls_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
