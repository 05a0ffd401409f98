/*
 * sync: keeps this node's files in step with every other member's.
 *
 * Index exchange: when a member comes up each side asks the other for its
 * whole index (INDEX_REQ 0) and every change made here is announced at
 * once (INDEX).  An entry from a peer is compared with the local row by
 * version vector: older or equal is ignored, newer is applied (a folder, a
 * deletion, or a file to fetch), concurrent is a conflict: the version
 * with the later mtime (then the higher node id) wins on every node, and
 * the loser is kept beside it as NAME.sync-conflict-YYYYMMDD-HHMMSS-NODE.EXT.
 *
 * Fetching (pull.c): a file is assembled block by block from every member
 * that announced the same content, in priority order, several blocks in
 * flight per member; each block is checked against its SHA-256; a bad one
 * is fetched again elsewhere and its sender ranked down.
 *
 * Consistency: heartbeats carry each node's index digest.  A node that
 * disagrees with more than (1 - threshold) of the live members asks the
 * majority for their whole index again, which merges by the same rules,
 * so its own changes are kept and sent on.
 *
 * Write quorum: sync_wait() tells when K members acknowledged holding a
 * version durably (ACK frames sent after each fetch commits).
 */
#ifndef SHOAL_CLUSTER_SYNC_H
#define SHOAL_CLUSTER_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/members.h"
#include "store/hash.h"

struct sync;
struct store;
struct work_pool;

struct sync_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct members		*members;
	double			 threshold;	/* consistency, e.g. 0.7 */
	/* The index changed (on the loop, after the change committed). */
	void			(*changed)(void *);
	/*
	 * May a change to path made by node writer be applied here (write
	 * locks)?  NULL: always.  A refused change is taken up again at the
	 * next index exchange or resync.
	 */
	bool			(*allow)(void *, const char *path,
				    const uint8_t writer[NODE_ID_LEN]);
	void			*hook_arg;
};

struct sync_stats {
	unsigned	 pulls_active;
	unsigned	 pulls_queued;
	uint64_t	 files_fetched;
	uint64_t	 bytes_fetched;
	uint64_t	 bytes_reused;
	uint64_t	 conflicts;
	uint64_t	 bad_blocks;
	unsigned	 agree;		/* live members with our digest */
	unsigned	 alive;
	uint64_t	 resyncs;
};

struct sync *sync_new(const struct sync_opts *);
/* members is made after sync (each calls the other). */
void	sync_set_members(struct sync *, struct members *);
void	sync_free(struct sync *);
/* members callbacks */
void	sync_member_up(struct member *, void *sync);
void	sync_member_down(struct member *, void *sync);
void	sync_frame(struct member *, const struct wire_hdr *, const uint8_t *,
	    void *sync);
void	sync_digest(uint8_t out[HASH_LEN], uint32_t *busy, void *sync);
void	sync_get_stats(struct sync *, struct sync_stats *);
/*
 * SEND: offers path's current version to every live member, each of which
 * takes it if it lacks it or holds an older one.  Returns how many members
 * it was offered to.
 */
int	sync_offer(struct sync *, const char *path);
/*
 * Calls done(arg, 0) once `need` members hold path with content sha
 * durably, or done(arg, -ETIMEDOUT) after timeout_ms.
 */
/*
 * A reader of a file this node is still fetching: done(arg, 0) once it is
 * here, done(arg, -ETIMEDOUT) after timeout_ms; -ENOENT at once (and no
 * call) if no fetch of path is pending.
 */
int	sync_await_fetch(struct sync *, const char *path, unsigned timeout_ms,
	    void (*done)(void *, int), void *arg);
int	sync_wait(struct sync *, const char *path, const uint8_t sha[HASH_LEN],
	    unsigned need, unsigned timeout_ms, void (*done)(void *, int),
	    void *arg);

#endif
