/*
 * watch: notices changes made directly in the folder (not through shoal)
 * with inotify and re-indexes the paths they touched.
 *
 * Events are collected on the loop, merged for a short debounce interval,
 * then handled by one job at a time on the worker pool.  If the kernel's
 * event queue overflows, the whole tree is scanned again.  on_change, if
 * set, runs on the loop after each batch (for later layers to announce).
 */
#ifndef SHOAL_STORE_WATCH_H
#define SHOAL_STORE_WATCH_H

struct event_base;
struct work_pool;
struct store;
struct watch;

struct watch *watch_new(struct event_base *, struct work_pool *,
    struct store *);
/* Starts with a full scan of the folder (adding a watch on every folder). */
int	watch_start(struct watch *) __attribute__((warn_unused_result));
void	watch_free(struct watch *);
/* True once the first full scan has finished. */
int	watch_ready(const struct watch *);

#endif
