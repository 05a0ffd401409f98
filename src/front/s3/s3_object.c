/*
 * s3_object: objects, which are files.
 *
 *   PUT    job: folders of the key made, fs_write_begin ──> body:
 *          aws-chunked decoded (s3_chunked.h) or as sent, hashed for
 *          x-amz-content-sha256 / Content-MD5 ──> ingest ──> checks ──>
 *          ingest_finish (the commit) ──> ETag
 *   GET    job: fs_open ──> conditions, range ──> fs_reader (here or
 *          streamed from the holders)
 *   DELETE job: the file, then the folders it leaves empty, up to the
 *          bucket (S3 has no folders: a key gone leaves no prefix behind)
 *
 * Nothing a client sent is committed before every check on the whole body
 * passed: a wrong chunk signature, digest or length cancels the ingest and
 * the file that was there stays.
 */
#include "front/s3/s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "front/ingest.h"
#include "front/s3/s3_xml.h"
#include "store/hash.h"
#include "store/versions.h"

/* Makes the folders above path (bucket/a/b/key: a, a/b), which must be
 * under an existing bucket. */
int
s3_make_parents(struct store *s, const char *path)
{
	char p[PATH_LEN_MAX + 1];
	char *slash;
	int rc;

	(void)str_copy(p, sizeof(p), path);
	slash = strchr(p, '/'); /* after the bucket */
	if (slash == NULL)
		return (0);
	while ((slash = strchr(slash + 1, '/')) != NULL) {
		*slash = '\0';
		rc = fs_mkdir(s, p);
		*slash = '/';
		if (rc < 0 && rc != -EEXIST)
			return (rc);
	}
	return (0);
}

/* Removes the folders path leaves empty, up to (not including) the
 * bucket. */
static void
remove_empty_parents(struct store *s, const char *path)
{
	char p[PATH_LEN_MAX + 1];
	char *slash;

	(void)str_copy(p, sizeof(p), path);
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		if (strchr(p, '/') == NULL)
			break; /* p is the bucket */
		if (fs_rmdir(s, p) < 0)
			break;
	}
}

static enum s3_err
bucket_check(struct store *s, const char *bucket)
{
	struct fs_entry e;
	int rc = fs_stat(s, bucket, 0, &e);

	if (rc == -ENOENT || rc == -ENOTDIR || (rc == 0 && e.type != FS_DIR))
		return (S3_ERR_NO_SUCH_BUCKET);
	return (rc < 0 ? S3_ERR_INTERNAL : S3_OK);
}

/* PUT */

static void s3_copy_object(struct s3_req *, struct span);

static void
put_done_cb(void *arg, int rc, const uint8_t sha[32])
{
	struct s3_req *r = arg;
	struct http_conn *c = r->c;
	char etag[S3_ETAG_MAX + 3], extra[256];

	c->ing = NULL;
	if (rc < 0) {
		log_warnx("s3: %s upload of %s failed: %s", c->peer, r->path,
			  strerror(-rc));
		c->close_after = true;
		s3_error_errno(r, rc, S3_ERR_NO_SUCH_BUCKET);
		return;
	}
	(void)sha;
	(void)str_copy(etag, sizeof(etag), r->etag);
	log_info("s3: %s stored %s", c->peer, r->path);
	(void)str_fmt(extra, sizeof(extra),
		      "ETag: %s\r\nx-amz-request-id: "
		      "%s\r\n%s%s%s%s",
		      etag, r->id,
		      r->csum_b64[0] ? s3_sum_header(r->csum_alg) : "",
		      r->csum_b64[0] ? ": " : "", r->csum_b64,
		      r->csum_b64[0] ? "\r\n" : "");
	c->st = CONN_BUSY;
	http_respond(c, 200, NULL, extra, NULL, 0);
}

/* The decoder's sink: payload bytes, on their way to the ingest. */
static enum s3_err
sink(void *arg, const void *p, size_t n)
{
	struct s3_req *r = arg;

	if (evbuffer_add(r->pending, p, n) < 0)
		return (S3_ERR_INTERNAL);
	return (S3_OK);
}

/* Every byte of the body is in: the checks on all of it. */
static enum s3_err
body_checks(struct s3_req *r)
{
	uint8_t d[S3_SUM_RAW_MAX];
	enum s3_err e;

	if (r->dec && (e = s3_chunked_finish(r->dec)) != S3_OK)
		return (e);
	if (r->h->check_sha) {
		(void)s3_sum_final(&r->h->sha, d);
		if (CRYPTO_memcmp(d, r->auth.payload_sha256, 32) != 0)
			return (S3_ERR_CONTENT_SHA256_MISMATCH);
	}
	if (r->h->check_md5) {
		(void)s3_sum_final(&r->h->md5, d);
		if (CRYPTO_memcmp(d, r->want_md5, 16) != 0)
			return (S3_ERR_BAD_DIGEST);
	}
	if (r->h->check_csum) {
		size_t n = s3_sum_final(&r->h->csum, d);

		if (CRYPTO_memcmp(d, r->want_csum, n) != 0)
			return (S3_ERR_CHECKSUM_MISMATCH);
		s3_b64(d, n, r->csum_b64);
	} else if (r->dec && r->csum_alg != S3_SUM_NONE &&
		   s3_chunked_checksum(r->dec, r->csum_b64) < 0)
		r->csum_b64[0] = '\0';
	return (S3_OK);
}

