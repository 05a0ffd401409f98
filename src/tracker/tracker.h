/*
 * tracker: `shoal tracker DIR`, the directory of live nodes, their files
 * and the cluster's write locks (docs/TRACKER.md).
 */
#ifndef SHOAL_TRACKER_TRACKER_H
#define SHOAL_TRACKER_TRACKER_H

#include <stdint.h>

struct tracker_opts {
	const char	*dir;		/* prepared by shoal init */
	const char	*listen;	/* nodes: HOST:PORT */
	const char	*http;		/* JSON API: HOST:PORT or "off" */
	const char	*db;		/* sqlite:PATH, postgresql://..., NULL */
	unsigned	 expire_s;	/* heartbeats every quarter of it */
};

/* Runs until SIGINT/SIGTERM; 0, or 1 after a start-up failure. */
int	tracker_run(const struct tracker_opts *);

#endif
