/*
 * s3_bucket: buckets, which are the top-level folders, and the listing of
 * their objects.
 *
 * S3 lists keys in UTF-8 binary order across folders.  A folder's entries
 * are sorted with a folder's name taken as "name/", and the walk goes down
 * in that order, so the keys come out in S3's order without holding them
 * all: "a-c" (0x2d) before everything under "a/" (0x2f) before "a0".  A
 * subtree wholly before the marker or outside the prefix is not entered;
 * with a delimiter, a folder that is a common prefix is named, not
 * entered.  Only files are objects: empty folders list nothing.
 */
#include "front/s3/s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "front/s3/s3_xml.h"

#define LIST_MAX_KEYS 1000

/* Buckets */

static int
bucket_entry(const struct fs_entry *e, void *arg)
{
	struct s3_job *j = arg;

	if (e->type != FS_DIR)
		return (0);
	if (s3_xml_open(&j->out, "Bucket") < 0 ||
	    s3_xml_elem(&j->out, "Name", e->name) < 0 ||
	    s3_xml_elem_time(&j->out, "CreationDate", (int64_t)e->mtime) < 0 ||
	    s3_xml_close(&j->out, "Bucket") < 0)
		return (-1);
	return (0);
}

static void
list_buckets_run(void *arg)
{
	struct s3_job *j = arg;

	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "ListAllMyBucketsResult") < 0 ||
	    s3_xml_open(&j->out, "Owner") < 0 ||
	    s3_xml_elem(&j->out, "ID", j->account) < 0 ||
	    s3_xml_elem(&j->out, "DisplayName", j->account) < 0 ||
	    s3_xml_close(&j->out, "Owner") < 0 ||
	    s3_xml_open(&j->out, "Buckets") < 0) {
		j->rc = -ENOMEM;
		return;
	}
	j->rc = fs_list(j->store, "", 0, FS_LIST_MAX, bucket_entry, j);
	if (j->rc == 0 && (s3_xml_close(&j->out, "Buckets") < 0 ||
			   s3_xml_close(&j->out, "ListAllMyBucketsResult") < 0))
		j->rc = -ENOMEM;
}

static void
xml_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;

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
s3_list_buckets(struct s3_req *r)
{
	struct s3_job *j;

	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, list_buckets_run, xml_done);
}

/* The bucket exists (a folder at the top): 0, or the error to answer. */
static enum s3_err
bucket_exists(struct store *s, const char *bucket)
{
	struct fs_entry e;
	int rc = fs_stat(s, bucket, 0, &e);

	if (rc == -ENOENT || rc == -ENOTDIR || (rc == 0 && e.type != FS_DIR))
		return (S3_ERR_NO_SUCH_BUCKET);
	return (rc < 0 ? S3_ERR_INTERNAL : S3_OK);
}

static void
head_bucket_run(void *arg)
{
	struct s3_job *j = arg;

	j->err = bucket_exists(j->store, j->bucket);
}

static void
empty_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;
	char extra[128];

	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_BUCKET);
	else {
		(void)str_fmt(extra, sizeof(extra),
			      "x-amz-request-id: %s\r\n"
			      "%s%s%s",
			      r->id,
			      r->c->req.method == HTTP_PUT ? "Location: /" : "",
			      r->c->req.method == HTTP_PUT ? r->bucket : "",
			      r->c->req.method == HTTP_PUT ? "\r\n" : "");
		http_respond(r->c, r->c->req.method == HTTP_DELETE ? 204 : 200,
			     NULL, extra, NULL, 0);
	}
	s3_job_free(j);
}

void
s3_head_bucket(struct s3_req *r)
{
	struct s3_job *j;

	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, head_bucket_run, empty_done);
}

static void
create_bucket_run(void *arg)
{
	struct s3_job *j = arg;

	j->rc = fs_mkdir(j->store, j->bucket);
	if (j->rc == -EEXIST) {
		j->rc = 0;
		j->err = bucket_exists(j->store, j->bucket) == S3_OK
			     ? S3_ERR_BUCKET_OWNED
			     : S3_ERR_BUCKET_EXISTS;
	}
}

