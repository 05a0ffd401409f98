/*
 * locks: this node's copy of the cluster's write locks, as the tracker
 * pushes them, and the one rule every writer asks about.
 *
 * A lock on PATH holds back writes to PATH, to anything under it and to
 * the folders above it (deleting or renaming a parent would take PATH
 * along).  Writes from the holder pass: its node, and on that node the
 * owner who took it (any user of the node for a LOCK_OWNER_NODE lock, and
 * the node itself, e.g. an edit in its folder).  Leases are enforced on
 * this node's monotonic clock from the time left that the tracker sent,
 * so clocks that disagree do not matter.  Loop thread only.
 */
#ifndef SHOAL_CLUSTER_LOCKS_H
#define SHOAL_CLUSTER_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster/twire.h"

/* The owner of a lock taken with the node's API token. */
#define LOCK_OWNER_NODE	"(node)"

struct locks;

struct locks *locks_new(void);
void	locks_free(struct locks *);
void	locks_clear(struct locks *);
/* A held lock is added or replaced; a released one removed. */
void	locks_apply(struct locks *, const struct twire_lock *);
/*
 * May user (NULL: the node itself) on node self write path?  token is the
 * fencing token the write carries (0: none).  0, -EBUSY (held by someone
 * else) or -ESTALE (the token is not the current one); why says which.
 */
int	locks_check(struct locks *, const char *path,
	    const uint8_t self[NODE_ID_LEN], const char *user, uint64_t token,
	    char *why, size_t whylen);
/* A change made by node writer, arriving by sync: false if a lock held
 * by another node covers path. */
bool	locks_allow_remote(struct locks *, const char *path,
	    const uint8_t writer[NODE_ID_LEN], char *why, size_t whylen);
/* Do a lock on a and one on b (or a write to b) meet: the same path, or
 * one inside the other? */
bool	locks_paths_meet(const char *a, const char *b);
/* {"locks": [...]} */
json_t	*locks_json(struct locks *);

#endif
