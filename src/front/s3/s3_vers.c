/*
 * s3_vers: ListObjectVersions (GET /bucket?versions) over the versions
 * and trash the node keeps (store/versions.h, docs/VERSIONS.md).
 *
 * A bucket is a top folder; an object's versions are its current content
 * (IsLatest), then the old contents this node kept, newest first; a key
 * deleted here or by a peer is a DeleteMarker (IsLatest) over the content
 * it had.  VersionId is the version's id, the same on every node, which
 * GetObject?versionId= reads.  Prefix, key-marker and max-keys (at most
 * 1000) are honoured; delimiter and version-id-marker are not.
 */
#include "front/s3/s3_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/parse.h"
#include "front/s3/s3_xml.h"
#include "store/hash.h"
#include "store/versions.h"

#define VERSIONS_MAX_KEYS 1000

struct vargs {
	char	 prefix[S3_KEY_MAX + 1];
	char	 marker[S3_KEY_MAX + 1];
	unsigned max;
};

struct ventry {
	char	*key;
	char	 id[VERS_ID_MAX + 5];
	bool	 latest, marker;
	int64_t	 mtime_ns;
	uint64_t size;
	char	 etag[S3_ETAG_MAX + 3];
};

struct vlist {
	const char	*bucket;
	const struct vargs *a;
	char		**paths;	/* live files */
	size_t		 npaths, cappaths;
	struct vers_row	*rows;
	char		**rpaths;
	size_t		 nrows, caprows;
	bool		 failed;
};

/* The key of path within the bucket, if it is one the request wants. */
static const char *
key_of(const struct vlist *l, const char *path)
{
	size_t n = strlen(l->bucket);
	const char *k;

	if (strncmp(path, l->bucket, n) != 0 || path[n] != '/')
		return (NULL);
	k = path + n + 1;
	if (strncmp(k, l->a->prefix, strlen(l->a->prefix)) != 0 ||
	    (l->a->marker[0] && strcmp(k, l->a->marker) <= 0))
		return (NULL);
	return (k);
}

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t c;

	if (n < *cap)
		return (0);
	c = *cap ? *cap * 2 : 64;
	if ((nv = realloc(*v, c * size)) == NULL)
		return (-1);
	*v = nv;
	*cap = c;
	return (0);
}

static int
live_path(const char *path, void *arg)
{
	struct vlist *l = arg;
	size_t cap = l->cappaths;

	if (key_of(l, path) == NULL)
		return (0);
	if (grow((void **)&l->paths, &cap, l->npaths, sizeof(char *)) < 0 ||
	    (l->paths[l->npaths] = strdup(path)) == NULL) {
		l->cappaths = cap;
		l->failed = true;
		return (-1);
	}
	l->cappaths = cap;
	l->npaths++;
	return (0);
}

static int
kept_row(const char *path, const struct vers_row *r, void *arg)
{
	struct vlist *l = arg;
	size_t cap = l->caprows;

	if (r->pruned || key_of(l, path) == NULL)
		return (0);
	if (grow((void **)&l->rows, &cap, l->nrows, sizeof(*r)) < 0 ||
	    grow((void **)&l->rpaths, &l->caprows, l->nrows, sizeof(char *)) <
	    0 || (l->rpaths[l->nrows] = strdup(path)) == NULL) {
		l->failed = true;
		return (-1);
	}
	l->rows[l->nrows++] = *r;
	return (0);
}

static int
by_key(const void *x, const void *y)
{
	const struct ventry *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c != 0)
		return (c);
	if (a->latest != b->latest)
		return (a->latest ? -1 : 1);
	return (a->mtime_ns > b->mtime_ns ? -1 : a->mtime_ns < b->mtime_ns);
}

static bool
is_live(const struct vlist *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->npaths; i++)
		if (strcmp(l->paths[i], path) == 0)
			return (true);
	return (false);
}

static int
emit(struct buf *b, const struct ventry *e)
{
	const char *tag = e->marker ? "DeleteMarker" : "Version";

	if (s3_xml_open(b, tag) < 0 || s3_xml_elem(b, "Key", e->key) < 0 ||
	    s3_xml_elem(b, "VersionId", e->id) < 0 ||
	    s3_xml_elem_bool(b, "IsLatest", e->latest) < 0 ||
	    s3_xml_elem_time(b, "LastModified", e->mtime_ns / 1000000000) < 0)
		return (-ENOMEM);
	if (!e->marker && (s3_xml_elem(b, "ETag", e->etag) < 0 ||
	    s3_xml_elem_u64(b, "Size", e->size) < 0 ||
	    s3_xml_elem(b, "StorageClass", "STANDARD") < 0))
		return (-ENOMEM);
	return (s3_xml_close(b, tag));
}

