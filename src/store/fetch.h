/*
 * fetch: assembling a file version made elsewhere from its blocks.
 *
 * fetch_begin opens DIR/.shoal/tmp/pull-SHA (kept across restarts, so an
 * interrupted transfer resumes: blocks already there are verified and
 * kept) and fills in every block it can find locally: the whole file if
 * this content is already here under another name (a rename, a copy), or
 * single blocks from the current version of the same path.  The caller
 * fetches the remaining blocks from peers and hands each to
 * fetch_put_block, which checks its SHA-256 before writing it.
 * fetch_commit then makes the file durable under its name, exactly like
 * an upload, and records the version as made elsewhere.
 *
 * All calls block (worker pool).  fetch_put_block may run on several
 * threads at once for different blocks.
 */
#ifndef SHOAL_STORE_FETCH_H
#define SHOAL_STORE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "store/index.h"
#include "store/store.h"

struct fetch;

/*
 * m describes the version wanted (blocks included, borrowed until
 * fetch_begin returns).  have[m->nblocks] receives 1 for each block
 * already in place.
 */
int	fetch_begin(struct store *, const char *path, const struct file_meta *m,
	    struct fetch **out, uint8_t *have)
	    __attribute__((warn_unused_result));
/* -EBADMSG if the data (in pieces) does not match the block's hash. */
int	fetch_put_block(struct fetch *, uint32_t idx, const struct iovec *,
	    int iovcnt) __attribute__((warn_unused_result));
/*
 * Commits under target (path, or a conflict copy's name).  If
 * expect_local is set, the local row for path (tombstones included) must
 * still be what it was when the fetch was decided: present or not as
 * expect_exists says, with that version vector (else -EAGAIN: it changed
 * meanwhile, decide again).  A file at target that the index does not
 * know (no row, or a tombstone) is this node's own, not scanned yet: it is
 * never replaced (-EEXIST).
 */
int	fetch_commit(struct fetch *, const char *target,
	    const struct vv *expect_local, bool expect_exists)
	    __attribute__((warn_unused_result));
/*
 * fetch_begin and fetch_commit in one, for a version whose every block is
 * here already (the same content under another name): -ENOENT if one is
 * missing, else what fetch_commit returns.  m as for fetch_begin.
 */
int	fetch_local(struct store *, const char *path, const struct file_meta *m,
	    const struct vv *expect_local, bool expect_exists)
	    __attribute__((warn_unused_result));
/*
 * The partial file (the same inode becomes the committed file): a reader
 * may dup it and read the blocks fetch_put_block has written.
 */
int	fetch_fd(const struct fetch *);
/* Frees; keeps the partial file for a later resume if keep is set. */
void	fetch_abort(struct fetch *, bool keep);
uint32_t fetch_block_len(const struct file_meta *, uint32_t idx);

#endif
