/*
 * Tests for s3_chunked (the aws-chunked decoder) and s3_sum (the digests).
 *
 * What a client would notice: the S3 documentation's streaming upload
 * (64 KiB and 1 KiB of 'a', signed chunk by chunk) decodes to exactly its
 * 66,560 bytes whether it arrives whole, byte by byte or split in two at
 * any byte of its framing; an unsigned body with a CRC32, CRC32C, SHA-1
 * or SHA-256 trailer decodes split at every pair of bytes, and a wrong,
 * missing or malformed checksum fails; a changed chunk signature, a
 * wrong trailer signature, an oversized chunk or line, bare LFs, a short
 * body and a decoded length other than the declared one all fail, and
 * the failure sticks.  The digests are checked against their standard
 * check values ("123456789").
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front/s3/s3_chunked.h"

#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

struct out {
	char *p;
	size_t len;
	size_t cap;
	int fail_at; /* sink fails when len would pass it (-1: no) */
};

static enum s3_err
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	if (o->fail_at >= 0 && o->len + n > (size_t)o->fail_at)
		return (S3_ERR_INTERNAL);
	assert_true(o->len + n <= o->cap);
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return (S3_OK);
}

static void
out_init(struct out *o, size_t cap)
{
	o->p = malloc(cap ? cap : 1);
	assert_non_null(o->p);
	o->len = 0;
	o->cap = cap;
	o->fail_at = -1;
}

/* The chain of the S3 documentation's streaming PUT, from its request. */
static void
doc_chain(struct sigv4_chain *ch)
{
	static const struct {
		const char *n, *v;
	} hs[] = {
	    {"Host", "s3.amazonaws.com"},
	    {"x-amz-date", "20130524T000000Z"},
	    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
	    {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
	    {"Content-Encoding", "aws-chunked"},
	    {"x-amz-decoded-content-length", "66560"},
	    {"Content-Length", "66824"},
	    {"Authorization",
	     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
	     "us-east-1/s3/aws4_request,SignedHeaders=content-encoding;"
	     "content-length;host;x-amz-content-sha256;x-amz-date;"
	     "x-amz-decoded-content-length;x-amz-storage-class,Signature="
	     "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0"
	     "a9"},
	};
	struct sigv4_header h[8];
	struct sigv4_req req = {.method = "PUT"};
	struct sigv4_auth auth;
	int64_t now;

	for (size_t i = 0; i < 8; i++) {
		h[i].name = span_str(hs[i].n);
		h[i].value = span_str(hs[i].v);
	}
	req.path = span_str("/examplebucket/chunkObject.txt");
	req.query = span_str("");
	req.headers = h;
	req.nheaders = 8;
	assert_int_equal(sigv4_parse(&req, &auth), S3_OK);
	assert_int_equal(
	    sigv4_parse_time(span_str("20130524T000000Z"), &now, NULL), 0);
	assert_int_equal(
	    sigv4_verify(&req, &auth, S3_SECRET, strlen(S3_SECRET), now, ch),
	    S3_OK);
}

/* The documentation's body, 66,824 bytes. */
static char *
doc_body(size_t *len)
{
	static const char l1[] =
	    "10000;chunk-signature=ad80c730a21e5b8d04586a"
	    "2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n";
	static const char l2[] = "400;chunk-signature=0055627c9e194cb4542bae2a"
				 "a5492e3c1575bbb81b612b7d234b86a503ef5497\r\n";
	static const char l3[] =
	    "0;chunk-signature=b6c6ea8a5354eaf15b3cb76467"
	    "44f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
	char *b = malloc(66824);
	size_t n = 0;

	assert_non_null(b);
	memcpy(b + n, l1, strlen(l1));
	n += strlen(l1);
	memset(b + n, 'a', 65536);
	n += 65536;
	memcpy(b + n, "\r\n", 2);
	n += 2;
	memcpy(b + n, l2, strlen(l2));
	n += strlen(l2);
	memset(b + n, 'a', 1024);
	n += 1024;
	memcpy(b + n, "\r\n", 2);
	n += 2;
	memcpy(b + n, l3, strlen(l3));
	n += strlen(l3);
	assert_int_equal(n, 66824);
	*len = n;
	return (b);
}

/* Decodes body fed in the pieces cut at cuts[ncuts] (ascending). */
static enum s3_err
decode_cut(const struct s3_chunked_cfg *base, const char *body, size_t len,
	   const size_t *cuts, size_t ncuts, struct out *o)
{
	struct s3_chunked_cfg cfg = *base;
	struct s3_chunked *d;
	size_t from = 0;
	enum s3_err e = S3_OK;

	cfg.sink = sink;
	cfg.arg = o;
	d = s3_chunked_new(&cfg);
	assert_non_null(d);
	for (size_t i = 0; i <= ncuts && e == S3_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		size_t used;
		/* each piece from its own heap block, for AddressSanitizer */
		char *piece = malloc(to - from ? to - from : 1);

		assert_non_null(piece);
		memcpy(piece, body + from, to - from);
		e = s3_chunked_feed(d, piece, to - from, &used);
		if (e == S3_OK)
			assert_int_equal(used, to - from);
		free(piece);
		from = to;
	}
	if (e == S3_OK)
		e = s3_chunked_finish(d);
	s3_chunked_free(d);
	return (e);
}

static void
assert_doc_payload(const struct out *o)
{
	assert_int_equal(o->len, 66560);
	for (size_t i = 0; i < o->len; i++)
		if (o->p[i] != 'a')
			fail_msg("byte %zu", i);
}

static void
test_doc_example(void **state)
{
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = 66560,
	};
	struct out o;
	size_t len;
	char *body = doc_body(&len);

	(void)state;
	doc_chain(&ch);
	out_init(&o, 66560);
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o), S3_OK);
	assert_doc_payload(&o);
	free(o.p);
	free(body);
}

