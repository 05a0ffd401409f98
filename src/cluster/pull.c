/*
 * pull: fetching file versions from peers (serve.c answers theirs).
 *
 * A pull goes queued -> preparing (fetch_begin finds local blocks) ->
 * fetching (block requests to holders) -> committing -> freed.  Each block
 * is in one state: missing, in flight (exactly one request names it) or
 * present.  Requests go to the best-ranked holder with room in its window,
 * so a file comes from several holders at once, and more from the faster.
 * A pull that became obsolete (a newer version arrived) is freed as soon
 * as nothing refers to it; the pull of the newer version starts only then
 * (superseded_running).
 *
 * No pull holds a slot it cannot use.  A request not answered while its
 * member sends no block for PULL_REQ_TIMEOUT_MS stalls that member (no
 * requests to it for a while, longer each time); a holder that answers
 * "no such block" (its copy moved or changed) or sends a bad one is
 * dropped from that pull.  A pull with no live, unstalled holder is
 * parked: its slot goes to the next one, and after a backoff it is
 * decided again from the local row (the version may have moved on
 * meanwhile, as when its source was renamed), with the holders the
 * catalog knows.  A holder announcing it or coming up ends the wait.
 *
 *   queued --------> preparing -> fetching -> committing -> freed
 *     |    ^                          |
 *     |    +--- a holder is back --+  | no usable holder
 *     +-- no usable holder ------> parked -- backoff --> redecided, freed
 *
 * The catalog entry of a path points at the pull into it (cat_entry.pull)
 * from enqueue to free, parked or not; sync finds out whether a fetch is
 * pending from there or from pull_pending.  Whatever pulling needs to
 * tell sync goes through the hooks given to pulls_new.
 *
 * Serving blocks (its own section) answers members' BLOCK_REQ for sync, with
 * sync's store and pool; it shares nothing with the pulls.
 */
#include "cluster/pull.h"
#include "cluster/sync_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include <event2/buffer.h>
#include <event2/event.h>
#include "store/store.h"

#define PULL_HOLDERS	16
#define PULL_ACTIVE_MAX	64
#define PULL_WINDOW	16	/* block requests in flight per member */
#define PULL_HASH	16384	/* buckets of the pulls by target */

enum { B_MISSING, B_INFLIGHT, B_HAVE };

enum pull_phase {
	PULL_QUEUED,
	PULL_PREPARING,
	PULL_FETCHING,
	PULL_COMMITTING,
	PULL_PARKED,		/* no holder can send it: waits, then redecided */
};

struct wave {
	uint64_t		 start_ms;	/* 0: none */
	uint64_t		 files_total, files_done;
	uint64_t		 bytes_total, bytes_done;
	bool			 logged;	/* its start was */
	bool			 join;		/* the first catch-up of a joiner */
};

struct pull {
	TAILQ_ENTRY(pull)	 entry;
	struct pull		*hnext;		/* chain in pl->phash */
	struct pulls		*pl;
	struct rentry		 e;
	char			*target;	/* path or a conflict copy */
	struct vv		 expect;	/* local row when decided */
	bool			 expect_exists;
	struct fetch		*f;
	uint8_t			*state;		/* per block, see above */
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
	uint64_t		 reserved;	/* of pl->room, while active */
	uint8_t			 last_from[NODE_ID_LEN]; /* sent a block last */
	bool			 from_known;
	enum pull_wave_kind	 wave;
	uint64_t		 wave_bytes;	/* counted done in it */
	bool			 requeued;	/* freed to be decided again */
	TAILQ_HEAD(, sync_reader) readers;	/* streaming it to clients */
};

struct req {
	TAILQ_ENTRY(req)	 entry;
	uint32_t		 id;
	struct pull		*p;
	uint32_t		 idx;
	struct member		*m;
	uint64_t		 sent_ms;
};

TAILQ_HEAD(pull_list, pull);
TAILQ_HEAD(req_list, req);

struct pulls {
	struct pull_opts	 o;
	struct members		*members;
	struct pull_list	 queue;
	struct pull_list	 active;
	struct pull_list	 parked;
	unsigned		 nqueued, nactive, nparked;
	struct pull		**phash;	/* every pull, by target */
	struct event		*ev_pull_tick;	/* timeouts and retries */
	bool			 pumping;
	struct req_list		 reqs;
	uint32_t		 next_req;
	struct pull_stats	 st;		/* the counters */
	uint64_t		 room;		/* free space above the floor */
	uint64_t		 reserved;	/* by the active pulls */
	bool			 record_warned;	/* a failed no-room row, logged */
	struct wave		 waves[PULL_WAVES];
	bool			 stopping;	/* pulls_free runs */
};

#define WAVE_LOG_FILES	10	/* a wave this big is logged */
#define WAVE_LOG_MS	2000	/* or one going on this long */

static const char *const wave_names[] = { "catch-up", "repair" };

static const char *
wave_name(const struct wave *w, unsigned kind)
{
	return (w->join ? "join" : wave_names[kind]);
}

static void
wave_add(struct pulls *pl, struct pull *p, enum pull_wave_kind kind)
{
	struct wave *w = &pl->waves[kind];

	p->wave = kind;
	if (w->start_ms == 0) {
		w->start_ms = clock_mono_ms();
		/* A node made with --join: its first catch-up is the join. */
		w->join = kind == PULL_WAVE_SYNC && pl->o.joining;
		if (kind == PULL_WAVE_SYNC)
			pl->o.joining = false;
	}
	w->files_total++;
	w->bytes_total += p->e.m.size;
}

/* Bytes of p's file now here (a block written, or all of it at the end). */
static void
wave_bytes(struct pulls *pl, struct pull *p, uint64_t n)
{
	if (n > p->e.m.size - p->wave_bytes)
		n = p->e.m.size - p->wave_bytes;
	p->wave_bytes += n;
	pl->waves[p->wave].bytes_done += n;
}

/* Logs a wave's start once it is worth a line (from the tick). */
static void
wave_check(struct pulls *pl, uint64_t now)
{
	struct wave *w;
	char size[STR_BYTES_MAX];
	unsigned k;

	for (k = 0; k < PULL_WAVES; k++) {
		w = &pl->waves[k];
		if (w->start_ms == 0 || w->logged)
			continue;
		if (k == PULL_WAVE_SYNC && w->files_total - w->files_done <
		    WAVE_LOG_FILES && now - w->start_ms < WAVE_LOG_MS)
			continue;
		w->logged = true;
		str_bytes(w->bytes_total - w->bytes_done, size);
		log_info("%s: %llu files, %s to fetch", wave_name(w, k),
		    (unsigned long long)(w->files_total - w->files_done),
		    size);
	}
}

static void
wave_done(struct pulls *pl, struct pull *p)
{
	struct wave *w = &pl->waves[p->wave];
	char size[STR_BYTES_MAX];

	if (pl->stopping)
		return;
	if (p->requeued) {
		/* Not done: decided again, it comes back as a new pull (or
		 * not at all, when nothing is left to fetch). */
		w->files_total--;
		w->bytes_total -= p->e.m.size - p->wave_bytes;
	} else {
		wave_bytes(pl, p, p->e.m.size);
		w->files_done++;
	}
	if (w->files_done < w->files_total)
		return;
	if (w->logged) {
		str_bytes(w->bytes_done, size);
		log_info("%s done: %llu files, %s in %.1f s",
		    wave_name(w, p->wave), (unsigned long long)w->files_done,
		    size, (double)(clock_mono_ms() - w->start_ms) / 1000.0);
	}
	memset(w, 0, sizeof(*w));
}

