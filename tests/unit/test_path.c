/*
 * Tests for path: turning what an FTP client typed into a path inside the
 * shared folder, or refusing it.
 *
 * What a user would notice: "cd .." at the top stays at the top instead of
 * escaping; "a//b/./c/" names the same file as "a/b/c"; names with control
 * bytes (which could forge log lines or replies) are refused; the node's
 * private ".shoal" folder cannot be reached by any spelling, while a file
 * that merely starts with ".shoal" can; too-long names are refused, never
 * cut short.  The prefix test resolves a heap copy of exactly arglen bytes,
 * so AddressSanitizer reports any read past arglen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/path.h"

/*
 * A heap copy of exactly n bytes, with no NUL after them.  Even for n == 0
 * this is a distinct allocation (glibc and ASan both give one), so reading
 * any byte of an empty input is reported.
 */
static char *
exact_copy(const char *s, size_t n)
{
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return (p);
}

/* Resolves a NUL-terminated arg through an exact-length heap copy. */
static int
resolve(const char *cwd, const char *arg, char *out, size_t outsize)
{
	size_t n = strlen(arg);
	char *p = exact_copy(arg, n);
	int rc;

	rc = path_resolve(cwd, p, n, out, outsize);
	free(p);
	return (rc);
}

static void
join3(char *dst, size_t size, const char *a, const char *b, const char *c)
{
	int n = snprintf(dst, size, "%s%s%s", a, b, c);

	assert_true(n >= 0 && (size_t)n < size);
}

struct path_case {
	const char	*cwd;
	const char	*arg;
	const char	*want;
};