static void
test_doc_byte_by_byte(void **state)
{
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = -1,
	};
	struct s3_chunked *d;
	struct out o;
	size_t len, used;
	char *body = doc_body(&len);

	(void)state;
	doc_chain(&ch);
	out_init(&o, 66560);
	cfg.sink = sink;
	cfg.arg = &o;
	d = s3_chunked_new(&cfg);
	assert_non_null(d);
	for (size_t i = 0; i < len; i++) {
		assert_false(s3_chunked_done(d));
		assert_int_equal(s3_chunked_feed(d, body + i, 1, &used), S3_OK);
		assert_int_equal(used, 1);
	}
	assert_true(s3_chunked_done(d));
	assert_int_equal(s3_chunked_finish(d), S3_OK);
	assert_int_equal(s3_chunked_decoded(d), 66560);
	assert_doc_payload(&o);
	s3_chunked_free(d);
	free(o.p);
	free(body);
}

/* Split in two at every byte of the framing (and every 97th of data). */
static void
test_doc_every_split(void **state)
{
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = 66560,
	};
	size_t len;
	char *body = doc_body(&len);

	(void)state;
	doc_chain(&ch);
	for (size_t cut = 0; cut <= len; cut++) {
		bool framing =
		    cut < 100 || (cut > 65600 && cut < 65730) || cut > 66700;
		struct out o;

		if (!framing && cut % 97 != 0)
			continue;
		out_init(&o, 66560);
		assert_int_equal(decode_cut(&cfg, body, len, &cut, 1, &o),
				 S3_OK);
		assert_doc_payload(&o);
		free(o.p);
	}
	free(body);
}

/* Any changed byte of a chunk's signature, size or data fails; the error
 * sticks. */
