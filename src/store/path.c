/*
 * path: normalisation by a single left-to-right pass that keeps a stack of
 * component start offsets in out, so ".." pops in O(1).  Invariant after
 * each component: out holds a normalised path.
 */
#include "store/path.h"

#include <errno.h>
#include <string.h>

static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 || c == 0x7f);
}

bool
path_is_private(const char *norm)
{
	size_t n = strlen(PATH_PRIVATE);

	return (strncmp(norm, PATH_PRIVATE, n) == 0 &&
	    (norm[n] == '\0' || norm[n] == '/'));
}

const char *
path_base(const char *norm)
{
	const char *s = strrchr(norm, '/');

	return (s ? s + 1 : norm);
}

/* Appends one component (not "." or "..") to out at *len. */
static int
push_name(char *out, size_t outsize, size_t *len, const char *p, size_t n)
{
	size_t need = n + (*len ? 1 : 0);

	if (n > PATH_NAME_MAX)
		return (-ENAMETOOLONG);
	if (need >= outsize - *len)
		return (-ENAMETOOLONG);
	if (*len)
		out[(*len)++] = '/';
	memcpy(out + *len, p, n);
	*len += n;
	out[*len] = '\0';
	return (0);
}

static void
pop_name(char *out, size_t *len)
{
	while (*len > 0 && out[*len - 1] != '/')
		(*len)--;
	if (*len > 0)
		(*len)--;	/* the separator */
	out[*len] = '\0';
}

static int
walk(char *out, size_t outsize, size_t *len, const char *p, size_t n)
{
	size_t i = 0, start;
	int rc;

	while (i < n) {
		while (i < n && p[i] == '/')
			i++;
		start = i;
		while (i < n && p[i] != '/') {
			if (is_ctl((unsigned char)p[i]))
				return (-EINVAL);
			i++;
		}
		if (i == start)
			break;
		if (i - start == 1 && p[start] == '.')
			continue;
		if (i - start == 2 && p[start] == '.' && p[start + 1] == '.') {
			pop_name(out, len);
			continue;
		}
		if ((rc = push_name(out, outsize, len, p + start, i - start)) < 0)
			return (rc);
	}
	return (0);
}

int
path_resolve(const char *cwd, const char *arg, size_t arglen, char *out,
    size_t outsize)
{
	size_t len = 0;
	int rc;

	if (outsize == 0)
		return (-ENAMETOOLONG);
	out[0] = '\0';
	if (arglen > PATH_LEN_MAX)
		return (-ENAMETOOLONG);
	if (arglen == 0 || arg[0] != '/') {
		if ((rc = walk(out, outsize, &len, cwd, strlen(cwd))) < 0)
			return (rc);
	}
	if ((rc = walk(out, outsize, &len, arg, arglen)) < 0) {
		out[0] = '\0';
		return (rc);
	}
	if (path_is_private(out)) {
		out[0] = '\0';
		return (-EACCES);
	}
	return (0);
}

bool
path_valid(const char *p)
{
	char norm[PATH_LEN_MAX + 1];
	size_t len = strlen(p);

	if (len == 0)
		return (false);
	return (path_resolve("", p, len, norm, sizeof(norm)) == 0 &&
	    strcmp(norm, p) == 0);
}

const char *
path_printable(const char *p, char *out, size_t outsize)
{
	size_t i;

	if (outsize == 0)
		return (out);
	for (i = 0; p[i] != '\0' && i + 1 < outsize; i++)
		out[i] = is_ctl((unsigned char)p[i]) ? '?' : p[i];
	out[i] = '\0';
	return (out);
}
