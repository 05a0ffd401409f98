/*
 * node_vers: the node's side of versions and trash (store/versions.h):
 * the policy from shoal.conf into the store, a periodic pruning job, the
 * counts it measures on the way for /metrics, and the status object.
 *
 * The job runs on the pool and owns a copy of what it needs (the store
 * is shared by design: its calls are thread-safe); the loop reads the
 * counts it left only in the done half.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rfc3339.h"
#include "base/work.h"
#include "node_int.h"

struct vers_job {
	struct node		*n;	/* for the done half, on the loop */
	struct store		*store;
	uint64_t		 min_free;
	int			 pruned;
	struct vers_stats	 st;
	int			 rc;
};

static void
vers_run(void *arg)
{
	struct vers_job *j = arg;

	j->pruned = vers_prune(j->store, clock_wall_ms() * 1000000,
	    j->min_free);
	j->rc = vers_stats(j->store, &j->st);
}

static void
vers_done(void *arg)
{
	struct vers_job *j = arg;

	if (j->pruned > 0)
		log_info("pruned %d old version(s) and trash by policy "
		    "(versions.keep, versions.days, trash.days, free space)",
		    j->pruned);
	if (j->rc == 0)
		j->n->vers_stats = j->st;
	j->n->vers_busy = false;
	free(j);
}

void
node_vers_tick(struct node *n)
{
	struct vers_job *j;

	if (n->vers_busy || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->n = n;
	j->store = &n->store;
	j->min_free = (uint64_t)n->cfg->store_min_free_mb << 20;
	if (work_submit(n->pool, vers_run, vers_done, j) < 0) {
		free(j);
		return;
	}
	n->vers_busy = true;
}

static void
on_vers(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	node_vers_tick(arg);
}

void
node_vers_policy(struct node *n)
{
	n->store.keep.keep = n->cfg->versions_keep;
	n->store.keep.days = n->cfg->versions_days;
	n->store.keep.trash_days = n->cfg->trash_days;
}

/* A pass every quarter of the shorter keep time, within 1 s .. 1 min. */
int
node_vers_start(struct node *n)
{
	double d = n->cfg->versions_days, t = n->cfg->trash_days, s;
	struct timeval tv = { 60, 0 };

	if (t > 0 && (d <= 0 || t < d))
		d = t;
	s = d * 86400.0 / 4;
	if (d > 0 && s < 60)
		tv.tv_sec = s < 1 ? 1 : (time_t)s;
	if ((n->vers_ev = event_new(n->base, -1, EV_PERSIST, on_vers, n)) ==
	    NULL || event_add(n->vers_ev, &tv) < 0)
		return (-ENOMEM);
	node_vers_tick(n);
	return (0);
}

json_t *
node_vers_json(const struct vers_stats *st)
{
	char oldest[RFC3339_LEN];

	if (st->c.oldest_ns > 0)
		rfc3339_format(st->c.oldest_ns, oldest);
	return (json_pack("{s:I, s:I, s:I, s:I, s:s?, s:I, s:I, s:I}",
	    "count", (json_int_t)st->c.count[VERS_VERSION],
	    "bytes", (json_int_t)st->c.bytes[VERS_VERSION],
	    "trash_count", (json_int_t)st->c.count[VERS_TRASH],
	    "trash_bytes", (json_int_t)st->c.bytes[VERS_TRASH],
	    "oldest", st->c.oldest_ns > 0 ? oldest : NULL,
	    "prunes", (json_int_t)st->prunes,
	    "pruned_bytes", (json_int_t)st->pruned_bytes,
	    "pressure_prunes", (json_int_t)st->pressure_prunes));
}

void
node_vers_metrics(struct node *n, struct buf *b)
{
	const struct vers_stats *st = &n->vers_stats;

	if (buf_printf(b,
	    "# HELP shoal_versions Old versions kept here.\n"
	    "# TYPE shoal_versions gauge\n"
	    "shoal_versions %llu\n"
	    "# HELP shoal_versions_bytes Bytes of the old versions kept "
	    "here.\n"
	    "# TYPE shoal_versions_bytes gauge\n"
	    "shoal_versions_bytes %llu\n"
	    "# HELP shoal_trash Deleted files kept in the trash here.\n"
	    "# TYPE shoal_trash gauge\n"
	    "shoal_trash %llu\n"
	    "# HELP shoal_trash_bytes Bytes of the trash kept here.\n"
	    "# TYPE shoal_trash_bytes gauge\n"
	    "shoal_trash_bytes %llu\n"
	    "# HELP shoal_versions_oldest_seconds When the oldest version or "
	    "trash was kept (seconds since the epoch; 0: none).\n"
	    "# TYPE shoal_versions_oldest_seconds gauge\n"
	    "shoal_versions_oldest_seconds %lld\n"
	    "# HELP shoal_versions_pruned_total Versions and trash pruned.\n"
	    "# TYPE shoal_versions_pruned_total counter\n"
	    "shoal_versions_pruned_total %llu\n"
	    "# HELP shoal_versions_pruned_space_total Of them, pruned "
	    "because free space was below store.min_free_mb.\n"
	    "# TYPE shoal_versions_pruned_space_total counter\n"
	    "shoal_versions_pruned_space_total %llu\n",
	    (unsigned long long)st->c.count[VERS_VERSION],
	    (unsigned long long)st->c.bytes[VERS_VERSION],
	    (unsigned long long)st->c.count[VERS_TRASH],
	    (unsigned long long)st->c.bytes[VERS_TRASH],
	    (long long)(st->c.oldest_ns / 1000000000),
	    (unsigned long long)st->prunes,
	    (unsigned long long)st->pressure_prunes) < 0)
		log_warnx("metrics: out of room");
}
