/*
 * dav: the node's WebDAV endpoint (RFC 4918, class 1 and 2), so that any
 * desktop, davfs2 or rclone can mount the store as a drive.  It runs on
 * the HTTP front end's connections (keep-alive, caps, jobs, busy answers)
 * with its own route, and logs in with HTTP Basic and the node's accounts
 * as the REST API does; TLS whenever it listens beyond loopback (or
 * dav.tls = yes).  Everything it does to the folder goes through
 * front/fsview.h.
 */
#ifndef SHOAL_FRONT_DAV_H
#define SHOAL_FRONT_DAV_H

#include <stddef.h>

struct http_opts;
struct http_server;

/*
 * A server on dav.listen with the node's store, pool and controls (those
 * of o, copied).  NULL with err filled if it cannot listen.
 */
struct http_server *dav_server_new(const struct http_opts *o, char *err,
				   size_t errlen);
void dav_server_free(struct http_server *);
/*
 * May another front end (FTP, HTTP, S3) write path?  A WebDAV lock
 * covering it is held by a client with its token, which they cannot send:
 * -EBUSY with the reason in why, else 0.  srv NULL: 0.  Loop only.
 */
int dav_server_write_check(struct http_server *srv, const char *path, char *why,
			   size_t whylen);

#endif
