/*
 * dav_props: PROPFIND.
 *
 *   PROPFIND ──> job (pool): fs_stat of the path, fs_list of a folder
 *            (Depth 1) into a compact copy ──> loop: the multistatus,
 *            with lockdiscovery from the lock table (the loop's)
 *
 * The live properties are those of RFC 4918 15: resourcetype,
 * getcontentlength, getlastmodified, getetag (the ETag GET
 * gives), creationdate (the mtime: the store keeps no birth time),
 * displayname, getcontenttype, supportedlock and lockdiscovery.  Depth
 * infinity is refused with propfind-finite-depth (RFC 4918 9.1): a
 * whole tree in one answer is the denial of service the RFC warns of;
 * with dav.depth_infinity = yes it is answered, DAV_LIST_MAX entries at
 * most.
 * The dead properties of each file come along (dav_dead.c keeps them).
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/work.h"
#include "store/hash.h"

struct pentry {
	char *name; /* under the path; NULL: the path itself */
	char *dead; /* its "dav:" attribute lines, or NULL */
	enum fs_type type;
	uint64_t size;
	int64_t mtime;
	bool has_sha;
	uint8_t sha[HASH_LEN];
};

struct find_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	bool children;
	bool infinite;		    /* Depth: infinity (dav.depth_infinity) */
	char cur[PATH_LEN_MAX + 1]; /* the folder being listed, under path */
	bool dead;		    /* read the dead properties too */
	struct pentry *v;
	size_t n, cap;
	int rc;
};

static int
add(struct find_job *j, const struct fs_entry *e, bool self)
{
	struct pentry *p;

	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;

		if ((p = realloc(j->v, cap * sizeof(*p))) == NULL)
			return (-ENOMEM);
		j->v = p;
		j->cap = cap;
	}
	p = &j->v[j->n];
	memset(p, 0, sizeof(*p));
	if (!self) {
		char rel[PATH_LEN_MAX + 1];

		if (str_fmt(rel, sizeof(rel), "%s%s%s", j->cur,
			    j->cur[0] ? "/" : "", e->name) < 0)
			return (0); /* too long to name */
		if ((p->name = strdup(rel)) == NULL)
			return (-ENOMEM);
	}
	p->type = e->type;
	p->size = e->size;
	p->mtime = e->mtime;
	if (e->has_meta) {
		p->has_sha = true;
		memcpy(p->sha, e->meta.sha256, HASH_LEN);
	}
	j->n++;
	return (0);
}

static void
read_dead(struct find_job *j, struct pentry *p, const char *path)
{
	uint8_t a[INDEX_ATTRS_MAX];
	size_t n;

	if (!j->dead || !p->has_sha ||
	    fs_attrs(j->store, path, p->sha, a, sizeof(a), &n) < 0)
		return;
	p->dead = dav_dead_lines(a, n);
}

/*
 * A link inside the folder is shown as what it leads to (WebDAV has no
 * links: GET and PROPFIND follow it), a dangling one not at all.
 */
static int
add_child(const struct fs_entry *e, void *arg)
{
	struct find_job *j = arg;
	char sub[PATH_LEN_MAX + 1];
	struct fs_entry t;
	int rc;

	if (str_fmt(sub, sizeof(sub), "%s%s%s%s%s", j->path,
		    j->path[0] && j->cur[0] ? "/" : "", j->cur,
		    j->path[0] || j->cur[0] ? "/" : "", e->name) < 0)
		return (0);
	if (e->type == FS_LINK) {
		if (fs_stat_target(j->store, sub, &t) < 0)
			return (0);
		e = &t;
	}
	if ((rc = add(j, e, false)) < 0)
		return (rc);
	read_dead(j, &j->v[j->n - 1], sub);
	return (0);
}

static void
find_run(void *arg)
{
	struct find_job *j = arg;
	struct fs_entry e;
	size_t i;

	if ((j->rc = fs_stat(j->store, j->path, FS_LIST_META, &e)) < 0)
		return;
	if (e.type == FS_LINK &&
	    (j->rc = fs_stat_target(j->store, j->path, &e)) < 0)
		return;
	if ((j->rc = add(j, &e, true)) < 0)
		return;
	read_dead(j, &j->v[0], j->path);
	if (!j->children || e.type != FS_DIR)
		return;
	j->rc = fs_list(j->store, j->path, FS_LIST_META, DAV_LIST_MAX,
			add_child, j);
	/* Depth: infinity: each folder found is listed in turn, breadth
	 * first, until DAV_LIST_MAX entries in all. */
	for (i = 1; j->infinite && j->rc == 0 && i < j->n; i++) {
		char sub[PATH_LEN_MAX + 1];

		if (j->v[i].type != FS_DIR || j->n >= DAV_LIST_MAX ||
		    str_fmt(sub, sizeof(sub), "%s%s%s", j->path,
			    j->path[0] ? "/" : "", j->v[i].name) < 0)
			continue;
		(void)str_copy(j->cur, sizeof(j->cur), j->v[i].name);
		j->rc = fs_list(j->store, sub, FS_LIST_META,
				DAV_LIST_MAX - (unsigned)j->n, add_child, j);
		if (j->rc == -ENOENT || j->rc == -ENOTDIR)
			j->rc = 0; /* gone meanwhile */
	}
}

