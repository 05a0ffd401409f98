/*
 * sync: index exchange and the decision for each entry a peer sends.
 *
 *   INDEX frame ─> intake (decoded on the loop, STEP_ENTRIES a turn) ─>
 *   batch ─> decide job (one at a time, on the pool: compares with the
 *   local rows, applies folders, deletions and conflict renames) ─> done
 *   on the loop, STEP_ENTRIES a turn: files to fetch go to pull.c
 *
 * The loop never spends more than a step on an index, however large:
 * a node taking in tens of thousands of entries keeps answering clients
 * and heartbeats between steps.
 *
 * Every row the index writes, local or applied, is announced to all live
 * members (flooding, as the mesh seed did); a member that already has that
 * version ignores it, so the flood stops after one round.
 *
 * Calls go one way (a module only calls those to its right):
 *
 *   sync    ─> decide, pull, repair, catalog, place, members, store
 *   lookup  ─> repair, catalog, members   (sync's catalog queries)
 *   repair  ─> decide, place, catalog, members, store
 *   pull    ─> catalog, members, store
 *   decide  ─> place                      (pure: no I/O, no state)
 *
 * and what goes back up goes through the hooks sync gives each module
 * when it creates it:
 *
 *   pull   ··> sync   pull_hooks: decide these again; this was fetched
 *   repair ··> sync   repair_hooks: deciding? pulls queued? copy these
 *
 * The block serving kept in pull.c answers BLOCK_REQ for sync with
 * sync's store and pool; it shares nothing with the pulls.
 */
#include "cluster/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/decide.h"
#include "store/store.h"

#define ANNOUNCE_ROWS	4096
#define FRAME_FILL	(WIRE_FRAME_MAX - 64 * 1024)
#define RESYNC_TICKS	3
#define RESYNC_MIN_MS	30000	/* at most one resync in this long */
#define RESYNC_NAMED	4	/* differing members named in the log */
#define ROOM_SETTLE_MS	5000	/* a row recorded shows in the walk's counts */
#define CHECK_MS	2000
#define STEP_ENTRIES	512	/* index entries handled per loop turn */

enum action {
	ACT_NONE,
	ACT_PULL,		/* fetch into e.path */
	ACT_PULL_COPY,		/* fetch into a conflict copy's name */
};

struct decided {
	struct rentry	 e;
	enum action	 act;
	char		*target;
	struct vv	 expect;
	bool		 expect_exists;
	bool		 conflict;	/* counted on the loop */
};

struct batch {
	TAILQ_ENTRY(batch)	 entry;
	struct sync		*sy;
	struct place_view	*view;		/* holders, as of arrival */
	uint8_t			*wanted;	/* pull_wanted, if deletions */
	size_t			 nwanted;
	struct decided		*d;
	size_t			 n;
	size_t			 done_at;	/* decided entries handed on */
	struct store		*store;		/* for the job: never sy */
};

/* An INDEX frame being taken in, a few entries per loop turn. */
struct intake {
	TAILQ_ENTRY(intake)	 entry;
	uint8_t			 id[NODE_ID_LEN];	/* the sender */
	uint8_t			*payload;
	struct wire_rd		 r;
	struct decided		*d;
	uint32_t		 n, i, kept;
};

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct sync		*sy;
	char			*path;
	uint8_t			 sha[HASH_LEN];
	unsigned		 need;
	unsigned		 got;
	uint8_t			 acked[VV_MAX][NODE_ID_LEN];
	struct event		*timer;
	void			(*done)(void *, int);
	void			(*done_n)(void *, int, unsigned);
	void			*arg;
};

/* Encoding entries */

static int
put_entry(struct buf *b, const char *path, const struct file_meta *m)
{
	uint8_t vv[VV_ENC_MAX];
	size_t vl = vv_encode(&m->vv, vv);

	if (wire_u64(b, m->seq) < 0 || wire_str(b, path) < 0 ||
	    wire_u8(b, m->type) < 0 || wire_u8(b, m->deleted) < 0 ||
	    wire_u64(b, m->size) < 0 || wire_u64(b, (uint64_t)m->mtime_ns) < 0 ||
	    wire_fixed(b, m->sha256, HASH_LEN) < 0 ||
	    wire_bytes(b, m->blocks ? (const void *)m->blocks : "",
	    (uint32_t)(m->nblocks * HASH_LEN)) < 0 ||
	    wire_bytes(b, vv, (uint32_t)vl) < 0 ||
	    wire_fixed(b, m->modified_by, NODE_ID_LEN) < 0 ||
	    wire_u8(b, m->remote) < 0 ||
	    wire_bytes(b, m->attrs ? (const void *)m->attrs : "",
	    (uint32_t)(m->attrs ? m->attrs_len : 0)) < 0)
		return (-ENOBUFS);
	return (0);
}

/*
 * Decodes one entry into e, its raw path into raw.  -EPROTO if the frame
 * cannot be read on (nothing after it can be trusted); -EACCES or -EINVAL
 * for an entry that is refused alone: its bytes are consumed, the next
 * entry can be read.
 */
static int
get_entry(struct wire_rd *r, struct rentry *e, char raw[PATH_LEN_MAX + 1])
{
	const uint8_t *sha, *bl, *vv, *by, *at;
	uint32_t bll, vvl, atl;

	memset(e, 0, sizeof(*e));
	e->m.seq = wire_get_u64(r);
	if (wire_get_str(r, raw, PATH_LEN_MAX) < 0)
		return (-EPROTO);
	e->m.type = wire_get_u8(r);
	e->m.deleted = wire_get_u8(r) != 0;
	e->m.size = wire_get_u64(r);
	e->m.mtime_ns = (int64_t)wire_get_u64(r);
	sha = wire_get_fixed(r, HASH_LEN);
	bl = wire_get_bytes(r, HASH_BLOCKS_MAX * HASH_LEN, &bll);
	vv = wire_get_bytes(r, VV_ENC_MAX, &vvl);
	by = wire_get_fixed(r, NODE_ID_LEN);
	e->m.remote = wire_get_u8(r) != 0;
	at = wire_get_bytes(r, INDEX_ATTRS_MAX, &atl);
	if (r->bad)
		return (-EPROTO);
	/* SECURITY: a peer's path is confined like a client's, by the same
	 * rule the scanner applies to names it indexes. */
	if (!path_valid(raw))
		return (-EACCES);
	if (e->m.type > ENTRY_DIR || bll % HASH_LEN != 0 ||
	    vv_decode(&e->m.vv, vv, vvl) < 0)
		return (-EINVAL);
	e->m.nblocks = bll / HASH_LEN;
	if (e->m.type == ENTRY_FILE && !e->m.deleted &&
	    e->m.nblocks != (e->m.size + HASH_BLOCK_SIZE - 1) /
	    HASH_BLOCK_SIZE + (e->m.size == 0))
		return (-EINVAL);
	memcpy(e->m.sha256, sha, HASH_LEN);
	memcpy(e->m.modified_by, by, NODE_ID_LEN);
	e->path = strdup(raw);
	e->blocks = malloc(bll + 1);
	e->attrs = malloc(atl + 1);
	if (e->path == NULL || e->blocks == NULL || e->attrs == NULL) {
		rentry_release(e);
		return (-ENOMEM);
	}
	memcpy(e->blocks, bl, bll);
	e->m.blocks = e->blocks;
	memcpy(e->attrs, at, atl);
	e->m.attrs = e->attrs;
	e->m.attrs_len = atl;
	return (0);
}

