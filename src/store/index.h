/*
 * index: the node's catalogue, in SQLite (DIR/.shoal/index.db).
 *
 * One row per path that is or was a file or folder: its content (size,
 * mtime, inode, whole-file SHA-256, block hashes), its version vector, the
 * node that made the change, whether it is deleted (a tombstone: deletions
 * are versions too, so a deleted file never comes back from a node that
 * missed the deletion), and a local sequence number that grows with every
 * row written, so peers can ask for "changes since N".
 *
 * The folder is the truth for what this node holds and the index a
 * verified description of it: a row whose size, mtime and inode still
 * match the file is trusted; anything else is hashed again (scan.c).
 *
 * Local changes (index_put, index_put_dir, index_delete, index_rename,
 * scans) bump this node's counter in the version vector; index_apply
 * records a version made elsewhere as it is.  Every function is
 * thread-safe (one connection, serialised) and blocking: worker pool only.
 */
#ifndef SHOAL_STORE_INDEX_H
#define SHOAL_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/hash.h"
#include "store/vv.h"

struct index;

enum entry_type {
	ENTRY_FILE = 0,
	ENTRY_DIR = 1,
};

struct file_meta {
	uint8_t		 type;		/* enum entry_type */
	bool		 deleted;
	uint64_t	 size;
	int64_t		 mtime_ns;
	uint64_t	 ino;
	uint64_t	 seq;		/* set by the index */
	uint8_t		 sha256[HASH_LEN];
	const uint8_t	*blocks;	/* borrowed; HASH_LEN each */
	size_t		 nblocks;
	struct vv	 vv;
	uint8_t		 modified_by[NODE_ID_LEN];
	/* A file whose content is held by other nodes (replicas = N): the
	 * row describes it, no file is here.  Not part of the version, nor
	 * of the digest: nodes agree on files, not on who holds them. */
	bool		 remote;
	/*
	 * Attributes of the content that a front end keeps with it (S3's
	 * ETag and metadata headers; opaque here), at most INDEX_ATTRS_MAX
	 * bytes; borrowed like blocks.  NULL when writing: those of the row
	 * stay if its content is the same, else there are none.  Part of
	 * the version that carries them (they travel with it), not of the
	 * digest.  Only index_changes fills them when reading.
	 */
	const uint8_t	*attrs;
	size_t		 attrs_len;
};

#define INDEX_ATTRS_MAX	4096

struct index *index_open(const char *dbpath, const uint8_t self[NODE_ID_LEN],
    char *err, size_t errlen);
void	index_close(struct index *);
/*
 * Called after every committed change, from the thread that made it
 * (keep it short: wake the loop).
 */
void	index_set_notify(struct index *, void (*fn)(void *), void *arg);

