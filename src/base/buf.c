/*
 * buf: capped growable buffers.  Growth doubles up to the cap so appends are
 * amortised O(1); the cap protects every caller from unbounded input.
 */
#include "base/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char empty[1];

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int
buf_grow(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->max - b->len)
		return (-ENOBUFS);
	need = b->len + extra;
	if (need <= b->cap && b->data)
		return (0);
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((p = realloc(b->data, ncap + 1)) == NULL)
		return (-ENOMEM);
	b->data = p;
	b->cap = ncap;
	return (0);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = buf_grow(b, n)) < 0)
		return (rc);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return (0);
}

int
buf_puts(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return (-EINVAL);
	if ((rc = buf_grow(b, (size_t)n)) < 0)
		return (rc);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return (0);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return (rc);
}

void *
buf_extend(struct buf *b, size_t n)
{
	void *p;

	if (buf_grow(b, n) < 0)
		return (NULL);
	p = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return (p);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

const char *
buf_cstr(const struct buf *b)
{
	return (b->data ? b->data : empty);
}

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return (-ENAMETOOLONG);
	memcpy(dst, src, n + 1);
	return (0);
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return (-ENAMETOOLONG);
	return (0);
}

void
str_bytes(uint64_t n, char *out)
{
	if (n < 1024)
		(void)str_fmt(out, STR_BYTES_MAX, "%llu bytes",
		    (unsigned long long)n);
	else if (n < 1024 * 1024)
		(void)str_fmt(out, STR_BYTES_MAX, "%.1f KiB", (double)n /
		    1024.0);
	else if (n < (uint64_t)1 << 30)
		(void)str_fmt(out, STR_BYTES_MAX, "%.1f MiB", (double)n /
		    1048576.0);
	else
		(void)str_fmt(out, STR_BYTES_MAX, "%.2f GiB", (double)n /
		    1073741824.0);
}

void
str_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}
