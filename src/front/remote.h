/*
 * remote: how a front end reads a file this node holds no copy of
 * (replicas = N).  The node fetches it from the file's holders and the
 * front end streams it out as the verified bytes arrive (see
 * sync_read_open); the front end never learns where they came from.
 */
#ifndef SHOAL_FRONT_REMOTE_H
#define SHOAL_FRONT_REMOTE_H

#include <stddef.h>
#include <stdint.h>

struct remote_reads {
	/*
	 * Starts reading path.  ready(cbarg) runs each time more bytes are
	 * readable, failed(cbarg, why) once if the file cannot be had.
	 * Returns < 0 at once with why filled (-EHOSTUNREACH: no live
	 * copy; -ENOENT: not a file held elsewhere).
	 */
	int	(*open)(void *arg, const char *path, void (*ready)(void *),
		    void (*failed)(void *, const char *why), void *cbarg,
		    void **handle, char *why, size_t whylen);
	/* The partial file's fd (-1 before the first ready), and how many
	 * bytes from its start are verified, of size. */
	int	(*avail)(void *handle, uint64_t *avail, uint64_t *size);
	void	(*close)(void *handle);
	/*
	 * done(cbarg, 0) once path, being fetched, is here whole (a copy a
	 * writer can extend), done(cbarg, -ETIMEDOUT) if it does not come;
	 * < 0 at once (no call) when no fetch of path is pending.
	 */
	int	(*await)(void *arg, const char *path, void (*done)(void *, int),
		    void *cbarg);
	void	*arg;
};

#endif
