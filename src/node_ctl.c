/*
 * node_ctl: what the front ends ask of the running node.  The HTTP
 * control API (status, peers, add, bye, send, holders, await, locks and
 * tracker queries, the catalog, pins, metrics), FTP's hooks (network size,
 * write quorum, write locks) and reads of files held elsewhere.  Each
 * answer is made on the event loop from the node's parts; what reads the
 * index (status, pins) runs as a pool job whose result comes back to the
 * loop.  The node's lifecycle is in node.c.
 */
#include "node_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cluster/members.h"
#include "cluster/scrub.h"
#include "cluster/serve.h"
#include "cluster/sync.h"
#include "cluster/vreq.h"
#include "cluster/tclient.h"
#include "front/dav/dav.h"
#include "front/ftp/ftp.h"
#include "front/http/http.h"

/* NETS and status: this node and the live members. */
unsigned
node_network_size(void *arg)
{
	struct node *n = arg;

	return (1 + (n->members ? members_alive(n->members) : 0));
}

/* FTP's write quorum: K members hold the upload, or an error. */
int
node_wait_copies(void *arg, const char *path, const uint8_t sha[HASH_LEN],
    void (*done)(void *, int), void *cbarg)
{
	struct node *n = arg;

	return (sync_wait(n->sync, path, sha, n->cfg->sync_writes,
	    n->cfg->sync_write_timeout_ms, done, cbarg));
}

/* HTTP's write quorum, telling how many members confirmed. */
static int
ctl_wait_copies(void *arg, const char *path, const uint8_t sha[HASH_LEN],
    void (*done)(void *, int, unsigned), void *cbarg)
{
	struct node *n = arg;

	return (sync_wait_count(n->sync, path, sha, n->cfg->sync_writes,
	    n->cfg->sync_write_timeout_ms, done, cbarg));
}

/* Versions on the other members */

static int
ctl_vers_list(void *arg, const char *path,
    void (*done)(void *, struct vreq_rows *), void *req)
{
	struct node *n = arg;

	return (vreq_list(n->vreq, path, done, req));
}

static int
ctl_vers_trash(void *arg, const char *prefix,
    void (*done)(void *, struct vreq_rows *), void *req)
{
	struct node *n = arg;

	return (vreq_trash(n->vreq, prefix, done, req));
}

static int
ctl_vers_fetch(void *arg, const char *path, const char *id,
    void (*done)(void *, int, struct buf *, const uint8_t *, const char *),
    void *req)
{
	struct node *n = arg;

	return (vreq_fetch(n->vreq, path, id, done, req));
}

/* Control API */

/* status_run reads index and the folder's free space (root_fd) alone; n
 * is for status_done, on the loop. */
struct status_job {
	struct node	*n;
	struct index	*index;
	void		(*done)(void *, json_t *);
	void		*req;
	int64_t		 files;
	int		 root_fd;	/* the folder, for its free space */
	uint64_t	 free_bytes;
	bool		 free_known;
	uint64_t	 seq;
	uint8_t		 digest[HASH_LEN];
	struct store	*store;		/* thread-safe: for vers_stats */
	struct vers_stats vers;
	bool		 vers_known;
};

static void
status_run(void *arg)
{
	struct status_job *j = arg;
	struct statvfs sv;

	/* Measured now, not as of the last tick: a filling disk shows. */
	if (fstatvfs(j->root_fd, &sv) == 0) {
		j->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
		j->free_known = true;
	}
	j->files = index_count(j->index);
	j->seq = index_seq(j->index);
	index_digest(j->index, j->digest);
	j->vers_known = vers_stats(j->store, &j->vers) == 0;
}

static void
add_path(const char *path, void *arg)
{
	json_array_append_new(arg, json_string(path));
}

