/*
 * decide: the rules sync and repair follow, as pure functions.
 *
 * Which of two versions of a path stays, what this node does with an
 * entry a peer sent (ignore it, adopt it, apply it, fetch it, or keep it
 * beside ours as a conflict copy), how a conflict copy is named, and
 * whether the repair walk fetches or drops a copy here.  Every node
 * applies the same rules to the same versions, so they reach the same
 * result without talking; nothing here reads the index, the disk or the
 * members: the callers gather the facts and carry the decision out.
 */
#ifndef SHOAL_CLUSTER_DECIDE_H
#define SHOAL_CLUSTER_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/place.h"
#include "store/index.h"

enum decide_act {
	DECIDE_IGNORE,		/* older than ours or the same version */
	DECIDE_ADOPT,		/* same content: merge the version, no data */
	DECIDE_KEEP,		/* conflict, ours stays; theirs is no file */
	DECIDE_COPY,		/* conflict, ours stays; fetch theirs into
				 * its conflict copy (decide_copy_needed) */
	DECIDE_DELETE,		/* theirs is a deletion: apply it */
	DECIDE_DIR,		/* theirs is a folder: apply it */
	DECIDE_ROW,		/* theirs is a file placed elsewhere: the
				 * row only, no copy */
	DECIDE_FETCH,		/* theirs is a file to fetch here */
};

struct decision {
	enum decide_act	 act;
	bool		 conflict;	/* the versions are concurrent */
	/*
	 * Theirs won a conflict: our version's vector is merged into
	 * theirs before it is applied, and our file (set_aside) is first
	 * moved to its conflict copy, so it is kept.
	 */
	bool		 merge;
	bool		 set_aside;
};

/*
 * What to do with remote, a peer's entry for path, given this node's row
 * local (NULL if it has none) and the placement view (DECIDE_ROW when a
 * new file is not this node's to hold).
 */
struct decision decide_entry(const char *path, const struct file_meta *local,
	    const struct file_meta *remote, const struct place_view *view);
/*
 * Of two concurrent versions, whether remote stays: a live entry over a
 * deletion, a folder over a file, then the later mtime, then the higher
 * node id.  The same answer on every node.
 */
bool	decide_remote_wins(const struct file_meta *local,
	    const struct file_meta *remote);
/* Both are deletions, or the same folder, or files of the same content. */
bool	decide_same_content(const struct file_meta *,
	    const struct file_meta *);
/*
 * NAME.sync-conflict-YYYYMMDD-HHMMSS-NODE.EXT for the losing version of
 * path (its mtime in UTC, the first three bytes of its writer's id in
 * hex; EXT after the last dot of the last component, none for a leading
 * dot).  Malloc'd; NULL without memory.
 */
char	*decide_conflict_name(const char *path, const struct file_meta *loser);
/* Whether theirs must be fetched into its conflict copy, whose row is
 * copy (NULL if none): not when the copy already has that content. */
bool	decide_copy_needed(const struct file_meta *copy,
	    const struct file_meta *remote);

/*
 * Repair, for one live file of the catalog.
 */
struct repair_facts {
	unsigned	 replicas;	/* REPLICAS_ALL or N */
	bool		 held;		/* a copy is here */
	bool		 pulling;	/* a copy is being made here */
	bool		 mine;		/* placement names this node */
	bool		 pinned;	/* pinned here */
	bool		 all_hold;	/* every other holder placement names
					 * is up and announced the version */
	unsigned	 holders;	/* how many holders placement names */
	unsigned	 copies;	/* live copies, this node's included */
	bool		 room;		/* the pull queue takes repairs */
	bool		 dropping;	/* drops of an earlier walk run */
	uint64_t	 now, keep_until; /* a copy read here is kept */
};

enum repair_act {
	REPAIR_NONE,
	REPAIR_FETCH,		/* make a copy here */
	REPAIR_DROP,		/* drop the copy here */
};

/*
 * Fetch when this node should hold the file (placement or a pin), has no
 * copy, is making none and some live member has one.  Drop (never with
 * replicas = all) a copy placement does not name and no pin keeps, once
 * every holder placement names holds the version, no read keeps it and no
 * other drop runs: no file ever has fewer copies because of a drop.
 */
enum repair_act decide_repair(const struct repair_facts *);
/* How many copies are missing: N (every live node with replicas = all,
 * alive counting this one) less the live copies. */
unsigned decide_missing(unsigned replicas, unsigned alive, unsigned copies);

#endif