static void
test_doc_tampered(void **state)
{
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = -1,
	};
	static const size_t at[] = {30, 85, 100, 65620, 65700, 66700, 66760};
	size_t len;
	char *body = doc_body(&len);

	(void)state;
	doc_chain(&ch);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct out o;
		enum s3_err e;

		out_init(&o, 66560 + 10);
		body[at[i]] ^= 1;
		e = decode_cut(&cfg, body, len, NULL, 0, &o);
		body[at[i]] ^= 1;
		assert_true(e == S3_ERR_SIGNATURE_MISMATCH ||
			    e == S3_ERR_INVALID_CHUNK);
		free(o.p);
	}
	free(body);
}

static void
test_doc_short_and_extra(void **state)
{
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = 66560,
	};
	struct s3_chunked *d;
	struct out o;
	size_t len, used;
	char *body = doc_body(&len), *more;

	(void)state;
	doc_chain(&ch);
	/* Cut anywhere short of the end: IncompleteBody at finish. */
	for (size_t cut = len - 90; cut < len; cut++) {
		out_init(&o, 66560);
		cfg.sink = sink;
		cfg.arg = &o;
		d = s3_chunked_new(&cfg);
		assert_int_equal(s3_chunked_feed(d, body, cut, &used), S3_OK);
		assert_int_equal(s3_chunked_finish(d), S3_ERR_INCOMPLETE_BODY);
		assert_int_equal(
		    s3_chunked_feed(d, body + cut, len - cut, &used),
		    S3_ERR_INCOMPLETE_BODY);
		s3_chunked_free(d);
		free(o.p);
	}
	/* Bytes after the end are not taken. */
	more = malloc(len + 5);
	memcpy(more, body, len);
	memcpy(more + len, "GET /", 5);
	out_init(&o, 66560);
	cfg.arg = &o;
	d = s3_chunked_new(&cfg);
	assert_int_equal(s3_chunked_feed(d, more, len + 5, &used), S3_OK);
	assert_int_equal(used, len);
	assert_int_equal(s3_chunked_finish(d), S3_OK);
	s3_chunked_free(d);
	free(o.p);
	/* A declared length other than the body's. */
	cfg.decoded_length = 66559;
	out_init(&o, 66560);
	cfg.arg = &o;
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o),
			 S3_ERR_INVALID_CHUNK);
	free(o.p);
	cfg.decoded_length = 66561;
	out_init(&o, 66560);
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o),
			 S3_ERR_INCOMPLETE_BODY);
	free(o.p);
	/* The sink's own error stops the decoder. */
	cfg.decoded_length = -1;
	out_init(&o, 66560);
	o.fail_at = 1000;
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o),
			 S3_ERR_INTERNAL);
	free(o.p);
	free(more);
	free(body);
}

/* The documentation's body ended with signed trailers instead (the values
 * of aws-c-auth's chunked signing test). */
static void
test_doc_signed_trailer(void **state)
{
	static const char tail[] = "first:1st\r\nsecond:2nd\r\nthird:3rd\r\n"
				   "x-amz-trailer-signature:"
				   "df5735bd9f3295cd9386572292562fefc93ba94e80a"
				   "0a1ddcbd652c4e0a75e6c\r\n\r\n";
	struct sigv4_chain ch;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING_TRAILER,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = 66560,
	};
	size_t len, n;
	char *doc = doc_body(&len), *body;

	(void)state;
	doc_chain(&ch);
	n = len - 2 + strlen(tail);
	body = malloc(n);
	assert_non_null(body);
	memcpy(body, doc, len - 2);
	memcpy(body + len - 2, tail, strlen(tail));
	for (size_t cut = len - 100; cut <= n; cut++) {
		struct out o;

		out_init(&o, 66560);
		assert_int_equal(decode_cut(&cfg, body, n, &cut, 1, &o), S3_OK);
		assert_doc_payload(&o);
		free(o.p);
	}
	/* a trailer value changed */
	body[len - 2 + 7] = '9';
	{
		struct out o;

		out_init(&o, 66560);
		assert_int_equal(decode_cut(&cfg, body, n, NULL, 0, &o),
				 S3_ERR_SIGNATURE_MISMATCH);
		free(o.p);
	}
	free(body);
	free(doc);
}

