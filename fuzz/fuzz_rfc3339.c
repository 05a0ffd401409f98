/*
 * fuzz_rfc3339: feeds arbitrary bytes to the time parser of a
 * point-in-time restore (src/base/rfc3339.c).
 *
 * The input is a heap copy of exactly its length, so ASan sees any read
 * past the end.  What rfc3339.h promises is checked:
 *   - a failure is -EINVAL and leaves the output untouched;
 *   - a success gives a time from 1970 on, and the text printed back by
 *     rfc3339_format parses to the same time;
 *   - input over RFC3339_MAX bytes is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rfc3339.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1), out[RFC3339_LEN];
	int64_t ns = -7, back = -7;
	int rc;

	if (s == NULL)
		return (0);
	memcpy(s, data, size);
	rc = rfc3339_parse(s, size, &ns);
	if (rc < 0) {
		CHECK(rc == -EINVAL);
		CHECK(ns == -7);
	} else {
		CHECK(rc == 0);
		CHECK(size <= RFC3339_MAX);
		CHECK(ns >= 0);
		rfc3339_format(ns, out);
		CHECK(strlen(out) < RFC3339_LEN);
		CHECK(rfc3339_parse(out, strlen(out), &back) == 0);
		CHECK(back == ns);
	}
	free(s);
	return (0);
}
