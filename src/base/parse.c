/*
 * parse: the cursor parser.  All network text goes through these few
 * functions, which are small enough to reason about byte by byte.
 */
#include "base/parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

void
cur_init(struct cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
}

bool
cur_eof(const struct cursor *c)
{
	return (c->len == 0);
}

bool
cur_eat(struct cursor *c, char ch)
{
	if (c->len == 0 || *c->p != ch)
		return (false);
	c->p++;
	c->len--;
	return (true);
}

struct span
cur_until(struct cursor *c, char delim)
{
	struct span s = { c->p, 0 };

	while (s.len < c->len && c->p[s.len] != delim)
		s.len++;
	c->p += s.len;
	c->len -= s.len;
	return (s);
}

struct span
cur_rest(struct cursor *c)
{
	struct span s = { c->p, c->len };

	c->p += c->len;
	c->len = 0;
	return (s);
}

static bool
is_blank(char ch)
{
	return (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n');
}

struct span
cur_word(struct cursor *c)
{
	struct span s;

	while (c->len > 0 && is_blank(*c->p)) {
		c->p++;
		c->len--;
	}
	s.p = c->p;
	s.len = 0;
	while (s.len < c->len && !is_blank(c->p[s.len]))
		s.len++;
	c->p += s.len;
	c->len -= s.len;
	return (s);
}

int
cur_u64(struct cursor *c, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;
	unsigned d;

	while (n < c->len && c->p[n] >= '0' && c->p[n] <= '9') {
		d = (unsigned)(c->p[n] - '0');
		if (d > max || v > (max - d) / 10)
			return (-ERANGE);
		v = v * 10 + d;
		n++;
	}
	if (n == 0)
		return (-EINVAL);
	c->p += n;
	c->len -= n;
	*out = v;
	return (0);
}

int
cur_i64(struct cursor *c, int64_t min, int64_t max, int64_t *out)
{
	struct cursor t = *c;
	uint64_t mag, lim;
	bool neg = cur_eat(&t, '-');
	int64_t v;
	int rc;

	/* The largest magnitude the bounds allow on this side of zero;
	 * -(min + 1) + 1 is |min| without overflow at INT64_MIN. */
	if (neg)
		lim = min < 0 ? (uint64_t)(-(min + 1)) + 1 : 0;
	else
		lim = max > 0 ? (uint64_t)max : 0;
	if ((rc = cur_u64(&t, lim, &mag)) < 0)
		return (rc);
	v = !neg ? (int64_t)mag : mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
	if (v < min || v > max)
		return (-ERANGE);
	*c = t;
	*out = v;
	return (0);
}

int
cur_double(struct cursor *c, double min, double max, double *out)
{
	/* Powers of ten up to 10^PARSE_DOUBLE_DIGITS are exact doubles, so
	 * the one division below rounds once. */
	static const double pow10[PARSE_DOUBLE_DIGITS + 1] = {
	    1e0,  1e1,	1e2,  1e3,  1e4,  1e5,	1e6,  1e7,  1e8,  1e9,
	    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
	};
	size_t n = 0, digits = 0, frac = 0;
	uint64_t m = 0;
	bool neg = false, point = false;
	double d;

	if (n < c->len && c->p[n] == '-') {
		neg = true;
		n++;
	}
	for (; n < c->len; n++) {
		char ch = c->p[n];

		if (ch == '.' && !point) {
			point = true;
			continue;
		}
		if (ch < '0' || ch > '9')
			break;
		if (++digits > PARSE_DOUBLE_DIGITS)
			return (-ERANGE);
		m = m * 10 + (uint64_t)(ch - '0');
		if (point)
			frac++;
	}
	if (digits == 0)
		return (-EINVAL);
	d = (double)m / pow10[frac];
	if (neg)
		d = -d;
	if (!(d >= min && d <= max))
		return (-ERANGE);
	c->p += n;
	c->len -= n;
	*out = d;
	return (0);
}

static int
hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

int
cur_hex(struct cursor *c, void *out, size_t n)
{
	unsigned char *o = out;
	size_t i;

	if (n > c->len / 2)
		return (-EINVAL);
	/* Checked in full before out is touched. */
	for (i = 0; i < 2 * n; i++)
		if (hex_value(c->p[i]) < 0)
			return (-EINVAL);
	for (i = 0; i < n; i++)
		o[i] = (unsigned char)(hex_value(c->p[2 * i]) << 4 |
				       hex_value(c->p[2 * i + 1]));
	c->p += 2 * n;
	c->len -= 2 * n;
	return (0);
}

struct span
span_str(const char *s)
{
	struct span sp = {s, s == NULL ? 0 : strlen(s)};

	if (s == NULL)
		sp.p = "";
	return (sp);
}

bool
span_eq(struct span s, const char *lit)
{
	return (strlen(lit) == s.len && memcmp(s.p, lit, s.len) == 0);
}

bool
span_eq_ci(struct span s, const char *lit)
{
	return (strlen(lit) == s.len && strncasecmp(s.p, lit, s.len) == 0);
}

int
span_u64(struct span s, uint64_t max, uint64_t *out)
{
	struct cursor c;
	int rc;

	cur_init(&c, s.p, s.len);
	if ((rc = cur_u64(&c, max, out)) < 0)
		return (rc);
	return (cur_eof(&c) ? 0 : -EINVAL);
}

int
span_i64(struct span s, int64_t min, int64_t max, int64_t *out)
{
	struct cursor c;
	int64_t v;
	int rc;

	cur_init(&c, s.p, s.len);
	if ((rc = cur_i64(&c, min, max, &v)) < 0)
		return (rc);
	if (!cur_eof(&c))
		return (-EINVAL);
	*out = v;
	return (0);
}

int
span_double(struct span s, double min, double max, double *out)
{
	struct cursor c;
	double v;
	int rc;

	cur_init(&c, s.p, s.len);
	if ((rc = cur_double(&c, min, max, &v)) < 0)
		return (rc);
	if (!cur_eof(&c))
		return (-EINVAL);
	*out = v;
	return (0);
}

int
span_hex(struct span s, void *out, size_t n)
{
	struct cursor c;

	if (s.len != 2 * n)
		return (-EINVAL);
	cur_init(&c, s.p, s.len);
	return (cur_hex(&c, out, n));
}

bool
span_has_ctl(struct span s)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] == '\0' || s.p[i] == '\r' || s.p[i] == '\n')
			return (true);
	return (false);
}
