/*
 * parse: a cursor over bytes that are not NUL-terminated, and spans.
 *
 * A cursor only moves forward.  Every number parse takes a maximum and fails
 * (-ERANGE) past it, so no caller can forget to bound what it reads.
 * Nothing here allocates; spans borrow the bytes they point at.
 */
#ifndef SHOAL_BASE_PARSE_H
#define SHOAL_BASE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
	const char	*p;
	size_t		 len;
};

struct cursor {
	const char	*p;
	size_t		 len;	/* bytes left */
};

void	cur_init(struct cursor *, const void *, size_t);
bool	cur_eof(const struct cursor *);
/* Consumes c if it is next. */
bool	cur_eat(struct cursor *, char c);
/* Consumes up to (not including) delim, or the rest; the span may be empty. */
struct span cur_until(struct cursor *, char delim);
/* Consumes the rest. */
struct span cur_rest(struct cursor *);
/* Consumes decimal digits (at least one) into a value <= max. */
int	cur_u64(struct cursor *, uint64_t max, uint64_t *)
	    __attribute__((warn_unused_result));

bool	span_eq(struct span, const char *);
bool	span_eq_ci(struct span, const char *);
/* The whole span must be a decimal number <= max. */
int	span_u64(struct span, uint64_t max, uint64_t *)
	    __attribute__((warn_unused_result));
/* True if the span holds a NUL, CR or LF. */
bool	span_has_ctl(struct span);

#endif