/* The attributes of the new version: its ETag and the kept headers. */
static int
set_attrs(struct s3_req *r)
{
	uint8_t d[S3_SUM_RAW_MAX];
	char hex[33];
	struct buf b;
	int rc;

	(void)s3_sum_final(&r->h->etag_md5, d);
	str_hex(d, 16, hex);
	(void)str_fmt(r->etag, sizeof(r->etag), "\"%s\"", hex);
	if (r->part)
		return (0); /* a part's ETag is all it keeps */
	buf_init(&b, INDEX_ATTRS_MAX);
	if ((rc = buf_printf(&b, "etag:%s\n", hex)) == 0 && r->csum_b64[0])
		rc = buf_printf(&b, "checksum:%s %s\n",
				s3_sum_header(r->csum_alg), r->csum_b64);
	if (rc == 0 && (rc = s3_meta_from_request(r, &b)) == 0)
		rc = ingest_set_attrs(r->c->ing, b.data, b.len);
	buf_release(&b);
	return (rc);
}

static void
upload_fail(struct s3_req *r, enum s3_err e)
{
	struct http_conn *c = r->c;

	if (c->ing) {
		/* SECURITY: a body that failed a check is never committed. */
		ingest_cancel(c->ing);
		c->ing = NULL;
	}
	if (r->part) {
		s3_part_cancel(r->part);
		r->part = NULL;
	}
	c->close_after = c->body_left > 0;
	c->st = CONN_BUSY;
	s3_error(r, e, NULL);
}

/* Where the body goes: an object's ingest, or a part being staged. */
static bool
target_busy(const struct s3_req *r)
{
	if (r->part)
		return (s3_part_busy(r->part));
	return (r->c->ing == NULL || ingest_busy(r->c->ing));
}

static int
target_push(struct s3_req *r)
{
	if (r->part)
		return (s3_part_push(r->part, r->pending));
	return (ingest_push(r->c->ing, r->pending));
}

void
s3_hash_update(struct s3_hash *h, const void *p, size_t n)
{
	s3_sum_update(&h->etag_md5, p, n);
	if (h->check_sha)
		s3_sum_update(&h->sha, p, n);
	if (h->check_md5)
		s3_sum_update(&h->md5, p, n);
	if (h->check_csum)
		s3_sum_update(&h->csum, p, n);
}

void
s3_hash_free(void *arg)
{
	struct s3_hash *h = arg;

	if (h == NULL)
		return;
	s3_sum_release(&h->etag_md5);
	s3_sum_release(&h->sha);
	s3_sum_release(&h->md5);
	s3_sum_release(&h->csum);
	free(h);
}

/* The ingest's third job: the S3 sums of a chunk, on the pool. */
static void
hash_chunk(void *arg, const struct iovec *v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		s3_hash_update(arg, v[i].iov_base, v[i].iov_len);
}

/* Payload bytes of the body: through the aws-chunked decoder, if any. */
static int
deliver(struct s3_req *r, const void *p, size_t n)
{
	size_t took;

	if (r->dec) {
		if ((r->body_err = s3_chunked_feed(r->dec, p, n, &took)) !=
		    S3_OK)
			return (-1);
		return (0);
	}
	if (evbuffer_add(r->pending, p, n) < 0) {
		r->body_err = S3_ERR_INTERNAL;
		return (-1);
	}
	return (0);
}

/* The data of a body sent with Transfer-Encoding: chunked. */
static int
te_sink(void *arg, const void *p, size_t n)
{
	return (deliver(arg, p, n));
}

void
s3_body_more(struct http_conn *c)
{
	struct s3_req *r = c->ext;
	struct evbuffer *in;
	struct evbuffer_iovec v[8];
	size_t n, used;
	int i, nv;
	bool done = false;
	enum s3_err e;

	if (c->closing || target_busy(r))
		return;
	in = bufferevent_get_input(c->bev);
	n = evbuffer_get_length(in);
	if (n > c->body_left)
		n = (size_t)c->body_left;
	/* The bytes of the body that are here, into pending. */
	while (n > 0 && !done) {
		nv = evbuffer_peek(in, (ev_ssize_t)n, NULL, v, 8);
		if (nv > 8)
			nv = 8;
		for (i = 0, used = 0; i < nv && used < n && !done; i++) {
			size_t k =
			    v[i].iov_len < n - used ? v[i].iov_len : n - used;

			if (c->req.chunked) {
				long t = http_chunked_feed(
				    &r->te, v[i].iov_base, k, te_sink, r);

				if (t < 0) {
					evbuffer_drain(in, used + k);
					upload_fail(
					    r, t == -1 ? S3_ERR_INCOMPLETE_BODY
						       : r->body_err);
					return;
				}
				k = (size_t)t;
				done = http_chunked_done(&r->te);
			} else if (deliver(r, v[i].iov_base, k) < 0) {
				evbuffer_drain(in, used + k);
				c->body_left -= used + k;
				upload_fail(r, r->body_err);
				return;
			}
			used += k;
		}
		evbuffer_drain(in, used);
		if (c->req.chunked)
			c->body_left = done ? 0 : UINT64_MAX;
		else
			c->body_left -= used;
		c->srv->bytes_in += used;
		n -= used;
		if (c->body_left == 0)
			done = true;
	}
	n = evbuffer_get_length(r->pending);
	if (n > 0 && (n >= HTTP_FILE_CHUNK || c->body_left == 0)) {
		/* A part is hashed here; an object by the ingest's jobs. */
		if (r->part) {
			struct evbuffer_iovec *pv;

			nv = evbuffer_peek(r->pending, -1, NULL, NULL, 0);
			if ((pv = calloc((size_t)nv, sizeof(*pv))) == NULL) {
				upload_fail(r, S3_ERR_INTERNAL);
				return;
			}
			nv = evbuffer_peek(r->pending, -1, NULL, pv, nv);
			for (i = 0; i < nv; i++)
				s3_hash_update(r->h, pv[i].iov_base,
					       pv[i].iov_len);
			free(pv);
		}
		if (target_push(r) < 0) {
			upload_fail(r, S3_ERR_INTERNAL);
			return;
		}
		return; /* on_drained brings us back */
	}
	if (c->body_left == 0) {
		if ((e = body_checks(r)) != S3_OK) {
			upload_fail(r, e);
			return;
		}
		if (set_attrs(r) < 0) {
			upload_fail(r, S3_ERR_INTERNAL);
			return;
		}
		c->st = CONN_BUSY;
		if (r->part)
			s3_part_finish(r->part, r->etag);
		else
			ingest_finish(c->ing);
	}
}

