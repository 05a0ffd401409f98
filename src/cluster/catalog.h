/*
 * catalog: every file of the namespace and which nodes hold its current
 * version, as this node knows it (replicas = N needs it to place, read and
 * repair).  Fed from this node's own index rows and from the index entries
 * members send: an entry whose sender holds the content names a holder,
 * one that does not (or a deletion) removes it.  Lives on the loop; it is
 * rebuilt after a restart from the index and the members' full indexes.
 *
 * Pins (paths kept here whatever the placement) live here too.
 */
#ifndef SHOAL_CLUSTER_CATALOG_H
#define SHOAL_CLUSTER_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/index.h"

struct pull;

struct cat_holder {
	uint8_t		 id[NODE_ID_LEN];
	uint8_t		 sha[HASH_LEN];
};

struct cat_entry {
	struct cat_entry	*next;		/* hash chain */
	char			*path;
	uint64_t		 key;		/* place_key(path) */
	uint64_t		 size;
	uint8_t			 sha[HASH_LEN];	/* our row's content */
	bool			 live;		/* our row is a live file */
	bool			 held;		/* and we hold it */
	struct pull		*pull;		/* the pull into path, if any
						 * (set and cleared by pull.c) */
	bool			 loading;	/* pull.c reads the row for a
						 * repair copy */
	uint64_t		 keep_until;	/* read here: keep until (ms) */
	char			*version;	/* our row's, as text */
	struct cat_holder	*h;		/* members that announced it */
	unsigned		 nh;
};

struct catalog;

struct catalog *catalog_new(void);
void	catalog_free(struct catalog *);
/* This node's row for path changed. */
void	catalog_self(struct catalog *, const char *path,
	    const struct file_meta *);
/* Member id's row for path, as it sent it. */
void	catalog_peer(struct catalog *, const char *path,
	    const uint8_t id[NODE_ID_LEN], const struct file_meta *);
struct cat_entry *catalog_find(struct catalog *, const char *path);
/* fn for every entry (it may not add or remove entries). */
void	catalog_each(struct catalog *, void (*fn)(struct cat_entry *, void *),
	    void *arg);
/* Whether member id announced holding e's current version. */
bool	catalog_holds(const struct cat_entry *, const uint8_t id[NODE_ID_LEN]);

/* Pins: a pinned folder covers everything under it. */
int	catalog_pin(struct catalog *, const char *path, bool pin);
bool	catalog_pinned(const struct catalog *, const char *path);
void	catalog_pins(const struct catalog *, void (*fn)(const char *, void *),
	    void *arg);

#endif
