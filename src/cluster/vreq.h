/*
 * vreq: versions asked of the members (docs/PROTOCOL.md, VERS_REQ and
 * VERS).  A node keeps the versions of the changes it saw; the one whose
 * folder was edited directly keeps none of what it overwrote.  So a
 * listing asks every live member, and a restore of a version this node
 * lacks reads it from a member that has it.
 *
 *   vreq_list:  VERS_REQ(list) to each live member ──> VERS(rows) from
 *               each, merged; done once all answered or after timeout_ms
 *               (vreq_trash: the same for the trash under a folder)
 *   vreq_fetch: VERS_REQ(read, offset) to one member at a time ──>
 *               VERS(chunk) until the whole version is here, its SHA-256
 *               checked; a member without it: the next one
 *   answering:  a pool job lists or reads (at most VREQ_SERVE_MAX at
 *               once, more are answered "busy"); the answer goes to the
 *               member found again by id, if it is still linked
 *
 * A fetched version is held in memory, at most VREQ_FETCH_MAX bytes: a
 * larger one is restored on a node that holds it.  Everything here runs
 * on the loop but the serving jobs, which own copies of what they read.
 */
#ifndef SHOAL_CLUSTER_VREQ_H
#define SHOAL_CLUSTER_VREQ_H

#include <stdint.h>

#include "base/buf.h"
#include "cluster/wire.h"
#include "store/index_vers.h"

struct event_base;
struct member;
struct members;
struct store;
struct vreq;
struct work_pool;

#define VREQ_FETCH_MAX	(64u << 20)	/* bytes of one fetched version */
#define VREQ_CHUNK	(1u << 20)	/* bytes of one VERS answer */
#define VREQ_ROWS_MAX	1000		/* rows of one listing answer */
#define VREQ_SERVE_MAX	16		/* answering jobs at once */

struct vreq_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	unsigned		 timeout_ms;	/* per question */
};

struct vreq *vreq_new(const struct vreq_opts *);
/* Borrowed; before any question. */
void	vreq_set_members(struct vreq *, struct members *);
/* After the pool is drained; questions still open are not answered. */
void	vreq_free(struct vreq *);
/* A VERS_REQ or VERS frame from m. */
void	vreq_frame(struct vreq *, struct member *, const struct wire_hdr *,
	    const uint8_t *payload);
/* m's link went down: what it was asked counts as not answered. */
void	vreq_member_down(struct vreq *, struct member *);

/* What the members answered: each row with the node that keeps it. */
struct vreq_row {
	char		 node[2 * NODE_ID_LEN + 1];
	char		*path;		/* vreq_trash only */
	struct vers_row	 r;
};

struct vreq_rows {
	struct vreq_row	*v;
	size_t		 n;
	unsigned	 asked, answered;	/* members */
};

void	vreq_rows_free(struct vreq_rows *);

/*
 * The unpruned rows of path on every live member: done(arg, rows) once
 * all answered or after timeout_ms (rows the caller's, vreq_rows_free).
 * < 0 (and no call) if the question cannot start.
 */
int	vreq_list(struct vreq *, const char *path,
	    void (*done)(void *, struct vreq_rows *), void *arg);
/* The same for the trash under prefix ("" for all): the unpruned trash
 * rows, each with its path, of files not live on that member. */
int	vreq_trash(struct vreq *, const char *prefix,
	    void (*done)(void *, struct vreq_rows *), void *arg);
/*
 * The bytes of version id of path from a member that has them:
 * done(arg, 0, data, sha, node) with data (the caller takes it, buf.h)
 * and the content's hash, or done(arg, -ENOENT | -ENODATA | -EFBIG |
 * -ETIMEDOUT, NULL, NULL, NULL): no member knows it, every one that did
 * pruned it, it is too large, no answer.
 */
int	vreq_fetch(struct vreq *, const char *path, const char *id,
	    void (*done)(void *, int rc, struct buf *data,
	    const uint8_t *sha, const char *node), void *arg);

#endif
