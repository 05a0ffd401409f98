/*
 * fuzz_http: feeds arbitrary bytes to the HTTP request head parser, and
 * the parts of a head it accepts (the target's path, the Range value) to
 * the percent-decoder and the range parser.  The whole input also goes
 * through both of those directly, so their own edge cases do not depend
 * on first building a valid head.
 *
 * Beyond "does not crash", it checks what the server relies on:
 *
 *  - http_parse_head returns 0, a negative status among -400, -431, -501
 *    and -505, or a length no larger than the input and the head cap that
 *    ends with the empty line; one byte less of that head is "need more",
 *    and the same bytes parse the same way again.
 *  - After a parse, the target and the kept header values are NUL-ended
 *    inside their arrays; the target holds no byte <= 0x20 or DEL;
 *    content_length is -1 or more and never beside chunked; minor is 0 or
 *    1; at most HTTP_HEADERS_COUNT_MAX headers were counted.
 *  - http_unescape returns -1 or a length below its output size, with a
 *    NUL there and none before, never longer than its input, and equal to
 *    the input when it holds no '%'.
 *  - http_parse_range returns 0, -1 or -416, and on 0 a range inside the
 *    file.
 *  - http_parse_content_range returns 0 or -1, and on 0 first <= last <
 *    total.
 *  - The credentials of an "Authorization: Basic" value decode (0) into
 *    NUL-ended user and password, or are refused (-1) with both empty;
 *    fuzz_http_auth checks the decoder itself against OpenSSL.
 *
 * The head is parsed from a heap buffer of exactly the input's size, and
 * decoded output goes into a heap buffer of exactly the size it is given,
 * so ASan reports any read or write one byte past the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/http/http_auth.h"
#include "front/http/http_parse.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                        \
	do {                                                            \
		if (!(e)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #e);                    \
			abort();                                        \
		}                                                       \
	} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
nul_ended(const char *field, size_t size)
{
	return (memchr(field, '\0', size) != NULL);
}

/* Decodes src[len] into a heap buffer of exactly size bytes. */
static void
check_unescape(const char *src, size_t len, size_t size)
{
	char *out;
	int rc;

	if ((out = malloc(size)) == NULL)
		abort();
	rc = http_unescape(src, len, out, size);
	CHECK(rc >= -1);
	if (rc >= 0) {
		CHECK((size_t)rc < size);
		CHECK((size_t)rc <= len);
		CHECK(out[rc] == '\0');
		CHECK(memchr(out, '\0', (size_t)rc) == NULL);
		if (memchr(src, '%', len) == NULL)
			CHECK((size_t)rc == len && memcmp(out, src, len) == 0);
	}
	free(out);
}

static void
check_range(const char *value, uint64_t size)
{
	uint64_t first = 0, last = 0;
	int rc;

	rc = http_parse_range(value, size, &first, &last);
	CHECK(rc == 0 || rc == -1 || rc == -416);
	if (rc == 0) {
		CHECK(size > 0);
		CHECK(first <= last && last < size);
	}
}

static void
check_content_range(const char *value)
{
	uint64_t first = 0, last = 0, total = 0;
	int rc;

	rc = http_parse_content_range(value, &first, &last, &total);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0)
		CHECK(first <= last && last < total);
}

static void
check_request(const char *buf, size_t len, int rc, const struct http_req *r)
{
	size_t i, n;

	CHECK((size_t)rc <= len && rc <= HTTP_HEAD_MAX);
	CHECK(rc >= 4 && memcmp(buf + rc - 4, "\r\n\r\n", 4) == 0);
	CHECK(nul_ended(r->target, sizeof(r->target)));
	n = strlen(r->target);
	CHECK(n >= 1 && n < HTTP_TARGET_MAX);
	for (i = 0; i < n; i++)
		CHECK((unsigned char)r->target[i] > 0x20 &&
		    r->target[i] != 0x7f);
	CHECK((unsigned)r->method <= HTTP_OTHER);
	CHECK(r->minor == 0 || r->minor == 1);
	CHECK(r->content_length >= -1);
	CHECK(!(r->chunked && r->content_length >= 0));
	CHECK(r->nheaders <= HTTP_HEADERS_COUNT_MAX);
	CHECK(nul_ended(r->authorization, sizeof(r->authorization)));
	CHECK(nul_ended(r->if_none_match, sizeof(r->if_none_match)));
	CHECK(nul_ended(r->if_match, sizeof(r->if_match)));
	CHECK(nul_ended(r->range, sizeof(r->range)));
}

