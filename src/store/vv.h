/*
 * vv: version vectors.  A file's version is the set of (node, counter)
 * pairs of every node that changed it; comparing two tells whether one
 * version descends from the other or whether they were made concurrently
 * (a conflict).  Entries are kept sorted by node id.
 *
 * Compaction.  A vector holds at most VV_MAX writers; node churn alone
 * reaches that on a long-lived path.  When a local change needs a slot in
 * a full vector V, vv_bump_compact folds V: the entries with the smallest
 * counters (the nodes that wrote least, typically long gone; never the
 * writer) are dropped until half the slots are free, and a base entry
 * (the reserved all-zero id) records a 64-bit fingerprint of V itself.
 * vv_compare, finding two vectors concurrent, checks the base: a vector
 * whose base is the other's fingerprint descends from it (it was made
 * from exactly that vector), so it is AFTER.  Causality stays correct:
 *   - no version is ever ordered after one it does not descend from (the
 *     base names one exact vector; a version concurrent with V has an
 *     entry V lacks, so its fingerprint differs, and it stays concurrent
 *     with every descendant of the folded one);
 *   - the folded version and its descendants are AFTER V, as before;
 *   - only a node still holding an ancestor older than V sees the folded
 *     version as concurrent: a conflict resolved by the usual rule, with
 *     the loser kept as a copy, so nothing is lost.
 */
#ifndef SHOAL_STORE_VV_H
#define SHOAL_STORE_VV_H

#include <stddef.h>
#include <stdint.h>

#define NODE_ID_LEN	16
#define VV_MAX		32	/* distinct writers of one path */
#define VV_ENC_MAX	(VV_MAX * (NODE_ID_LEN + 8))
#define VV_KEEP		(VV_MAX / 2)	/* entries a fold keeps, base too */

struct vv_entry {
	uint8_t		id[NODE_ID_LEN];
	uint64_t	c;
};

struct vv {
	unsigned	 n;
	struct vv_entry	 e[VV_MAX];
};

enum vv_order {
	VV_EQUAL,
	VV_BEFORE,	/* a happened before b: b is newer */
	VV_AFTER,	/* a is newer */
	VV_CONCURRENT,
};

void	vv_clear(struct vv *);
uint64_t vv_get(const struct vv *, const uint8_t id[NODE_ID_LEN]);
/* Increments id's counter (adding it); -ENOSPC if the vector is full,
 * -EOVERFLOW if the counter is at its maximum. */
int	vv_bump(struct vv *, const uint8_t id[NODE_ID_LEN]);
/* As vv_bump, but a full vector is folded (see above) instead of -ENOSPC. */
int	vv_bump_compact(struct vv *, const uint8_t id[NODE_ID_LEN]);
/* The fingerprint a fold records (never 0). */
uint64_t vv_fingerprint(const struct vv *);
/* dst = element-wise maximum of dst and src; if one descends from the
 * other (a folded vector from the one it names too), the newer. */
int	vv_merge(struct vv *dst, const struct vv *src);
enum vv_order vv_compare(const struct vv *a, const struct vv *b);
/* Encoding: n * (16-byte id, u64 BE counter); returns bytes written. */
size_t	vv_encode(const struct vv *, uint8_t out[VV_ENC_MAX]);
int	vv_decode(struct vv *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));

#endif