static void
put_drained(void *arg)
{
	struct s3_req *r = arg;

	s3_body_more(r->c);
}

static void
put_run(void *arg)
{
	struct s3_job *j = arg;
	struct fs_entry e;
	int rc;

	if ((j->err = bucket_check(j->store, j->bucket)) != S3_OK)
		return;
	/* A key naming a folder (or a file where a folder is needed). */
	rc = fs_stat(j->store, j->path, 0, &e);
	if (rc == 0 && e.type == FS_DIR) {
		j->rc = -EISDIR;
		return;
	}
	if ((j->rc = s3_make_parents(j->store, j->path)) < 0)
		return;
	j->rc = fs_write_begin(j->store, j->path, UPLOAD_NEW, 0, &j->existed,
			       &j->up);
	/* A delete emptying the folder meanwhile: once more. */
	if (j->rc == -ENOENT &&
	    (j->rc = s3_make_parents(j->store, j->path)) == 0)
		j->rc = fs_write_begin(j->store, j->path, UPLOAD_NEW, 0,
				       &j->existed, &j->up);
}

static void
put_ready(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;
	struct http_conn *c;
	struct ingest_cbs cbs = {put_drained, put_done_cb};

	if ((r = s3_job_end(j)) == NULL)
		return;
	c = r->c;
	if (j->err != S3_OK || j->rc < 0) {
		c->close_after = c->body_left > 0;
		if (j->err != S3_OK)
			s3_error(r, j->err, NULL);
		else
			s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_BUCKET);
		s3_job_free(j);
		return;
	}
	if ((c->ing = ingest_new(c->srv->o.pool, j->up, &cbs, r)) == NULL) {
		s3_job_free(j);
		c->close_after = true;
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	j->up = NULL;
	s3_job_free(j);
	/* From here the ingest owns the sums (its jobs may outlive r). */
	ingest_set_extra(c->ing, hash_chunk, r->h, s3_hash_free);
	r->h_owned = false;
	if (c->req.expect_continue)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	s3_body_start(r);
}

void
s3_body_start(struct s3_req *r)
{
	r->c->upload_more = s3_body_more;
	r->c->st = CONN_UPLOAD;
	s3_body_more(r->c);
}

/* Base64 of a Content-MD5 into out[16]. */
static int
content_md5(struct span v, uint8_t out[16])
{
	uint8_t tmp[24];
	char in[32];
	int n;

	if (v.len != 24)
		return (-1);
	memcpy(in, v.p, 24);
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, 24);
	/* 24 characters with "==" decode to 18 bytes, 2 of them padding. */
	if (n != 18 || v.p[22] != '=' || v.p[23] != '=')
		return (-1);
	memcpy(out, tmp, 16);
	return (0);
}