/* Building INDEX frames from the index (on the pool) */

struct frames {
	struct buf	*v;
	size_t		 n;
	uint64_t	 last_seq;
	unsigned	 rows;
	uint8_t		 kind;
	uint32_t	 count;		/* entries in the open frame */
	size_t		 count_at;
};

static int
frames_open(struct frames *fr)
{
	struct buf *nv = realloc(fr->v, (fr->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return (-ENOMEM);
	fr->v = nv;
	buf_init(&fr->v[fr->n], WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (wire_begin(&fr->v[fr->n], WIRE_INDEX) < 0 ||
	    wire_u8(&fr->v[fr->n], fr->kind) < 0)
		return (-ENOMEM);
	fr->count_at = fr->v[fr->n].len;
	if (wire_u32(&fr->v[fr->n], 0) < 0)
		return (-ENOMEM);
	fr->count = 0;
	fr->n++;
	return (0);
}

static void
frames_close(struct frames *fr)
{
	struct buf *b = &fr->v[fr->n - 1];

	b->data[fr->count_at] = (char)(fr->count >> 24);
	b->data[fr->count_at + 1] = (char)(fr->count >> 16);
	b->data[fr->count_at + 2] = (char)(fr->count >> 8);
	b->data[fr->count_at + 3] = (char)fr->count;
	if (wire_end(b) < 0)
		buf_reset(b);	/* cannot happen: frames are filled to a cap */
}

static int
frames_row(const char *path, const struct file_meta *m, void *arg)
{
	struct frames *fr = arg;
	size_t mark;

	/* A row no peer would take (indexed before names were checked). */
	if (!path_valid(path)) {
		fr->last_seq = m->seq;
		return (0);
	}
	if (fr->n == 0 || fr->v[fr->n - 1].len > FRAME_FILL) {
		if (fr->n > 0)
			frames_close(fr);
		if (frames_open(fr) < 0)
			return (-ENOMEM);
	}
	mark = fr->v[fr->n - 1].len;
	if (put_entry(&fr->v[fr->n - 1], path, m) < 0) {
		buf_truncate(&fr->v[fr->n - 1], mark);
		/* Only a block list near 2 MiB (a file of some 60 GiB)
		 * cannot fit in a frame: it is not sent rather than
		 * holding up every change after it. */
		if (fr->count == 0) {
			log_warnx("sync: %s is too large to replicate", path);
			fr->last_seq = m->seq;
			return (0);
		}
		frames_close(fr);
		if (frames_open(fr) < 0 ||
		    put_entry(&fr->v[fr->n - 1], path, m) < 0)
			return (-ENOBUFS);
	}
	fr->count++;
	fr->rows++;
	fr->last_seq = m->seq;
	return (0);
}

static void
frames_release(struct frames *fr)
{
	size_t i;

	for (i = 0; i < fr->n; i++)
		buf_release(&fr->v[i]);
	free(fr->v);
	memset(fr, 0, sizeof(*fr));
}

/* Announcing local changes */

struct announce_job {
	struct sync	*sy;
	uint64_t	 since;
	struct frames	 fr;
	struct self_row	*rows;		/* for the catalog */
	size_t		 nrows, cap;
};

static int
announce_row(const char *path, const struct file_meta *m, void *arg)
{
	struct announce_job *j = arg;
	struct self_row *r, *nr;

	/* Most announcements carry a row or two: grow as needed. */
	if (j->nrows == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 16;
		if ((nr = realloc(j->rows, j->cap * sizeof(*nr))) == NULL)
			return (-ENOMEM);
		j->rows = nr;
	}
	r = &j->rows[j->nrows];
	if ((r->path = strdup(path)) == NULL)
		return (-ENOMEM);
	r->m = *m;
	r->m.blocks = NULL;
	r->m.attrs = NULL;	/* borrowed from the row being read */
	r->m.attrs_len = 0;
	j->nrows++;
	return (frames_row(path, m, &j->fr));
}

static void
announce_run(void *arg)
{
	struct announce_job *j = arg;

	j->fr.kind = 0;
	(void)index_changes(j->sy->o.store->index, j->since, ANNOUNCE_ROWS,
	    announce_row, j);
	if (j->fr.n > 0)
		frames_close(&j->fr);
}

static void announce(struct sync *);

static void
announce_done(void *arg)
{
	struct announce_job *j = arg;
	struct sync *sy = j->sy;
	struct member *m;
	size_t i;

	for (i = 0; i < j->nrows; i++) {
		catalog_self(sy->cat, j->rows[i].path, &j->rows[i].m);
		free(j->rows[i].path);
	}
	free(j->rows);
	for (i = 0; i < j->fr.n; i++)
		TAILQ_FOREACH(m, members_list(sy->o.members), entry)
			if (m->link && m->state == MEMBER_ALIVE &&
			    j->fr.v[i].len > 0)
				(void)members_send(m, &j->fr.v[i]);
	if (j->fr.rows > 0)
		sy->announced = j->fr.last_seq;
	sy->announcing = false;
	if (j->fr.rows == ANNOUNCE_ROWS || sy->announce_again) {
		sy->announce_again = false;
		announce(sy);
	}
	frames_release(&j->fr);
	free(j);
}

static void
announce(struct sync *sy)
{
	struct announce_job *j;

	if (sy->announcing) {
		sy->announce_again = true;
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->sy = sy;
	j->since = sy->announced;
	if (work_submit(sy->o.pool, announce_run, announce_done, j) < 0) {
		free(j);
		return;
	}
	sy->announcing = true;
}

/* Any thread: the index changed. */
static void
index_notify(void *arg)
{
	struct sync *sy = arg;
	uint64_t one = 1;

	if (write(sy->efd, &one, sizeof(one)) < 0)
		return;	/* the counter is already set: a wake-up is due */
}

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	struct sync *sy = arg;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	announce(sy);
	if (sy->o.changed)
		sy->o.changed(sy->o.hook_arg);
}

/* SEND */

struct offer_job {
	struct sync	*sy;
	char		*path;
	struct frames	 fr;
	int		 rc;
};

static void
offer_run(void *arg)
{
	struct offer_job *j = arg;
	struct file_meta m;
	uint8_t *blocks = NULL;

	j->fr.kind = 0;
	if ((j->rc = index_get_any(j->sy->o.store->index, j->path, &m,
	    &blocks)) == 0 && m.deleted)
		j->rc = -ENOENT;
	if (j->rc == 0 && frames_row(j->path, &m, &j->fr) == 0 && j->fr.n)
		frames_close(&j->fr);
	free(blocks);
}

static void
offer_done(void *arg)
{
	struct offer_job *j = arg;
	struct member *m;

	if (j->rc == 0 && j->fr.n == 1) {
		TAILQ_FOREACH(m, members_list(j->sy->o.members), entry)
			if (m->link && m->state == MEMBER_ALIVE)
				(void)members_send(m, &j->fr.v[0]);
	} else if (j->rc < 0)
		log_info("sync: cannot offer %s: %s", j->path, strerror(-j->rc));
	frames_release(&j->fr);
	free(j->path);
	free(j);
}

int
sync_offer(struct sync *sy, const char *path)
{
	struct offer_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = strdup(path)) == NULL) {
		free(j);
		return (-ENOMEM);
	}
	j->sy = sy;
	if (work_submit(sy->o.pool, offer_run, offer_done, j) < 0) {
		free(j->path);
		free(j);
		return (-ENOMEM);
	}
	return ((int)members_alive(sy->o.members));
}

/* Answering INDEX_REQ */

struct serve_job {
	struct sync	*sy;
	struct member	*m;
	uint64_t	 since;
	struct frames	 fr;
};

static void
serve_run(void *arg)
{
	struct serve_job *j = arg;
	int n;

	j->fr.kind = 1;
	do {
		uint64_t before = j->fr.rows;

		n = index_changes(j->sy->o.store->index, j->since,
		    ANNOUNCE_ROWS, frames_row, &j->fr);
		if (j->fr.rows == before)
			break;
		j->since = j->fr.last_seq;
	} while (n == ANNOUNCE_ROWS);
	if (j->fr.n > 0)
		frames_close(&j->fr);
}

static void
serve_done(void *arg)
{
	struct serve_job *j = arg;
	size_t i;

	for (i = 0; i < j->fr.n; i++)
		if (members_send(j->m, &j->fr.v[i]) < 0)
			break;
	log_debug("sync: sent %u index rows to %.8s", j->fr.rows, j->m->id_hex);
	frames_release(&j->fr);
	free(j);
}

static void
on_index_req(struct sync *sy, struct member *m, const uint8_t *p,
    uint32_t len)
{
	struct serve_job *j;
	struct wire_rd r;
	uint64_t since;

	wire_rd_init(&r, p, len);
	since = wire_get_u64(&r);
	if (wire_rd_done(&r) < 0) {
		log_warnx("member %.8s: bad INDEX_REQ", m->id_hex);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->sy = sy;
	j->m = m;
	j->since = since;
	if (work_submit(sy->o.pool, serve_run, serve_done, j) < 0)
		free(j);
}

static void
request_index(struct member *m, uint64_t since)
{
	struct buf b;

	buf_init(&b, 64);
	if (wire_begin(&b, WIRE_INDEX_REQ) == 0 && wire_u64(&b, since) == 0 &&
	    wire_end(&b) == 0)
		(void)members_send(m, &b);
	buf_release(&b);
}

/* Deciding */

/* Adopts a version whose content we already hold: only the row changes. */
static int
adopt(struct store *st, struct decided *d, const struct file_meta *local,
    const uint8_t *lblocks)
{
	struct file_meta m = *local;

	m.blocks = lblocks;
	/* The version's attributes (a metadata change is a version too). */
	m.attrs = d->e.m.attrs;
	m.attrs_len = d->e.m.attrs_len;
	if (vv_merge(&m.vv, &d->e.m.vv) < 0)
		return (-ENOSPC);
	if (memcmp(d->e.m.modified_by, m.modified_by, NODE_ID_LEN) > 0)
		memcpy(m.modified_by, d->e.m.modified_by, NODE_ID_LEN);
	/* Same bytes, another mtime (MFMT, touch): the newer version's,
	 * or the winner's, as for content. */
	if (m.type == ENTRY_FILE && !m.deleted &&
	    m.mtime_ns != d->e.m.mtime_ns &&
	    (vv_compare(&d->e.m.vv, &local->vv) == VV_AFTER ||
	     decide_remote_wins(local, &d->e.m))) {
		m.mtime_ns = d->e.m.mtime_ns;
		if (!m.remote)
			return (store_apply_mtime(st, d->e.path, &m, local));
	}
	return (index_apply(st->index, d->e.path, &m));
}

/*
 * The entries of a batch that will fetch a file here, by content: a
 * deletion in the same batch may hold what they need (below).
 */
struct takers {
	struct decided	**v;
	size_t		  n;
	bool		  built;
	const uint8_t	 *wanted;	/* what pulls queued before want */
	size_t		  nwanted;
};

static int
cmp_taker(const void *a, const void *b)
{
	const struct decided *x = *(struct decided *const *)a;
	const struct decided *y = *(struct decided *const *)b;

	return (memcmp(x->e.m.sha256, y->e.m.sha256, HASH_LEN));
}

/* Called at the batch's first deletion: every live entry is decided. */
static void
takers_build(struct takers *tk, struct decided *d, size_t n)
{
	size_t i;

	tk->built = true;
	if ((tk->v = calloc(n + 1, sizeof(*tk->v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (d[i].act == ACT_PULL && !d[i].e.m.deleted &&
		    d[i].e.m.type == ENTRY_FILE)
			tk->v[tk->n++] = &d[i];
	qsort(tk->v, tk->n, sizeof(*tk->v), cmp_taker);
}

/*
 * A local file a peer deleted, whose content a live name still wants: a
 * rename, seen here as a new name to fetch and the old name's deletion.
 * The node that renamed may hold no copy (replicas = N), so removing the
 * old name first could leave the new one with no copy anywhere.  The
 * bytes go to every such name first: entries of this batch that would
 * fetch it, and rows held elsewhere (this node then holds a copy that
 * placement does not ask for; repair drops it once the holders have it).
 * A pull queued earlier (the new name came in another batch, perhaps from
 * another member) finds them held (store_hold).
 */
static int
cmp_sha(const void *a, const void *b)
{
	return (memcmp(a, b, HASH_LEN));
}

static void
hand_over(struct store *st, struct takers *tk, const char *gone_path,
    const struct file_meta *gone)
{
	char q[PATH_LEN_MAX + 1];
	struct decided key, *kp = &key, **t;
	struct file_meta m;
	uint8_t *blocks;
	bool later = false;
	size_t i;
	int rc;

	memcpy(key.e.m.sha256, gone->sha256, HASH_LEN);
	if (tk->n > 0 && (t = bsearch(&kp, tk->v, tk->n, sizeof(*tk->v),
	    cmp_taker)) != NULL) {
		while (t > tk->v && cmp_taker(t - 1, &kp) == 0)
			t--;
		for (; t < tk->v + tk->n && cmp_taker(t, &kp) == 0; t++) {
			if ((*t)->act != ACT_PULL)
				continue;
			rc = fetch_local(st, (*t)->e.path, &(*t)->e.m,
			    &(*t)->expect, (*t)->expect_exists);
			if (rc == 0)
				(*t)->act = ACT_NONE;
			else {
				log_debug("sync: %s: its content not handed "
				    "over: %s", (*t)->e.path, strerror(-rc));
				later = true;
			}
		}
	}
	/* Bounded: each hand-over makes one such row local. */
	for (i = 0; i < 16; i++) {
		if (index_find_content(st->index, gone->sha256, true, q,
		    sizeof(q)) < 0 ||
		    index_get_any(st->index, q, &m, &blocks) < 0)
			break;
		m.blocks = blocks;
		rc = fetch_local(st, q, &m, &m.vv, true);
		free(blocks);
		if (rc < 0) {
			/* A full disk, say: a hard link still fits. */
			log_debug("sync: %s: its content not handed over: %s",
			    q, strerror(-rc));
			later = true;
			break;
		}
		log_debug("sync: %s now held here (its content was deleted "
		    "under another name)", q);
	}
	/* A pull queued by an earlier batch, or one this batch queues: the
	 * bytes wait for it. */
	if (!later && tk->nwanted > 0)
		later = bsearch(gone->sha256, tk->wanted, tk->nwanted,
		    HASH_LEN, cmp_sha) != NULL;
	if (later && (rc = store_hold(st, gone_path, gone->sha256)) < 0)
		log_warnx("sync: %s: cannot keep its content for a fetch: %s",
		    gone_path, strerror(-rc));
}

/* Carries out decide_entry's decision for one entry (on the pool). */
static void
decide_one(struct store *st, const struct place_view *view,
    struct decided *d, struct takers *tk)
{
	struct rentry *e = &d->e;
	struct decision dn;
	struct file_meta l, c;
	uint8_t *lblocks = NULL;
	bool have, have_copy;
	int rc = 0;

	have = index_get_any(st->index, e->path, &l, &lblocks) == 0;
	dn = decide_entry(e->path, have ? &l : NULL, &e->m, view);
	d->conflict = dn.conflict;
	if (dn.conflict && !dn.merge)
		log_info("sync: conflict on %s: local version kept", e->path);
	else if (dn.conflict)
		log_info("sync: conflict on %s: version of %02x%02x%02x kept",
		    e->path, e->m.modified_by[0], e->m.modified_by[1],
		    e->m.modified_by[2]);
	if (dn.set_aside) {
		char *copy = decide_conflict_name(e->path, &l);
		struct file_meta tomb;

		if (copy == NULL ||
		    (rc = store_rename(st, e->path, copy)) < 0) {
			free(copy);
			goto out;
		}
		free(copy);
		if (index_get_any(st->index, e->path, &tomb, NULL) == 0)
			l = tomb;
	}
	if (dn.merge)
		(void)vv_merge(&e->m.vv, &l.vv);
	switch (dn.act) {
	case DECIDE_IGNORE:
	case DECIDE_KEEP:
		break;
	case DECIDE_ADOPT:
		rc = adopt(st, d, &l, lblocks);
		break;
	case DECIDE_COPY:
		if ((d->target = decide_conflict_name(e->path, &e->m)) == NULL)
			break;
		have_copy = index_get(st->index, d->target, &c) == 0;
		if (!decide_copy_needed(have_copy ? &c : NULL, &e->m)) {
			free(d->target);
			d->target = NULL;
			break;
		}
		d->act = ACT_PULL_COPY;
		break;
	case DECIDE_DELETE:
		/* An empty file has no bytes to lose. */
		if (have && l.type == ENTRY_FILE && !l.deleted && !l.remote &&
		    l.size > 0)
			hand_over(st, tk, e->path, &l);
		rc = store_apply_delete(st, e->path, &e->m);
		if (rc == -ENOTEMPTY) {
			/* Files only we know are inside: the folder stays. */
			rc = index_put_dir(st->index, e->path);
		}
		break;
	case DECIDE_DIR:
		rc = store_apply_dir(st, e->path, &e->m);
		break;
	case DECIDE_ROW:
		/* Not one of its holders: the row, and no copy. */
		rc = store_apply_remote(st, e->path, &e->m);
		break;
	case DECIDE_FETCH:
		d->act = ACT_PULL;
		d->expect = l.vv;
		d->expect_exists = have;
		break;
	}
out:
	if (rc < 0)
		log_warnx("sync: %s: %s", e->path, strerror(-rc));
	free(lblocks);
}

static int
cmp_decided(const void *a, const void *b)
{
	const struct decided *x = a, *y = b;

	/* Live entries parents first, then deletions children first. */
	if (x->e.m.deleted != y->e.m.deleted)
		return (x->e.m.deleted ? 1 : -1);
	return (x->e.m.deleted ? strcmp(y->e.path, x->e.path) :
	    strcmp(x->e.path, y->e.path));
}

static void
decide_run(void *arg)
{
	struct batch *b = arg;
	size_t i;

	struct takers tk = { NULL, 0, false, b->wanted, b->nwanted };

	qsort(b->d, b->n, sizeof(*b->d), cmp_decided);
	for (i = 0; i < b->n; i++) {
		if (b->d[i].e.m.deleted && !tk.built)
			takers_build(&tk, b->d, b->n);
		decide_one(b->store, b->view, &b->d[i], &tk);
	}
	free(tk.v);
}

static void decide_next(struct sync *);
static void step_later(struct sync *);

static void
decide_done(void *arg)
{
	struct batch *b = arg;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->d[i].conflict)
			b->sy->st.conflicts++;
	/* Handed on a step at a time (step). */
	b->sy->finishing = b;
	step_later(b->sy);
}

/* Hands on up to STEP_ENTRIES decided entries; true when all are. */
static bool
finish_step(struct sync *sy, struct batch *b)
{
	struct decided *d;
	size_t end = b->done_at + STEP_ENTRIES;

	if (end > b->n)
		end = b->n;
	for (; b->done_at < end; b->done_at++) {
		d = &b->d[b->done_at];
		if (d->act == ACT_PULL)
			pull_enqueue(sy->pulls, &d->e, d->e.path, &d->expect,
				     d->expect_exists);
		else if (d->act == ACT_PULL_COPY && d->target)
			pull_enqueue(sy->pulls, &d->e, d->target, NULL, false);
		else if (!d->e.m.deleted && d->e.m.type == ENTRY_FILE)
			pull_add_holder(sy->pulls, d->e.path, d->e.m.sha256,
					d->e.from);
		free(d->target);
		d->target = NULL;
		rentry_release(&d->e);
	}
	if (b->done_at < b->n)
		return (false);
	free(b->d);
	free(b->view);
	free(b->wanted);
	free(b);
	return (true);
}

static void
decide_next(struct sync *sy)
{
	struct batch *b;
	size_t i;

	if (sy->classifying || (b = TAILQ_FIRST(&sy->batches)) == NULL)
		return;
	TAILQ_REMOVE(&sy->batches, b, entry);
	/* Placement as it is now, when the batch is decided. */
	if (b->view == NULL && (b->view = malloc(sizeof(*b->view))) != NULL)
		place_view_fill(b->view, *sy->o.replicas, &sy->self,
				sy->o.members, clock_mono_ms(),
				sy->o.repair_delay_ms);
	/* What pulls want, for the batch's deletions (hand_over). */
	free(b->wanted);
	b->wanted = NULL;
	b->nwanted = 0;
	for (i = 0; i < b->n; i++)
		if (b->d[i].e.m.deleted) {
			b->wanted = pull_wanted(sy->pulls, &b->nwanted);
			break;
		}
	if (b->view == NULL || work_submit(sy->o.pool, decide_run,
	    decide_done, b) < 0) {
		TAILQ_INSERT_HEAD(&sy->batches, b, entry);
		return;
	}
	sy->classifying = true;
}

static void
queue_batch(struct sync *sy, struct decided *d, size_t n)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		while (n > 0)
			rentry_release(&d[--n].e);
		free(d);
		return;
	}
	b->sy = sy;
	b->store = sy->o.store;
	b->d = d;
	b->n = n;
	TAILQ_INSERT_TAIL(&sy->batches, b, entry);
	decide_next(sy);
}

/* pull's hook: entries to decide again, in one batch (copied). */
static void
redecide(void *arg, struct rentry *const *v, size_t n)
{
	struct sync *sy = arg;
	struct decided *d;
	size_t i, k = 0;

	if ((d = calloc(n ? n : 1, sizeof(*d))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (rentry_copy(&d[k].e, v[i]) == 0)
			k++;
	queue_batch(sy, d, k);
}

static void
intake_free(struct intake *in)
{
	while (in->kept > 0)
		rentry_release(&in->d[--in->kept].e);
	free(in->d);
	free(in->payload);
	free(in);
}

static void
on_index(struct sync *sy, struct member *m, const uint8_t *p, uint32_t len)
{
	struct intake *in;
	struct wire_rd r;
	uint32_t n;

	wire_rd_init(&r, p, len);
	(void)wire_get_u8(&r);
	n = wire_get_u32(&r);
	/* Each entry takes at least 100 bytes: no huge allocation. */
	if (r.bad || n > len / 64) {
		log_warnx("member %.8s: bad INDEX", m->id_hex);
		return;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (in->payload = malloc(len ? len : 1)) == NULL ||
	    (in->d = calloc(n ? n : 1, sizeof(*in->d))) == NULL) {
		if (in != NULL) {
			free(in->payload);
			free(in);
		}
		return;
	}
	memcpy(in->payload, p, len);
	wire_rd_init(&in->r, in->payload, len);
	(void)wire_get_u8(&in->r);
	(void)wire_get_u32(&in->r);
	memcpy(in->id, m->id, NODE_ID_LEN);
	in->n = n;
	TAILQ_INSERT_TAIL(&sy->intake, in, entry);
	step_later(sy);
}

/*
 * Decodes up to STEP_ENTRIES entries of the oldest frame; true when the
 * frame is done (queued for deciding, or refused whole): the caller frees
 * it then.
 */
static bool
intake_step(struct sync *sy, struct intake *in)
{
	char hex[2 * NODE_ID_LEN + 1];
	char raw[PATH_LEN_MAX + 1], show[PATH_LEN_MAX + 1];
	struct decided *d;
	uint32_t end = in->i + STEP_ENTRIES;
	int rc = 0;

	if (end > in->n)
		end = in->n;
	member_id_hex(in->id, hex);
	for (; in->i < end; in->i++) {
		d = &in->d[in->kept];
		/* An entry refused alone is logged and skipped; only a frame
		 * that cannot be read on is refused whole. */
		rc = get_entry(&in->r, &d->e, raw);
		if (rc == -EPROTO || rc == -ENOMEM)
			break;
		if (rc < 0) {
			log_warnx("member %.8s: INDEX entry \"%s\" skipped: %s",
			    hex, path_printable(raw, show, sizeof(show)),
			    rc == -EACCES ? "a path outside the folder or "
			    "a name with a control byte" : "malformed entry");
			rc = 0;
			continue;
		}
		memcpy(d->e.from, in->id, NODE_ID_LEN);
		catalog_peer(sy->cat, d->e.path, in->id, &d->e.m);
		/* Changes to locked paths by anyone but the lock's holder
		 * wait. */
		if (sy->o.allow != NULL &&
		    !sy->o.allow(sy->o.hook_arg, d->e.path, d->e.m.modified_by))
			rentry_release(&d->e);
		else
			in->kept++;
	}
	if (rc == 0 && in->i < in->n)
		return (false);
	if (rc < 0 || wire_rd_done(&in->r) < 0) {
		log_warnx("member %.8s: INDEX refused: malformed frame", hex);
		return (true);
	}
	queue_batch(sy, in->d, in->kept);
	in->d = NULL;
	in->kept = 0;
	return (true);
}

/* One step of index work, then back to the loop (I/O first). */
static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	struct sync *sy = arg;
	struct intake *in;

	(void)fd;
	(void)what;
	if (sy->finishing != NULL) {
		if (finish_step(sy, sy->finishing)) {
			sy->finishing = NULL;
			sy->classifying = false;
			decide_next(sy);
		}
		pull_pump(sy->pulls);
	} else if ((in = TAILQ_FIRST(&sy->intake)) != NULL) {
		if (intake_step(sy, in)) {
			TAILQ_REMOVE(&sy->intake, in, entry);
			intake_free(in);
		}
	}
	if (sy->finishing != NULL || !TAILQ_EMPTY(&sy->intake))
		step_later(sy);
}

static void
step_later(struct sync *sy)
{
	struct timeval now = {0, 0};

	/* A timer, not event_active: pending I/O runs before the next step. */
	if (!evtimer_pending(sy->ev_step, NULL))
		evtimer_add(sy->ev_step, &now);
}

/* Acknowledgements and write quorum */

static void waiter_end(struct waiter *, int);

/* pull's hook: e's version is committed into target. */
static void
fetched(void *arg, const struct rentry *e, const char *target)
{
	struct sync *sy = arg;
	struct member *origin;
	struct buf b;

	struct waiter *w, *t;

	sy->st.files_fetched++;
	/* Readers waiting for this file (need 0) can have it now. */
	for (w = TAILQ_FIRST(&sy->waiters); w != NULL; w = t) {
		t = TAILQ_NEXT(w, entry);
		if (w->need == 0 && strcmp(w->path, target) == 0)
			waiter_end(w, 0);
	}
	if (strcmp(target, e->path) != 0)
		return;
	if ((origin = members_find(sy->o.members, e->m.modified_by)) == NULL)
		return;
	buf_init(&b, 8192);
	if (wire_begin(&b, WIRE_ACK) == 0 && wire_str(&b, e->path) == 0 &&
	    wire_fixed(&b, e->m.sha256, HASH_LEN) == 0 && wire_end(&b) == 0)
		(void)members_send(origin, &b);
	buf_release(&b);
}

static void
waiter_end(struct waiter *w, int rc)
{
	TAILQ_REMOVE(&w->sy->waiters, w, entry);
	event_free(w->timer);
	if (w->done_n != NULL)
		w->done_n(w->arg, rc, w->got);
	else
		w->done(w->arg, rc);
	free(w->path);
	free(w);
}

static void
on_ack(struct sync *sy, struct member *m, const uint8_t *p, uint32_t len)
{
	char path[PATH_LEN_MAX + 1];
	struct waiter *w, *t;
	const uint8_t *sha;
	struct wire_rd r;
	unsigned i;

	wire_rd_init(&r, p, len);
	(void)wire_get_str(&r, path, PATH_LEN_MAX);
	sha = wire_get_fixed(&r, HASH_LEN);
	if (wire_rd_done(&r) < 0)
		return;
	for (w = TAILQ_FIRST(&sy->waiters); w != NULL; w = t) {
		t = TAILQ_NEXT(w, entry);
		if (w->need == 0 || strcmp(w->path, path) != 0 ||
		    memcmp(w->sha, sha, HASH_LEN) != 0)
			continue;
		for (i = 0; i < w->got; i++)
			if (memcmp(w->acked[i], m->id, NODE_ID_LEN) == 0)
				break;
		if (i < w->got || w->got >= VV_MAX)
			continue;
		memcpy(w->acked[w->got++], m->id, NODE_ID_LEN);
		if (w->got >= w->need)
			waiter_end(w, 0);
	}
}

static void
on_waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter_end(arg, -ETIMEDOUT);
}

int
sync_await_fetch(struct sync *sy, const char *path, unsigned timeout_ms,
    void (*done)(void *, int), void *arg)
{
	static const uint8_t none[HASH_LEN];

	if (!pull_pending(sy->pulls, path))
		return (-ENOENT);
	return (sync_wait(sy, path, none, 0, timeout_ms, done, arg));
}

static int
waiter_new(struct sync *sy, const char *path, const uint8_t sha[HASH_LEN],
    unsigned need, unsigned timeout_ms, void (*done)(void *, int),
    void (*done_n)(void *, int, unsigned), void *arg)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->path = strdup(path)) == NULL) {
		free(w);
		return (-ENOMEM);
	}
	w->sy = sy;
	memcpy(w->sha, sha, HASH_LEN);
	w->need = need;
	w->done = done;
	w->done_n = done_n;
	w->arg = arg;
	if ((w->timer = evtimer_new(sy->o.base, on_waiter_timeout, w)) ==
	    NULL) {
		free(w->path);
		free(w);
		return (-ENOMEM);
	}
	TAILQ_INSERT_TAIL(&sy->waiters, w, entry);
	evtimer_add(w->timer, &tv);
	return (0);
}

