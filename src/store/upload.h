/*
 * upload: writing a new version of a file atomically and durably.
 *
 *   upload_begin    temp file in DIR/.shoal/tmp (with the kept prefix of
 *                   the current file, for APPE and REST+STOR)
 *   upload_write    appends bytes, hashing them on the way   (repeatable)
 *   upload_flush    fsync of the temp file
 *   upload_commit   rename over the final name, fsync of the folder, index
 *   upload_abort    removes the temp file; the final name is untouched
 *
 * Nothing appears under the final name before upload_commit, and once it
 * returns 0 the file and its index row are on disk.  The commit is all or
 * nothing: if the folder's fsync or the index fails, the file that was
 * there before (or no file) is put back and an error returned.  One thread at a
 * time may use an upload; all calls block (worker pool).
 *
 * Partials: an upload begun with upload_begin_partial has a key (one per
 * account and path, upload_partial_key).  upload_suspend keeps what it
 * received as DIR/.shoal/tmp/partial/KEY instead of removing it, and a
 * later upload_begin_partial with the partial's size as offset continues
 * it: the kept bytes are read back and hashed, so the commit's block list
 * and file hash cover the whole file.  A partial is never under a shared
 * name, never indexed and never announced.
 */
#ifndef SHOAL_STORE_UPLOAD_H
#define SHOAL_STORE_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "store/index.h"
#include "store/store.h"

struct upload;

enum upload_mode {
	UPLOAD_NEW,		/* replace (or create) path */
	UPLOAD_APPEND,		/* keep all of the current file */
	UPLOAD_RESUME,		/* keep the first `offset` bytes */
	UPLOAD_UNIQUE,		/* create path; fail if it exists */
};

int	upload_begin(struct store *, const char *path, enum upload_mode,
	    uint64_t offset, struct upload **out)
	    __attribute__((warn_unused_result));
int	upload_write(struct upload *, const struct iovec *, int iovcnt)
	    __attribute__((warn_unused_result));
/*
 * upload_write in two halves that may run at the same time on two threads
 * over the same bytes: the first writes them and hashes the whole file,
 * the second hashes the blocks.  Both must be called for every byte.
 */
int	upload_write_data(struct upload *, const struct iovec *, int iovcnt)
	    __attribute__((warn_unused_result));
int	upload_hash_blocks(struct upload *, const struct iovec *, int iovcnt)
	    __attribute__((warn_unused_result));
int	upload_flush(struct upload *) __attribute__((warn_unused_result));
/* On success m (if not NULL) holds the new index row. */
int	upload_commit(struct upload *, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* Attributes the commit gives the new version (index.h, copied): 0,
 * -E2BIG past INDEX_ATTRS_MAX, -ENOMEM.  Without, the file has none. */
/*
 * The commit replaces only a file of content sha (else -ESTALE, the file
 * left as it was): If-Match checked when the upload lands, not only when
 * it starts, so a version arriving meanwhile is not overwritten.
 */
void	upload_expect(struct upload *, const uint8_t sha[HASH_LEN]);
int	upload_set_attrs(struct upload *, const void *, size_t)
	    __attribute__((warn_unused_result));
/* Frees the upload; removes the temp file unless it was committed. */
void	upload_abort(struct upload *);
/*
 * Frees the upload; unless it was committed, what it received is kept as
 * its partial (see above) when it has a key and at least one byte, and
 * removed otherwise.
 */
void	upload_suspend(struct upload *);

#define UPLOAD_KEY_LEN	64	/* hex digits */

/* The partial's name for an account's upload of path (key[65]). */
void	upload_partial_key(const char *account, const char *path,
	    char key[UPLOAD_KEY_LEN + 1]);
/*
 * An upload of path that may continue or leave partial key.  offset 0:
 * any partial of key is removed and the upload starts empty.  offset > 0:
 * the partial is taken over (no one else can take it meanwhile); it must
 * hold exactly offset bytes, else -ERANGE (it stays as it was) and -ENOENT
 * when there is none.
 */
int	upload_begin_partial(struct store *, const char *path,
	    const char *key, uint64_t offset, struct upload **out)
	    __attribute__((warn_unused_result));
/* The size of partial key, or -ENOENT. */
int	upload_partial_size(struct store *, const char *key, uint64_t *size)
	    __attribute__((warn_unused_result));
/* Removes partial key (0 if there was none). */
int	upload_partial_drop(struct store *, const char *key);
/*
 * Removes the partials not written to for max_age_s seconds or more
 * (all of them for 0); returns how many went.
 */
int	upload_partial_expire(struct store *, double max_age_s);
uint64_t upload_size(const struct upload *);
const char *upload_path(const struct upload *);

#endif
