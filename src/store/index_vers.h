/*
 * index_vers: the versions table of the index (DIR/.shoal/index.db).
 *
 * One row per old content of a path that this node kept (store/versions.h
 * keeps the bytes): a version (the content was replaced) or trash (the
 * file was deleted).  A row names its content by SHA-256 and carries the
 * content's own mtime and writer, which are the same on every node, so
 * its id (vers_id) names the same version everywhere.  kept_ns is when
 * this node kept it, by its own clock; by, the node whose change replaced
 * or deleted it.
 *
 * A pruned row stays (its bytes are gone) for a while: a point-in-time
 * restore can then tell "this content existed and was pruned" from "the
 * file did not exist".  Each function takes the index's lock; the
 * callbacks run under it and must not use the index.
 */
#ifndef SHOAL_STORE_INDEX_VERS_H
#define SHOAL_STORE_INDEX_VERS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/index.h"

#define VERS_ID_MAX	40	/* chars of an id, without the NUL */

enum vers_kind {
	VERS_VERSION = 0,	/* replaced by newer content */
	VERS_TRASH = 1,		/* deleted */
};

struct vers_row {
	char		id[VERS_ID_MAX + 1];
	uint8_t		kind;		/* enum vers_kind */
	bool		pruned;
	int64_t		kept_ns;
	int64_t		mtime_ns;
	uint64_t	size;
	uint8_t		sha256[HASH_LEN];
	uint8_t		writer[NODE_ID_LEN];	/* wrote this content */
	uint8_t		by[NODE_ID_LEN];	/* replaced or deleted it */
};

typedef int (*vers_row_fn)(const char *path, const struct vers_row *,
    void *arg);

/* The id of content sha written at mtime_ns (out[VERS_ID_MAX + 1]). */
void	vers_id(const uint8_t sha[HASH_LEN], int64_t mtime_ns, char *out);

/* Records r for path (a row of the same id is replaced, unpruned). */
int	index_vers_put(struct index *, const char *path,
	    const struct vers_row *r) __attribute__((warn_unused_result));
/* Row id of path, pruned or not; -ENOENT if none. */
int	index_vers_get(struct index *, const char *path, const char *id,
	    struct vers_row *r) __attribute__((warn_unused_result));
/* Every row of path, the newest content first.  Returns how many. */
int	index_vers_list(struct index *, const char *path, vers_row_fn,
	    void *arg);
/* Unpruned trash under prefix ("" for all) whose path holds no live
 * file now, the latest deletion first.  Returns how many. */
int	index_vers_trash(struct index *, const char *prefix, vers_row_fn,
	    void *arg);
/* Every row under prefix (path order, oldest content first). */
int	index_vers_under(struct index *, const char *prefix, vers_row_fn,
	    void *arg);
/* Unpruned versions of path beyond the newest keep ones. */
int	index_vers_excess(struct index *, const char *path, unsigned keep,
	    vers_row_fn, void *arg);
/* Unpruned rows of kind kept before before_ns, oldest first, at most
 * max. */
int	index_vers_aged(struct index *, enum vers_kind, int64_t before_ns,
	    unsigned max, vers_row_fn, void *arg);
/* Unpruned rows, the oldest kept first, at most max. */
int	index_vers_oldest(struct index *, unsigned max, vers_row_fn,
	    void *arg);
/*
 * Marks row id of path pruned; *last tells whether no unpruned row uses
 * its content any more (its bytes may go).
 */
int	index_vers_prune(struct index *, const char *path, const char *id,
	    const uint8_t sha[HASH_LEN], bool *last)
	    __attribute__((warn_unused_result));
/* Counts of unpruned rows, by kind. */
struct vers_counts {
	uint64_t	count[2];
	uint64_t	bytes[2];
	int64_t		oldest_ns;	/* oldest kept, 0 if none */
};
int	index_vers_counts(struct index *, struct vers_counts *);
/* The live files under prefix ("" for all), in path order; fn runs
 * under the lock.  Returns how many. */
int	index_vers_live(struct index *, const char *prefix,
	    int (*fn)(const char *path, void *), void *arg);
/* Drops pruned rows kept before before_ns; returns how many. */
int	index_vers_forget(struct index *, int64_t before_ns);

#endif
