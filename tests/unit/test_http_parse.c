/*
 * Tests for http_parse: the head of an HTTP/1.1 request, percent-decoding
 * of the target, and the Range header.
 *
 * What a client would notice: a well-formed head is taken whole (its
 * length, the empty line included, and nothing of the body after it); a
 * head that arrives in pieces is "need more" until its last byte and then
 * the same answer as when it arrives at once; the caps answer 431, bytes
 * HTTP does not allow answer 400, two different lengths or a length beside
 * chunked answer 400 (a smuggling attempt), a transfer coding other than
 * chunked 501 and any HTTP other than 1.x 505.  Escapes decode exactly and
 * a bad one or a NUL is refused; a Range gives the bytes RFC 9110 says, or
 * 416 when nothing of the file is in it.  Every parse reads a heap copy of
 * exactly its length, so AddressSanitizer reports any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/http/http_parse.h"

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

/* Parses the first n bytes of s from an exact heap copy. */
static int
parse_n(const char *s, size_t n, struct http_req *req)
{
	char *copy = exact_copy(s, n);
	int rc = http_parse_head(copy, n, req);

	free(copy);
	return (rc);
}

/* For string literals, which may hold NUL bytes. */
#define PARSE(lit, req)	parse_n((lit), sizeof(lit) - 1, (req))

/* A buffer of n bytes: prefix, then fill bytes, then suffix. */
static char *
padded(const char *prefix, char fill, size_t n, const char *suffix,
    size_t *len)
{
	size_t a = strlen(prefix), c = strlen(suffix);
	char *p;

	assert_true(n >= a + c);
	p = malloc(n);
	assert_non_null(p);
	memcpy(p, prefix, a);
	memset(p + a, fill, n - a - c);
	memcpy(p + n - c, suffix, c);
	*len = n;
	return (p);
}

/* Request line and headers */

static void
test_head_get(void **state)
{
	static const char head[] =
	    "GET /v1/files/docs/report.pdf?x=1 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8441\r\n"
	    "Authorization: Bearer 0123abcd\r\n"
	    "If-None-Match: \"aa\"\r\n"
	    "Range: bytes=0-1023\r\n"
	    "\r\n";
	struct http_req req;

	(void)state;
	assert_int_equal(PARSE(head, &req), sizeof(head) - 1);
	assert_int_equal(req.method, HTTP_GET);
	assert_string_equal(req.target, "/v1/files/docs/report.pdf?x=1");
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.content_length, -1);
	assert_false(req.chunked);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);
	assert_string_equal(req.authorization, "Bearer 0123abcd");
	assert_string_equal(req.if_none_match, "\"aa\"");
	assert_string_equal(req.if_match, "");
	assert_string_equal(req.range, "bytes=0-1023");
	assert_int_equal(req.nheaders, 4);
}

static void
test_head_methods(void **state)
{
	static const struct {
		const char		*line;
		enum http_method	 m;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", HTTP_GET },
		{ "HEAD / HTTP/1.1\r\n\r\n", HTTP_HEAD },
		{ "PUT / HTTP/1.1\r\n\r\n", HTTP_PUT },
		{ "POST / HTTP/1.1\r\n\r\n", HTTP_POST },
		{ "DELETE / HTTP/1.1\r\n\r\n", HTTP_DELETE },
		{ "PATCH / HTTP/1.1\r\n\r\n", HTTP_OTHER },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", HTTP_OTHER },
		/* Methods are case-sensitive (RFC 9110, 9.1). */
		{ "get / HTTP/1.1\r\n\r\n", HTTP_OTHER },
		{ "GETX / HTTP/1.1\r\n\r\n", HTTP_OTHER },
	};
	struct http_req req;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].line);
		assert_int_equal(parse_n(cases[i].line, n, &req), (int)n);
		assert_int_equal(req.method, cases[i].m);
	}
}

static void
test_head_put_body_not_taken(void **state)
{
	static const char msg[] =
	    "PUT /v1/files/a.txt HTTP/1.1\r\n"
	    "Content-Length: 5\r\n"
	    "Expect: 100-continue\r\n"
	    "If-Match: \"abc\"\r\n"
	    "\r\n"
	    "hello";
	struct http_req req;

	(void)state;
	assert_int_equal(PARSE(msg, &req), sizeof(msg) - 1 - 5);
	assert_int_equal(req.method, HTTP_PUT);
	assert_int_equal(req.content_length, 5);
	assert_true(req.expect_continue);
	assert_string_equal(req.if_match, "\"abc\"");
}

