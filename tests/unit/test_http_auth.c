/*
 * Tests for http_auth: the credentials of "Authorization: Basic".
 *
 * What a client would notice: the user and password a real client encodes
 * come back exactly (padded or not, a ':' in the password kept); a value
 * longer than the longest account can send is refused without being
 * decoded, however long (the 800-byte header that once overran a stack
 * buffer among them); bad base64, a NUL or a missing ':' are refused with
 * empty outputs; a value cut at any byte is refused or decodes to what
 * that prefix says, and a head carrying it split at every byte gives the
 * same credentials.  Every value is read from a heap copy of exactly its
 * length, so AddressSanitizer reports any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "front/http/http_auth.h"
#include "front/http/http_parse.h"

struct creds {
	char user[AUTH_NAME_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
};

static int
decode_n(const char *s, size_t n, struct creds *c)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, s, n);
	memset(c, 'x', sizeof(*c));
	rc = http_basic_decode(copy, n, c->user, sizeof(c->user), c->pass,
			       sizeof(c->pass));
	free(copy);
	if (rc < 0) {
		assert_string_equal(c->user, "");
		assert_string_equal(c->pass, "");
	}
	return (rc);
}

static int
decode(const char *s, struct creds *c)
{
	return (decode_n(s, strlen(s), c));
}

/* base64 of raw[n], padded, into a fresh string. */
static char *
encode(const void *raw, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
	return (out);
}

static void
test_round_trip(void **state)
{
	static const char *cases[][2] = {
	    {"guest", "guest"},
	    {"a", ""},
	    {"alice", "p:a:ss"},
	    {"bob", "x"},
	    {"carol", "xy"},
	    {"dave", "xyz"},
	    {"u.s-e_r", "sp ace\tand\x7f\xc3\xa9"},
	};
	struct creds c;
	char raw[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *b;
		size_t n;

		snprintf(raw, sizeof(raw), "%s:%s", cases[i][0], cases[i][1]);
		b = encode(raw, strlen(raw));
		assert_int_equal(decode(b, &c), 0);
		assert_string_equal(c.user, cases[i][0]);
		assert_string_equal(c.pass, cases[i][1]);
		/* The same without its padding. */
		n = strlen(b);
		while (n > 0 && b[n - 1] == '=')
			n--;
		assert_int_equal(decode_n(b, n, &c), 0);
		assert_string_equal(c.user, cases[i][0]);
		assert_string_equal(c.pass, cases[i][1]);
		free(b);
	}
}

static void
test_longest_account_fits(void **state)
{
	char raw[HTTP_BASIC_RAW_MAX + 1], *b;
	struct creds c;

	(void)state;
	memset(raw, 'u', AUTH_NAME_MAX);
	raw[AUTH_NAME_MAX] = ':';
	memset(raw + AUTH_NAME_MAX + 1, 'p', AUTH_PASS_MAX);
	b = encode(raw, HTTP_BASIC_RAW_MAX);
	assert_true(strlen(b) <= HTTP_BASIC_B64_MAX);
	assert_int_equal(decode(b, &c), 0);
	assert_int_equal(strlen(c.user), AUTH_NAME_MAX);
	assert_int_equal(strlen(c.pass), AUTH_PASS_MAX);
	free(b);
	/* One more password byte is one more than any account can have. */
	{
		char more[HTTP_BASIC_RAW_MAX + 2];

		memcpy(more, raw, HTTP_BASIC_RAW_MAX);
		more[HTTP_BASIC_RAW_MAX] = 'p';
		b = encode(more, HTTP_BASIC_RAW_MAX + 1);
		assert_int_equal(decode(b, &c), -1);
		free(b);
	}
}

