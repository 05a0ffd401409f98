/*
 * node: start-up is bottom-up (store, pool, watcher, accounts, cluster,
 * front ends) and shutdown the reverse.  The pool is drained before the
 * modules its jobs use are freed.  This file also answers the control
 * API's questions, since only the node sees all the parts.
 */
#include "node.h"

#include <errno.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/work.h"
#include "cli/cli.h"
#include "cluster/members.h"
#include "cluster/sync.h"
#include "cluster/tclient.h"
#include "front/auth.h"
#include "front/ftp/ftp.h"
#include "front/guard.h"
#include "front/http/http.h"
#include "net/addr.h"
#include "store/store.h"
#include "store/watch.h"

struct node {
	const struct cfg	*cfg;
	struct event_base	*base;
	struct work_pool	*pool;
	struct store		 store;
	bool			 store_ok;
	struct watch		*watch;
	struct auth		*auth;
	struct guard		*guard;		/* failed logins, all fronts */
	struct members		*members;
	struct sync		*sync;
	struct tclient		*tracker;	/* or NULL */
	struct ftp_server	*ftp;
	struct http_server	*http;
	char			 priv[4200];
	uint8_t			 key[32];
	char			 token[128];
	unsigned		 replicas;	/* REPLICAS_ALL, N, UNKNOWN */
	struct event		*space_ev;
	uint64_t		 free_bytes;
	bool			 full;
	struct remote_reads	 remote;
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

/*
 * SECURITY: guest/guest is for trying shoal out on one machine only: no
 * front end may listen beyond loopback while it has its default password.
 */
static int
check_guest(const struct cfg *c, const char *users)
{
	const struct {
		const char	*what, *listen;
	} fronts[] = {
		{ "FTP", c->ftp_listen },
		{ "HTTP", c->http_listen },
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(fronts) / sizeof(fronts[0]); i++)
		if (auth_guest_check_listen(users, fronts[i].what,
		    fronts[i].listen, err, sizeof(err)) < 0) {
			log_errorx("%s", err);
			return (-EACCES);
		}
	return (0);
}

static int
read_line(const char *path, char *out, size_t size)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "re")) == NULL)
		return (-errno);
	if (fgets(out, (int)size, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return (n > 0 ? 0 : -EINVAL);
}

/* NETS and status: this node and the live members. */
static unsigned
network_size(void *arg)
{
	struct node *n = arg;

	return (1 + (n->members ? members_alive(n->members) : 0));
}

/* FTP's write quorum: K members hold the upload, or an error. */
static int
wait_copies(void *arg, const char *path, const uint8_t sha[HASH_LEN],
    void (*done)(void *, int), void *cbarg)
{
	struct node *n = arg;

	return (sync_wait(n->sync, path, sha, n->cfg->sync_writes,
	    n->cfg->sync_write_timeout_ms, done, cbarg));
}

/* Control API */

/* status_run reads index alone; n is for status_done, on the loop. */
struct status_job {
	struct node	*n;
	struct index	*index;
	void		(*done)(void *, json_t *);
	void		*req;
	int64_t		 files;
	uint64_t	 seq;
	uint8_t		 digest[HASH_LEN];
};

static void
status_run(void *arg)
{
	struct status_job *j = arg;

	j->files = index_count(j->index);
	j->seq = index_seq(j->index);
	index_digest(j->index, j->digest);
}

static void
add_path(const char *path, void *arg)
{
	json_array_append_new(arg, json_string(path));
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
	}
	if (s != NULL && n->tracker != NULL)
		json_object_set_new(s, "tracker", json_pack("{s:s, s:b}",
		    "address", tclient_addr(n->tracker), "registered",
		    tclient_up(n->tracker)));
	j->done(j->req, s);
	free(j);
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
	j->done = done;
	j->req = req;
	if (work_submit(j->n->pool, status_run, status_done, j) < 0) {
		free(j);
		done(req, json_pack("{s:s}", "error", "busy"));
	}
}

static json_t *
ctl_peers(void *arg)
{
	struct node *n = arg;
	struct member *ranked[256], *m;
	json_t *a = json_array();
	uint64_t now = clock_mono_ms();
	unsigned nr, i, rank;

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
	}
	rank = nr;
	TAILQ_FOREACH(m, members_list(n->members), entry) {
		for (i = 0; i < nr; i++)
			if (ranked[i] == m)
				break;
		if (i < nr)
			continue;
		rank++;
		json_array_append_new(a, json_pack("{s:n, s:s, s:s, s:s,"
		    " s:o, s:f, s:i, s:f, s:n}", "rank", "id",
		    m->id_known ? m->id_hex : "", "address", m->addr,
		    "state", members_state_name(m->state), "last_heard_s",
		    m->last_heard ? json_real((double)(now - m->last_heard) /
		    1000.0) : json_null(), "rtt_ms", m->rtt_ms, "failures",
		    (int)m->failures, "weight", m->weight, "score"));
	}
	(void)rank;
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

