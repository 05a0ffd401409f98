/*
 * sigv4: AWS Signature Version 4, parsed and checked (see sigv4.h).
 *
 * Everything is built in capped buffers: the canonical request
 * (SIGV4_CANON_MAX), its query parameters (QUERY_PARAMS_MAX of them) and
 * the signed headers (SIGV4_SIGNED_MAX).  Parsing takes the Authorization
 * header apart with the cursor of base/parse.h; no number is read but the
 * dates' digits and X-Amz-Expires, each with its maximum.
 */
#include "front/s3/sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define ALGORITHM	 "AWS4-HMAC-SHA256"
#define QUERY_PARAMS_MAX 256
#define VALUE_MAX	 8192 /* one header's canonical value */

/* SHA-256 of the empty string, hex. */
static const char empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void
sigv4_sha256(const void *p, size_t len, uint8_t out[32])
{
	SHA256(p, len, out);
}

void
sigv4_hmac(const uint8_t *key, size_t keylen, const void *msg, size_t len,
	   uint8_t out[32])
{
	unsigned int outlen = 32;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen) ==
	    NULL)
		memset(out, 0, 32); /* never matches a real signature */
}

void
sigv4_signing_key(const char *secret, size_t secret_len, const char *scope_date,
		  const char *region, const char *service, uint8_t key[32])
{
	uint8_t k[4 + 256];
	uint8_t t[32];
	size_t n;

	n = secret_len < sizeof(k) - 4 ? secret_len : sizeof(k) - 4;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, n);
	sigv4_hmac(k, 4 + n, scope_date, strlen(scope_date), t);
	sigv4_hmac(t, 32, region, strlen(region), t);
	sigv4_hmac(t, 32, service, strlen(service), t);
	sigv4_hmac(t, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(t, sizeof(t));
}

/* --- dates --- */

static int
digits(const char *p, size_t n, int max, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		v = v * 10 + (p[i] - '0');
	}
	if (v > max)
		return (-1);
	*out = v;
	return (0);
}

static int
make_time(int y, int mo, int d, int h, int mi, int s, int64_t *t)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	struct tm tm;
	time_t v;

	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || s > 60)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return (-1);
	*t = (int64_t)v;
	return (0);
}

int
sigv4_parse_time(struct span sp, int64_t *t, char *basic)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = sp.p;
	int y, mo, d, h, mi, s;

	if (sp.len == SIGV4_AMZ_DATE_LEN) {
		if (p[8] != 'T' || p[15] != 'Z' || digits(p, 4, 9999, &y) ||
		    digits(p + 4, 2, 12, &mo) || digits(p + 6, 2, 31, &d) ||
		    digits(p + 9, 2, 23, &h) || digits(p + 11, 2, 59, &mi) ||
		    digits(p + 13, 2, 60, &s))
			return (-1);
	} else if (sp.len == 29) {
		/* IMF-fixdate: "Fri, 24 May 2013 00:00:00 GMT" */
		if (p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
		    p[16] != ' ' || p[19] != ':' || p[22] != ':' ||
		    memcmp(p + 25, " GMT", 4) != 0 ||
		    digits(p + 5, 2, 31, &d) || digits(p + 12, 4, 9999, &y) ||
		    digits(p + 17, 2, 23, &h) || digits(p + 20, 2, 59, &mi) ||
		    digits(p + 23, 2, 60, &s))
			return (-1);
		for (mo = 0; mo < 12; mo++)
			if (memcmp(p + 8, months + 3 * mo, 3) == 0)
				break;
		if (mo == 12)
			return (-1);
		mo++;
	} else
		return (-1);
	if (make_time(y, mo, d, h, mi, s, t) < 0)
		return (-1);
	if (basic != NULL) {
		struct tm tm;
		time_t v = (time_t)*t;

		gmtime_r(&v, &tm);
		if (strftime(basic, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ",
			     &tm) != SIGV4_AMZ_DATE_LEN)
			return (-1);
	}
	return (0);
}

