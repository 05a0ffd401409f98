/*
 * fuzz_path: feeds arbitrary bytes to path_resolve as a working directory
 * and an argument, the two things an FTP client controls.
 *
 * Input layout: the bytes before the first '\n' are the cwd, the rest is
 * the argument; with no '\n' the cwd is the root.  '\n' is a control byte,
 * so no legal cwd needs it, and any later '\n' stays in the argument where
 * it must be refused.  The cwd is normalised first with path_resolve from
 * the root, as CWD would have done, because a session never holds a cwd
 * that did not come out of path_resolve; if that fails the root is used.
 *
 * On success the result must be a normalised path as path.h defines it: no
 * "//", no leading or trailing '/', no "." or ".." component, no name over
 * PATH_NAME_MAX, no control byte, not the private folder, shorter than the
 * buffer.  Resolving it again from the root, or as an absolute path from
 * any cwd, must give it back unchanged.  The same call into a buffer of
 * exactly the result's size must give the same string or -ENAMETOOLONG,
 * and into one byte less must give -ENAMETOOLONG: those buffers are on the
 * heap so ASan sees a write past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/path.h"

/* Unlike assert(), survives NDEBUG: in a harness the check is the point. */
#define CHECK(e)                                                        \
	do {                                                            \
		if (!(e)) {                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #e);                    \
			abort();                                        \
		}                                                       \
	} while (0)

#define OUT_SIZE	(PATH_LEN_MAX + 1)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A heap copy of exactly n bytes, so ASan sees any read past the end. */
static char *
dup_exact(const void *p, size_t n)
{
	char *s;

	if ((s = malloc(n)) == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	return (s);
}

static void
check_normalised(const char *s, size_t outsize)
{
	const char *p, *name;
	size_t len, n;

	len = strnlen(s, outsize);
	CHECK(len < outsize);
	CHECK(!path_is_private(s));
	if (len == 0)
		return;		/* the root */
	CHECK(s[0] != '/' && s[len - 1] != '/');
	CHECK(strstr(s, "//") == NULL);
	for (p = s; *p != '\0'; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
	for (name = s; name != NULL; name = p ? p + 1 : NULL) {
		p = strchr(name, '/');
		n = p ? (size_t)(p - name) : strlen(name);
		CHECK(n > 0 && n <= PATH_NAME_MAX);
		CHECK(!(n == 1 && name[0] == '.'));
		CHECK(!(n == 2 && name[0] == '.' && name[1] == '.'));
	}
	p = path_base(s);
	CHECK(p >= s && p < s + len && strchr(p, '/') == NULL);
}

/* Resolves again into a heap buffer of exactly outsize bytes. */
static int
resolve_into(const char *cwd, const char *arg, size_t arglen,
    size_t outsize, const char *want)
{
	char *out;
	int rc;

	if ((out = malloc(outsize)) == NULL)
		abort();
	rc = path_resolve(cwd, arg, arglen, out, outsize);
	if (rc == 0)
		CHECK(strcmp(out, want) == 0);
	free(out);
	return (rc);
}

static void
check_stable(const char *cwd, const char *arg, size_t arglen,
    const char *res)
{
	size_t len = strlen(res);
	char *abs;
	int rc;

	/* Already normalised, so from the root it maps to itself. */
	CHECK(resolve_into("", res, len, OUT_SIZE, res) == 0);

	/* An absolute path ignores the cwd. */
	if (len + 1 <= PATH_LEN_MAX) {
		if ((abs = malloc(len + 1)) == NULL)
			abort();
		abs[0] = '/';
		memcpy(abs + 1, res, len);
		CHECK(resolve_into(cwd, abs, len + 1, OUT_SIZE, res) == 0);
		free(abs);
	}

	/*
	 * An exact fit may still fail: a name later removed by ".." needed
	 * room on the way.  One byte less can never hold the result.
	 */
	rc = resolve_into(cwd, arg, arglen, len + 1, res);
	CHECK(rc == 0 || rc == -ENAMETOOLONG);
	if (len > 0)
		CHECK(resolve_into(cwd, arg, arglen, len, res) ==
		    -ENAMETOOLONG);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cwd[OUT_SIZE];
	const uint8_t *nl, *a;
	char *raw, *arg, *out;
	size_t rawlen, arglen;
	int rc;

	if ((nl = memchr(data, '\n', size)) != NULL) {
		rawlen = (size_t)(nl - data);
		a = nl + 1;
		arglen = size - rawlen - 1;
	} else {
		rawlen = 0;
		a = data;
		arglen = size;
	}

	raw = dup_exact(data, rawlen);
	if (path_resolve("", raw, rawlen, cwd, sizeof(cwd)) == 0)
		check_normalised(cwd, sizeof(cwd));
	else
		cwd[0] = '\0';
	free(raw);

	arg = dup_exact(a, arglen);
	if ((out = malloc(OUT_SIZE)) == NULL)
		abort();
	rc = path_resolve(cwd, arg, arglen, out, OUT_SIZE);
	if (rc == 0) {
		check_normalised(out, OUT_SIZE);
		check_stable(cwd, arg, arglen, out);
	} else
		CHECK(rc == -EINVAL || rc == -ENAMETOOLONG || rc == -EACCES);
	free(out);
	free(arg);
	return (0);
}