/* A local change: path now holds the file described by m. */
int	index_put(struct index *, const char *path, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* index_put only if path still holds a live file of content expect
 * (-ESTALE otherwise): a conditional write, checked where it lands. */
int	index_put_if(struct index *, const char *path, struct file_meta *m,
	    const uint8_t expect[HASH_LEN]);
/* A local change: path is now a folder. */
int	index_put_dir(struct index *, const char *path);
/* The live row for path, or -ENOENT (also for tombstones).  Blocks are
 * not loaded. */
int	index_get(struct index *, const char *path, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* Any row for path, tombstones included; blocks copied into *blocks
 * (caller frees) when blocks is not NULL. */
int	index_get_any(struct index *, const char *path, struct file_meta *m,
	    uint8_t **blocks) __attribute__((warn_unused_result));
/* A local change: path and everything under it are deleted. */
int	index_delete(struct index *, const char *path);
/* A local change: path (and everything under it) moved to newpath. */
int	index_rename(struct index *, const char *path, const char *newpath);
/* Records a version made elsewhere (m->vv and m->modified_by as given). */
int	index_apply(struct index *, const char *path, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* A live file with this content, held here (or, if remote, held only
 * elsewhere), into path[size]; -ENOENT if none. */
int	index_find_content(struct index *, const uint8_t sha[HASH_LEN],
	    bool remote, char *path, size_t size);

/*
 * The attributes of path's live row if its content is sha: into
 * out[size], *len bytes (0: none).  -ENOENT if the row is not that
 * content, -E2BIG if they do not fit.
 */
int	index_get_attrs(struct index *, const char *path,
	    const uint8_t sha[HASH_LEN], void *out, size_t size, size_t *len)
	    __attribute__((warn_unused_result));
/*
 * Caches attributes computed from the content (an MD5) in path's row if
 * its content is still sha: no new version, no new sequence number.
 * -ENOENT if the row has other content now.
 */
int	index_set_attrs(struct index *, const char *path,
	    const uint8_t sha[HASH_LEN], const void *attrs, size_t len)
	    __attribute__((warn_unused_result));
/*
 * The scrub's walk: the first live file held here (not remote) whose path
 * sorts after `after` ("" for the first), into path[size] and m (blocks
 * not loaded); -ENOENT past the last.
 */
int	index_next_local(struct index *, const char *after, char *path,
	    size_t size, struct file_meta *m);
/*
 * The hash of block idx of path's live file, whose content must be sha
 * (-ESTALE otherwise); -ENOENT if there is no such row or block.
 */
int	index_block_hash(struct index *, const char *path,
	    const uint8_t sha[HASH_LEN], uint32_t idx, uint8_t out[HASH_LEN]);

/* Live files in the index. */
int64_t	index_count(struct index *);
/* Highest sequence number written. */
uint64_t index_seq(struct index *);
/* XOR of every row's hash: equal indexes have equal digests. */
void	index_digest(struct index *, uint8_t out[HASH_LEN]);

/*
 * Rows with seq > since, in seq order, at most max_rows; fn gets each
 * (path, m with blocks); returns the number of rows or < 0.
 */
typedef int (*index_row_fn)(const char *path, const struct file_meta *,
    void *arg);
int	index_changes(struct index *, uint64_t since, unsigned max_rows,
	    index_row_fn, void *arg);

/*
 * Intents: the version a fetch is about to rename into place, recorded
 * first, so that a crash between the rename and index_apply leaves a
 * record of whose file it is (store_open adopts it) rather than a file
 * the scan would take for a change made here.
 */
int	index_intent_put(struct index *, const char *path,
	    const struct file_meta *m);
int	index_intent_del(struct index *, const char *path);
/* Every intent; fn runs under the index's lock and must not use it. */
int	index_intents(struct index *, index_row_fn fn, void *arg);

/* The highest sequence of peer's rows applied here (0 if none). */
uint64_t index_peer_seq(struct index *, const uint8_t id[NODE_ID_LEN]);
int	index_set_peer_seq(struct index *, const uint8_t id[NODE_ID_LEN],
	    uint64_t seq);

/*
 * Marks path's current version (which must have content sha, else
 * -ESTALE) as held here or elsewhere.  The version stays; the row gets a
 * new sequence number, so the change is announced.
 */
int	index_set_remote(struct index *, const char *path,
	    const uint8_t sha[HASH_LEN], bool remote);
/* Pins: paths (and folders: everything under them) kept here whatever
 * the placement says.  Unpinning what is not pinned is -ENOENT. */
int	index_pin(struct index *, const char *path, bool pin);
/* Calls fn for each pin in order; returns how many. */
int	index_pins(struct index *, int (*fn)(const char *, void *), void *arg);

/* The files held elsewhere directly in folder dir ("" for the root), at
 * most INDEX_CHILDREN_MAX: fn gets each one's name within dir (called
 * without the index locked, so it may use the index); returns how many. */
#define INDEX_CHILDREN_MAX 1000000
int	index_remote_children(struct index *, const char *dir,
	    int (*fn)(const char *name, uint64_t size, int64_t mtime_ns,
	    void *), void *arg);

/*
 * Scan support: between index_scan_begin and index_scan_end, paths passed
 * to index_scan_seen are kept; at the end every other live row becomes a
 * tombstone (the file was deleted while the node was not watching),
 * except rows written after index_scan_begin: those changed during the
 * walk, perhaps in a folder it had passed, and are not missing.
 */
int	index_scan_begin(struct index *);
int	index_scan_seen(struct index *, const char *path);
int	index_scan_end(struct index *, int64_t *removed);

#endif