/* --- helpers over spans --- */

static struct span
trim(struct span s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return (s);
}

/* Copies s into out[size] NUL-ended; -1 if it does not fit or holds a
 * control byte. */
static int
span_copy(struct span s, char *out, size_t size)
{
	if (s.len >= size || span_has_ctl(s))
		return (-1);
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return (0);
}

static const struct sigv4_header *
find_header(const struct sigv4_req *req, const char *name,
	    const struct sigv4_header *after)
{
	size_t i = 0;

	if (after != NULL)
		i = (size_t)(after - req->headers) + 1;
	for (; i < req->nheaders; i++)
		if (span_eq_ci(req->headers[i].name, name))
			return (&req->headers[i]);
	return (NULL);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static bool
unreserved(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		c == '~');
}

/*
 * Appends s, percent-decoded once, encoded again by AWS's rules (all but
 * the unreserved bytes as upper-case %XX; '/' kept when keep_slash).  A
 * '%' not followed by two hex digits is taken literally (and encoded), as
 * a client that did not encode it meant it.
 */
static int
append_encoded(struct buf *out, struct span s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		char e[3];

		if (c == '%' && i + 2 < s.len && hexval(s.p[i + 1]) >= 0 &&
		    hexval(s.p[i + 2]) >= 0) {
			c = (unsigned char)(hexval(s.p[i + 1]) * 16 +
					    hexval(s.p[i + 2]));
			i += 2;
		}
		if (unreserved(c) || (keep_slash && c == '/')) {
			if (buf_append(out, &c, 1) < 0)
				return (-1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		if (buf_append(out, e, 3) < 0)
			return (-1);
	}
	return (0);
}

/* --- parsing --- */

struct qparam {
	struct span name;
	struct span value;
};

/* Splits the raw query at '&' into params[QUERY_PARAMS_MAX]; empty
 * pieces are skipped.  -1 past the cap. */
static int
split_query(struct span q, struct qparam *params, size_t *n)
{
	struct cursor c;

	*n = 0;
	cur_init(&c, q.p, q.len);
	while (!cur_eof(&c)) {
		struct span piece = cur_until(&c, '&');
		struct cursor pc;

		(void)cur_eat(&c, '&');
		if (piece.len == 0)
			continue;
		if (*n == QUERY_PARAMS_MAX)
			return (-1);
		cur_init(&pc, piece.p, piece.len);
		params[*n].name = cur_until(&pc, '=');
		(void)cur_eat(&pc, '=');
		params[*n].value = cur_rest(&pc);
		(*n)++;
	}
	return (0);
}

/* The decoded form of a query parameter's name equals want (which needs
 * no encoding). */
static bool
qname_is(struct span name, const char *want)
{
	struct buf b;
	bool eq;

	if (name.len >= 64)
		return (false);
	buf_init(&b, 3 * 64);
	if (append_encoded(&b, name, false) < 0) {
		buf_release(&b);
		return (false);
	}
	eq = strcmp(buf_cstr(&b), want) == 0;
	buf_release(&b);
	return (eq);
}

/* Percent-decodes s into out[size], NUL-ended; -1 on overflow, a bad
 * escape or a control byte. */
static int
decode_value(struct span s, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < s.len; i++) {
		int c = (unsigned char)s.p[i];

		if (c == '%') {
			if (i + 2 >= s.len || hexval(s.p[i + 1]) < 0 ||
			    hexval(s.p[i + 2]) < 0)
				return (-1);
			c = hexval(s.p[i + 1]) * 16 + hexval(s.p[i + 2]);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= size)
			return (-1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (0);
}

/* "AK/YYYYMMDD/region/service/aws4_request" into auth. */
static int
parse_credential(struct span v, struct sigv4_auth *auth)
{
	struct cursor c;
	struct span ak, date, region, service, term;

	cur_init(&c, v.p, v.len);
	ak = cur_until(&c, '/');
	if (!cur_eat(&c, '/'))
		return (-1);
	date = cur_until(&c, '/');
	if (!cur_eat(&c, '/'))
		return (-1);
	region = cur_until(&c, '/');
	if (!cur_eat(&c, '/'))
		return (-1);
	service = cur_until(&c, '/');
	if (!cur_eat(&c, '/'))
		return (-1);
	term = cur_rest(&c);
	if (ak.len == 0 || date.len != 8 || region.len == 0 ||
	    service.len == 0 || !span_eq(term, "aws4_request"))
		return (-1);
	for (size_t i = 0; i < 8; i++)
		if (date.p[i] < '0' || date.p[i] > '9')
			return (-1);
	for (size_t i = 0; i < ak.len; i++)
		if (!unreserved((unsigned char)ak.p[i]))
			return (-1);
	if (span_copy(ak, auth->access_key, sizeof(auth->access_key)) < 0 ||
	    span_copy(date, auth->scope_date, sizeof(auth->scope_date)) < 0 ||
	    span_copy(region, auth->region, sizeof(auth->region)) < 0 ||
	    span_copy(service, auth->service, sizeof(auth->service)) < 0)
		return (-1);
	for (const char *p = auth->region; *p; p++)
		if (!unreserved((unsigned char)*p))
			return (-1);
	for (const char *p = auth->service; *p; p++)
		if (!unreserved((unsigned char)*p))
			return (-1);
	if (str_fmt(auth->scope, sizeof(auth->scope), "%s/%s/%s/aws4_request",
		    auth->scope_date, auth->region, auth->service) < 0)
		return (-1);
	return (0);
}

/* "host;range;x-amz-date": lower-case names of token characters, no
 * empty one, at most SIGV4_SIGNED_MAX. */
static int
parse_signed_headers(struct span v, struct sigv4_auth *auth)
{
	size_t n = 1;

	if (v.len == 0 || span_copy(v, auth->signed_headers,
				    sizeof(auth->signed_headers)) < 0)
		return (-1);
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];

		if (c == ';') {
			if (i == 0 || i + 1 == v.len || v.p[i - 1] == ';')
				return (-1);
			n++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			     c == '-' || c == '_' || c == '.'))
			return (-1);
	}
	if (n > SIGV4_SIGNED_MAX)
		return (-1);
	auth->nsigned = n;
	return (0);
}

