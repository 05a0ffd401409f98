/*
 * sync_int: the state of sync, for sync.c, lookup.c and the block serving
 * in pull.c.  Not for other modules.
 */
#ifndef SHOAL_CLUSTER_SYNC_INT_H
#define SHOAL_CLUSTER_SYNC_INT_H

#include <sys/queue.h>

#include "cluster/catalog.h"
#include "cluster/place.h"
#include "cluster/pull.h"
#include "cluster/repair.h"
#include "cluster/sync.h"
#include "store/fetch.h"
#include "store/index.h"
#include "store/path.h"

/* A row of this node's index, for the catalog. */
struct self_row {
	char			*path;
	struct file_meta	 m;		/* without blocks */
};

struct sync {
	struct sync_opts	 o;
	uint64_t		 announced;
	bool			 announcing;
	bool			 announce_again;
	int			 efd;
	struct event		*ev_notify;
	struct event		*ev_check;
	struct pulls		*pulls;
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
	struct repair		*repair;
	struct place_self	 self;		/* this node, for placement */
	uint64_t		 free_bytes;
	bool			 space_short;	/* replicas = all: files lack room */
	uint64_t		 room_clear_ms;	/* lacks of room before this are
						 * over (ms) */
	/* the last resync, and the digests it was between */
	uint64_t		 last_resync_ms;
	uint8_t			 resync_mine[HASH_LEN];
	uint8_t			 resync_best[HASH_LEN];
};


#endif
