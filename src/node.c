/*
 * node: the lifecycle of one running node.  Start-up is bottom-up (store,
 * pool, accounts, cluster, watcher, front ends) and shutdown the reverse;
 * the pool is drained before the modules its jobs use are freed.  This file
 * wires the modules together: it gives sync its hooks (write locks, the
 * replication factor, free space) and the front ends the node's control
 * API, which is in node_ctl.c.  It owns DIR/.shoal/control and
 * DIR/.shoal/replicas.
 */
#include "node.h"
#include "node_int.h"

#include <errno.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/work.h"
#include "cluster/members.h"
#include "cluster/scrub.h"
#include "cluster/serve.h"
#include "cluster/vreq.h"
#include "cluster/sync.h"
#include "cluster/tclient.h"
#include "front/auth.h"
#include "front/ftp/ftp.h"
#include "front/guard.h"
#include "front/http/http.h"
#include "front/dav/dav.h"
#include "front/s3/s3.h"
#include "net/addr.h"
#include "net/tls.h"
#include "store/store.h"
#include "store/upload.h"
#include "store/watch.h"

static void
stopped(void *arg)
{
	struct node *n = arg;

	event_base_loopexit(n->base, NULL);
}

/* The members hear that this node stops (so they do not take its link
 * going for an error) before the loop ends; a second signal ends it at
 * once. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct node *n = arg;

	(void)what;
	if (n->stopping) {
		event_base_loopexit(n->base, NULL);
		return;
	}
	n->stopping = true;
	log_info("signal %d: shutting down", (int)sig);
	members_stop(n->members, stopped, n);
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
		{ "WebDAV", c->dav_listen },
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

/* A rotten copy was set aside: the same version, from a peer, now. */
static void
refetch(void *arg, const char *path, const uint8_t *sha)
{
	struct node *n = arg;

	if (n->sync != NULL)
		sync_fetch_copy(n->sync, path, sha);
}

/* serve.c refused a rotten block and set its file aside. */
static void
on_rot(void *arg, const char *path, const uint8_t *sha)
{
	struct node *n = arg;

	scrub_found(n->scrub, path, sha);
}

/* Free space: a full node is skipped by placement. */
void
node_set_space(struct node *n, uint64_t free_bytes)
{
	uint64_t floor = (uint64_t)n->cfg->store_min_free_mb << 20;

	n->free_bytes = free_bytes;
	n->full = n->free_bytes < floor;
	/* Old versions go first when space runs low. */
	if (n->full && n->vers_ev != NULL)
		node_vers_tick(n);
	sync_set_space(n->sync, n->free_bytes, floor);
}

static void
on_space(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct statvfs sv;

	(void)fd;
	(void)what;
	if (fstatvfs(n->store.root_fd, &sv) < 0)
		return;
	node_set_space(n, (uint64_t)sv.f_bavail * sv.f_frsize);
}

/*
 * Interrupted uploads kept for a resume (store/upload.h) expire after
 * ftp.partial_keep_hours: a job sweeps them, one at a time.
 */
struct partial_job {
	struct node *n; /* for the done half, on the loop */
	struct store *store;
	double keep_s;
	int rc;
};

static void
partial_run(void *arg)
{
	struct partial_job *j = arg;

	j->rc = upload_partial_expire(j->store, j->keep_s);
}

static void
partial_done(void *arg)
{
	struct partial_job *j = arg;

	if (j->rc > 0)
		log_info("removed %d interrupted upload(s) not resumed within "
			 "ftp.partial_keep_hours",
			 j->rc);
	j->n->partial_busy = false;
	free(j);
}