void
s3_create_bucket(struct s3_req *r)
{
	struct http_conn *c = r->c;
	struct s3_job *j;

	/* The body (CreateBucketConfiguration) is read and ignored: the
	 * node has one location. */
	if (c->body_left > 0) {
		if (c->body_left > S3_XML_BODY_MAX) {
			c->close_after = true;
			s3_error(r, S3_ERR_ENTITY_TOO_LARGE, NULL);
			return;
		}
		s3_read_body(r);
		return;
	}
	if (s3_write_refused(r, r->bucket))
		return;
	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, create_bucket_run, empty_done);
}

static void
delete_bucket_run(void *arg)
{
	struct s3_job *j = arg;

	if ((j->err = bucket_exists(j->store, j->bucket)) != S3_OK)
		return;
	j->rc = fs_rmdir(j->store, j->bucket);
	if (j->rc == -ENOTEMPTY || j->rc == -EEXIST) {
		j->rc = 0;
		j->err = S3_ERR_BUCKET_NOT_EMPTY;
	}
}

void
s3_delete_bucket(struct s3_req *r)
{
	struct s3_job *j;

	if (s3_write_refused(r, r->bucket))
		return;
	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, delete_bucket_run, empty_done);
}

static void
location_run(void *arg)
{
	struct s3_job *j = arg;
	const char *region = j->arg;

	if ((j->err = bucket_exists(j->store, j->bucket)) != S3_OK)
		return;
	/* us-east-1 is named by an empty constraint, as S3 does. */
	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "LocationConstraint") < 0 ||
	    (strcmp(region, "us-east-1") != 0 &&
	     s3_xml_text(&j->out, region, strlen(region)) < 0) ||
	    s3_xml_close(&j->out, "LocationConstraint") < 0)
		j->rc = -ENOMEM;
}

void
s3_bucket_location(struct s3_req *r)
{
	struct s3_ctx *ctx = r->c->srv->o.route_arg;
	struct s3_job *j;

	if ((j = s3_job_new(r)) != NULL) {
		j->arg = ctx->region;
		s3_job_submit(j, location_run, xml_done);
	}
}

static void
versioning_run(void *arg)
{
	struct s3_job *j = arg;

	if ((j->err = bucket_exists(j->store, j->bucket)) != S3_OK)
		return;
	/* The node keeps old versions (versions.keep > 0): Enabled, and
	 * ListObjectVersions and GetObject?versionId= read them.  Without,
	 * an empty configuration: versioning was never enabled. */
	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "VersioningConfiguration") < 0 ||
	    (j->store->keep.keep > 0 &&
	     s3_xml_elem(&j->out, "Status", "Enabled") < 0) ||
	    s3_xml_close(&j->out, "VersioningConfiguration") < 0)
		j->rc = -ENOMEM;
}

void
s3_bucket_versioning(struct s3_req *r)
{
	struct s3_job *j;

	if ((j = s3_job_new(r)) != NULL)
		s3_job_submit(j, versioning_run, xml_done);
}

/* Listing objects */

struct list_args {
	bool v2;
	bool url;   /* encoding-type=url */
	bool owner; /* v1 always; v2 with fetch-owner */
	char prefix[S3_KEY_MAX + 1];
	char delim[64];
	char marker[S3_KEY_MAX + 1]; /* or start-after */
	char token[S3_KEY_MAX + 1];  /* v2 continuation */
	char start_after[S3_KEY_MAX + 1];
	unsigned max;
	/* The walk */
	unsigned count;
	bool truncated;
	char last[S3_KEY_MAX + 2]; /* last key or prefix named */
	char last_cp[S3_KEY_MAX + 2];
	struct buf items;
	int rc;
};

struct lent {
	char name[PATH_NAME_MAX + 2]; /* "name/" for a folder */
	bool dir;
	uint64_t size;
	time_t mtime;
	bool remote_entry; /* held elsewhere */
};

