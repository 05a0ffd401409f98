/*
 * s3: the node's S3 endpoint (docs/S3.md).  Path-style addressing; every
 * request signed with Signature V4 by an access key of one of the node's
 * accounts (s3_keys.h).  A bucket is a top-level folder, object KEY of
 * bucket B the file B/KEY.  It runs on the HTTP front end's connections
 * (keep-alive, caps, Expect: 100-continue, jobs, busy answers) with its
 * own route; TLS whenever it listens beyond loopback (or s3.tls = yes).
 */
#ifndef SHOAL_FRONT_S3_H
#define SHOAL_FRONT_S3_H

#include <stddef.h>

struct http_opts;
struct http_server;

/*
 * A server on s3.listen with the node's store, pool and controls (those
 * of o, copied), keys from DIR/.shoal/s3_keys (o->priv_dir).  NULL with
 * err filled if it cannot listen.
 */
struct http_server *s3_server_new(const struct http_opts *o, char *err,
				  size_t errlen);
void s3_server_free(struct http_server *);

#endif
