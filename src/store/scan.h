/*
 * scan: brings the index in line with the folder.  scan_tree walks a whole
 * subtree (at start, and when a folder appears); scan_path re-examines one
 * path after the watcher saw it change.  Symlinks are not followed and not
 * indexed.  Blocking: worker pool only.
 */
#ifndef SHOAL_STORE_SCAN_H
#define SHOAL_STORE_SCAN_H

#include <stdint.h>

#include "store/store.h"

struct scan_stats {
	uint64_t	files;
	uint64_t	hashed;
	uint64_t	bytes_hashed;
	int64_t		removed;
};

/* Called for every folder visited (path "" is the root). */
typedef void (*scan_dir_fn)(const char *path, void *arg);

/*
 * Walks path ("" for all) and indexes what changed.  With prune set, rows
 * for files under path that no longer exist are removed (only meaningful
 * for the whole tree).
 */
int	scan_tree(struct store *, const char *path, int prune, scan_dir_fn,
	    void *arg, struct scan_stats *);
/* Re-examines one path: a file is re-indexed if changed, a missing path is
 * dropped from the index, a folder is walked.  -EBUSY: a change through
 * store holds the path; nothing was done, and the caller should look again
 * once it is over. */
int	scan_path(struct store *, const char *path, scan_dir_fn, void *arg);

#endif
