/*
 * http_parse: the head of an HTTP/1.1 request (request line and headers),
 * parsed from bytes with hard caps.  Pure: no allocation, no I/O; fuzzed in
 * fuzz/fuzz_http.c.  Only the headers the API uses are kept.
 */
#ifndef SHOAL_FRONT_HTTP_PARSE_H
#define SHOAL_FRONT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX		16384	/* request line and headers */
#define HTTP_TARGET_MAX		8192
#define HTTP_HEADERS_COUNT_MAX	100

enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_POST, HTTP_DELETE, HTTP_OTHER,
};

struct http_req {
	enum http_method method;
	char		 target[HTTP_TARGET_MAX];	/* as sent, NUL-ended */
	int		 minor;			/* HTTP/1.minor */
	int64_t		 content_length;	/* -1: none */
	bool		 chunked;
	bool		 keep_alive;
	bool		 expect_continue;
	char		 authorization[1024];
	char		 if_none_match[256];
	char		 if_match[256];
	char		 range[256];
	char		 content_range[128];
	bool		 no_parents;		/* Shoal-Parents: no */
	uint64_t	 lock_token;		/* Shoal-Lock-Token, 0: none */
	unsigned	 nheaders;
};

/*
 * Parses a head from buf[len].  Returns the bytes it took (the empty line
 * included) when complete, 0 if more bytes are needed, or a negative HTTP
 * status: -400 malformed (a line ending in a bare LF included, as soon as
 * that LF is in buf), -431 head too large (or too many headers), -501
 * Transfer-Encoding other than chunked, -505 not HTTP/1.x.
 */
int	http_parse_head(const char *buf, size_t len, struct http_req *req);
/* Percent-decodes src[len] into out[size]; -1 on bad escapes, NUL bytes
 * or overflow. */
int	http_unescape(const char *src, size_t len, char *out, size_t size);
/*
 * "bytes=A-B", "bytes=A-" or "bytes=-N" against a file of size bytes: sets
 * [*first, *last]; -416 if unsatisfiable, -1 if not a single range (the
 * whole file is then sent, as RFC 9110 allows).
 */
int	http_parse_range(const char *, uint64_t size, uint64_t *first,
	    uint64_t *last);
/*
 * A PUT's "bytes A-B/T" (B >= A, B < T): the part of a file of T bytes
 * the body holds; -1 for anything else (an unknown A-B or T included).
 */
int	http_parse_content_range(const char *, uint64_t *first,
	    uint64_t *last, uint64_t *total);

#endif
