/*
 * sync_int: what sync.c (index exchange, decisions) and pull.c (fetching
 * blocks, serving blocks) share.  Not for other modules.
 */
#ifndef SHOAL_CLUSTER_SYNC_INT_H
#define SHOAL_CLUSTER_SYNC_INT_H

#include <sys/queue.h>

#include "cluster/catalog.h"
#include "cluster/place.h"
#include "cluster/sync.h"
#include "store/fetch.h"
#include "store/index.h"
#include "store/path.h"

#define PULL_HOLDERS	16
#define PULL_ACTIVE_MAX	64
#define PULL_WINDOW	16	/* block requests in flight per member */
#define PULL_HASH	16384	/* buckets of the pulls by target */

/* An index entry as a peer sent it. */
struct rentry {
	char			*path;
	struct file_meta	 m;		/* m.blocks points at blocks */
	uint8_t			*blocks;
	uint8_t			 from[NODE_ID_LEN];
	unsigned		 tries;		/* pulls of it given up so far */
};

enum pull_phase {
	PULL_QUEUED,
	PULL_PREPARING,
	PULL_FETCHING,
	PULL_COMMITTING,
	PULL_PARKED,		/* no holder can send it: waits, then redecided */
};

struct pull {
	TAILQ_ENTRY(pull)	 entry;
	struct pull		*hnext;		/* chain in sy->phash */
	struct sync		*sy;
	struct rentry		 e;
	char			*target;	/* path or a conflict copy */
	struct vv		 expect;	/* local row when decided */
	bool			 expect_exists;
	struct fetch		*f;
	uint8_t			*state;		/* per block, see pull.c */
	uint32_t		 nblocks, nhave, ninflight;
	uint8_t			 holders[PULL_HOLDERS][NODE_ID_LEN];
	unsigned		 nholders;
	enum pull_phase		 phase;
	unsigned		 jobs;		/* jobs holding it */
	bool			 obsolete;	/* drop when the job returns */
	uint64_t		 reused;
	uint32_t		 prefix;	/* blocks 0..prefix-1 are here */
	uint64_t		 retry_at;	/* parked: redecided then (ms) */
	uint64_t		 unusable_since; /* no holder to ask since (ms) */
	TAILQ_HEAD(, sync_reader) readers;	/* streaming it to clients */
};

/* A row of this node's index, for the catalog. */
struct self_row {
	char			*path;
	struct file_meta	 m;		/* without blocks */
};

struct req {
	TAILQ_ENTRY(req)	 entry;
	uint32_t		 id;
	struct pull		*p;
	uint32_t		 idx;
	struct member		*m;
	uint64_t		 sent_ms;
};

struct member_sync {
	unsigned		 inflight;	/* block requests to it */
	uint64_t		 stalled_until;	/* no requests to it before (ms) */
	unsigned		 stalls;	/* in a row, for the backoff */
	uint64_t		 last_reply_ms;	/* its last BLOCK (ms) */
};

TAILQ_HEAD(pull_list, pull);
TAILQ_HEAD(req_list, req);

struct sync {
	struct sync_opts	 o;
	uint64_t		 announced;
	bool			 announcing;
	bool			 announce_again;
	int			 efd;
	struct event		*ev_notify;
	struct event		*ev_check;
	struct pull_list	 queue;
	struct pull_list	 active;
	struct pull_list	 parked;
	unsigned		 nqueued, nactive, nparked;
	struct pull		**phash;	/* every pull, by target */
	struct event		*ev_pull_tick;	/* timeouts and retries */
	bool			 pumping;
	struct req_list		 reqs;
	uint32_t		 next_req;
	TAILQ_HEAD(, batch)	 batches;
	TAILQ_HEAD(, intake)	 intake;	/* INDEX frames being decoded */
	struct batch		*finishing;	/* decided, being handed on */
	struct event		*ev_step;	/* the next step of either */
	bool			 classifying;
	TAILQ_HEAD(, waiter)	 waiters;
	unsigned		 disagree_ticks;
	struct sync_stats	 st;
	/* replicas = N */
	struct catalog		*cat;
	uint64_t		 loaded;	/* catalog read up to this seq */
	struct event		*ev_repair;
	bool			 self_full;
	uint64_t		 free_bytes;
	unsigned		 drop_jobs;
};

void	rentry_release(struct rentry *);
int	rentry_copy(struct rentry *dst, const struct rentry *src);

/* pull.c */
int pull_init(struct sync *);
void pull_member_up(struct sync *, struct member *);
void	pull_enqueue(struct sync *, struct rentry *, const char *target,
	    const struct vv *expect, bool expect_exists);
void	pull_add_holder(struct sync *, const char *path,
	    const uint8_t sha[HASH_LEN], const uint8_t id[NODE_ID_LEN]);
void	pull_pump(struct sync *);
bool	pull_pending(struct sync *, const char *path);
void	pull_member_down(struct sync *, struct member *);
void	pull_on_block(struct sync *, struct member *, const uint8_t *,
	    uint32_t);
void	pull_free_all(struct sync *);
/* pull.c: streaming readers */
void	pull_readers_attach(struct sync *, struct pull *);
/* pull.c: the pull of target, if any */
struct pull *pull_find(struct sync *, const char *target);
/* pull.c: move a queued pull to the front */
void	pull_hurry(struct sync *, struct pull *);
/* pull.c: path's row (with blocks), which must be a live file held
 * elsewhere with content sha (else -ESTALE).  Pool only. */
int	pull_load_remote(struct sync *, const char *path,
	    const uint8_t sha[HASH_LEN], struct rentry *);
/* pull.c: the live members holding ce's version become p's sources. */
void	pull_take_holders(struct sync *, struct pull *, struct cat_entry *);

/* repair.c */
void	repair_view(struct sync *, struct place_view *);
int	repair_start(struct sync *);
void	repair_stop(struct sync *);
/* Members alive that announced e's current version, into out (ids). */
unsigned repair_live_holders(struct sync *, const struct cat_entry *,
	    struct member **out, unsigned max);

/* sync.c: a fetched entry needs deciding again (the local file changed). */
void	sync_redecide(struct sync *, struct rentry *);
/* The same for n entries, in one batch (copies them). */
void	sync_redecide_n(struct sync *, struct rentry *const *, size_t n);
void	sync_fetched(struct sync *, const struct rentry *, const char *target);

#endif