static void
test_too_long_is_refused(void **state)
{
	static const size_t lens[] = {
	    HTTP_BASIC_B64_MAX + 1, 600, 799, 800, 801, 1023, 4096, 100000};
	struct creds c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *s = malloc(lens[i]);

		assert_non_null(s);
		memset(s, 'A', lens[i]);
		assert_int_equal(decode_n(s, lens[i], &c), -1);
		free(s);
	}
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "=",
	    "==",
	    "===",
	    "====",
	    "A",
	    "AB=",
	    "ABC==",
	    "A===",
	    "Z3Vlc3Q6Z3Vlc3Q=x",
	    "Z3Vlc3Q6 Z3Vlc3Q=",
	    "Z3Vl\nc3Q6Z3Vlc3Q=",
	    "Z3Vlc3Q6Z3Vlc3R=", /* non-zero leftover bits */
	    "Z3Vlc3Q6Z3Vlc3Q=\r",
	    "*3Vlc3Q6Z3Vlc3Q=",
	    "Z3Vlc3Q-Z3Vlc3Q=",
	    "Z3Vlc3Q=Z3Vlc3Q=", /* padding inside */
	    "Z3Vlc3Q=",		/* "guest": no colon */
	    "Z3Vl AGM6cGFzcw==",
	    "Z3VlAHN0OnBhc3M=", /* "gue\0st:pass" */
	    "Z3Vlc3Q6cGEAc3M=", /* "guest:pa\0ss" */
	};
	struct creds c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], &c), -1);
	/* Output buffers smaller than the parts: refused, nothing past. */
	{
		char u[4] = "zzz", p[4] = "zzz";

		assert_int_equal(http_basic_decode("Z3Vlc3Q6Z3Vlc3Q=", 16, u,
						   sizeof(u), p, sizeof(p)),
				 -1);
		assert_string_equal(u, "");
		assert_string_equal(p, "");
		assert_int_equal(http_basic_decode("YWJjOmRlZg==", 12, u,
						   sizeof(u), p, sizeof(p)),
				 0);
		assert_string_equal(u, "abc");
		assert_string_equal(p, "def");
	}
}

/* Every prefix of a value: refused, or the credentials that prefix holds. */
static void
test_cut_at_every_byte(void **state)
{
	const char *raw = "alice:correct horse battery staple";
	char *b = encode(raw, strlen(raw));
	size_t n, len = strlen(b);
	struct creds c;

	(void)state;
	for (n = 0; n <= len; n++) {
		unsigned char want[128];
		int rc = decode_n(b, n, &c), wl;
		size_t digits = n;

		if (rc < 0)
			continue;
		/* What OpenSSL decodes from the same prefix, padded. */
		while (digits > 0 && b[digits - 1] == '=')
			digits--;
		{
			char padded[128];

			memcpy(padded, b, digits);
			while (digits % 4)
				padded[digits++] = '=';
			wl = EVP_DecodeBlock(want, (unsigned char *)padded,
					     (int)digits);
			assert_true(wl > 0);
		}
		want[wl] = '\0';
		assert_true(strlen(c.user) + 1 + strlen(c.pass) <= (size_t)wl);
		assert_memory_equal(want, c.user, strlen(c.user));
		assert_int_equal(want[strlen(c.user)], ':');
		assert_memory_equal(want + strlen(c.user) + 1, c.pass,
				    strlen(c.pass));
	}
	assert_int_equal(decode_n(b, len, &c), 0);
	assert_string_equal(c.pass, "correct horse battery staple");
	free(b);
}

/* A head with the header, split in two at every byte: the same answer. */
static void
test_head_split_at_every_byte(void **state)
{
	static const char head[] =
	    "GET /v1/status HTTP/1.1\r\n"
	    "Host: x\r\nAuthorization: Basic YWxpY2U6cDpzcw==\r\n\r\n";
	static struct http_req req;
	size_t n, len = sizeof(head) - 1;
	struct creds c;

	(void)state;
	for (n = 0; n < len; n++) {
		char *copy = malloc(len);

		assert_non_null(copy);
		memcpy(copy, head, len);
		assert_int_equal(http_parse_head(copy, n, &req), 0);
		assert_int_equal(http_parse_head(copy, len, &req), (int)len);
		free(copy);
		assert_int_equal(strncmp(req.authorization, "Basic ", 6), 0);
		assert_int_equal(decode(req.authorization + 6, &c), 0);
		assert_string_equal(c.user, "alice");
		assert_string_equal(c.pass, "p:ss");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_longest_account_fits),
	    cmocka_unit_test(test_too_long_is_refused),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_cut_at_every_byte),
	    cmocka_unit_test(test_head_split_at_every_byte),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
