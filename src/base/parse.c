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

bool
span_has_ctl(struct span s)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] == '\0' || s.p[i] == '\r' || s.p[i] == '\n')
			return (true);
	return (false);
}