static int
parse_signature(struct span v, struct sigv4_auth *auth)
{
	if (v.len != 64)
		return (-1);
	return (span_hex(v, auth->signature, 32) < 0 ? -1 : 0);
}

/* Authorization: "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..." (the three in any order, each once). */
static enum s3_err
parse_header_auth(struct span v, struct sigv4_auth *auth)
{
	struct cursor c;
	struct span alg;
	unsigned seen = 0;

	v = trim(v);
	cur_init(&c, v.p, v.len);
	alg = cur_until(&c, ' ');
	if (!span_eq(alg, ALGORITHM))
		return (S3_ERR_ALGORITHM);
	while (!cur_eof(&c)) {
		struct span item = trim(cur_until(&c, ','));
		struct cursor ic;
		struct span key, val;
		unsigned bit;
		int rc;

		(void)cur_eat(&c, ',');
		if (item.len == 0)
			continue;
		cur_init(&ic, item.p, item.len);
		key = trim(cur_until(&ic, '='));
		if (!cur_eat(&ic, '='))
			return (S3_ERR_AUTH_HEADER_MALFORMED);
		val = trim(cur_rest(&ic));
		if (span_eq(key, "Credential")) {
			bit = 1;
			rc = parse_credential(val, auth);
		} else if (span_eq(key, "SignedHeaders")) {
			bit = 2;
			rc = parse_signed_headers(val, auth);
		} else if (span_eq(key, "Signature")) {
			bit = 4;
			rc = parse_signature(val, auth);
		} else
			return (S3_ERR_AUTH_HEADER_MALFORMED);
		if (rc < 0 || (seen & bit))
			return (S3_ERR_AUTH_HEADER_MALFORMED);
		seen |= bit;
	}
	if (seen != 7)
		return (S3_ERR_AUTH_HEADER_MALFORMED);
	return (S3_OK);
}

