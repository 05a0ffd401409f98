/*
 * http_parse: one pass over the head.  Header lines are matched by name
 * case-insensitively; values are trimmed of spaces.  Any byte that HTTP
 * does not allow in a place (control bytes, obs-fold, a LF without its
 * CR) makes it a 400, as soon as that byte has arrived.
 */
#include "front/http/http_parse.h"

#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/parse.h"

/*
 * The CRLF ending the line at p, or NULL if it has not arrived.  A LF
 * without its CR sets *bad: RFC 9112 lets a server refuse it, and waiting
 * for a CRLF that a bare-LF client never sends would only end in a timeout.
 */
static const char *
find_crlf(const char *p, const char *end, bool *bad)
{
	const char *start = p;

	for (; p < end; p++)
		if (*p == '\n') {
			if (p == start || p[-1] != '\r') {
				*bad = true;
				return (NULL);
			}
			return (p - 1);
		}
	return (NULL);
}

static int
parse_request_line(const char *p, size_t n, struct http_req *r)
{
	struct cursor c;
	struct span m, t, v;
	size_t i;

	cur_init(&c, p, n);
	m = cur_until(&c, ' ');
	if (!cur_eat(&c, ' '))
		return (-400);
	t = cur_until(&c, ' ');
	if (!cur_eat(&c, ' '))
		return (-400);
	v = cur_rest(&c);
	if (m.len == 0 || t.len == 0)
		return (-400);
	/* A method is a token: letters only, in practice. */
	for (i = 0; i < m.len; i++)
		if (!((m.p[i] >= 'A' && m.p[i] <= 'Z') ||
		    (m.p[i] >= 'a' && m.p[i] <= 'z') || m.p[i] == '-' ||
		    m.p[i] == '_'))
			return (-400);
	if (t.len >= HTTP_TARGET_MAX)
		return (-431);
	for (i = 0; i < t.len; i++)
		if ((unsigned char)t.p[i] <= 0x20 || t.p[i] == 0x7f)
			return (-400);
	if (v.len != 8 || memcmp(v.p, "HTTP/1.", 7) != 0 ||
	    (v.p[7] != '0' && v.p[7] != '1'))
		return (-505);
	r->minor = v.p[7] - '0';
	r->keep_alive = r->minor == 1;
	if (span_eq(m, "GET"))
		r->method = HTTP_GET;
	else if (span_eq(m, "HEAD"))
		r->method = HTTP_HEAD;
	else if (span_eq(m, "PUT"))
		r->method = HTTP_PUT;
	else if (span_eq(m, "POST"))
		r->method = HTTP_POST;
	else if (span_eq(m, "DELETE"))
		r->method = HTTP_DELETE;
	else
		r->method = HTTP_OTHER;
	memcpy(r->target, t.p, t.len);
	r->target[t.len] = '\0';
	return (0);
}

static int
copy_value(char *dst, size_t size, struct span v)
{
	if (v.len >= size)
		return (-431);
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return (0);
}

static int
parse_header(const char *p, size_t n, struct http_req *r)
{
	struct cursor c;
	struct span name, val;
	uint64_t cl;
	size_t i;

	cur_init(&c, p, n);
	name = cur_until(&c, ':');
	if (!cur_eat(&c, ':') || name.len == 0)
		return (-400);
	for (i = 0; i < name.len; i++)
		if ((unsigned char)name.p[i] <= 0x20 || name.p[i] == 0x7f)
			return (-400);	/* also refuses obs-fold */
	val = cur_rest(&c);
	while (val.len && (val.p[0] == ' ' || val.p[0] == '\t')) {
		val.p++;
		val.len--;
	}
	while (val.len && (val.p[val.len - 1] == ' ' ||
	    val.p[val.len - 1] == '\t'))
		val.len--;
	for (i = 0; i < val.len; i++)
		if (((unsigned char)val.p[i] < 0x20 && val.p[i] != '\t') ||
		    val.p[i] == 0x7f)
			return (-400);
	if (span_eq_ci(name, "Content-Length")) {
		/* Two different lengths would let two parsers disagree. */
		if (span_u64(val, INT64_MAX, &cl) < 0 ||
		    (r->content_length >= 0 && (uint64_t)r->content_length != cl))
			return (-400);
		r->content_length = (int64_t)cl;
	} else if (span_eq_ci(name, "Transfer-Encoding")) {
		if (!span_eq_ci(val, "chunked"))
			return (-501);
		r->chunked = true;
	} else if (span_eq_ci(name, "Connection")) {
		if (span_eq_ci(val, "close"))
			r->keep_alive = false;
		else if (span_eq_ci(val, "keep-alive"))
			r->keep_alive = true;
	} else if (span_eq_ci(name, "Expect")) {
		if (span_eq_ci(val, "100-continue"))
			r->expect_continue = true;
	} else if (span_eq_ci(name, "Authorization"))
		return (copy_value(r->authorization, sizeof(r->authorization),
		    val));
	else if (span_eq_ci(name, "If-None-Match"))
		return (copy_value(r->if_none_match, sizeof(r->if_none_match),
		    val));
	else if (span_eq_ci(name, "If-Match"))
		return (copy_value(r->if_match, sizeof(r->if_match), val));
	else if (span_eq_ci(name, "Range"))
		return (copy_value(r->range, sizeof(r->range), val));
	else if (span_eq_ci(name, "Content-Range"))
		return (copy_value(r->content_range, sizeof(r->content_range),
		    val));
	else if (span_eq_ci(name, "Shoal-Parents")) {
		if (span_eq_ci(val, "no"))
			r->no_parents = true;
		else if (!span_eq_ci(val, "yes"))
			return (-400);
	}
	else if (span_eq_ci(name, "Shoal-Lock-Token")) {
		if (span_u64(val, INT64_MAX, &cl) < 0 || cl == 0)
			return (-400);
		r->lock_token = cl;
	}
	return (0);
}

