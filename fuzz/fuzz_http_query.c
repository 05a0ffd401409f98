/*
 * fuzz_http_query: feeds arbitrary bytes to http_query_parse as a query
 * string, the part of a request target after '?'.
 *
 * The input is a heap copy of exactly its length, so ASan sees any read
 * past the end.  A failure is one of the errors the header names.  On
 * success: no more than the cap of parameters; every key non-empty and
 * given once; no decoded value or key holds CR or LF; http_query_get finds
 * each value; and the parameters, percent-encoded again and joined with
 * '&', parse back to the same keys and values in the same order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/http/http_query.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct http_query q, q2;
/* Every byte escaped: three bytes each, plus '=' and '&'. */
static char again[3 * HTTP_QUERY_LEN_MAX + 2 * HTTP_QUERY_PARAMS_MAX];

static size_t
encode(const char *s, size_t o)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		CHECK(o + 3 < sizeof(again));
		again[o++] = '%';
		again[o++] = hex[(unsigned char)*s >> 4];
		again[o++] = hex[(unsigned char)*s & 15];
	}
	return (o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t o = 0;
	unsigned i, j;
	char *p;
	int rc;

	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(p, data, size);
	rc = http_query_parse(&q, p, size);
	free(p);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -E2BIG || rc == -EEXIST);
		CHECK(http_query_error(rc) != NULL);
		return (0);
	}
	CHECK(q.n <= HTTP_QUERY_PARAMS_MAX);
	for (i = 0; i < q.n; i++) {
		CHECK(q.p[i].key[0] != '\0');
		CHECK(strpbrk(q.p[i].key, "\r\n") == NULL);
		CHECK(strpbrk(q.p[i].value, "\r\n") == NULL);
		for (j = 0; j < i; j++)
			CHECK(strcmp(q.p[i].key, q.p[j].key) != 0);
		CHECK(http_query_get(&q, q.p[i].key) == q.p[i].value);
		if (i > 0)
			again[o++] = '&';
		o = encode(q.p[i].key, o);
		again[o++] = '=';
		o = encode(q.p[i].value, o);
	}
	/* Encoding triples the length, which may pass the cap. */
	rc = http_query_parse(&q2, again, o);
	if (o > HTTP_QUERY_LEN_MAX) {
		CHECK(rc == -E2BIG);
		return (0);
	}
	CHECK(rc == 0 && q2.n == q.n);
	for (i = 0; i < q.n; i++) {
		CHECK(strcmp(q.p[i].key, q2.p[i].key) == 0);
		CHECK(strcmp(q.p[i].value, q2.p[i].value) == 0);
	}
	return (0);
}