static void
versions_run(void *arg)
{
	struct s3_job *j = arg;
	const struct vargs *a = j->arg;
	struct vlist l;
	struct ventry *v = NULL;
	struct file_meta m;
	struct stat st;
	size_t n = 0, cap = 0, i, shown;
	uint8_t attrs[INDEX_ATTRS_MAX];
	size_t alen;
	bool *marked = NULL;

	memset(&l, 0, sizeof(l));
	l.bucket = j->bucket;
	l.a = a;
	if (store_stat(j->store, j->bucket, &st) < 0 || !S_ISDIR(st.st_mode)) {
		j->err = S3_ERR_NO_SUCH_BUCKET;
		return;
	}
	if (index_vers_live(j->store->index, j->bucket, live_path, &l) < 0 ||
	    index_vers_under(j->store->index, j->bucket, kept_row, &l) < 0 ||
	    l.failed) {
		j->rc = -ENOMEM;
		goto out;
	}
	if ((v = calloc(l.npaths + 2 * l.nrows + 1, sizeof(*v))) == NULL ||
	    (marked = calloc(l.nrows + 1, sizeof(*marked))) == NULL) {
		j->rc = -ENOMEM;
		goto out;
	}
	cap = l.npaths + 2 * l.nrows;
	for (i = 0; i < l.npaths; i++) {
		if (index_get(j->store->index, l.paths[i], &m) < 0 ||
		    m.type != ENTRY_FILE)
			continue;
		v[n].key = (char *)key_of(&l, l.paths[i]);
		v[n].latest = true;
		v[n].mtime_ns = m.mtime_ns;
		v[n].size = m.size;
		vers_id(m.sha256, m.mtime_ns, v[n].id);
		if (s3_etag_of(j->store, l.paths[i], m.sha256,
		    m.remote ? -1 : S3_FD_OPEN, attrs, sizeof(attrs), &alen,
		    v[n].etag) < 0)
			s3_etag(m.sha256, v[n].etag);
		n++;
	}
	for (i = 0; i < l.nrows && n < cap; i++) {
		v[n].key = (char *)key_of(&l, l.rpaths[i]);
		(void)str_copy(v[n].id, sizeof(v[n].id), l.rows[i].id);
		v[n].mtime_ns = l.rows[i].mtime_ns;
		v[n].size = l.rows[i].size;
		s3_etag(l.rows[i].sha256, v[n].etag);
		n++;
	}
	/* A deleted key: one marker, when its newest deletion happened. */
	for (i = 0; i < l.nrows && n < cap; i++) {
		size_t k, best = i;

		if (l.rows[i].kind != VERS_TRASH || marked[i] ||
		    is_live(&l, l.rpaths[i]))
			continue;
		for (k = i; k < l.nrows; k++)
			if (strcmp(l.rpaths[k], l.rpaths[i]) == 0 &&
			    l.rows[k].kind == VERS_TRASH) {
				marked[k] = true;
				if (l.rows[k].kept_ns > l.rows[best].kept_ns)
					best = k;
			}
		v[n].key = (char *)key_of(&l, l.rpaths[best]);
		v[n].marker = v[n].latest = true;
		v[n].mtime_ns = l.rows[best].kept_ns;
		(void)str_fmt(v[n].id, sizeof(v[n].id), "%s.del",
		    l.rows[best].id);
		n++;
	}
	qsort(v, n, sizeof(*v), by_key);
	shown = n > a->max ? a->max : n;
	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "ListVersionsResult") < 0 ||
	    s3_xml_elem(&j->out, "Name", j->bucket) < 0 ||
	    s3_xml_elem(&j->out, "Prefix", a->prefix) < 0 ||
	    s3_xml_elem(&j->out, "KeyMarker", a->marker) < 0 ||
	    s3_xml_elem(&j->out, "VersionIdMarker", NULL) < 0 ||
	    s3_xml_elem_u64(&j->out, "MaxKeys", a->max) < 0 ||
	    s3_xml_elem_bool(&j->out, "IsTruncated", shown < n) < 0 ||
	    (shown < n && shown > 0 &&
	     s3_xml_elem(&j->out, "NextKeyMarker", v[shown - 1].key) < 0)) {
		j->rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < shown; i++)
		if (emit(&j->out, &v[i]) < 0) {
			j->rc = -ENOMEM;
			goto out;
		}
	if (s3_xml_close(&j->out, "ListVersionsResult") < 0)
		j->rc = -ENOMEM;
out:
	for (i = 0; i < l.npaths; i++)
		free(l.paths[i]);
	for (i = 0; i < l.nrows; i++)
		free(l.rpaths[i]);
	free(l.paths);
	free(l.rpaths);
	free(l.rows);
	free(v);
	free(marked);
}

static void
versions_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;

	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_BUCKET);
	else {
		s3_respond_xml(r, 200, &j->out);
		memset(&j->out, 0, sizeof(j->out));
	}
	s3_job_free(j);
}

void
s3_list_versions(struct s3_req *r)
{
	struct vargs *a;
	struct s3_job *j;
	const char *v;
	uint64_t n = VERSIONS_MAX_KEYS;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return;
	}
	if (((v = http_query_get(&r->q, "prefix")) != NULL &&
	    str_copy(a->prefix, sizeof(a->prefix), v) < 0) ||
	    ((v = http_query_get(&r->q, "key-marker")) != NULL &&
	    str_copy(a->marker, sizeof(a->marker), v) < 0)) {
		free(a);
		s3_error(r, S3_ERR_KEY_TOO_LONG, NULL);
		return;
	}
	if ((v = http_query_get(&r->q, "max-keys")) != NULL &&
	    span_u64(span_str(v), UINT32_MAX, &n) < 0) {
		free(a);
		s3_error(r, S3_ERR_INVALID_ARGUMENT,
		    "max-keys is not a number");
		return;
	}
	a->max = n > VERSIONS_MAX_KEYS ? VERSIONS_MAX_KEYS : (unsigned)n;
	if ((j = s3_job_new(r)) == NULL) {
		free(a);
		return;
	}
	j->arg = a;
	j->arg_free = free;
	s3_job_submit(j, versions_run, versions_done);
}