struct lents {
	struct lent *v;
	size_t n, cap;
};

static int
collect(const struct fs_entry *e, void *arg)
{
	struct lents *l = arg;
	struct lent *x;

	if (e->type == FS_LINK)
		return (0);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct lent *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL)
			return (-1);
		l->v = v;
		l->cap = cap;
	}
	x = &l->v[l->n++];
	(void)str_fmt(x->name, sizeof(x->name), "%s%s", e->name,
		      e->type == FS_DIR ? "/" : "");
	x->dir = e->type == FS_DIR;
	x->size = e->size;
	x->mtime = e->mtime;
	x->remote_entry = e->remote;
	return (0);
}

static int
lent_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct lent *)a)->name,
		       ((const struct lent *)b)->name));
}

/* Percent-encodes s as S3's encoding-type=url does ('/' kept). */
static int
url_text(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char e[3];

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~' || *p == '/') {
			if (buf_append(b, p, 1) < 0)
				return (-1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[*p >> 4];
		e[2] = hex[*p & 15];
		if (buf_append(b, e, 3) < 0)
			return (-1);
	}
	return (0);
}

static int
key_elem(struct buf *b, const struct list_args *a, const char *name,
	 const char *text)
{
	if (!a->url)
		return (s3_xml_elem(b, name, text));
	if (s3_xml_open(b, name) < 0)
		return (-1);
	{
		struct buf t;
		int rc;

		buf_init(&t, 4 * S3_KEY_MAX);
		rc = url_text(&t, text) < 0 ||
			     s3_xml_text(b, t.data ? (const char *)t.data : "",
					 t.len) < 0
			 ? -1
			 : 0;
		buf_release(&t);
		if (rc < 0)
			return (-1);
	}
	return (s3_xml_close(b, name));
}

static int
owner_elem(struct buf *b, const char *account)
{
	return (s3_xml_open(b, "Owner") < 0 ||
			s3_xml_elem(b, "ID", account) < 0 ||
			s3_xml_elem(b, "DisplayName", account) < 0 ||
			s3_xml_close(b, "Owner") < 0
		    ? -1
		    : 0);
}

/* Room for one more item; sets truncated when there is none. */
static bool
room(struct list_args *a)
{
	if (a->count < a->max)
		return (true);
	a->truncated = true;
	return (false);
}

static int
emit_prefix(struct list_args *a, const char *cp)
{
	if (strcmp(cp, a->last_cp) == 0 || strcmp(cp, a->marker) <= 0)
		return (0);
	if (!room(a))
		return (1);
	(void)str_copy(a->last_cp, sizeof(a->last_cp), cp);
	(void)str_copy(a->last, sizeof(a->last), cp);
	a->count++;
	return (s3_xml_open(&a->items, "CommonPrefixes") < 0 ||
			key_elem(&a->items, a, "Prefix", cp) < 0 ||
			s3_xml_close(&a->items, "CommonPrefixes") < 0
		    ? -1
		    : 0);
}

/* The common prefix key falls under with the delimiter, into cp; false
 * if none. */
static bool
common_prefix(const struct list_args *a, const char *key, char *cp, size_t size)
{
	size_t pl = strlen(a->prefix);
	const char *d;

	if (a->delim[0] == '\0' || (d = strstr(key + pl, a->delim)) == NULL)
		return (false);
	if ((size_t)(d - key) + strlen(a->delim) >= size)
		return (false);
	memcpy(cp, key, (size_t)(d - key) + strlen(a->delim));
	cp[(size_t)(d - key) + strlen(a->delim)] = '\0';
	return (true);
}

static int walk(struct s3_job *, struct list_args *, const char *dir,
		const char *kp);

