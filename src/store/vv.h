/*
 * vv: version vectors.  A file's version is the set of (node, counter)
 * pairs of every node that changed it; comparing two tells whether one
 * version descends from the other or whether they were made concurrently
 * (a conflict).  Entries are kept sorted by node id.
 */
#ifndef SHOAL_STORE_VV_H
#define SHOAL_STORE_VV_H

#include <stddef.h>
#include <stdint.h>

#define NODE_ID_LEN	16
#define VV_MAX		32	/* distinct writers of one path */
#define VV_ENC_MAX	(VV_MAX * (NODE_ID_LEN + 8))

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
/* dst = element-wise maximum of dst and src. */
int	vv_merge(struct vv *dst, const struct vv *src);
enum vv_order vv_compare(const struct vv *a, const struct vv *b);
/* Encoding: n * (16-byte id, u64 BE counter); returns bytes written. */
size_t	vv_encode(const struct vv *, uint8_t out[VV_ENC_MAX]);
int	vv_decode(struct vv *, const uint8_t *, size_t)
	    __attribute__((warn_unused_result));

#endif
