/*
 * serve: block requests from members, answered within a window each.
 *
 *   BLOCK_REQ --> waiting --(reading < window, output below its mark)-->
 *       reading (a pool job: pread, checked against the index) --> BLOCK
 *
 * Each member has a FIFO of waiting requests and a count of jobs reading
 * for it; only the loop touches either.  A job carries copies of the
 * request and the store, and a frame it fills; the loop sends it.  The
 * link a request came on is remembered: an answer for a link that has
 * gone since is dropped (the member asks its new link again).  Members
 * are never freed while the node runs, so a member's state here lives as
 * long as the module.
 *
 * Bound: per member, reading <= window, and waiting stays below window
 * plus one, since the link is not read once reading + waiting reaches
 * twice the window; link.c bounds the answers queued to be sent.
 */
#include "cluster/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/members.h"
#include "cluster/wire.h"
#include "store/index.h"
#include "store/path.h"
#include "store/store.h"

struct serve_req {
	TAILQ_ENTRY(serve_req) entry;
	struct link *link; /* it came on */
	uint32_t id;
	uint32_t idx;
	uint8_t sha[HASH_LEN];
};

TAILQ_HEAD(serve_reqs, serve_req);

struct serve_peer {
	TAILQ_ENTRY(serve_peer) entry;
	struct serve *sv;
	struct member *m;
	struct serve_reqs waiting;
	unsigned nwaiting;
	unsigned reading;
	bool throttled; /* its link is paused */
};

struct serve {
	struct serve_opts o;
	TAILQ_HEAD(, serve_peer) peers;
	uint64_t served;
	uint64_t throttles;
	uint64_t rot;
};

/* A job: copies in, a frame out.  peer and link are only compared and
 * used by done, on the loop. */
struct serve_job {
	struct serve_peer *peer;
	struct link *link;
	struct store *store;
	uint32_t id;
	uint32_t idx;
	uint8_t sha[HASH_LEN];
	struct buf frame;
	/* Out: the block read did not match its hash, and path was set
	 * aside. */
	bool rot;
	char path[PATH_LEN_MAX + 1];
};

struct serve *
serve_new(const struct serve_opts *o)
{
	struct serve *sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return (NULL);
	sv->o = *o;
	if (sv->o.window == 0)
		sv->o.window = 1;
	TAILQ_INIT(&sv->peers);
	return (sv);
}

static void
drop_waiting(struct serve_peer *p)
{
	struct serve_req *r;

	while ((r = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, r, entry);
		free(r);
	}
	p->nwaiting = 0;
}

void
serve_free(struct serve *sv)
{
	struct serve_peer *p;

	if (sv == NULL)
		return;
	while ((p = TAILQ_FIRST(&sv->peers)) != NULL) {
		TAILQ_REMOVE(&sv->peers, p, entry);
		drop_waiting(p);
		free(p);
	}
	free(sv);
}

