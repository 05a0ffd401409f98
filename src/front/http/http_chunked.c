/*
 * http_chunked: one pass over the bytes, one state per place in the
 * coding (see the header); a chunk's data is handed out in place, never
 * copied.  Every line is counted against its cap as it arrives, so a peer
 * that never ends a line is refused once it passes the cap.
 */
#include "front/http/http_chunked.h"

#include <string.h>

void
http_chunked_init(struct http_chunked *h)
{
	memset(h, 0, sizeof(*h));
	h->st = HTTP_CH_SIZE;
}

bool
http_chunked_done(const struct http_chunked *h)
{
	return (h->st == HTTP_CH_DONE);
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* One byte of a size line; -1 if it cannot be one. */
static int
size_byte(struct http_chunked *h, unsigned char ch)
{
	int v;

	if (++h->line > HTTP_CHUNKED_LINE_MAX)
		return (-1);
	if (h->cr) {
		if (ch != '\n' || h->digits == 0)
			return (-1);
		h->cr = false;
		h->line = 0;
		h->ext = false;
		h->digits = 0;
		if (h->size == 0) {
			h->st = HTTP_CH_TRAILER;
			return (0);
		}
		h->left = h->size;
		h->size = 0;
		h->st = HTTP_CH_DATA;
		return (0);
	}
	if (ch == '\r') {
		h->cr = true;
		return (0);
	}
	if (ch == '\n')
		return (-1); /* a bare LF */
	if (h->ext) {
		/* Extensions are skipped, control bytes excepted. */
		return (ch < 0x20 && ch != '\t' ? -1 : 0);
	}
	if (ch == ';' || ch == ' ' || ch == '\t') {
		if (h->digits == 0)
			return (-1);
		h->ext = true;
		return (0);
	}
	if ((v = hexval(ch)) < 0)
		return (-1);
	if (h->size > (HTTP_CHUNKED_SIZE_MAX >> 4))
		return (-1);
	h->size = h->size * 16 + (uint64_t)v;
	if (h->size > HTTP_CHUNKED_SIZE_MAX)
		return (-1);
	h->digits++;
	return (0);
}

/* One byte of the trailer section; -1 if bad. */
static int
trailer_byte(struct http_chunked *h, unsigned char ch)
{
	if (++h->trailer > HTTP_CHUNKED_TRAILER_MAX)
		return (-1);
	if (h->cr) {
		if (ch != '\n')
			return (-1);
		h->cr = false;
		if (h->line == 0)
			h->st = HTTP_CH_DONE;
		h->line = 0;
		return (0);
	}
	if (ch == '\r') {
		h->cr = true;
		return (0);
	}
	if (ch == '\n' || (ch < 0x20 && ch != '\t') || ch == 0x7f)
		return (-1);
	h->line++;
	return (0);
}

long
http_chunked_feed(struct http_chunked *h, const void *in, size_t len,
		  int (*sink)(void *, const void *, size_t), void *arg)
{
	const unsigned char *p = in;
	size_t i = 0, n;

	if (h->st == HTTP_CH_BAD)
		return (-1);
	while (i < len && h->st != HTTP_CH_DONE) {
		switch (h->st) {
		case HTTP_CH_SIZE:
			if (size_byte(h, p[i]) < 0)
				goto bad;
			i++;
			break;
		case HTTP_CH_DATA:
			n = len - i;
			if (n > h->left)
				n = (size_t)h->left;
			if (sink(arg, p + i, n) < 0) {
				h->st = HTTP_CH_BAD;
				return (-2);
			}
			h->left -= n;
			h->total += n;
			i += n;
			if (h->left == 0)
				h->st = HTTP_CH_DATA_CR;
			break;
		case HTTP_CH_DATA_CR:
			if (p[i++] != '\r')
				goto bad;
			h->st = HTTP_CH_DATA_LF;
			break;
		case HTTP_CH_DATA_LF:
			if (p[i++] != '\n')
				goto bad;
			h->st = HTTP_CH_SIZE;
			break;
		case HTTP_CH_TRAILER:
			if (trailer_byte(h, p[i]) < 0)
				goto bad;
			i++;
			break;
		default:
			goto bad;
		}
	}
	return ((long)i);
bad:
	h->st = HTTP_CH_BAD;
	return (-1);
}