int
sync_wait(struct sync *sy, const char *path, const uint8_t sha[HASH_LEN],
    unsigned need, unsigned timeout_ms, void (*done)(void *, int), void *arg)
{
	return (waiter_new(sy, path, sha, need, timeout_ms, done, NULL, arg));
}

int
sync_wait_count(struct sync *sy, const char *path,
    const uint8_t sha[HASH_LEN], unsigned need, unsigned timeout_ms,
    void (*done)(void *, int, unsigned got), void *arg)
{
	return (waiter_new(sy, path, sha, need, timeout_ms, NULL, done, arg));
}

/* Consistency */

/*
 * replicas = all: short of space while files have no copy here and one of
 * them lacked room since there were none (a copy found damaged at start-up
 * alone is no lack of space).
 */
static bool
space_short(const struct sync *sy, const struct repair_stats *rs)
{
	struct pull_stats ps;

	pull_stats(sy->pulls, &ps);
	return (rs->missing_files > 0 && ps.no_room_ms != 0 &&
		(sy->space_short || ps.no_room_ms >= sy->room_clear_ms));
}

/* Says once when this node starts and stops being short of space, with
 * what it lacks (the repair walk counts it). */
static void
check_space(struct sync *sy)
{
	struct repair_stats rs;
	bool short_now;

	repair_stats(sy->repair, &rs);
	short_now = space_short(sy, &rs);
	/* None missing: a lack of room well before this walk is over (a
	 * row just recorded may not be in its counts yet). */
	if (rs.missing_files == 0 && clock_mono_ms() > ROOM_SETTLE_MS)
		sy->room_clear_ms = clock_mono_ms() - ROOM_SETTLE_MS;
	if (short_now == sy->space_short)
		return;
	sy->space_short = short_now;
	if (short_now)
		log_warnx("sync: short of space: missing %llu files, %llu MiB "
		    "needed (%llu MiB free, store.min_free_mb kept); they are "
		    "read from the peers and fetched as room frees",
		    (unsigned long long)rs.missing_files,
		    (unsigned long long)((rs.missing_bytes + (1 << 20) - 1) >>
		    20), (unsigned long long)(sy->free_bytes >> 20));
	else
		log_info("sync: no longer short of space: every file is "
		    "held here");
}

