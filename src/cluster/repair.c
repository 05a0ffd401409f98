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
 * elsewhere) or had no room for (pull.c records those rows so): never
 * more bytes a walk than the room left above store.min_free_mb.
 *
 * The same walk counts what status and /metrics report.
 *
 * The rule for each file is decide_repair (decide.c); the holders come
 * from the placement view (place_view_fill).  Copies are asked for
 * through the hooks (sync hands them to pull); drops are done here.
 */
#include "cluster/repair.h"

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

struct repair {
	struct repair_opts	 o;
	struct members		*members;
	struct event		*ev_repair;
	unsigned		 drop_jobs;
	struct repair_stats	 st;
};

bool
repair_member_up(const struct member *m)
{
	return (m != NULL && m->state == MEMBER_ALIVE && m->link != NULL);
}

#define member_up repair_member_up

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
	struct repair	*r;
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
		rc = store_drop_copy(j->r->o.store, j->l.paths[i], j->l.sha[i]);
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

	j->r->drop_jobs--;
	j->r->st.drops += j->dropped;
	plist_release(&j->l);
	free(j);
}

/* The walk */

struct walk {
	struct repair		*r;
	struct place_view	 view;
	uint64_t		 now;
	unsigned		 alive;		/* live nodes, this one too */
	unsigned		 queued;	/* pulls waiting for a slot */
	struct repair_stats	 st;		/* the counts it makes */
	struct plist		 fetch;		/* copies to make here */
	struct drop_job		*drop;
	struct cat_entry	*cur;		/* the entry placed */
	uint64_t		 budget;	/* replicas = all: room left */
};

unsigned
repair_live_copies(struct members *mb, const struct cat_entry *e)
{
	unsigned i, n = e->held ? 1 : 0;

	for (i = 0; i < e->nh; i++)
		if (memcmp(e->h[i].sha, e->sha, HASH_LEN) == 0 &&
		    member_up(members_find(mb, e->h[i].id)))
			n++;
	return (n);
}

/* A full node keeps being a holder of what it has. */
static bool
walk_holds(void *arg, const uint8_t id[NODE_ID_LEN])
{
	struct walk *w = arg;

	if (memcmp(id, w->r->o.self->id, NODE_ID_LEN) == 0)
		return (w->cur->held);
	return (catalog_holds(w->cur, id));
}

static void
walk_entry(struct cat_entry *e, void *arg)
{
	struct walk *w = arg;
	struct repair *r = w->r;
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
		m = members_find(r->members, w->view.nodes[h[i]].id);
		if (!member_up(m) || !catalog_holds(e, m->id))
			all_hold = false;
	}
	copies = repair_live_copies(r->members, e);
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
		   catalog_pinned(r->o.cat, e->path);
	f.all_hold = all_hold;
	f.holders = n;
	f.copies = copies;
	f.room = w->queued < 4 * REPAIR_BATCH;
	if (w->view.replicas == REPLICAS_ALL && !e->held) {
		/* Counted until held, its fetch under way or not: the state
		 * does not flap while a copy is being tried. */
		w->st.missing_files++;
		w->st.missing_bytes += e->size;
		if (e->size > w->budget)
			f.room = false;
	}
	f.dropping = r->drop_jobs > 0;
	f.now = w->now;
	f.keep_until = e->keep_until;
	switch (decide_repair(&f)) {
	case REPAIR_FETCH:
		if (plist_add(&w->fetch, e) && w->view.replicas ==
		    REPLICAS_ALL)
			w->budget -= e->size;
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
	struct repair *r = arg;
	struct member *m;
	struct walk *w;

	(void)fd;
	(void)what;
	/* Decisions first: rows are still arriving. */
	if (r->o.hooks.deciding(r->o.hooks.arg) ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return;
	w->r = r;
	w->now = clock_mono_ms();
	w->alive = 1;
	w->queued = r->o.hooks.queued(r->o.hooks.arg);
	w->budget = r->o.hooks.room ? r->o.hooks.room(r->o.hooks.arg) : 0;
	TAILQ_FOREACH(m, members_list(r->members), entry)
		if (member_up(m))
			w->alive++;
	place_view_fill(&w->view, *r->o.replicas, r->o.self, r->members, w->now,
			r->o.repair_delay_ms);
	catalog_each(r->o.cat, walk_entry, w);
	r->st.files = w->st.files;
	r->st.held = w->st.held;
	r->st.under = w->st.under;
	r->st.repair_bytes = w->st.repair_bytes;
	r->st.unavailable = w->st.unavailable;
	r->st.missing_files = w->st.missing_files;
	r->st.missing_bytes = w->st.missing_bytes;
	if (w->fetch.n > 0)
		r->o.hooks.fetch(r->o.hooks.arg, w->fetch.paths,
				 (const uint8_t (*)[HASH_LEN])w->fetch.sha,
				 w->fetch.n);
	plist_release(&w->fetch);
	if (w->drop) {
		w->drop->r = r;
		r->drop_jobs++;
		if (work_submit(r->o.pool, drop_run, drop_done, w->drop) < 0)
			drop_done(w->drop);
	}
	free(w);
}

struct repair *
repair_new(const struct repair_opts *o)
{
	struct timeval tv = { 0, REPAIR_MS * 1000 };
	struct repair *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->o = *o;
	r->ev_repair = event_new(o->base, -1, EV_PERSIST, on_repair, r);
	if (r->ev_repair == NULL || event_add(r->ev_repair, &tv) < 0) {
		repair_free(r);
		return (NULL);
	}
	return (r);
}

void
repair_free(struct repair *r)
{
	if (r == NULL)
		return;
	if (r->ev_repair)
		event_free(r->ev_repair);
	free(r);
}

void
repair_set_members(struct repair *r, struct members *mb)
{
	r->members = mb;
}

void
repair_stats(const struct repair *r, struct repair_stats *out)
{
	*out = r->st;
}
