/*
 * s3_int: what the files of the S3 front end share:
 *   s3_api.c     the server, the request's head, authentication, the
 *                table of operations, S3 errors and XML answers
 *   s3_bucket.c  buckets (top-level folders) and object listings
 *   s3_object.c  objects: put, get, head, delete, copy, delete many
 *
 * The connections are the HTTP front end's (http_int.h): the S3 server is
 * an http_server with its own route.  A request's state (struct s3_req)
 * hangs from the connection (c->ext) until it is answered.
 */
#ifndef SHOAL_FRONT_S3_INT_H
#define SHOAL_FRONT_S3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "front/http/http_int.h"
#include "front/http/http_chunked.h"
#include "front/http/http_query.h"
#include "front/s3/s3.h"
#include "front/s3/s3_chunked.h"
#include "front/s3/s3_err.h"
#include "front/s3/s3_sum.h"
#include "front/s3/sigv4.h"

#define S3_BUCKET_MAX 63
#define S3_KEY_MAX    1024 /* bytes of a key, as S3 caps it */
#define S3_META_MAX   2048 /* metadata headers of an object */
#define S3_ETAG_MAX   48   /* 32 hex digits, "-" and a part count */

struct s3_keys;

/* The server's own context (http_opts.route_arg). */
struct s3_ctx {
	struct s3_keys *keys;
	struct auth *auth;    /* the accounts the keys belong to */
	struct event *expire; /* abandoned multipart uploads */
	struct work_pool *pool;
	struct store *store;
	unsigned expiry_s;
	char region[64];
	char domain[256]; /* s3.domain: virtual-host style, or "" */
};

struct s3_hash {
	struct s3_sum etag_md5; /* always, for the ETag */
	struct s3_sum sha, md5, csum;
	bool check_sha, check_md5, check_csum;
};

/* Adds bytes to every sum; frees them. */
void s3_hash_update(struct s3_hash *, const void *, size_t);
void s3_hash_free(void *);

struct s3_req {
	struct http_conn *c;
	char id[17]; /* x-amz-request-id */
	struct sigv4_header hdr[HTTP_HEADERS_COUNT_MAX];
	size_t nhdr;
	struct span rawpath, rawquery;
	struct http_query q;
	char bucket[S3_BUCKET_MAX + 1];
	char key[S3_KEY_MAX + 1];
	char path[PATH_LEN_MAX + 1]; /* bucket/key */
	char account[AUTH_NAME_MAX + 1];
	struct sigv4_auth auth;
	struct sigv4_chain chain;
	/* An upload's body on its way to the ingest. */
	struct s3_chunked *dec;
	struct s3_part *part;	/* or an ingest (c->ing) */
	struct http_chunked te; /* Transfer-Encoding: chunked */
	struct evbuffer *pending;
	/* The sums over the body: hashed by the ingest's jobs (which then
	 * own them) or, for a part, here on the loop. */
	struct s3_hash *h;
	bool h_owned;
	uint8_t want_md5[16];
	/* x-amz-checksum-*: sent as a header (checked here) or as the
	 * aws-chunked trailer (checked by the decoder); kept either way. */
	enum s3_sum_alg csum_alg;
	uint8_t want_csum[S3_SUM_RAW_MAX];
	char csum_b64[S3_SUM_B64_MAX + 1];
	char etag[S3_ETAG_MAX + 3];
	enum s3_err body_err;
};

/* s3_api.c */
/* The value of header name (case-insensitive), or false. */
bool s3_header(const struct s3_req *, const char *name, struct span *);
/* Copies a header's value into out[size] ("" if absent); false if it
 * does not fit. */
bool s3_header_str(const struct s3_req *, const char *name, char *out,
		   size_t size);
/* Reads a small body (XML) first, with 100 Continue if asked; the
 * operation is routed again once it is there. */
void s3_read_body(struct s3_req *);
/* Answers with S3's error document. */
void s3_error(struct s3_req *, enum s3_err, const char *msg);
/* Answers with the S3 error a negative errno stands for. */
void s3_error_errno(struct s3_req *, int rc, enum s3_err enoent);
/* 200 with an XML body (taken: released here). */
void s3_respond_xml(struct s3_req *, int status, struct buf *);
/* A write lock held by someone else refuses the write: answered. */
bool s3_write_refused(struct s3_req *, const char *path);
/* True if key may be an object (answers the error itself if not); path
 * receives bucket/key. */
bool s3_key_ok(struct s3_req *, const char *bucket, const char *key, char *path,
	       size_t size);
/* The ETag of a file ("..." with quotes), from its content hash. */
void s3_etag(const uint8_t sha[32], char out[35]);
/* Unix seconds as an HTTP date. */
void s3_http_date(int64_t t, char out[40]);