static enum s3_err
parse_payload(struct span v, struct sigv4_auth *auth)
{
	static const struct {
		const char *name;
		enum sigv4_payload kind;
	} names[] = {
	    {SIGV4_UNSIGNED, SIGV4_PAYLOAD_UNSIGNED},
	    {SIGV4_STREAMING, SIGV4_PAYLOAD_STREAMING},
	    {SIGV4_STREAMING_TRAILER, SIGV4_PAYLOAD_STREAMING_TRAILER},
	    {SIGV4_STREAMING_UNSIGNED, SIGV4_PAYLOAD_STREAMING_UNSIGNED},
	};

	v = trim(v);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (span_eq(v, names[i].name)) {
			auth->payload = names[i].kind;
			(void)str_copy(auth->payload_hash,
				       sizeof(auth->payload_hash),
				       names[i].name);
			return (S3_OK);
		}
	}
	if (v.len != 64 || span_hex(v, auth->payload_sha256, 32) < 0)
		return (S3_ERR_INVALID_ARGUMENT);
	auth->payload = SIGV4_PAYLOAD_SIGNED;
	memcpy(auth->payload_hash, v.p, 64);
	auth->payload_hash[64] = '\0';
	return (S3_OK);
}

static enum s3_err
parse_presigned(const struct sigv4_req *req, const struct qparam *params,
		size_t n, struct sigv4_auth *auth)
{
	static const char *const names[] = {
	    "X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
	    "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature"};
	struct span vals[6];
	char tmp[SIGV4_SIGNED_LIST_MAX + 1];
	uint64_t expires;

	memset(vals, 0, sizeof(vals));
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < 6; k++) {
			if (!qname_is(params[i].name, names[k]))
				continue;
			if (vals[k].p != NULL)
				return (S3_ERR_AUTH_QUERY);
			vals[k] = params[i].value;
			if (vals[k].p == NULL)
				vals[k].p = "";
		}
	}
	for (size_t k = 0; k < 6; k++)
		if (vals[k].p == NULL)
			return (S3_ERR_AUTH_QUERY);
	if (decode_value(vals[0], tmp, sizeof(tmp)) < 0)
		return (S3_ERR_AUTH_QUERY);
	if (strcmp(tmp, ALGORITHM) != 0)
		return (S3_ERR_ALGORITHM);
	if (decode_value(vals[1], tmp, sizeof(tmp)) < 0 ||
	    parse_credential(span_str(tmp), auth) < 0)
		return (S3_ERR_AUTH_QUERY);
	if (decode_value(vals[2], tmp, sizeof(tmp)) < 0 ||
	    strlen(tmp) != SIGV4_AMZ_DATE_LEN ||
	    sigv4_parse_time(span_str(tmp), &auth->time, auth->amz_date) < 0)
		return (S3_ERR_AUTH_QUERY);
	if (decode_value(vals[3], tmp, sizeof(tmp)) < 0 ||
	    span_u64(span_str(tmp), SIGV4_EXPIRES_MAX, &expires) < 0 ||
	    expires < 1)
		return (S3_ERR_AUTH_QUERY);
	auth->expires = (int64_t)expires;
	if (decode_value(vals[4], tmp, sizeof(tmp)) < 0 ||
	    parse_signed_headers(span_str(tmp), auth) < 0)
		return (S3_ERR_AUTH_QUERY);
	if (decode_value(vals[5], tmp, sizeof(tmp)) < 0 ||
	    parse_signature(span_str(tmp), auth) < 0)
		return (S3_ERR_AUTH_QUERY);
	{
		const struct sigv4_header *h =
		    find_header(req, "x-amz-content-sha256", NULL);

		if (h == NULL) {
			auth->payload = SIGV4_PAYLOAD_UNSIGNED;
			(void)str_copy(auth->payload_hash,
				       sizeof(auth->payload_hash),
				       SIGV4_UNSIGNED);
			return (S3_OK);
		}
		return (parse_payload(h->value, auth));
	}
}