/* Whether m's digest is counted: alive, linked, and not a member short
 * of space whose index lacks what it has no room for (like is compared
 * with like). */
static bool
counted(const struct member *m, const uint8_t mine[HASH_LEN])
{
	return (m->state == MEMBER_ALIVE && m->link && m->digest_known &&
		(!m->short_space || memcmp(m->digest, mine, HASH_LEN) == 0));
}

static void
on_check(evutil_socket_t fd, short what, void *arg)
{
	struct sync *sy = arg;
	struct member *m, *best = NULL;
	uint8_t mine[HASH_LEN];
	unsigned alive = 0, agree = 0, votes, best_votes = 0, busy = 0;
	unsigned named = 0;
	struct pull_stats ps;
	struct buf who;
	uint64_t now;

	(void)fd;
	(void)what;
	check_space(sy);
	pull_stats(sy->pulls, &ps);
	index_digest(sy->o.store->index, mine);
	TAILQ_FOREACH(m, members_list(sy->o.members), entry) {
		if (!counted(m, mine))
			continue;
		alive++;
		if (memcmp(m->digest, mine, HASH_LEN) == 0)
			agree++;
		else if (m->busy)
			busy++;
	}
	sy->st.alive = alive;
	sy->st.agree = agree;
	/* A member still fetching is on its way, not in disagreement. */
	if (alive == 0 || busy > 0 ||
	    (double)(alive - agree) <= (1.0 - sy->o.threshold) * alive ||
	    ps.active || ps.queued || sy->classifying ||
	    !TAILQ_EMPTY(&sy->intake)) {
		sy->disagree_ticks = 0;
		return;
	}
	if (++sy->disagree_ticks < RESYNC_TICKS)
		return;
	sy->disagree_ticks = 0;
	/* The digest most members share, and ask them for everything. */
	TAILQ_FOREACH(m, members_list(sy->o.members), entry) {
		struct member *o;

		if (!counted(m, mine))
			continue;
		votes = 0;
		TAILQ_FOREACH(o, members_list(sy->o.members), entry)
			if (counted(o, mine) &&
			    memcmp(o->digest, m->digest, HASH_LEN) == 0)
				votes++;
		if (votes > best_votes) {
			best_votes = votes;
			best = m;
		}
	}
	if (best == NULL)
		return;
	/*
	 * At most one resync in RESYNC_MIN_MS, and none again while neither
	 * our index nor the majority's changed since the last: it would
	 * change nothing either.
	 */
	now = clock_mono_ms();
	if (sy->last_resync_ms != 0 && now - sy->last_resync_ms <
	    RESYNC_MIN_MS)
		return;
	if (sy->last_resync_ms != 0 &&
	    memcmp(sy->resync_mine, mine, HASH_LEN) == 0 &&
	    memcmp(sy->resync_best, best->digest, HASH_LEN) == 0)
		return;
	sy->last_resync_ms = now;
	memcpy(sy->resync_mine, mine, HASH_LEN);
	memcpy(sy->resync_best, best->digest, HASH_LEN);
	sy->st.resyncs++;
	/* The reason: who differed (a few of them, by id and address). */
	buf_init(&who, RESYNC_NAMED * 80 + 16);
	TAILQ_FOREACH(m, members_list(sy->o.members), entry) {
		if (!counted(m, mine) || memcmp(m->digest, mine, HASH_LEN) == 0)
			continue;
		/* Sized for RESYNC_NAMED: a longer list is cut, not lost. */
		if (named++ == RESYNC_NAMED) {
			if (buf_puts(&who, ", ...") < 0)
				break;
		} else if (named <= RESYNC_NAMED &&
		    buf_printf(&who, "%s%.8s (%s)", who.len ? ", " : "",
		    m->id_hex, m->addr) < 0)
			break;
	}
	log_info("sync: index differs from %u of %u members (%s): resyncing "
	    "from the majority (%u share its index)", alive - agree, alive,
	    buf_cstr(&who), best_votes);
	buf_release(&who);
	TAILQ_FOREACH(m, members_list(sy->o.members), entry)
		if (counted(m, mine) &&
		    memcmp(m->digest, best->digest, HASH_LEN) == 0)
			request_index(m, 0);
	/* And offer them ours: what only we have reaches them too. */
	sy->announced = 0;
	announce(sy);
}