/* Sets up how the body is read: aws-chunked or not, what is checked. */
enum s3_err
s3_body_setup(struct s3_req *r)
{
	struct s3_chunked_cfg cfg;
	struct span v;
	uint64_t dl;

	if ((r->pending = evbuffer_new()) == NULL ||
	    (r->h = calloc(1, sizeof(*r->h))) == NULL)
		return (S3_ERR_INTERNAL);
	r->h_owned = true;
	if (s3_sum_init(&r->h->etag_md5, S3_SUM_MD5) < 0)
		return (S3_ERR_INTERNAL);
	if (s3_header(r, "Content-MD5", &v)) {
		if (content_md5(v, r->want_md5) < 0)
			return (S3_ERR_INVALID_DIGEST);
		if (s3_sum_init(&r->h->md5, S3_SUM_MD5) < 0)
			return (S3_ERR_INTERNAL);
		r->h->check_md5 = true;
	}
	{
		static const enum s3_sum_alg algs[] = {
		    S3_SUM_CRC32, S3_SUM_CRC32C, S3_SUM_SHA1, S3_SUM_SHA256};
		size_t i;

		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			if (!s3_header(r, s3_sum_header(algs[i]), &v))
				continue;
			if (r->h->check_csum)
				return (S3_ERR_INVALID_REQUEST);
			if (s3_unb64(v, r->want_csum, s3_sum_len(algs[i])) < 0)
				return (S3_ERR_INVALID_DIGEST);
			if (s3_sum_init(&r->h->csum, algs[i]) < 0)
				return (S3_ERR_INTERNAL);
			r->csum_alg = algs[i];
			r->h->check_csum = true;
		}
	}
	switch (r->auth.payload) {
	case SIGV4_PAYLOAD_SIGNED:
		if (s3_sum_init(&r->h->sha, S3_SUM_SHA256) < 0)
			return (S3_ERR_INTERNAL);
		r->h->check_sha = true;
		return (S3_OK);
	case SIGV4_PAYLOAD_UNSIGNED:
		return (S3_OK);
	default:
		break;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.payload = r->auth.payload;
	cfg.chain = &r->chain;
	cfg.trailer_sum = S3_SUM_NONE;
	cfg.decoded_length = -1;
	if (s3_header(r, "x-amz-decoded-content-length", &v)) {
		if (span_u64(v, INT64_MAX, &dl) < 0)
			return (S3_ERR_INVALID_ARGUMENT);
		cfg.decoded_length = (int64_t)dl;
	}
	if (s3_header(r, "x-amz-trailer", &v)) {
		static const enum s3_sum_alg algs[] = {
		    S3_SUM_CRC32, S3_SUM_CRC32C, S3_SUM_SHA1, S3_SUM_SHA256};
		size_t i;

		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			if (span_eq_ci(v, s3_sum_header(algs[i])))
				cfg.trailer_sum = r->csum_alg = algs[i];
		if (cfg.trailer_sum == S3_SUM_NONE)
			return (S3_ERR_INVALID_ARGUMENT);
	}
	cfg.sink = sink;
	cfg.arg = r;
	log_debug("s3: %s: aws-chunked body (%s), trailer %s", r->c->peer,
		  r->auth.payload_hash,
		  cfg.trailer_sum ? s3_sum_header(cfg.trailer_sum) : "none");
	if ((r->dec = s3_chunked_new(&cfg)) == NULL)
		return (S3_ERR_INTERNAL);
	return (S3_OK);
}

void
s3_put_object(struct s3_req *r)
{
	struct http_conn *c = r->c;
	struct s3_job *j;
	struct span v;
	enum s3_err e;

	if (s3_header(r, "x-amz-copy-source", &v)) {
		s3_copy_object(r, v);
		return;
	}
	if (!c->req.chunked && c->req.content_length < 0) {
		c->close_after = true;
		s3_error(r, S3_ERR_MISSING_CONTENT_LENGTH, NULL);
		return;
	}
	/* "a/b/": a folder, as clients make them to show one. */
	if (r->key[strlen(r->key) - 1] == '/') {
		s3_error(r, S3_ERR_NOT_IMPLEMENTED,
			 "keys ending in '/' "
			 "(folder markers) are not stored");
		return;
	}
	{
		struct buf mb;
		int rc;

		buf_init(&mb, INDEX_ATTRS_MAX);
		rc = s3_meta_from_request(r, &mb);
		buf_release(&mb);
		if (rc < 0) {
			c->close_after = c->body_left > 0;
			s3_error(r, S3_ERR_INVALID_ARGUMENT,
				 rc == -E2BIG ? "metadata headers over 2 KiB"
					      : "out of memory");
			return;
		}
	}
	if (s3_write_refused(r, r->path))
		return;
	if ((e = s3_body_setup(r)) != S3_OK) {
		c->close_after = c->body_left > 0;
		s3_error(r, e, NULL);
		return;
	}
	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, put_run, put_ready);
}

/* CopyObject: PUT with x-amz-copy-source. */

struct copy_args {
	char src[PATH_LEN_MAX + 1];
	char src_bucket[S3_BUCKET_MAX + 1];
	bool replace;	 /* metadata from the request */
	struct buf meta; /* the request's, if replace */
	int64_t mtime;
};

/* Copies the source's bytes into the upload; its ETag and metadata (or
 * the request's) become the new version's. */
static void
copy_args_free(void *arg)
{
	struct copy_args *a = arg;

	buf_release(&a->meta);
	free(a);
}

static void
copy_run(void *arg)
{
	struct s3_job *j = arg;
	struct copy_args *a = j->arg;
	char bare[S3_ETAG_MAX + 3];
	struct fs_entry e;
	struct fs_file f;
	struct iovec iov;
	struct buf at;
	uint8_t *b = NULL;
	off_t off = 0;
	ssize_t k;
	int rc;

	if ((j->err = bucket_check(j->store, a->src_bucket)) != S3_OK ||
	    (j->err = bucket_check(j->store, j->bucket)) != S3_OK)
		return;
	if ((rc = fs_open(j->store, a->src, FS_OPEN_META, &f)) < 0) {
		j->err = rc == -ENOENT || rc == -ENOTDIR || rc == -EISDIR
			     ? S3_ERR_NO_SUCH_KEY
			     : S3_ERR_INTERNAL;
		return;
	}
	if (f.remote) {
		/* The bytes are held elsewhere: copy_done fetches them. */
		j->rc = -EREMOTE;
		return;
	}
	if ((j->rc = s3_etag_of(j->store, a->src, f.meta.sha256, f.fd, j->attrs,
				sizeof(j->attrs), &j->attrs_len, j->etag)) < 0)
		goto out;
	if (fs_stat(j->store, j->path, 0, &e) == 0 && e.type == FS_DIR) {
		j->rc = -EISDIR;
		goto out;
	}
	if ((j->rc = s3_make_parents(j->store, j->path)) < 0 ||
	    (j->rc = fs_write_begin(j->store, j->path, UPLOAD_NEW, 0,
				    &j->existed, &j->up)) < 0)
		goto out;
	if ((b = malloc(1 << 20)) == NULL) {
		j->rc = -ENOMEM;
		goto out;
	}
	while ((k = pread(f.fd, b, 1 << 20, off)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			j->rc = -errno;
			goto out;
		}
		iov.iov_base = b;
		iov.iov_len = (size_t)k;
		if ((j->rc = upload_write(j->up, &iov, 1)) < 0)
			goto out;
		off += k;
	}
	buf_init(&at, INDEX_ATTRS_MAX);
	(void)str_copy(bare, sizeof(bare), j->etag + 1);
	bare[strlen(bare) - 1] = '\0';
	if ((j->rc = buf_printf(&at, "etag:%s\n", bare)) == 0)
		j->rc = a->replace
			    ? buf_append(
				  &at, a->meta.data ? (void *)a->meta.data : "",
				  a->meta.len)
			    : s3_meta_copy_headers(j->attrs, j->attrs_len, &at);
	if (j->rc == 0)
		j->rc = upload_set_attrs(j->up, at.data, at.len);
	buf_release(&at);
	if (j->rc == 0 && (j->rc = upload_flush(j->up)) == 0 &&
	    (j->rc = upload_commit(j->up, &j->m)) == 0)
		a->mtime = j->m.mtime_ns / 1000000000;
out:
	free(b);
	close(f.fd);
}

