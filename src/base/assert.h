/*
 * assert: invariants of state machines, checked in debug and sanitizer
 * builds.
 *
 * SHOAL_ASSERT(e) logs the file, line, function and expression and aborts
 * (a core dump, or a sanitizer's stack) when e is false.  meson.build
 * defines SHOAL_ASSERTS for debug, debugoptimized and sanitizer builds; in
 * a release build the check compiles to nothing and e is not evaluated, so
 * e must have no side effects.  It is for broken invariants only, as fatal() is: input from a
 * client or peer is checked with an error answer, never with this.
 */
#ifndef SHOAL_BASE_ASSERT_H
#define SHOAL_BASE_ASSERT_H

#include <stdlib.h>

#include "base/log.h"

#ifdef SHOAL_ASSERTS
#define SHOAL_ASSERT(e)							\
	do {								\
		if (!(e)) {						\
			log_msg(LOG_LVL_ERROR, false,			\
			    "%s:%d: %s: invariant failed: %s",		\
			    __FILE__, __LINE__, __func__, #e);		\
			abort();					\
		}							\
	} while (0)
#else
/* sizeof keeps the names in e used, without evaluating it. */
#define SHOAL_ASSERT(e)	do { (void)sizeof(e); } while (0)
#endif

#endif