static void
find_free(struct find_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->v[i].name);
		free(j->v[i].dead);
	}
	free(j->v);
	free(j);
}

/* The live properties, in allprop order. */
enum live {
	P_RESOURCETYPE,
	P_GETCONTENTLENGTH,
	P_GETLASTMODIFIED,
	P_GETETAG,
	P_CREATIONDATE,
	P_DISPLAYNAME,
	P_GETCONTENTTYPE,
	P_SUPPORTEDLOCK,
	P_LOCKDISCOVERY,
	P_COUNT
};

static const char *const live_names[P_COUNT] = {
    "resourcetype",   "getcontentlength", "getlastmodified",
    "getetag",	      "creationdate",	  "displayname",
    "getcontenttype", "supportedlock",	  "lockdiscovery",
};

static int
live_of(const struct dav_prop *p)
{
	int i;

	if (strcmp(p->ns, "DAV:") != 0)
		return (-1);
	for (i = 0; i < P_COUNT; i++)
		if (strcmp(p->name, live_names[i]) == 0)
			return (i);
	return (-1);
}

/* Does the entry have the property at all (a folder has no length)? */
static bool
has_live(const struct pentry *e, int p)
{
	bool dir = e->type == FS_DIR;

	switch (p) {
	case P_GETCONTENTLENGTH:
	case P_GETCONTENTTYPE:
		return (!dir);
	case P_GETETAG:
		return (!dir && e->has_sha);
	default:
		return (true);
	}
}

static const char *
ctype_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".txt", "text/plain"},	 {".html", "text/html"},
	    {".htm", "text/html"},	 {".css", "text/css"},
	    {".js", "text/javascript"},	 {".json", "application/json"},
	    {".xml", "application/xml"}, {".pdf", "application/pdf"},
	    {".png", "image/png"},	 {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},	 {".gif", "image/gif"},
	    {".svg", "image/svg+xml"},	 {".zip", "application/zip"},
	    {".gz", "application/gzip"}, {".mp4", "video/mp4"},
	    {".mp3", "audio/mpeg"},	 {".md", "text/markdown"},
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return (types[i].type);
	return ("application/octet-stream");
}

static int
live_value(struct buf *b, struct dav_locks *locks, const char *path,
	   const struct pentry *e, int p)
{
	char d[40], hex[HASH_HEX_LEN + 1];
	const char *base = path_base(path);

	switch (p) {
	case P_RESOURCETYPE:
		return (buf_puts(b, e->type == FS_DIR
					? "<D:resourcetype><D:collection/>"
					  "</D:resourcetype>"
					: "<D:resourcetype/>"));
	case P_GETCONTENTLENGTH:
		return (buf_printf(b,
				   "<D:getcontentlength>%llu"
				   "</D:getcontentlength>",
				   (unsigned long long)e->size));
	case P_GETLASTMODIFIED:
		dav_http_date(e->mtime, d);
		return (buf_printf(
		    b, "<D:getlastmodified>%s</D:getlastmodified>", d));
	case P_GETETAG:
		hash_hex(e->sha, hex);
		hex[DAV_ETAG_HEX] = '\0';
		return (buf_printf(b, "<D:getetag>\"%s\"</D:getetag>", hex));
	case P_CREATIONDATE:
		dav_iso_date(e->mtime, d);
		return (
		    buf_printf(b, "<D:creationdate>%s</D:creationdate>", d));
	case P_DISPLAYNAME:
		if (buf_puts(b, "<D:displayname>") < 0 ||
		    dav_xml_esc(b, base) < 0)
			return (-ENOBUFS);
		return (buf_puts(b, "</D:displayname>"));
	case P_GETCONTENTTYPE:
		return (buf_printf(b, "<D:getcontenttype>%s</D:getcontenttype>",
				   ctype_of(base)));
	case P_SUPPORTEDLOCK:
		return (buf_puts(
		    b, "<D:supportedlock>"
		       "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
		       "<D:locktype><D:write/></D:locktype></D:lockentry>"
		       "<D:lockentry><D:lockscope><D:shared/></D:lockscope>"
		       "<D:locktype><D:write/></D:locktype></D:lockentry>"
		       "</D:supportedlock>"));
	case P_LOCKDISCOVERY:
		if (buf_puts(b, "<D:lockdiscovery>") < 0 ||
		    dav_locks_discovery(locks, path, b) < 0)
			return (-ENOBUFS);
		return (buf_puts(b, "</D:lockdiscovery>"));
	}
	return (0);
}