int
http_parse_head(const char *buf, size_t len, struct http_req *r)
{
	const char *p = buf, *end, *eol;
	bool bad = false;
	int rc;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	end = buf + (len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX);
	/* Tolerate empty lines before a request (RFC 9112, 2.2). */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	if ((eol = find_crlf(p, end, &bad)) == NULL)
		return (bad ? -400 : len >= HTTP_HEAD_MAX ? -431 : 0);
	if ((rc = parse_request_line(p, (size_t)(eol - p), r)) < 0)
		return (rc);
	p = eol + 2;
	for (;;) {
		if ((eol = find_crlf(p, end, &bad)) == NULL)
			return (bad ? -400 : len >= HTTP_HEAD_MAX ? -431 : 0);
		if (eol == p)
			break;
		if (++r->nheaders > HTTP_HEADERS_COUNT_MAX)
			return (-431);
		if ((rc = parse_header(p, (size_t)(eol - p), r)) < 0)
			return (rc);
		p = eol + 2;
	}
	if (r->chunked && r->content_length >= 0)
		return (-400);	/* RFC 9112, 6.3: a smuggling attempt */
	return ((int)(eol + 2 - buf));
}

int
http_unescape(const char *src, size_t len, char *out, size_t size)
{
	struct cursor c;
	unsigned char ch;
	size_t o = 0;

	if (size == 0)
		return (-1);
	cur_init(&c, src, len);
	while (!cur_eof(&c)) {
		if (cur_eat(&c, '%')) {
			if (cur_hex(&c, &ch, 1) < 0)
				return (-1);
		} else {
			ch = (unsigned char)*c.p;
			c.p++;
			c.len--;
		}
		if (ch == '\0' || o + 1 >= size)
			return (-1);
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return ((int)o);
}

int
http_parse_range(const char *s, uint64_t size, uint64_t *first,
    uint64_t *last)
{
	struct cursor c;
	uint64_t a, b;

	cur_init(&c, s, strlen(s));
	if (strncasecmp(s, "bytes=", 6) != 0)
		return (-1);
	cur_init(&c, s + 6, strlen(s + 6));
	if (cur_eat(&c, '-')) {
		/* The last N bytes. */
		if (cur_u64(&c, UINT64_MAX, &b) < 0 || !cur_eof(&c))
			return (-1);
		if (b == 0 || size == 0)
			return (-416);
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return (0);
	}
	if (cur_u64(&c, UINT64_MAX, &a) < 0 || !cur_eat(&c, '-'))
		return (-1);
	if (cur_eof(&c))
		b = size ? size - 1 : 0;
	else if (cur_u64(&c, UINT64_MAX, &b) < 0 || !cur_eof(&c) || b < a)
		return (-1);
	if (a >= size)
		return (-416);
	*first = a;
	*last = b >= size ? size - 1 : b;
	return (0);
}

int
http_parse_content_range(const char *s, uint64_t *first, uint64_t *last,
    uint64_t *total)
{
	struct cursor c;
	uint64_t a, b, t;

	if (strncasecmp(s, "bytes ", 6) != 0)
		return (-1);
	cur_init(&c, s + 6, strlen(s + 6));
	if (cur_u64(&c, UINT64_MAX - 1, &a) < 0 || !cur_eat(&c, '-') ||
	    cur_u64(&c, UINT64_MAX - 1, &b) < 0 || !cur_eat(&c, '/') ||
	    cur_u64(&c, UINT64_MAX, &t) < 0 || !cur_eof(&c) || b < a ||
	    b >= t)
		return (-1);
	*first = a;
	*last = b;
	*total = t;
	return (0);
}