/* What is left of a catch-up or repair in progress; null when none. */
static json_t *
progress_json(const struct pull_progress *g)
{
	json_t *o;

	if (!g->active)
		return (json_null());
	o = json_pack("{s:I, s:I, s:I, s:I, s:f, s:f}",
	    "files_to_go", (json_int_t)g->files_to_go,
	    "bytes_to_go", (json_int_t)g->bytes_to_go,
	    "files_total", (json_int_t)g->files_total,
	    "bytes_total", (json_int_t)g->bytes_total,
	    "elapsed_s", (double)g->elapsed_ms / 1000.0,
	    "rate_bytes_s", g->rate);
	if (o != NULL)
		json_object_set_new(o, "join", json_boolean(g->join));
	if (o != NULL)
		json_object_set_new(o, "eta_s", g->rate > 0 ?
		    json_real((double)g->bytes_to_go / g->rate) :
		    json_null());
	return (o ? o : json_null());
}

static json_t *
scrub_json(struct node *n)
{
	struct scrub_stats c;

	scrub_get_stats(n->scrub, &c);
	return (json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I}",
	    "running", c.running, "pass", (json_int_t)c.pass,
	    "passes_done", (json_int_t)c.passes_done,
	    "pass_files", (json_int_t)c.pass_files,
	    "pass_bytes", (json_int_t)c.pass_bytes,
	    "scrub_files", (json_int_t)c.files,
	    "scrub_bytes", (json_int_t)c.bytes,
	    "rot_found", (json_int_t)c.rot_found,
	    "rot_repaired", (json_int_t)c.rot_repaired,
	    "last_done", (json_int_t)c.last_done,
	    "hours", (json_int_t)n->cfg->sync_scrub_hours,
	    "mib_s", (json_int_t)n->cfg->sync_scrub_mib_s));
}

static void
status_done(void *arg)
{
	struct status_job *j = arg;
	struct node *n = j->n;
	struct sync_stats st;
	char id[33], dg[HASH_HEX_LEN + 1];
	unsigned known = 0;
	struct member *m;
	json_t *s;

	if (j->free_known)
		node_set_space(n, j->free_bytes);
	sync_get_stats(n->sync, &st);
	member_id_hex(n->store.node_id, id);
	hash_hex(j->digest, dg);
	TAILQ_FOREACH(m, members_list(n->members), entry)
		if (m->state != MEMBER_LEFT)
			known++;
	s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s,"
	    " s:{s:i, s:i}, s:{s:i, s:i, s:f}, s:{s:i, s:i, s:i, s:I, s:I,"
	    " s:I, s:I, s:I}}",
	    "id", id, "folder", n->store.root,
	    "ftp", n->ftp ? ftp_server_addr(n->ftp) : "off",
	    "peer", members_listen_addr(n->members),
	    "http", http_server_addr(n->http),
	    "files", (json_int_t)j->files, "index_seq", (json_int_t)j->seq,
	    "digest", dg,
	    "members", "alive", (int)(1 + members_alive(n->members)),
	    "known", (int)(1 + known),
	    "consistency", "agree", (int)st.agree, "peers", (int)st.alive,
	    "threshold", n->cfg->sync_consistency_threshold,
	    "sync", "pulls_active", (int)st.pulls_active,
	    "pulls_queued", (int)st.pulls_queued,
	    "pulls_waiting", (int)st.pulls_waiting,
	    "files_fetched", (json_int_t)st.files_fetched,
	    "bytes_fetched", (json_int_t)st.bytes_fetched,
	    "bytes_reused", (json_int_t)st.bytes_reused,
	    "conflicts", (json_int_t)st.conflicts,
	    "bad_blocks", (json_int_t)st.bad_blocks);
	if (s != NULL) {
		json_t *ua = json_array();

		sync_unavailable(n->sync, 100, add_path, ua);
		json_object_set_new(s, "replicas", json_integer(
		    n->replicas == REPLICAS_UNKNOWN ? 0 : n->replicas));
		json_object_set_new(s, "held_files",
		    json_integer((json_int_t)st.held));
		json_object_set_new(s, "under_replicated",
		    json_integer((json_int_t)st.under));
		json_object_set_new(s, "repair_bytes",
		    json_integer((json_int_t)st.repair_bytes));
		json_object_set_new(s, "unavailable",
		    json_integer((json_int_t)st.unavailable));
		json_object_set_new(s, "unavailable_paths", ua);
		json_object_set_new(s, "disk_free_bytes",
		    json_integer((json_int_t)n->free_bytes));
		json_object_set_new(s, "disk_full", json_boolean(n->full));
		json_object_set_new(s, "space_short",
		    json_boolean(st.space_short));
		json_object_set_new(s, "space_missing_files",
		    json_integer((json_int_t)st.missing_files));
		json_object_set_new(s, "space_missing_bytes",
		    json_integer((json_int_t)st.missing_bytes));
		json_object_set_new(s, "progress", json_pack("{s:o, s:o}",
		    "catch_up", progress_json(&st.progress[PULL_WAVE_SYNC]),
		    "repair", progress_json(&st.progress[PULL_WAVE_REPAIR])));
		json_object_set_new(s, "scrub", scrub_json(n));
		if (j->vers_known)
			n->vers_stats = j->vers;
		json_object_set_new(s, "versions",
		    node_vers_json(&n->vers_stats));
	}
	if (s != NULL && n->tracker != NULL)
		json_object_set_new(s, "tracker", json_pack("{s:s, s:b}",
		    "address", tclient_addr(n->tracker), "registered",
		    tclient_up(n->tracker)));
	j->done(j->req, s);
	free(j);
}

