/*
 * parse: a cursor over bytes that are not NUL-terminated, and spans.
 *
 * A cursor only moves forward.  Every number parse takes a maximum and fails
 * (-ERANGE) past it, so no caller can forget to bound what it reads.
 * Nothing here allocates; spans borrow the bytes they point at.
 *
 * This is the only place numbers and hex are read from text: strto*, ato*
 * and sscanf are banned in src/ (base/banned.h, scripts/check-banned.sh).
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
/* Skips spaces, tabs, CR and LF, then consumes the word up to the next one
 * (empty at the end). */
struct span cur_word(struct cursor *);
/*
 * The number parsers below consume nothing when they fail: -EINVAL if the
 * bytes are not a number of that form, -ERANGE if they are one outside the
 * bounds given.  None skips spaces or accepts a '+'.
 */
/* Consumes decimal digits (at least one) into a value <= max. */
int	cur_u64(struct cursor *, uint64_t max, uint64_t *)
	    __attribute__((warn_unused_result));
/* Consumes an optional '-' and decimal digits into min <= value <= max. */
int	cur_i64(struct cursor *, int64_t min, int64_t max, int64_t *)
	    __attribute__((warn_unused_result));
/*
 * Consumes a decimal fraction, "-"? digits ("." digits)?, with a digit on
 * at least one side of the point and PARSE_DOUBLE_DIGITS digits at most
 * (no exponent, no "inf" or "nan"), into min <= value <= max.
 */
#define PARSE_DOUBLE_DIGITS	18
int	cur_double(struct cursor *, double min, double max, double *)
	    __attribute__((warn_unused_result));
/*
 * Consumes 2n hex digits (either case) into out[n], the reverse of
 * str_hex() in base/buf.h.  out is left as it was on failure.
 */
int	cur_hex(struct cursor *, void *out, size_t n)
	    __attribute__((warn_unused_result));

/* A NUL-terminated string (NULL: the empty span), borrowed. */
struct span span_str(const char *);
bool	span_eq(struct span, const char *);
bool	span_eq_ci(struct span, const char *);
/* The whole span must be a decimal number <= max. */
int	span_u64(struct span, uint64_t max, uint64_t *)
	    __attribute__((warn_unused_result));
/* The whole span must be a number as cur_i64, cur_double, cur_hex take. */
int	span_i64(struct span, int64_t min, int64_t max, int64_t *)
	    __attribute__((warn_unused_result));
int	span_double(struct span, double min, double max, double *)
	    __attribute__((warn_unused_result));
/* Exactly 2n hex digits into out[n]. */
int	span_hex(struct span, void *out, size_t n)
	    __attribute__((warn_unused_result));
/* True if the span holds a NUL, CR or LF. */
bool	span_has_ctl(struct span);

#endif