static struct serve_peer *
peer_of(struct serve *sv, struct member *m, bool create)
{
	struct serve_peer *p;

	TAILQ_FOREACH(p, &sv->peers, entry)
	if (p->m == m)
		return (p);
	if (!create || (p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->sv = sv;
	p->m = m;
	TAILQ_INIT(&p->waiting);
	TAILQ_INSERT_TAIL(&sv->peers, p, entry);
	return (p);
}

/*
 * The bytes read for block idx of path (content sha) against the block's
 * hash in the index; a file whose bytes no longer match while its inode,
 * size and mtime are those of its row has rotted: it is set aside, and
 * the block is refused.  One SHA-256 of a block is cheap beside sending
 * it.
 */
static bool
block_good(struct serve_job *j, const char *path, int fd,
	   const struct file_meta *m, const uint8_t *data, size_t len)
{
	uint8_t want[HASH_LEN], got[HASH_LEN];
	unsigned int glen = 0;
	struct stat st;

	if (index_block_hash(j->store->index, path, j->sha, j->idx, want) < 0)
		return (false);
	if (EVP_Digest(data, len, got, &glen, EVP_sha256(), NULL) != 1 ||
	    glen != HASH_LEN)
		return (false);
	if (memcmp(want, got, HASH_LEN) == 0)
		return (true);
	if (fstat(fd, &st) == 0 && store_meta_matches(m, &st) &&
	    store_set_aside_rotten(j->store, path, m, &st) == 0) {
		j->rot = true;
		(void)str_copy(j->path, sizeof(j->path), path);
	}
	return (false);
}

/* Pool thread: reads the block, if the file is still what the index says
 * (store_meta hashes it again if it changed) and the block still has its
 * hash: a holder never knowingly sends stale or rotten bytes. */
static void
read_run(void *arg)
{
	struct serve_job *j = arg;
	char path[PATH_LEN_MAX + 1];
	struct file_meta m;
	uint8_t status = 1, *dst;
	ssize_t n = 0;
	size_t at;
	int fd;

	if (wire_begin(&j->frame, WIRE_BLOCK) < 0 ||
	    wire_u32(&j->frame, j->id) < 0)
		return;
	at = j->frame.len;
	if ((dst = buf_extend(&j->frame, 5 + HASH_BLOCK_SIZE)) == NULL)
		return;
	if (index_find_content(j->store->index, j->sha, false, path,
	    sizeof(path)) == 0 &&
	    store_meta(j->store, path, &m) == 0 &&
	    memcmp(m.sha256, j->sha, HASH_LEN) == 0 &&
	    (fd = store_openat(j->store, path, O_RDONLY, 0)) >= 0) {
		n = pread(fd, dst + 5, HASH_BLOCK_SIZE,
			  (off_t)j->idx * HASH_BLOCK_SIZE);
		status =
		    n >= 0 && block_good(j, path, fd, &m, dst + 5, (size_t)n)
			? 0
			: 1;
		close(fd);
	}
	if (status != 0)
		n = 0;
	dst[0] = status;
	dst[1] = (uint8_t)((uint32_t)n >> 24);
	dst[2] = (uint8_t)((uint32_t)n >> 16);
	dst[3] = (uint8_t)((uint32_t)n >> 8);
	dst[4] = (uint8_t)n;
	buf_truncate(&j->frame, at + 5 + (size_t)n);
	if (wire_end(&j->frame) < 0)
		buf_reset(&j->frame);
}

static void pump(struct serve_peer *);

static void
read_done(void *arg)
{
	struct serve_job *j = arg;
	struct serve_peer *p = j->peer;

	p->reading--;
	if (j->rot) {
		p->sv->rot++;
		if (p->sv->o.rot != NULL)
			p->sv->o.rot(p->sv->o.rot_arg, j->path, j->sha);
	}
	if (j->frame.len >= WIRE_HDR_LEN && p->m->link == j->link &&
	    members_send(p->m, &j->frame) == 0) {
		p->sv->served++;
		/* The block's bytes: past the header, id, status and length. */
		members_note_sent(p->m, j->sha,
				  j->frame.len > WIRE_HDR_LEN + 9
				      ? j->frame.len - WIRE_HDR_LEN - 9
				      : 0);
	}
	buf_release(&j->frame);
	free(j);
	pump(p);
}

static int
start(struct serve_peer *p, const struct serve_req *r)
{
	struct serve_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (-ENOMEM);
	j->peer = p;
	j->link = r->link;
	j->store = p->sv->o.store;
	j->id = r->id;
	j->idx = r->idx;
	memcpy(j->sha, r->sha, HASH_LEN);
	buf_init(&j->frame, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (work_submit(p->sv->o.pool, read_run, read_done, j) < 0) {
		free(j);
		return (-ENOMEM);
	}
	p->reading++;
	return (0);
}

/* Starts what the window and the link's output allow; reads the link
 * again once the member is back under twice the window. */
static void
pump(struct serve_peer *p)
{
	unsigned window = p->sv->o.window;
	struct link *l = p->m->link;
	struct serve_req *r;

	while (p->reading < window && (r = TAILQ_FIRST(&p->waiting)) != NULL) {
		if (r->link == l && l != NULL && link_out_full(l))
			break;
		TAILQ_REMOVE(&p->waiting, r, entry);
		p->nwaiting--;
		/* A request of a link gone is not answered; one that finds
		 * no memory is left to time out, as a lost one would. */
		if (r->link == l && l != NULL && start(p, r) < 0)
			log_warnx("member %.8s: block request dropped: out of "
				  "memory",
				  p->m->id_hex);
		free(r);
	}
	if (p->throttled && p->reading + p->nwaiting < 2 * window) {
		p->throttled = false;
		if (l != NULL)
			link_pause(l, false);
	}
}

void
serve_block_req(struct serve *sv, struct member *m, const uint8_t *payload,
		uint32_t len)
{
	struct serve_peer *p;
	struct serve_req *r;
	struct wire_rd rd;
	const uint8_t *sha;

	if ((p = peer_of(sv, m, true)) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return;
	wire_rd_init(&rd, payload, len);
	r->id = wire_get_u32(&rd);
	sha = wire_get_fixed(&rd, HASH_LEN);
	r->idx = wire_get_u32(&rd);
	if (wire_rd_done(&rd) < 0 || r->idx >= HASH_BLOCKS_MAX) {
		log_warnx("member %.8s: bad BLOCK_REQ", m->id_hex);
		free(r);
		return;
	}
	memcpy(r->sha, sha, HASH_LEN);
	r->link = m->link;
	TAILQ_INSERT_TAIL(&p->waiting, r, entry);
	p->nwaiting++;
	pump(p);
	if (!p->throttled && m->link != NULL &&
	    p->reading + p->nwaiting >= 2 * sv->o.window) {
		/* More than a pull's window unanswered: it is not reading,
		 * or not playing by the window.  Hear it again later. */
		p->throttled = true;
		sv->throttles++;
		log_debug("member %.8s: %u block requests unanswered; not "
			  "read until some are",
			  m->id_hex, p->reading + p->nwaiting);
		link_pause(m->link, true);
	}
}

void
serve_member_down(struct serve *sv, struct member *m)
{
	struct serve_peer *p;

	if (sv == NULL || (p = peer_of(sv, m, false)) == NULL)
		return;
	drop_waiting(p);
	p->throttled = false;
}

void
serve_drained(struct serve *sv, struct member *m)
{
	struct serve_peer *p;

	if (sv != NULL && (p = peer_of(sv, m, false)) != NULL)
		pump(p);
}

void
serve_get_stats(const struct serve *sv, struct serve_stats *st)
{
	const struct serve_peer *p;

	memset(st, 0, sizeof(*st));
	if (sv == NULL)
		return;
	st->window = sv->o.window;
	st->served = sv->served;
	st->rot = sv->rot;
	st->throttles = sv->throttles;
	TAILQ_FOREACH(p, &sv->peers, entry)
	{
		st->reading += p->reading;
		st->waiting += p->nwaiting;
		st->throttled += p->throttled ? 1 : 0;
	}
}