/* Unsigned bodies with each checksum trailer ("123456789" in two chunks). */
static const struct {
	enum s3_sum_alg alg;
	const char *trailer;
} sums[] = {
    {S3_SUM_CRC32, "x-amz-checksum-crc32:y/Q5Jg=="},
    {S3_SUM_CRC32C, "x-amz-checksum-crc32c:4waSgw=="},
    {S3_SUM_SHA1, "x-amz-checksum-sha1:98O8HYCOBHMq32eZZczDTKeuNEE="},
    {S3_SUM_SHA256,
     "x-amz-checksum-sha256:FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
};

static char *
unsigned_body(const char *trailer, const char *end)
{
	char *b = malloc(512);

	assert_non_null(b);
	snprintf(b, 512, "4\r\n1234\r\n5\r\n56789\r\n0\r\n%s\r\n%s", trailer,
		 end);
	return (b);
}

static void
test_unsigned_trailer_every_split(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(sums) / sizeof(sums[0]); k++) {
		struct s3_chunked_cfg cfg = {
		    .payload = SIGV4_PAYLOAD_STREAMING_UNSIGNED,
		    .trailer_sum = sums[k].alg,
		    .decoded_length = 9,
		};
		char *body = unsigned_body(sums[k].trailer, "\r\n");
		size_t len = strlen(body);

		for (size_t a = 0; a <= len; a++) {
			for (size_t b = a; b <= len; b++) {
				size_t cuts[2] = {a, b};
				struct out o;

				out_init(&o, 9);
				assert_int_equal(
				    decode_cut(&cfg, body, len, cuts, 2, &o),
				    S3_OK);
				assert_int_equal(o.len, 9);
				assert_memory_equal(o.p, "123456789", 9);
				free(o.p);
			}
		}
		free(body);
	}
}

static void
test_unsigned_checksum_value(void **state)
{
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING_UNSIGNED,
	    .trailer_sum = S3_SUM_CRC32,
	    .decoded_length = -1,
	};
	char *body = unsigned_body(sums[0].trailer, "\r\n");
	struct s3_chunked *d;
	struct out o;
	char b64[S3_SUM_B64_MAX + 1];

	(void)state;
	out_init(&o, 9);
	cfg.sink = sink;
	cfg.arg = &o;
	d = s3_chunked_new(&cfg);
	assert_int_equal(s3_chunked_feed(d, body, strlen(body), NULL), S3_OK);
	assert_int_equal(s3_chunked_finish(d), S3_OK);
	assert_int_equal(s3_chunked_checksum(d, b64), 0);
	assert_string_equal(b64, "y/Q5Jg==");
	s3_chunked_free(d);
	free(o.p);
	free(body);
	/* The final empty line left out is accepted at finish. */
	body = unsigned_body(sums[0].trailer, "");
	out_init(&o, 9);
	assert_int_equal(decode_cut(&cfg, body, strlen(body), NULL, 0, &o),
			 S3_OK);
	free(o.p);
	free(body);
}

