/*
 * repair: keeps each file on its holders when the cluster keeps N copies
 * (see repair.c).  Internal to cluster/: sync creates it; it reads the
 * catalog, asks placement for the view and decide for the rule, drops
 * copies itself and asks for copies through its hooks; it never calls
 * sync or pull.
 */
#ifndef SHOAL_CLUSTER_REPAIR_H
#define SHOAL_CLUSTER_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/catalog.h"
#include "cluster/members.h"
#include "cluster/place.h"

struct event_base;
struct repair;
struct store;
struct work_pool;

struct repair_hooks {
	/* Index entries are still being taken in or decided: the walk
	 * waits, rows are still arriving. */
	bool		(*deciding)(void *);
	/* How many fetches wait for a slot (repair adds none past a
	 * bound). */
	unsigned	(*queued)(void *);
	/* Make copies here of n paths (sha: the content of each). */
	void		(*fetch)(void *, char *const *paths,
			    const uint8_t (*sha)[HASH_LEN], size_t n);
	/* replicas = all: the bytes fetches may still take here. */
	uint64_t	(*room)(void *);
	void		*arg;
};

struct repair_opts {
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		*store;
	struct catalog		*cat;		/* borrowed */
	const unsigned		*replicas;	/* REPLICAS_ALL, N, UNKNOWN */
	const struct place_self	*self;		/* borrowed, read each walk */
	unsigned		 repair_delay_ms;
	struct repair_hooks	 hooks;
};

/* What the last walk counted, and what repair did since the start. */
struct repair_stats {
	uint64_t	 files;		/* live files in the namespace */
	uint64_t	 held;		/* of which a copy is here */
	uint64_t	 under;		/* with fewer than N live copies */
	uint64_t	 repair_bytes;	/* bytes of the copies missing */
	uint64_t	 unavailable;	/* with no live copy */
	uint64_t	 drops;		/* copies dropped here */
	/* replicas = all: files whose row is here but no copy (no room),
	 * and their bytes */
	uint64_t	 missing_files;
	uint64_t	 missing_bytes;
};

struct repair *repair_new(const struct repair_opts *);
void	repair_free(struct repair *);
/* members is made after repair. */
void	repair_set_members(struct repair *, struct members *);
void	repair_stats(const struct repair *, struct repair_stats *);
/* Live copies of e's current version, this node's included. */
unsigned repair_live_copies(struct members *, const struct cat_entry *);
/* Whether member m is up (alive, with a link). */
bool	repair_member_up(const struct member *m);

#endif