/* One entry of a folder; 1 stops the walk (the page is full). */
static int
visit(struct s3_job *j, struct list_args *a, const char *dir, const char *kp,
      const struct lent *e)
{
	char key[S3_KEY_MAX + 2], cp[S3_KEY_MAX + 2], etag[S3_ETAG_MAX + 3];
	char sub[PATH_LEN_MAX + 1];
	size_t kl, pl = strlen(a->prefix);

	if (str_fmt(key, sizeof(key), "%s%s", kp, e->name) < 0)
		return (0); /* longer than any key */
	kl = strlen(key);
	/* Outside the prefix, and nothing under it inside. */
	if (strncmp(key, a->prefix, kl < pl ? kl : pl) != 0)
		return (0);
	if (e->dir) {
		/* Every key below is before the marker. */
		if (strcmp(key, a->marker) < 0 &&
		    strncmp(a->marker, key, kl) != 0)
			return (0);
		if (kl > pl && common_prefix(a, key, cp, sizeof(cp)) &&
		    strlen(cp) <= kl)
			return (emit_prefix(a, cp));
		if (str_fmt(sub, sizeof(sub), "%s/%.*s", dir,
			    (int)(strlen(e->name) - 1), e->name) < 0)
			return (0);
		return (walk(j, a, sub, key));
	}
	if (kl < pl || strcmp(key, a->marker) <= 0)
		return (0);
	if (common_prefix(a, key, cp, sizeof(cp)))
		return (emit_prefix(a, cp));
	if (!room(a))
		return (1);
	a->count++;
	(void)str_copy(a->last, sizeof(a->last), key);
	/* The index row only for what the page shows: a folder of many
	 * files is read once a page, its rows looked up a thousand at most. */
	{
		char path[PATH_LEN_MAX + 1];
		uint8_t attrs[INDEX_ATTRS_MAX];
		struct file_meta m;
		size_t alen;

		if (str_fmt(path, sizeof(path), "%s/%s", dir, e->name) < 0 ||
		    fs_meta(j->store, path, &m) < 0)
			(void)str_copy(etag, sizeof(etag), "\"\"");
		else if (s3_etag_of(j->store, path, m.sha256,
				    e->remote_entry ? -1 : S3_FD_OPEN, attrs,
				    sizeof(attrs), &alen, etag) < 0)
			s3_etag(m.sha256, etag);
	}
	if (s3_xml_open(&a->items, "Contents") < 0 ||
	    key_elem(&a->items, a, "Key", key) < 0 ||
	    s3_xml_elem_time(&a->items, "LastModified", (int64_t)e->mtime) <
		0 ||
	    s3_xml_elem(&a->items, "ETag", etag) < 0 ||
	    s3_xml_elem_u64(&a->items, "Size", e->size) < 0 ||
	    s3_xml_elem(&a->items, "StorageClass", "STANDARD") < 0 ||
	    (a->owner && owner_elem(&a->items, j->account) < 0) ||
	    s3_xml_close(&a->items, "Contents") < 0)
		return (-1);
	return (0);
}

static int
walk(struct s3_job *j, struct list_args *a, const char *dir, const char *kp)
{
	struct lents l = {NULL, 0, 0};
	size_t i;
	int rc;

	rc = fs_list(j->store, dir, 0, FS_LIST_MAX, collect, &l);
	if (rc < 0) {
		free(l.v);
		/* A folder that went away meanwhile holds nothing. */
		return (rc == -ENOENT || rc == -ENOTDIR ? 0 : rc);
	}
	qsort(l.v, l.n, sizeof(*l.v), lent_cmp);
	for (i = 0, rc = 0; i < l.n && rc == 0; i++)
		rc = visit(j, a, dir, kp, &l.v[i]);
	free(l.v);
	return (rc);
}