/* members callbacks */

void
sync_member_up(struct member *m, void *arg)
{
	struct sync *sy = arg;

	if (m->sync == NULL)
		m->sync = calloc(1, sizeof(struct member_sync));
	/* Catch up both ways, without waiting for a client. */
	request_index(m, 0);
	pull_member_up(sy->pulls, m);
}

void
sync_member_down(struct member *m, void *arg)
{
	struct sync *sy = arg;

	pull_member_down(sy->pulls, m);
}

void
sync_frame(struct member *m, const struct wire_hdr *h, const uint8_t *p,
    void *arg)
{
	struct sync *sy = arg;

	switch (h->type) {
	case WIRE_INDEX_REQ:
		on_index_req(sy, m, p, h->len);
		break;
	case WIRE_INDEX:
		on_index(sy, m, p, h->len);
		break;
	case WIRE_BLOCK:
		pull_on_block(sy->pulls, m, p, h->len);
		break;
	case WIRE_ACK:
		on_ack(sy, m, p, h->len);
		break;
	default:
		log_warnx("member %.8s: unexpected %s", m->id_hex,
		    wire_type_name(h->type));
		break;
	}
}

void
sync_digest(uint8_t out[HASH_LEN], uint32_t *busy, void *arg)
{
	struct sync *sy = arg;
	struct pull_stats ps;

	pull_stats(sy->pulls, &ps);
	index_digest(sy->o.store->index, out);
	*busy = ps.active + ps.queued + (sy->classifying ? 1 : 0) +
		(TAILQ_EMPTY(&sy->intake) ? 0 : 1);
}