static void
test_unsigned_bad(void **state)
{
	static const struct {
		enum s3_sum_alg alg;
		const char *body;
		enum s3_err want;
	} bad[] = {
	    /* wrong checksum */
	    {S3_SUM_CRC32,
	     "4\r\n1234\r\n5\r\n56789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jh=="
	     "\r\n\r\n",
	     S3_ERR_INVALID_DIGEST},
	    {S3_SUM_CRC32,
	     "4\r\n1234\r\n5\r\n56788\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg=="
	     "\r\n\r\n",
	     S3_ERR_CHECKSUM_MISMATCH},
	    /* missing, another algorithm's, twice, not base64 */
	    {S3_SUM_CRC32, "4\r\n1234\r\n0\r\n\r\n", S3_ERR_CHECKSUM_MISMATCH},
	    {S3_SUM_CRC32,
	     "4\r\n1234\r\n0\r\nx-amz-checksum-crc32c:4waSgw==\r\n\r\n",
	     S3_ERR_INVALID_REQUEST},
	    {S3_SUM_CRC32,
	     "9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5Jg==\r\n"
	     "x-amz-checksum-crc32:y/Q5Jg==\r\n\r\n",
	     S3_ERR_INVALID_REQUEST},
	    {S3_SUM_CRC32,
	     "9\r\n123456789\r\n0\r\nx-amz-checksum-crc32:y/Q5J===\r\n\r\n",
	     S3_ERR_INVALID_DIGEST},
	    /* framing */
	    {S3_SUM_NONE, "4\n1234\r\n0\r\n\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "4\r\n1234\n0\r\n\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "4\r\n12345\r\n0\r\n\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "x\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "4;chunk-signature=00\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "1000001\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "000000004\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "4\r\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "0\r\nno-colon\r\n\r\n", S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "0\r\nx-amz-trailer-signature:00\r\n\r\n",
	     S3_ERR_INVALID_CHUNK},
	    {S3_SUM_NONE, "4\r\n12", S3_ERR_INCOMPLETE_BODY},
	    {S3_SUM_NONE, "", S3_ERR_INCOMPLETE_BODY},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct s3_chunked_cfg cfg = {
		    .payload = SIGV4_PAYLOAD_STREAMING_UNSIGNED,
		    .trailer_sum = bad[i].alg,
		    .decoded_length = -1,
		};
		struct out o;

		out_init(&o, 64);
		print_message("case %zu\n", i);
		assert_int_equal(decode_cut(&cfg, bad[i].body,
					    strlen(bad[i].body), NULL, 0, &o),
				 bad[i].want);
		free(o.p);
	}
}

/* A size line at the cap is read; one byte more is refused, as is a
 * trailer block past 8 KiB. */
static void
test_caps(void **state)
{
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING_UNSIGNED,
	    .trailer_sum = S3_SUM_NONE,
	    .decoded_length = -1,
	};
	char *body = malloc(S3_CHUNKED_TRAILER_MAX + 4096);
	struct out o;
	size_t n;

	(void)state;
	out_init(&o, 16);
	/* "0" then a trailer line of exactly the cap */
	n = (size_t)snprintf(body, 64, "0\r\nx-a:");
	memset(body + n, 'v', S3_CHUNKED_LINE_MAX - 4);
	n += S3_CHUNKED_LINE_MAX - 4;
	memcpy(body + n, "\r\n\r\n", 4);
	n += 4;
	assert_int_equal(decode_cut(&cfg, body, n, NULL, 0, &o), S3_OK);
	n = (size_t)snprintf(body, 64, "0\r\nx-a:");
	memset(body + n, 'v', S3_CHUNKED_LINE_MAX - 3);
	n += S3_CHUNKED_LINE_MAX - 3;
	memcpy(body + n, "\r\n\r\n", 4);
	n += 4;
	assert_int_equal(decode_cut(&cfg, body, n, NULL, 0, &o),
			 S3_ERR_INVALID_CHUNK);
	/* 40 lines of 250 bytes: past the trailer block's 8 KiB */
	n = (size_t)snprintf(body, 64, "0\r\n");
	for (int i = 0; i < 40; i++) {
		n += (size_t)snprintf(body + n, 16, "x-%02d:", i);
		memset(body + n, 'v', 244);
		n += 244;
		memcpy(body + n, "\r\n", 2);
		n += 2;
	}
	memcpy(body + n, "\r\n", 2);
	n += 2;
	assert_int_equal(decode_cut(&cfg, body, n, NULL, 0, &o),
			 S3_ERR_INVALID_CHUNK);
	free(o.p);
	free(body);
}

