/*
 * fuzz_s3_chunked: feeds arbitrary bytes to the aws-chunked decoder.  The
 * first byte picks the mode (signed, signed with trailer, unsigned with
 * trailer) and the trailer's checksum, the second where to split; the
 * rest is the body, decoded once whole and once in two pieces, each piece
 * a heap copy of exactly its length.
 *
 * Checked: both runs answer the same and deliver the same payload bytes
 * (the split is invisible); the decoded count is what the sink got; a
 * chunk is never larger than the cap; an unsigned body that finishes
 * well has a checksum when one was declared.  Signed bodies use a chain
 * of a fixed key: only a forged signature could pass, and none is in the
 * input's reach.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/s3/s3_chunked.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct out {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static enum s3_err
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	CHECK(n <= S3_CHUNKED_CHUNK_MAX);
	if (o->len + n > o->cap) {
		size_t cap = (o->len + n) * 2;

		if ((o->p = realloc(o->p, cap)) == NULL)
			abort();
		o->cap = cap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return (S3_OK);
}

static enum s3_err
run(const struct s3_chunked_cfg *base, const uint8_t *body, size_t len,
    size_t cut, struct out *o, uint64_t *decoded)
{
	struct s3_chunked_cfg cfg = *base;
	struct s3_chunked *d;
	size_t pieces[2][2] = {{0, cut}, {cut, len}};
	enum s3_err e = S3_OK;

	cfg.sink = sink;
	cfg.arg = o;
	if ((d = s3_chunked_new(&cfg)) == NULL)
		abort();
	for (int i = 0; i < 2 && e == S3_OK; i++) {
		size_t n = pieces[i][1] - pieces[i][0], used;
		uint8_t *p = malloc(n ? n : 1);

		if (p == NULL)
			abort();
		memcpy(p, body + pieces[i][0], n);
		e = s3_chunked_feed(d, p, n, &used);
		CHECK(used <= n);
		free(p);
		if (e == S3_OK && used < n) {
			CHECK(s3_chunked_done(d));
			break;
		}
	}
	if (e == S3_OK)
		e = s3_chunked_finish(d);
	*decoded = s3_chunked_decoded(d);
	if (e == S3_OK && cfg.trailer_sum != S3_SUM_NONE) {
		char b64[S3_SUM_B64_MAX + 1];

		CHECK(s3_chunked_checksum(d, b64) == 0);
	}
	s3_chunked_free(d);
	return (e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sigv4_payload modes[] = {
	    SIGV4_PAYLOAD_STREAMING,
	    SIGV4_PAYLOAD_STREAMING_TRAILER,
	    SIGV4_PAYLOAD_STREAMING_UNSIGNED,
	};
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg;
	struct out a = {0}, b = {0};
	uint64_t da, db;
	enum s3_err ea, eb;
	size_t cut;

	if (size < 2)
		return (0);
	memset(&ch, 0, sizeof(ch));
	memset(ch.key, 7, sizeof(ch.key));
	memcpy(ch.amz_date, "20130524T000000Z", 17);
	memcpy(ch.scope, "20130524/us-east-1/s3/aws4_request", 35);
	memset(&cfg, 0, sizeof(cfg));
	cfg.payload = modes[(data[0] & 3) % 3];
	cfg.chain = &ch;
	cfg.trailer_sum = (enum s3_sum_alg)((data[0] >> 2) % 6);
	if (cfg.trailer_sum == S3_SUM_MD5)
		cfg.trailer_sum = S3_SUM_NONE;
	cfg.decoded_length = (data[0] & 0x80) ? 16 : -1;
	data += 2;
	size -= 2;
	cut = size ? data[-1] % (size + 1) : 0;
	ea = run(&cfg, data, size, size, &a, &da);
	eb = run(&cfg, data, size, cut, &b, &db);
	CHECK((unsigned)ea < S3_ERR__COUNT);
	CHECK(ea == eb);
	CHECK(da == a.len && db == b.len);
	if (ea == S3_OK) {
		CHECK(a.len == b.len);
		CHECK(a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
		CHECK(cfg.decoded_length < 0 || a.len == 16);
		CHECK(cfg.payload == SIGV4_PAYLOAD_STREAMING_UNSIGNED);
	}
	free(a.p);
	free(b.p);
	return (0);
}