/* Write locks and the tracker */

static void
on_changed(void *arg)
{
	struct node *n = arg;

	tclient_changed(n->tracker);
}

static bool
allow_remote(void *arg, const char *path, const uint8_t writer[NODE_ID_LEN])
{
	struct node *n = arg;
	char why[512];

	if (locks_allow_remote(tclient_locks(n->tracker), path, writer, why,
	    sizeof(why)))
		return (true);
	log_info("a change to %s from another node waits: %s", path, why);
	return (false);
}

static int
write_check(void *arg, const char *path, const char *user, uint64_t token,
    char *why, size_t whylen)
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

/* Free space: a full node is skipped by placement. */
static void
on_space(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct statvfs sv;
	uint64_t floor = (uint64_t)n->cfg->store_min_free_mb << 20;

	(void)fd;
	(void)what;
	if (fstatvfs(n->store.root_fd, &sv) < 0)
		return;
	n->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	n->full = n->free_bytes < floor;
	sync_set_space(n->sync, n->free_bytes, n->full);
}

/* DIR/.shoal/replicas: the cluster's replication factor. */
static void
load_replicas(struct node *n)
{
	char path[4300], line[32];
	unsigned long v;
	char *end;

	n->replicas = REPLICAS_UNKNOWN;
	if (str_fmt(path, sizeof(path), "%s/replicas", n->priv) < 0 ||
	    read_line(path, line, sizeof(line)) < 0)
		return;
	if (strcmp(line, "all") == 0)
		n->replicas = REPLICAS_ALL;
	else if ((v = strtoul(line, &end, 10)) > 0 && *end == '\0' &&
	    v < REPLICAS_UNKNOWN)
		n->replicas = (unsigned)v;
	else
		log_warnx("%s: '%s' is not a number of copies or 'all'", path,
		    line);
}

static void
learn_replicas(void *arg, unsigned replicas)
{
	struct node *n = arg;
	char path[4300];
	FILE *f;

	n->replicas = replicas;
	log_info("the cluster keeps %s%u copies of each file", replicas ? "" :
	    "all (0): ", replicas);
	if (str_fmt(path, sizeof(path), "%s/replicas", n->priv) < 0 ||
	    (f = fopen(path, "w")) == NULL)
		return;
	if (replicas == REPLICAS_ALL)
		fputs("all\n", f);
	else
		fprintf(f, "%u\n", replicas);
	(void)fflush(f);
	(void)fsync(fileno(f));
	fclose(f);
}

static void
ctl_metrics(void *arg, struct buf *b)
{
	struct node *n = arg;
	struct sync_stats st;
	uint64_t fin = 0, fout = 0, pin, pout;
	unsigned sessions = 0;

	sync_get_stats(n->sync, &st);
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
	    "shoal_disk_full %d\n",
	    sessions, (unsigned long long)fin, (unsigned long long)fout,
	    (unsigned long long)pin, (unsigned long long)pout, network_size(n),
	    st.pulls_active + st.pulls_queued + st.pulls_waiting,
	    (unsigned long long)st.conflicts,
	    (unsigned long long)st.bad_blocks,
	    (unsigned long long)st.files_fetched,
	    (unsigned long long)st.held, (unsigned long long)st.under,
	    (unsigned long long)st.repair_bytes,
	    (unsigned long long)st.unavailable,
	    (unsigned long long)n->free_bytes, n->full ? 1 : 0) < 0)
		log_warnx("metrics: out of room");
}

/* DIR/.shoal/control: where the running node's HTTP endpoint is. */
static void
write_control(struct node *n)
{
	char path[4300];
	FILE *f;

	if (str_fmt(path, sizeof(path), "%s/control", n->priv) < 0 ||
	    (f = fopen(path, "w")) == NULL) {
		log_warn("cannot write %s/control", n->priv);
		return;
	}
	fprintf(f, "http %s\nscheme %s\npid %ld\n", http_server_addr(n->http),
	    http_server_scheme(n->http), (long)getpid());
	fclose(f);
}

