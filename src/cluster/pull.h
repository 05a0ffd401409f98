/*
 * pull: fetching file versions from the members that hold them (see
 * pull.c for the states of a pull).  Internal to cluster/: sync creates
 * the pulls, hands them the entries it decided to fetch and the block
 * frames members send, and hears back through the hooks it gave; pull
 * never calls sync.
 *
 * Each catalog entry points at the pull making a copy of it here
 * (cat_entry.pull, kept by this module alone).
 */
#ifndef SHOAL_CLUSTER_PULL_H
#define SHOAL_CLUSTER_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/catalog.h"
#include "cluster/members.h"
#include "cluster/sync.h"
#include "store/index.h"

struct event_base;
struct pulls;
struct store;
struct work_pool;

/* An index entry as a peer sent it. */
struct rentry {
	char			*path;
	struct file_meta	 m;		/* m.blocks points at blocks */
	uint8_t			*blocks;
	uint8_t			*attrs;		/* m.attrs points here */
	uint8_t			 from[NODE_ID_LEN];
	unsigned		 tries;		/* pulls of it given up so far */
};

void	rentry_release(struct rentry *);
int	rentry_copy(struct rentry *dst, const struct rentry *src);

/* A member's side of pulling (member.sync), made when it comes up. */
struct member_sync {
	unsigned		 inflight;	/* block requests to it */
	uint64_t		 stalled_until;	/* no requests to it before (ms) */
	unsigned		 stalls;	/* in a row, for the backoff */
	uint64_t		 last_reply_ms;	/* its last BLOCK (ms) */
};

struct pull_hooks {
	/*
	 * Entries whose pull ended without a copy and must be decided again
	 * from the local row (it changed meanwhile, or no holder could send
	 * them for a while).  The entries are borrowed for the call.
	 */
	void		(*redecide)(void *, struct rentry *const *, size_t n);
	/* e's version was committed into target (e's path or a copy). */
	void		(*fetched)(void *, const struct rentry *e,
			    const char *target);
	void		*arg;
};

struct pull_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct catalog		*cat;		/* borrowed */
	unsigned		 read_keep_ms;	/* a copy fetched for a read */
	const unsigned		*replicas;	/* REPLICAS_ALL, N, UNKNOWN */
	bool			 joining;	/* never met the cluster yet */
	struct pull_hooks	 hooks;
};

struct pull_stats {
	struct pull_progress wave[PULL_WAVES];
	unsigned	 active;
	unsigned	 queued;
	unsigned	 parked;	/* no holder could serve: retried later */
	uint64_t	 bytes_fetched;
	uint64_t	 bytes_reused;
	uint64_t	 bad_blocks;
	uint64_t	 copies;	/* pull_copies that became pulls */
	uint64_t	 no_room_ms;	/* when a row was last recorded held
					 * elsewhere for lack of room */
};

struct pulls *pulls_new(const struct pull_opts *);
/* Frees every pull (partial files with blocks are kept). */
void	pulls_free(struct pulls *);
/* members is made after the pulls. */
void	pull_set_members(struct pulls *, struct members *);
void	pull_stats(const struct pulls *, struct pull_stats *);

/*
 * Fetch e's version into target (e's path, or a conflict copy's name).
 * expect: the local row's version when it was decided (the commit fails
 * with a redecide if the file changed meanwhile); NULL for a copy.  A
 * pull of target for the same version only gains e's sender as a source;
 * one for another version is replaced.
 */
void	pull_enqueue(struct pulls *, struct rentry *e, const char *target,
	    const struct vv *expect, bool expect_exists);
/* Member id announced holding path with content sha. */
void	pull_add_holder(struct pulls *, const char *path,
	    const uint8_t sha[HASH_LEN], const uint8_t id[NODE_ID_LEN]);
/*
 * Make copies here of n paths (sha: the content of each, as the catalog
 * has it) from the live members the catalog names: the rows are read on
 * the pool; one that changed meanwhile is left to the next walk.
 */
void	pull_copies(struct pulls *, char *const *paths,
	    const uint8_t (*sha)[HASH_LEN], size_t n);
/* Whether a fetch into path is pending. */
bool	pull_pending(struct pulls *, const char *path);
/*
 * The content (SHA-256) of every file a pull is to fetch, queued, active
 * or parked: a new sorted array of *n hashes (NULL if none, or out of
 * memory), the caller's to free.
 */
uint8_t	*pull_wanted(const struct pulls *, size_t *n);
/*
 * replicas = all: room is the free space above store.min_free_mb.  A
 * fetch that does not fit in what the active ones leave of it (or fails
 * for space) records its row as held elsewhere instead; pull_room is
 * what is left, for the repair walk.
 */
void	pull_set_room(struct pulls *, uint64_t room);
uint64_t pull_room(const struct pulls *);
/* Start what can be started. */
void	pull_pump(struct pulls *);
void	pull_member_up(struct pulls *, struct member *);
void	pull_member_down(struct pulls *, struct member *);
/* A BLOCK frame (its bytes are in member_bulk(m)). */
void	pull_on_block(struct pulls *, struct member *, const uint8_t *,
	    uint32_t);

/* sync_read_open (sync.h), on the catalog entry of path. */
struct sync_reader;
int	pull_read_open(struct pulls *, const char *path,
	    void (*ready)(void *), void (*failed)(void *, const char *why),
	    void *arg, struct sync_reader **out, char *why, size_t whylen);

#endif