static void
list_run(void *arg)
{
	struct s3_job *j = arg;
	struct list_args *a = j->arg;
	struct buf *o = &j->out;
	int rc;

	if ((j->err = bucket_exists(j->store, j->bucket)) != S3_OK)
		return;
	buf_init(&a->items, 64u << 20);
	rc = a->max == 0 ? 0 : walk(j, a, j->bucket, "");
	if (rc < 0) {
		j->rc = rc;
		buf_release(&a->items);
		return;
	}
	if (s3_xml_decl(o) < 0 || s3_xml_open_ns(o, "ListBucketResult") < 0 ||
	    s3_xml_elem(o, "Name", j->bucket) < 0 ||
	    key_elem(o, a, "Prefix", a->prefix) < 0 ||
	    (!a->v2 && key_elem(o, a, "Marker", a->marker) < 0) ||
	    (a->v2 && s3_xml_elem_u64(o, "KeyCount", a->count) < 0) ||
	    s3_xml_elem_u64(o, "MaxKeys", a->max) < 0 ||
	    (a->delim[0] && key_elem(o, a, "Delimiter", a->delim) < 0) ||
	    s3_xml_elem_bool(o, "IsTruncated", a->truncated) < 0 ||
	    (a->url && s3_xml_elem(o, "EncodingType", "url") < 0) ||
	    (!a->v2 && a->truncated && a->delim[0] &&
	     key_elem(o, a, "NextMarker", a->last) < 0) ||
	    (a->v2 && a->token[0] &&
	     s3_xml_elem(o, "ContinuationToken", a->token) < 0) ||
	    (a->v2 && a->truncated &&
	     s3_xml_elem(o, "NextContinuationToken", a->last) < 0) ||
	    (a->v2 && a->start_after[0] &&
	     key_elem(o, a, "StartAfter", a->start_after) < 0) ||
	    buf_append(o, a->items.data ? a->items.data : (void *)"",
		       a->items.len) < 0 ||
	    s3_xml_close(o, "ListBucketResult") < 0)
		j->rc = -ENOMEM;
	buf_release(&a->items);
}

static void
list_done(void *arg)
{
	struct s3_job *j = arg;

	free(j->arg);
	j->arg = NULL;
	xml_done(j);
}

static bool
query_str(struct s3_req *r, const char *name, char *out, size_t size)
{
	const char *v = http_query_get(&r->q, name);

	out[0] = '\0';
	if (v == NULL)
		return (true);
	if (str_copy(out, size, v) < 0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "a parameter is too long");
		return (false);
	}
	return (true);
}

void
s3_list_objects(struct s3_req *r)
{
	struct list_args *a;
	struct s3_job *j;
	const char *v;
	uint64_t n = LIST_MAX_KEYS;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	v = http_query_get(&r->q, "list-type");
	a->v2 = v && strcmp(v, "2") == 0;
	v = http_query_get(&r->q, "encoding-type");
	a->url = v && strcmp(v, "url") == 0;
	v = http_query_get(&r->q, "fetch-owner");
	a->owner = !a->v2 || (v && strcmp(v, "true") == 0);
	if (!query_str(r, "prefix", a->prefix, sizeof(a->prefix)) ||
	    !query_str(r, "delimiter", a->delim, sizeof(a->delim)) ||
	    !query_str(r, a->v2 ? "start-after" : "marker", a->marker,
		       sizeof(a->marker)) ||
	    !query_str(r, "continuation-token", a->token, sizeof(a->token))) {
		free(a);
		return;
	}
	if ((v = http_query_get(&r->q, "max-keys")) != NULL &&
	    span_u64(span_str(v), UINT32_MAX, &n) < 0) {
		free(a);
		s3_error(r, S3_ERR_INVALID_ARGUMENT,
			 "max-keys is not a number");
		return;
	}
	a->max = n > LIST_MAX_KEYS ? LIST_MAX_KEYS : (unsigned)n;
	if (a->v2) {
		memcpy(a->start_after, a->marker, sizeof(a->start_after));
		/* The token is the last key of the previous page. */
		if (a->token[0] && strcmp(a->token, a->marker) > 0)
			memcpy(a->marker, a->token, sizeof(a->marker));
	}
	if ((j = s3_job_new(r)) == NULL) {
		free(a);
		return;
	}
	j->arg = a;
	j->arg_free = free;
	s3_job_submit(j, list_run, list_done);
}