static void
test_head_header_names_and_values(void **state)
{
	static const char head[] =
	    "POST /v1/move HTTP/1.1\r\n"
	    "content-LENGTH:\t 42 \t\r\n"	/* any case, trimmed */
	    "EXPECT: 100-Continue\r\n"
	    "authorization:Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "X-Other: a \"b\"\tc\r\n"		/* tab inside a value */
	    "X-Empty:\r\n"
	    "X-High: caf\xc3\xa9\r\n"		/* obs-text is allowed */
	    "\r\n";
	struct http_req req;

	(void)state;
	assert_int_equal(PARSE(head, &req), sizeof(head) - 1);
	assert_int_equal(req.method, HTTP_POST);
	assert_int_equal(req.content_length, 42);
	assert_true(req.expect_continue);
	assert_string_equal(req.authorization, "Basic Z3Vlc3Q6Z3Vlc3Q=");
	assert_int_equal(req.nheaders, 6);
}

static void
test_head_keep_alive(void **state)
{
	struct http_req req;

	(void)state;
	assert_true(PARSE("GET / HTTP/1.1\r\n\r\n", &req) > 0);
	assert_true(req.keep_alive);
	assert_int_equal(req.minor, 1);
	assert_true(PARSE("GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
	    &req) > 0);
	assert_false(req.keep_alive);
	assert_true(PARSE("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	assert_false(req.keep_alive);
	assert_int_equal(req.minor, 0);
	assert_true(PARSE("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    &req) > 0);
	assert_true(req.keep_alive);
}

static void
test_head_leading_empty_lines(void **state)
{
	static const char head[] = "\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
	struct http_req req;

	(void)state;
	/* The length covers the empty lines too: all of it is consumed. */
	assert_int_equal(PARSE(head, &req), sizeof(head) - 1);
	assert_string_equal(req.target, "/x");
}

static void
test_head_content_length(void **state)
{
	struct http_req req;

	(void)state;
	assert_true(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	    &req) > 0);
	assert_int_equal(req.content_length, 0);
	assert_true(PARSE("PUT /a HTTP/1.1\r\n"
	    "Content-Length: 9223372036854775807\r\n\r\n", &req) > 0);
	assert_int_equal(req.content_length, INT64_MAX);
	/* The same length twice is one length. */
	assert_true(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 7\r\n"
	    "content-length: 7\r\n\r\n", &req) > 0);
	assert_int_equal(req.content_length, 7);

	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\n"
	    "Content-Length: 9223372036854775808\r\n\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\n"
	    "Content-Length: 99999999999999999999999\r\n\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
	    &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 0x10\r\n"
	    "\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length:\r\n\r\n",
	    &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 1 2\r\n"
	    "\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 5, 5\r\n"
	    "\r\n", &req), -400);
}

static void
test_head_duplicate_different_length(void **state)
{
	struct http_req req;

	(void)state;
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 6\r\n"
	    "X: y\r\ncontent-length: 0\r\n\r\n", &req), -400);
	/* 0 first, then another: 0 is a length too. */
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 0\r\n"
	    "Content-Length: 1\r\n\r\n", &req), -400);
}

static void
test_head_transfer_encoding(void **state)
{
	struct http_req req;

	(void)state;
	assert_true(PARSE("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", &req) > 0);
	assert_true(req.chunked);
	assert_int_equal(req.content_length, -1);
	assert_true(PARSE("PUT /a HTTP/1.1\r\ntransfer-encoding: CHUNKED\r\n"
	    "\r\n", &req) > 0);
	assert_true(req.chunked);

	/* Chunked beside a length, in either order: smuggling. */
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked"
	    "\r\nContent-Length: 5\r\n\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &req), -400);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nContent-Length: 0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &req), -400);

	/* Any other coding is not implemented. */
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
	    "\r\n", &req), -501);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n", &req), -501);
	assert_int_equal(PARSE("PUT /a HTTP/1.1\r\nTransfer-Encoding: identity"
	    "\r\n\r\n", &req), -501);
}

