/*
 * vreq: questions about versions to the members, and the answers to
 * theirs (vreq.h).
 *
 * VERS_REQ: u32 rid, u8 op (0 list, 1 read, 2 trash), text path, text id,
 *           u64 offset
 * VERS:     u32 rid, u8 op, u32 status (0 or a positive errno), then
 *           list: u32 n, n x { text id, u8 kind, u64 kept_ns, u64 mtime_ns,
 *                 u64 size, 32 sha256, 16 writer, 16 by }
 *           trash: the same, each row led by its text path
 *           read: u64 size, 32 sha256, bytes chunk (from offset)
 *
 * A question is a struct vask, found again by its rid; an answer from a
 * member it was not put to is ignored.  Its timer bounds the wait for
 * each answer.
 */
#include "cluster/vreq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "base/work.h"
#include "cluster/members.h"
#include "store/path.h"
#include "store/store.h"
#include "store/versions.h"

#define VREQ_MEMBERS_MAX	64

enum { OP_LIST = 0, OP_READ = 1, OP_TRASH = 2 };

struct vask {
	TAILQ_ENTRY(vask)	 entry;
	struct vreq		*vr;
	uint32_t		 rid;
	uint8_t			 op;
	char			 path[PATH_LEN_MAX + 1];
	char			 id[VERS_ID_MAX + 1];
	struct event		*timer;
	uint8_t			 to[VREQ_MEMBERS_MAX][NODE_ID_LEN];
	bool			 pending[VREQ_MEMBERS_MAX];
	unsigned		 nto, cur;
	/* list */
	struct vreq_rows	*rows;
	void			(*list_done)(void *, struct vreq_rows *);
	/* read */
	struct buf		 data;
	uint64_t		 size;
	uint8_t			 sha[HASH_LEN];
	int			 why;		/* the best reason so far */
	void			(*fetch_done)(void *, int, struct buf *,
				    const uint8_t *, const char *);
	void			*arg;
};

struct vreq {
	struct vreq_opts	 o;
	struct members		*mb;
	uint32_t		 next_rid;
	unsigned		 serving;
	TAILQ_HEAD(, vask)	 asks;
};

struct vreq *
vreq_new(const struct vreq_opts *o)
{
	struct vreq *vr = calloc(1, sizeof(*vr));

	if (vr == NULL)
		return (NULL);
	vr->o = *o;
	TAILQ_INIT(&vr->asks);
	return (vr);
}

void
vreq_set_members(struct vreq *vr, struct members *mb)
{
	vr->mb = mb;
}

static void
ask_free(struct vask *a)
{
	TAILQ_REMOVE(&a->vr->asks, a, entry);
	if (a->timer)
		event_free(a->timer);
	vreq_rows_free(a->rows);
	buf_release(&a->data);
	free(a);
}

void
vreq_free(struct vreq *vr)
{
	if (vr == NULL)
		return;
	while (!TAILQ_EMPTY(&vr->asks))
		ask_free(TAILQ_FIRST(&vr->asks));
	free(vr);
}

void
vreq_rows_free(struct vreq_rows *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	free(r);
}

/* Asking */

static int
send_req(struct vask *a, struct member *m, uint64_t offset)
{
	struct timeval tv = { a->vr->o.timeout_ms / 1000,
		(a->vr->o.timeout_ms % 1000) * 1000 };
	struct buf b;
	int rc;

	buf_init(&b, 8192);
	rc = wire_begin(&b, WIRE_VERS_REQ) < 0 || wire_u32(&b, a->rid) < 0 ||
	    wire_u8(&b, a->op) < 0 || wire_str(&b, a->path) < 0 ||
	    wire_str(&b, a->id) < 0 || wire_u64(&b, offset) < 0 ||
	    wire_end(&b) < 0 ? -ENOMEM : members_send(m, &b);
	buf_release(&b);
	if (rc == 0)
		(void)event_add(a->timer, &tv);
	return (rc);
}

static void
list_finish(struct vask *a)
{
	struct vreq_rows *r = a->rows;

	a->rows = NULL;
	a->list_done(a->arg, r);
	ask_free(a);
}