enum s3_err
sigv4_parse(const struct sigv4_req *req, struct sigv4_auth *auth)
{
	struct qparam params[QUERY_PARAMS_MAX];
	const struct sigv4_header *h, *date;
	bool presigned = false;
	size_t n;
	enum s3_err e;

	memset(auth, 0, sizeof(*auth));
	auth->kind = SIGV4_ANONYMOUS;
	if (split_query(req->query, params, &n) < 0)
		return (S3_ERR_INVALID_ARGUMENT);
	for (size_t i = 0; i < n; i++)
		if (qname_is(params[i].name, "X-Amz-Algorithm"))
			presigned = true;
	h = find_header(req, "authorization", NULL);
	if (h != NULL && presigned)
		return (S3_ERR_INVALID_REQUEST);
	if (presigned) {
		auth->kind = SIGV4_PRESIGNED;
		e = parse_presigned(req, params, n, auth);
		if (e != S3_OK)
			auth->kind = SIGV4_ANONYMOUS;
		return (e);
	}
	if (h == NULL)
		return (S3_OK);
	if (find_header(req, "authorization", h) != NULL)
		return (S3_ERR_AUTH_HEADER_MALFORMED);
	auth->kind = SIGV4_HEADER;
	if ((e = parse_header_auth(h->value, auth)) != S3_OK)
		goto fail;
	date = find_header(req, "x-amz-date", NULL);
	if (date == NULL)
		date = find_header(req, "date", NULL);
	if (date == NULL) {
		e = S3_ERR_MISSING_SECURITY_HEADER;
		goto fail;
	}
	if (sigv4_parse_time(trim(date->value), &auth->time, auth->amz_date) <
	    0) {
		e = S3_ERR_AUTH_HEADER_MALFORMED;
		goto fail;
	}
	h = find_header(req, "x-amz-content-sha256", NULL);
	if (h == NULL) {
		e = S3_ERR_INVALID_REQUEST;
		goto fail;
	}
	if ((e = parse_payload(h->value, auth)) != S3_OK)
		goto fail;
	return (S3_OK);
fail:
	auth->kind = SIGV4_ANONYMOUS;
	return (e);
}

/* --- the canonical request --- */

static int
cmp_param(const void *a, const void *b)
{
	const struct buf *x = a, *y = b;
	/* Each holds "name\0value": compare name, then value. */
	size_t nx = strlen(x->data), ny = strlen(y->data);
	int c = strcmp(x->data, y->data);

	if (c != 0)
		return (c);
	{
		size_t lx = x->len - nx - 1, ly = y->len - ny - 1;
		size_t l = lx < ly ? lx : ly;

		c = memcmp(x->data + nx + 1, y->data + ny + 1, l);
		if (c != 0)
			return (c);
		return (lx < ly ? -1 : lx > ly);
	}
}

static int
append_query(struct buf *out, const struct sigv4_req *req,
	     const struct sigv4_auth *auth)
{
	struct qparam params[QUERY_PARAMS_MAX];
	struct buf *enc = NULL;
	size_t n, m = 0;
	int rc = -1;

	if (split_query(req->query, params, &n) < 0)
		return (-1);
	if (n == 0)
		return (0);
	if ((enc = calloc(n, sizeof(*enc))) == NULL)
		return (-1);
	for (size_t i = 0; i < n; i++) {
		if (auth->kind == SIGV4_PRESIGNED &&
		    qname_is(params[i].name, "X-Amz-Signature"))
			continue;
		buf_init(&enc[m], SIGV4_CANON_MAX);
		if (append_encoded(&enc[m], params[i].name, false) < 0 ||
		    buf_append(&enc[m], "", 1) < 0 ||
		    append_encoded(&enc[m], params[i].value, false) < 0) {
			m++;
			goto out;
		}
		m++;
	}
	qsort(enc, m, sizeof(*enc), cmp_param);
	for (size_t i = 0; i < m; i++) {
		size_t nl = strlen(enc[i].data);

		if ((i > 0 && buf_append(out, "&", 1) < 0) ||
		    buf_append(out, enc[i].data, nl) < 0 ||
		    buf_append(out, "=", 1) < 0 ||
		    buf_append(out, enc[i].data + nl + 1, enc[i].len - nl - 1) <
			0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < m; i++)
		buf_release(&enc[i]);
	free(enc);
	return (rc);
}

/* A header value trimmed, inner runs of spaces and tabs as one space. */
static int
append_value(struct buf *out, struct span v)
{
	bool space = false;

	v = trim(v);
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];

		if (c == ' ' || c == '\t') {
			space = true;
			continue;
		}
		if (space && buf_append(out, " ", 1) < 0)
			return (-1);
		space = false;
		if (buf_append(out, &c, 1) < 0)
			return (-1);
	}
	return (0);
}