void
sync_get_stats(struct sync *sy, struct sync_stats *out)
{
	struct repair_stats rs;
	struct pull_stats ps;

	pull_stats(sy->pulls, &ps);
	repair_stats(sy->repair, &rs);
	*out = sy->st;
	out->files = rs.files;
	out->held = rs.held;
	out->under = rs.under;
	out->repair_bytes = rs.repair_bytes;
	out->unavailable = rs.unavailable;
	out->drops = rs.drops;
	out->pulls_active = ps.active;
	out->pulls_queued = ps.queued;
	out->pulls_waiting = ps.parked;
	out->bytes_fetched = ps.bytes_fetched;
	out->bytes_reused = ps.bytes_reused;
	out->bad_blocks = ps.bad_blocks;
	out->repairs = ps.copies;
	out->missing_files = rs.missing_files;
	out->missing_bytes = rs.missing_bytes;
	out->space_short = space_short(sy, &rs);
	memcpy(out->progress, ps.wave, sizeof(out->progress));
}

int
sync_read_open(struct sync *sy, const char *path, void (*ready)(void *),
	       void (*failed)(void *, const char *), void *arg,
	       struct sync_reader **out, char *why, size_t whylen)
{
	return (pull_read_open(sy->pulls, path, ready, failed, arg, out, why,
			       whylen));
}

