/*
 * Tests for http_chunked: the chunked transfer coding of request bodies.
 *
 * What callers rely on: the data comes out exactly, whatever the chunk
 * sizes and extensions; the decoder stops at the end of the body and says
 * how much of its input was the body's (the rest is the next request);
 * bad codings (bare LF, non-hex size, missing CRLF after data, lines and
 * trailers past their caps) are errors that stick; and a body split at
 * every byte decodes as it does whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/http/http_chunked.h"

struct out {
	char b[4096];
	size_t n;
};

static int
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
	return (0);
}

static int
sink_fails(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return (-1);
}

static const char body[] = "4\r\nWiki\r\n"
			   "7;name=value\r\npedia i\r\n"
			   "B \r\nn \r\nchunks.\r\n"
			   "0\r\n"
			   "x-amz-checksum-crc32: AAAAAA==\r\n"
			   "\r\n";
static const char data[] = "Wikipedia in \r\nchunks.";

/* Feeds s[0..len) in pieces cut at `cut` (0: whole); returns the bytes
 * taken, or the error.  Each piece is a heap copy of exactly its bytes. */
static long
feed_split(struct http_chunked *h, struct out *o, const char *s, size_t len,
	   size_t cut)
{
	size_t at = 0, n;
	long r, took = 0;
	char *p;

	while (at < len) {
		n = cut && len - at > cut ? cut : len - at;
		p = malloc(n);
		assert_non_null(p);
		memcpy(p, s + at, n);
		r = http_chunked_feed(h, p, n, sink, o);
		free(p);
		if (r < 0)
			return (r);
		took += r;
		at += n;
		if (http_chunked_done(h))
			break;
	}
	return (took);
}

static void
test_whole(void **state)
{
	struct http_chunked h;
	struct out o = {.n = 0};
	char with_next[sizeof(body) + 32];
	long r;

	(void)state;
	http_chunked_init(&h);
	r = http_chunked_feed(&h, body, sizeof(body) - 1, sink, &o);
	assert_int_equal(r, (long)sizeof(body) - 1);
	assert_true(http_chunked_done(&h));
	assert_int_equal(o.n, sizeof(data) - 1);
	assert_memory_equal(o.b, data, o.n);
	assert_int_equal(h.total, sizeof(data) - 1);
	/* What follows the body is not taken. */
	snprintf(with_next, sizeof(with_next), "%sGET / HTTP/1.1\r\n", body);
	http_chunked_init(&h);
	o.n = 0;
	r = http_chunked_feed(&h, with_next, strlen(with_next), sink, &o);
	assert_int_equal(r, (long)sizeof(body) - 1);
	assert_true(http_chunked_done(&h));
	/* Once done, nothing more is taken. */
	assert_int_equal(http_chunked_feed(&h, "x", 1, sink, &o), 0);
}

static void
test_every_split(void **state)
{
	struct http_chunked h;
	struct out o;
	size_t cut;

	(void)state;
	for (cut = 1; cut < sizeof(body); cut++) {
		http_chunked_init(&h);
		o.n = 0;
		assert_int_equal(
		    feed_split(&h, &o, body, sizeof(body) - 1, cut),
		    (long)sizeof(body) - 1);
		assert_true(http_chunked_done(&h));
		assert_int_equal(o.n, sizeof(data) - 1);
		assert_memory_equal(o.b, data, o.n);
	}
	/* Every prefix is incomplete, never an error and never done. */
	for (cut = 0; cut < sizeof(body) - 1; cut++) {
		http_chunked_init(&h);
		o.n = 0;
		assert_int_equal(feed_split(&h, &o, body, cut, 0), (long)cut);
		assert_false(http_chunked_done(&h));
	}
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
	    "4\nWiki\r\n0\r\n\r\n",    /* bare LF */
	    "g\r\nWiki\r\n0\r\n\r\n",  /* not hex */
	    "\r\nWiki\r\n",	       /* no size */
	    "4\r\nWikiX\r\n0\r\n\r\n", /* no CRLF after the data */
	    "4\r\nWiki\rX",
	    ";x\r\n",			   /* an extension, no size */
	    "10000000001\r\n",		   /* past the size cap */
	    "0\r\nbad\x01trailer\r\n\r\n", /* control byte */
	    "0\r\nx\ny\r\n\r\n",	   /* bare LF in a trailer */
	};
	struct http_chunked h;
	struct out o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_chunked_init(&h);
		o.n = 0;
		assert_int_equal(
		    http_chunked_feed(&h, bad[i], strlen(bad[i]), sink, &o),
		    -1);
		/* It sticks. */
		assert_int_equal(
		    http_chunked_feed(&h, "0\r\n\r\n", 5, sink, &o), -1);
		assert_false(http_chunked_done(&h));
	}
	http_chunked_init(&h);
	assert_int_equal(
	    http_chunked_feed(&h, "1\r\nx\r\n", 6, sink_fails, NULL), -2);
}

static void
test_caps(void **state)
{
	struct http_chunked h;
	struct out o = {.n = 0};
	char line[HTTP_CHUNKED_LINE_MAX + 8];
	char *t;
	size_t n;

	(void)state;
	/* A size line of extensions longer than the cap. */
	memset(line, 'a', sizeof(line));
	line[0] = '1';
	line[1] = ';';
	http_chunked_init(&h);
	assert_int_equal(http_chunked_feed(&h, line, sizeof(line), sink, &o),
			 -1);
	/* Trailers past their cap. */
	n = HTTP_CHUNKED_TRAILER_MAX + 16;
	t = malloc(n);
	assert_non_null(t);
	memcpy(t, "0\r\n", 3);
	memset(t + 3, 'x', n - 3);
	http_chunked_init(&h);
	assert_int_equal(http_chunked_feed(&h, t, n, sink, &o), -1);
	free(t);
	/* Leading zeros and the largest size are fine. */
	http_chunked_init(&h);
	assert_int_equal(
	    http_chunked_feed(&h, "0000000001\r\nz\r\n0\r\n\r\n", 20, sink, &o),
	    20);
	assert_true(http_chunked_done(&h));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_caps),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
