/*
 * fuzz_sigv4: feeds arbitrary bytes to sigv4_parse and sigv4_verify as a
 * request written "METHOD TARGET\n" then "name:value\n" lines (the
 * Authorization header and the presigned query are where the bytes
 * matter most; the seeds hold both).
 *
 * Each header and the target are heap copies of exactly their length, so
 * ASan sees any read past the end.  Checked: a failed parse leaves the
 * request anonymous; a parsed one has a 16-character date, a scope that
 * starts with its date and ends with aws4_request, at most
 * SIGV4_SIGNED_MAX signed headers; verifying at the request's own time
 * never answers a clock error, and building the canonical request twice
 * gives the same bytes.  No input verifies: the secret is not in it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/s3/sigv4.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

#define HEADERS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
copy(const uint8_t *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	return (c);
}

static const uint8_t *
line_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

	return (nl != NULL ? nl : end);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *e, *sp, *q;
	struct sigv4_header h[HEADERS_MAX];
	char *blocks[2 * HEADERS_MAX + 1];
	size_t nblocks = 0;
	struct sigv4_req req = {.method = "PUT"};
	struct sigv4_auth auth;
	struct buf a, b;
	enum s3_err err;
	char *target;

	e = line_end(p, end);
	sp = memchr(p, ' ', (size_t)(e - p));
	if (sp == NULL)
		sp = p;
	else
		sp++;
	target = blocks[nblocks++] = copy(sp, (size_t)(e - sp));
	q = memchr(sp, '?', (size_t)(e - sp));
	req.path.p = target;
	req.path.len = q != NULL ? (size_t)(q - sp) : (size_t)(e - sp);
	req.query.p = q != NULL ? target + (q - sp) + 1 : "";
	req.query.len = q != NULL ? (size_t)(e - q - 1) : 0;
	p = e < end ? e + 1 : end;
	while (p < end && req.nheaders < HEADERS_MAX) {
		const uint8_t *colon;
		struct sigv4_header *x = &h[req.nheaders++];

		e = line_end(p, end);
		colon = memchr(p, ':', (size_t)(e - p));
		if (colon == NULL)
			colon = e;
		x->name.p = blocks[nblocks++] = copy(p, (size_t)(colon - p));
		x->name.len = (size_t)(colon - p);
		if (colon < e)
			colon++;
		x->value.p = blocks[nblocks++] =
		    copy(colon, (size_t)(e - colon));
		x->value.len = (size_t)(e - colon);
		p = e < end ? e + 1 : end;
	}
	req.headers = h;

	err = sigv4_parse(&req, &auth);
	CHECK((unsigned)err < S3_ERR__COUNT);
	if (err != S3_OK || auth.kind == SIGV4_ANONYMOUS) {
		CHECK(auth.kind == SIGV4_ANONYMOUS);
		goto out;
	}
	CHECK(strlen(auth.amz_date) == SIGV4_AMZ_DATE_LEN);
	CHECK(strncmp(auth.scope, auth.scope_date, 8) == 0);
	CHECK(strlen(auth.scope) > 13 &&
	      strcmp(auth.scope + strlen(auth.scope) - 13, "/aws4_request") ==
		  0);
	CHECK(auth.nsigned >= 1 && auth.nsigned <= SIGV4_SIGNED_MAX);
	CHECK(auth.kind != SIGV4_PRESIGNED ||
	      (auth.expires >= 1 && auth.expires <= SIGV4_EXPIRES_MAX));
	err = sigv4_verify(&req, &auth, "secret", 6, auth.time, NULL);
	CHECK(err != S3_OK);
	CHECK(err != S3_ERR_TIME_SKEWED && err != S3_ERR_EXPIRED);
	buf_init(&a, SIGV4_CANON_MAX);
	buf_init(&b, SIGV4_CANON_MAX);
	err = sigv4_canonical_request(&req, &auth, auth.payload_hash, &a);
	CHECK(sigv4_canonical_request(&req, &auth, auth.payload_hash, &b) ==
	      err);
	CHECK(a.len == b.len &&
	      (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	buf_release(&a);
	buf_release(&b);
out:
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	return (0);
}