/* The canonical headers block, one "name:value\n" per signed header;
 * -2 if one is missing from the request or "host" is not signed. */
static int
append_headers(struct buf *out, const struct sigv4_req *req,
	       const struct sigv4_auth *auth)
{
	struct cursor c;
	bool host = false;

	cur_init(&c, auth->signed_headers, strlen(auth->signed_headers));
	while (!cur_eof(&c)) {
		struct span name = cur_until(&c, ';');
		const struct sigv4_header *h = NULL;
		bool first = true;
		char lname[128];

		(void)cur_eat(&c, ';');
		if (span_copy(name, lname, sizeof(lname)) < 0)
			return (-2);
		if (strcmp(lname, "host") == 0)
			host = true;
		if (buf_append(out, name.p, name.len) < 0 ||
		    buf_append(out, ":", 1) < 0)
			return (-1);
		while ((h = find_header(req, lname, h)) != NULL) {
			if (!first && buf_append(out, ",", 1) < 0)
				return (-1);
			if (span_has_ctl(h->value))
				return (-2);
			if (append_value(out, h->value) < 0)
				return (-1);
			first = false;
		}
		if (first)
			return (-2);
		if (buf_append(out, "\n", 1) < 0)
			return (-1);
	}
	return (host ? 0 : -2);
}

enum s3_err
sigv4_canonical_request(const struct sigv4_req *req,
			const struct sigv4_auth *auth, const char *payload_hash,
			struct buf *out)
{
	enum s3_err bad = auth->kind == SIGV4_PRESIGNED
			      ? S3_ERR_AUTH_QUERY
			      : S3_ERR_AUTH_HEADER_MALFORMED;
	int rc;

	if (buf_printf(out, "%s\n", req->method) < 0)
		return (S3_ERR_ENTITY_TOO_LARGE);
	if (req->path.len == 0 || req->path.p[0] != '/')
		return (S3_ERR_INVALID_REQUEST);
	if (append_encoded(out, req->path, true) < 0 ||
	    buf_append(out, "\n", 1) < 0 || append_query(out, req, auth) < 0 ||
	    buf_append(out, "\n", 1) < 0)
		return (S3_ERR_ENTITY_TOO_LARGE);
	if ((rc = append_headers(out, req, auth)) == -2)
		return (bad);
	if (rc < 0)
		return (S3_ERR_ENTITY_TOO_LARGE);
	if (buf_printf(out, "\n%s\n%s", auth->signed_headers, payload_hash) < 0)
		return (S3_ERR_ENTITY_TOO_LARGE);
	return (S3_OK);
}

enum s3_err
sigv4_string_to_sign(const struct sigv4_auth *auth, const struct buf *canonical,
		     struct buf *out)
{
	uint8_t h[32];
	char hex[65];

	sigv4_sha256(canonical->data, canonical->len, h);
	str_hex(h, 32, hex);
	if (buf_printf(out, ALGORITHM "\n%s\n%s\n%s", auth->amz_date,
		       auth->scope, hex) < 0)
		return (S3_ERR_ENTITY_TOO_LARGE);
	return (S3_OK);
}

