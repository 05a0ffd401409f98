/*
 * upload: the durable write path.  While bytes arrive they are written
 * with pwritev and hashed in the same pass; every WRITEBACK_STEP bytes the
 * kernel is asked to start writing back what came before, so the final
 * fsync has little left to wait for.
 */
#include "store/upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store/hash.h"
#include "store/versions.h"

#define WRITEBACK_STEP	(8u << 20)
#define PARTIAL_DIR	"partial/"
/* "partial/" and the key */
#define PARTIAL_NAME_LEN (sizeof(PARTIAL_DIR) - 1 + UPLOAD_KEY_LEN + 1)

struct upload {
	struct store	*store;
	char		*path;
	char		 tmp[64];
	int		 fd;
	bool		 unique;
	bool		 committed;
	char		 key[UPLOAD_KEY_LEN + 1];	/* "" = none */
	uint64_t	 size;
	uint64_t	 synced;	/* writeback started up to here */
	struct hasher	 hash;
	uint8_t		*attrs;		/* or NULL: none given */
	size_t		 attrs_len;
	bool		 expect;	/* commit only over expect_sha */
	uint8_t		 expect_sha[HASH_LEN];
};

/* Copies the first len bytes of src into the upload, hashing them. */
static int
copy_prefix(struct upload *up, int src, uint64_t len)
{
	size_t cap = 1 << 20;
	struct iovec iov;
	uint8_t *b;
	ssize_t n;
	int rc = 0;

	if ((b = malloc(cap)) == NULL)
		return (-ENOMEM);
	while (len > 0) {
		n = read(src, b, len < cap ? (size_t)len : cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? store_errno(errno) : -EIO;
			break;
		}
		iov.iov_base = b;
		iov.iov_len = (size_t)n;
		if ((rc = upload_write(up, &iov, 1)) < 0)
			break;
		len -= (uint64_t)n;
	}
	free(b);
	return (rc);
}

int
upload_begin(struct store *s, const char *path, enum upload_mode mode,
    uint64_t offset, struct upload **out)
{
	struct upload *up;
	struct stat st;
	int src = -1, rc;

	if ((up = calloc(1, sizeof(*up))) == NULL)
		return (-ENOMEM);
	up->store = s;
	up->fd = -1;
	up->unique = mode == UPLOAD_UNIQUE;
	if ((up->path = strdup(path)) == NULL) {
		free(up);
		return (-ENOMEM);
	}
	if ((rc = hasher_init(&up->hash)) < 0) {
		free(up->path);
		free(up);
		return (rc);
	}
	if (mode == UPLOAD_APPEND || (mode == UPLOAD_RESUME && offset > 0)) {
		src = store_openat(s, path, O_RDONLY, 0);
		if (src < 0 && !(src == -ENOENT && mode == UPLOAD_APPEND)) {
			rc = src;
			goto fail;
		}
		if (src >= 0 && fstat(src, &st) < 0) {
			rc = store_errno(errno);
			goto fail;
		}
		if (src >= 0 && !S_ISREG(st.st_mode)) {
			rc = -EISDIR;
			goto fail;
		}
		if (mode == UPLOAD_APPEND)
			offset = src >= 0 ? (uint64_t)st.st_size : 0;
		else if (offset > (uint64_t)st.st_size) {
			rc = -EINVAL;
			goto fail;
		}
	} else
		offset = 0;
	store_tmp_name(s, up->tmp);
	up->fd = openat(s->tmp_fd, up->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0644);
	if (up->fd < 0) {
		rc = store_errno(errno);
		goto fail;
	}
	if (src >= 0 && offset > 0 && (rc = copy_prefix(up, src, offset)) < 0)
		goto fail;
	if (src >= 0)
		close(src);
	*out = up;
	return (0);
fail:
	if (src >= 0)
		close(src);
	upload_abort(up);
	return (rc);
}