static json_t *
ctl_scrub(void *arg)
{
	struct node *n = arg;

	return (json_pack("{s:I}", "pass", (json_int_t)scrub_start(n->scrub)));
}

static void
ctl_status(void *arg, void (*done)(void *, json_t *), void *req)
{
	struct status_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(req, json_pack("{s:s}", "error", "out of memory"));
		return;
	}
	j->n = arg;
	j->index = j->n->store.index;
	j->root_fd = j->n->store.root_fd;
	j->store = &j->n->store;
	j->done = done;
	j->req = req;
	if (work_submit(j->n->pool, status_run, status_done, j) < 0) {
		free(j);
		done(req, json_pack("{s:s}", "error", "busy"));
	}
}

/* Why a member that is not alive is not: "never reached", "refused:
 * wrong key?" (a handshake refused), "left", or "" (it was reached). */
static const char *const dial_names[] = { "trying", "nothing listening",
	"refused", "linked" };

static const char *
peer_reason(const struct member *m)
{
	if (m->state == MEMBER_LEFT)
		return ("left");
	if (m->reach == MEMBER_REACH_REFUSED || !m->reached)
		return (members_reach_name(m->reach));
	return ("");
}

static json_t *
ctl_peers(void *arg)
{
	struct node *n = arg;
	struct member *ranked[256], *m;
	json_t *a = json_array();
	uint64_t now = clock_mono_ms();
	unsigned nr, i;

	nr = members_ranked(n->members, ranked, 256);
	/* Live members in priority order first, then the others. */
	for (i = 0; i < nr; i++) {
		m = ranked[i];
		json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s,"
		    " s:f, s:f, s:i, s:f, s:f}", "rank", (int)i + 1,
		    "id", m->id_hex, "address", m->addr, "state",
		    members_state_name(m->state), "last_heard_s",
		    (double)(now - m->last_heard) / 1000.0, "rtt_ms",
		    m->rtt_ms, "failures", (int)m->failures, "weight",
		    m->weight, "score", members_score(m)));
		json_object_set_new(json_array_get(a, json_array_size(a) - 1),
		    "reason", json_string(""));
		json_object_set_new(json_array_get(a, json_array_size(a) - 1),
		    "dial", json_string("linked"));
	}
	TAILQ_FOREACH(m, members_list(n->members), entry) {
		for (i = 0; i < nr; i++)
			if (ranked[i] == m)
				break;
		if (i < nr)
			continue;
		json_array_append_new(a, json_pack("{s:n, s:s, s:s, s:s,"
		    " s:o, s:o, s:i, s:f, s:n, s:s}", "rank", "id",
		    m->id_known ? m->id_hex : "", "address", m->addr,
		    "state", members_state_name(m->state), "last_heard_s",
		    m->last_heard ? json_real((double)(now - m->last_heard) /
		    1000.0) : json_null(), "rtt_ms",
		    m->reached ? json_real(m->rtt_ms) :
		    json_null(), "failures", (int)m->failures, "weight",
		    m->weight, "score", "reason", peer_reason(m)));
		json_object_set_new(json_array_get(a, json_array_size(a) - 1),
		    "dial", json_string(dial_names[m->reach]));
	}
	return (a);
}

