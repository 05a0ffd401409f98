/*
 * node: one running node: its store, folder watcher, worker pool and
 * front ends on one event loop, until SIGINT or SIGTERM.
 */
#ifndef SHOAL_NODE_H
#define SHOAL_NODE_H

struct cfg;

/* Serves dir with cfg; returns the process exit status. */
int	node_run(const char *dir, const struct cfg *cfg);

#endif