int
upload_write(struct upload *up, const struct iovec *iov, int iovcnt)
{
	int rc;

	if ((rc = upload_write_data(up, iov, iovcnt)) < 0)
		return (rc);
	return (upload_hash_blocks(up, iov, iovcnt));
}

int
upload_hash_blocks(struct upload *up, const struct iovec *iov, int iovcnt)
{
	int i, rc;

	for (i = 0; i < iovcnt; i++)
		if ((rc = hasher_update_blocks(&up->hash, iov[i].iov_base,
		    iov[i].iov_len)) < 0)
			return (rc);
	return (0);
}

int
upload_write_data(struct upload *up, const struct iovec *iov, int iovcnt)
{
	uint64_t off = up->size;
	size_t want = 0, done;
	ssize_t n;
	int i, rc;

	for (i = 0; i < iovcnt; i++)
		want += iov[i].iov_len;
	for (done = 0; done < want; done += (size_t)n) {
		struct iovec rest[64];
		size_t skip = done;
		int j = 0;

		for (i = 0; i < iovcnt && j < 64; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			rest[j].iov_base = (char *)iov[i].iov_base + skip;
			rest[j].iov_len = iov[i].iov_len - skip;
			skip = 0;
			j++;
		}
		n = pwritev(up->fd, rest, j, (off_t)(off + done));
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return (n < 0 ? store_errno(errno) : -EIO);
	}
	for (i = 0; i < iovcnt; i++)
		if ((rc = hasher_update_file(&up->hash, iov[i].iov_base,
		    iov[i].iov_len)) < 0)
			return (rc);
	up->size += want;
	if (up->size - up->synced >= WRITEBACK_STEP) {
		(void)sync_file_range(up->fd, (off_t)up->synced,
		    (off_t)(up->size - up->synced), SYNC_FILE_RANGE_WRITE);
		up->synced = up->size;
	}
	return (0);
}

int
upload_flush(struct upload *up)
{
	if (fdatasync(up->fd) < 0)
		return (store_errno(errno));
	return (0);
}

int
upload_commit(struct upload *up, struct file_meta *out)
{
	struct file_meta m, old;
	bool have_old;
	struct stat st;
	const char *name;
	enum store_undo undo;
	int dfd, rc;

	memset(&m, 0, sizeof(m));
	if ((rc = hasher_final(&up->hash, m.sha256)) < 0)
		return (rc);
	if (fstat(up->fd, &st) < 0)
		return (store_errno(errno));
	if ((dfd = store_open_parent(up->store, up->path, &name)) < 0)
		return (dfd);
	if ((rc = store_busy_wait(up->store, up->path)) < 0) {
		close(dfd);
		return (rc);
	}
	/* What the commit replaces, to keep as a version. */
	have_old = index_get(up->store->index, up->path, &old) == 0;
	if ((rc = store_move_in(up->store, up->tmp, dfd, name, up->unique,
	    &undo)) < 0)
		goto out;
	up->committed = true;
	/* The answer waits for the folder: a rename not on disk is not a
	 * write anyone may rely on. */
	if (fsync(dfd) < 0) {
		rc = store_errno(errno);
		log_warn("upload: fsync of the folder of %s", up->path);
		if (store_move_back(up->store, up->tmp, dfd, name, undo) == 0)
			up->committed = false;
		goto out;
	}
	m.size = (uint64_t)st.st_size;
	m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	m.ino = (uint64_t)st.st_ino;
	m.blocks = (const uint8_t *)up->hash.blocks.data;
	m.nblocks = up->hash.blocks.len / HASH_LEN;
	m.attrs = up->attrs;
	m.attrs_len = up->attrs_len;
	rc = up->expect ? index_put_if(up->store->index, up->path, &m,
	    up->expect_sha) : index_put(up->store->index, up->path, &m);
	if (rc < 0) {
		log_warnx("upload: %s: the index refused it (%s): the file "
		    "is left as it was", up->path, strerror(-rc));
		if (store_move_back(up->store, up->tmp, dfd, name, undo) == 0)
			up->committed = false;
		goto out;
	}
	/* The replaced content, now under the temp name. */
	if (undo == STORE_UNDO_SWAP)
		(void)vers_keep(up->store, up->store->tmp_fd, up->tmp,
		    up->path, have_old ? &old : NULL, VERS_VERSION, NULL);
	if (out) {
		*out = m;
		out->blocks = NULL;
		out->nblocks = 0;
		out->attrs = NULL;
		out->attrs_len = 0;
	}
out:
	store_busy_del(up->store, up->path);
	close(dfd);
	return (rc);
}