static int
start_cluster(struct node *n, const char *dir, char *err, size_t errlen)
{
	char path[4300], hex[128];
	struct members_opts mo;
	struct sync_opts so;
	struct http_opts ho = {
		.base = n->base, .pool = n->pool, .store = &n->store,
		.auth = n->auth, .guard = n->guard, .cfg = n->cfg,
		.priv_dir = n->priv, .token = n->token,
		.ctl = {
			.status = ctl_status, .peers = ctl_peers,
			.add = ctl_add, .bye = ctl_bye, .send = ctl_send,
			.metrics = ctl_metrics, .holders = ctl_holders,
			.await = ctl_await, .write_check = write_check,
			.lock = ctl_lock, .tracker_query = ctl_tracker_query,
			.locks = ctl_locks, .pin = ctl_pin, .pins = ctl_pins,
			.catalog = ctl_catalog, .remote = &n->remote,
			.arg = n,
		},
	};

	if (str_fmt(path, sizeof(path), "%s/cluster_key", n->priv) < 0 ||
	    read_line(path, hex, sizeof(hex)) < 0 ||
	    cli_parse_key(hex, n->key) < 0) {
		(void)str_fmt(err, errlen, "%s: missing or damaged cluster key",
		    path);
		return (-EINVAL);
	}
	if (str_fmt(path, sizeof(path), "%s/api_token", n->priv) < 0 ||
	    read_line(path, n->token, sizeof(n->token)) < 0) {
		(void)str_fmt(err, errlen, "%s: missing API token", path);
		return (-EINVAL);
	}
	load_replicas(n);
	memset(&so, 0, sizeof(so));
	so.base = n->base;
	so.pool = n->pool;
	so.store = &n->store;
	so.threshold = n->cfg->sync_consistency_threshold;
	so.changed = on_changed;
	so.allow = allow_remote;
	so.learned = learn_replicas;
	so.hook_arg = n;
	so.replicas = &n->replicas;
	so.capacity = n->cfg->node_capacity;
	so.repair_delay_ms = n->cfg->sync_repair_delay * 1000;
	so.read_keep_ms = n->cfg->sync_read_keep * 1000;
	memset(&mo, 0, sizeof(mo));
	mo.base = n->base;
	mo.pool = n->pool;
	mo.priv_dir = n->priv;
	mo.self = n->store.node_id;
	mo.cluster_key = n->key;
	mo.listen = n->cfg->peer_listen;
	mo.heartbeat_ms = n->cfg->peer_heartbeat_ms;
	mo.dead_after_ms = n->cfg->peer_dead_after_ms;
	mo.send_limit = (uint64_t)n->cfg->peer_send_limit_kib * 1024;
	mo.cbs.on_up = sync_member_up;
	mo.cbs.on_down = sync_member_down;
	mo.cbs.on_frame = sync_frame;
	mo.cbs.digest = sync_digest;
	mo.cbs.space = sync_space;
	mo.cbs.learn_replicas = sync_learn_replicas;
	mo.replicas = &n->replicas;
	mo.capacity = n->cfg->node_capacity;
	/* sync needs members and members calls sync: make sync first with
	 * members filled in right after. */
	if ((n->sync = sync_new(&so)) == NULL) {
		(void)str_fmt(err, errlen, "cannot start sync");
		return (-ENOMEM);
	}
	mo.arg = n->sync;
	if ((n->members = members_new(&mo, err, errlen)) == NULL)
		return (-EINVAL);
	sync_set_members(n->sync, n->members);
	n->remote = (struct remote_reads){ remote_open, remote_avail,
	    remote_close, n };
	on_space(-1, 0, n);
	{
		struct timeval tv = { 2, 0 };

		if ((n->space_ev = event_new(n->base, -1, EV_PERSIST, on_space,
		    n)) == NULL || event_add(n->space_ev, &tv) < 0) {
			(void)str_fmt(err, errlen, "out of memory");
			return (-ENOMEM);
		}
	}
	if ((n->http = http_server_new(&ho, err, errlen)) == NULL)
		return (-EINVAL);
	if (n->cfg->tracker_address[0] != '\0') {
		struct tclient_opts to = {
			.base = n->base, .pool = n->pool,
			.index = n->store.index, .members = n->members,
			.self = n->store.node_id, .cluster_key = n->key,
			.tracker = n->cfg->tracker_address,
			.peer_addr = members_listen_addr(n->members),
			.http_addr = http_server_addr(n->http),
		};

		if ((n->tracker = tclient_new(&to, err, errlen)) == NULL)
			return (-EINVAL);
	}
	write_control(n);
	(void)dir;
	return (0);
}

