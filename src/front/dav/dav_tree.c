/*
 * dav_tree: the methods that change the namespace, MKCOL, DELETE, COPY
 * and MOVE, as one pool job each over copies of their paths.
 *
 * A collection is deleted bottom up, each entry through fsview (so each
 * one is a tombstone the other nodes see); COPY makes the folders and
 * copies each file's bytes into a new upload (a new version, atomic and
 * durable as any upload).  MOVE is fs_rename.  An existing Destination
 * is removed first when Overwrite allows it (RFC 4918 9.8.4, 9.9.3).
 * What the job cannot do stops it; a failure after part of a tree went is
 * answered with its status (the part done stays done: the store has no
 * transactions over trees).
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/work.h"
#include "front/prefetch.h"

struct tree_job {
	struct dav_req *r;
	struct store *store;
	enum dav_method m;
	char path[PATH_LEN_MAX + 1];
	char dest[PATH_LEN_MAX + 1];
	bool overwrite;
	bool infinite;
	bool existed;
	int rc;
	/* A COPY that met a file only other nodes hold (replicas = N): its
	 * path, fetched here before the job runs again (front/prefetch.c). */
	char remote[PATH_LEN_MAX + 1];
	unsigned fetched;
};

/* The names in folder dir (a copy: the tree changes while we walk it). */
struct names {
	char **v;
	size_t n, cap;
};

static int
name_add(const struct fs_entry *e, void *arg)
{
	struct names *ns = arg;
	char **nv;

	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;

		if ((nv = realloc(ns->v, cap * sizeof(*nv))) == NULL)
			return (-ENOMEM);
		ns->v = nv;
		ns->cap = cap;
	}
	if ((ns->v[ns->n] = strdup(e->name)) == NULL)
		return (-ENOMEM);
	ns->n++;
	return (0);
}

static void
names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int
child(char *out, const char *dir, const char *name)
{
	return (str_fmt(out, PATH_LEN_MAX + 1, "%s%s%s", dir, dir[0] ? "/" : "",
			name));
}

static int
delete_tree(struct store *s, const char *path, unsigned depth)
{
	struct fs_entry e;
	struct names ns = {0};
	char sub[PATH_LEN_MAX + 1];
	size_t i;
	int rc;

	if (depth > PATH_LEN_MAX / 2)
		return (-ELOOP);
	if ((rc = fs_stat(s, path, 0, &e)) < 0)
		return (rc);
	if (e.type != FS_DIR)
		return (fs_remove(s, path));
	if ((rc = fs_list(s, path, 0, FS_LIST_MAX, name_add, &ns)) < 0) {
		names_free(&ns);
		return (rc);
	}
	for (i = 0; i < ns.n && rc == 0; i++)
		if ((rc = child(sub, path, ns.v[i])) == 0) {
			rc = delete_tree(s, sub, depth + 1);
			if (rc == -ENOENT)
				rc = 0; /* gone meanwhile */
		}
	names_free(&ns);
	return (rc < 0 ? rc : fs_rmdir(s, path));
}