void
rentry_release(struct rentry *e)
{
	free(e->path);
	free(e->blocks);
	free(e->attrs);
	e->path = NULL;
	e->blocks = NULL;
	e->attrs = NULL;
}

int
rentry_copy(struct rentry *dst, const struct rentry *src)
{
	*dst = *src;
	dst->path = strdup(src->path);
	dst->blocks = malloc(src->m.nblocks * HASH_LEN + 1);
	dst->attrs = malloc(src->m.attrs_len + 1);
	if (dst->path == NULL || dst->blocks == NULL || dst->attrs == NULL) {
		rentry_release(dst);
		return (-ENOMEM);
	}
	memcpy(dst->blocks, src->blocks, src->m.nblocks * HASH_LEN);
	dst->m.blocks = dst->blocks;
	if (src->m.attrs_len)
		memcpy(dst->attrs, src->m.attrs, src->m.attrs_len);
	/* NULL stays NULL: "the row's own, if the content is the same" (a
	 * row read back from the index, for a read or a repair), not "none". */
	dst->m.attrs = src->m.attrs ? dst->attrs : NULL;
	return (0);
}

struct sync_reader {
	TAILQ_ENTRY(sync_reader) entry;
	struct pulls		*pl;
	struct pull		*p;		/* NULL once done or failed */
	char			*path;
	uint8_t			 sha[HASH_LEN];
	int			 fd;
	uint64_t		 avail, size;
	void			(*ready)(void *);
	void			(*failed)(void *, const char *);
	void			*arg;
	bool			 loading;	/* the row is being read */
	bool			 closed;	/* closed while loading */
};

static void readers_fail(struct pull *, const char *);
static void readers_ready(struct pull *);

#define PULL_REQ_TIMEOUT_MS 10000 /* a block request unanswered */
#define PULL_STALL_MS	    15000 /* first pause of a stalled member */
#define PULL_STALL_MAX_MS   300000
#define PULL_RETRY_MS	    1000 /* first wait of a parked pull */
#define PULL_RETRY_MAX_MS   60000
#define PULL_GRACE_MS	    3000 /* no usable holder, before parking */
#define PULL_TICK_MS	    500
#define PARK_STEP	    2048 /* queued pulls parked per pump */
#define REDECIDE_STEP	    4096 /* parked pulls redecided per tick */

static size_t
pull_bucket(const char *target)
{
	uint64_t h = 14695981039346656037ULL;

	while (*target)
		h = (h ^ (uint8_t)*target++) * 1099511628211ULL;
	return ((size_t)(h % PULL_HASH));
}

static void
hash_remove(struct pulls *pl, struct pull *p)
{
	struct pull **pp = &pl->phash[pull_bucket(p->target)];

	while (*pp != NULL && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp == p)
		*pp = p->hnext;
	p->hnext = NULL;
}

/* The pull of target that is not obsolete, if any: O(1), since a node
 * taking in a large index looks up every entry. */
static struct pull *
pull_find(struct pulls *pl, const char *target)
{
	struct pull *p;

	for (p = pl->phash[pull_bucket(target)]; p != NULL; p = p->hnext)
		if (!p->obsolete && strcmp(p->target, target) == 0)
			return (p);
	return (NULL);
}

static bool
is_holder(const struct pull *p, const uint8_t id[NODE_ID_LEN])
{
	unsigned i;

	for (i = 0; i < p->nholders; i++)
		if (memcmp(p->holders[i], id, NODE_ID_LEN) == 0)
			return (true);
	return (false);
}

static void
add_holder(struct pull *p, const uint8_t id[NODE_ID_LEN])
{
	if (!is_holder(p, id) && p->nholders < PULL_HOLDERS)
		memcpy(p->holders[p->nholders++], id, NODE_ID_LEN);
}

static void
drop_holder(struct pull *p, const uint8_t id[NODE_ID_LEN])
{
	unsigned i;

	for (i = 0; i < p->nholders; i++)
		if (memcmp(p->holders[i], id, NODE_ID_LEN) == 0) {
			memmove(p->holders[i], p->holders[i + 1],
			    (p->nholders - i - 1) * NODE_ID_LEN);
			p->nholders--;
			return;
		}
}

static void
unreserve(struct pulls *pl, struct pull *p)
{
	SHOAL_ASSERT(pl->reserved >= p->reserved);
	pl->reserved -= p->reserved;
	p->reserved = 0;
}

static void
pull_free(struct pulls *pl, struct pull *p, bool keep_partial)
{
	struct cat_entry *ce;

	readers_fail(p, "the transfer from the holders failed");
	if ((ce = catalog_find(pl->o.cat, p->target)) != NULL && ce->pull == p)
		ce->pull = NULL;
	hash_remove(pl, p);
	unreserve(pl, p);
	if (p->phase == PULL_QUEUED) {
		TAILQ_REMOVE(&pl->queue, p, entry);
		pl->nqueued--;
	} else if (p->phase == PULL_PARKED) {
		TAILQ_REMOVE(&pl->parked, p, entry);
		pl->nparked--;
	} else {
		TAILQ_REMOVE(&pl->active, p, entry);
		pl->nactive--;
	}
	wave_done(pl, p);
	fetch_abort(p->f, keep_partial);
	rentry_release(&p->e);
	free(p->state);
	free(p->target);
	free(p);
}

/* Frees an obsolete pull once nothing refers to it; true if freed. */
static bool
reap_if_obsolete(struct pulls *pl, struct pull *p)
{
	if (!p->obsolete || p->jobs > 0 || p->ninflight > 0)
		return (false);
	pull_free(pl, p, false);
	return (true);
}

bool
pull_pending(struct pulls *pl, const char *path)
{
	return (pull_find(pl, path) != NULL);
}

static int
cmp_sha(const void *a, const void *b)
{
	return (memcmp(a, b, HASH_LEN));
}

uint8_t *
pull_wanted(const struct pulls *pl, size_t *n)
{
	const struct pull_list *lists[] = { &pl->queue, &pl->active,
	    &pl->parked };
	size_t total = pl->nqueued + pl->nactive + pl->nparked, i, k = 0;
	const struct pull *p;
	uint8_t *v;

	*n = 0;
	if (total == 0 || (v = malloc(total * HASH_LEN)) == NULL)
		return (NULL);
	for (i = 0; i < 3; i++)
		TAILQ_FOREACH(p, lists[i], entry)
			if (k < total)
				memcpy(v + HASH_LEN * k++, p->e.m.sha256,
				    HASH_LEN);
	qsort(v, k, HASH_LEN, cmp_sha);
	*n = k;
	return (v);
}

static bool
member_usable(const struct member *m, uint64_t now)
{
	const struct member_sync *ms = m->sync;

	return (m->state == MEMBER_ALIVE && m->link != NULL && ms != NULL &&
		ms->stalled_until <= now);
}

/* Whether one of p's holders can be asked now. */
static bool
has_usable_holder(const struct pull *p, struct member **ranked, unsigned n,
		  uint64_t now)
{
	unsigned k;

	for (k = 0; k < n; k++)
		if (member_usable(ranked[k], now) &&
		    is_holder(p, ranked[k]->id))
			return (true);
	return (false);
}

