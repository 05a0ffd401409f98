/*
 * fetch: the receiving side of replication.  Every byte that ends up in a
 * fetched file was checked against its block hash, whether it came from a
 * peer, from another local file, or from a partial file left by an earlier
 * attempt.
 */
#include "store/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store/path.h"
#include "store/versions.h"

struct fetch {
	struct store		*store;
	char			*path;
	struct file_meta	 m;
	uint8_t			*blocks;
	char			 tmp[96];
	int			 fd;
	bool			 committed;
};

uint32_t
fetch_block_len(const struct file_meta *m, uint32_t idx)
{
	uint64_t off = (uint64_t)idx * HASH_BLOCK_SIZE;

	if (off >= m->size)
		return (0);
	return (m->size - off > HASH_BLOCK_SIZE ? HASH_BLOCK_SIZE :
	    (uint32_t)(m->size - off));
}

static bool
block_ok(const uint8_t *data, size_t len, const uint8_t want[HASH_LEN])
{
	uint8_t d[HASH_LEN];
	unsigned int n = HASH_LEN;

	if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) != 1)
		return (false);
	return (memcmp(d, want, HASH_LEN) == 0);
}

/* Copies verified block src_idx of fd src into block idx of f. */
static bool
copy_block(struct fetch *f, int src, uint32_t src_idx, uint32_t idx,
    uint8_t *buf)
{
	uint32_t len = fetch_block_len(&f->m, idx);
	ssize_t n;

	n = pread(src, buf, len, (off_t)src_idx * HASH_BLOCK_SIZE);
	if (n != (ssize_t)len || !block_ok(buf, len, f->blocks +
	    (size_t)idx * HASH_LEN))
		return (false);
	return (pwrite(f->fd, buf, len, (off_t)idx * HASH_BLOCK_SIZE) ==
	    (ssize_t)len);
}

/* Blocks found locally: a partial file, the same content, an old version. */
static void
fill_local(struct fetch *f, uint8_t *have)
{
	char other[PATH_LEN_MAX + 1];
	struct file_meta old;
	uint8_t *buf, *oblocks = NULL;
	struct stat st;
	uint32_t i, j, n = (uint32_t)f->m.nblocks;
	int src;

	if ((buf = malloc(HASH_BLOCK_SIZE)) == NULL)
		return;
	/* An earlier attempt's blocks. */
	if (fstat(f->fd, &st) == 0)
		for (i = 0; i < n; i++)
			if ((off_t)i * HASH_BLOCK_SIZE +
			    (off_t)fetch_block_len(&f->m, i) <= st.st_size &&
			    copy_block(f, f->fd, i, i, buf))
				have[i] = 1;
	/* The same content under another name (a rename or a copy). */
	if (index_find_content(f->store->index, f->m.sha256, false, other,
	    sizeof(other)) == 0 &&
	    (src = store_openat(f->store, other, O_RDONLY, 0)) >= 0) {
		for (i = 0; i < n; i++)
			if (!have[i] && copy_block(f, src, i, i, buf))
				have[i] = 1;
		close(src);
	}
	/* The bytes of a name deleted while this fetch was pending, or kept
	 * as an old version or in the trash. */
	for (j = 0; j < 2; j++) {
		src = j == 0 ? store_held_open(f->store, f->m.sha256) :
		    vers_open_content(f->store, f->m.sha256);
		if (src < 0)
			continue;
		for (i = 0; i < n; i++)
			if (!have[i] && copy_block(f, src, i, i, buf))
				have[i] = 1;
		close(src);
	}
	/* Unchanged blocks of the version of this path we hold. */
	if (index_get_any(f->store->index, f->path, &old, &oblocks) == 0 &&
	    !old.deleted && old.type == ENTRY_FILE &&
	    (src = store_openat(f->store, f->path, O_RDONLY, 0)) >= 0) {
		for (i = 0; i < n; i++) {
			if (have[i])
				continue;
			for (j = 0; j < old.nblocks; j++)
				if (memcmp(oblocks + (size_t)j * HASH_LEN,
				    f->blocks + (size_t)i * HASH_LEN,
				    HASH_LEN) == 0)
					break;
			if (j < old.nblocks && copy_block(f, src, j, i, buf))
				have[i] = 1;
		}
		close(src);
	}
	free(oblocks);
	free(buf);
}

