/*
 * s3_keys: the access-key file and its in-memory copy (see s3_keys.h).
 *
 * The file is read whole into an array on the first lookup and again
 * whenever stat(2) shows another inode, size or mtime, the way auth.c
 * watches the users file; a line that does not parse is skipped.  Edits
 * (the CLI) read, change and rewrite the file under an flock(2) on
 * PATH.lock, so two `shoal s3 key add` at once both land; the rewrite is
 * a temp file (mode 0600), fsync, rename and an fsync of the folder.
 */
#include "front/s3/s3_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"

struct key {
	char ak[S3_AK_LEN + 1];
	char secret[S3_SECRET_LEN + 1];
	char account[AUTH_NAME_MAX + 1];
};

struct s3_keys {
	pthread_mutex_t mu;
	char *path;
	struct key *keys;
	size_t n;
	struct stat seen;
	bool loaded;
	bool warned; /* an unreadable file, logged once */
};

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool
s3_keys_valid_ak(const char *s)
{
	if (strlen(s) != S3_AK_LEN || s[0] != 'A' || s[1] != 'K')
		return (false);
	for (size_t i = 2; i < S3_AK_LEN; i++)
		if (strchr(b32, s[i]) == NULL || s[i] == '\0')
			return (false);
	return (true);
}

static bool
valid_secret(struct span s)
{
	if (s.len != S3_SECRET_LEN)
		return (false);
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '\0' || strchr(b64, s.p[i]) == NULL)
			return (false);
	return (true);
}

static void
wipe_keys(struct key *k, size_t n)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k, n * sizeof(*k));
	free(k);
}

/* Reads path into a fresh array; a missing file is no key.  0 or
 * -errno. */
