/*
 * fuzz_parse: feeds arbitrary bytes to the cursor parser's number, hex and
 * word functions (src/base/parse.c).
 *
 * Input layout: the first byte picks the bounds, the rest is the text, in
 * a heap copy of exactly its length so ASan sees any read past the end.
 * Each parse is checked against what it promises in parse.h:
 *   - a failure (-EINVAL or -ERANGE only) leaves the cursor where it was
 *     and the output untouched;
 *   - a success consumes a prefix that has the form of that number, gives
 *     a value within the bounds, and the value printed back is the text
 *     consumed (leading zeros aside); the span_ form agrees with the cur_
 *     form on the whole text;
 *   - hex decodes to bytes that str_hex encodes back to the text consumed,
 *     up to case.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/parse.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint64_t umax[] = {
    0, 1, 9, 10, 255, 65535, UINT32_MAX, INT64_MAX, UINT64_MAX - 1, UINT64_MAX};
static const int64_t smin[] = {INT64_MIN, -1, 0, -255, INT64_MIN + 1};
static const int64_t smax[] = {INT64_MAX, 0, 255, -1, INT64_MAX - 1};

/* Digits consumed, without leading zeros (one zero kept). */
static void
digits_of(const char *p, size_t n, char *out, size_t size)
{
	while (n > 1 && p[0] == '0') {
		p++;
		n--;
	}
	CHECK(n < size);
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
check_u64(const char *p, size_t len, uint64_t max)
{
	struct cursor c;
	uint64_t v = 42, sv;
	char want[32], got[32];
	int rc, src;

	cur_init(&c, p, len);
	rc = cur_u64(&c, max, &v);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ERANGE);
		CHECK(c.p == p && c.len == len && v == 42);
		CHECK(span_u64((struct span){p, len}, max, &sv) == rc);
		return;
	}
	CHECK(v <= max && c.p > p && c.p + c.len == p + len);
	digits_of(p, (size_t)(c.p - p), want, sizeof(want));
	(void)snprintf(got, sizeof(got), "%" PRIu64, v);
	CHECK(strcmp(want, got) == 0);
	src = span_u64((struct span){p, len}, max, &sv);
	CHECK(cur_eof(&c) ? src == 0 && sv == v : src == -EINVAL);
}

static void
check_i64(const char *p, size_t len, int64_t min, int64_t max)
{
	struct cursor c;
	int64_t v = 42, sv;
	char want[40], got[40];
	size_t used;
	int rc, src;

	cur_init(&c, p, len);
	rc = cur_i64(&c, min, max, &v);
	src = span_i64((struct span){p, len}, min, max, &sv);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ERANGE);
		CHECK(c.p == p && c.len == len && v == 42);
		CHECK(src == rc);
		return;
	}
	CHECK(v >= min && v <= max);
	used = (size_t)(c.p - p);
	if (p[0] == '-') {
		want[0] = '-';
		digits_of(p + 1, used - 1, want + 1, sizeof(want) - 1);
		if (strcmp(want, "-0") == 0)
			want[0] = '0', want[1] = '\0';
	} else
		digits_of(p, used, want, sizeof(want));
	(void)snprintf(got, sizeof(got), "%" PRId64, v);
	CHECK(strcmp(want, got) == 0);
	CHECK(cur_eof(&c) ? src == 0 && sv == v : src == -EINVAL);
}

static void
check_double(const char *p, size_t len, double min, double max)
{
	struct cursor c;
	double d = 42, sd;
	size_t i, used, digits = 0, points = 0;
	int rc, src;

	cur_init(&c, p, len);
	rc = cur_double(&c, min, max, &d);
	src = span_double((struct span){p, len}, min, max, &sd);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ERANGE);
		CHECK(c.p == p && c.len == len && d == 42);
		CHECK(src == rc);
		return;
	}
	CHECK(d >= min && d <= max);
	used = (size_t)(c.p - p);
	for (i = p[0] == '-' ? 1 : 0; i < used; i++) {
		if (p[i] == '.')
			points++;
		else {
			CHECK(p[i] >= '0' && p[i] <= '9');
			digits++;
		}
	}
	CHECK(points <= 1 && digits >= 1 && digits <= PARSE_DOUBLE_DIGITS);
	CHECK(cur_eof(&c) ? src == 0 && sd == d : src == -EINVAL);
}

static void
check_hex(const char *p, size_t len, size_t n)
{
	unsigned char out[64], keep[64];
	char text[129];
	struct cursor c;
	int rc;

	if (n > sizeof(out))
		n = sizeof(out);
	memset(out, 0xa5, sizeof(out));
	memcpy(keep, out, sizeof(out));
	cur_init(&c, p, len);
	rc = cur_hex(&c, out, n);
	if (rc < 0) {
		CHECK(rc == -EINVAL);
		CHECK(c.p == p && c.len == len);
		CHECK(memcmp(out, keep, sizeof(out)) == 0);
		return;
	}
	CHECK((size_t)(c.p - p) == 2 * n);
	str_hex(out, n, text);
	CHECK(strncasecmp(text, p, 2 * n) == 0);
	CHECK(memcmp(out + n, keep + n, sizeof(out) - n) == 0);
	CHECK(span_hex((struct span){p, len}, keep, n) ==
	      (len == 2 * n ? 0 : -EINVAL));
}

static void
check_words(const char *p, size_t len)
{
	struct cursor c;
	struct span w;
	size_t i;

	cur_init(&c, p, len);
	for (;;) {
		w = cur_word(&c);
		CHECK(w.p >= p && w.p + w.len <= p + len);
		for (i = 0; i < w.len; i++)
			CHECK(w.p[i] != ' ' && w.p[i] != '\t' &&
			      w.p[i] != '\r' && w.p[i] != '\n');
		if (w.len == 0)
			break;
	}
	CHECK(cur_eof(&c));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *p;
	size_t len;

	if (size == 0)
		return (0);
	sel = data[0];
	len = size - 1;
	if ((p = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(p, data + 1, len);

	check_u64(p, len, umax[sel % (sizeof(umax) / sizeof(umax[0]))]);
	check_i64(p, len, smin[sel % 5], smax[(sel / 5) % 5]);
	check_double(p, len, sel & 1 ? -1e6 : 0.0, sel & 2 ? 1.0 : 1e18);
	check_hex(p, len, sel % 2 ? len / 2 : sel % 17);
	check_words(p, len);
	free(p);
	return (0);
}