int
fetch_begin(struct store *s, const char *path, const struct file_meta *m,
    struct fetch **out, uint8_t *have)
{
	char hex[HASH_HEX_LEN + 1];
	struct fetch *f;
	size_t i;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-ENOMEM);
	f->store = s;
	f->m = *m;
	f->fd = -1;
	if ((f->path = strdup(path)) == NULL ||
	    (f->blocks = malloc(m->nblocks * HASH_LEN + 1)) == NULL) {
		fetch_abort(f, false);
		return (-ENOMEM);
	}
	memcpy(f->blocks, m->blocks, m->nblocks * HASH_LEN);
	f->m.blocks = f->blocks;
	/* One partial file per content and path: two paths fetching the
	 * same content do not share (and rename away) one file. */
	{
		uint8_t ph[HASH_LEN];
		char phex[HASH_HEX_LEN + 1];
		unsigned int n = HASH_LEN;

		EVP_Digest(path, strlen(path), ph, &n, EVP_sha256(), NULL);
		hash_hex(ph, phex);
		hash_hex(m->sha256, hex);
		snprintf(f->tmp, sizeof(f->tmp), "pull-%.40s-%.16s", hex,
		    phex);
	}
	f->fd = openat(s->tmp_fd, f->tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		int rc = store_errno(errno);

		fetch_abort(f, false);
		return (rc);
	}
	memset(have, 0, m->nblocks);
	if (m->size == 0)
		for (i = 0; i < m->nblocks; i++)
			have[i] = 1;
	else
		fill_local(f, have);
	*out = f;
	return (0);
}

int
fetch_put_block(struct fetch *f, uint32_t idx, const struct iovec *iov,
    int iovcnt)
{
	const uint8_t *want = f->blocks + (size_t)idx * HASH_LEN;
	uint8_t d[HASH_LEN];
	EVP_MD_CTX *c;
	size_t len = 0;
	int i, ok;

	if (idx >= f->m.nblocks)
		return (-EBADMSG);
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len != fetch_block_len(&f->m, idx) || (c = EVP_MD_CTX_new()) ==
	    NULL)
		return (-EBADMSG);
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < iovcnt; i++)
		ok = EVP_DigestUpdate(c, iov[i].iov_base, iov[i].iov_len) == 1;
	ok = ok && EVP_DigestFinal_ex(c, d, NULL) == 1 &&
	    memcmp(d, want, HASH_LEN) == 0;
	EVP_MD_CTX_free(c);
	if (!ok)
		return (-EBADMSG);
	if (pwritev(f->fd, iov, iovcnt, (off_t)idx * HASH_BLOCK_SIZE) !=
	    (ssize_t)len)
		return (store_errno(errno));
	/* Start writeback now so the commit's fsync finds little to do. */
	(void)sync_file_range(f->fd, (off_t)idx * HASH_BLOCK_SIZE, (off_t)len,
	    SYNC_FILE_RANGE_WRITE);
	return (0);
}