/* A signed body with a trailer, signed here from the specification's
 * strings with a chain of known key. */
static void
hexsig(const struct sigv4_chain *ch, const char *alg, bool empty,
       const uint8_t hash[32], char out[65])
{
	char msg[512], prev[65], h[65];
	uint8_t sig[32];

	str_hex(ch->prev, 32, prev);
	str_hex(hash, 32, h);
	snprintf(
	    msg, sizeof(msg), "%s\n%s\n%s\n%s\n%s%s", alg, ch->amz_date,
	    ch->scope, prev,
	    empty ? "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7"
		    "852b855\n"
		  : "",
	    h);
	sigv4_hmac(ch->key, 32, msg, strlen(msg), sig);
	str_hex(sig, 32, out);
}

static void
test_signed_trailer(void **state)
{
	struct sigv4_chain ch, run;
	struct s3_chunked_cfg cfg = {
	    .payload = SIGV4_PAYLOAD_STREAMING_TRAILER,
	    .chain = &ch,
	    .trailer_sum = S3_SUM_CRC32,
	    .decoded_length = 9,
	};
	char s1[65], s2[65], st[65], body[1024];
	uint8_t h[32];
	struct out o;
	size_t len;
	static const char trailer[] = "x-amz-checksum-crc32:y/Q5Jg==";

	(void)state;
	memset(&ch, 0, sizeof(ch));
	memset(ch.key, 7, 32);
	memset(ch.prev, 9, 32);
	snprintf(ch.amz_date, sizeof(ch.amz_date), "20130524T000000Z");
	snprintf(ch.scope, sizeof(ch.scope),
		 "20130524/us-east-1/s3/aws4_request");
	run = ch;
	sigv4_sha256("123456789", 9, h);
	hexsig(&run, "AWS4-HMAC-SHA256-PAYLOAD", true, h, s1);
	assert_int_equal(span_hex(span_str(s1), run.prev, 32), 0);
	sigv4_sha256("", 0, h);
	hexsig(&run, "AWS4-HMAC-SHA256-PAYLOAD", true, h, s2);
	assert_int_equal(span_hex(span_str(s2), run.prev, 32), 0);
	sigv4_sha256("x-amz-checksum-crc32:y/Q5Jg==\n", 30, h);
	hexsig(&run, "AWS4-HMAC-SHA256-TRAILER", false, h, st);
	len = (size_t)snprintf(
	    body, sizeof(body),
	    "9;chunk-signature=%s\r\n123456789\r\n0;chunk-signature=%s\r\n"
	    "%s\r\nx-amz-trailer-signature:%s\r\n\r\n",
	    s1, s2, trailer, st);
	for (size_t cut = 0; cut <= len; cut++) {
		out_init(&o, 9);
		assert_int_equal(decode_cut(&cfg, body, len, &cut, 1, &o),
				 S3_OK);
		assert_memory_equal(o.p, "123456789", 9);
		free(o.p);
	}
	/* A wrong trailer signature, and none at all. */
	st[0] = st[0] == '0' ? '1' : '0';
	len = (size_t)snprintf(
	    body, sizeof(body),
	    "9;chunk-signature=%s\r\n123456789\r\n0;chunk-signature=%s\r\n"
	    "%s\r\nx-amz-trailer-signature:%s\r\n\r\n",
	    s1, s2, trailer, st);
	out_init(&o, 9);
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o),
			 S3_ERR_SIGNATURE_MISMATCH);
	free(o.p);
	len = (size_t)snprintf(
	    body, sizeof(body),
	    "9;chunk-signature=%s\r\n123456789\r\n0;chunk-signature=%s\r\n"
	    "%s\r\n\r\n",
	    s1, s2, trailer);
	out_init(&o, 9);
	assert_int_equal(decode_cut(&cfg, body, len, NULL, 0, &o),
			 S3_ERR_SIGNATURE_MISMATCH);
	free(o.p);
	/* An unsigned chunk line in a signed body. */
	out_init(&o, 9);
	assert_int_equal(
	    decode_cut(&cfg, "9\r\n123456789\r\n", 14, NULL, 0, &o),
	    S3_ERR_INVALID_CHUNK);
	free(o.p);
}