static int
ctl_add(void *arg, const char *addr, char *err, size_t errlen)
{
	struct node *n = arg;

	log_info("adding member %s", addr);
	return (members_add(n->members, addr, true, err, errlen));
}

static void
bye_done(void *arg)
{
	struct node *n = arg;

	log_info("left the cluster");
	event_base_loopexit(n->base, NULL);
}

static void
ctl_bye(void *arg)
{
	struct node *n = arg;

	log_info("leaving the cluster");
	members_bye(n->members, bye_done, n);
}

int
node_write_check(void *arg, const char *path, const char *user, uint64_t token,
    char *why, size_t whylen)
{
	struct node *n = arg;
	int rc;

	if ((rc = node_cluster_write_check(arg, path, user, token, why,
	    whylen)) != 0)
		return (rc);
	/* A WebDAV client's lock holds back the writers that cannot name
	 * its token: every other front end. */
	return (dav_server_write_check(n->dav, path, why, whylen));
}

int
node_cluster_write_check(void *arg, const char *path, const char *user,
    uint64_t token, char *why, size_t whylen)
{
	struct node *n = arg;

	return (locks_check(tclient_locks(n->tracker), path,
	    n->store.node_id, user, token, why, whylen));
}

static int
ctl_lock(void *arg, enum twire_lock_op op, const char *path,
    const char *owner, uint32_t ttl_s, void (*done)(void *, int,
    const char *, const struct twire_lock *), void *req)
{
	struct node *n = arg;

	if (n->tracker == NULL)
		return (-ENOSYS);
	return (tclient_lock(n->tracker, op, path, owner, ttl_s, done, req));
}

static int
ctl_tracker_query(void *arg, enum twire_query_kind kind, const char *path,
    const char *after, uint32_t limit, void (*done)(void *, int,
    const char *, size_t), void *req)
{
	struct node *n = arg;

	if (n->tracker == NULL)
		return (-ENOSYS);
	return (tclient_query(n->tracker, kind, path, after, limit, done,
	    req));
}

static json_t *
ctl_locks(void *arg)
{
	struct node *n = arg;

	/* NULL: no tracker, so no locks at all. */
	return (n->tracker ? locks_json(tclient_locks(n->tracker)) : NULL);
}

static int
ctl_await(void *arg, const char *path, void (*done)(void *, int),
    void *cbarg)
{
	struct node *n = arg;

	return (sync_await_fetch(n->sync, path, 60000, done, cbarg));
}

static int
ctl_send(void *arg, const char *path)
{
	struct node *n = arg;

	return (sync_offer(n->sync, path));
}

static void
add_live_holder(const char *id, bool alive, void *arg)
{
	if (alive)
		json_array_append_new(arg, json_string(id));
}

/* The live nodes that hold path's current version, as this node knows. */
static json_t *
ctl_holders(void *arg, const char *path)
{
	struct node *n = arg;
	json_t *a = json_array();

	(void)sync_holders(n->sync, path, add_live_holder, a);
	return (a);
}

/* ls --all without a tracker: this node's catalog. */
struct page_ctx {
	struct node	*n;
	json_t		*files;
	char		 last[PATH_LEN_MAX + 1];
};

static void
page_file(const char *path, uint64_t size, const uint8_t sha[HASH_LEN],
    const char *version, void *arg)
{
	struct page_ctx *p = arg;
	char hex[HASH_HEX_LEN + 1];
	json_t *e;

	hash_hex(sha, hex);
	e = json_pack("{s:s, s:I, s:s, s:s, s:o}", "path", path, "size",
	    (json_int_t)size, "sha256", hex, "version", version, "holders",
	    ctl_holders(p->n, path));
	json_array_append_new(p->files, e);
	(void)str_copy(p->last, sizeof(p->last), path);
}

static json_t *
ctl_catalog(void *arg, const char *prefix, const char *after, unsigned limit)
{
	struct page_ctx p = { arg, json_array(), "" };
	int more;

	more = sync_catalog_page(p.n->sync, prefix, after, limit ? limit :
	    5000, page_file, &p);
	return (json_pack("{s:o, s:o, s:i}", "files", p.files, "next", more ?
	    json_string(p.last) : json_null(), "not_utf8", 0));
}