/* repair's hooks */

static bool
deciding(void *arg)
{
	struct sync *sy = arg;

	return (sy->classifying || !TAILQ_EMPTY(&sy->batches) ||
		!TAILQ_EMPTY(&sy->intake));
}

static unsigned
queued(void *arg)
{
	struct sync *sy = arg;
	struct pull_stats ps;

	pull_stats(sy->pulls, &ps);
	return (ps.queued);
}

static void
fetch_copies(void *arg, char *const *paths, const uint8_t (*sha)[HASH_LEN],
	     size_t n)
{
	struct sync *sy = arg;

	pull_copies(sy->pulls, paths, sha, n);
}

static uint64_t
room(void *arg)
{
	struct sync *sy = arg;

	return (pull_room(sy->pulls));
}

void
sync_fetch_copy(struct sync *sy, const char *path, const uint8_t sha[HASH_LEN])
{
	char *const paths[1] = { (char *)path };	/* pull_copies copies */

	pull_copies(sy->pulls, paths, (const uint8_t (*)[HASH_LEN])sha, 1);
}

static int
load_self_row(const char *path, const struct file_meta *m, void *arg)
{
	struct sync *sy = arg;

	catalog_self(sy->cat, path, m);
	sy->loaded = m->seq;
	return (0);
}