void
upload_abort(struct upload *up)
{
	if (up == NULL)
		return;
	if (up->fd >= 0)
		close(up->fd);
	if (!up->committed && up->tmp[0])
		(void)unlinkat(up->store->tmp_fd, up->tmp, 0);
	hasher_release(&up->hash);
	free(up->attrs);
	free(up->path);
	free(up);
}

void
upload_expect(struct upload *up, const uint8_t sha[HASH_LEN])
{
	up->expect = true;
	memcpy(up->expect_sha, sha, HASH_LEN);
}

int
upload_set_attrs(struct upload *up, const void *attrs, size_t len)
{
	uint8_t *a;

	if (len > INDEX_ATTRS_MAX)
		return (-E2BIG);
	if ((a = malloc(len + 1)) == NULL)
		return (-ENOMEM);
	if (len)
		memcpy(a, attrs, len);
	free(up->attrs);
	up->attrs = a;
	up->attrs_len = len;
	return (0);
}

uint64_t
upload_size(const struct upload *up)
{
	return (up->size);
}

const char *
upload_path(const struct upload *up)
{
	return (up->path);
}

/* Partials */

static void
partial_name(const char *key, char out[PARTIAL_NAME_LEN])
{
	(void)snprintf(out, PARTIAL_NAME_LEN, "%s%s", PARTIAL_DIR, key);
}