static int
copy_file(struct store *s, const char *from, const char *to, char *remote)
{
	struct fs_file f;
	struct upload *up = NULL;
	struct iovec iov;
	uint8_t *b = NULL, attrs[INDEX_ATTRS_MAX];
	size_t alen = 0;
	off_t off = 0;
	ssize_t k;
	int rc;

	if ((rc = fs_open(s, from, FS_OPEN_META, &f)) < 0)
		return (rc);
	if (f.remote) {
		/* Held elsewhere: tree_done fetches a copy here first. */
		(void)str_copy(remote, PATH_LEN_MAX + 1, from);
		return (-EREMOTE);
	}
	if ((rc = fs_write_begin(s, to, UPLOAD_NEW, 0, NULL, &up)) < 0)
		goto out;
	/* The copy has the source's attributes (its dead properties, S3's
	 * metadata) as a copy of the version would. */
	if (fs_attrs(s, from, f.meta.sha256, attrs, sizeof(attrs), &alen) ==
		0 &&
	    alen > 0 && (rc = upload_set_attrs(up, attrs, alen)) < 0)
		goto out;
	if ((b = malloc(1 << 20)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while ((k = pread(f.fd, b, 1 << 20, off)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		iov.iov_base = b;
		iov.iov_len = (size_t)k;
		if ((rc = upload_write(up, &iov, 1)) < 0)
			goto out;
		off += k;
	}
	if ((rc = upload_flush(up)) == 0)
		rc = upload_commit(up, NULL);
out:
	if (up)
		upload_abort(up);
	free(b);
	close(f.fd);
	return (rc);
}

static int
copy_tree(struct store *s, const char *from, const char *to, bool infinite,
	  unsigned depth, char *remote)
{
	struct fs_entry e;
	struct names ns = {0};
	char a[PATH_LEN_MAX + 1], b[PATH_LEN_MAX + 1];
	size_t i;
	int rc;

	if (depth > PATH_LEN_MAX / 2)
		return (-ELOOP);
	if ((rc = fs_stat_target(s, from, &e)) < 0)
		return (rc);
	if (e.type != FS_DIR)
		return (copy_file(s, from, to, remote));
	if ((rc = fs_mkdir(s, to)) < 0 && rc != -EEXIST)
		return (rc);
	if (!infinite)
		return (0);
	if ((rc = fs_list(s, from, 0, FS_LIST_MAX, name_add, &ns)) < 0) {
		names_free(&ns);
		return (rc);
	}
	for (i = 0; i < ns.n && rc == 0; i++)
		if ((rc = child(a, from, ns.v[i])) == 0 &&
		    (rc = child(b, to, ns.v[i])) == 0)
			rc = copy_tree(s, a, b, true, depth + 1, remote);
	names_free(&ns);
	return (rc);
}

/* The folder above path exists and is a folder. */
static int
parent_ok(struct store *s, const char *path)
{
	char up[PATH_LEN_MAX + 1];
	struct fs_entry e;
	char *slash;
	int rc;

	(void)str_copy(up, sizeof(up), path);
	if ((slash = strrchr(up, '/')) == NULL)
		return (0);
	*slash = '\0';
	if ((rc = fs_stat_target(s, up, &e)) < 0)
		return (-ENOTDIR);
	return (e.type == FS_DIR ? 0 : -ENOTDIR);
}

static void
tree_run(void *arg)
{
	struct tree_job *j = arg;
	struct store *s = j->store;
	struct fs_entry e;
	int rc;

	switch (j->m) {
	case DAV_MKCOL:
		if (fs_stat(s, j->path, 0, &e) == 0) {
			j->rc = -EEXIST;
			return;
		}
		if ((j->rc = parent_ok(s, j->path)) < 0)
			return;
		j->rc = fs_mkdir(s, j->path);
		return;
	case DAV_DELETE:
		j->rc = delete_tree(s, j->path, 0);
		return;
	default:
		break;
	}
	/* COPY, MOVE */
	if ((j->rc = fs_stat(s, j->path, 0, &e)) < 0)
		return;
	/* A file held elsewhere is fetched before the Destination goes. */
	if (j->m == DAV_COPY && e.type != FS_DIR && e.remote) {
		(void)str_copy(j->remote, sizeof(j->remote), j->path);
		j->rc = -EREMOTE;
		return;
	}
	if ((rc = fs_stat(s, j->dest, 0, &e)) == 0) {
		j->existed = true;
		if (!j->overwrite) {
			j->rc = -ESTALE; /* 412 */
			return;
		}
	}
	if ((j->rc = parent_ok(s, j->dest)) < 0)
		return;
	if (j->existed && (j->rc = delete_tree(s, j->dest, 0)) < 0)
		return;
	if (j->m == DAV_MOVE)
		j->rc = fs_rename(s, j->path, j->dest);
	else
		j->rc = copy_tree(s, j->path, j->dest, j->infinite, 0,
				  j->remote);
}

static void tree_done(void *);

/* Files of one COPY fetched here before it gives up with 502. */
#define DAV_PREFETCH_MAX 16

static void
fetched(void *arg, int rc, const char *why)
{
	struct tree_job *j = arg;
	struct dav_req *r = j->r;

	if (!http_job_end(r->c)) {
		free(j);
		return;
	}
	if (rc < 0) {
		dav_error(r, 502, why);
		free(j);
		return;
	}
	j->rc = 0;
	j->remote[0] = '\0';
	if (http_job(r->c, tree_run, tree_done, j) < 0) {
		free(j);
		http_busy(r->c);
	}
}

/* The copy met a file held elsewhere: fetch it, then run again. */
static bool
fetch_first(struct tree_job *j)
{
	struct http_conn *c = j->r->c;
	char why[256];

	if (j->remote[0] == '\0' || j->fetched++ >= DAV_PREFETCH_MAX ||
	    prefetch_start(c->srv->o.ctl.remote, c->srv->o.base, j->remote,
			   fetched, j, why, sizeof(why)) == NULL)
		return (false);
	/* The connection stays until fetched ends this hold. */
	http_job_hold(c);
	return (true);
}

static void
tree_done(void *arg)
{
	struct tree_job *j = arg;
	struct dav_req *r = j->r;
	struct dav_ctx *ctx;

	if (!http_job_end(r->c)) {
		free(j);
		return;
	}
	if (j->rc == -EREMOTE && fetch_first(j))
		return;
	ctx = r->c->srv->o.route_arg;
	if (j->rc < 0) {
		if (j->m == DAV_MKCOL && j->rc == -EEXIST)
			dav_error(r, 405, "it exists");
		else if (j->rc == -ENOTDIR && j->m != DAV_DELETE)
			dav_error(r, 409, "the folder above is missing");
		else if (j->rc == -EREMOTE)
			dav_error(r, 502,
				  "the file is held by other nodes only");
		else
			dav_error_errno(r, j->rc);
		free(j);
		return;
	}
	log_info("dav: %s %s /%s%s%s", r->c->peer,
		 j->m == DAV_MKCOL    ? "made"
		 : j->m == DAV_DELETE ? "deleted"
		 : j->m == DAV_MOVE   ? "moved"
				      : "copied",
		 j->path, j->dest[0] ? " to /" : "", j->dest);
	if (j->m == DAV_DELETE || j->m == DAV_MOVE)
		dav_locks_drop_tree(ctx->locks, j->path);
	if (j->m == DAV_DELETE)
		http_respond(r->c, 204, NULL, NULL, NULL, 0);
	else if (j->m == DAV_MKCOL)
		http_respond(r->c, 201, NULL, NULL, NULL, 0);
	else
		http_respond(r->c, j->existed ? 204 : 201, NULL, NULL, NULL, 0);
	free(j);
}

static void
submit(struct dav_req *r)
{
	struct http_conn *c = r->c;
	struct tree_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	j->r = r;
	j->store = c->srv->o.store;
	j->m = r->m;
	memcpy(j->path, r->path, sizeof(j->path));
	if (r->m == DAV_COPY || r->m == DAV_MOVE)
		memcpy(j->dest, r->dest, sizeof(j->dest));
	j->overwrite = r->overwrite;
	j->infinite = r->depth != 0;
	c->st = CONN_BUSY;
	if (http_job(c, tree_run, tree_done, j) < 0) {
		free(j);
		http_busy(c);
	}
}

void
dav_mkcol(struct dav_req *r)
{
	struct http_conn *c = r->c;

	if (c->req.content_length > 0 || c->req.chunked) {
		dav_error(r, 415, "MKCOL takes no body");
		return;
	}
	if (r->path[0] == '\0') {
		dav_error(r, 405, "the root exists");
		return;
	}
	if (dav_write_refused(r, r->path, false))
		return;
	submit(r);
}

void
dav_delete(struct dav_req *r)
{
	if (r->path[0] == '\0') {
		dav_error(r, 403, "the root stays");
		return;
	}
	if (dav_write_refused(r, r->path, true))
		return;
	submit(r);
}

/* Is b a or under it? */
static bool
inside(const char *b, const char *a)
{
	size_t n = strlen(a);

	return (n == 0 ||
		(strncmp(b, a, n) == 0 && (b[n] == '\0' || b[n] == '/')));
}

void
dav_copymove(struct dav_req *r)
{
	if (r->path[0] == '\0' || r->dest[0] == '\0') {
		dav_error(r, 403, "the root cannot be copied or moved");
		return;
	}
	if (r->depth == 1 || (r->m == DAV_MOVE && r->depth == 0)) {
		dav_error(r, 400,
			  "Depth is 0 or infinity (COPY), infinity (MOVE)");
		return;
	}
	if (inside(r->dest, r->path) || inside(r->path, r->dest)) {
		dav_error(r, 403,
			  "the Destination is the source, or inside it");
		return;
	}
	if ((r->m == DAV_MOVE && dav_write_refused(r, r->path, true)) ||
	    dav_write_refused(r, r->dest, true))
		return;
	submit(r);
}