static void
copy_done(void *arg)
{
	struct s3_job *j = arg;
	struct copy_args *a = j->arg;
	struct s3_req *r;

	if ((r = s3_job_end(j)) == NULL)
		return; /* a goes with j */
	if (j->rc == -EREMOTE) {
		s3_job_fetch_first(j, a->src, copy_run, copy_done);
		return;
	}
	j->arg = NULL;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_KEY);
	else if (s3_xml_decl(&j->out) < 0 ||
		 s3_xml_open_ns(&j->out, "CopyObjectResult") < 0 ||
		 s3_xml_elem_time(&j->out, "LastModified", a->mtime) < 0 ||
		 s3_xml_elem(&j->out, "ETag", j->etag) < 0 ||
		 s3_xml_close(&j->out, "CopyObjectResult") < 0)
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
	else {
		log_info("s3: %s copied %s to %s", r->c->peer, a->src, r->path);
		s3_respond_xml(r, 200, &j->out);
	}
	buf_release(&a->meta);
	free(a);
	s3_job_free(j);
}

static void
s3_copy_object(struct s3_req *r, struct span src)
{
	char raw[PATH_LEN_MAX + 1], bucket[S3_BUCKET_MAX + 1];
	struct copy_args *a;
	struct s3_job *j;
	struct span d;
	const char *p, *slash;
	size_t i, n;

	/* "/bucket/key" or "bucket/key", percent-encoded; no versions. */
	for (i = 0, n = src.len; i < src.len; i++)
		if (src.p[i] == '?') {
			n = i;
			break;
		}
	if (http_unescape(src.p, n, raw, sizeof(raw)) < 0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad x-amz-copy-source");
		return;
	}
	p = raw[0] == '/' ? raw + 1 : raw;
	if ((slash = strchr(p, '/')) == NULL ||
	    (size_t)(slash - p) > S3_BUCKET_MAX || slash[1] == '\0') {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad x-amz-copy-source");
		return;
	}
	memcpy(bucket, p, (size_t)(slash - p));
	bucket[slash - p] = '\0';
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	buf_init(&a->meta, INDEX_ATTRS_MAX);
	(void)str_copy(a->src_bucket, sizeof(a->src_bucket), bucket);
	if (!s3_key_ok(r, bucket, slash + 1, a->src, sizeof(a->src)))
		goto fail;
	a->replace = s3_header(r, "x-amz-metadata-directive", &d) &&
		     span_eq_ci(d, "REPLACE");
	if (a->replace && s3_meta_from_request(r, &a->meta) < 0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT,
			 "metadata headers over "
			 "2 KiB");
		goto fail;
	}
	if (!a->replace && strcmp(a->src, r->path) == 0) {
		s3_error(
		    r, S3_ERR_INVALID_REQUEST,
		    "This copy request is "
		    "illegal because it is trying to copy an object to itself "
		    "without changing the object's metadata.");
		goto fail;
	}
	if (s3_write_refused(r, r->path))
		goto fail;
	if ((j = s3_job_new(r)) == NULL)
		goto fail;
	j->arg = a;
	j->arg_free = copy_args_free;
	s3_job_submit(j, copy_run, copy_done);
	return;
fail:
	buf_release(&a->meta);
	free(a);
}

/* GET and HEAD */

static void
remote_ready(void *arg)
{
	struct http_conn *c = arg;

	if (c->st == CONN_SENDING && !fs_reader_done(&c->rd))
		http_send_more(c);
}

static void
remote_failed(void *arg, const char *why)
{
	struct http_conn *c = arg;

	log_info("s3: %s: reading from the holders failed: %s", c->peer, why);
	c->close_after = true;
	http_conn_close(c, why);
}

/*
 * GetObject?versionId=ID: the current content if ID names it, else the
 * version kept under .shoal/versions (store/versions.h), without the
 * attributes of the object (they went with the content it replaced).
 */
struct get_version_arg {
	char	want[VERS_ID_MAX + 1];
	char	sent[VERS_ID_MAX + 1];
};

/*
 * j->rc and j->f as fs_open left them.  *vid receives the id of what is
 * sent; true when that is the current content (the plain GET goes on).
 */
