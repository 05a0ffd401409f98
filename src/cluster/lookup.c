/*
 * lookup: what the catalog tells clients (status, listings, the HTTP API):
 * pins, the files with no live copy, the holders of a file, and pages of
 * the namespace in path order.  On the loop, like the catalog.
 */
#include "cluster/repair.h"
#include "cluster/sync_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
sync_pin(struct sync *sy, const char *path, bool pin)
{
	return (catalog_pin(sy->cat, path, pin));
}

void
sync_pins(struct sync *sy, void (*fn)(const char *, void *), void *arg)
{
	catalog_pins(sy->cat, fn, arg);
}

struct unavail {
	struct sync	*sy;
	void		(*fn)(const char *, void *);
	void		*arg;
	size_t		 left;
};

static void
unavail_entry(struct cat_entry *e, void *arg)
{
	struct unavail *u = arg;

	if (u->left > 0 && e->live && repair_live_copies(u->sy->o.members, e) == 0) {
		u->fn(e->path, u->arg);
		u->left--;
	}
}

void
sync_unavailable(struct sync *sy, size_t max,
    void (*fn)(const char *, void *), void *arg)
{
	struct unavail u = { sy, fn, arg, max };

	catalog_each(sy->cat, unavail_entry, &u);
}

int
sync_holders(struct sync *sy, const char *path,
    void (*fn)(const char *, bool, void *), void *arg)
{
	struct cat_entry *e = catalog_find(sy->cat, path);
	char hex[2 * NODE_ID_LEN + 1];
	unsigned i;

	if (e == NULL || !e->live)
		return (-ENOENT);
	if (e->held) {
		member_id_hex(sy->o.store->node_id, hex);
		fn(hex, true, arg);
	}
	for (i = 0; i < e->nh; i++)
		if (memcmp(e->h[i].sha, e->sha, HASH_LEN) == 0) {
			member_id_hex(e->h[i].id, hex);
			fn(hex, repair_member_up(members_find(sy->o.members,
			    e->h[i].id)), arg);
		}
	return (0);
}

/* A page of the catalog, in path order */

struct page {
	const char		*prefix, *after;
	size_t			 plen;
	struct cat_entry	**v;
	size_t			 n, cap;
};

static void
page_collect(struct cat_entry *e, void *arg)
{
	struct page *pg = arg;
	struct cat_entry **nv;

	if (!e->live || strcmp(e->path, pg->after) <= 0)
		return;
	if (pg->plen > 0 && (strncmp(e->path, pg->prefix, pg->plen) != 0 ||
	    (e->path[pg->plen] != '\0' && e->path[pg->plen] != '/')))
		return;
	if (pg->n == pg->cap) {
		pg->cap = pg->cap ? pg->cap * 2 : 256;
		if ((nv = realloc(pg->v, pg->cap * sizeof(*nv))) == NULL) {
			pg->cap = pg->n;
			return;
		}
		pg->v = nv;
	}
	pg->v[pg->n++] = e;
}

static int
cmp_entry(const void *a, const void *b)
{
	return (strcmp((*(struct cat_entry *const *)a)->path,
	    (*(struct cat_entry *const *)b)->path));
}

int
sync_catalog_page(struct sync *sy, const char *prefix, const char *after,
    unsigned limit, void (*fn)(const char *path, uint64_t size,
    const uint8_t sha[HASH_LEN], const char *version, void *), void *arg)
{
	struct page pg = { prefix, after, strlen(prefix), NULL, 0, 0 };
	size_t i;
	int more;

	catalog_each(sy->cat, page_collect, &pg);
	qsort(pg.v, pg.n, sizeof(*pg.v), cmp_entry);
	for (i = 0; i < pg.n && i < limit; i++)
		fn(pg.v[i]->path, pg.v[i]->size, pg.v[i]->sha,
		    pg.v[i]->version ? pg.v[i]->version : "", arg);
	more = pg.n > limit;
	free(pg.v);
	return (more);
}