static int
one_response(struct buf *b, struct dav_locks *locks, const struct dav_xml *x,
	     const char *path, const struct pentry *e)
{
	unsigned i, missing = 0;
	struct dav_dead d;
	int p, rc;

	rc = buf_puts(b, "<D:response><D:href>");
	if (rc == 0)
		rc = dav_href(b, path, e->type == FS_DIR);
	if (rc == 0)
		rc = buf_puts(b, "</D:href><D:propstat><D:prop>");
	if (x->find == DAV_FIND_PROP) {
		for (i = 0; rc == 0 && i < x->nprops; i++) {
			p = live_of(&x->props[i]);
			if (p >= 0 && has_live(e, p))
				rc = live_value(b, locks, path, e, p);
			else if (p < 0 &&
				 dav_dead_find(e->dead, &x->props[i], &d))
				rc = dav_prop_elem(b, d.ns, d.name, d.value);
			else
				missing++;
		}
	} else {
		for (p = 0; rc == 0 && p < P_COUNT; p++)
			if (has_live(e, p))
				rc = x->find == DAV_FIND_PROPNAME
					 ? buf_printf(b, "<D:%s/>",
						      live_names[p])
					 : live_value(b, locks, path, e, p);
		if (e->dead != NULL) {
			struct cursor c;

			cur_init(&c, e->dead, strlen(e->dead));
			while (rc == 0 && dav_dead_next(&c, &d))
				rc = dav_prop_elem(b, d.ns, d.name,
						   x->find == DAV_FIND_PROPNAME
						       ? NULL
						       : d.value);
		}
	}
	if (rc == 0)
		rc = buf_puts(b, "</D:prop><D:status>HTTP/1.1 200 OK"
				 "</D:status></D:propstat>");
	if (rc == 0 && missing) {
		rc = buf_puts(b, "<D:propstat><D:prop>");
		for (i = 0; rc == 0 && i < x->nprops; i++) {
			p = live_of(&x->props[i]);
			if (p >= 0 ? !has_live(e, p)
				   : !dav_dead_find(e->dead, &x->props[i], &d))
				rc = dav_empty_prop(b, &x->props[i]);
		}
		if (rc == 0)
			rc = buf_puts(b, "</D:prop><D:status>HTTP/1.1 404 "
					 "Not Found</D:status></D:propstat>");
	}
	return (rc == 0 ? buf_puts(b, "</D:response>") : rc);
}

static void
find_done(void *arg)
{
	struct find_job *j = arg;
	struct dav_req *r = j->r;
	struct dav_ctx *ctx;
	struct dav_xml x;
	struct buf b;
	char sub[PATH_LEN_MAX + 1];
	size_t i;
	int rc;

	if (!http_job_end(r->c)) {
		find_free(j);
		return;
	}
	ctx = r->c->srv->o.route_arg;
	if (j->rc < 0) {
		dav_error_errno(r, j->rc);
		find_free(j);
		return;
	}
	if ((rc = dav_xml_parse(DAV_XML_PROPFIND, r->c->body.data,
				r->c->body.len, &x)) < 0) {
		dav_error(r, rc == -E2BIG ? 413 : 400, "bad propfind");
		find_free(j);
		return;
	}
	buf_init(&b, (size_t)1 << 30);
	rc = buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			  "<D:multistatus xmlns:D=\"DAV:\">");
	for (i = 0; rc == 0 && i < j->n; i++) {
		const char *path = j->path;

		if (j->v[i].name != NULL) {
			if (str_fmt(sub, sizeof(sub), "%s%s%s", j->path,
				    j->path[0] ? "/" : "", j->v[i].name) < 0)
				continue;
			path = sub;
		}
		rc = one_response(&b, ctx->locks, &x, path, &j->v[i]);
	}
	if (rc == 0)
		rc = buf_puts(&b, "</D:multistatus>\n");
	dav_xml_release(&x);
	find_free(j);
	if (rc < 0) {
		buf_release(&b);
		dav_error(r, 507, "the answer is too large");
		return;
	}
	dav_respond_xml(r, 207, &b);
}

void
dav_propfind(struct dav_req *r)
{
	struct http_conn *c = r->c;
	struct dav_ctx *ctx = c->srv->o.route_arg;
	struct find_job *j;
	struct dav_xml x;
	int rc;

	if (!dav_need_body(r))
		return;
	if (r->depth == DAV_DEPTH_INF && !ctx->depth_infinity) {
		struct buf b;

		buf_init(&b, 4096);
		if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				 "<D:error xmlns:D=\"DAV:\"><D:propfind-finite-"
				 "depth/></D:error>\n") == 0)
			dav_respond_xml(r, 403, &b);
		else {
			buf_release(&b);
			dav_error(r, 403, "Depth: infinity is not served");
		}
		return;
	}
	/* A bad body is refused before any work. */
	if ((rc = dav_xml_parse(DAV_XML_PROPFIND, c->body.data, c->body.len,
				&x)) < 0) {
		dav_error(r, rc == -E2BIG ? 413 : 400, "bad propfind");
		return;
	}
	dav_xml_release(&x);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	j->r = r;
	j->store = c->srv->o.store;
	memcpy(j->path, r->path, sizeof(j->path));
	j->children = r->depth != 0;
	j->infinite = r->depth == DAV_DEPTH_INF;
	j->dead = true;
	c->st = CONN_BUSY;
	if (http_job(c, find_run, find_done, j) < 0) {
		find_free(j);
		http_busy(c);
	}
}