static void
fetch_finish(struct vask *a, int rc, const char *node)
{
	struct buf *data = NULL;

	if (rc == 0 && (data = malloc(sizeof(*data))) == NULL)
		rc = -ENOMEM;
	if (rc == 0) {
		*data = a->data;
		memset(&a->data, 0, sizeof(a->data));
		a->fetch_done(a->arg, 0, data, a->sha, node);
	} else
		a->fetch_done(a->arg, rc, NULL, NULL, NULL);
	ask_free(a);
}

/* The next member that may have the version, or the end of the road. */
static void
fetch_next(struct vask *a)
{
	struct member *m;

	buf_reset(&a->data);
	a->size = 0;
	for (a->cur = a->cur + 1; a->cur < a->nto; a->cur++) {
		if ((m = members_find(a->vr->mb, a->to[a->cur])) != NULL &&
		    send_req(a, m, 0) == 0)
			return;
	}
	fetch_finish(a, a->why, NULL);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct vask *a = arg;

	(void)fd;
	(void)what;
	if (a->op != OP_READ)
		list_finish(a);
	else {
		if (a->why == -ENOENT)
			a->why = -ETIMEDOUT;
		fetch_next(a);
	}
}

static struct vask *
ask_new(struct vreq *vr, uint8_t op, const char *path, const char *id,
    void *arg)
{
	struct member *ms[VREQ_MEMBERS_MAX];
	struct vask *a;
	unsigned i, n;

	if (vr->mb == NULL || (a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	a->vr = vr;
	a->op = op;
	a->arg = arg;
	a->rid = ++vr->next_rid;
	a->why = -ENOENT;
	a->cur = 0;
	buf_init(&a->data, VREQ_FETCH_MAX);
	if (str_copy(a->path, sizeof(a->path), path) < 0 ||
	    str_copy(a->id, sizeof(a->id), id) < 0 ||
	    (a->timer = evtimer_new(vr->o.base, on_timeout, a)) == NULL) {
		buf_release(&a->data);
		if (a->timer)
			event_free(a->timer);
		free(a);
		return (NULL);
	}
	n = members_ranked(vr->mb, ms, VREQ_MEMBERS_MAX);
	for (i = 0; i < n; i++)
		memcpy(a->to[i], ms[i]->id, NODE_ID_LEN);
	a->nto = n;
	TAILQ_INSERT_TAIL(&vr->asks, a, entry);
	return (a);
}

static int
ask_all(struct vreq *vr, uint8_t op, const char *path,
    void (*done)(void *, struct vreq_rows *), void *arg)
{
	struct member *m;
	struct vask *a;
	unsigned i, sent = 0;

	if ((a = ask_new(vr, op, path, "", arg)) == NULL)
		return (-ENOMEM);
	a->list_done = done;
	if ((a->rows = calloc(1, sizeof(*a->rows))) == NULL) {
		ask_free(a);
		return (-ENOMEM);
	}
	for (i = 0; i < a->nto; i++)
		if ((m = members_find(vr->mb, a->to[i])) != NULL &&
		    send_req(a, m, 0) == 0) {
			a->pending[i] = true;
			sent++;
		}
	a->rows->asked = sent;
	if (sent == 0)
		list_finish(a);
	return (0);
}

int
vreq_list(struct vreq *vr, const char *path,
    void (*done)(void *, struct vreq_rows *), void *arg)
{
	return (ask_all(vr, OP_LIST, path, done, arg));
}

int
vreq_trash(struct vreq *vr, const char *prefix,
    void (*done)(void *, struct vreq_rows *), void *arg)
{
	return (ask_all(vr, OP_TRASH, prefix, done, arg));
}

int
vreq_fetch(struct vreq *vr, const char *path, const char *id,
    void (*done)(void *, int, struct buf *, const uint8_t *, const char *),
    void *arg)
{
	struct vask *a;

	if ((a = ask_new(vr, OP_READ, path, id, arg)) == NULL)
		return (-ENOMEM);
	a->fetch_done = done;
	/* fetch_next starts from cur + 1. */
	a->cur = (unsigned)-1;
	fetch_next(a);
	return (0);
}

static struct vask *
ask_find(struct vreq *vr, uint32_t rid)
{
	struct vask *a;

	TAILQ_FOREACH(a, &vr->asks, entry)
		if (a->rid == rid)
			return (a);
	return (NULL);
}

/* Index of m in a's members, or -1. */
static int
ask_member(const struct vask *a, const struct member *m)
{
	unsigned i;

	for (i = 0; i < a->nto; i++)
		if (memcmp(a->to[i], m->id, NODE_ID_LEN) == 0)
			return ((int)i);
	return (-1);
}

static void
on_list_answer(struct vask *a, int who, struct member *m, uint32_t status,
    struct wire_rd *rd)
{
	struct vreq_rows *r = a->rows;
	struct vreq_row *nv, row;
	char path[PATH_LEN_MAX + 1];
	uint32_t n, i;
	unsigned k;

	if (!a->pending[who])
		return;
	a->pending[who] = false;
	r->answered++;
	n = status == 0 && rd != NULL ? wire_get_u32(rd) : 0;
	if (n > VREQ_ROWS_MAX)
		rd->bad = true;
	for (i = 0; i < n && !rd->bad; i++) {
		memset(&row, 0, sizeof(row));
		memcpy(row.node, m->id_hex, sizeof(row.node));
		if (a->op == OP_TRASH) {
			(void)wire_get_str(rd, path, PATH_LEN_MAX);
			/* SECURITY: a path from a peer is checked as any. */
			if (!rd->bad && !path_valid(path))
				rd->bad = true;
			if (rd->bad || (row.path = strdup(path)) == NULL)
				break;
		}
		(void)wire_get_str(rd, row.r.id, VERS_ID_MAX);
		row.r.kind = wire_get_u8(rd) == VERS_TRASH ? VERS_TRASH :
		    VERS_VERSION;
		row.r.kept_ns = (int64_t)wire_get_u64(rd);
		row.r.mtime_ns = (int64_t)wire_get_u64(rd);
		row.r.size = wire_get_u64(rd);
		if (!rd->bad)
			memcpy(row.r.sha256, wire_get_fixed(rd, HASH_LEN),
			    HASH_LEN);
		if (!rd->bad)
			memcpy(row.r.writer, wire_get_fixed(rd, NODE_ID_LEN),
			    NODE_ID_LEN);
		if (!rd->bad)
			memcpy(row.r.by, wire_get_fixed(rd, NODE_ID_LEN),
			    NODE_ID_LEN);
		if (rd->bad ||
		    (nv = realloc(r->v, (r->n + 1) * sizeof(*nv))) == NULL) {
			free(row.path);
			break;
		}
		r->v = nv;
		r->v[r->n++] = row;
	}
	if (rd != NULL && wire_rd_done(rd) < 0)
		log_warnx("member %.8s: bad VERS answer", m->id_hex);
	for (k = 0; k < a->nto; k++)
		if (a->pending[k])
			return;
	list_finish(a);
}

static void
on_read_answer(struct vask *a, int who, struct member *m, uint32_t status,
    struct wire_rd *rd)
{
	uint8_t sha[HASH_LEN];
	const uint8_t *p, *s;
	uint64_t size;
	uint32_t len;
	unsigned dlen;

	if ((unsigned)who != a->cur)
		return;
	(void)event_del(a->timer);
	if (status != 0) {
		/* "Pruned" is a better reason than "unknown" or "busy". */
		if (status == ENODATA || a->why != -ENODATA)
			a->why = status == ENODATA ? -ENODATA :
			    status == EBUSY ? -EBUSY : a->why;
		fetch_next(a);
		return;
	}
	size = wire_get_u64(rd);
	s = wire_get_fixed(rd, HASH_LEN);
	p = wire_get_bytes(rd, VREQ_CHUNK, &len);
	if (wire_rd_done(rd) < 0 || s == NULL ||
	    (a->data.len > 0 && (size != a->size ||
	    memcmp(s, a->sha, HASH_LEN) != 0)) ||
	    a->data.len + len > size || (len == 0 && a->data.len < size)) {
		log_warnx("member %.8s: bad VERS answer", m->id_hex);
		fetch_next(a);
		return;
	}
	if (size > VREQ_FETCH_MAX) {
		fetch_finish(a, -EFBIG, NULL);
		return;
	}
	a->size = size;
	memcpy(a->sha, s, HASH_LEN);
	if (buf_append(&a->data, p, len) < 0) {
		fetch_finish(a, -ENOMEM, NULL);
		return;
	}
	if (a->data.len < size) {
		if (send_req(a, m, a->data.len) < 0)
			fetch_next(a);
		return;
	}
	/* The whole version: it must be the content the member named. */
	if (EVP_Digest(a->data.data, a->data.len, sha, &dlen, EVP_sha256(),
	    NULL) != 1 || memcmp(sha, a->sha, HASH_LEN) != 0) {
		log_warnx("member %.8s: version %s of /%s does not match its "
		    "hash", m->id_hex, a->id, a->path);
		fetch_next(a);
		return;
	}
	fetch_finish(a, 0, m->id_hex);
}

static void
on_answer(struct vreq *vr, struct member *m, const uint8_t *p, uint32_t len)
{
	struct wire_rd rd;
	struct vask *a;
	uint32_t rid, status;
	uint8_t op;
	int who;

	wire_rd_init(&rd, p, len);
	rid = wire_get_u32(&rd);
	op = wire_get_u8(&rd);
	status = wire_get_u32(&rd);
	if (rd.bad || (a = ask_find(vr, rid)) == NULL || a->op != op ||
	    (who = ask_member(a, m)) < 0)
		return;
	if (op != OP_READ)
		on_list_answer(a, who, m, status, &rd);
	else
		on_read_answer(a, who, m, status, &rd);
}

void
vreq_member_down(struct vreq *vr, struct member *m)
{
	struct vask *a, *next;
	int who;

	if (vr->mb == NULL)
		return;
	for (a = TAILQ_FIRST(&vr->asks); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if ((who = ask_member(a, m)) < 0)
			continue;
		if (a->op != OP_READ && a->pending[who]) {
			on_list_answer(a, who, m, EHOSTDOWN, NULL);
		} else if (a->op == OP_READ && (unsigned)who == a->cur) {
			(void)event_del(a->timer);
			fetch_next(a);
		}
	}
}

/* Answering */

struct vserve {
	struct vreq	*vr;		/* for the done half, on the loop */
	struct store	*store;
	uint8_t		 member[NODE_ID_LEN];
	uint32_t	 rid;
	uint8_t		 op;
	char		 path[PATH_LEN_MAX + 1];
	char		 id[VERS_ID_MAX + 1];
	uint64_t	 offset;
	uint32_t	 status;
	struct vers_row	*rows;
	char		**paths;	/* OP_TRASH */
	size_t		 n;
	size_t		 bytes;		/* of the answer, about */
	uint64_t	 size;
	uint8_t		 sha[HASH_LEN];
	uint8_t		*chunk;
	size_t		 len;
};

static int
serve_row(const char *path, const struct vers_row *r, void *arg)
{
	struct vserve *j = arg;

	if (r->pruned || j->n == VREQ_ROWS_MAX)
		return (0);
	/* What fits in one frame: the rest is left out. */
	j->bytes += strlen(path) + 2 + sizeof(*r);
	if (j->bytes > WIRE_FRAME_MAX - 65536)
		return (-1);
	if (j->paths != NULL && (j->paths[j->n] = strdup(path)) == NULL)
		return (-1);
	j->rows[j->n++] = *r;
	return (0);
}

static void
serve_run(void *arg)
{
	struct vserve *j = arg;
	struct vers_row r;
	ssize_t n;
	size_t want;
	int fd, rc;

	if (j->op != OP_READ) {
		if ((j->rows = calloc(VREQ_ROWS_MAX, sizeof(*j->rows))) ==
		    NULL || (j->op == OP_TRASH && (j->paths =
		    calloc(VREQ_ROWS_MAX, sizeof(*j->paths))) == NULL)) {
			j->status = ENOMEM;
			return;
		}
		rc = j->op == OP_LIST ? index_vers_list(j->store->index,
		    j->path, serve_row, j) : index_vers_trash(j->store->index,
		    j->path, serve_row, j);
		j->status = rc < 0 ? (uint32_t)-rc : 0;
		return;
	}
	if ((fd = vers_open(j->store, j->path, j->id, &r)) < 0) {
		j->status = (uint32_t)-fd;
		return;
	}
	j->size = r.size;
	memcpy(j->sha, r.sha256, HASH_LEN);
	want = j->offset >= r.size ? 0 : r.size - j->offset > VREQ_CHUNK ?
	    VREQ_CHUNK : (size_t)(r.size - j->offset);
	if (want > 0 && (j->chunk = malloc(want)) == NULL)
		j->status = ENOMEM;
	else if (want > 0 && (n = pread(fd, j->chunk, want,
	    (off_t)j->offset)) < 0)
		j->status = (uint32_t)errno;
	else
		j->len = want > 0 ? (size_t)n : 0;
	close(fd);
}

static void
serve_answer(struct vreq *vr, const uint8_t member[NODE_ID_LEN],
    struct vserve *j)
{
	struct member *m;
	struct buf b;
	size_t i;
	int bad;

	if (vr->mb == NULL || (m = members_find(vr->mb, member)) == NULL)
		return;
	buf_init(&b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	bad = wire_begin(&b, WIRE_VERS) < 0 || wire_u32(&b, j->rid) < 0 ||
	    wire_u8(&b, j->op) < 0 || wire_u32(&b, j->status) < 0;
	if (!bad && j->status == 0 && j->op != OP_READ) {
		bad = wire_u32(&b, (uint32_t)j->n) < 0;
		for (i = 0; i < j->n && !bad; i++)
			bad = (j->paths != NULL &&
			    wire_str(&b, j->paths[i]) < 0) ||
			    wire_str(&b, j->rows[i].id) < 0 ||
			    wire_u8(&b, j->rows[i].kind) < 0 ||
			    wire_u64(&b, (uint64_t)j->rows[i].kept_ns) < 0 ||
			    wire_u64(&b, (uint64_t)j->rows[i].mtime_ns) < 0 ||
			    wire_u64(&b, j->rows[i].size) < 0 ||
			    wire_fixed(&b, j->rows[i].sha256, HASH_LEN) < 0 ||
			    wire_fixed(&b, j->rows[i].writer, NODE_ID_LEN) < 0 ||
			    wire_fixed(&b, j->rows[i].by, NODE_ID_LEN) < 0;
	} else if (!bad && j->status == 0)
		bad = wire_u64(&b, j->size) < 0 ||
		    wire_fixed(&b, j->sha, HASH_LEN) < 0 ||
		    wire_bytes(&b, j->chunk, (uint32_t)j->len) < 0;
	if (!bad && wire_end(&b) == 0)
		(void)members_send(m, &b);
	buf_release(&b);
}

static void
serve_free_job(struct vserve *j)
{
	size_t i;

	for (i = 0; j->paths != NULL && i < j->n; i++)
		free(j->paths[i]);
	free(j->paths);
	free(j->rows);
	free(j->chunk);
	free(j);
}

static void
serve_done(void *arg)
{
	struct vserve *j = arg;

	j->vr->serving--;
	serve_answer(j->vr, j->member, j);
	serve_free_job(j);
}

static void
on_request(struct vreq *vr, struct member *m, const uint8_t *p, uint32_t len)
{
	struct wire_rd rd;
	struct vserve *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->vr = vr;
	j->store = vr->o.store;
	memcpy(j->member, m->id, NODE_ID_LEN);
	wire_rd_init(&rd, p, len);
	j->rid = wire_get_u32(&rd);
	j->op = wire_get_u8(&rd);
	(void)wire_get_str(&rd, j->path, PATH_LEN_MAX);
	(void)wire_get_str(&rd, j->id, VERS_ID_MAX);
	j->offset = wire_get_u64(&rd);
	/* SECURITY: a path from a peer is normalised and confined like
	 * any other; a bad one is answered "invalid". */
	if (wire_rd_done(&rd) < 0 || j->op > OP_TRASH) {
		log_warnx("member %.8s: bad VERS_REQ", m->id_hex);
		serve_free_job(j);
		return;
	}
	if ((!path_valid(j->path) && !(j->op == OP_TRASH && !j->path[0])) ||
	    path_is_private(j->path))
		j->status = EINVAL;
	else if (vr->serving >= VREQ_SERVE_MAX)
		j->status = EBUSY;
	else if (work_submit(vr->o.pool, serve_run, serve_done, j) == 0) {
		vr->serving++;
		return;
	} else
		j->status = EBUSY;
	serve_answer(vr, j->member, j);
	serve_free_job(j);
}

void
vreq_frame(struct vreq *vr, struct member *m, const struct wire_hdr *h,
    const uint8_t *p)
{
	if (h->type == WIRE_VERS_REQ)
		on_request(vr, m, p, h->len);
	else if (h->type == WIRE_VERS)
		on_answer(vr, m, p, h->len);
}
