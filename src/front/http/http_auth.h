/*
 * http_auth: the credentials of an "Authorization: Basic" header (RFC
 * 7617), decoded with caps taken from the account limits.  Pure: no
 * allocation, no I/O; unit tested split at every byte and fuzzed in
 * fuzz/fuzz_http_auth.c and fuzz/fuzz_http.c.
 */
#ifndef SHOAL_FRONT_HTTP_AUTH_H
#define SHOAL_FRONT_HTTP_AUTH_H

#include <stddef.h>

#include "front/auth.h"

/* The longest "user:password" an account can have ... */
#define HTTP_BASIC_RAW_MAX (AUTH_NAME_MAX + 1 + AUTH_PASS_MAX)
/* ... and its base64 form, padded: anything longer is refused unread. */
#define HTTP_BASIC_B64_MAX (4 * ((HTTP_BASIC_RAW_MAX + 2) / 3))

/*
 * Decodes src[len], the part of the header value after "Basic ", into
 * user[ulen] and pass[plen] (each NUL-ended).  Base64 as RFC 4648 section 4
 * in its canonical form; the padding may be left out.  Returns 0, or -1 if
 * the value is longer than HTTP_BASIC_B64_MAX, is not canonical base64,
 * holds a NUL, has no ':' or a part does not fit its buffer; user and pass
 * are then empty.  The decoded bytes are wiped before it returns, on every
 * path; the caller wipes pass when done with it.
 */
int http_basic_decode(const char *src, size_t len, char *user, size_t ulen,
		      char *pass, size_t plen)
    __attribute__((warn_unused_result));

#endif