/* Pins */

/* pin_run reads index and path alone; n is for pin_done, on the loop. */
struct pin_job {
	struct node	*n;
	struct index	*index;
	char		 path[PATH_LEN_MAX + 1];
	bool		 pin;
	int		 rc;
	void		(*done)(void *, int);
	void		*req;
};

static void
pin_run(void *arg)
{
	struct pin_job *j = arg;

	j->rc = index_pin(j->index, j->path, j->pin);
}

static void
pin_done(void *arg)
{
	struct pin_job *j = arg;

	if (j->rc == 0) {
		(void)sync_pin(j->n->sync, j->path, j->pin);
		log_info("%s /%s", j->pin ? "pinned" : "unpinned", j->path);
	}
	j->done(j->req, j->rc);
	free(j);
}

static int
ctl_pin(void *arg, const char *path, bool pin, void (*done)(void *, int),
    void *req)
{
	struct pin_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (-ENOMEM);
	j->n = arg;
	j->index = j->n->store.index;
	j->pin = pin;
	j->done = done;
	j->req = req;
	if (str_copy(j->path, sizeof(j->path), path) < 0 ||
	    work_submit(j->n->pool, pin_run, pin_done, j) < 0) {
		free(j);
		return (-ENOMEM);
	}
	return (0);
}

static json_t *
ctl_pins(void *arg)
{
	struct node *n = arg;
	json_t *a = json_array();

	sync_pins(n->sync, add_path, a);
	return (json_pack("{s:o}", "pins", a));
}

/* Reading files held elsewhere (front/remote.h over sync) */

static int
remote_open(void *arg, const char *path, void (*ready)(void *),
    void (*failed)(void *, const char *), void *cbarg, void **handle,
    char *why, size_t whylen)
{
	struct node *n = arg;
	struct sync_reader *r;
	int rc;

	rc = sync_read_open(n->sync, path, ready, failed, cbarg, &r, why,
	    whylen);
	*handle = r;
	return (rc);
}

static int
remote_avail(void *handle, uint64_t *avail, uint64_t *size)
{
	return (sync_reader_avail(handle, avail, size));
}

static void
remote_close(void *handle)
{
	sync_read_close(handle);
}

/* The limits that keep queues bounded, and how full they are. */
static void
bounds_metrics(struct node *n, struct buf *b)
{
	struct work_stats ws;
	struct serve_stats vs;

	work_get_stats(n->pool, &ws);
	serve_get_stats(n->serve, &vs);
	if (buf_printf(b,
	    "# HELP shoal_work_queue_max Jobs that may wait for a worker "
	    "before client work is refused (work.queue_max).\n"
	    "# TYPE shoal_work_queue_max gauge\n"
	    "shoal_work_queue_max %u\n"
	    "# HELP shoal_work_queued Jobs waiting for a worker.\n"
	    "# TYPE shoal_work_queued gauge\n"
	    "shoal_work_queued %u\n"
	    "# HELP shoal_work_running Jobs a worker is running.\n"
	    "# TYPE shoal_work_running gauge\n"
	    "shoal_work_running %u\n"
	    "# HELP shoal_work_refused_total Client jobs refused as busy.\n"
	    "# TYPE shoal_work_refused_total counter\n"
	    "shoal_work_refused_total %llu\n"
	    "# HELP shoal_serve_window Block requests of a member read at "
	    "once (peer.serve_window).\n"
	    "# TYPE shoal_serve_window gauge\n"
	    "shoal_serve_window %u\n"
	    "# HELP shoal_serve_waiting Block requests waiting for a window.\n"
	    "# TYPE shoal_serve_waiting gauge\n"
	    "shoal_serve_waiting %u\n"
	    "# HELP shoal_serve_throttled Members not read: too many block "
	    "requests unanswered.\n"
	    "# TYPE shoal_serve_throttled gauge\n"
	    "shoal_serve_throttled %u\n"
	    "# HELP shoal_serve_throttles_total Times a member was "
	    "throttled.\n"
	    "# TYPE shoal_serve_throttles_total counter\n"
	    "shoal_serve_throttles_total %llu\n"
	    "# HELP shoal_peer_out_high_bytes A link's output above which it "
	    "is not read (peer.out_high_kib).\n"
	    "# TYPE shoal_peer_out_high_bytes gauge\n"
	    "shoal_peer_out_high_bytes %llu\n"
	    "# HELP shoal_peer_links_full Links above that mark.\n"
	    "# TYPE shoal_peer_links_full gauge\n"
	    "shoal_peer_links_full %u\n",
	    ws.queue_max, ws.queued, ws.running, ws.refused, vs.window,
	    vs.waiting, vs.throttled, (unsigned long long)vs.throttles,
	    (unsigned long long)n->cfg->peer_out_high_kib * 1024,
	    members_links_full(n->members)) < 0)
		log_warnx("metrics: out of room");
}

