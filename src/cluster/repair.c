/*
 * repair: keeps each file on its holders when the cluster keeps N copies.
 *
 * Every second the catalog is walked.  For each file, with the holders
 * placement names now:
 *
 *   - a holder (or a node where the file is pinned) without a copy
 *     fetches one from the live members that hold it: this is how a copy
 *     lost with a dead node is made again, once that node has been gone
 *     for the repair delay (until then it is still a candidate, so a short
 *     outage moves nothing);
 *   - a node with a copy that is not a holder drops it, but only once
 *     every holder is alive and has announced holding the current version
 *     (a holder announces a version after committing it, every block
 *     checked), so no file ever has fewer copies because of a drop.
 *
 * With replicas = all every node is a holder: sync fetches each new
 * version, nothing is dropped, and the walk only fetches a copy this node
 * lost (a file found damaged at start-up, whose row is kept as held
 * elsewhere).
 *
 * The same walk counts what status and /metrics report.
 */
#include "cluster/sync_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/decide.h"
#include "store/store.h"

#define REPAIR_MS	1000
#define REPAIR_BATCH	256	/* fetches or drops started per walk */

static bool
member_up(const struct member *m)
{
	return (m != NULL && m->state == MEMBER_ALIVE && m->link != NULL);
}

void
repair_view(struct sync *sy, struct place_view *v)
{
	uint64_t now = clock_mono_ms();
	unsigned r = *sy->o.replicas;
	struct member *m;

	v->replicas = r == REPLICAS_UNKNOWN ? REPLICAS_ALL : r;
	memcpy(v->nodes[0].id, sy->o.store->node_id, NODE_ID_LEN);
	v->nodes[0].weight = sy->o.capacity;
	v->nodes[0].full = sy->self_full;
	v->self = 0;
	v->n = 1;
	TAILQ_FOREACH(m, members_list(sy->o.members), entry) {
		if (v->n == PLACE_MAX)
			break;
		if (!m->id_known || m->state == MEMBER_LEFT)
			continue;
		/* Down for less than the repair delay: still a holder. */
		if (!member_up(m) && now - m->down_at >= sy->o.repair_delay_ms)
			continue;
		memcpy(v->nodes[v->n].id, m->id, NODE_ID_LEN);
		v->nodes[v->n].weight = m->capacity;
		v->nodes[v->n].full = m->full;
		v->n++;
	}
}

/* Paths (with the content each is about) handed to a job. */
struct plist {
	char		**paths;
	uint8_t		(*sha)[HASH_LEN];
	size_t		 n;
};

static bool
plist_add(struct plist *l, const struct cat_entry *e)
{
	char *p;

	if (l->paths == NULL && ((l->paths = calloc(REPAIR_BATCH,
	    sizeof(*l->paths))) == NULL || (l->sha = calloc(REPAIR_BATCH,
	    sizeof(*l->sha))) == NULL))
		return (false);
	if (l->n >= REPAIR_BATCH || (p = strdup(e->path)) == NULL)
		return (false);
	l->paths[l->n] = p;
	memcpy(l->sha[l->n], e->sha, HASH_LEN);
	l->n++;
	return (true);
}

static void
plist_release(struct plist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->sha);
}

/* Dropping copies */

struct drop_job {
	struct sync	*sy;
	struct plist	 l;
	unsigned	 dropped;
};

static void
drop_run(void *arg)
{
	struct drop_job *j = arg;
	size_t i;
	int rc;

	for (i = 0; i < j->l.n; i++) {
		rc = store_drop_copy(j->sy->o.store, j->l.paths[i],
		    j->l.sha[i]);
		if (rc == 0)
			j->dropped++;
		else if (rc != -ESTALE && rc != -EBUSY && rc != -ENOENT)
			log_warnx("repair: cannot drop the copy of %s: %s",
			    j->l.paths[i], strerror(-rc));
	}
}

static void
drop_done(void *arg)
{
	struct drop_job *j = arg;

	j->sy->drop_jobs--;
	j->sy->st.drops += j->dropped;
	plist_release(&j->l);
	free(j);
}

/* The walk */

struct walk {
	struct sync		*sy;
	struct place_view	 view;
	uint64_t		 now;
	unsigned		 alive;		/* live nodes, this one too */
	unsigned		 queued;	/* pulls waiting for a slot */
	struct sync_stats	 st;		/* the counts it makes */
	struct plist		 fetch;		/* copies to make here */
	struct drop_job		*drop;
	struct cat_entry	*cur;		/* the entry placed */
};

/* Live copies of e's current version, this node's included. */
static unsigned
live_copies(struct sync *sy, const struct cat_entry *e)
{
	unsigned i, n = e->held ? 1 : 0;

	for (i = 0; i < e->nh; i++)
		if (memcmp(e->h[i].sha, e->sha, HASH_LEN) == 0 &&
		    member_up(members_find(sy->o.members, e->h[i].id)))
			n++;
	return (n);
}

/* A full node keeps being a holder of what it has. */
static bool
walk_holds(void *arg, const uint8_t id[NODE_ID_LEN])
{
	struct walk *w = arg;

	if (memcmp(id, w->sy->o.store->node_id, NODE_ID_LEN) == 0)
		return (w->cur->held);
	return (catalog_holds(w->cur, id));
}