static void
test_head_version(void **state)
{
	struct http_req req;

	(void)state;
	assert_int_equal(PARSE("GET / HTTP/2.0\r\n\r\n", &req), -505);
	assert_int_equal(PARSE("GET / HTTP/2\r\n\r\n", &req), -505);
	assert_int_equal(PARSE("GET / HTTP/0.9\r\n\r\n", &req), -505);
	assert_int_equal(PARSE("GET / HTTP/3.0\r\n\r\n", &req), -505);
	assert_int_equal(PARSE("GET / HTTP/1.10\r\n\r\n", &req), -505);
	assert_int_equal(PARSE("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req), -505);
}

static void
test_head_malformed_lines(void **state)
{
	static const char *bad[] = {
		"GET /\r\n\r\n",			/* no version */
		"GET\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",		/* empty target */
		" GET / HTTP/1.1\r\n\r\n",		/* empty method */
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\n: no name\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",	/* space before ':' */
		"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",	/* obs-fold */
		"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",
	};
	struct http_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_n(bad[i], strlen(bad[i]), &req);

		if (rc != -400)
			fail_msg("case %zu: got %d, want -400", i, rc);
	}
}

/* Control bytes, DEL and NUL in the target, header names and values. */
static void
test_head_bad_bytes(void **state)
{
	static const struct {
		const char	*s;
		size_t		 n;
	} bad[] = {
#define C(lit)	{ lit, sizeof(lit) - 1 }
		C("GET /a\x01" "b HTTP/1.1\r\n\r\n"),
		C("GET /a\x7f" "b HTTP/1.1\r\n\r\n"),
		C("GET /a\0b HTTP/1.1\r\n\r\n"),
		C("GET /a\tb HTTP/1.1\r\n\r\n"),
		C("GET /a\rb HTTP/1.1\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX-A: a\x7f" "b\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"),	/* bare CR */
		C("GET / HTTP/1.1\r\nX-A: a\nb\r\n\r\n"),	/* bare LF */
		C("GET / HTTP/1.1\r\nX-A: a\x1b[0m\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX\x01" "A: a\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX\x7f" "A: a\r\n\r\n"),
		C("GET / HTTP/1.1\r\nX\0A: a\r\n\r\n"),
		C("GET / HTTP/1.1\r\nAuthorization: Bearer a\0b\r\n\r\n"),
		C("GET / HTTP/1.1\r\nRange: bytes=0-1\x01\r\n\r\n"),
#undef C
	};
	struct http_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_n(bad[i].s, bad[i].n, &req);

		if (rc != -400)
			fail_msg("case %zu: got %d, want -400", i, rc);
	}
}

/* A method is a token: control bytes in it are as bad as in a target. */
static void
test_head_bad_bytes_in_method(void **state)
{
	static const struct {
		const char	*s;
		size_t		 n;
	} bad[] = {
#define C(lit)	{ lit, sizeof(lit) - 1 }
		C("G\x01T / HTTP/1.1\r\n\r\n"),
		C("G\0T / HTTP/1.1\r\n\r\n"),
		C("GET\x7f / HTTP/1.1\r\n\r\n"),
		C("\tGET / HTTP/1.1\r\n\r\n"),
#undef C
	};
	struct http_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_n(bad[i].s, bad[i].n, &req);

		if (rc != -400)
			fail_msg("case %zu: got %d, want -400", i, rc);
	}
}

/* Caps */

