/*
 * http_chunked: the chunked transfer coding of an HTTP/1.1 request body
 * (RFC 9112, 7.1), decoded as it arrives.  Pure: no allocation, no I/O;
 * fuzzed in fuzz/fuzz_http_chunked.c.
 *
 *   SIZE ──hex digits, ";ext" ignored, CRLF──> DATA (size bytes) ──CRLF──>
 *   SIZE ...   a size of 0 ──> TRAILER lines ──empty line──> DONE
 *
 * Caps: a size line (extensions included) of HTTP_CHUNKED_LINE_MAX bytes,
 * a chunk of HTTP_CHUNKED_SIZE_MAX bytes, trailer lines of
 * HTTP_CHUNKED_TRAILER_MAX bytes in all.  Anything else (a bare LF, a
 * non-hex size, a missing CRLF after the data) is an error that sticks.
 * The decoder never reads past the body: bytes after the final empty line
 * belong to the next request.
 */
#ifndef SHOAL_FRONT_HTTP_CHUNKED_H
#define SHOAL_FRONT_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CHUNKED_LINE_MAX	 1024
#define HTTP_CHUNKED_SIZE_MAX	 (1ull << 40)
#define HTTP_CHUNKED_TRAILER_MAX 8192

enum http_chunked_state {
	HTTP_CH_SIZE,	 /* reading a size line */
	HTTP_CH_DATA,	 /* inside a chunk */
	HTTP_CH_DATA_CR, /* the CR after a chunk */
	HTTP_CH_DATA_LF, /* the LF after it */
	HTTP_CH_TRAILER, /* trailer lines, until an empty one */
	HTTP_CH_DONE,
	HTTP_CH_BAD,
};

struct http_chunked {
	enum http_chunked_state st;
	uint64_t left;	 /* of the current chunk */
	uint64_t size;	 /* the size line's value so far */
	unsigned digits; /* of the size */
	bool ext;	 /* past ';' on the size line */
	bool cr;	 /* a CR seen, its LF expected */
	size_t line;	 /* bytes of the current line */
	size_t trailer;	 /* bytes of trailer lines */
	uint64_t total;	 /* data bytes decoded */
};

void http_chunked_init(struct http_chunked *);
/*
 * Decodes in[len].  The data bytes are handed out as pieces of in:
 * sink(arg, p, n) for each (< 0 stops the decoder: -2 is returned).
 * Returns the bytes of in that belong to the body (all of them unless it
 * ended inside in), -1 if the coding is bad.  Both errors stick.
 */
long http_chunked_feed(struct http_chunked *, const void *in, size_t len,
		       int (*sink)(void *arg, const void *, size_t), void *arg);
bool http_chunked_done(const struct http_chunked *);

#endif
