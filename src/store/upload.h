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
 * there before (or no file) is put back and an error returned.  One thread at a time
 * may use an upload; all calls block (worker pool).
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
int	upload_set_attrs(struct upload *, const void *, size_t)
	    __attribute__((warn_unused_result));
/* Frees the upload; removes the temp file unless it was committed. */
void	upload_abort(struct upload *);
uint64_t upload_size(const struct upload *);
const char *upload_path(const struct upload *);

#endif
