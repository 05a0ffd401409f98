/*
 * Tests for buf: capped buffers and bounded string copies.
 *
 * What callers rely on: the bytes appended are the bytes read back, always
 * followed by a NUL; the cap is a hard limit that fails with -ENOBUFS and
 * leaves the buffer exactly as it was, so a half-written reply can never
 * escape; str_copy and str_fmt refuse rather than cut a name short.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

static void
test_empty_is_empty_string(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(b.len, 0);
	assert_non_null(buf_cstr(&b));
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

static void
test_append_keeps_bytes_and_nul(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "220 "), 0);
	assert_int_equal(buf_append(&b, "shoal", 5), 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 9);
	assert_string_equal(buf_cstr(&b), "220 shoal");
	assert_int_equal(b.data[b.len], '\0');
	buf_release(&b);
}

/* File data is binary: an embedded NUL must not end the buffer early. */
static void
test_append_binary(void **state)
{
	static const char bytes[] = { 'a', '\0', 'b', '\xff', '\0' };
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, bytes, sizeof(bytes)), 0);
	assert_int_equal(b.len, sizeof(bytes));
	assert_memory_equal(b.data, bytes, sizeof(bytes));
	assert_int_equal(b.data[b.len], '\0');
	buf_release(&b);
}

static void
test_append_up_to_max(void **state)
{
	char big[300];
	struct buf b;

	(void)state;
	memset(big, 'x', sizeof(big));
	buf_init(&b, sizeof(big));
	assert_int_equal(buf_append(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, sizeof(big));
	assert_memory_equal(b.data, big, sizeof(big));
	assert_int_equal(b.data[b.len], '\0');
	/* Full: even one more byte is refused, but nothing is still fine. */
	assert_int_equal(buf_append(&b, "y", 1), -ENOBUFS);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, sizeof(big));
	buf_release(&b);
}

static void
test_append_past_max_leaves_buffer(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	assert_int_equal(buf_puts(&b, "world!"), -ENOBUFS);
	assert_int_equal(b.len, 5);
	assert_string_equal(buf_cstr(&b), "hello");
	/* A length that would wrap size_t arithmetic is refused too. */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -ENOBUFS);
	assert_string_equal(buf_cstr(&b), "hello");
	assert_int_equal(buf_puts(&b, "world"), 0);
	assert_string_equal(buf_cstr(&b), "helloworld");
	buf_release(&b);
}

static void
test_max_zero(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "a", 1), -ENOBUFS);
	assert_int_equal(buf_printf(&b, "%d", 1), -ENOBUFS);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_release(&b);
}

/* Many small appends cross several growth steps without losing bytes. */
static void
test_growth_many_appends(void **state)
{
	enum { N = 10000 };
	struct buf b;
	size_t i;
	char c;

	(void)state;
	buf_init(&b, N);
	for (i = 0; i < N; i++) {
		c = (char)('a' + i % 26);
		assert_int_equal(buf_append(&b, &c, 1), 0);
	}
	assert_int_equal(b.len, N);
	assert_true(b.cap <= b.max);
	for (i = 0; i < N; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	assert_int_equal(b.data[N], '\0');
	assert_int_equal(buf_append(&b, "z", 1), -ENOBUFS);
	buf_release(&b);
}

static void
test_printf_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(buf_puts(&b, "227 "), 0);
	assert_int_equal(buf_printf(&b,
	    "Entering Passive Mode (%d,%d,%d,%d,%d,%d)", 127, 0, 0, 1, 4, 1),
	    0);
	assert_string_equal(buf_cstr(&b),
	    "227 Entering Passive Mode (127,0,0,1,4,1)");
	assert_int_equal(b.len, strlen(buf_cstr(&b)));
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, strlen(buf_cstr(&b)));
	buf_release(&b);
}

static void
test_printf_past_max_leaves_buffer(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 13);
	assert_int_equal(buf_printf(&b, "%s", "213 "), 0);
	assert_int_equal(buf_printf(&b, "%llu", 1234567890ULL), -ENOBUFS);
	assert_int_equal(b.len, 4);
	assert_string_equal(buf_cstr(&b), "213 ");
	assert_int_equal(buf_printf(&b, "%llu", 123456789ULL), 0);
	assert_int_equal(buf_printf(&b, "%d", 1), -ENOBUFS);
	assert_int_equal(b.len, 13);
	assert_string_equal(buf_cstr(&b), "213 123456789");
	buf_release(&b);
}