static bool
get_version(struct s3_job *j, const char *want, char *vid)
{
	struct vers_row row;
	int fd;

	if (j->rc == 0) {
		vers_id(j->f.meta.sha256, j->f.meta.mtime_ns, vid);
		if (strcmp(vid, want) == 0)
			return (true);
		if (j->f.fd >= 0)
			close(j->f.fd);
		j->f.fd = -1;
	}
	j->attrs_len = 0;
	if ((fd = vers_open(j->store, j->path, want, &row)) < 0) {
		j->rc = -ENOENT;
		j->err = bucket_check(j->store, j->bucket);
		if (j->err == S3_OK)
			j->err = S3_ERR_NO_SUCH_VERSION;
		return (false);
	}
	j->rc = 0;
	memset(&j->f, 0, sizeof(j->f));
	j->f.fd = fd;
	j->f.size = row.size;
	j->f.mtime = (time_t)(row.mtime_ns / 1000000000);
	memcpy(j->f.meta.sha256, row.sha256, HASH_LEN);
	s3_etag(row.sha256, j->etag);
	(void)str_copy(vid, VERS_ID_MAX + 1, want);
	return (false);
}

static void
get_run(void *arg)
{
	struct s3_job *j = arg;
	struct get_version_arg *va = j->arg;

	j->rc = fs_open(j->store, j->path, FS_OPEN_META, &j->f);
	if (va != NULL) {
		if (j->rc == 0 && j->f.remote)
			j->rc = -ENOENT;
		if (j->rc == 0 || j->rc == -ENOENT || j->rc == -ENOTDIR ||
		    j->rc == -EISDIR) {
			if (j->rc != 0)
				j->rc = -ENOENT;
			if (!get_version(j, va->want, va->sent))
				return;
		}
	}
	if (j->rc == -ENOENT || j->rc == -ENOTDIR || j->rc == -EISDIR) {
		j->rc = -ENOENT;
		j->err = bucket_check(j->store, j->bucket);
		return;
	}
	if (j->rc == 0)
		j->rc = s3_etag_of(j->store, j->path, j->f.meta.sha256,
				   j->f.remote ? -1 : j->f.fd, j->attrs,
				   sizeof(j->attrs), &j->attrs_len, j->etag);
}

static bool
etag_in(const char *list, const char *etag)
{
	char bare[33];

	if (strcmp(list, "*") == 0)
		return (true);
	memcpy(bare, etag + 1, 32);
	bare[32] = '\0';
	return (strstr(list, bare) != NULL);
}

/* The conditions of RFC 7232 as S3 applies them: S3_OK to go on. */
static enum s3_err
conditions(struct s3_req *r, const char *etag, int64_t mtime)
{
	char v[256];
	struct span s;
	int64_t t;
	bool im = false;

	if (s3_header_str(r, "If-Match", v, sizeof(v)) && v[0]) {
		if (!etag_in(v, etag))
			return (S3_ERR_PRECONDITION_FAILED);
		im = true;
	}
	if (!im && s3_header(r, "If-Unmodified-Since", &s) &&
	    sigv4_parse_time(s, &t, NULL) == 0 && mtime > t)
		return (S3_ERR_PRECONDITION_FAILED);
	if (s3_header_str(r, "If-None-Match", v, sizeof(v)) && v[0]) {
		if (etag_in(v, etag))
			return (S3_ERR_NOT_MODIFIED);
		return (S3_OK);
	}
	if (s3_header(r, "If-Modified-Since", &s) &&
	    sigv4_parse_time(s, &t, NULL) == 0 && mtime <= t)
		return (S3_ERR_NOT_MODIFIED);
	return (S3_OK);
}

