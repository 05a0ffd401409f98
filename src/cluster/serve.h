/*
 * serve: answering the block requests of other members (BLOCK_REQ ->
 * BLOCK), within a window per member.
 *
 * At most `window` requests of one member are read from disk at once
 * (mirroring the window of a pull, so a member that fetches as shoal does
 * never waits); more wait in arrival order.  Once a member has twice the
 * window unanswered, its link is not read any more until some are
 * answered, and nothing is read from disk for it while its link's output
 * is above the high mark (link.h): a member that asks for blocks without
 * reading them costs at most that much memory, and the rest of the node
 * goes on serving.
 */
#ifndef SHOAL_CLUSTER_SERVE_H
#define SHOAL_CLUSTER_SERVE_H

#include <stdint.h>

struct member;
struct serve;
struct store;
struct work_pool;

struct serve_opts {
	struct work_pool *pool;
	struct store *store;
	unsigned window; /* >= 1 */
	/* A block read did not match its hash: path (content sha) was set
	 * aside as rotten.  Called on the loop; may be NULL. */
	void (*rot)(void *, const char *path, const uint8_t *sha);
	void *rot_arg;
};

struct serve_stats {
	unsigned window;
	unsigned reading;   /* jobs reading a block */
	unsigned waiting;   /* requests waiting for the window */
	unsigned throttled; /* members whose link is not read */
	uint64_t served;    /* BLOCK frames sent */
	uint64_t throttles; /* times a member was throttled */
	uint64_t rot;	    /* blocks refused: their file had rotted */
};

struct serve *serve_new(const struct serve_opts *);
/* After the pool is drained and the members are gone. */
void serve_free(struct serve *);
/* A BLOCK_REQ from m (its payload). */
void serve_block_req(struct serve *, struct member *, const uint8_t *,
		     uint32_t len);
/* m's link went down: what waits for it is dropped. */
void serve_member_down(struct serve *, struct member *);
/* m's link output came down from its high mark: serve what waits. */
void serve_drained(struct serve *, struct member *);
void serve_get_stats(const struct serve *, struct serve_stats *);

#endif