static void
test_sums(void **state)
{
	static const struct {
		enum s3_sum_alg alg;
		const char *b64;
	} want[] = {
	    {S3_SUM_MD5, "JfnnlDI7RTiF9RgfG2JNCw=="},
	    {S3_SUM_CRC32, "y/Q5Jg=="},
	    {S3_SUM_CRC32C, "4waSgw=="},
	    {S3_SUM_SHA1, "98O8HYCOBHMq32eZZczDTKeuNEE="},
	    {S3_SUM_SHA256, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
	};
	uint8_t raw[S3_SUM_RAW_MAX], back[S3_SUM_RAW_MAX];
	char b64[S3_SUM_B64_MAX + 1], hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* fed in two pieces: incremental */
		struct s3_sum s;
		size_t n;

		assert_int_equal(s3_sum_init(&s, want[i].alg), 0);
		s3_sum_update(&s, "1234", 4);
		s3_sum_update(&s, "56789", 5);
		n = s3_sum_final(&s, raw);
		s3_sum_release(&s);
		assert_int_equal(n, s3_sum_len(want[i].alg));
		s3_b64(raw, n, b64);
		assert_string_equal(b64, want[i].b64);
		assert_int_equal(s3_unb64(span_str(b64), back, n), 0);
		assert_memory_equal(raw, back, n);
		if (want[i].alg == S3_SUM_MD5) {
			str_hex(raw, n, hex);
			assert_string_equal(hex,
					    "25f9e794323b453885f5181f1b624d0b");
		}
	}
	assert_int_equal(s3_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(s3_crc32c(s3_crc32c(0, "1234", 4), "56789", 5),
			 0xe3069283u);
	assert_int_equal(s3_sum_from_header(span_str("X-Amz-Checksum-CRC32C")),
			 S3_SUM_CRC32C);
	assert_int_equal(s3_sum_from_header(span_str("x-amz-checksum-md5")),
			 S3_SUM_NONE);
	assert_int_equal(s3_sum_from_name(span_str("sha256")), S3_SUM_SHA256);
	assert_int_equal(s3_sum_from_name(span_str("MD5")), S3_SUM_NONE);
	assert_string_equal(s3_sum_header(S3_SUM_CRC32),
			    "x-amz-checksum-crc32");
	/* Only canonical base64 of the right length. */
	assert_int_equal(s3_unb64(span_str("y/Q5Jg="), raw, 4), -EINVAL);
	assert_int_equal(s3_unb64(span_str("y/Q5Jh=="), raw, 4), -EINVAL);
	assert_int_equal(s3_unb64(span_str("y/Q 5Jg="), raw, 4), -EINVAL);
	assert_int_equal(s3_unb64(span_str("y/Q5Jg=="), raw, 5), -EINVAL);
	assert_int_equal(s3_sum_init(&(struct s3_sum){0}, S3_SUM_NONE),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doc_example),
	    cmocka_unit_test(test_doc_byte_by_byte),
	    cmocka_unit_test(test_doc_every_split),
	    cmocka_unit_test(test_doc_tampered),
	    cmocka_unit_test(test_doc_short_and_extra),
	    cmocka_unit_test(test_doc_signed_trailer),
	    cmocka_unit_test(test_unsigned_trailer_every_split),
	    cmocka_unit_test(test_unsigned_checksum_value),
	    cmocka_unit_test(test_unsigned_bad),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_signed_trailer),
	    cmocka_unit_test(test_sums),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
