/*
 * rfc3339: timestamps as people and JSON write them (RFC 3339, the
 * subset "2026-12-03T14:00:00Z" with optional fractions of a second and
 * a numeric offset), to and from nanoseconds since the epoch.  Input is
 * capped at RFC3339_MAX bytes and every field at its calendar range.
 */
#ifndef SHOAL_BASE_RFC3339_H
#define SHOAL_BASE_RFC3339_H

#include <stddef.h>
#include <stdint.h>

#define RFC3339_MAX	64	/* longest input accepted */
#define RFC3339_LEN	31	/* "YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ" + NUL */

/* s[len] (not NUL-terminated) into *ns; -EINVAL if it is not one, years
 * 1970..2200 only (the range of int64 nanoseconds).  *ns is untouched on
 * failure. */
int	rfc3339_parse(const char *s, size_t len, int64_t *ns)
	    __attribute__((warn_unused_result));
/* ns as UTC with nanoseconds (out[RFC3339_LEN]); fractions left out when
 * there are none. */
void	rfc3339_format(int64_t ns, char *out);

#endif