static void
ctl_metrics(void *arg, struct buf *b)
{
	struct node *n = arg;
	struct sync_stats st;
	struct scrub_stats sc;
	uint64_t fin = 0, fout = 0, pin, pout;
	unsigned sessions = 0;

	bounds_metrics(n, b);
	node_vers_metrics(n, b);
	sync_get_stats(n->sync, &st);
	scrub_get_stats(n->scrub, &sc);
	members_counters(n->members, &pin, &pout);
	if (n->ftp)
		ftp_server_counters(n->ftp, &sessions, &fin, &fout);
	if (buf_printf(b,
	    "# HELP shoal_ftp_sessions Open FTP sessions.\n"
	    "# TYPE shoal_ftp_sessions gauge\n"
	    "shoal_ftp_sessions %u\n"
	    "shoal_bytes_in_total{front=\"ftp\"} %llu\n"
	    "shoal_bytes_out_total{front=\"ftp\"} %llu\n"
	    "shoal_bytes_in_total{front=\"peer\"} %llu\n"
	    "shoal_bytes_out_total{front=\"peer\"} %llu\n"
	    "# HELP shoal_members_alive Live members, this node included.\n"
	    "# TYPE shoal_members_alive gauge\n"
	    "shoal_members_alive %u\n"
	    "# HELP shoal_sync_lag_files Files waiting to be fetched.\n"
	    "# TYPE shoal_sync_lag_files gauge\n"
	    "shoal_sync_lag_files %u\n"
	    "# HELP shoal_sync_conflicts_total Concurrent versions resolved.\n"
	    "# TYPE shoal_sync_conflicts_total counter\n"
	    "shoal_sync_conflicts_total %llu\n"
	    "# HELP shoal_sync_bad_blocks_total Blocks that failed their hash.\n"
	    "# TYPE shoal_sync_bad_blocks_total counter\n"
	    "shoal_sync_bad_blocks_total %llu\n"
	    "# HELP shoal_sync_files_fetched_total Files fetched from peers.\n"
	    "# TYPE shoal_sync_files_fetched_total counter\n"
	    "shoal_sync_files_fetched_total %llu\n"
	    "# HELP shoal_files_held Files with a copy on this node.\n"
	    "# TYPE shoal_files_held gauge\n"
	    "shoal_files_held %llu\n"
	    "# HELP shoal_files_under_replicated Files with fewer live copies "
	    "than the cluster keeps.\n"
	    "# TYPE shoal_files_under_replicated gauge\n"
	    "shoal_files_under_replicated %llu\n"
	    "# HELP shoal_repair_bytes_waiting Bytes of the copies missing.\n"
	    "# TYPE shoal_repair_bytes_waiting gauge\n"
	    "shoal_repair_bytes_waiting %llu\n"
	    "# HELP shoal_files_unavailable Files with no live copy.\n"
	    "# TYPE shoal_files_unavailable gauge\n"
	    "shoal_files_unavailable %llu\n"
	    "# HELP shoal_disk_free_bytes Free space under the folder.\n"
	    "# TYPE shoal_disk_free_bytes gauge\n"
	    "shoal_disk_free_bytes %llu\n"
	    "# HELP shoal_disk_full 1 when free space is below the floor.\n"
	    "# TYPE shoal_disk_full gauge\n"
	    "shoal_disk_full %d\n"
	    "# HELP shoal_files_missing_space Files with no copy here for "
	    "lack of room (replicas = all).\n"
	    "# TYPE shoal_files_missing_space gauge\n"
	    "shoal_files_missing_space %llu\n"
	    "# HELP shoal_bytes_missing_space Bytes those files need.\n"
	    "# TYPE shoal_bytes_missing_space gauge\n"
	    "shoal_bytes_missing_space %llu\n"
	    "# HELP shoal_scrub_files_total Files hashed again by the scrub.\n"
	    "# TYPE shoal_scrub_files_total counter\n"
	    "shoal_scrub_files_total %llu\n"
	    "# HELP shoal_scrub_bytes_total Bytes hashed again by the scrub.\n"
	    "# TYPE shoal_scrub_bytes_total counter\n"
	    "shoal_scrub_bytes_total %llu\n"
	    "# HELP shoal_scrub_running 1 while a scrub pass runs.\n"
	    "# TYPE shoal_scrub_running gauge\n"
	    "shoal_scrub_running %d\n"
	    "# HELP shoal_scrub_pass_files Files hashed in the running or last "
	    "pass.\n"
	    "# TYPE shoal_scrub_pass_files gauge\n"
	    "shoal_scrub_pass_files %llu\n"
	    "# HELP shoal_scrub_passes_total Scrub passes finished.\n"
	    "# TYPE shoal_scrub_passes_total counter\n"
	    "shoal_scrub_passes_total %llu\n"
	    "# HELP shoal_rot_found_total Files found rotten (scrub or a "
	    "peer's block request).\n"
	    "# TYPE shoal_rot_found_total counter\n"
	    "shoal_rot_found_total %llu\n"
	    "# HELP shoal_rot_repaired_total Rotten files fetched again from "
	    "a peer.\n"
	    "# TYPE shoal_rot_repaired_total counter\n"
	    "shoal_rot_repaired_total %llu\n",
	    sessions, (unsigned long long)fin, (unsigned long long)fout,
	    (unsigned long long)pin, (unsigned long long)pout,
	    node_network_size(n),
	    st.pulls_active + st.pulls_queued + st.pulls_waiting,
	    (unsigned long long)st.conflicts,
	    (unsigned long long)st.bad_blocks,
	    (unsigned long long)st.files_fetched,
	    (unsigned long long)st.held, (unsigned long long)st.under,
	    (unsigned long long)st.repair_bytes,
	    (unsigned long long)st.unavailable,
	    (unsigned long long)n->free_bytes, n->full ? 1 : 0,
	    (unsigned long long)st.missing_files,
	    (unsigned long long)st.missing_bytes,
	    (unsigned long long)sc.files, (unsigned long long)sc.bytes,
	    sc.running ? 1 : 0, (unsigned long long)sc.pass_files,
	    (unsigned long long)sc.passes_done,
	    (unsigned long long)sc.rot_found,
	    (unsigned long long)sc.rot_repaired) < 0)
		log_warnx("metrics: out of room");
}

struct remote_reads
node_remote_reads(struct node *n)
{
	return ((struct remote_reads){ .open = remote_open,
	    .avail = remote_avail, .close = remote_close, .await = ctl_await,
	    .arg = n });
}

void
node_ctl_init(struct node *n, struct http_ctl *ctl)
{
	*ctl = (struct http_ctl){
		.status = ctl_status, .peers = ctl_peers,
		.add = ctl_add, .bye = ctl_bye, .send = ctl_send,
		.metrics = ctl_metrics, .holders = ctl_holders,
		.vers_list = ctl_vers_list, .vers_trash = ctl_vers_trash,
		.vers_fetch = ctl_vers_fetch,
		.await = ctl_await, .write_check = node_write_check,
		.lock = ctl_lock, .tracker_query = ctl_tracker_query,
		.locks = ctl_locks, .pin = ctl_pin, .pins = ctl_pins,
		.catalog = ctl_catalog, .remote = &n->remote,
		.wait_copies = n->cfg->sync_writes ? ctl_wait_copies : NULL,
		.sync_writes = n->cfg->sync_writes,
		.scrub = ctl_scrub,
		.arg = n,
	};
}
