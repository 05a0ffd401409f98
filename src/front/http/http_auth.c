/*
 * http_auth: a strict base64 decoder for Basic credentials.  The length is
 * checked against HTTP_BASIC_B64_MAX before a byte is decoded, so the
 * output buffer, sized from the same caps, can never be overrun; every
 * decoded byte is wiped before return, whatever the outcome.
 */
#include "front/http/http_auth.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

/* 0..63 for a base64 digit, -1 otherwise. */
static int
b64_digit(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return (ch - 'A');
	if (ch >= 'a' && ch <= 'z')
		return (ch - 'a' + 26);
	if (ch >= '0' && ch <= '9')
		return (ch - '0' + 52);
	if (ch == '+')
		return (62);
	if (ch == '/')
		return (63);
	return (-1);
}

/*
 * Decodes src[len] into out[size]; the number of bytes, or -1.  The
 * padding ('=' to a multiple of four) may be missing but not wrong, and
 * the bits a short last group leaves over must be zero (one encoding per
 * byte string).
 */
static int
b64_decode(const char *src, size_t len, unsigned char *out, size_t size)
{
	uint32_t acc = 0;
	size_t i, n = 0, digits, pad = 0;
	int d;

	while (pad < 2 && len > pad && src[len - pad - 1] == '=')
		pad++;
	if (pad > 0 && len % 4 != 0)
		return (-1);
	digits = len - pad;
	if (digits % 4 == 1)
		return (-1);
	if ((digits / 4) * 3 + (digits % 4 ? digits % 4 - 1 : 0) > size)
		return (-1);
	for (i = 0; i < digits; i++) {
		if ((d = b64_digit((unsigned char)src[i])) < 0)
			return (-1);
		acc = (acc << 6) | (uint32_t)d;
		if (i % 4 == 3) {
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	switch (digits % 4) {
	case 2:
		if (acc & 0xf)
			return (-1);
		out[n++] = (unsigned char)(acc >> 4);
		break;
	case 3:
		if (acc & 0x3)
			return (-1);
		out[n++] = (unsigned char)(acc >> 10);
		out[n++] = (unsigned char)(acc >> 2);
		break;
	}
	return ((int)n);
}

int
http_basic_decode(const char *src, size_t len, char *user, size_t ulen,
		  char *pass, size_t plen)
{
	unsigned char dec[HTTP_BASIC_RAW_MAX + 2];
	const unsigned char *colon;
	size_t ul, pl;
	int n, rc = -1;

	if (ulen > 0)
		user[0] = '\0';
	if (plen > 0)
		pass[0] = '\0';
	/* SECURITY: the length is checked before anything is decoded. */
	if (len > HTTP_BASIC_B64_MAX ||
	    (n = b64_decode(src, len, dec, sizeof(dec))) < 0)
		goto out;
	if (memchr(dec, '\0', (size_t)n) != NULL ||
	    (colon = memchr(dec, ':', (size_t)n)) == NULL)
		goto out;
	ul = (size_t)(colon - dec);
	pl = (size_t)n - ul - 1;
	if (ul >= ulen || pl >= plen)
		goto out;
	memcpy(user, dec, ul);
	user[ul] = '\0';
	memcpy(pass, colon + 1, pl);
	pass[pl] = '\0';
	rc = 0;
out:
	OPENSSL_cleanse(dec, sizeof(dec));
	return (rc);
}
