/*
 * buf: growable byte buffers with a hard maximum, and bounded string copies.
 *
 * Every buffer has a cap set when it is made; an append that would pass it
 * fails with -ENOBUFS and leaves the buffer as it was.  The bytes are always
 * followed by a NUL (not counted in len), so buf_cstr() is free.  This is the
 * one string API of the project: raw strcpy/strcat/sprintf are not used.
 *
 * Ownership: the buffer owns data; buf_release() frees it.
 */
#ifndef SHOAL_BASE_BUF_H
#define SHOAL_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;	/* allocated, excluding the NUL */
	size_t	 max;	/* len never exceeds this */
};

void	buf_init(struct buf *, size_t max);
void	buf_release(struct buf *);
void	buf_reset(struct buf *);
int	buf_append(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	buf_puts(struct buf *, const char *)
	    __attribute__((warn_unused_result));
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3), warn_unused_result));
int	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0), warn_unused_result));
/* Appends n uninitialised bytes and returns them (NULL past the cap);
 * for reading straight into a buffer.  buf_truncate gives back the rest. */
void	*buf_extend(struct buf *, size_t n);
void	buf_truncate(struct buf *, size_t len);
const char *buf_cstr(const struct buf *);
/* n bytes as 2n lower-case hex digits and a NUL into out[2n + 1]. */
void	str_hex(const void *, size_t n, char *out);

/* Copies src into dst[size]; -ENAMETOOLONG (dst untouched) if it won't fit. */
int	str_copy(char *dst, size_t size, const char *src);
/*
 * snprintf that reports truncation: -ENAMETOOLONG if the text did not fit
 * (dst then holds the truncated text, still NUL-terminated, which is good
 * enough for messages but not for paths).
 */
int	str_fmt(char *dst, size_t size, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* A byte count for people ("512 bytes", "1.5 KiB", "35.0 MiB", "2.00 GiB"),
 * into out[STR_BYTES_MAX]. */
#define STR_BYTES_MAX	32
void	str_bytes(uint64_t n, char *out);

#endif
