/*
 * http_query: the query string of a request target ("after=a%2Fb&limit=5"),
 * split into keys and values and percent-decoded, with caps.
 *
 * The rules, the same for every HTTP front end:
 *   - at most HTTP_QUERY_LEN_MAX raw bytes and HTTP_QUERY_PARAMS_MAX
 *     parameters (-E2BIG past either);
 *   - "%XX" is a byte, '+' a space (form encoding, as browsers and
 *     Python's urlencode write it); a bad escape, a NUL or a CR/LF once
 *     decoded, or an empty key is -EINVAL;
 *   - a key given twice is -EEXIST: two answers to one question are
 *     refused rather than one picked (front ends disagreeing on which one
 *     wins is how parameter pollution works);
 *   - empty pieces ("a=1&&b=2", a trailing '&') are skipped; a key without
 *     '=' has the empty value.
 * Pure: no allocation, no I/O; fuzzed in fuzz/fuzz_http_query.c.  The
 * strings returned point into the struct and live as long as it does.
 */
#ifndef SHOAL_FRONT_HTTP_QUERY_H
#define SHOAL_FRONT_HTTP_QUERY_H

#include <stddef.h>

#define HTTP_QUERY_LEN_MAX    12544 /* a path of 4096 bytes, escaped */
#define HTTP_QUERY_PARAMS_MAX 16

struct http_query {
	unsigned n;
	struct {
		const char *key;
		const char *value;
	} p[HTTP_QUERY_PARAMS_MAX];
	/* Decoded text: a piece never grows when decoded, and adds two
	 * NULs. */
	char text[HTTP_QUERY_LEN_MAX + 2 * HTTP_QUERY_PARAMS_MAX];
};

/* Parses q[len], the text after '?' and before any '#'. */
int http_query_parse(struct http_query *, const char *q, size_t len)
    __attribute__((warn_unused_result));
/* Parses the query of a NUL-terminated request target, if it has one. */
int http_query_target(struct http_query *, const char *target)
    __attribute__((warn_unused_result));
/* The value of key, or NULL if it was not given. */
const char *http_query_get(const struct http_query *, const char *key);
/* A message for an error from http_query_parse, for a 400 reply. */
const char *http_query_error(int);

#endif