static int
load_file(const char *path, struct key **out, size_t *nout)
{
	struct key *a = NULL, *na;
	size_t n = 0;
	char line[256];
	FILE *f;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if ((f = fopen(path, "re")) == NULL)
		return (errno == ENOENT ? 0 : -errno);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct cursor c;
		struct span ak, secret, account;
		size_t len = strcspn(line, "\n");

		line[len] = '\0';
		cur_init(&c, line, len);
		ak = cur_until(&c, ' ');
		(void)cur_eat(&c, ' ');
		secret = cur_until(&c, ' ');
		(void)cur_eat(&c, ' ');
		account = cur_rest(&c);
		if (ak.len != S3_AK_LEN || !valid_secret(secret) ||
		    account.len == 0 || account.len > AUTH_NAME_MAX ||
		    n >= S3_KEYS_MAX)
			continue;
		if ((na = realloc(a, (n + 1) * sizeof(*a))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		a = na;
		memset(&a[n], 0, sizeof(a[n]));
		memcpy(a[n].ak, ak.p, ak.len);
		memcpy(a[n].secret, secret.p, secret.len);
		memcpy(a[n].account, account.p, account.len);
		if (!s3_keys_valid_ak(a[n].ak) ||
		    !auth_valid_name(a[n].account))
			continue;
		n++;
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (rc < 0) {
		wipe_keys(a, n);
		return (rc);
	}
	*out = a;
	*nout = n;
	return (0);
}

struct s3_keys *
s3_keys_new(const char *path)
{
	struct s3_keys *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return (NULL);
	if ((k->path = strdup(path)) == NULL) {
		free(k);
		return (NULL);
	}
	pthread_mutex_init(&k->mu, NULL);
	return (k);
}

void
s3_keys_free(struct s3_keys *k)
{
	if (k == NULL)
		return;
	wipe_keys(k->keys, k->n);
	free(k->path);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

/* Reloads the file if it changed since the last load; caller holds mu. */
static void
refresh(struct s3_keys *k)
{
	struct key *a;
	struct stat st;
	size_t n;
	int rc;

	if (stat(k->path, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (k->loaded && st.st_ino == k->seen.st_ino &&
	    st.st_size == k->seen.st_size &&
	    st.st_mtim.tv_sec == k->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->seen.st_mtim.tv_nsec)
		return;
	if ((rc = load_file(k->path, &a, &n)) < 0) {
		if (!k->warned)
			log_warnx("s3: %s: %s", k->path, strerror(-rc));
		k->warned = true;
		return;
	}
	k->warned = false;
	wipe_keys(k->keys, k->n);
	k->keys = a;
	k->n = n;
	k->seen = st;
	k->loaded = true;
}

int
s3_keys_lookup(struct s3_keys *k, const char *ak, char *account, char *secret)
{
	int rc = -ENOENT;

	account[0] = '\0';
	secret[0] = '\0';
	if (!s3_keys_valid_ak(ak))
		return (-ENOENT);
	pthread_mutex_lock(&k->mu);
	refresh(k);
	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->keys[i].ak, ak) != 0)
			continue;
		memcpy(account, k->keys[i].account, AUTH_NAME_MAX + 1);
		memcpy(secret, k->keys[i].secret, S3_SECRET_LEN + 1);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&k->mu);
	return (rc);
}

/* --- edits --- */

/* An exclusive lock on PATH.lock for a read-modify-write; the fd. */
static int
lock_file(const char *path)
{
	char lk[FS_PATH_MAX];
	int fd;

	if (str_fmt(lk, sizeof(lk), "%s.lock", path) < 0)
		return (-ENAMETOOLONG);
	if ((fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return (-errno);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;

		close(fd);
		return (-e);
	}
	return (fd);
}

static int
fsync_dir_of(const char *path)
{
	char d[FS_PATH_MAX];
	int fd, rc = 0;

	if (str_copy(d, sizeof(d), path) < 0)
		return (-ENAMETOOLONG);
	if ((fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return (-errno);
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return (rc);
}

static int
save_file(const char *path, const struct key *a, size_t n)
{
	char tmp[FS_PATH_MAX];
	FILE *f;
	int fd;

	if (str_fmt(tmp, sizeof(tmp), "%s.new", path) < 0)
		return (-ENAMETOOLONG);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
	    0)
		return (-errno);
	/* SECURITY: 0600 whatever the umask or a stale temp file's mode. */
	if (fchmod(fd, 0600) < 0 || (f = fdopen(fd, "w")) == NULL) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return (-e);
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s %s\n", a[i].ak, a[i].secret, a[i].account);
	if (fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(tmp);
		return (-EIO);
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return (-e);
	}
	return (fsync_dir_of(path));
}

/* n characters of alphabet[64 or 32] from RAND_bytes, unbiased (both
 * sizes divide 256). */
static int
random_text(char *out, size_t n, const char *alphabet, size_t size)
{
	unsigned char r[64];

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return (-EIO);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[r[i] % size];
	out[n] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return (0);
}

int
s3_keys_file_add(const char *path, const char *account, char *ak, char *secret)
{
	struct key *a = NULL, *na;
	size_t n = 0;
	int lk, rc;

	if (!auth_valid_name(account))
		return (-EINVAL);
	if ((lk = lock_file(path)) < 0)
		return (lk);
	if ((rc = load_file(path, &a, &n)) < 0)
		goto out;
	if (n >= S3_KEYS_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	if ((na = realloc(a, (n + 1) * sizeof(*a))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	a = na;
	memset(&a[n], 0, sizeof(a[n]));
	for (bool fresh = false; !fresh;) {
		memcpy(a[n].ak, "AK", 2);
		if ((rc = random_text(a[n].ak + 2, S3_AK_LEN - 2, b32, 32)) < 0)
			goto out;
		fresh = true;
		for (size_t i = 0; i < n; i++)
			if (strcmp(a[i].ak, a[n].ak) == 0)
				fresh = false;
	}
	if ((rc = random_text(a[n].secret, S3_SECRET_LEN, b64, 64)) < 0)
		goto out;
	(void)str_copy(a[n].account, sizeof(a[n].account), account);
	n++;
	if ((rc = save_file(path, a, n)) < 0)
		goto out;
	memcpy(ak, a[n - 1].ak, S3_AK_LEN + 1);
	memcpy(secret, a[n - 1].secret, S3_SECRET_LEN + 1);
out:
	wipe_keys(a, n);
	close(lk);
	return (rc);
}

int
s3_keys_file_del(const char *path, const char *ak)
{
	struct key *a = NULL;
	size_t n = 0, i;
	int lk, rc;

	if ((lk = lock_file(path)) < 0)
		return (lk);
	if ((rc = load_file(path, &a, &n)) < 0)
		goto out;
	for (i = 0; i < n && strcmp(a[i].ak, ak) != 0; i++)
		;
	if (i == n) {
		rc = -ENOENT;
		goto out;
	}
	OPENSSL_cleanse(&a[i], sizeof(a[i]));
	memmove(&a[i], &a[i + 1], (n - i - 1) * sizeof(*a));
	n--;
	rc = save_file(path, a, n);
out:
	wipe_keys(a, n);
	close(lk);
	return (rc);
}

int
s3_keys_file_list(const char *path,
		  int (*fn)(void *arg, const char *ak, const char *account),
		  void *arg)
{
	struct key *a;
	size_t n;
	int rc;

	if ((rc = load_file(path, &a, &n)) < 0)
		return (rc);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = fn(arg, a[i].ak, a[i].account);
	wipe_keys(a, n);
	return (rc);
}