/* s3_meta.c: an object's attributes (see there) */
/* The kept headers of the request into out; -E2BIG past S3_META_MAX. */
int s3_meta_from_request(const struct s3_req *, struct buf *out);
/* The value of name in attributes a[n] into out[size]; false if none. */
bool s3_meta_get(const uint8_t *a, size_t n, const char *name, char *out,
		 size_t size);
/* The header lines of a[n] (all but etag) appended to out, as is. */
int s3_meta_copy_headers(const uint8_t *a, size_t n, struct buf *out);
/* HTTP header lines for the stored headers, Content-Type excepted
 * (*has_ctype tells whether there is one). */
int s3_meta_headers(const uint8_t *a, size_t n, struct buf *h, bool *has_ctype);
int s3_md5_fd(int fd, uint8_t md5[16]);
/*
 * The attributes of path's content sha into attrs[size] (*len) and its
 * ETag, quoted: the stored one, else the MD5 of fd computed and cached
 * (fd < 0, a file held elsewhere: from sha).  Pool only.
 */
#define S3_FD_OPEN (-2) /* s3_etag_of opens the file if it must */
int s3_etag_of(struct store *, const char *path, const uint8_t sha[32], int fd,
	       uint8_t *attrs, size_t size, size_t *len,
	       char etag[S3_ETAG_MAX + 3]);

/* s3_bucket.c */
void s3_list_buckets(struct s3_req *);
void s3_create_bucket(struct s3_req *);
void s3_head_bucket(struct s3_req *);
void s3_delete_bucket(struct s3_req *);
void s3_bucket_location(struct s3_req *);
void s3_bucket_versioning(struct s3_req *);
void s3_list_objects(struct s3_req *);

/* s3_vers.c: ListObjectVersions (GET /bucket?versions) */
void s3_list_versions(struct s3_req *);

/* s3_object.c: the body of an upload (PutObject, UploadPart) */
enum s3_err s3_body_setup(struct s3_req *);
/* Streams the body into r->part or c->ing, whichever is set. */
void s3_body_start(struct s3_req *);
void s3_body_more(struct http_conn *);
/* The folders above bucket/a/b/key (a, a/b) made. */
int s3_make_parents(struct store *, const char *path);

/* s3_multipart.c */
struct s3_part;
bool s3_part_busy(const struct s3_part *);
int s3_part_push(struct s3_part *, struct evbuffer *);
/* The part is complete with this ETag: durable, then done runs. */
void s3_part_finish(struct s3_part *, const char *etag);
void s3_part_cancel(struct s3_part *);
void s3_mp_create(struct s3_req *);
void s3_mp_part(struct s3_req *);
void s3_mp_complete(struct s3_req *);
void s3_mp_abort(struct s3_req *);
void s3_mp_list_parts(struct s3_req *);
void s3_mp_list_uploads(struct s3_req *);
/* Removes the uploads untouched for expiry_s seconds (a pool job). */
void s3_mp_expire(struct work_pool *, struct store *, unsigned expiry_s);

/* s3_object.c */
void s3_put_object(struct s3_req *);
void s3_get_object(struct s3_req *);
void s3_delete_object(struct s3_req *);
void s3_delete_objects(struct s3_req *);

/* A job over one path: copies of what it reads, slots for what it finds. */
struct s3_job {
	struct s3_req *r; /* the loop's, never the job's */
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	char bucket[S3_BUCKET_MAX + 1];
	char account[AUTH_NAME_MAX + 1];
	int rc;
	enum s3_err err;
	bool existed;
	struct fs_file f;
	struct file_meta m;
	struct upload *up;
	struct buf out;
	void *arg;
	void (*arg_free)(void *); /* of arg, if the job ends early */
	char etag[S3_ETAG_MAX + 3];
	uint8_t attrs[INDEX_ATTRS_MAX];
	size_t attrs_len;
	/* s3_job_fetch_first: what runs again once the copy is here. */
	unsigned prefetch_tries;
	void (*again_fn)(void *);
	void (*again_done)(void *);
};

struct s3_job *s3_job_new(struct s3_req *);
void s3_job_free(struct s3_job *);
/* Runs fn on the pool, then done; answers SlowDown itself if it cannot. */
void s3_job_submit(struct s3_job *, void (*fn)(void *), void (*done)(void *));
/* Ends a job; NULL if the connection is gone (the job is freed). */
struct s3_req *s3_job_end(struct s3_job *);
/*
 * For a job that found its source held only by other nodes (replicas =
 * N), ended with s3_job_end: fetches a copy of src here (front/prefetch.c)
 * and submits the job again with fn and done, or answers ServiceUnavailable
 * (and frees the job) if none can be had.
 */
void s3_job_fetch_first(struct s3_job *, const char *src, void (*fn)(void *),
			void (*done)(void *));

#endif