/* Whether one of p's holders is a member that is down (it may be back
 * soon), rather than every one dropped or stalled. */
static bool
holder_down(struct pulls *pl, const struct pull *p)
{
	const struct member_sync *ms;
	struct member *m;
	unsigned i;

	for (i = 0; i < p->nholders; i++) {
		if ((m = members_find(pl->members, p->holders[i])) == NULL)
			continue;
		ms = m->sync;
		if ((m->state != MEMBER_ALIVE || m->link == NULL) &&
		    m->state != MEMBER_LEFT && (ms == NULL ||
		    ms->stalled_until == 0))
			return (true);
	}
	return (false);
}

/* A parked pull goes back to the queue (its holders may serve it now). */
static void
unpark(struct pulls *pl, struct pull *p)
{
	TAILQ_REMOVE(&pl->parked, p, entry);
	pl->nparked--;
	p->phase = PULL_QUEUED;
	TAILQ_INSERT_TAIL(&pl->queue, p, entry);
	pl->nqueued++;
}

/* Member id announced p's version: a source, and a reason to try a
 * parked pull again now if it can be asked. */
static void
holder_announced(struct pulls *pl, struct pull *p,
		 const uint8_t id[NODE_ID_LEN])
{
	struct member *m;

	add_holder(p, id);
	if (p->phase == PULL_PARKED &&
	    (m = members_find(pl->members, id)) != NULL &&
	    member_usable(m, clock_mono_ms()))
		unpark(pl, p);
}

/* Every member the catalog knows to hold p's version is a source. */
static void
catalog_holders(struct pulls *pl, struct pull *p)
{
	struct cat_entry *ce;
	unsigned i;

	if ((ce = catalog_find(pl->o.cat, p->e.path)) == NULL)
		return;
	for (i = 0; i < ce->nh; i++)
		if (memcmp(ce->h[i].sha, p->e.m.sha256, HASH_LEN) == 0)
			add_holder(p, ce->h[i].id);
}

/*
 * No holder of p can be asked: its slot goes to the next pull.  Nothing
 * may refer to it (no job, no request), and the caller took it off its
 * list.  A partial file with blocks in it stays for the next try.
 */
static void
park(struct pulls *pl, struct pull *p, uint64_t now)
{
	uint64_t wait = PULL_RETRY_MS;
	unsigned i;

	readers_fail(p, "unavailable: no live copy");
	unreserve(pl, p);
	for (i = 0; i < p->e.tries && wait < PULL_RETRY_MAX_MS; i++)
		wait *= 2;
	if (wait > PULL_RETRY_MAX_MS)
		wait = PULL_RETRY_MAX_MS;
	p->e.tries++;
	fetch_abort(p->f, p->nhave > 0); /* a start is kept for the retry */
	p->f = NULL;
	free(p->state);
	p->state = NULL;
	p->nhave = p->prefix = 0;
	p->reused = 0;
	p->phase = PULL_PARKED;
	p->unusable_since = 0;
	p->retry_at = now + wait;
	TAILQ_INSERT_TAIL(&pl->parked, p, entry);
	pl->nparked++;
	log_debug("sync: no holder can send %s now: deciding it again in "
		  "%llu s",
		  p->e.path, (unsigned long long)(wait / 1000));
}

/* The entry of the path points at its pull (not a conflict copy's). */
static void
point_entry(struct pulls *pl, struct pull *p)
{
	struct cat_entry *ce;

	if (strcmp(p->target, p->e.path) == 0 &&
	    (ce = catalog_find(pl->o.cat, p->target)) != NULL)
		ce->pull = p;
}

/* pull_enqueue, returning the pull of target for e's version (NULL
 * without memory). */
