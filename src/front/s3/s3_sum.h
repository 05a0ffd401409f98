/*
 * s3_sum: the digests S3 bodies carry, computed incrementally: MD5 (the
 * ETag and Content-MD5), and the x-amz-checksum-* algorithms CRC32 (zlib),
 * CRC32C (a table here), SHA-1 and SHA-256 (OpenSSL), with their base64
 * forms as S3 sends them.
 *
 * Ownership: a struct s3_sum holds an EVP context for MD5, SHA-1 and
 * SHA-256; s3_sum_release() frees it (also after s3_sum_final).  Not
 * shared between threads; a pool job makes its own.
 */
#ifndef SHOAL_FRONT_S3_SUM_H
#define SHOAL_FRONT_S3_SUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/parse.h"

enum s3_sum_alg {
	S3_SUM_NONE,
	S3_SUM_MD5,    /* ETag, Content-MD5 */
	S3_SUM_CRC32,  /* x-amz-checksum-crc32 */
	S3_SUM_CRC32C, /* x-amz-checksum-crc32c */
	S3_SUM_SHA1,   /* x-amz-checksum-sha1 */
	S3_SUM_SHA256, /* x-amz-checksum-sha256 */
};

#define S3_SUM_RAW_MAX 32				/* SHA-256 */
#define S3_SUM_B64_MAX (4 * ((S3_SUM_RAW_MAX + 2) / 3)) /* 44 */

struct s3_sum {
	enum s3_sum_alg alg;
	uint32_t crc;
	void *md; /* EVP_MD_CTX *, or NULL for the CRCs */
};

/* 0, -EINVAL for S3_SUM_NONE, -ENOMEM. */
int s3_sum_init(struct s3_sum *, enum s3_sum_alg)
    __attribute__((warn_unused_result));
void s3_sum_update(struct s3_sum *, const void *, size_t);
/* The digest into out[S3_SUM_RAW_MAX]; returns its length (4, 16, 20,
 * 32).  The sum is done: release it (or init it again). */
size_t s3_sum_final(struct s3_sum *, uint8_t *out);
void s3_sum_release(struct s3_sum *);
/* The digest's length for alg (0 for NONE). */
size_t s3_sum_len(enum s3_sum_alg);

/* "x-amz-checksum-crc32" ... (NULL for NONE and MD5) and back: the header
 * name (any case) to its algorithm, S3_SUM_NONE if unknown. */
const char *s3_sum_header(enum s3_sum_alg);
enum s3_sum_alg s3_sum_from_header(struct span);
/* "CRC32", "CRC32C", "SHA1", "SHA256" (x-amz-checksum-algorithm and
 * x-amz-sdk-checksum-algorithm values, any case) to the algorithm;
 * S3_SUM_NONE if unknown. */
enum s3_sum_alg s3_sum_from_name(struct span);
const char *s3_sum_name(enum s3_sum_alg);

/* CRC32C (Castagnoli, reflected, as iSCSI and S3 use) of data, continuing
 * from crc (0 to start). */
uint32_t s3_crc32c(uint32_t crc, const void *, size_t);

/* raw[len] as canonical padded base64 into out[S3_SUM_B64_MAX + 1]. */
void s3_b64(const uint8_t *raw, size_t len, char *out);
/* A base64 value (padded, canonical) of exactly want bytes into raw;
 * -EINVAL otherwise. */
int s3_unb64(struct span, uint8_t *raw, size_t want)
    __attribute__((warn_unused_result));

#endif