void
upload_partial_key(const char *account, const char *path,
		   char key[UPLOAD_KEY_LEN + 1])
{
	uint8_t h[HASH_LEN];
	unsigned hlen = 0;
	EVP_MD_CTX *c;
	bool ok;

	/* The NUL between them: ("ab", "c") and ("a", "bc") differ. */
	ok = (c = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(c, account, strlen(account) + 1) == 1 &&
	     EVP_DigestUpdate(c, path, strlen(path)) == 1 &&
	     EVP_DigestFinal_ex(c, h, &hlen) == 1 && hlen == HASH_LEN;
	EVP_MD_CTX_free(c);
	if (!ok)
		fatalx("upload: SHA-256 unavailable");
	hash_hex(h, key);
}

int
upload_partial_size(struct store *s, const char *key, uint64_t *size)
{
	char name[PARTIAL_NAME_LEN];
	struct stat st;

	partial_name(key, name);
	if (fstatat(s->tmp_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (store_errno(errno));
	if (!S_ISREG(st.st_mode))
		return (-ENOENT);
	*size = (uint64_t)st.st_size;
	return (0);
}

int
upload_partial_drop(struct store *s, const char *key)
{
	char name[PARTIAL_NAME_LEN];

	partial_name(key, name);
	if (unlinkat(s->tmp_fd, name, 0) < 0 && errno != ENOENT)
		return (store_errno(errno));
	return (0);
}

/* Hashes the first len bytes of the upload's own file (a taken partial). */
static int
hash_kept(struct upload *up, uint64_t len)
{
	size_t cap = 1 << 20;
	uint8_t *b;
	uint64_t off = 0;
	ssize_t n;
	int rc = 0;

	if ((b = malloc(cap)) == NULL)
		return (-ENOMEM);
	while (off < len) {
		n = pread(up->fd, b,
			  len - off < cap ? (size_t)(len - off) : cap,
			  (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? store_errno(errno) : -EIO;
			break;
		}
		if ((rc = hasher_update(&up->hash, b, (size_t)n)) < 0)
			break;
		off += (uint64_t)n;
	}
	free(b);
	up->size = off;
	return (rc);
}

int
upload_begin_partial(struct store *s, const char *path, const char *key,
		     uint64_t offset, struct upload **out)
{
	char name[PARTIAL_NAME_LEN];
	struct upload *up;
	struct stat st;
	int rc;

	if (offset == 0) {
		if ((rc = upload_partial_drop(s, key)) < 0)
			return (rc);
		if ((rc = upload_begin(s, path, UPLOAD_NEW, 0, &up)) < 0)
			return (rc);
		(void)snprintf(up->key, sizeof(up->key), "%s", key);
		*out = up;
		return (0);
	}
	if ((up = calloc(1, sizeof(*up))) == NULL)
		return (-ENOMEM);
	up->store = s;
	up->fd = -1;
	(void)snprintf(up->key, sizeof(up->key), "%s", key);
	if ((up->path = strdup(path)) == NULL) {
		free(up);
		return (-ENOMEM);
	}
	if ((rc = hasher_init(&up->hash)) < 0) {
		free(up->path);
		free(up);
		return (rc);
	}
	/* Taken by a rename: a second resume of the same key finds none. */
	partial_name(key, name);
	store_tmp_name(s, up->tmp);
	if (renameat(s->tmp_fd, name, s->tmp_fd, up->tmp) < 0) {
		rc = store_errno(errno);
		up->tmp[0] = '\0';
		goto fail;
	}
	up->fd = openat(s->tmp_fd, up->tmp, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (up->fd < 0 || fstat(up->fd, &st) < 0) {
		rc = store_errno(errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != offset) {
		/* Not this one: it goes back untouched. */
		rc = S_ISREG(st.st_mode) ? -ERANGE : -ENOENT;
		goto fail;
	}
	if ((rc = hash_kept(up, offset)) < 0)
		goto fail;
	up->synced = up->size;
	*out = up;
	return (0);
fail:
	if (rc == -ERANGE)
		upload_suspend(up);
	else
		upload_abort(up);
	return (rc);
}

void
upload_suspend(struct upload *up)
{
	char name[PARTIAL_NAME_LEN];
	struct stat st;

	if (up == NULL)
		return;
	if (up->committed || up->key[0] == '\0' || up->fd < 0 ||
	    fstat(up->fd, &st) < 0 || st.st_size == 0) {
		upload_abort(up);
		return;
	}
	/* A partial a crash left with holes would resume into garbage. */
	partial_name(up->key, name);
	(void)futimens(up->fd, NULL); /* its keep time starts now */
	if (fdatasync(up->fd) < 0 ||
	    renameat(up->store->tmp_fd, up->tmp, up->store->tmp_fd, name) < 0) {
		log_warn("upload: keeping the partial upload of %s", up->path);
		upload_abort(up);
		return;
	}
	log_info("upload: kept %llu bytes of %s for a resume",
		 (unsigned long long)st.st_size, up->path);
	up->tmp[0] = '\0';
	upload_abort(up);
}

int
upload_partial_expire(struct store *s, double max_age_s)
{
	struct dirent *de;
	struct stat st;
	struct timespec now;
	char name[PARTIAL_NAME_LEN];
	double age;
	DIR *d;
	int fd, n = 0;

	if ((fd = openat(s->tmp_fd, PARTIAL_DIR,
			 O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return (store_errno(errno));
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (store_errno(errno));
	}
	clock_gettime(CLOCK_REALTIME, &now);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) != UPLOAD_KEY_LEN ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		age = (double)(now.tv_sec - st.st_mtim.tv_sec) +
		      (double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
		if (age < max_age_s)
			continue;
		partial_name(de->d_name, name);
		if (unlinkat(s->tmp_fd, name, 0) == 0)
			n++;
	}
	closedir(d);
	return (n);
}
