/*
 * fuzz_http_chunked: feeds arbitrary bytes to the chunked body decoder,
 * whole and split in two at a point the first byte chooses.
 *
 * Invariants: the decoder never takes more than it is given; the data it
 * hands out never exceeds the bytes taken; whole and split feeds agree on
 * the outcome, the bytes taken and the data (a split never changes what a
 * body means); once done it takes nothing more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/http/http_chunked.h"

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e)) {                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #e);                       \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct out {
	uint8_t *b;
	size_t n;
};

static int
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	memcpy(o->b + o->n, p, n);
	o->n += n;
	return (0);
}

static long
run(const uint8_t *d, size_t size, size_t cut, struct out *o)
{
	struct http_chunked h;
	long a, b;
	uint8_t *p;

	http_chunked_init(&h);
	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(p, d, size);
	a = http_chunked_feed(&h, p, cut, sink, o);
	if (a < 0 || http_chunked_done(&h)) {
		free(p);
		return (a);
	}
	CHECK((size_t)a == cut);
	b = http_chunked_feed(&h, p + cut, size - cut, sink, o);
	if (b >= 0 && http_chunked_done(&h))
		CHECK(http_chunked_feed(&h, "x", 1, sink, o) == 0);
	free(p);
	return (b < 0 ? b : a + b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out o1, o2;
	long r1, r2;
	size_t cut;

	if (size == 0)
		return (0);
	cut = data[0] % size;
	data++;
	size--;
	if (cut > size)
		cut = size;
	o1.b = malloc(size + 1);
	o2.b = malloc(size + 1);
	if (o1.b == NULL || o2.b == NULL)
		abort();
	o1.n = o2.n = 0;
	r1 = run(data, size, size, &o1);
	r2 = run(data, size, cut, &o2);
	CHECK(r1 == r2);
	CHECK(r1 < 0 || (size_t)r1 <= size);
	if (r1 >= 0) {
		CHECK(o1.n <= (size_t)r1);
		CHECK(o1.n == o2.n && memcmp(o1.b, o2.b, o1.n) == 0);
	}
	free(o1.b);
	free(o2.b);
	return (0);
}
