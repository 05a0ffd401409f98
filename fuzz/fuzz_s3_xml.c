/*
 * fuzz_s3_xml: feeds arbitrary bytes to the S3 request-body parser.  The
 * first byte picks the body (CompleteMultipartUpload, Delete,
 * CreateBucketConfiguration) and the second where to split; the rest is
 * parsed once whole and once in two pieces, each a heap copy of exactly
 * its length.
 *
 * Checked: both answer the same and give the same result; a result keeps
 * its caps (parts 1..10,000 and at most 10,000 of them, at most 1,000
 * non-empty keys, every text within 2 KiB); and a failure is MalformedXML,
 * EntityTooLarge or InternalError, with an empty result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/s3/s3_xml.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static enum s3_err
run(enum s3_xml_kind kind, const uint8_t *body, size_t len, size_t cut,
    struct s3_xml_result *r)
{
	struct s3_xml *x = s3_xml_new(kind);
	size_t pieces[2][2] = {{0, cut}, {cut, len}};
	enum s3_err e = S3_OK;

	if (x == NULL)
		abort();
	for (int i = 0; i < 2 && e == S3_OK; i++) {
		size_t n = pieces[i][1] - pieces[i][0];
		uint8_t *p = malloc(n ? n : 1);

		if (p == NULL)
			abort();
		memcpy(p, body + pieces[i][0], n);
		e = s3_xml_feed(x, p, n);
		free(p);
	}
	if (e == S3_OK)
		e = s3_xml_finish(x, r);
	else
		memset(r, 0, sizeof(*r));
	s3_xml_free(x);
	return (e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_xml_result a, b;
	enum s3_xml_kind kind;
	enum s3_err ea, eb;
	size_t cut;

	if (size < 2)
		return (0);
	kind = (enum s3_xml_kind)(data[0] % 3);
	cut = data[1] % (size - 2 + 1);
	data += 2;
	size -= 2;
	ea = run(kind, data, size, size, &a);
	eb = run(kind, data, size, cut, &b);
	CHECK(ea == eb);
	if (ea != S3_OK) {
		CHECK(ea == S3_ERR_MALFORMED_XML ||
		      ea == S3_ERR_ENTITY_TOO_LARGE || ea == S3_ERR_INTERNAL);
		CHECK(a.nparts == 0 && a.nkeys == 0);
		return (0);
	}
	CHECK(a.nparts == b.nparts && a.nkeys == b.nkeys &&
	      a.quiet == b.quiet && strcmp(a.location, b.location) == 0);
	CHECK(a.nparts <= S3_XML_PARTS_MAX && a.nkeys <= S3_XML_DELETE_MAX);
	for (size_t i = 0; i < a.nparts; i++) {
		CHECK(a.parts[i].number >= 1 &&
		      a.parts[i].number <= S3_XML_PARTS_MAX);
		CHECK(a.parts[i].number == b.parts[i].number);
		CHECK(strlen(a.parts[i].etag) <= S3_XML_TEXT_MAX);
		CHECK(strcmp(a.parts[i].etag, b.parts[i].etag) == 0);
	}
	for (size_t i = 0; i < a.nkeys; i++) {
		CHECK(a.keys[i].key_len >= 1 &&
		      a.keys[i].key_len <= S3_XML_TEXT_MAX);
		CHECK(a.keys[i].key_len == b.keys[i].key_len);
		CHECK(memcmp(a.keys[i].key, b.keys[i].key, a.keys[i].key_len) ==
		      0);
		CHECK((a.keys[i].version_id == NULL) ==
		      (b.keys[i].version_id == NULL));
	}
	s3_xml_result_release(&a);
	s3_xml_result_release(&b);
	return (0);
}