static struct pull *
enqueue(struct pulls *pl, struct rentry *e, const char *target,
	const struct vv *expect, bool expect_exists, enum pull_wave_kind kind)
{
	struct pull *p = pull_find(pl, target);

	if (p && memcmp(p->e.m.sha256, e->m.sha256, HASH_LEN) == 0 &&
	    vv_compare(&p->e.m.vv, &e->m.vv) == VV_EQUAL) {
		if (!e->m.remote)
			holder_announced(pl, p, e->from);
		point_entry(pl, p);
		return (p);
	}
	if (p) {
		p->requeued = true;	/* the new version takes its place */
		if (p->phase == PULL_QUEUED || p->phase == PULL_PARKED)
			pull_free(pl, p, false);
		else {
			readers_fail(p, "the file changed while it was read");
			p->obsolete = true;
			(void)reap_if_obsolete(pl, p);
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->pl = pl;
	if (rentry_copy(&p->e, e) < 0 || (p->target = strdup(target)) ==
	    NULL) {
		rentry_release(&p->e);
		free(p);
		return (NULL);
	}
	if (expect)
		p->expect = *expect;
	p->expect_exists = expect_exists;
	p->nblocks = (uint32_t)e->m.nblocks;
	/* A member that only records the version is no source for it. */
	if (!e->m.remote)
		add_holder(p, e->from);
	catalog_holders(pl, p);
	TAILQ_INIT(&p->readers);
	wave_add(pl, p, kind);
	p->phase = PULL_QUEUED;
	TAILQ_INSERT_TAIL(&pl->queue, p, entry);
	pl->nqueued++;
	p->hnext = pl->phash[pull_bucket(p->target)];
	pl->phash[pull_bucket(p->target)] = p;
	point_entry(pl, p);
	return (p);
}

void
pull_enqueue(struct pulls *pl, struct rentry *e, const char *target,
	     const struct vv *expect, bool expect_exists)
{
	(void)enqueue(pl, e, target, expect, expect_exists, PULL_WAVE_SYNC);
}

void
pull_add_holder(struct pulls *pl, const char *path, const uint8_t sha[HASH_LEN],
		const uint8_t id[NODE_ID_LEN])
{
	struct pull *p = pull_find(pl, path);

	if (p && memcmp(p->e.m.sha256, sha, HASH_LEN) == 0)
		holder_announced(pl, p, id);
}

/*
 * No room (replicas = all): the version's row is recorded as held
 * elsewhere, as for a file placed on other nodes, so the index stays
 * like its peers', reads go to the holders, and the repair walk fetches
 * it once there is room.  The job owns copies of the entry.
 */

struct room_job {
	struct pulls	*pl;
	struct rentry	 e;
	struct vv	 expect;
	bool		 expect_exists;
	int		 rc;
};

static void
room_run(void *arg)
{
	struct room_job *j = arg;
	struct file_meta m = j->e.m;

	j->rc = store_apply_remote_if(j->pl->o.store, j->e.path, &m,
	    &j->expect, j->expect_exists);
}

static void
room_done(void *arg)
{
	struct room_job *j = arg;
	struct pulls *pl = j->pl;
	struct rentry *e = &j->e;

	if (j->rc == 0) {
		pl->record_warned = false;
		pl->st.no_room_ms = clock_mono_ms();
		log_debug("sync: no room for %s: held elsewhere for now",
		    e->path);
	} else if (j->rc == -EAGAIN)
		pl->o.hooks.redecide(pl->o.hooks.arg, &e, 1);
	else if (j->rc != -EEXIST && !pl->record_warned) {
		/* Once until a row is recorded again: a disk full to the
		 * last byte would say it for every file. */
		pl->record_warned = true;
		log_warnx("sync: no room for %s, and its row cannot be "
		    "recorded: %s", e->path, strerror(-j->rc));
	}
	rentry_release(&j->e);
	free(j);
}

/* Whether p is a fetch of a path's version that may wait for room. */
static bool
room_applies(const struct pulls *pl, const struct pull *p)
{
	/* Not yet learned is taken as all, as placement takes it. */
	return (pl->o.replicas != NULL && (*pl->o.replicas == REPLICAS_ALL ||
		*pl->o.replicas == REPLICAS_UNKNOWN) &&
		strcmp(p->target, p->e.path) == 0 && TAILQ_EMPTY(&p->readers) &&
		p->e.m.type == ENTRY_FILE && !p->e.m.deleted);
}

static void
no_room(struct pulls *pl, struct pull *p)
{
	struct room_job *j;

	if (!room_applies(pl, p) || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->pl = pl;
	j->expect = p->expect;
	j->expect_exists = p->expect_exists;
	if (rentry_copy(&j->e, &p->e) < 0) {
		free(j);
		return;
	}
	if (work_submit(pl->o.pool, room_run, room_done, j) < 0) {
		rentry_release(&j->e);
		free(j);
	}
}

uint64_t
pull_room(const struct pulls *pl)
{
	return (pl->room > pl->reserved ? pl->room - pl->reserved : 0);
}

void
pull_set_room(struct pulls *pl, uint64_t room)
{
	pl->room = room;
}

/* Jobs */

struct pjob {
	struct pull	*p;
	int		 rc;
	uint32_t	 idx;
	struct evbuffer	*data;
	size_t		 len;
	struct member	*from;
	uint64_t	 sent_ms;
};

static int
pjob_submit(struct pull *p, void (*fn)(void *), void (*done)(void *),
    struct pjob *j)
{
	j->p = p;
	if (work_submit(p->pl->o.pool, fn, done, j) < 0) {
		if (j->data)
			evbuffer_free(j->data);
		free(j);
		return (-ENOMEM);
	}
	p->jobs++;
	return (0);
}

static void
commit_run(void *arg)
{
	struct pjob *j = arg;
	struct pull *p = j->p;
	bool copy = strcmp(p->target, p->e.path) != 0;

	j->rc = fetch_commit(p->f, p->target, copy ? NULL : &p->expect,
	    p->expect_exists);
}

/* The log counts a file fetched from the member that sent its last block
 * (or the first holder, when every block was here already). */
static void
note_file(struct pulls *pl, struct pull *p)
{
	struct member *m = NULL;

	if (pl->members == NULL)
		return;
	if (p->from_known)
		m = members_find(pl->members, p->last_from);
	else if (p->nholders > 0)
		m = members_find(pl->members, p->holders[0]);
	if (m != NULL)
		members_note_fetched(m, 0, 1);
}

static void
commit_done(void *arg)
{
	struct pjob *j = arg;
	struct pull *p = j->p;
	struct pulls *pl = p->pl;
	int rc = j->rc;

	free(j);
	SHOAL_ASSERT(p->jobs > 0 && p->phase == PULL_COMMITTING);
	p->jobs--;
	if (reap_if_obsolete(pl, p)) {
		pull_pump(pl);
		return;
	}
	if (rc == -EAGAIN) {
		struct rentry *e = &p->e;

		/* The local file changed while we fetched: decide again. */
		pl->o.hooks.redecide(pl->o.hooks.arg, &e, 1);
		p->requeued = true;
		pull_free(pl, p, true);
	} else if (rc == -EEXIST) {
		/* A file made here and not indexed yet stands there: it is
		 * not replaced.  Decided again after a wait, when the scan
		 * has indexed it (a conflict then keeps both). */
		log_info("sync: %s: a file not indexed yet is there; deciding "
		    "it again later", p->target);
		TAILQ_REMOVE(&pl->active, p, entry);
		pl->nactive--;
		park(pl, p, clock_mono_ms());
	} else if ((rc == -ENOSPC || rc == -EDQUOT) && room_applies(pl, p)) {
		no_room(pl, p);
		pull_free(pl, p, false);
	} else if (rc < 0) {
		log_warnx("sync: cannot store %s: %s", p->target,
		    strerror(-rc));
		pull_free(pl, p, true);
	} else {
		log_debug("sync: fetched %s (%llu bytes, %llu reused)",
		    p->target, (unsigned long long)p->e.m.size,
		    (unsigned long long)p->reused);
		note_file(pl, p);
		p->prefix = p->nblocks;
		/* Its bytes are taken until space is measured again. */
		pl->room -= p->reserved < pl->room ? p->reserved : pl->room;
		readers_ready(p);
		pl->o.hooks.fetched(pl->o.hooks.arg, &p->e, p->target);
		pull_free(pl, p, false);
	}
	pull_pump(pl);
}

static void
maybe_commit(struct pull *p)
{
	struct pjob *j;

	if (p->phase != PULL_FETCHING || p->nhave < p->nblocks ||
	    p->jobs > 0 || p->ninflight > 0)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	/* Every block is here, each counted once, none in flight. */
	SHOAL_ASSERT(p->nhave == p->nblocks && p->ninflight == 0);
	p->phase = PULL_COMMITTING;
	if (pjob_submit(p, commit_run, commit_done, j) < 0)
		p->phase = PULL_FETCHING;
}

static void
prepare_run(void *arg)
{
	struct pjob *j = arg;
	struct pull *p = j->p;

	j->rc =
	    fetch_begin(p->pl->o.store, p->e.path, &p->e.m, &p->f, p->state);
}

static void
prepare_done(void *arg)
{
	struct pjob *j = arg;
	struct pull *p = j->p;
	struct pulls *pl = p->pl;
	uint32_t i;
	int rc = j->rc;

	free(j);
	SHOAL_ASSERT(p->jobs > 0 && p->phase == PULL_PREPARING);
	p->jobs--;
	if (reap_if_obsolete(pl, p)) {
		pull_pump(pl);
		return;
	}
	if ((rc == -ENOSPC || rc == -EDQUOT) && room_applies(pl, p)) {
		no_room(pl, p);
		pull_free(pl, p, false);
		pull_pump(pl);
		return;
	}
	if (rc < 0) {
		log_warnx("sync: cannot fetch %s: %s", p->e.path,
		    strerror(-rc));
		pull_free(pl, p, false);
		pull_pump(pl);
		return;
	}
	for (i = 0; i < p->nblocks; i++)
		if (p->state[i]) {
			p->state[i] = B_HAVE;
			p->nhave++;
			p->reused += fetch_block_len(&p->e.m, i);
		}
	pl->st.bytes_reused += p->reused;
	p->phase = PULL_FETCHING;
	readers_ready(p);
	maybe_commit(p);
	pull_pump(pl);
}

static void
put_run(void *arg)
{
	struct pjob *j = arg;
	struct evbuffer_iovec v[128];
	int n;

	/* A block is at most 1 MiB in chains of 16 KiB or more; if it is
	 * in more pieces than we can name, make it one. */
	n = evbuffer_peek(j->data, -1, NULL, v, 128);
	if (n > 128 || n < 0) {
		(void)evbuffer_pullup(j->data, -1);
		n = evbuffer_peek(j->data, -1, NULL, v, 1);
	}
	j->rc = fetch_put_block(j->p->f, j->idx, (struct iovec *)v, n);
}

static void
put_done(void *arg)
{
	struct pjob *j = arg;
	struct pull *p = j->p;
	struct pulls *pl = p->pl;
	struct member *m = j->from;
	uint64_t ms;

	/* The block stayed in flight while its bytes were written. */
	SHOAL_ASSERT(p->jobs > 0 && j->idx < p->nblocks &&
	    p->state[j->idx] == B_INFLIGHT);
	p->jobs--;
	if (j->rc == 0) {
		p->state[j->idx] = B_HAVE;
		p->nhave++;
		if (j->idx == p->prefix)
			readers_ready(p);
		pl->st.bytes_fetched += j->len;
		memcpy(p->last_from, m->id, NODE_ID_LEN);
		p->from_known = true;
		members_note_fetched(m, j->len, 0);
		wave_bytes(pl, p, j->len);
		ms = clock_mono_ms() - j->sent_ms;
		if (ms > 0)
			m->mbps = 0.7 * m->mbps + 0.3 * ((double)j->len /
			    (double)ms / 1000.0);
	} else {
		p->state[j->idx] = B_MISSING;
		if (j->rc == -EBADMSG) {
			/* Fetch it again elsewhere; rank the sender down. */
			pl->st.bad_blocks++;
			m->failures++;
			drop_holder(p, m->id);
			log_warnx("sync: block %u of %s from %.8s failed its "
			    "hash check", j->idx, p->e.path, m->id_hex);
		} else if (j->rc == -ENOSPC || j->rc == -EDQUOT) {
			/* Asking again would fail again: give the fetch up
			 * (with replicas = all, its row says held elsewhere
			 * and the repair walk tries it once there is room). */
			if (!p->obsolete && room_applies(pl, p))
				no_room(pl, p);
			else if (!p->obsolete)
				log_warnx("sync: no room for %s: fetch given "
				    "up", p->e.path);
			readers_fail(p, "no space left on this node");
			p->obsolete = true;
		} else
			log_warnx("sync: writing block %u of %s: %s", j->idx,
			    p->e.path, strerror(-j->rc));
	}
	evbuffer_free(j->data);
	free(j);
	if (!reap_if_obsolete(pl, p))
		maybe_commit(p);
	pull_pump(pl);
}

/* Requests */

static void
send_req(struct pulls *pl, struct pull *p, uint32_t idx, struct member *m)
{
	struct member_sync *ms = m->sync;
	struct req *r;
	struct buf b;

	SHOAL_ASSERT(p->phase == PULL_FETCHING && idx < p->nblocks &&
	    p->state[idx] == B_MISSING);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->id = ++pl->next_req;
	r->p = p;
	r->idx = idx;
	r->m = m;
	r->sent_ms = clock_mono_ms();
	buf_init(&b, 128);
	if (wire_begin(&b, WIRE_BLOCK_REQ) < 0 || wire_u32(&b, r->id) < 0 ||
	    wire_fixed(&b, p->e.m.sha256, HASH_LEN) < 0 ||
	    wire_u32(&b, idx) < 0 || wire_end(&b) < 0 ||
	    members_send(m, &b) < 0) {
		buf_release(&b);
		free(r);
		return;
	}
	buf_release(&b);
	TAILQ_INSERT_TAIL(&pl->reqs, r, entry);
	p->state[idx] = B_INFLIGHT;
	p->ninflight++;
	ms->inflight++;
}

static void
schedule(struct pulls *pl, struct pull *p, struct member **ranked, unsigned n,
	 uint64_t now)
{
	uint32_t i;
	unsigned k;

	if (!TAILQ_EMPTY(&p->readers) && p->nhave < p->nblocks) {
		/* A reader waits: fail it at once if no holder is up. */
		for (k = 0; k < n; k++)
			if (is_holder(p, ranked[k]->id))
				break;
		if (k == n && p->ninflight == 0 && p->jobs == 0)
			readers_fail(p, "unavailable: no live copy");
	}
	for (i = 0; i < p->nblocks; i++) {
		if (p->state[i] != B_MISSING)
			continue;
		for (k = 0; k < n; k++) {
			struct member_sync *ms = ranked[k]->sync;

			if (ms && ms->inflight < PULL_WINDOW &&
			    ms->stalled_until <= now &&
			    is_holder(p, ranked[k]->id))
				break;
		}
		if (k == n)
			return;	/* every holder is busy or gone */
		send_req(pl, p, i, ranked[k]);
	}
}

/*
 * Whether a pull of p's target that p's version made obsolete still has
 * jobs or requests out.  p waits for it to go: they would share one
 * partial file (one per content and path), and the old pull's commit
 * would stamp its own mtime on the file p placed (a version differing only
 * in its mtime, as MFMT right after STOR makes), or its abort remove the
 * file p is about to commit.
 */
static bool
superseded_running(struct pulls *pl, const struct pull *p)
{
	const struct pull *o;

	for (o = pl->phash[pull_bucket(p->target)]; o != NULL; o = o->hnext)
		if (o != p && o->obsolete && strcmp(o->target, p->target) == 0)
			return (true);
	return (false);
}

void
pull_pump(struct pulls *pl)
{
	struct member *ranked[256];
	struct pull *p, *t;
	struct pjob *j;
	uint64_t now;
	unsigned n, parked = 0;

	n = members_ranked(pl->members, ranked, 256);
	now = clock_mono_ms();
	for (p = TAILQ_FIRST(&pl->queue);
	     p != NULL && pl->nactive < PULL_ACTIVE_MAX; p = t) {
		t = TAILQ_NEXT(p, entry);
		if (superseded_running(pl, p))
			continue;
		TAILQ_REMOVE(&pl->queue, p, entry);
		pl->nqueued--;
		/* Nobody to ask: no slot, no partial file (a bounded number
		 * a turn, so a long queue is gone through over several). */
		if (parked < PARK_STEP && TAILQ_EMPTY(&p->readers) &&
		    !has_usable_holder(p, ranked, n, now)) {
			park(pl, p, now);
			parked++;
			continue;
		}
		TAILQ_INSERT_TAIL(&pl->active, p, entry);
		pl->nactive++;
		p->phase = PULL_PREPARING;
		/* Fetched only into room above the floor, which reads of
		 * what is held elsewhere use. */
		if (room_applies(pl, p)) {
			if (p->e.m.size > pull_room(pl)) {
				no_room(pl, p);
				pull_free(pl, p, false);
				continue;
			}
			p->reserved = p->e.m.size;
			pl->reserved += p->reserved;
		}
		if ((p->state = calloc(p->nblocks ? p->nblocks : 1, 1)) ==
		    NULL || (j = calloc(1, sizeof(*j))) == NULL ||
		    pjob_submit(p, prepare_run, prepare_done, j) < 0) {
			pull_free(pl, p, false);
			continue;
		}
	}
	for (p = TAILQ_FIRST(&pl->active); p != NULL; p = t) {
		t = TAILQ_NEXT(p, entry);
		if (p->phase != PULL_FETCHING || p->obsolete)
			continue;
		schedule(pl, p, ranked, n, now);
		if (has_usable_holder(p, ranked, n, now)) {
			p->unusable_since = 0;
			continue;
		}
		/* A holder whose link flaps and comes back keeps the pull's
		 * place and blocks: a pull waiting only for holders that
		 * are down is parked after a grace period. */
		if (p->unusable_since == 0)
			p->unusable_since = now;
		if (p->nhave < p->nblocks && p->ninflight == 0 &&
		    p->jobs == 0 &&
		    (!holder_down(pl, p) ||
		     now - p->unusable_since >= PULL_GRACE_MS)) {
			TAILQ_REMOVE(&pl->active, p, entry);
			pl->nactive--;
			park(pl, p, now);
		}
	}
	/* A parked pull's slot went to the next one. */
	if (pl->nactive < PULL_ACTIVE_MAX && !TAILQ_EMPTY(&pl->queue) &&
	    !pl->pumping) {
		pl->pumping = true;
		pull_pump(pl);
		pl->pumping = false;
	}
}

void
pull_member_down(struct pulls *pl, struct member *m)
{
	struct member_sync *ms = m->sync;
	struct req *r, *t;
	struct pull *p;

	for (r = TAILQ_FIRST(&pl->reqs); r != NULL; r = t) {
		t = TAILQ_NEXT(r, entry);
		if (r->m != m)
			continue;
		TAILQ_REMOVE(&pl->reqs, r, entry);
		p = r->p;
		SHOAL_ASSERT(p->ninflight > 0 && p->state[r->idx] == B_INFLIGHT);
		p->state[r->idx] = B_MISSING;
		p->ninflight--;
		free(r);
		(void)reap_if_obsolete(pl, p);
	}
	if (ms)
		ms->inflight = 0;
	pull_pump(pl);
}

void
pull_member_up(struct pulls *pl, struct member *m)
{
	struct member_sync *ms = m->sync;
	struct pull *p, *t;

	/* A new link: whatever stalled the old one is gone. */
	if (ms != NULL)
		ms->stalled_until = 0;
	for (p = TAILQ_FIRST(&pl->parked); p != NULL; p = t) {
		t = TAILQ_NEXT(p, entry);
		if (is_holder(p, m->id))
			unpark(pl, p);
	}
	pull_pump(pl);
}

/* A member that leaves a request unanswered is not asked for a while. */
static void
stall(struct member *m, uint64_t now)
{
	struct member_sync *ms = m->sync;
	uint64_t wait = PULL_STALL_MS;
	unsigned i;

	if (ms == NULL || ms->stalled_until > now)
		return;
	for (i = 0; i < ms->stalls && wait < PULL_STALL_MAX_MS; i++)
		wait *= 2;
	if (wait > PULL_STALL_MAX_MS)
		wait = PULL_STALL_MAX_MS;
	ms->stalls++;
	ms->stalled_until = now + wait;
	m->failures++;
	log_warnx("sync: %.8s left a block request unanswered for %u s: not "
		  "asked for %llu s",
		  m->id_hex, PULL_REQ_TIMEOUT_MS / 1000,
		  (unsigned long long)(wait / 1000));
}

static void
pull_tick(evutil_socket_t fd, short what, void *arg)
{
	static struct rentry *due[REDECIDE_STEP];
	struct pulls *pl = arg;
	uint64_t now = clock_mono_ms();
	struct member_sync *ms;
	struct pull *p, *t;
	struct req *r, *rt;
	uint64_t since;
	size_t n = 0;

	(void)fd;
	(void)what;
	/*
	 * A request is given up once its member sent no block for the
	 * timeout since it was made: a slow link that keeps delivering is
	 * not a stalled one.  At most PULL_WINDOW requests per member.
	 */
	for (r = TAILQ_FIRST(&pl->reqs); r != NULL; r = rt) {
		rt = TAILQ_NEXT(r, entry);
		ms = r->m->sync;
		since = r->sent_ms;
		if (ms != NULL && ms->last_reply_ms > since)
			since = ms->last_reply_ms;
		if (now - since < PULL_REQ_TIMEOUT_MS)
			continue;
		TAILQ_REMOVE(&pl->reqs, r, entry);
		stall(r->m, now);
		if (ms != NULL && ms->inflight > 0)
			ms->inflight--;
		p = r->p;
		p->state[r->idx] = B_MISSING;
		p->ninflight--;
		free(r);
		(void)reap_if_obsolete(pl, p);
	}
	wave_check(pl, now);
	/* The version may have moved on: decide them again, in one batch. */
	for (p = TAILQ_FIRST(&pl->parked); p != NULL && n < REDECIDE_STEP;
	     p = TAILQ_NEXT(p, entry))
		if (p->retry_at <= now)
			due[n++] = &p->e;
	if (n > 0) {
		pl->o.hooks.redecide(pl->o.hooks.arg, due, n);
		for (p = TAILQ_FIRST(&pl->parked); p != NULL && n > 0; p = t) {
			t = TAILQ_NEXT(p, entry);
			if (p->retry_at <= now) {
				p->requeued = true;
				pull_free(pl, p, true);
				n--;
			}
		}
	}
	pull_pump(pl);
}

struct pulls *
pulls_new(const struct pull_opts *o)
{
	struct timeval tv = {0, PULL_TICK_MS * 1000};
	struct pulls *pl;

	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return (NULL);
	pl->o = *o;
	TAILQ_INIT(&pl->queue);
	TAILQ_INIT(&pl->active);
	TAILQ_INIT(&pl->parked);
	TAILQ_INIT(&pl->reqs);
	pl->phash = calloc(PULL_HASH, sizeof(*pl->phash));
	pl->ev_pull_tick = event_new(o->base, -1, EV_PERSIST, pull_tick, pl);
	if (pl->phash == NULL || pl->ev_pull_tick == NULL ||
	    event_add(pl->ev_pull_tick, &tv) < 0) {
		pulls_free(pl);
		return (NULL);
	}
	return (pl);
}

void
pull_set_members(struct pulls *pl, struct members *mb)
{
	pl->members = mb;
}

void
pull_stats(const struct pulls *pl, struct pull_stats *out)
{
	uint64_t now = clock_mono_ms();
	const struct wave *w;
	struct pull_progress *g;
	unsigned k;

	*out = pl->st;
	out->active = pl->nactive;
	out->queued = pl->nqueued;
	out->parked = pl->nparked;
	for (k = 0; k < PULL_WAVES; k++) {
		w = &pl->waves[k];
		g = &out->wave[k];
		memset(g, 0, sizeof(*g));
		if (w->start_ms == 0)
			continue;
		g->active = true;
		g->join = w->join;
		g->files_total = w->files_total;
		g->files_to_go = w->files_total - w->files_done;
		g->bytes_total = w->bytes_total;
		g->bytes_to_go = w->bytes_total - w->bytes_done;
		g->elapsed_ms = now - w->start_ms;
		if (g->elapsed_ms > 0)
			g->rate = (double)w->bytes_done * 1000.0 /
			    (double)g->elapsed_ms;
	}
}

void
pull_on_block(struct pulls *pl, struct member *m, const uint8_t *payload,
	      uint32_t len)
{
	struct member_sync *ms = m->sync;
	struct evbuffer *in = member_bulk(m);
	uint8_t h[9];
	struct pjob *j;
	struct pull *p;
	struct req *r;
	uint32_t id, dlen;
	uint8_t status;

	(void)payload;
	if (in == NULL || len < sizeof(h) ||
	    evbuffer_remove(in, h, sizeof(h)) != sizeof(h))
		goto bad;
	id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	status = h[4];
	dlen = (uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 |
	    (uint32_t)h[7] << 8 | h[8];
	if (dlen != len - sizeof(h) || dlen > HASH_BLOCK_SIZE)
		goto bad;
	TAILQ_FOREACH(r, &pl->reqs, entry)
		if (r->id == id && r->m == m)
			break;
	if (r == NULL)
		return;	/* not ours, or already given up */
	TAILQ_REMOVE(&pl->reqs, r, entry);
	p = r->p;
	SHOAL_ASSERT(p->ninflight > 0 && p->state[r->idx] == B_INFLIGHT);
	p->ninflight--;
	if (ms && ms->inflight > 0)
		ms->inflight--;
	if (reap_if_obsolete(pl, p) || p->obsolete) {
		free(r);
		pull_pump(pl);
		return;
	}
	if (ms != NULL) {
		ms->stalls = 0; /* it answers */
		ms->last_reply_ms = clock_mono_ms();
	}
	if (status != 0) {
		/* Its copy moved or changed since it announced it. */
		log_debug("sync: %.8s has no block %u of %s", m->id_hex, r->idx,
			  p->e.path);
		p->state[r->idx] = B_MISSING;
		drop_holder(p, m->id);
		free(r);
		pull_pump(pl);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->data = evbuffer_new()) == NULL) {
		free(j);
		p->state[r->idx] = B_MISSING;
		free(r);
		return;
	}
	/* The block's bytes move, not copy, into the job. */
	evbuffer_remove_buffer(in, j->data, dlen);
	j->len = dlen;
	j->idx = r->idx;
	j->from = m;
	j->sent_ms = r->sent_ms;
	if (pjob_submit(p, put_run, put_done, j) < 0)
		p->state[r->idx] = B_MISSING;
	free(r);
	pull_pump(pl);
	return;
bad:
	log_warnx("member %.8s: bad BLOCK", m->id_hex);
}

void
pulls_free(struct pulls *pl)
{
	struct pull *p;
	struct req *r;

	if (pl == NULL)
		return;
	pl->stopping = true;	/* no wave ends because the node does */
	while ((r = TAILQ_FIRST(&pl->reqs)) != NULL) {
		TAILQ_REMOVE(&pl->reqs, r, entry);
		free(r);
	}
	if (pl->phash != NULL) {
		while ((p = TAILQ_FIRST(&pl->queue)) != NULL)
			pull_free(pl, p, true);
		while ((p = TAILQ_FIRST(&pl->parked)) != NULL)
			pull_free(pl, p, true);
		while ((p = TAILQ_FIRST(&pl->active)) != NULL)
			pull_free(pl, p, true);
	}
	if (pl->ev_pull_tick)
		event_free(pl->ev_pull_tick);
	free(pl->phash);
	free(pl);
}

/* Streaming readers */

/* A queued pull goes to the front (a parked one back to the queue). */
static void
pull_hurry(struct pulls *pl, struct pull *p)
{
	if (p->phase == PULL_PARKED)
		unpark(pl, p);
	if (p->phase == PULL_QUEUED) {
		TAILQ_REMOVE(&pl->queue, p, entry);
		TAILQ_INSERT_HEAD(&pl->queue, p, entry);
	} else {
		TAILQ_REMOVE(&pl->active, p, entry);
		TAILQ_INSERT_HEAD(&pl->active, p, entry);
	}
}

static void
reader_detach(struct sync_reader *r)
{
	if (r->p) {
		TAILQ_REMOVE(&r->p->readers, r, entry);
		r->p = NULL;
	}
}

static void
readers_fail(struct pull *p, const char *why)
{
	struct sync_reader *r;

	while ((r = TAILQ_FIRST(&p->readers)) != NULL) {
		reader_detach(r);
		r->failed(r->arg, why);
	}
}

/* Blocks arrived (or the pull started): tell readers what they can read. */
static void
readers_ready(struct pull *p)
{
	struct sync_reader *r, *t;
	uint64_t avail;

	while (p->prefix < p->nblocks && p->state &&
	    p->state[p->prefix] == B_HAVE)
		p->prefix++;
	avail = (uint64_t)p->prefix * HASH_BLOCK_SIZE;
	if (avail > p->e.m.size)
		avail = p->e.m.size;
	for (r = TAILQ_FIRST(&p->readers); r != NULL; r = t) {
		t = TAILQ_NEXT(r, entry);
		if (r->fd < 0 && p->f != NULL &&
		    (r->fd = fcntl(fetch_fd(p->f), F_DUPFD_CLOEXEC, 0)) < 0) {
			reader_detach(r);
			r->failed(r->arg, "out of file descriptors");
			continue;
		}
		if (r->fd < 0 || avail <= r->avail)
			continue;
		r->avail = avail;
		/* Once all is here the pull may go: the fd stays valid. */
		if (avail == r->size)
			reader_detach(r);
		r->ready(r->arg);
	}
}

static void
readers_attach(struct pull *p)
{
	if (p->phase == PULL_FETCHING || p->phase == PULL_COMMITTING)
		readers_ready(p);
}

struct read_job {
	struct sync_reader	*r;
	struct rentry		 e;
	int			 rc;
};

/* path's row (with blocks), which must be a live file held elsewhere
 * with content sha (else -ESTALE).  Pool only. */
static int
load_remote(struct pulls *pl, const char *path, const uint8_t sha[HASH_LEN],
	    struct rentry *e)
{
	uint8_t *blocks = NULL;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = index_get_any(pl->o.store->index, path, &e->m, &blocks)) < 0)
		return (rc);
	if (e->m.deleted || e->m.type != ENTRY_FILE || !e->m.remote ||
	    memcmp(e->m.sha256, sha, HASH_LEN) != 0) {
		free(blocks);
		return (-ESTALE);
	}
	e->blocks = blocks;
	if ((e->path = strdup(path)) == NULL || (e->blocks == NULL &&
	    (e->blocks = malloc(1)) == NULL)) {
		rentry_release(e);
		return (-ENOMEM);
	}
	e->m.blocks = e->blocks;
	return (0);
}

/* Members alive that announced ce's current version, best ranked first
 * (peer priority decides where reads go), into out. */
static unsigned
live_holders(struct pulls *pl, const struct cat_entry *ce, struct member **out,
	     unsigned max)
{
	struct member *m, *ranked[256];
	unsigned n, i, k = 0;

	n = members_ranked(pl->members, ranked, 256);
	for (i = 0; i < n && k < max; i++) {
		m = ranked[i];
		if (catalog_holds(ce, m->id))
			out[k++] = m;
	}
	return (k);
}

/* The live members holding ce's version become p's sources. */
static void
take_holders(struct pulls *pl, struct pull *p, const struct cat_entry *ce)
{
	struct member *live[PULL_HOLDERS];
	unsigned n, i;

	n = live_holders(pl, ce, live, PULL_HOLDERS);
	for (i = 0; i < n; i++)
		add_holder(p, live[i]->id);
}

/* Copies for repair (the rows are read on the pool, with their blocks) */

struct copy_job {
	struct pulls	 *pl;
	char		**paths;
	uint8_t		(*sha)[HASH_LEN];
	struct rentry	 *e;		/* e[i].path NULL: not to fetch */
	size_t		  n;
};

static void
copy_job_free(struct copy_job *j)
{
	struct cat_entry *ce;
	size_t i;

	for (i = 0; i < j->n; i++) {
		if ((ce = catalog_find(j->pl->o.cat, j->paths[i])) != NULL)
			ce->loading = false;
		if (j->e != NULL)
			rentry_release(&j->e[i]);
		free(j->paths[i]);
	}
	free(j->paths);
	free(j->sha);
	free(j->e);
	free(j);
}

static void
copy_load_run(void *arg)
{
	struct copy_job *j = arg;
	size_t i;

	for (i = 0; i < j->n; i++)
		(void)load_remote(j->pl, j->paths[i], j->sha[i], &j->e[i]);
}

static void
copy_load_done(void *arg)
{
	struct copy_job *j = arg;
	struct pulls *pl = j->pl;
	struct cat_entry *ce;
	struct pull *p;
	size_t i;

	for (i = 0; i < j->n; i++) {
		/* No row (it changed meanwhile): the next walk decides. */
		if ((ce = catalog_find(pl->o.cat, j->paths[i])) == NULL ||
		    j->e[i].path == NULL)
			continue;
		ce->loading = false;
		/* Sources come from the catalog: the row names none. */
		p = enqueue(pl, &j->e[i], ce->path, &j->e[i].m.vv, true,
		    PULL_WAVE_REPAIR);
		if (p != NULL) {
			take_holders(pl, p, ce);
			pl->st.copies++;
		}
	}
	copy_job_free(j);
	pull_pump(pl);
}

void
pull_copies(struct pulls *pl, char *const *paths,
	    const uint8_t (*sha)[HASH_LEN], size_t n)
{
	struct cat_entry *ce;
	struct copy_job *j;

	if (n == 0 || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->pl = pl;
	if ((j->paths = calloc(n, sizeof(*j->paths))) == NULL ||
	    (j->sha = calloc(n, sizeof(*j->sha))) == NULL ||
	    (j->e = calloc(n, sizeof(*j->e))) == NULL) {
		copy_job_free(j);
		return;
	}
	for (; j->n < n; j->n++) {
		if ((j->paths[j->n] = strdup(paths[j->n])) == NULL) {
			copy_job_free(j);
			return;
		}
		memcpy(j->sha[j->n], sha[j->n], HASH_LEN);
		if ((ce = catalog_find(pl->o.cat, paths[j->n])) != NULL)
			ce->loading = true;
	}
	/* Not submitted: the marks go, and the next walk tries again. */
	if (work_submit(pl->o.pool, copy_load_run, copy_load_done, j) < 0)
		copy_job_free(j);
}

static void
read_load_run(void *arg)
{
	struct read_job *j = arg;

	j->rc = load_remote(j->r->pl, j->r->path, j->r->sha, &j->e);
}

static void
reader_attach(struct pulls *pl, struct sync_reader *r, struct pull *p)
{
	struct cat_entry *ce;

	if ((ce = catalog_find(pl->o.cat, r->path)) != NULL)
		take_holders(pl, p, ce);
	r->p = p;
	TAILQ_INSERT_TAIL(&p->readers, r, entry);
	pull_hurry(pl, p);
	readers_attach(p);
	pull_pump(pl);
}

static void
read_load_done(void *arg)
{
	struct read_job *j = arg;
	struct sync_reader *r = j->r;
	struct pulls *pl = r->pl;
	struct pull *p;

	r->loading = false;
	if (r->closed) {
		rentry_release(&j->e);
		free(j);
		free(r->path);
		free(r);
		return;
	}
	if (j->rc < 0) {
		bool stale = j->rc == -ESTALE;

		free(j);
		r->failed(r->arg, stale ? "the file changed while it was "
		    "opened" : "cannot read the index");
		return;
	}
	p = pull_find(pl, r->path);
	if (p == NULL || memcmp(p->e.m.sha256, r->sha, HASH_LEN) != 0) {
		/* Holders come from the catalog: the row names none. */
		p = enqueue(pl, &j->e, r->path, &j->e.m.vv, true,
		    PULL_WAVE_SYNC);
	}
	rentry_release(&j->e);
	free(j);
	if (p == NULL) {
		r->failed(r->arg, "out of memory");
		return;
	}
	reader_attach(pl, r, p);
}

static void
read_join(evutil_socket_t fd, short what, void *arg)
{
	struct sync_reader *r = arg;
	struct pulls *pl = r->pl;
	struct pull *p;

	(void)fd;
	(void)what;
	r->loading = false;
	if (r->closed) {
		free(r->path);
		free(r);
		return;
	}
	if ((p = pull_find(pl, r->path)) == NULL ||
	    memcmp(p->e.m.sha256, r->sha, HASH_LEN) != 0) {
		r->failed(r->arg, "the transfer from the holders failed");
		return;
	}
	reader_attach(pl, r, p);
}

int
pull_read_open(struct pulls *pl, const char *path, void (*ready)(void *),
	       void (*failed)(void *, const char *), void *arg,
	       struct sync_reader **out, char *why, size_t whylen)
{
	struct member *live[1];
	struct sync_reader *r;
	struct cat_entry *ce;
	struct read_job *j;
	struct pull *p;

	*out = NULL;
	if ((ce = catalog_find(pl->o.cat, path)) == NULL || !ce->live ||
	    ce->held)
		return (-ENOENT);
	p = pull_find(pl, path);
	if (live_holders(pl, ce, live, 1) == 0 &&
	    (p == NULL || p->nhave < p->nblocks)) {
		(void)str_copy(why, whylen, "unavailable: no live copy");
		return (-EHOSTUNREACH);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		free(r);
		return (-ENOMEM);
	}
	r->pl = pl;
	r->fd = -1;
	r->size = ce->size;
	memcpy(r->sha, ce->sha, HASH_LEN);
	r->ready = ready;
	r->failed = failed;
	r->arg = arg;
	/* A copy read here is kept a while: the next read is local. */
	ce->keep_until = clock_mono_ms() + pl->o.read_keep_ms;
	*out = r;
	if (p && memcmp(p->e.m.sha256, ce->sha, HASH_LEN) == 0) {
		/* Attached from the loop: callbacks never run inside open. */
		struct timeval now = { 0, 0 };

		r->loading = true;
		if (event_base_once(pl->o.base, -1, EV_TIMEOUT, read_join, r,
				    &now) < 0) {
			free(r->path);
			free(r);
			*out = NULL;
			return (-ENOMEM);
		}
		return (0);
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(r->path);
		free(r);
		*out = NULL;
		return (-ENOMEM);
	}
	j->r = r;
	r->loading = true;
	if (work_submit(pl->o.pool, read_load_run, read_load_done, j) < 0) {
		free(j);
		free(r->path);
		free(r);
		*out = NULL;
		return (-ENOMEM);
	}
	return (0);
}

int
sync_reader_avail(const struct sync_reader *r, uint64_t *avail,
    uint64_t *size)
{
	*avail = r->avail;
	*size = r->size;
	return (r->fd);
}

void
sync_read_close(struct sync_reader *r)
{
	if (r == NULL)
		return;
	reader_detach(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->loading) {
		r->closed = true;	/* freed when the job returns */
		return;
	}
	free(r->path);
	free(r);
}