static void
test_head_cap(void **state)
{
	static const char line[] = "GET / HTTP/1.1\r\nX-Pad: ";
	struct http_req req;
	char *p;
	size_t len;

	(void)state;
	/* Exactly HTTP_HEAD_MAX bytes, the empty line included: taken. */
	p = padded(line, 'a', HTTP_HEAD_MAX, "\r\n\r\n", &len);
	assert_int_equal(http_parse_head(p, len, &req), HTTP_HEAD_MAX);
	free(p);

	/* One byte more: too large, at once or after the cap arrived. */
	p = padded(line, 'a', HTTP_HEAD_MAX + 1, "\r\n\r\n", &len);
	assert_int_equal(http_parse_head(p, len, &req), -431);
	assert_int_equal(http_parse_head(p, HTTP_HEAD_MAX, &req), -431);
	assert_int_equal(http_parse_head(p, HTTP_HEAD_MAX - 1, &req), 0);
	free(p);

	/* A request line that never ends. */
	p = padded("GET /", 'a', HTTP_HEAD_MAX + 100, "", &len);
	assert_int_equal(http_parse_head(p, len, &req), -431);
	free(p);

	/* Empty lines alone up to the cap. */
	p = padded("", '\n', HTTP_HEAD_MAX, "", &len);
	for (size_t i = 0; i < len; i += 2)
		p[i] = '\r';
	assert_int_equal(http_parse_head(p, len, &req), -431);
	free(p);
}

static void
test_head_target_cap(void **state)
{
	struct http_req req;
	char *p;
	size_t len, n;

	(void)state;
	/* HTTP_TARGET_MAX - 1 bytes of target fit with their NUL. */
	n = strlen("GET ") + HTTP_TARGET_MAX - 1 + strlen(" HTTP/1.1\r\n\r\n");
	p = padded("GET /", 'a', n, " HTTP/1.1\r\n\r\n", &len);
	assert_int_equal(http_parse_head(p, len, &req), (int)len);
	assert_int_equal(strlen(req.target), HTTP_TARGET_MAX - 1);
	assert_int_equal(req.target[0], '/');
	free(p);

	p = padded("GET /", 'a', n + 1, " HTTP/1.1\r\n\r\n", &len);
	assert_int_equal(http_parse_head(p, len, &req), -431);
	free(p);
}

static void
test_head_value_caps(void **state)
{
	static const struct {
		const char	*name;
		size_t		 size;	/* the field's array */
	} fields[] = {
		{ "Authorization", 1024 },
		{ "If-None-Match", 256 },
		{ "If-Match", 256 },
		{ "Range", 256 },
	};
	struct http_req req;
	char start[64], *p;
	size_t i, len, over;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(start, sizeof(start), "GET / HTTP/1.1\r\n%s: ",
		    fields[i].name);
		/* size - 1 bytes of value fit with their NUL. */
		over = strlen(start) + fields[i].size - 1 + 4;
		p = padded(start, 'v', over, "\r\n\r\n", &len);
		assert_int_equal(http_parse_head(p, len, &req), (int)len);
		free(p);
		p = padded(start, 'v', over + 1, "\r\n\r\n", &len);
		assert_int_equal(http_parse_head(p, len, &req), -431);
		free(p);
	}
	assert_int_equal(sizeof(req.authorization), 1024);
	assert_int_equal(sizeof(req.range), 256);
}

static void
test_head_header_count(void **state)
{
	struct http_req req;
	char *p;
	size_t n, len;
	int i;

	(void)state;
	for (n = HTTP_HEADERS_COUNT_MAX; n <= HTTP_HEADERS_COUNT_MAX + 1; n++) {
		p = malloc(64 + 8 * n);
		assert_non_null(p);
		len = (size_t)sprintf(p, "GET / HTTP/1.1\r\n");
		for (i = 0; i < (int)n; i++)
			len += (size_t)sprintf(p + len, "X%02d: v\r\n",
			    i % 100);
		len += (size_t)sprintf(p + len, "\r\n");
		if (n == HTTP_HEADERS_COUNT_MAX) {
			assert_int_equal(parse_n(p, len, &req), (int)len);
			assert_int_equal(req.nheaders, n);
		} else
			assert_int_equal(parse_n(p, len, &req), -431);
		free(p);
	}
}

/* Split at every byte */

/*
 * Every prefix of a good head short of its end is "need more"; from the
 * end on, whatever follows, the whole head and the same request.
 */