int
fetch_commit(struct fetch *f, const char *target, const struct vv *expect,
    bool expect_exists)
{
	struct timespec ts[2];
	struct file_meta cur, m = f->m;
	struct stat st;
	const char *name;
	bool local_copy = strcmp(target, f->path) != 0;
	enum store_undo undo;
	bool noreplace;
	int dfd, rc, have_row;

	if (ftruncate(f->fd, (off_t)f->m.size) < 0 || fdatasync(f->fd) < 0)
		return (store_errno(errno));
	ts[0].tv_sec = ts[1].tv_sec = f->m.mtime_ns / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = f->m.mtime_ns % 1000000000;
	(void)futimens(f->fd, ts);
	if (fstat(f->fd, &st) < 0)
		return (store_errno(errno));
	if ((rc = store_busy_add(f->store, target)) < 0)
		return (rc == -EBUSY ? -EAGAIN : rc);
	/* Any row, tombstones included: a deletion that arrived while we
	 * fetched is a change too. */
	have_row = index_get_any(f->store->index, f->path, &cur, NULL) == 0;
	if (!local_copy && (have_row != expect_exists || (have_row &&
	    vv_compare(&cur.vv, expect) != VV_EQUAL))) {
		rc = -EAGAIN;
		goto out;
	}
	/*
	 * Where the index knows of no file (no row, or a tombstone), a file
	 * found at target was made here and not scanned yet (written into
	 * the folder directly, or while the node was down): it is content
	 * of this node, never replaced.  -EEXIST: decide again once the
	 * scan has indexed it.
	 */
	if (local_copy)
		have_row = index_get_any(f->store->index, target, &cur,
		    NULL) == 0;
	noreplace = !have_row || cur.deleted;
	if ((rc = store_make_parents(f->store, target)) < 0)
		goto out;
	if ((dfd = store_open_parent(f->store, target, &name)) < 0) {
		rc = dfd;
		goto out;
	}
	/* Whose file this is, should the node stop before index_apply. */
	if (!local_copy && (rc = index_intent_put(f->store->index, target,
	    &f->m)) < 0) {
		close(dfd);
		goto out;
	}
	if ((rc = store_move_in(f->store, f->tmp, dfd, name, noreplace,
	    &undo)) < 0) {
		if (!local_copy)
			(void)index_intent_del(f->store->index, target);
		close(dfd);
		goto out;
	}
	f->committed = true;
	/*
	 * What is acknowledged must be on disk: a folder that was not
	 * synced, or a row the index refused, puts back what was there and
	 * fails the commit, so no ACK is sent.
	 */
	if (fsync(dfd) < 0) {
		rc = store_errno(errno);
		log_warn("fetch: fsync of the folder of %s", target);
	} else {
		m.size = (uint64_t)st.st_size;
		m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
		m.ino = (uint64_t)st.st_ino;
		m.remote = false;	/* held here now */
		/* A conflict copy is a new file made here. */
		rc = local_copy ? index_put(f->store->index, target, &m) :
		    index_apply(f->store->index, target, &m);
	}
	if (rc < 0) {
		if (store_move_back(f->store, f->tmp, dfd, name, undo) == 0)
			f->committed = false;
	} else {
		if (undo == STORE_UNDO_SWAP)
			/* The replaced content, now under the temp name. */
			(void)vers_keep(f->store, f->store->tmp_fd, f->tmp,
			    target, have_row && !cur.deleted ? &cur : NULL,
			    VERS_VERSION, local_copy ? NULL : f->m.modified_by);
		store_held_drop(f->store, f->m.sha256);
	}
	/* Kept if the file could not be put back: it is the fetched one. */
	if (!local_copy && !(rc < 0 && f->committed))
		(void)index_intent_del(f->store->index, target);
	close(dfd);
out:
	store_busy_del(f->store, target);
	return (rc);
}

int
fetch_local(struct store *s, const char *path, const struct file_meta *m,
    const struct vv *expect_local, bool expect_exists)
{
	struct fetch *f;
	uint8_t *have;
	size_t i;
	int rc;

	if ((have = malloc(m->nblocks + 1)) == NULL)
		return (-ENOMEM);
	if ((rc = fetch_begin(s, path, m, &f, have)) == 0) {
		for (i = 0; i < m->nblocks && rc == 0; i++)
			if (!have[i])
				rc = -ENOENT;
		if (rc == 0)
			rc = fetch_commit(f, path, expect_local, expect_exists);
		fetch_abort(f, false);
	}
	free(have);
	return (rc);
}

int
fetch_fd(const struct fetch *f)
{
	return (f->fd);
}

void
fetch_abort(struct fetch *f, bool keep)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (!f->committed && !keep && f->tmp[0])
		(void)unlinkat(f->store->tmp_fd, f->tmp, 0);
	free(f->blocks);
	free(f->path);
	free(f);
}
