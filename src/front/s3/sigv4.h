/*
 * sigv4: AWS Signature Version 4 as S3 checks it.  Pure: no I/O, no clock
 * of its own (the caller passes the time), no allocation beyond capped
 * local buffers.  Fuzzed in fuzz/fuzz_sigv4.c.
 *
 * A request is checked in two steps, so the caller looks the access key up
 * in between (s3_keys.h) and no secret is needed to parse:
 *
 *   sigv4_parse(req, &auth)     Authorization header or presigned query:
 *        |                      syntax only; S3_OK with auth.kind
 *        |                      SIGV4_ANONYMOUS when the request carries
 *        v                      neither (S3 answers those AccessDenied)
 *   s3_keys_lookup(auth.access_key) -> secret     (InvalidAccessKeyId)
 *        |
 *   sigv4_verify(req, &auth, secret, now, &chain)
 *                               clock skew / expiry, canonical request,
 *                               string to sign, signing key, constant-time
 *                               compare; fills the chunk chain for
 *                               streaming payloads (s3_chunked.h)
 *
 * The canonical request is AWS's for S3: the path as sent, percent-decoded
 * once and encoded again by AWS's rules ('/' kept, no dot-segment or
 * double-slash normalisation, no double encoding); query parameters
 * decoded, encoded again, sorted by name then value (X-Amz-Signature left
 * out when presigned); the signed headers lower-cased, values trimmed with
 * inner runs of spaces collapsed, repeated headers joined with ','; the
 * payload hash is the x-amz-content-sha256 value, or UNSIGNED-PAYLOAD when
 * presigned without one.
 *
 * SECURITY: signatures are compared with CRYPTO_memcmp; secrets and
 * signing keys are wiped (OPENSSL_cleanse) before the functions return;
 * nothing here logs.
 */
#ifndef SHOAL_FRONT_S3_SIGV4_H
#define SHOAL_FRONT_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/parse.h"
#include "front/s3/s3_err.h"

#define SIGV4_AK_MAX	  128 /* access key id */
#define SIGV4_REGION_MAX  64
#define SIGV4_SERVICE_MAX 32
#define SIGV4_SCOPE_MAX                                                        \
	(8 + 1 + SIGV4_REGION_MAX + 1 + SIGV4_SERVICE_MAX + 1 + 12)
#define SIGV4_SIGNED_MAX      64	/* headers in SignedHeaders */
#define SIGV4_SIGNED_LIST_MAX 2048	/* SignedHeaders value */
#define SIGV4_AMZ_DATE_LEN    16	/* 20130524T000000Z */
#define SIGV4_SKEW_MAX	      (15 * 60) /* seconds */
#define SIGV4_EXPIRES_MAX     604800	/* X-Amz-Expires, 7 days */
/* The canonical request's cap: path, query and signed headers as sent
 * are capped by the HTTP head (16 KiB) but encoding may triple them. */
#define SIGV4_CANON_MAX (64 * 1024)

/* The payload hash values S3 knows, besides a hex SHA-256. */
#define SIGV4_UNSIGNED		 "UNSIGNED-PAYLOAD"
#define SIGV4_STREAMING		 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_STREAMING_TRAILER	 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define SIGV4_STREAMING_UNSIGNED "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/* One request header, as received (borrowed). */
struct sigv4_header {
	struct span name;
	struct span value;
};

/* What the server received, all borrowed. */
struct sigv4_req {
	const char *method; /* "GET", ... */
	struct span path;   /* raw, as sent, without the query */
	struct span query;  /* raw, without '?'; may be empty */
	const struct sigv4_header *headers;
	size_t nheaders;
};

enum sigv4_kind {
	SIGV4_ANONYMOUS, /* no Authorization, no X-Amz-Algorithm */
	SIGV4_HEADER,	 /* Authorization: AWS4-HMAC-SHA256 ... */
	SIGV4_PRESIGNED, /* X-Amz-* query parameters */
};

/* How the body is to be read (from x-amz-content-sha256). */
enum sigv4_payload {
	SIGV4_PAYLOAD_SIGNED,		 /* hex SHA-256 of the body: check it */
	SIGV4_PAYLOAD_UNSIGNED,		 /* UNSIGNED-PAYLOAD */
	SIGV4_PAYLOAD_STREAMING,	 /* aws-chunked, chunk signatures */
	SIGV4_PAYLOAD_STREAMING_TRAILER, /* the same and a signed trailer */
	SIGV4_PAYLOAD_STREAMING_UNSIGNED, /* aws-chunked, unsigned, trailer */
};

/* A parsed signature.  Holds no secret. */
struct sigv4_auth {
	enum sigv4_kind kind;
	char access_key[SIGV4_AK_MAX + 1];
	char scope[SIGV4_SCOPE_MAX + 1]; /* DATE/REGION/s3/aws4_request */
	char scope_date[9];		 /* YYYYMMDD */
	char region[SIGV4_REGION_MAX + 1];
	char service[SIGV4_SERVICE_MAX + 1];
	char amz_date[SIGV4_AMZ_DATE_LEN + 1]; /* x-amz-date/Date */
	int64_t time;			       /* amz_date, Unix seconds */
	int64_t expires; /* presigned: X-Amz-Expires seconds */
	/* SignedHeaders, as sent: lower-case, ';'-separated, sorted. */
	char signed_headers[SIGV4_SIGNED_LIST_MAX + 1];
	size_t nsigned;
	uint8_t signature[32];
	enum sigv4_payload payload;
	/* The payload hash text of the canonical request (a hex digest or
	 * one of the SIGV4_* names above), and the digest when SIGNED. */
	char payload_hash[64 + 1 + 48];
	uint8_t payload_sha256[32];
};