static void
check_prefixes_ok(const char *s, size_t n, size_t head_len)
{
	struct http_req whole, part;
	size_t k;
	int rc;

	assert_int_equal(parse_n(s, n, &whole), (int)head_len);
	for (k = 0; k <= n; k++) {
		rc = parse_n(s, k, &part);
		if (k < head_len) {
			if (rc != 0)
				fail_msg("prefix %zu of %zu: got %d, want 0", k,
				    head_len, rc);
			continue;
		}
		if (rc != (int)head_len)
			fail_msg("prefix %zu: got %d, want %zu", k, rc,
			    head_len);
		assert_int_equal(part.method, whole.method);
		assert_string_equal(part.target, whole.target);
		assert_int_equal(part.content_length, whole.content_length);
		assert_int_equal(part.keep_alive, whole.keep_alive);
		assert_int_equal(part.expect_continue, whole.expect_continue);
		assert_string_equal(part.authorization, whole.authorization);
		assert_string_equal(part.range, whole.range);
		assert_int_equal(part.nheaders, whole.nheaders);
	}
}

static void
test_head_every_prefix(void **state)
{
	static const char get[] =
	    "GET /v1/files/a%20b.txt HTTP/1.1\r\n"
	    "Host: x\r\n"
	    "Authorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"
	    "Range: bytes=-10\r\n"
	    "\r\n";
	static const char put[] =
	    "\r\nPUT /v1/files/b HTTP/1.1\r\n"
	    "Content-Length: 4\r\n"
	    "Expect: 100-continue\r\n"
	    "\r\n"
	    "body";
	static const char bare[] = "GET / HTTP/1.0\r\n\r\n";

	(void)state;
	check_prefixes_ok(get, sizeof(get) - 1, sizeof(get) - 1);
	check_prefixes_ok(put, sizeof(put) - 1, sizeof(put) - 1 - 4);
	check_prefixes_ok(bare, sizeof(bare) - 1, sizeof(bare) - 1);
}

/*
 * A bad head: each prefix is either "need more" or already the error,
 * and the error does not go away as more bytes come.
 */
static void
check_prefixes_bad(const char *s, size_t n, int want)
{
	struct http_req req;
	bool seen = false;
	size_t k;
	int rc;

	for (k = 0; k <= n; k++) {
		rc = parse_n(s, k, &req);
		if (rc == want)
			seen = true;
		else if (rc != 0 || seen)
			fail_msg("prefix %zu of %zu: got %d, want 0 or %d", k,
			    n, rc, want);
	}
	assert_true(seen);
}

/*
 * Lines ending in a bare LF: every prefix without that LF is "need more",
 * every prefix with it is 400 at once (not after the connection's
 * timeout, waiting for a CRLF that never comes).
 */
static void
test_head_bare_lf_every_prefix(void **state)
{
	static const char *cases[] = {
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\n",
		"GET / HTTP/1.1\r\n\n",
		"\nGET / HTTP/1.1\r\n\r\n",
		"\r\n\nGET / HTTP/1.1\r\n\r\n",
		"PUT /a HTTP/1.1\r\nContent-Length: 2\n\r\nab",
	};
	struct http_req req;
	size_t i, k, n, lf;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i];

		n = strlen(s);
		/* The first LF without a CR before it. */
		for (lf = 0; lf < n; lf++)
			if (s[lf] == '\n' && (lf == 0 || s[lf - 1] != '\r'))
				break;
		assert_true(lf < n);
		for (k = 0; k <= n; k++) {
			rc = parse_n(s, k, &req);
			if (rc != (k <= lf ? 0 : -400))
				fail_msg("case %zu prefix %zu: got %d, want %d",
				    i, k, rc, k <= lf ? 0 : -400);
		}
	}
}

static void
test_head_every_prefix_bad(void **state)
{
	static const char dup[] = "PUT /a HTTP/1.1\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n";
	static const char te[] = "PUT /a HTTP/1.1\r\nTransfer-Encoding: br\r\n"
	    "\r\n";
	static const char v2[] = "GET / HTTP/2.0\r\nHost: x\r\n\r\n";
	static const char ctl[] = "GET / HTTP/1.1\r\nX: \x01\r\n\r\n";

	(void)state;
	check_prefixes_bad(dup, sizeof(dup) - 1, -400);
	check_prefixes_bad(te, sizeof(te) - 1, -501);
	check_prefixes_bad(v2, sizeof(v2) - 1, -505);
	check_prefixes_bad(ctl, sizeof(ctl) - 1, -400);
}

/* http_unescape */