enum s3_err
sigv4_verify(const struct sigv4_req *req, const struct sigv4_auth *auth,
	     const char *secret, size_t secret_len, int64_t now,
	     struct sigv4_chain *chain)
{
	struct buf canon, sts;
	uint8_t key[32], sig[32];
	enum s3_err e;

	if (auth->kind == SIGV4_ANONYMOUS)
		return (S3_ERR_ACCESS_DENIED);
	if (auth->kind == SIGV4_HEADER) {
		if (auth->time > now + SIGV4_SKEW_MAX ||
		    auth->time < now - SIGV4_SKEW_MAX)
			return (S3_ERR_TIME_SKEWED);
	} else {
		if (now > auth->time + auth->expires ||
		    auth->time > now + SIGV4_SKEW_MAX)
			return (S3_ERR_EXPIRED);
	}
	if (memcmp(auth->scope_date, auth->amz_date, 8) != 0)
		return (auth->kind == SIGV4_PRESIGNED
			    ? S3_ERR_AUTH_QUERY
			    : S3_ERR_AUTH_HEADER_MALFORMED);
	buf_init(&canon, SIGV4_CANON_MAX);
	buf_init(&sts, SIGV4_CANON_MAX);
	e = sigv4_canonical_request(req, auth, auth->payload_hash, &canon);
	if (e == S3_OK)
		e = sigv4_string_to_sign(auth, &canon, &sts);
	if (e == S3_OK) {
		sigv4_signing_key(secret, secret_len, auth->scope_date,
				  auth->region, auth->service, key);
		sigv4_hmac(key, 32, sts.data, sts.len, sig);
		if (CRYPTO_memcmp(sig, auth->signature, 32) != 0)
			e = S3_ERR_SIGNATURE_MISMATCH;
	}
	if (e == S3_OK && chain != NULL) {
		memcpy(chain->key, key, 32);
		memcpy(chain->prev, auth->signature, 32);
		(void)str_copy(chain->amz_date, sizeof(chain->amz_date),
			       auth->amz_date);
		(void)str_copy(chain->scope, sizeof(chain->scope), auth->scope);
	}
	OPENSSL_cleanse(key, sizeof(key));
	buf_release(&canon);
	buf_release(&sts);
	return (e);
}

static enum s3_err
chain_step(struct sigv4_chain *ch, const char *alg, bool empty_line,
	   const uint8_t hash[32], const uint8_t sig[32])
{
	char msg[256 + SIGV4_SCOPE_MAX];
	char prev[65], h[65];
	uint8_t want[32];
	int n;

	str_hex(ch->prev, 32, prev);
	str_hex(hash, 32, h);
	n = str_fmt(msg, sizeof(msg), "%s\n%s\n%s\n%s\n%s%s%s", alg,
		    ch->amz_date, ch->scope, prev,
		    empty_line ? empty_sha256 : "", empty_line ? "\n" : "", h);
	if (n < 0)
		return (S3_ERR_INTERNAL);
	sigv4_hmac(ch->key, 32, msg, strlen(msg), want);
	if (CRYPTO_memcmp(want, sig, 32) != 0)
		return (S3_ERR_SIGNATURE_MISMATCH);
	memcpy(ch->prev, want, 32);
	return (S3_OK);
}

enum s3_err
sigv4_chain_next(struct sigv4_chain *ch, const uint8_t data_sha256[32],
		 const uint8_t sig[32])
{
	return (chain_step(ch, ALGORITHM "-PAYLOAD", true, data_sha256, sig));
}

enum s3_err
sigv4_chain_trailer(struct sigv4_chain *ch, const uint8_t trailer_sha256[32],
		    const uint8_t sig[32])
{
	return (
	    chain_step(ch, ALGORITHM "-TRAILER", false, trailer_sha256, sig));
}

void
sigv4_chain_wipe(struct sigv4_chain *ch)
{
	OPENSSL_cleanse(ch, sizeof(*ch));
}