/*
 * A node that stops cleanly tells the tracker, which drops it at once
 * rather than after the expiry.  The loop runs a little longer (at most
 * half a second) so the words go out.
 */
static void
say_bye_to_tracker(struct node *n)
{
	int i;

	if (n->tracker == NULL || !tclient_up(n->tracker))
		return;
	tclient_bye(n->tracker);
	for (i = 0; i < 100 && tclient_up(n->tracker); i++) {
		(void)event_base_loop(n->base, EVLOOP_NONBLOCK);
		if (tclient_up(n->tracker))
			usleep(5000);
	}
}

int
node_run(const char *dir, const struct cfg *c)
{
	struct event *sigint = NULL, *sigterm = NULL;
	struct node n;
	char err[512] = "", users[4300], path[4300];
	struct sockaddr_storage ss;
	socklen_t sl;
	int status = 1;

	memset(&n, 0, sizeof(n));
	n.cfg = c;
	signal(SIGPIPE, SIG_IGN);
	if (str_fmt(n.priv, sizeof(n.priv), "%s/.shoal", dir) < 0 ||
	    str_fmt(users, sizeof(users), "%s/users", n.priv) < 0) {
		log_errorx("%s: path too long", dir);
		return (1);
	}
	/* Before anything starts: a node must not run without its FTP. */
	if (strcmp(c->ftp_listen, "off") != 0 &&
	    addr_parse(c->ftp_listen, &ss, &sl) < 0) {
		log_errorx("ftp.listen: '%s': %s", c->ftp_listen,
		    addr_parse_error(c->ftp_listen));
		return (1);
	}
	if (check_guest(c, users) < 0)
		return (1);
	if ((n.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if (store_open(&n.store, dir, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		goto out;
	}
	n.store_ok = true;
	if ((n.pool = work_pool_new(n.base, (int)c->workers)) == NULL) {
		log_errorx("cannot start worker threads");
		goto out;
	}
	if ((n.auth = auth_new(users)) == NULL) {
		log_errorx("cannot load accounts");
		goto out;
	}
	{
		struct guard_policy gp = {
			.max_per_address = c->login_max_failures,
			.max_per_account = c->login_max_account_failures,
			.window_s = c->login_window,
			.lockout_s = c->login_lockout,
		};

		if ((n.guard = guard_new(&gp)) == NULL)
			fatalx("out of memory");
	}
	if (start_cluster(&n, dir, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		goto out;
	}
	if ((n.watch = watch_new(n.base, n.pool, &n.store)) == NULL ||
	    watch_start(n.watch) < 0) {
		log_errorx("cannot watch %s", dir);
		goto out;
	}
	if (strcmp(c->ftp_listen, "off") != 0) {
		struct ftp_server_opts o = {
			.base = n.base, .pool = n.pool, .store = &n.store,
			.auth = n.auth, .guard = n.guard, .cfg = c,
			.priv_dir = n.priv,
			.network_size = network_size, .network_arg = &n,
			.wait_copies = c->sync_writes ? wait_copies : NULL,
			.wait_arg = &n,
			.write_check = write_check, .write_arg = &n,
			.remote = &n.remote,
		};

		if ((n.ftp = ftp_server_new(&o, err, sizeof(err))) == NULL) {
			log_errorx("%s", err);
			goto out;
		}
	}
	sigint = evsignal_new(n.base, SIGINT, on_signal, n.base);
	sigterm = evsignal_new(n.base, SIGTERM, on_signal, n.base);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) <
	    0 || evsignal_add(sigterm, NULL) < 0)
		fatalx("cannot handle signals");
	log_info("node %s serving %s", dir, dir);
	event_base_dispatch(n.base);
	status = 0;
	say_bye_to_tracker(&n);
out:
	if (str_fmt(path, sizeof(path), "%s/control", n.priv) == 0)
		(void)unlink(path);
	ftp_server_free(n.ftp);
	http_server_free(n.http);
	/* Jobs finish before what they use goes away. */
	work_pool_free(n.pool);
	tclient_free(n.tracker);
	members_free(n.members);
	sync_free(n.sync);
	if (n.space_ev)
		event_free(n.space_ev);
	watch_free(n.watch);
	auth_free(n.auth);
	guard_free(n.guard);
	if (n.store_ok)
		store_close(&n.store);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (n.base)
		event_base_free(n.base);
	return (status);
}
