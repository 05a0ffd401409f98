/*
 * versions: old content kept, trash, and restores (docs/VERSIONS.md).
 *
 * Where store replaces or removes a file's content (an upload's commit,
 * a fetched version's commit, a delete here or from a peer, a copy given
 * up for one held elsewhere), vers_keep moves the old bytes into
 * DIR/.shoal/versions/SHA256HEX by a rename on the same file system: no
 * copy, and identical content is stored once.  The index's versions table
 * (index_vers.h) says which path had which content, when and from whom.
 *
 *   replace/delete ──> vers_keep ──> versions/HEX + a row
 *   vers_prune (periodic, and first when space is low) ──> pruned row,
 *        bytes gone once no unpruned row names them
 *   vers_restore ──> an upload of the kept bytes: a new version of the
 *        file made here, replicated like any other write
 *
 * All functions block (worker pool).  store->vers_mu serialises keeping
 * and pruning so that bytes one row still names are never removed.
 */
#ifndef SHOAL_STORE_VERSIONS_H
#define SHOAL_STORE_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/index_vers.h"
#include "store/store.h"

/* Makes and opens DIR/.shoal/versions (store_open). */
int	vers_init(struct store *) __attribute__((warn_unused_result));

/*
 * The regular file name in folder dfd, path's content (old: path's row
 * before the change, or NULL; a file that does not match it is hashed)
 * is about to be replaced or removed by node by (NULL: this one): it is
 * kept as kind, or unlinked when the policy keeps nothing.  Either way name is gone from dfd on
 * return; the caller fsyncs dfd.  A folder or a link is left alone
 * (-EISDIR, -EINVAL).
 */
int	vers_keep(struct store *, int dfd, const char *name, const char *path,
	    const struct file_meta *old, enum vers_kind kind,
	    const uint8_t *by);

/*
 * Opens the kept bytes of version id of path (r receives its row):
 * -ENOENT for an id this node never kept, -ENODATA for one pruned here.
 */
int	vers_open(struct store *, const char *path, const char *id,
	    struct vers_row *r) __attribute__((warn_unused_result));

/* The kept bytes of content sha, whatever path had them: a read-only fd,
 * or -errno (-ENOENT: none kept).  A fetch takes blocks from there. */
int	vers_open_content(struct store *, const uint8_t sha[HASH_LEN]);
/*
 * Makes version id of path its current content: an upload of the kept
 * bytes (folders above made as needed).  *changed false if that was the
 * content already.  Errors as vers_open, and the upload's.
 */
int	vers_restore(struct store *, const char *path, const char *id,
	    bool *changed) __attribute__((warn_unused_result));

/* The same with the bytes of a version fetched from another node (data,
 * len bytes, content sha). */
int	vers_restore_bytes(struct store *, const char *path, const void *data,
	    size_t len, const uint8_t sha[HASH_LEN], bool *changed)
	    __attribute__((warn_unused_result));

/*
 * Point in time: what a path needs to be as it was at time t.  A pure
 * function of path's live state and its rows (any order): the content
 * it had at t is the newest row or live version written at or before t
 * (their mtimes are the writers', the same on every node), unless a
 * deletion at or before t came after it.
 */
enum vers_action {
	VERS_UNCHANGED,		/* as it was at t, or absent then and now */
	VERS_DO_RESTORE,	/* rows[*pick] is the content it had */
	VERS_DO_TRASH,		/* it did not exist at t: to the trash */
	VERS_LOST,		/* its content at t was pruned (rows[*pick]) */
};

struct vers_live {
	bool		exists;
	int64_t		mtime_ns;
	uint8_t		sha256[HASH_LEN];
};

enum vers_action vers_decide(const struct vers_live *,
	    const struct vers_row *rows, size_t n, int64_t t_ns, size_t *pick);

/*
 * The plan of a point-in-time restore of everything under prefix ("" for
 * all): fn gets each path that needs a change, with its action and (for
 * VERS_DO_RESTORE, VERS_LOST) the row.  Returns 0 or < 0.
 */
int	vers_plan(struct store *, const char *prefix, int64_t t_ns,
	    int (*fn)(const char *path, enum vers_action,
	    const struct vers_row *, void *), void *arg);

/*
 * Prunes by policy at time now_ns: versions beyond versions.days, trash
 * beyond trash.days; then, while the free space under DIR is below
 * min_free bytes, the oldest of either (a log line says how much went).
 * Returns how many went, or < 0.
 */
int	vers_prune(struct store *, int64_t now_ns, uint64_t min_free);

/* Counts for status and metrics. */
struct vers_stats {
	struct vers_counts c;
	uint64_t	prunes;
	uint64_t	pruned_bytes;
	uint64_t	pressure_prunes;
};
int	vers_stats(struct store *, struct vers_stats *);

#endif