static void
test_reset_and_release_reuse(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	/* After a reset the whole cap is available again. */
	assert_int_equal(buf_puts(&b, "abcdefgh"), 0);
	assert_string_equal(buf_cstr(&b), "abcdefgh");
	buf_release(&b);
	assert_string_equal(buf_cstr(&b), "");
	/* A released buffer keeps its cap and can be used again. */
	assert_int_equal(b.max, 8);
	assert_int_equal(buf_puts(&b, "abcdefghi"), -ENOBUFS);
	assert_int_equal(buf_puts(&b, "xyz"), 0);
	assert_string_equal(buf_cstr(&b), "xyz");
	buf_release(&b);
	/* Resetting a buffer that never held anything is harmless. */
	buf_reset(&b);
	assert_string_equal(buf_cstr(&b), "");
}

static void
test_str_copy(void **state)
{
	char dst[6];

	(void)state;
	assert_int_equal(str_copy(dst, sizeof(dst), "abc"), 0);
	assert_string_equal(dst, "abc");
	assert_int_equal(str_copy(dst, sizeof(dst), "abcde"), 0);
	assert_string_equal(dst, "abcde");
	assert_int_equal(str_copy(dst, sizeof(dst), ""), 0);
	assert_string_equal(dst, "");
}

/* A name that does not fit is refused whole, never cut short. */
static void
test_str_copy_too_long(void **state)
{
	char dst[6];

	(void)state;
	memcpy(dst, "keep!", 6);
	assert_int_equal(str_copy(dst, sizeof(dst), "abcdef"), -ENAMETOOLONG);
	assert_string_equal(dst, "keep!");
	assert_int_equal(str_copy(dst, 0, ""), -ENAMETOOLONG);
	assert_string_equal(dst, "keep!");
}

static void
test_str_fmt(void **state)
{
	char dst[8];

	(void)state;
	assert_int_equal(str_fmt(dst, sizeof(dst), "%s/%d", "ab", 1234), 0);
	assert_string_equal(dst, "ab/1234");
	assert_int_equal(str_fmt(dst, sizeof(dst), "%s", ""), 0);
	assert_string_equal(dst, "");
}

/*
 * Too long is an error.  Callers still print err buffers filled this way,
 * so whatever is left must be a terminated string inside dst.
 */
static void
test_str_fmt_too_long(void **state)
{
	char dst[9];

	(void)state;
	memset(dst, 'z', sizeof(dst));
	assert_int_equal(str_fmt(dst + 1, 8, "%s/%d", "ab", 12345),
	    -ENAMETOOLONG);
	assert_non_null(memchr(dst + 1, '\0', 8));
	assert_int_equal(dst[0], 'z');
}

/* Byte counts for the log and the command line, at each unit's edges. */
static void
test_str_bytes(void **state)
{
	static const struct {
		uint64_t	 n;
		const char	*want;
	} t[] = {
		{ 0, "0 bytes" }, { 1023, "1023 bytes" }, { 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" }, { 1048575, "1024.0 KiB" },
		{ 1048576, "1.0 MiB" }, { 35 * 1048576ull, "35.0 MiB" },
		{ 1ull << 30, "1.00 GiB" }, { UINT64_MAX, "17179869184.00 GiB" },
	};
	char out[STR_BYTES_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		str_bytes(t[i].n, out);
		assert_string_equal(out, t[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_empty_string),
		cmocka_unit_test(test_append_keeps_bytes_and_nul),
		cmocka_unit_test(test_append_binary),
		cmocka_unit_test(test_append_up_to_max),
		cmocka_unit_test(test_append_past_max_leaves_buffer),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_growth_many_appends),
		cmocka_unit_test(test_printf_appends),
		cmocka_unit_test(test_printf_past_max_leaves_buffer),
		cmocka_unit_test(test_reset_and_release_reuse),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_str_copy_too_long),
		cmocka_unit_test(test_str_fmt),
		cmocka_unit_test(test_str_fmt_too_long),
		cmocka_unit_test(test_str_bytes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
