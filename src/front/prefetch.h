/*
 * prefetch: a whole copy, on this node, of a file only other nodes hold
 * (replicas = N), for a front end about to change or copy its bytes: FTP
 * APPE and REST + STOR, S3 CopyObject and UploadPartCopy.  Working on the
 * bytes the node does not have would start from nothing (an append that
 * replaces the file with the appended part alone).
 *
 * The copy is fetched as a read of such a file fetches one (it is kept
 * sync.read_keep seconds); once the fetch has put it here whole, the
 * front end runs its operation again, which now finds the bytes.
 *
 * Only the loop calls these.  done(arg, 0, NULL) runs once the copy is
 * here, done(arg, -errno, why) once if it cannot be had; either way done
 * runs exactly once, from the loop, never from inside prefetch_start,
 * unless prefetch_cancel ran first.
 */
#ifndef SHOAL_FRONT_PREFETCH_H
#define SHOAL_FRONT_PREFETCH_H

#include <event2/event.h>

#include "front/remote.h"

struct prefetch;

/*
 * Starts fetching path through r.  Returns NULL with why filled when no
 * fetch can start (no remote reads on this node, out of memory, no live
 * copy); done is then never called.
 */
struct prefetch *prefetch_start(const struct remote_reads *r,
				struct event_base *base, const char *path,
				void (*done)(void *arg, int rc,
					     const char *why),
				void *arg, char *why, size_t whylen);
/* The caller is gone: done is not called; frees when it can. */
void prefetch_cancel(struct prefetch *);

#endif
