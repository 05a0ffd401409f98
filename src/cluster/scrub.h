/*
 * scrub: finds rot in the files held here, and counts its repair.
 *
 * A pass hashes every live file held here (not rows held elsewhere) again,
 * in path order, at most sync.scrub_mib_s, on the worker pool.  A file
 * whose inode, size and mtime are those of its row but whose bytes hash to
 * something else has rotted: it is set aside (store_set_aside_rotten), its
 * row stays as it was, marked as held elsewhere, so reads go to peers, and
 * the same version is fetched back (the refetch hook at once, the repair
 * walk later if that fails); no version is made.
 * Passes start sync.scrub_hours apart (0: only when asked).  Progress is
 * kept in DIR/.shoal/scrub: a node restarted mid-pass goes on after the
 * last file it finished.
 *
 * Only the loop calls these; the module's state is its own.
 */
#ifndef SHOAL_CLUSTER_SCRUB_H
#define SHOAL_CLUSTER_SCRUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/hash.h"

struct event_base;
struct scrub;
struct store;
struct work_pool;

struct scrub_opts {
	struct event_base *base;
	struct work_pool *pool;
	struct store *store; /* borrowed, outlives the scrub */
	unsigned hours;	     /* between passes; 0: on request */
	unsigned mib_s;	     /* read rate, >= 1 */
	/* Fetch path (content sha) again from a peer: a rotten copy was
	 * set aside.  Called on the loop; may be NULL (the repair walk
	 * fetches it then). */
	void (*refetch)(void *, const char *path, const uint8_t *sha);
	void *arg;
};

struct scrub_stats {
	bool running;
	uint64_t pass;	      /* the running or last pass (since start) */
	uint64_t passes_done; /* the last pass finished, or 0 */
	uint64_t pass_files;  /* hashed in the running or last pass */
	uint64_t pass_bytes;
	uint64_t files; /* hashed since start */
	uint64_t bytes;
	uint64_t rot_found;    /* by the scrub or a peer's block request */
	uint64_t rot_repaired; /* of those, fetched again from a peer */
	int64_t last_done;     /* unix time the last pass ended, or 0 */
};

struct scrub *scrub_new(const struct scrub_opts *);
void scrub_free(struct scrub *);
/*
 * Starts a full pass now; a pass under way starts again from the first
 * file.  Returns the pass's number: it is done when passes_done reaches it.
 */
uint64_t scrub_start(struct scrub *);
/* Rot found elsewhere (serve.c), already set aside: counted, and its
 * repair watched. */
void scrub_found(struct scrub *, const char *path, const uint8_t sha[HASH_LEN]);
/*
 * The progress file's text, buf[len] (not NUL-terminated): 1 for a pass
 * under way ("pass STARTED\nafter PATH\n": *started, after[size]), 0 for
 * one finished ("done TIME\n": *done), -EINVAL for anything else.
 */
int scrub_state_parse(const char *buf, size_t len, char *after, size_t size,
		      int64_t *started, int64_t *done)
    __attribute__((warn_unused_result));
void scrub_get_stats(const struct scrub *, struct scrub_stats *);

#endif