/* The credentials as the server decodes them from a parsed head. */
static void
check_basic(const char *authorization)
{
	char user[AUTH_NAME_MAX + 1], pass[AUTH_PASS_MAX + 1];
	int rc;

	if (strncmp(authorization, "Basic ", 6) != 0)
		return;
	rc = http_basic_decode(authorization + 6, strlen(authorization + 6),
	    user, sizeof(user), pass, sizeof(pass));
	CHECK(rc == 0 || rc == -1);
	CHECK(nul_ended(user, sizeof(user)) && nul_ended(pass, sizeof(pass)));
	if (rc < 0)
		CHECK(user[0] == '\0' && pass[0] == '\0');
}

static void
parse_head(const uint8_t *data, size_t size)
{
	static struct http_req req, again;
	char *buf;
	size_t n;
	int rc, rc2;

	/* malloc(0) may return NULL; the parser must not touch it then. */
	if ((buf = malloc(size)) == NULL && size > 0)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	rc = http_parse_head(buf, size, &req);
	CHECK(rc >= 0 || rc == -400 || rc == -431 || rc == -501 ||
	    rc == -505);
	if (rc <= 0) {
		free(buf);
		return;
	}
	check_request(buf, size, rc, &req);

	/* The same bytes, into a struct full of leftovers: the same. */
	memset(&again, 0xa5, sizeof(again));
	rc2 = http_parse_head(buf, (size_t)rc, &again);
	CHECK(rc2 == rc);
	CHECK(again.method == req.method && again.minor == req.minor);
	CHECK(strcmp(again.target, req.target) == 0);
	CHECK(again.content_length == req.content_length);
	CHECK(again.chunked == req.chunked);
	CHECK(again.keep_alive == req.keep_alive);
	CHECK(again.expect_continue == req.expect_continue);
	CHECK(strcmp(again.authorization, req.authorization) == 0);
	CHECK(strcmp(again.range, req.range) == 0);
	CHECK(again.nheaders == req.nheaders);
	/* One byte short of the empty line: not complete yet. */
	CHECK(http_parse_head(buf, (size_t)rc - 1, &again) == 0);

	/* The target's path, as the routes decode it. */
	n = strcspn(req.target, "?#");
	check_unescape(req.target, n, 4096);
	check_unescape(req.target, n, n + 1);
	if (n > 0)
		check_unescape(req.target, n, n);

	check_basic(req.authorization);

	check_range(req.range, 0);
	check_range(req.range, 1);
	check_range(req.range, 10000);
	check_range(req.range, UINT64_MAX);
	CHECK(nul_ended(req.content_range, sizeof(req.content_range)));
	check_content_range(req.content_range);
	if (req.content_length > 0)
		check_range(req.range, (uint64_t)req.content_length);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t n;

	parse_head(data, size);

	/* The whole input as an escaped path, into outputs of several sizes;
	 * the first byte picks a small one. */
	if (size > 0) {
		n = size < 4096 ? size : 4096;
		if ((s = malloc(n)) == NULL)
			abort();
		memcpy(s, data, n);
		check_unescape(s, n, 1 + data[0] % 64);
		check_unescape(s, n, n + 1);
		free(s);
	}

	/* The whole input as a Range value, up to its first NUL. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	check_range(s, 0);
	check_range(s, 10);
	check_range(s, (uint64_t)size * 977 + 1);
	check_range(s, UINT64_MAX);
	check_content_range(s);
	free(s);
	return (0);
}