/* response-* parameters of a GET override headers of the answer. */
static void
overrides(struct s3_req *r, struct buf *h, const char **ctype)
{
	static const struct {
		const char *param, *header;
	} o[] = {
	    {"response-content-language", "Content-Language"},
	    {"response-expires", "Expires"},
	    {"response-cache-control", "Cache-Control"},
	    {"response-content-disposition", "Content-Disposition"},
	    {"response-content-encoding", "Content-Encoding"},
	};
	const char *v;
	size_t i;

	if ((v = http_query_get(&r->q, "response-content-type")) != NULL &&
	    strpbrk(v, "\r\n") == NULL)
		*ctype = v;
	for (i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if ((v = http_query_get(&r->q, o[i].param)) != NULL &&
		    strpbrk(v, "\r\n") == NULL &&
		    buf_printf(h, "%s: %s\r\n", o[i].header, v) < 0)
			break;
}

static void
get_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;
	struct http_conn *c;
	const struct http_ctl *ctl;
	char date[40], why[256] = "", stored_ctype[256];
	const char *etag = j->etag, *ctype = "binary/octet-stream";
	bool has_ctype = false;
	uint64_t size, first = 0, last, rsize;
	struct buf h;
	struct span rg;
	int status = 200, rc, bad;
	enum s3_err e;

	if ((r = s3_job_end(j)) == NULL)
		return;
	c = r->c;
	ctl = &c->srv->o.ctl;
	if (j->err != S3_OK || j->rc < 0) {
		if (j->err != S3_OK)
			s3_error(r, j->err, NULL);
		else
			s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_KEY);
		s3_job_free(j);
		return;
	}
	s3_http_date((int64_t)j->f.mtime, date);
	if ((e = conditions(r, etag, (int64_t)j->f.mtime)) != S3_OK) {
		if (e == S3_ERR_NOT_MODIFIED) {
			char extra[128];

			(void)str_fmt(extra, sizeof(extra),
				      "ETag: %s\r\n"
				      "Last-Modified: %s\r\n",
				      etag, date);
			http_respond(c, 304, NULL, extra, NULL, 0);
		} else
			s3_error(r, e, NULL);
		s3_job_free(j);
		return;
	}
	if (j->f.remote) {
		if (ctl->remote == NULL) {
			s3_error(r, S3_ERR_NO_SUCH_KEY, NULL);
			s3_job_free(j);
			return;
		}
		rc = fs_reader_remote(&c->rd, ctl->remote, r->path,
				      remote_ready, remote_failed, c, &rsize,
				      why, sizeof(why));
		if (rc < 0) {
			s3_error(r, S3_ERR_UNAVAILABLE, why[0] ? why : NULL);
			s3_job_free(j);
			return;
		}
	}
	size = j->f.size;
	last = size ? size - 1 : 0;
	if (c->req.method == HTTP_GET && s3_header(r, "Range", &rg) &&
	    c->req.range[0]) {
		rc = http_parse_range(c->req.range, size, &first, &last);
		if (rc == -416) {
			fs_reader_release(&c->rd);
			s3_error(r, S3_ERR_INVALID_RANGE, NULL);
			s3_job_free(j);
			return;
		}
		if (rc == 0)
			status = 206;
		else {
			first = 0;
			last = size ? size - 1 : 0;
		}
	}
	buf_init(&h, 8192);
	bad = buf_printf(&h,
			 "ETag: %s\r\nLast-Modified: %s\r\n"
			 "Accept-Ranges: bytes\r\nx-amz-request-id: %s\r\n",
			 etag, date, r->id);
	if (bad == 0 && j->arg != NULL)
		bad = buf_printf(&h, "x-amz-version-id: %s\r\n",
				 ((struct get_version_arg *)j->arg)->sent);
	if (status == 206 && bad == 0)
		bad = buf_printf(&h, "Content-Range: bytes %llu-%llu/%llu\r\n",
				 (unsigned long long)first,
				 (unsigned long long)last,
				 (unsigned long long)size);
	if (bad == 0)
		bad = s3_meta_headers(j->attrs, j->attrs_len, &h, &has_ctype);
	if (has_ctype && s3_meta_get(j->attrs, j->attrs_len, "Content-Type",
				     stored_ctype, sizeof(stored_ctype)))
		ctype = stored_ctype;
	if (c->req.method == HTTP_GET)
		overrides(r, &h, &ctype);
	/* The stored checksum, when asked and the whole object goes out. */
	if (bad == 0 && status == 200) {
		char cs[96];
		struct span mode;

		if (s3_header(r, "x-amz-checksum-mode", &mode) &&
		    span_eq_ci(mode, "ENABLED") &&
		    s3_meta_get(j->attrs, j->attrs_len, "checksum", cs,
				sizeof(cs)) &&
		    strchr(cs, ' ') != NULL) {
			*strchr(cs, ' ') = '\0';
			bad = buf_printf(&h, "%s: %s\r\n", cs,
					 cs + strlen(cs) + 1);
		}
	}
	if (bad < 0 || buf_append(&h, "", 1) < 0) {
		buf_release(&h);
		fs_reader_release(&c->rd);
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		s3_job_free(j);
		return;
	}
	http_respond_head(c, status, ctype, (const char *)h.data,
			  size ? last - first + 1 : 0);
	buf_release(&h);
	if (c->req.method == HTTP_HEAD || size == 0) {
		fs_reader_release(&c->rd);
		http_response_done(c);
		s3_job_free(j);
		return;
	}
	if (j->f.remote)
		fs_reader_range(&c->rd, first, last + 1);
	else {
		fs_reader_local(&c->rd, j->f.fd, first, last + 1);
		j->f.fd = -1;
	}
	s3_job_free(j);
	http_send_more(c);
}

void
s3_get_object(struct s3_req *r)
{
	struct get_version_arg *va = NULL;
	struct s3_job *j;
	const char *vid;

	if (r->key[strlen(r->key) - 1] == '/') {
		s3_error(r, S3_ERR_NO_SUCH_KEY, NULL);
		return;
	}
	if ((j = s3_job_new(r)) == NULL)
		return;
	if ((vid = http_query_get(&r->q, "versionId")) != NULL) {
		if ((va = calloc(1, sizeof(*va))) == NULL ||
		    str_copy(va->want, sizeof(va->want), vid) < 0) {
			free(va);
			s3_job_free(j);
			s3_error(r, va ? S3_ERR_NO_SUCH_VERSION :
			    S3_ERR_INTERNAL, NULL);
			return;
		}
		j->arg = va;
		j->arg_free = free;
	}
	s3_job_submit(j, get_run, get_done);
}

/* DELETE */

static int
delete_one(struct store *s, const char *path)
{
	int rc = fs_unlink(s, path);

	/* S3 answers a missing key as deleted. */
	if (rc == -ENOENT || rc == -ENOTDIR || rc == -EISDIR)
		return (0);
	if (rc == 0)
		remove_empty_parents(s, path);
	return (rc);
}

static void
delete_run(void *arg)
{
	struct s3_job *j = arg;

	if ((j->err = bucket_check(j->store, j->bucket)) != S3_OK)
		return;
	j->rc = delete_one(j->store, j->path);
}