static void
test_normalise(void **state)
{
	static const struct path_case cases[] = {
		{ "", "", "" },
		{ "", "/", "" },
		{ "", "//", "" },
		{ "", ".", "" },
		{ "", "a", "a" },
		{ "", "/a", "a" },
		{ "", "a/", "a" },
		{ "", "a//b/./c/", "a/b/c" },
		{ "", "///a///b///", "a/b" },
		{ "", "./a/./b/.", "a/b" },
		{ "a/b", "", "a/b" },
		{ "a/b", ".", "a/b" },
		{ "a/b", "c", "a/b/c" },
		{ "a/b", "c/d.txt", "a/b/c/d.txt" },
		{ "a/b", "/c", "c" },
		{ "a/b", "/", "" },
		{ "a/b", "..", "a" },
		{ "a/b", "../x", "a/x" },
		{ "a/bb/ccc", "../../d", "a/d" },
		{ "", "a/bb/ccc/../../d", "a/d" },
		{ "a", "b/../../c", "c" },
		/* Dots that are not "." or ".." are ordinary names. */
		{ "", "...", "..." },
		{ "", "a/.../b", "a/.../b" },
		{ "", "..a/.b/b.", "..a/.b/b." },
		/* Spaces and UTF-8 are ordinary bytes. */
		{ "", "my file.txt", "my file.txt" },
		{ "", "caf\xc3\xa9/\xe2\x82\xac", "caf\xc3\xa9/\xe2\x82\xac" },
	};
	char out[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'X', sizeof(out));
		assert_int_equal(resolve(cases[i].cwd, cases[i].arg, out,
		    sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
}

/* ".." above the shared folder stays at its root, as in a chroot. */
static void
test_dotdot_clamps_at_root(void **state)
{
	static const struct path_case cases[] = {
		{ "", "..", "" },
		{ "", "/..", "" },
		{ "", "../../../..", "" },
		{ "", "../etc/passwd", "etc/passwd" },
		{ "", "/../../etc/passwd", "etc/passwd" },
		{ "a", "../..", "" },
		{ "a/b", "../../../../x", "x" },
		{ "a", "/a/../../b", "b" },
	};
	char out[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(resolve(cases[i].cwd, cases[i].arg, out,
		    sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
}

static void
test_control_bytes_refused(void **state)
{
	static const char *const bad[] = {
		"a\001b", "a\nb", "a\rb", "\t", "x/\x1f", "\x7f", "a/\x7f/b",
		"a\r\n250 OK",
	};
	char out[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(resolve("d", bad[i], out, sizeof(out)),
		    -EINVAL);
		/* A caller that prints out after a failure prints nothing. */
		assert_string_equal(out, "");
	}
}

/* arglen counts an embedded NUL: the name is not silently cut at it. */
static void
test_embedded_nul_refused(void **state)
{
	static const char arg[] = { 'a', '\0', 'b' };
	static const char tail[] = { 'a', '/', '\0' };
	char out[PATH_LEN_MAX + 1];
	char *p;

	(void)state;
	p = exact_copy(arg, sizeof(arg));
	assert_int_equal(path_resolve("", p, sizeof(arg), out, sizeof(out)),
	    -EINVAL);
	free(p);
	p = exact_copy(tail, sizeof(tail));
	assert_int_equal(path_resolve("", p, sizeof(tail), out, sizeof(out)),
	    -EINVAL);
	free(p);
	p = exact_copy("\0", 1);
	assert_int_equal(path_resolve("", p, 1, out, sizeof(out)), -EINVAL);
	free(p);
}

static void
test_private_folder_refused(void **state)
{
	/* Each is refused and leaves out empty, as want says. */
	static const struct path_case bad[] = {
		{ "", ".shoal", "" },
		{ "", "/.shoal", "" },
		{ "", ".shoal/", "" },
		{ "", "./.shoal", "" },
		{ "", ".shoal/shoal.conf", "" },
		{ "", ".shoal/tls/key.pem", "" },
		{ "", "/a/../.shoal/x", "" },
		{ "", "a/b/../../.shoal", "" },
		{ "", "//.shoal//x", "" },
		{ "", "../.shoal", "" },
		{ "a", "../.shoal/index.db", "" },
		{ "a/b", "/.shoal", "" },
		{ "", ".shoal/x/../y", "" },
	};
	char out[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(resolve(bad[i].cwd, bad[i].arg, out,
		    sizeof(out)), -EACCES);
		assert_string_equal(out, bad[i].want);
	}
}

/* Names that only look like the private folder are ordinary files. */
static void
test_private_lookalikes_allowed(void **state)
{
	static const struct path_case ok[] = {
		{ "", ".shoalx", ".shoalx" },
		{ "", ".shoal.txt", ".shoal.txt" },
		{ "", "shoal", "shoal" },
		{ "", ".shoa", ".shoa" },
		{ "", "x.shoal", "x.shoal" },
		{ "", ".shoal/..", "" },
		{ "", ".shoal/../a", "a" },
	};
	char out[PATH_LEN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(resolve(ok[i].cwd, ok[i].arg, out,
		    sizeof(out)), 0);
		assert_string_equal(out, ok[i].want);
	}
}

static void
test_name_too_long(void **state)
{
	char name[PATH_NAME_MAX + 2];
	char arg[PATH_NAME_MAX + 8];
	char out[PATH_LEN_MAX + 1];

	(void)state;
	memset(name, 'n', PATH_NAME_MAX);
	name[PATH_NAME_MAX] = '\0';
	assert_int_equal(resolve("", name, out, sizeof(out)), 0);
	assert_string_equal(out, name);

	name[PATH_NAME_MAX] = 'n';
	name[PATH_NAME_MAX + 1] = '\0';
	assert_int_equal(resolve("", name, out, sizeof(out)), -ENAMETOOLONG);
	assert_string_equal(out, "");

	/* Also as a folder in the middle, and even if ".." would drop it. */
	join3(arg, sizeof(arg), "a/", name, "/b");
	assert_int_equal(resolve("", arg, out, sizeof(out)), -ENAMETOOLONG);
	join3(arg, sizeof(arg), "", name, "/..");
	assert_int_equal(resolve("", arg, out, sizeof(out)), -ENAMETOOLONG);
}

/*
 * The whole result must fit out, NUL included: the longest path that fits
 * is returned whole and one byte more is refused, never truncated.
 */
static void
test_total_too_long(void **state)
{
	char cwd[PATH_LEN_MAX + 1];
	char out[PATH_LEN_MAX + 1];
	char small[8];
	size_t i, len = 0;

	(void)state;
	/* 15 names of 255 bytes and one of 254, with 15 slashes: 4094. */
	for (i = 0; i < 16; i++) {
		if (i > 0)
			cwd[len++] = '/';
		memset(cwd + len, 'a' + (int)i, i < 15 ? 255 : 254);
		len += i < 15 ? 255 : 254;
	}
	cwd[len] = '\0';
	assert_int_equal(len, PATH_LEN_MAX - 2);

	assert_int_equal(resolve(cwd, "z", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PATH_LEN_MAX);
	assert_memory_equal(out, cwd, len);
	assert_string_equal(out + len, "/z");
	assert_int_equal(resolve(cwd, "zz", out, sizeof(out)), -ENAMETOOLONG);
	assert_string_equal(out, "");

	/* Small output buffers follow the same rule. */
	assert_int_equal(resolve("", "abc/def", small, sizeof(small)), 0);
	assert_string_equal(small, "abc/def");
	assert_int_equal(resolve("", "abc/defg", small, sizeof(small)),
	    -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(resolve("", "abcdefg/../x", small, sizeof(small)),
	    0);
	assert_string_equal(small, "x");
	assert_int_equal(resolve("", "/", small, 1), 0);
	assert_string_equal(small, "");
	assert_int_equal(resolve("", "a", small, 1), -ENAMETOOLONG);
	memset(small, 'q', sizeof(small));
	assert_int_equal(resolve("", "a", small, 0), -ENAMETOOLONG);
	assert_int_equal(small[0], 'q');
}

/* A huge argument is refused up front, whatever it would normalise to. */
static void
test_huge_argument(void **state)
{
	enum { N = 3 * PATH_LEN_MAX };
	char out[PATH_LEN_MAX + 1];
	char *arg;
	size_t i;

	(void)state;
	arg = malloc(N + 1);
	assert_non_null(arg);
	for (i = 0; i < N; i++)
		arg[i] = i % 2 ? '/' : 'a';
	arg[N] = '\0';
	assert_int_equal(resolve("", arg, out, sizeof(out)), -ENAMETOOLONG);
	assert_string_equal(out, "");
	free(arg);
}

struct prefix_case {
	int		 rc;
	const char	*want;
};

/*
 * The same argument cut at every byte resolves to what that prefix spells:
 * "/x/." is x, one more byte makes "/x/.." the root, and ".shoal" is only
 * refused until the next byte makes it ".shoalx".
 */
static void
test_every_prefix(void **state)
{
	static const char arg[] = "/x/../.shoalx/...";
	static const struct prefix_case want[] = {
		{ 0, "d" },		/* "" is the cwd */
		{ 0, "" },		/* "/" */
		{ 0, "x" },		/* "/x" */
		{ 0, "x" },		/* "/x/" */
		{ 0, "x" },		/* "/x/." */
		{ 0, "" },		/* "/x/.." */
		{ 0, "" },		/* "/x/../" */
		{ 0, "" },		/* "/x/../." */
		{ 0, ".s" },
		{ 0, ".sh" },
		{ 0, ".sho" },
		{ 0, ".shoa" },
		{ -EACCES, "" },	/* "/x/../.shoal" */
		{ 0, ".shoalx" },
		{ 0, ".shoalx" },	/* ".shoalx/" */
		{ 0, ".shoalx" },	/* ".shoalx/." */
		{ 0, "" },		/* ".shoalx/.." */
		{ 0, ".shoalx/..." },
	};
	static const char rel[] = "../y\n";
	static const struct prefix_case rwant[] = {
		{ 0, "d/e" },		/* "" */
		{ 0, "d/e" },		/* "." */
		{ 0, "d" },		/* ".." */
		{ 0, "d" },		/* "../" */
		{ 0, "d/y" },		/* "../y" */
		{ -EINVAL, "" },	/* "../y\n" */
	};
	char out[PATH_LEN_MAX + 1];
	size_t n;
	char *p;

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), sizeof(arg));
	for (n = 0; n < sizeof(arg); n++) {
		p = exact_copy(arg, n);
		memset(out, 'X', sizeof(out));
		assert_int_equal(path_resolve("d", p, n, out, sizeof(out)),
		    want[n].rc);
		assert_string_equal(out, want[n].want);
		free(p);
	}
	assert_int_equal(sizeof(rwant) / sizeof(rwant[0]), sizeof(rel));
	for (n = 0; n < sizeof(rel); n++) {
		p = exact_copy(rel, n);
		assert_int_equal(path_resolve("d/e", p, n, out, sizeof(out)),
		    rwant[n].rc);
		assert_string_equal(out, rwant[n].want);
		free(p);
	}
}

static void
test_is_private(void **state)
{
	(void)state;
	assert_true(path_is_private(".shoal"));
	assert_true(path_is_private(".shoal/tls/key.pem"));
	assert_false(path_is_private(""));
	assert_false(path_is_private(".shoalx"));
	assert_false(path_is_private(".shoa"));
	assert_false(path_is_private("a/.shoal2"));
}

static void
test_base(void **state)
{
	(void)state;
	assert_string_equal(path_base(""), "");
	assert_string_equal(path_base("a"), "a");
	assert_string_equal(path_base("a/b/c.txt"), "c.txt");
}

static void
test_valid(void **state)
{
	char big[PATH_NAME_MAX + 2], out[8];

	(void)state;
	assert_true(path_valid("a"));
	assert_true(path_valid("a/b/c.txt"));
	assert_true(path_valid("v1..v2"));
	assert_true(path_valid(".shoalx/a"));
	assert_true(path_valid("sub/.shoal"));
	assert_false(path_valid(""));
	assert_false(path_valid("Icon\r"));
	assert_false(path_valid("sub/Icon\r"));
	assert_false(path_valid("a\x7f"));
	assert_false(path_valid("a\tb/c"));
	assert_false(path_valid("../a"));
	assert_false(path_valid("a/../b"));
	assert_false(path_valid("./a"));
	assert_false(path_valid("a//b"));
	assert_false(path_valid("/a"));
	assert_false(path_valid("a/"));
	assert_false(path_valid(".shoal"));
	assert_false(path_valid(".shoal/node_id"));
	memset(big, 'a', PATH_NAME_MAX + 1);
	big[PATH_NAME_MAX + 1] = '\0';
	assert_false(path_valid(big));
	big[PATH_NAME_MAX] = '\0';
	assert_true(path_valid(big));
	assert_string_equal(path_printable("Icon\r", out, sizeof(out)),
	    "Icon?");
	assert_string_equal(path_printable("abcdefghij", out, sizeof(out)),
	    "abcdefg");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_dotdot_clamps_at_root),
		cmocka_unit_test(test_control_bytes_refused),
		cmocka_unit_test(test_embedded_nul_refused),
		cmocka_unit_test(test_private_folder_refused),
		cmocka_unit_test(test_private_lookalikes_allowed),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_total_too_long),
		cmocka_unit_test(test_huge_argument),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_is_private),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_valid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
