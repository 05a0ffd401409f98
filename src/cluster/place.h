/*
 * place: which nodes hold a file when the cluster keeps N copies of each.
 *
 * Rendezvous (highest random weight) hashing: every candidate node gets a
 * score for the file, -weight / ln(u) with u uniform in (0, 1) drawn from
 * a hash of the node's id and the file's path; the N highest hold it.
 * Every node computes the same holders from the same candidates, a node
 * joining or leaving moves only the files it enters or leaves the top N
 * of, and a node of twice the weight gets twice the files.
 *
 * Pure functions over a snapshot of the candidates (a view), which
 * place_view_fill takes from the members as they are now.
 */
#ifndef SHOAL_CLUSTER_PLACE_H
#define SHOAL_CLUSTER_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/vv.h"

#define PLACE_MAX	256	/* candidates considered */

struct place_node {
	uint8_t		 id[NODE_ID_LEN];
	double		 weight;
	bool		 full;		/* no new copies; keeps its own */
};

struct place_view {
	unsigned		 replicas;	/* 0: every node holds all */
	unsigned		 n;
	int			 self;		/* index in nodes, -1 if none */
	struct place_node	 nodes[PLACE_MAX];
};

/* This node, as a candidate. */
struct place_self {
	uint8_t		 id[NODE_ID_LEN];
	double		 weight;	/* its capacity */
	bool		 full;
};

struct members;

/*
 * The view now: this node first, then every member whose id is known and
 * that has not left, if it is up or went down less than delay_ms ago (a
 * short outage moves nothing).  replicas is the cluster's (an unknown one
 * counts as all).
 */
void	place_view_fill(struct place_view *, unsigned replicas,
	    const struct place_self *, struct members *, uint64_t now_ms,
	    unsigned delay_ms);

/* The file's half of every score: hash it once per path. */
uint64_t place_key(const char *path);
/*
 * The holders of the file with key, best first, as indexes into
 * v->nodes; returns how many (at most replicas, all with replicas =
 * all), at most max.  A full node is passed over unless holds(arg, id)
 * says it already has the file (holds may be NULL: it has not), so a
 * node filling up keeps its copies and gets no new ones.
 */
unsigned place_holders(const struct place_view *, uint64_t key,
	    bool (*holds)(void *, const uint8_t id[NODE_ID_LEN]), void *arg,
	    unsigned *out, unsigned max);
/* This node is one of the holders of a new version of the file. */
bool	place_mine(const struct place_view *, uint64_t key);

#endif