static int
unescape(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);
	char *copy = exact_copy(s, n);
	int rc = http_unescape(copy, n, out, size);

	free(copy);
	return (rc);
}

static void
test_unescape_ok(void **state)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "", "" },
		{ "plain/path.txt", "plain/path.txt" },
		{ "a%2Fb", "a/b" },
		{ "a%2fb", "a/b" },
		{ "%2e%2E", ".." },
		{ "with%20space", "with space" },
		{ "%41%42%43", "ABC" },
		{ "caf%C3%A9", "caf\xc3\xa9" },
		{ "%25", "%" },
		{ "%2525", "%25" },		/* decoded once only */
		{ "a+b", "a+b" },		/* '+' is not a space */
		{ "%ff", "\xff" },
		{ "end%21", "end!" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(unescape(cases[i].in, out, sizeof(out)),
		    strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
}

static void
test_unescape_bad(void **state)
{
	static const char *bad[] = {
		"%", "a%", "a%2", "%2", "%zz", "%g0", "%0g", "%%", "%%41",
		"% 41", "%-1", "%+1", "a%2Fb%",
		"%00", "a%00b", "%00%41",	/* NUL would cut the path */
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (unescape(bad[i], out, sizeof(out)) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void
test_unescape_raw_nul(void **state)
{
	static const char in[] = "a\0b";
	char out[16], *copy = exact_copy(in, 3);

	(void)state;
	assert_int_equal(http_unescape(copy, 3, out, sizeof(out)), -1);
	free(copy);
}

static void
test_unescape_size(void **state)
{
	char out[8];

	(void)state;
	/* The NUL needs room too. */
	assert_int_equal(unescape("abcdefg", out, 8), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(unescape("abcdefgh", out, 8), -1);
	assert_int_equal(unescape("abc%64efg", out, 8), 7);
	assert_int_equal(unescape("abc%64efgh", out, 8), -1);
	assert_int_equal(unescape("a", out, 2), 1);
	assert_int_equal(unescape("a", out, 1), -1);
}

/* An empty output cannot hold even the NUL: nothing may be written. */
static void
test_unescape_no_room(void **state)
{
	char out[4] = { 'x', 'x', 'x', 'x' };

	(void)state;
	assert_int_equal(unescape("", out, 0), -1);
	assert_int_equal(out[0], 'x');
	assert_int_equal(unescape("a", out, 0), -1);
	assert_int_equal(out[0], 'x');
}

/* Only len bytes are read, and the output never overruns its size. */
static void
test_unescape_every_prefix(void **state)
{
	static const char s[] = "d%C3%A9j%C3%A0/vu%2Ftxt%20x";
	size_t k, size;
	char *copy, *out;
	int rc;

	(void)state;
	for (k = 0; k <= sizeof(s) - 1; k++) {
		copy = exact_copy(s, k);
		for (size = 1; size <= 32; size++) {
			out = malloc(size);
			assert_non_null(out);
			rc = http_unescape(copy, k, out, size);
			assert_true(rc >= -1 && rc < (int)size);
			if (rc >= 0)
				assert_int_equal(strlen(out), rc);
			free(out);
		}
		free(copy);
	}
}

/* http_parse_range */

static void
test_range_forms(void **state)
{
	static const struct {
		const char	*h;
		uint64_t	 size, first, last;
	} ok[] = {
		{ "bytes=0-0", 10, 0, 0 },
		{ "bytes=0-9", 10, 0, 9 },
		{ "bytes=2-5", 10, 2, 5 },
		{ "bytes=9-9", 10, 9, 9 },
		{ "bytes=5-100", 10, 5, 9 },		/* cut to the end */
		{ "bytes=3-", 10, 3, 9 },
		{ "bytes=0-", 10, 0, 9 },
		{ "bytes=9-", 10, 9, 9 },
		{ "bytes=-1", 10, 9, 9 },
		{ "bytes=-4", 10, 6, 9 },
		{ "bytes=-10", 10, 0, 9 },
		{ "bytes=-11", 10, 0, 9 },		/* all of it */
		{ "bytes=-18446744073709551615", 10, 0, 9 },
		{ "BYTES=1-2", 10, 1, 2 },
		{ "Bytes=1-", 10, 1, 9 },
		{ "bytes=0-18446744073709551615", 10, 0, 9 },
		{ "bytes=0-1", 1, 0, 0 },
		{ "bytes=1099511627776-", 2199023255552, 1099511627776,
		    2199023255551 },
	};
	uint64_t first, last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		first = last = 12345;
		if (http_parse_range(ok[i].h, ok[i].size, &first, &last) != 0)
			fail_msg("\"%s\" refused", ok[i].h);
		if (first != ok[i].first || last != ok[i].last)
			fail_msg("\"%s\" of %llu: got %llu-%llu", ok[i].h,
			    (unsigned long long)ok[i].size,
			    (unsigned long long)first,
			    (unsigned long long)last);
	}
}

static void
test_range_unsatisfiable(void **state)
{
	static const struct {
		const char	*h;
		uint64_t	 size;
	} cases[] = {
		{ "bytes=10-", 10 },
		{ "bytes=10-20", 10 },
		{ "bytes=11-11", 10 },
		{ "bytes=18446744073709551615-", 10 },
		{ "bytes=-0", 10 },			/* no bytes at all */
		{ "bytes=0-", 0 },			/* an empty file */
		{ "bytes=0-0", 0 },
		{ "bytes=-5", 0 },
	};
	uint64_t first, last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = http_parse_range(cases[i].h, cases[i].size, &first,
		    &last);

		if (rc != -416)
			fail_msg("\"%s\" of %llu: got %d, want -416",
			    cases[i].h, (unsigned long long)cases[i].size, rc);
	}
}

/* Not a single byte range: ignored, the whole file is sent. */
static void
test_range_ignored(void **state)
{
	static const char *cases[] = {
		"", "bytes", "bytes=", "bytes=-", "bytes=--1", "bytes=a-b",
		"bytes=1", "bytes=5-2", "bytes=0-1,3-4", "bytes=0-1, 3-4",
		"bytes= 0-1", "bytes=0 -1", "bytes=0-1 ", "bytes=1-2-3",
		"bytes=+1-2", "items=0-1", "bytes:0-1", "0-1",
		"bytes=-1-2",
	};
	uint64_t first, last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = http_parse_range(cases[i], 10, &first, &last);

		if (rc != -1)
			fail_msg("\"%s\": got %d, want -1", cases[i], rc);
	}
}

/* The header value is a NUL-terminated copy: the parser reads to its NUL
 * and no further, whatever its length. */
static void
test_range_every_prefix(void **state)
{
	static const char s[] = "bytes=123-4567";
	uint64_t first, last;
	size_t k;
	char *p;

	(void)state;
	for (k = 0; k <= sizeof(s) - 1; k++) {
		p = exact_copy(s, k + 1);
		p[k] = '\0';
		(void)http_parse_range(p, 5000, &first, &last);
		free(p);
	}
	p = exact_copy(s, sizeof(s));
	assert_int_equal(http_parse_range(p, 5000, &first, &last), 0);
	assert_int_equal(first, 123);
	assert_int_equal(last, 4567);
	free(p);
}

/* Content-Range of a PUT, and Shoal-Parents */

static void
test_content_range_forms(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t a, b, t;
	} cases[] = {
		{"bytes 0-9/10", 0, 0, 9, 10},
		{"bytes 100-199/1000", 0, 100, 199, 1000},
		{"BYTES 5-5/6", 0, 5, 5, 6},
		{"bytes 0-18446744073709551614/18446744073709551615", 0, 0,
		 18446744073709551614ull, 18446744073709551615ull},
		{"bytes 0-9/9", -1, 0, 0, 0},	/* past the end */
		{"bytes 9-0/10", -1, 0, 0, 0},	/* backwards */
		{"bytes */10", -1, 0, 0, 0},
		{"bytes 0-9/*", -1, 0, 0, 0},
		{"bytes 0-9", -1, 0, 0, 0},
		{"bytes=0-9/10", -1, 0, 0, 0},
		{"bytes 0-9/10 ", -1, 0, 0, 0},
		{"bytes -1-9/10", -1, 0, 0, 0},
		{"bytes 0-18446744073709551615/18446744073709551615", -1, 0, 0,
		 0},
		{"bytes 0-99999999999999999999/1", -1, 0, 0, 0},
		{"", -1, 0, 0, 0},
	};
	uint64_t a, b, t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(http_parse_content_range(cases[i].s, &a, &b,
							  &t),
				 cases[i].rc);
		if (cases[i].rc == 0) {
			assert_true(a == cases[i].a && b == cases[i].b &&
				    t == cases[i].t);
		}
	}
}

