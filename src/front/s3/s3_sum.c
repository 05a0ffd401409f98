/*
 * s3_sum: the digests of S3 bodies (see s3_sum.h).  The CRCs are
 * computed here (CRC32 by zlib, CRC32C by a 256-entry table built once);
 * the rest by OpenSSL's EVP.  Both CRCs are the reflected forms with the
 * usual pre- and post-inversion, sent big-endian, as S3 does.
 */
#include "front/s3/s3_sum.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

static const struct {
	const char *header;
	const char *name;
	size_t len;
} algs[] = {
    [S3_SUM_NONE] = {NULL, NULL, 0},
    [S3_SUM_MD5] = {NULL, "MD5", 16},
    [S3_SUM_CRC32] = {"x-amz-checksum-crc32", "CRC32", 4},
    [S3_SUM_CRC32C] = {"x-amz-checksum-crc32c", "CRC32C", 4},
    [S3_SUM_SHA1] = {"x-amz-checksum-sha1", "SHA1", 20},
    [S3_SUM_SHA256] = {"x-amz-checksum-sha256", "SHA256", 32},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t
s3_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&crc32c_once, crc32c_init);
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return (~crc);
}

static const EVP_MD *
md_of(enum s3_sum_alg alg)
{
	switch (alg) {
	case S3_SUM_MD5:
		return (EVP_md5());
	case S3_SUM_SHA1:
		return (EVP_sha1());
	case S3_SUM_SHA256:
		return (EVP_sha256());
	default:
		return (NULL);
	}
}

int
s3_sum_init(struct s3_sum *s, enum s3_sum_alg alg)
{
	const EVP_MD *md;

	memset(s, 0, sizeof(*s));
	if (alg == S3_SUM_NONE || (unsigned)alg >= NALGS)
		return (-EINVAL);
	s->alg = alg;
	if ((md = md_of(alg)) == NULL)
		return (0);
	if ((s->md = EVP_MD_CTX_new()) == NULL)
		return (-ENOMEM);
	if (EVP_DigestInit_ex(s->md, md, NULL) != 1) {
		EVP_MD_CTX_free(s->md);
		s->md = NULL;
		return (-ENOMEM);
	}
	return (0);
}

void
s3_sum_update(struct s3_sum *s, const void *p, size_t len)
{
	switch (s->alg) {
	case S3_SUM_CRC32:
		/* zlib takes a uInt length: feed it in pieces. */
		while (len > 0) {
			uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

			s->crc = (uint32_t)crc32(s->crc, p, n);
			p = (const char *)p + n;
			len -= n;
		}
		break;
	case S3_SUM_CRC32C:
		s->crc = s3_crc32c(s->crc, p, len);
		break;
	default:
		if (s->md != NULL)
			(void)EVP_DigestUpdate(s->md, p, len);
		break;
	}
}

size_t
s3_sum_final(struct s3_sum *s, uint8_t *out)
{
	unsigned int n = 0;

	switch (s->alg) {
	case S3_SUM_CRC32:
	case S3_SUM_CRC32C:
		out[0] = (uint8_t)(s->crc >> 24);
		out[1] = (uint8_t)(s->crc >> 16);
		out[2] = (uint8_t)(s->crc >> 8);
		out[3] = (uint8_t)s->crc;
		return (4);
	default:
		if (s->md == NULL || EVP_DigestFinal_ex(s->md, out, &n) != 1)
			return (0);
		return (n);
	}
}

void
s3_sum_release(struct s3_sum *s)
{
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

size_t
s3_sum_len(enum s3_sum_alg alg)
{
	return ((unsigned)alg < NALGS ? algs[alg].len : 0);
}

const char *
s3_sum_header(enum s3_sum_alg alg)
{
	return ((unsigned)alg < NALGS ? algs[alg].header : NULL);
}

const char *
s3_sum_name(enum s3_sum_alg alg)
{
	return ((unsigned)alg < NALGS ? algs[alg].name : NULL);
}

enum s3_sum_alg
s3_sum_from_header(struct span s)
{
	for (unsigned i = 0; i < NALGS; i++)
		if (algs[i].header != NULL && span_eq_ci(s, algs[i].header))
			return ((enum s3_sum_alg)i);
	return (S3_SUM_NONE);
}

enum s3_sum_alg
s3_sum_from_name(struct span s)
{
	for (unsigned i = 0; i < NALGS; i++)
		if (algs[i].header != NULL && span_eq_ci(s, algs[i].name))
			return ((enum s3_sum_alg)i);
	return (S3_SUM_NONE);
}

void
s3_b64(const uint8_t *raw, size_t len, char *out)
{
	if (len > S3_SUM_RAW_MAX)
		len = S3_SUM_RAW_MAX;
	EVP_EncodeBlock((unsigned char *)out, raw, (int)len);
}

int
s3_unb64(struct span s, uint8_t *raw, size_t want)
{
	unsigned char tmp[S3_SUM_B64_MAX];
	char again[S3_SUM_B64_MAX + 1];
	char in[S3_SUM_B64_MAX + 1];

	if (want == 0 || want > S3_SUM_RAW_MAX || s.len != 4 * ((want + 2) / 3))
		return (-EINVAL);
	memcpy(in, s.p, s.len);
	in[s.len] = '\0';
	if (EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)s.len) < 0)
		return (-EINVAL);
	/* EVP_DecodeBlock skips spaces and keeps the padding's zero bytes:
	 * only the canonical text of exactly want bytes is taken. */
	s3_b64(tmp, want, again);
	if (memcmp(again, in, s.len + 1) != 0)
		return (-EINVAL);
	memcpy(raw, tmp, want);
	return (0);
}