static void
delete_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;
	char extra[64];

	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_KEY);
	else {
		(void)str_fmt(extra, sizeof(extra), "x-amz-request-id: %s\r\n",
			      r->id);
		http_respond(r->c, 204, NULL, extra, NULL, 0);
	}
	s3_job_free(j);
}

void
s3_delete_object(struct s3_req *r)
{
	struct s3_job *j;

	if (s3_write_refused(r, r->path))
		return;
	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, delete_run, delete_done);
}

/* DeleteObjects: POST /bucket?delete with a <Delete> body. */

struct delete_many {
	struct s3_xml_result x;
	int *rc;      /* one per key */
	char **paths; /* NULL: not a valid key */
};

static void
delete_many_free(struct delete_many *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->x.nkeys && d->paths; i++)
		free(d->paths[i]);
	free(d->paths);
	free(d->rc);
	s3_xml_result_release(&d->x);
	free(d);
}

static void
delete_many_free_v(void *d)
{
	delete_many_free(d);
}

static void
delete_many_run(void *arg)
{
	struct s3_job *j = arg;
	struct delete_many *d = j->arg;
	size_t i;

	if ((j->err = bucket_check(j->store, j->bucket)) != S3_OK)
		return;
	for (i = 0; i < d->x.nkeys; i++)
		if (d->paths[i])
			d->rc[i] = delete_one(j->store, d->paths[i]);
	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "DeleteResult") < 0) {
		j->rc = -ENOMEM;
		return;
	}
	for (i = 0; i < d->x.nkeys; i++) {
		const char *k = d->x.keys[i].key;

		if (d->rc[i] == 0) {
			if (d->x.quiet)
				continue;
			if (s3_xml_open(&j->out, "Deleted") < 0 ||
			    s3_xml_elem(&j->out, "Key", k) < 0 ||
			    s3_xml_close(&j->out, "Deleted") < 0)
				j->rc = -ENOMEM;
			continue;
		}
		if (s3_xml_open(&j->out, "Error") < 0 ||
		    s3_xml_elem(&j->out, "Key", k) < 0 ||
		    s3_xml_elem(&j->out, "Code",
				d->rc[i] == -EINVAL  ? "InvalidArgument"
				: d->rc[i] == -EBUSY ? "OperationAborted"
						     : "InternalError") < 0 ||
		    s3_xml_elem(&j->out, "Message",
				d->rc[i] == -EINVAL
				    ? "this key cannot be a file name"
				    : strerror(-d->rc[i])) < 0 ||
		    s3_xml_close(&j->out, "Error") < 0)
			j->rc = -ENOMEM;
	}
	if (s3_xml_close(&j->out, "DeleteResult") < 0)
		j->rc = -ENOMEM;
}

static void
delete_many_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;

	delete_many_free(j->arg);
	j->arg = NULL;
	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_BUCKET);
	else
		s3_respond_xml(r, 200, &j->out);
	s3_job_free(j);
}

void
s3_delete_objects(struct s3_req *r)
{
	struct http_conn *c = r->c;
	struct delete_many *d;
	struct s3_job *j;
	enum s3_err e;
	size_t i;

	if (c->req.chunked || c->req.content_length < 0) {
		c->close_after = true;
		s3_error(r, S3_ERR_MISSING_CONTENT_LENGTH, NULL);
		return;
	}
	if (c->body_left > S3_XML_DELETE_BODY_MAX) {
		c->close_after = true;
		s3_error(r, S3_ERR_MALFORMED_XML, "the body is too large");
		return;
	}
	if (c->body_left > 0) {
		s3_read_body(r);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	e = s3_xml_parse(S3_XML_DELETE,
			 c->body.data ? c->body.data : (void *)"", c->body.len,
			 &d->x);
	if (e != S3_OK) {
		free(d);
		s3_error(r, e, NULL);
		return;
	}
	d->rc = calloc(d->x.nkeys ? d->x.nkeys : 1, sizeof(*d->rc));
	d->paths = calloc(d->x.nkeys ? d->x.nkeys : 1, sizeof(*d->paths));
	if (d->rc == NULL || d->paths == NULL) {
		delete_many_free(d);
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	for (i = 0; i < d->x.nkeys; i++) {
		char path[PATH_LEN_MAX + 1];
		const char *k = d->x.keys[i].key;
		size_t n = d->x.keys[i].key_len;

		if (n == 0 || n > S3_KEY_MAX || strlen(k) != n ||
		    k[n - 1] == '/' ||
		    str_fmt(path, sizeof(path), "%s/%s", r->bucket, k) < 0 ||
		    !path_valid(path))
			continue;
		/* A locked key is refused, the others deleted. */
		{
			const struct http_ctl *ctl = &c->srv->o.ctl;
			char why[256];

			if (ctl->write_check &&
			    ctl->write_check(ctl->arg, path, r->account,
					     c->req.lock_token, why,
					     sizeof(why)) != 0) {
				d->rc[i] = -EBUSY;
				continue;
			}
		}
		d->paths[i] = strdup(path);
	}
	for (i = 0; i < d->x.nkeys; i++)
		if (d->paths[i] == NULL && d->rc[i] == 0)
			d->rc[i] = -EINVAL;
	if ((j = s3_job_new(r)) == NULL) {
		delete_many_free(d);
		return;
	}
	j->arg = d;
	j->arg_free = delete_many_free_v;
	s3_job_submit(j, delete_many_run, delete_many_done);
}