static void
test_content_range_every_prefix(void **state)
{
	static const char s[] = "bytes 1048576-2097151/3145728";
	uint64_t a, b, t;
	size_t k;
	char *p;

	(void)state;
	for (k = 0; k <= sizeof(s) - 1; k++) {
		p = exact_copy(s, k + 1);
		p[k] = '\0';
		/* Some prefixes are ranges of their own; none may be wrong. */
		if (http_parse_content_range(p, &a, &b, &t) == 0)
			assert_true(a <= b && b < t);
		free(p);
	}
	p = exact_copy(s, sizeof(s));
	assert_int_equal(http_parse_content_range(p, &a, &b, &t), 0);
	assert_true(a == 1048576 && b == 2097151 && t == 3145728);
	free(p);
}

static void
test_head_upload_headers(void **state)
{
	static const char put[] =
	    "PUT /v1/files/docs/a.bin HTTP/1.1\r\n"
	    "Content-Length: 4\r\n"
	    "Content-Range: bytes 6-9/10\r\n"
	    "Shoal-Parents: no\r\n"
	    "If-None-Match: *\r\n"
	    "\r\n"
	    "body";
	static const char yes[] = "PUT /x HTTP/1.1\r\n"
				  "Shoal-Parents: YES\r\n\r\n";
	static const char bad[] = "PUT /x HTTP/1.1\r\n"
				  "Shoal-Parents: maybe\r\n\r\n";
	struct http_req req;

	(void)state;
	assert_int_equal(parse_n(put, sizeof(put) - 1, &req),
			 (int)(sizeof(put) - 1 - 4));
	assert_string_equal(req.content_range, "bytes 6-9/10");
	assert_true(req.no_parents);
	assert_string_equal(req.if_none_match, "*");
	check_prefixes_ok(put, sizeof(put) - 1, sizeof(put) - 1 - 4);
	assert_int_equal(PARSE(yes, &req), (int)(sizeof(yes) - 1));
	assert_false(req.no_parents);
	assert_int_equal(PARSE(bad, &req), -400);
	check_prefixes_bad(bad, sizeof(bad) - 1, -400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_get),
		cmocka_unit_test(test_head_methods),
		cmocka_unit_test(test_head_put_body_not_taken),
		cmocka_unit_test(test_head_header_names_and_values),
		cmocka_unit_test(test_head_keep_alive),
		cmocka_unit_test(test_head_leading_empty_lines),
		cmocka_unit_test(test_head_content_length),
		cmocka_unit_test(test_head_duplicate_different_length),
		cmocka_unit_test(test_head_transfer_encoding),
		cmocka_unit_test(test_head_version),
		cmocka_unit_test(test_head_malformed_lines),
		cmocka_unit_test(test_head_bad_bytes),
		cmocka_unit_test(test_head_bad_bytes_in_method),
		cmocka_unit_test(test_head_cap),
		cmocka_unit_test(test_head_target_cap),
		cmocka_unit_test(test_head_value_caps),
		cmocka_unit_test(test_head_header_count),
		cmocka_unit_test(test_head_every_prefix),
		cmocka_unit_test(test_head_every_prefix_bad),
		cmocka_unit_test(test_head_bare_lf_every_prefix),
		cmocka_unit_test(test_unescape_ok),
		cmocka_unit_test(test_unescape_bad),
		cmocka_unit_test(test_unescape_raw_nul),
		cmocka_unit_test(test_unescape_size),
		cmocka_unit_test(test_unescape_no_room),
		cmocka_unit_test(test_unescape_every_prefix),
		cmocka_unit_test(test_range_forms),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_range_ignored),
		cmocka_unit_test(test_range_every_prefix),
		cmocka_unit_test(test_content_range_forms),
		cmocka_unit_test(test_content_range_every_prefix),
		cmocka_unit_test(test_head_upload_headers),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