static void
walk_entry(struct cat_entry *e, void *arg)
{
	struct walk *w = arg;
	struct sync *sy = w->sy;
	unsigned h[PLACE_MAX], n, i, copies, missing;
	bool mine = false, all_hold = true;
	struct repair_facts f;
	struct member *m;

	if (!e->live)
		return;
	w->st.files++;
	if (e->held)
		w->st.held++;
	w->cur = e;
	n = place_holders(&w->view, e->key, walk_holds, w, h, PLACE_MAX);
	for (i = 0; i < n; i++) {
		if ((int)h[i] == w->view.self) {
			mine = true;
			continue;
		}
		m = members_find(sy->o.members, w->view.nodes[h[i]].id);
		if (!member_up(m) || !catalog_holds(e, m->id))
			all_hold = false;
	}
	copies = live_copies(sy, e);
	missing = decide_missing(w->view.replicas, w->alive, copies);
	if (missing > 0) {
		w->st.under++;
		w->st.repair_bytes += e->size * missing;
	}
	if (copies == 0)
		w->st.unavailable++;
	f.replicas = w->view.replicas;
	f.held = e->held;
	f.pulling = e->pull != NULL || e->loading;
	f.mine = mine;
	f.pinned = w->view.replicas != REPLICAS_ALL &&
		   catalog_pinned(sy->cat, e->path);
	f.all_hold = all_hold;
	f.holders = n;
	f.copies = copies;
	f.room = w->queued < 4 * REPAIR_BATCH;
	f.dropping = sy->drop_jobs > 0;
	f.now = w->now;
	f.keep_until = e->keep_until;
	switch (decide_repair(&f)) {
	case REPAIR_FETCH:
		(void)plist_add(&w->fetch, e);
		break;
	case REPAIR_DROP:
		if (w->drop == NULL && (w->drop = calloc(1,
		    sizeof(*w->drop))) == NULL)
			return;
		(void)plist_add(&w->drop->l, e);
		break;
	case REPAIR_NONE:
		break;
	}
}

static void
on_repair(evutil_socket_t fd, short what, void *arg)
{
	struct sync *sy = arg;
	struct pull_stats ps;
	struct member *m;
	struct walk *w;

	(void)fd;
	(void)what;
	if (sy->classifying || !TAILQ_EMPTY(&sy->batches) ||
	    !TAILQ_EMPTY(&sy->intake) || (w = calloc(1, sizeof(*w))) == NULL)
		return;	/* decisions first: rows are still arriving */
	w->sy = sy;
	w->now = clock_mono_ms();
	w->alive = 1;
	pull_stats(sy->pulls, &ps);
	w->queued = ps.queued;
	TAILQ_FOREACH(m, members_list(sy->o.members), entry)
		if (member_up(m))
			w->alive++;
	repair_view(sy, &w->view);
	catalog_each(sy->cat, walk_entry, w);
	sy->st.files = w->st.files;
	sy->st.held = w->st.held;
	sy->st.under = w->st.under;
	sy->st.repair_bytes = w->st.repair_bytes;
	sy->st.unavailable = w->st.unavailable;
	pull_copies(sy->pulls, w->fetch.paths,
	    (const uint8_t (*)[HASH_LEN])w->fetch.sha, w->fetch.n);
	plist_release(&w->fetch);
	if (w->drop) {
		w->drop->sy = sy;
		sy->drop_jobs++;
		if (work_submit(sy->o.pool, drop_run, drop_done, w->drop) < 0)
			drop_done(w->drop);
	}
	free(w);
}

int
repair_start(struct sync *sy)
{
	struct timeval tv = { 0, REPAIR_MS * 1000 };

	if ((sy->ev_repair = event_new(sy->o.base, -1, EV_PERSIST,
	    on_repair, sy)) == NULL || event_add(sy->ev_repair, &tv) < 0)
		return (-ENOMEM);
	return (0);
}

void
repair_stop(struct sync *sy)
{
	if (sy->ev_repair)
		event_free(sy->ev_repair);
	sy->ev_repair = NULL;
}

/* Queries (sync.h) */

void
sync_set_space(struct sync *sy, uint64_t free_bytes, bool full)
{
	if (full != sy->self_full)
		log_info("repair: this node is %s (%llu MiB free)", full ?
		    "full: new copies go elsewhere" : "no longer full",
		    (unsigned long long)(free_bytes >> 20));
	sy->self_full = full;
	sy->free_bytes = free_bytes;
}

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

void
sync_space(uint64_t *free_bytes, bool *full, void *arg)
{
	struct sync *sy = arg;

	*free_bytes = sy->free_bytes;
	*full = sy->self_full;
}

void
sync_learn_replicas(unsigned replicas, void *arg)
{
	struct sync *sy = arg;

	if (sy->o.learned)
		sy->o.learned(sy->o.hook_arg, replicas);
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

	if (u->left > 0 && e->live && live_copies(u->sy, e) == 0) {
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
			fn(hex, member_up(members_find(sy->o.members,
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