static void
on_partial(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct partial_job *j;

	(void)fd;
	(void)what;
	if (n->partial_busy || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->n = n;
	j->store = &n->store;
	j->keep_s = n->cfg->ftp_partial_keep_hours * 3600.0;
	if (work_submit(n->pool, partial_run, partial_done, j) < 0) {
		free(j);
		return;
	}
	n->partial_busy = true;
}

/* A sweep every quarter of the keep time, within 1 s .. 10 min. */
static int
start_partial_expiry(struct node *n)
{
	double keep_s = n->cfg->ftp_partial_keep_hours * 3600.0;
	struct timeval tv = {600, 0};

	if (keep_s > 0 && keep_s / 4 < 600) {
		tv.tv_sec = keep_s / 4 < 1 ? 1 : (time_t)(keep_s / 4);
	}
	if ((n->partial_ev =
		 event_new(n->base, -1, EV_PERSIST, on_partial, n)) == NULL ||
	    event_add(n->partial_ev, &tv) < 0)
		return (-ENOMEM);
	on_partial(-1, 0, n);
	return (0);
}

/* DIR/.shoal/replicas: the cluster's replication factor. */
static void
load_replicas(struct node *n)
{
	char path[FS_PATH_MAX], line[32];
	uint64_t v;

	n->replicas = REPLICAS_UNKNOWN;
	if (str_fmt(path, sizeof(path), "%s/replicas", n->priv) < 0 ||
	    read_line(path, line, sizeof(line)) < 0)
		return;
	if (strcmp(line, "all") == 0)
		n->replicas = REPLICAS_ALL;
	else if (span_u64(span_str(line), REPLICAS_UNKNOWN - 1, &v) == 0 &&
	    v > 0)
		n->replicas = (unsigned)v;
	else
		log_warnx("%s: '%s' is not a number of copies or 'all'", path,
		    line);
}

static void
learn_replicas(void *arg, unsigned replicas)
{
	struct node *n = arg;
	char path[FS_PATH_MAX];
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

/* DIR/.shoal/control: where the running node's HTTP endpoint is. */
static void
write_control(struct node *n)
{
	char path[FS_PATH_MAX];
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
start_cluster(struct node *n, char *err, size_t errlen)
{
	char path[FS_PATH_MAX], hex[TLS_CLUSTER_KEY_HEX_LEN + 2];
	struct members_opts mo;
	struct sync_opts so;
	struct http_opts ho = {
		.base = n->base, .pool = n->pool, .store = &n->store,
		.auth = n->auth, .guard = n->guard, .cfg = n->cfg,
		.priv_dir = n->priv, .token = n->token,
	};

	node_ctl_init(n, &ho.ctl);
	if (str_fmt(path, sizeof(path), "%s/cluster_key", n->priv) < 0 ||
	    read_line(path, hex, sizeof(hex)) < 0 ||
	    tls_cluster_key_parse(hex, n->key) < 0) {
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
	mo.out_high = (size_t)n->cfg->peer_out_high_kib * 1024;
	mo.log_heartbeats = n->cfg->peer_log_heartbeats;
	{
		struct serve_opts vo = { .pool = n->pool, .store = &n->store,
			.window = n->cfg->peer_serve_window, .rot = on_rot,
			.rot_arg = n };
		struct scrub_opts co = { .base = n->base, .pool = n->pool,
			.store = &n->store, .hours = n->cfg->sync_scrub_hours,
			.mib_s = n->cfg->sync_scrub_mib_s, .refetch = refetch,
			.arg = n };

		struct vreq_opts qo = { .base = n->base, .pool = n->pool,
			.store = &n->store, .timeout_ms = 5000 };

		if ((n->scrub = scrub_new(&co)) == NULL ||
		    (n->serve = serve_new(&vo)) == NULL ||
		    (n->vreq = vreq_new(&qo)) == NULL) {
			(void)str_fmt(err, errlen, "out of memory");
			return (-ENOMEM);
		}
		mo.serve = n->serve;
		mo.vreq = n->vreq;
	}
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
	vreq_set_members(n->vreq, n->members);
	n->remote = node_remote_reads(n);
	on_space(-1, 0, n);
	{
		struct timeval tv = { 2, 0 };

		if ((n->space_ev = event_new(n->base, -1, EV_PERSIST, on_space,
		    n)) == NULL || event_add(n->space_ev, &tv) < 0) {
			(void)str_fmt(err, errlen, "out of memory");
			return (-ENOMEM);
		}
	}
	if (start_partial_expiry(n) < 0) {
		(void)str_fmt(err, errlen, "out of memory");
		return (-ENOMEM);
	}
	if (node_vers_start(n) < 0) {
		(void)str_fmt(err, errlen, "out of memory");
		return (-ENOMEM);
	}
	if ((n->http = http_server_new(&ho, err, errlen)) == NULL)
		return (-EINVAL);
	if (strcmp(n->cfg->s3_listen, "off") != 0 &&
	    (n->s3 = s3_server_new(&ho, err, errlen)) == NULL)
		return (-EINVAL);
	if (strcmp(n->cfg->dav_listen, "off") != 0) {
		struct http_opts dho = ho;

		dho.ctl.write_check = node_cluster_write_check;
		if ((n->dav = dav_server_new(&dho, err, errlen)) == NULL)
			return (-EINVAL);
	}
	if (n->cfg->tracker_address[0] != '\0') {
		struct tclient_opts to = {
			.base = n->base, .pool = n->pool,
			.index = n->store.index, .members = n->members,
			.self = n->store.node_id, .cluster_key = n->key,
			.tracker = n->cfg->tracker_address,
			.peer_addr = members_listen_addr(n->members),
			.http_addr = http_server_addr(n->http),
			.log_heartbeats = n->cfg->peer_log_heartbeats,
		};

		if ((n->tracker = tclient_new(&to, err, errlen)) == NULL)
			return (-EINVAL);
	}
	write_control(n);
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
	char err[512] = "", users[FS_PATH_MAX], path[FS_PATH_MAX];
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
	node_vers_policy(&n);
	if ((n.pool = work_pool_new(n.base, (int)c->workers)) == NULL) {
		log_errorx("cannot start worker threads");
		goto out;
	}
	work_set_queue_max(n.pool, c->work_queue_max);
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
	if (start_cluster(&n, err, sizeof(err)) < 0) {
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
			.network_size = node_network_size, .network_arg = &n,
			.wait_copies = c->sync_writes ? node_wait_copies :
			    NULL,
			.wait_arg = &n,
			.write_check = node_write_check, .write_arg = &n,
			.remote = &n.remote,
		};

		if ((n.ftp = ftp_server_new(&o, err, sizeof(err))) == NULL) {
			log_errorx("%s", err);
			goto out;
		}
	}
	sigint = evsignal_new(n.base, SIGINT, on_signal, &n);
	sigterm = evsignal_new(n.base, SIGTERM, on_signal, &n);
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
	/* Jobs finish before what they use goes away: sessions,
	 * connections, sync state and the store. */
	work_pool_drain(n.pool);
	ftp_server_free(n.ftp);
	s3_server_free(n.s3);
	dav_server_free(n.dav);
	http_server_free(n.http);
	tclient_free(n.tracker);
	/* Questions still open die with the members, unanswered. */
	if (n.vreq != NULL)
		vreq_set_members(n.vreq, NULL);
	members_free(n.members);
	sync_free(n.sync);
	serve_free(n.serve);
	vreq_free(n.vreq);
	scrub_free(n.scrub);
	work_pool_free(n.pool);
	if (n.space_ev)
		event_free(n.space_ev);
	if (n.partial_ev)
		event_free(n.partial_ev);
	if (n.vers_ev)
		event_free(n.vers_ev);
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
