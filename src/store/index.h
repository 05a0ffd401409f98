/*
 * index: the node's catalogue of its files, in SQLite (DIR/.shoal/index.db).
 *
 * One row per regular file: size, mtime, inode, whole-file SHA-256, block
 * hashes and a version that grows with every change the node records.  The
 * folder is the truth and the index a verified description of it: a row
 * whose size, mtime and inode still match the file is trusted; anything
 * else is hashed again (see scan.c).  Every function is thread-safe (one
 * connection, serialised) and blocking: call it from the worker pool.
 */
#ifndef SHOAL_STORE_INDEX_H
#define SHOAL_STORE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/hash.h"

struct index;

struct file_meta {
	uint64_t	 size;
	int64_t		 mtime_ns;
	uint64_t	 ino;
	uint64_t	 version;	/* set by index_put */
	uint8_t		 sha256[HASH_LEN];
	const uint8_t	*blocks;	/* borrowed; HASH_LEN each */
	size_t		 nblocks;
};

struct index *index_open(const char *dbpath, char *err, size_t errlen);
void	index_close(struct index *);
/* Inserts or replaces path's row; m->version receives the new version. */
int	index_put(struct index *, const char *path, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* 0 and the row (blocks not loaded: m->blocks = NULL), or -ENOENT. */
int	index_get(struct index *, const char *path, struct file_meta *m)
	    __attribute__((warn_unused_result));
/* Removes path and, if it names a folder, everything under it. */
int	index_delete(struct index *, const char *path);
/* Moves path (a file, or a folder and everything under it) to newpath. */
int	index_rename(struct index *, const char *path, const char *newpath);
/* Rows in the index. */
int64_t	index_count(struct index *);

/*
 * Scan support: between index_scan_begin and index_scan_end, paths passed to
 * index_scan_seen are kept; at the end every other row is deleted.
 */
int	index_scan_begin(struct index *);
int	index_scan_seen(struct index *, const char *path);
int	index_scan_end(struct index *, int64_t *removed);

#endif