static int
load_pin(const char *path, void *arg)
{
	return (catalog_pin(arg, path, true));
}

/*
 * The catalog starts from the whole index, read here before the loop
 * runs (members fill in their holdings as they come up).
 */
static int
load_catalog(struct sync *sy)
{
	int n;

	if ((sy->cat = catalog_new()) == NULL)
		return (-ENOMEM);
	do {
		n = index_changes(sy->o.store->index, sy->loaded, ANNOUNCE_ROWS,
		    load_self_row, sy);
	} while (n == ANNOUNCE_ROWS);
	(void)index_pins(sy->o.store->index, load_pin, sy->cat);
	return (n < 0 ? n : 0);
}

struct sync *
sync_new(const struct sync_opts *o)
{
	struct timeval tv = { CHECK_MS / 1000, 0 };
	struct repair_opts ro;
	struct pull_opts po;
	struct sync *sy;

	if ((sy = calloc(1, sizeof(*sy))) == NULL)
		return (NULL);
	sy->o = *o;
	memcpy(sy->self.id, o->store->node_id, NODE_ID_LEN);
	sy->self.weight = o->capacity;
	TAILQ_INIT(&sy->batches);
	TAILQ_INIT(&sy->waiters);
	TAILQ_INIT(&sy->intake);
	sy->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sy->efd < 0)
		goto fail;
	sy->ev_notify = event_new(o->base, sy->efd, EV_READ | EV_PERSIST,
	    on_notify, sy);
	sy->ev_check = event_new(o->base, -1, EV_PERSIST, on_check, sy);
	sy->ev_step = evtimer_new(o->base, on_step, sy);
	if (sy->ev_notify == NULL || sy->ev_check == NULL ||
	    sy->ev_step == NULL || event_add(sy->ev_notify, NULL) < 0 ||
	    event_add(sy->ev_check, &tv) < 0)
		goto fail;
	/* Rows written before we started are sent when members ask. */
	sy->announced = index_seq(o->store->index);
	if (load_catalog(sy) < 0)
		goto fail;
	memset(&po, 0, sizeof(po));
	po.base = o->base;
	po.pool = o->pool;
	po.store = o->store;
	po.cat = sy->cat;
	po.read_keep_ms = o->read_keep_ms;
	po.replicas = o->replicas;
	po.joining = *o->replicas == REPLICAS_UNKNOWN;
	po.hooks.redecide = redecide;
	po.hooks.fetched = fetched;
	po.hooks.arg = sy;
	if ((sy->pulls = pulls_new(&po)) == NULL)
		goto fail;
	pull_set_members(sy->pulls, o->members);
	memset(&ro, 0, sizeof(ro));
	ro.base = o->base;
	ro.pool = o->pool;
	ro.store = o->store;
	ro.cat = sy->cat;
	ro.replicas = o->replicas;
	ro.self = &sy->self;
	ro.repair_delay_ms = o->repair_delay_ms;
	ro.hooks.deciding = deciding;
	ro.hooks.queued = queued;
	ro.hooks.fetch = fetch_copies;
	ro.hooks.room = room;
	ro.hooks.arg = sy;
	if ((sy->repair = repair_new(&ro)) == NULL)
		goto fail;
	repair_set_members(sy->repair, o->members);
	index_set_notify(o->store->index, index_notify, sy);
	return (sy);
fail:
	sync_free(sy);
	return (NULL);
}

void
sync_set_members(struct sync *sy, struct members *mb)
{
	sy->o.members = mb;
	pull_set_members(sy->pulls, mb);
	repair_set_members(sy->repair, mb);
}

void
sync_free(struct sync *sy)
{
	struct intake *in;
	struct batch *b;
	struct waiter *w;

	if (sy == NULL)
		return;
	index_set_notify(sy->o.store->index, NULL, NULL);
	repair_free(sy->repair);
	pulls_free(sy->pulls);
	while ((in = TAILQ_FIRST(&sy->intake)) != NULL) {
		TAILQ_REMOVE(&sy->intake, in, entry);
		intake_free(in);
	}
	if ((b = sy->finishing) != NULL) {
		while (b->n > b->done_at) {
			free(b->d[--b->n].target);
			rentry_release(&b->d[b->n].e);
		}
		free(b->d);
		free(b->view);
		free(b->wanted);
		free(b);
	}
	if (sy->ev_step)
		event_free(sy->ev_step);
	while ((b = TAILQ_FIRST(&sy->batches)) != NULL) {
		TAILQ_REMOVE(&sy->batches, b, entry);
		while (b->n > 0)
			rentry_release(&b->d[--b->n].e);
		free(b->d);
		free(b->view);
		free(b->wanted);
		free(b);
	}
	while ((w = TAILQ_FIRST(&sy->waiters)) != NULL) {
		TAILQ_REMOVE(&sy->waiters, w, entry);
		event_free(w->timer);
		free(w->path);
		free(w);
	}
	if (sy->ev_notify)
		event_free(sy->ev_notify);
	if (sy->ev_check)
		event_free(sy->ev_check);
	if (sy->efd >= 0)
		close(sy->efd);
	catalog_free(sy->cat);
	free(sy);
}

/* Space and replicas */

void
sync_set_space(struct sync *sy, uint64_t free_bytes, uint64_t floor)
{
	bool full = free_bytes < floor;

	pull_set_room(sy->pulls, full ? 0 : free_bytes - floor);
	if (full != sy->self.full)
		log_info("repair: this node is %s (%llu MiB free)", full ?
		    "full: new copies go elsewhere" : "no longer full",
		    (unsigned long long)(free_bytes >> 20));
	sy->self.full = full;
	sy->free_bytes = free_bytes;
}

void
sync_space(uint64_t *free_bytes, bool *full, bool *short_space, void *arg)
{
	struct sync *sy = arg;

	*free_bytes = sy->free_bytes;
	*full = sy->self.full;
	*short_space = sy->space_short;
}

void
sync_learn_replicas(unsigned replicas, void *arg)
{
	struct sync *sy = arg;

	if (sy->o.learned)
		sy->o.learned(sy->o.hook_arg, replicas);
}