/*
 * Parses the signature of req into *auth.  S3_OK (kind may be
 * SIGV4_ANONYMOUS), or S3_ERR_AUTH_HEADER_MALFORMED,
 * S3_ERR_AUTH_QUERY (presigned parameters missing, repeated or bad,
 * X-Amz-Expires outside 1..604800), S3_ERR_ALGORITHM (not
 * AWS4-HMAC-SHA256, e.g. signature version 2), S3_ERR_INVALID_REQUEST
 * (both an Authorization header and a presigned query; a header-signed
 * request without x-amz-content-sha256), S3_ERR_MISSING_SECURITY_HEADER
 * (no x-amz-date or Date), S3_ERR_INVALID_ARGUMENT (a bad
 * x-amz-content-sha256 value).
 */
enum s3_err sigv4_parse(const struct sigv4_req *, struct sigv4_auth *)
    __attribute__((warn_unused_result));

/*
 * The running signature of a streaming payload: the signing key, the
 * scope and the previous signature (the seed: the request's own).
 * SECURITY: holds the signing key; sigv4_chain_wipe() when done.
 */
struct sigv4_chain {
	uint8_t key[32];
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char scope[SIGV4_SCOPE_MAX + 1];
	uint8_t prev[32];
};

/*
 * Checks auth (from sigv4_parse on the same req, kind not ANONYMOUS) with
 * the access key's secret (secret_len bytes) at time now (Unix seconds):
 * S3_ERR_TIME_SKEWED when a header-signed request's date is more than
 * SIGV4_SKEW_MAX from now, S3_ERR_EXPIRED when a presigned one is past
 * its X-Amz-Expires (or dated more than SIGV4_SKEW_MAX ahead),
 * S3_ERR_SIGNATURE_MISMATCH, S3_ERR_AUTH_HEADER_MALFORMED /
 * S3_ERR_AUTH_QUERY (a signed header the request lacks, "host" not
 * signed, a scope whose date is not amz_date's), S3_ERR_ENTITY_TOO_LARGE
 * (the canonical request passes SIGV4_CANON_MAX).  On S3_OK with a
 * streaming payload, *chain (may be NULL otherwise) is ready for
 * sigv4_chain_next().  The body's SHA-256 (SIGNED) is the caller's to
 * check against auth->payload_sha256 (S3_ERR_CONTENT_SHA256_MISMATCH).
 */
enum s3_err sigv4_verify(const struct sigv4_req *, const struct sigv4_auth *,
			 const char *secret, size_t secret_len, int64_t now,
			 struct sigv4_chain *chain)
    __attribute__((warn_unused_result));

/*
 * The next chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body: checks sig
 * against HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope "\n"
 * hex(prev) "\n" hex(SHA256("")) "\n" hex(data_sha256)) and moves prev on.
 * S3_OK or S3_ERR_SIGNATURE_MISMATCH (prev unchanged).
 */
enum s3_err sigv4_chain_next(struct sigv4_chain *,
			     const uint8_t data_sha256[32],
			     const uint8_t sig[32])
    __attribute__((warn_unused_result));
/*
 * The x-amz-trailer-signature of a ...-PAYLOAD-TRAILER body: sig against
 * HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" amz_date "\n" scope "\n"
 * hex(prev) "\n" hex(trailer_sha256)), where trailer_sha256 is the SHA-256
 * of the trailing headers as "name:value\n" each (the signature's own
 * line excluded).
 */
enum s3_err sigv4_chain_trailer(struct sigv4_chain *,
				const uint8_t trailer_sha256[32],
				const uint8_t sig[32])
    __attribute__((warn_unused_result));
void sigv4_chain_wipe(struct sigv4_chain *);

/*
 * The pieces, for tests and for signing (the test clients, e2e probes).
 * canonical_request appends AWS's canonical request of req for auth's
 * signed headers and the given payload hash text to out;
 * string_to_sign appends "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n"
 * hex(SHA256(canonical)).  S3_OK, or the errors of sigv4_verify.
 */
enum s3_err sigv4_canonical_request(const struct sigv4_req *,
				    const struct sigv4_auth *,
				    const char *payload_hash, struct buf *out)
    __attribute__((warn_unused_result));
enum s3_err sigv4_string_to_sign(const struct sigv4_auth *,
				 const struct buf *canonical, struct buf *out)
    __attribute__((warn_unused_result));
/* HMAC chain "AWS4"+secret -> date -> region -> service -> aws4_request. */
void sigv4_signing_key(const char *secret, size_t secret_len,
		       const char *scope_date, const char *region,
		       const char *service, uint8_t key[32]);
/* HMAC-SHA256(key, msg) -> out[32]. */
void sigv4_hmac(const uint8_t *key, size_t keylen, const void *msg, size_t len,
		uint8_t out[32]);
/* SHA-256 of data -> out[32]. */
void sigv4_sha256(const void *, size_t, uint8_t out[32]);

/*
 * "20130524T000000Z" (or an RFC 7231 Date: "Fri, 24 May 2013 00:00:00
 * GMT") to Unix seconds; -1 if malformed.  basic is the first form's
 * text, filled from either (out[SIGV4_AMZ_DATE_LEN + 1], may be NULL).
 */
int sigv4_parse_time(struct span, int64_t *t, char *basic)
    __attribute__((warn_unused_result));

#endif
