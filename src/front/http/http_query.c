/*
 * http_query: splitting and decoding a query string.  One pass over the
 * bytes with a cursor; each piece is decoded into text[] as it is met, so
 * nothing is buffered beyond the caps in the header.
 */
#include "front/http/http_query.h"

#include <errno.h>
#include <string.h>

#include "base/parse.h"

/* Decodes s into out (room for s.len bytes); returns the length or -1. */
static int
decode(struct span s, char *out)
{
	struct cursor c;
	size_t o = 0;
	unsigned char ch;

	cur_init(&c, s.p, s.len);
	while (!cur_eof(&c)) {
		if (cur_eat(&c, '%')) {
			if (cur_hex(&c, &ch, 1) < 0)
				return (-1);
		} else if (cur_eat(&c, '+'))
			ch = ' ';
		else {
			ch = (unsigned char)*c.p;
			c.p++;
			c.len--;
		}
		if (ch == '\0' || ch == '\r' || ch == '\n')
			return (-1);
		out[o++] = (char)ch;
	}
	return ((int)o);
}

int
http_query_parse(struct http_query *q, const char *s, size_t len)
{
	struct cursor c;
	struct span piece, key;
	size_t used = 0;
	unsigned i;
	int n;

	q->n = 0;
	if (len > HTTP_QUERY_LEN_MAX)
		return (-E2BIG);
	cur_init(&c, s, len);
	while (!cur_eof(&c)) {
		struct cursor pc;

		piece = cur_until(&c, '&');
		(void)cur_eat(&c, '&');
		if (piece.len == 0)
			continue;
		if (q->n == HTTP_QUERY_PARAMS_MAX)
			return (-E2BIG);
		cur_init(&pc, piece.p, piece.len);
		key = cur_until(&pc, '=');
		if (key.len == 0)
			return (-EINVAL);
		(void)cur_eat(&pc, '=');
		/* At most piece.len + 2 bytes of text[]: see its size. */
		if ((n = decode(key, q->text + used)) < 0)
			return (-EINVAL);
		q->p[q->n].key = q->text + used;
		used += (size_t)n;
		q->text[used++] = '\0';
		if ((n = decode(cur_rest(&pc), q->text + used)) < 0)
			return (-EINVAL);
		q->p[q->n].value = q->text + used;
		used += (size_t)n;
		q->text[used++] = '\0';
		for (i = 0; i < q->n; i++)
			if (strcmp(q->p[i].key, q->p[q->n].key) == 0)
				return (-EEXIST);
		q->n++;
	}
	return (0);
}

int
http_query_target(struct http_query *q, const char *target)
{
	const char *s = strchr(target, '?');

	q->n = 0;
	if (s == NULL)
		return (0);
	s++;
	return (http_query_parse(q, s, strcspn(s, "#")));
}

const char *
http_query_get(const struct http_query *q, const char *key)
{
	unsigned i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0)
			return (q->p[i].value);
	return (NULL);
}

const char *
http_query_error(int rc)
{
	switch (rc) {
	case -E2BIG:
		return ("query string too long or too many parameters");
	case -EEXIST:
		return ("a query parameter given twice");
	default:
		return ("bad query string");
	}
}
