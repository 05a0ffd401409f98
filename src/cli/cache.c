/*
 * cache: KEY.data holds a copy, KEY.etag its ETag; a copy is written as
 * KEY.part and renamed, so a broken download never poses as a copy.  The
 * mtime of KEY.data is its last use.
 */
#include "cli/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "base/parse.h"

static int
mkdirs(const char *path)
{
	char p[FS_PATH_MAX], *s;

	if (str_copy(p, sizeof(p), path) < 0)
		return (-ENAMETOOLONG);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				return (-errno);
			*s = '/';
		}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return (-errno);
	return (0);
}

int
cache_open(struct cache *c)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *max = getenv("SHOAL_CACHE_MAX");

	uint64_t v;

	c->max = 1ull << 30;
	c->dir[0] = '\0';
	if (max &&
	    span_u64((struct span){max, strlen(max)}, UINT64_MAX, &v) == 0)
		c->max = v;
	/* SHOAL_CACHE_MAX=0: no cache at all, nothing written. */
	if (c->max == 0)
		return (0);
	if (x && x[0] == '/') {
		if (str_fmt(c->dir, sizeof(c->dir), "%s/shoal", x) < 0)
			return (-ENAMETOOLONG);
	} else if (home) {
		if (str_fmt(c->dir, sizeof(c->dir), "%s/.cache/shoal", home) <
		    0)
			return (-ENAMETOOLONG);
	} else
		return (-ENOENT);
	return (mkdirs(c->dir));
}

void
cache_key(const char *base, const char *path, char key[65])
{
	unsigned char d[32];
	unsigned int n = 32;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int i;

	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	EVP_DigestUpdate(m, base, strlen(base) + 1);
	EVP_DigestUpdate(m, path, strlen(path));
	EVP_DigestFinal_ex(m, d, &n);
	EVP_MD_CTX_free(m);
	for (i = 0; i < 32; i++)
		snprintf(key + 2 * i, 3, "%02x", d[i]);
}

static int
entry(const struct cache *c, const char *key, const char *ext, char *out,
    size_t size)
{
	return (str_fmt(out, size, "%s/%s.%s", c->dir, key, ext));
}

int
cache_etag(const struct cache *c, const char *key, char *etag, size_t size)
{
	char p[FS_PATH_MAX];
	FILE *f;

	if (entry(c, key, "data", p, sizeof(p)) < 0 || access(p, R_OK) < 0)
		return (-ENOENT);
	if (entry(c, key, "etag", p, sizeof(p)) < 0 ||
	    (f = fopen(p, "re")) == NULL)
		return (-ENOENT);
	if (fgets(etag, (int)size, f) == NULL)
		etag[0] = '\0';
	fclose(f);
	etag[strcspn(etag, "\r\n")] = '\0';
	return (etag[0] ? 0 : -ENOENT);
}

int
cache_begin(const struct cache *c, const char *key)
{
	char p[FS_PATH_MAX];

	if (entry(c, key, "part", p, sizeof(p)) < 0)
		return (-ENAMETOOLONG);
	return (open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
}

int
cache_commit(const struct cache *c, const char *key, const char *etag)
{
	char part[FS_PATH_MAX], data[FS_PATH_MAX], tag[FS_PATH_MAX];
	FILE *f;

	if (entry(c, key, "part", part, sizeof(part)) < 0 ||
	    entry(c, key, "data", data, sizeof(data)) < 0 ||
	    entry(c, key, "etag", tag, sizeof(tag)) < 0)
		return (-ENAMETOOLONG);
	if ((f = fopen(tag, "we")) == NULL)
		return (-errno);
	fprintf(f, "%s\n", etag);
	fclose(f);
	if (rename(part, data) < 0)
		return (-errno);
	return (0);
}

void
cache_discard(const struct cache *c, const char *key)
{
	char p[FS_PATH_MAX];

	if (entry(c, key, "part", p, sizeof(p)) == 0)
		(void)unlink(p);
}

/* copy_file_range does not write to pipes and terminals. */
static int
copy_to_stdout(int in)
{
	char b[65536];
	ssize_t n, w, off;
	int rc = 0;

	while (rc == 0 && (n = read(in, b, sizeof(b))) != 0) {
		if (n < 0) {
			rc = -errno;
			break;
		}
		for (off = 0; off < n; off += w)
			if ((w = write(STDOUT_FILENO, b + off,
				       (size_t)(n - off))) <= 0) {
				rc = w < 0 ? -errno : -EIO;
				break;
			}
	}
	close(in);
	return (rc);
}

int
cache_copy_out(const struct cache *c, const char *key, const char *dest)
{
	char p[FS_PATH_MAX];
	struct stat st;
	off_t left;
	ssize_t n;
	int in, out, rc = 0;

	if (entry(c, key, "data", p, sizeof(p)) < 0 ||
	    (in = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return (-ENOENT);
	(void)utimensat(AT_FDCWD, p, NULL, 0);	/* used now */
	if (dest == NULL)
		return (copy_to_stdout(in));
	if (fstat(in, &st) < 0 || (out = open(dest, O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		close(in);
		return (-errno);
	}
	for (left = st.st_size; left > 0; left -= n) {
		n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n <= 0) {
			rc = -EIO;
			break;
		}
	}
	close(in);
	if (close(out) < 0)
		rc = -EIO;
	return (rc);
}

struct used {
	char		name[80];
	struct timespec	when;
	uint64_t	size;
};

static int
by_age(const void *a, const void *b)
{
	const struct used *x = a, *y = b;

	if (x->when.tv_sec != y->when.tv_sec)
		return (x->when.tv_sec < y->when.tv_sec ? -1 : 1);
	return (x->when.tv_nsec < y->when.tv_nsec ? -1 :
	    x->when.tv_nsec > y->when.tv_nsec);
}

void
cache_evict(const struct cache *c, const char *keep)
{
	struct used *v = NULL, *nv;
	size_t n = 0, cap = 0, i;
	uint64_t total = 0;
	struct dirent *de;
	struct stat st;
	char p[FS_PATH_MAX];
	DIR *d;

	if ((d = opendir(c->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l != 69 || strcmp(de->d_name + 64, ".data") != 0 ||
		    (keep && strncmp(de->d_name, keep, 64) == 0) ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		memcpy(v[n].name, de->d_name, 65);
		v[n].name[64] = '\0';
		v[n].when = st.st_mtim;
		v[n].size = (uint64_t)st.st_size;
		total += v[n].size;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), by_age);
	/* The copy being kept counts against the limit too. */
	if (keep) {
		char p2[FS_PATH_MAX];

		if (entry(c, keep, "data", p2, sizeof(p2)) == 0 &&
		    stat(p2, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	for (i = 0; i < n && total > c->max; i++) {
		if (entry(c, v[i].name, "data", p, sizeof(p)) == 0)
			(void)unlink(p);
		if (entry(c, v[i].name, "etag", p, sizeof(p)) == 0)
			(void)unlink(p);
		total -= v[i].size;
	}
	free(v);
}
