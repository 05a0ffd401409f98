/*
 * fuzz_http_auth: feeds arbitrary bytes to the Basic credentials decoder,
 * both as the base64 a client sends and as the raw "user:password" it
 * encodes, and checks the decoder against OpenSSL's base64:
 *
 *  - Whatever the input, http_basic_decode returns 0 or -1; on -1 both
 *    outputs are empty, on 0 both are NUL-ended inside their buffers and
 *    hold no NUL, and EVP_EncodeBlock of "user:pass" is the input (with
 *    its padding, if the input left it out): one encoding per value.
 *  - Raw bytes encoded by OpenSSL decode (0) exactly when they fit the
 *    caps, hold no NUL and have a ':'; the parts come back unchanged.
 *  - Inputs longer than HTTP_BASIC_B64_MAX are always refused.
 *
 * The input is decoded from a heap buffer of exactly its size into heap
 * buffers of exactly the size given (the first byte picks small ones), so
 * ASan reports any read or write one byte past the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "front/http/http_auth.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decodes src[len] into outputs of exactly ulen and plen bytes. */
static int
decode(const char *src, size_t len, size_t ulen, size_t plen, char **user,
       char **pass)
{
	char *in = malloc(len ? len : 1);
	int rc;

	*user = malloc(ulen);
	*pass = malloc(plen);
	if (in == NULL || *user == NULL || *pass == NULL)
		abort();
	memcpy(in, src, len);
	memset(*user, 'u', ulen);
	memset(*pass, 'p', plen);
	rc = http_basic_decode(in, len, *user, ulen, *pass, plen);
	free(in);
	CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		CHECK((*user)[0] == '\0' && (*pass)[0] == '\0');
		return (rc);
	}
	CHECK(memchr(*user, '\0', ulen) != NULL);
	CHECK(memchr(*pass, '\0', plen) != NULL);
	return (rc);
}

static void
as_base64(const uint8_t *data, size_t size, size_t ulen, size_t plen)
{
	static unsigned char raw[HTTP_BASIC_RAW_MAX + 8];
	static unsigned char again[4 * sizeof(raw) / 3 + 8];
	char *user, *pass;
	size_t ul, pl, digits, n;

	if (decode((const char *)data, size, ulen, plen, &user, &pass) < 0) {
		free(user);
		free(pass);
		return;
	}
	CHECK(size <= HTTP_BASIC_B64_MAX);
	ul = strlen(user);
	pl = strlen(pass);
	CHECK(ul + 1 + pl <= HTTP_BASIC_RAW_MAX);
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, pass, pl);
	n = (size_t)EVP_EncodeBlock(again, raw, (int)(ul + 1 + pl));
	digits = size;
	while (digits > 0 && data[digits - 1] == '=')
		digits--;
	CHECK(n >= size && memcmp(again, data, size) == 0);
	CHECK(n - digits <= 2);
	for (; digits < n; digits++)
		CHECK(again[digits] == '=');
	free(user);
	free(pass);
}

static void
as_raw(const uint8_t *data, size_t size)
{
	static unsigned char enc[4 * 8192 / 3 + 8];
	const uint8_t *colon;
	char *user, *pass;
	bool valid;
	size_t n, ul;
	int rc;

	if (size > 8192)
		size = 8192;
	n = (size_t)EVP_EncodeBlock(enc, data, (int)size);
	colon = memchr(data, ':', size);
	ul = colon ? (size_t)(colon - data) : 0;
	valid = size <= HTTP_BASIC_RAW_MAX && colon != NULL &&
		memchr(data, '\0', size) == NULL && ul <= AUTH_NAME_MAX &&
		size - ul - 1 <= AUTH_PASS_MAX;
	rc = decode((const char *)enc, n, AUTH_NAME_MAX + 1, AUTH_PASS_MAX + 1,
		    &user, &pass);
	CHECK((rc == 0) == valid);
	if (rc == 0) {
		CHECK(strlen(user) == ul && memcmp(user, data, ul) == 0);
		CHECK(strlen(pass) == size - ul - 1 &&
		      memcmp(pass, data + ul + 1, size - ul - 1) == 0);
	}
	free(user);
	free(pass);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_base64(data, size, AUTH_NAME_MAX + 1, AUTH_PASS_MAX + 1);
	if (size > 0)
		as_base64(data, size, 1 + data[0] % 8, 1 + data[size - 1] % 8);
	as_raw(data, size);
	return (0);
}
