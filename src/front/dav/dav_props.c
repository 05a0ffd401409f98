/*
 * dav_props: PROPFIND and PROPPATCH.
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
 * whole tree in one answer is the denial of service the RFC warns of.
 * Dead properties (PROPPATCH) are kept with the file's version, in its
 * attributes in the index, so they replicate with it (as S3 keeps its
 * metadata: s3_meta.c), one line each:
 *
 *   dav:NAMESPACE NAME VALUE\n
 *
 * each field percent-escaped (bytes up to space, '%' and DEL), the value
 * being the XML the client sent (dav_xml.c rebuilds it).  A PROPPATCH is
 * all or nothing (RFC 4918 9.2): its new version is the same bytes with
 * the new attributes, committed only over the version it read (a write
 * meanwhile: 409, nothing changed), and keeps the mtime.  The DAV:
 * properties are live and protected (403, the others 424), but for
 * getlastmodified, which sets the mtime, as Win32LastModifiedTime (what
 * Windows sends) does besides being kept.  A folder has no version to carry
 * attributes: its properties cannot be set (403).
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
	bool dead; /* read the dead properties too */
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
	if (!self && (p->name = strdup(e->name)) == NULL)
		return (-ENOMEM);
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

/* The "dav:" lines of attributes a[n], as a string (NULL: none). */
static char *
dead_lines(const uint8_t *a, size_t n)
{
	struct cursor c;
	struct span line;
	struct buf b;
	char *out;

	buf_init(&b, INDEX_ATTRS_MAX + 1);
	cur_init(&c, a, n);
	while (!cur_eof(&c)) {
		line = cur_until(&c, '\n');
		(void)cur_eat(&c, '\n');
		if (line.len > 4 && memcmp(line.p, "dav:", 4) == 0 &&
		    (buf_append(&b, line.p, line.len) < 0 ||
		     buf_append(&b, "\n", 1) < 0))
			break;
	}
	out = b.len ? strdup(buf_cstr(&b)) : NULL;
	buf_release(&b);
	return (out);
}

static void
read_dead(struct find_job *j, struct pentry *p, const char *path)
{
	uint8_t a[INDEX_ATTRS_MAX];
	size_t n;

	if (!j->dead || !p->has_sha ||
	    fs_attrs(j->store, path, p->sha, a, sizeof(a), &n) < 0)
		return;
	p->dead = dead_lines(a, n);
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

	if (str_fmt(sub, sizeof(sub), "%s%s%s", j->path, j->path[0] ? "/" : "",
		    e->name) < 0)
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

	if ((j->rc = fs_stat(j->store, j->path, FS_LIST_META, &e)) < 0)
		return;
	if (e.type == FS_LINK &&
	    (j->rc = fs_stat_target(j->store, j->path, &e)) < 0)
		return;
	if ((j->rc = add(j, &e, true)) < 0)
		return;
	read_dead(j, &j->v[0], j->path);
	if (j->children && e.type == FS_DIR)
		j->rc = fs_list(j->store, j->path, FS_LIST_META, DAV_LIST_MAX,
				add_child, j);
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

/* <N:name xmlns:N="ns"/> for a property we do not have. */
static int
empty_prop(struct buf *b, const struct dav_prop *p)
{
	int rc;

	if (p->ns[0] == '\0')
		return (buf_printf(b, "<%s xmlns=\"\"/>", p->name));
	if (strcmp(p->ns, "DAV:") == 0)
		return (buf_printf(b, "<D:%s/>", p->name));
	rc = buf_printf(b, "<N:%s xmlns:N=\"", p->name);
	if (rc == 0)
		rc = dav_xml_esc(b, p->ns);
	return (rc == 0 ? buf_puts(b, "\"/>") : rc);
}

/* Dead properties: escaping of the fields of a line */

static int
field_put(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)s; rc == 0 && *p; p++)
		if (*p <= ' ' || *p == '%' || *p == 0x7f)
			rc =
			    buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
		else
			rc = buf_append(b, p, 1);
	return (rc);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/* Decodes field f into out[size]; -1 if bad or too long. */
static int
field_get(struct span f, char *out, size_t size)
{
	size_t i, k = 0;
	int h, l;

	for (i = 0; i < f.len; i++) {
		if (k + 1 >= size)
			return (-1);
		if (f.p[i] == '%') {
			if (i + 2 >= f.len || (h = hexval(f.p[i + 1])) < 0 ||
			    (l = hexval(f.p[i + 2])) < 0)
				return (-1);
			out[k++] = (char)(h * 16 + l);
			i += 2;
		} else
			out[k++] = f.p[i];
	}
	out[k] = '\0';
	return (0);
}

struct dead {
	char ns[DAV_NAME_MAX];
	char name[DAV_NAME_MAX];
	char value[DAV_VALUE_MAX + 1];
};

/* The next dead property of lines at *c; false at the end. */
static bool
dead_next(struct cursor *c, struct dead *d)
{
	struct span line, ns, name, val;
	struct cursor lc;

	while (!cur_eof(c)) {
		line = cur_until(c, '\n');
		(void)cur_eat(c, '\n');
		if (line.len <= 4 || memcmp(line.p, "dav:", 4) != 0)
			continue;
		cur_init(&lc, line.p + 4, line.len - 4);
		ns = cur_until(&lc, ' ');
		if (!cur_eat(&lc, ' '))
			continue;
		name = cur_until(&lc, ' ');
		(void)cur_eat(&lc, ' ');
		val = cur_rest(&lc);
		if (field_get(ns, d->ns, sizeof(d->ns)) == 0 &&
		    field_get(name, d->name, sizeof(d->name)) == 0 &&
		    field_get(val, d->value, sizeof(d->value)) == 0)
			return (true);
	}
	return (false);
}

static bool
dead_find(const char *lines, const struct dav_prop *p, struct dead *d)
{
	struct cursor c;

	if (lines == NULL)
		return (false);
	cur_init(&c, lines, strlen(lines));
	while (dead_next(&c, d))
		if (strcmp(d->ns, p->ns) == 0 && strcmp(d->name, p->name) == 0)
			return (true);
	return (false);
}

/* <N:name xmlns:N="ns">value</N:name> (value NULL: empty). */
static int
prop_elem(struct buf *b, const char *ns, const char *name, const char *value)
{
	int rc;

	if (ns[0] == '\0')
		rc = buf_printf(b, "<%s xmlns=\"\"", name);
	else if (strcmp(ns, "DAV:") == 0)
		rc = buf_printf(b, "<D:%s", name);
	else {
		rc = buf_printf(b, "<N:%s xmlns:N=\"", name);
		if (rc == 0)
			rc = dav_xml_esc(b, ns);
		if (rc == 0)
			rc = buf_puts(b, "\"");
	}
	if (rc < 0)
		return (rc);
	if (value == NULL || value[0] == '\0')
		return (buf_puts(b, "/>"));
	if ((rc = buf_printf(b, ">%s", value)) < 0)
		return (rc);
	if (ns[0] == '\0')
		return (buf_printf(b, "</%s>", name));
	return (buf_printf(b, strcmp(ns, "DAV:") == 0 ? "</D:%s>" : "</N:%s>",
			   name));
}

static int
one_response(struct buf *b, struct dav_locks *locks, const struct dav_xml *x,
	     const char *path, const struct pentry *e)
{
	unsigned i, missing = 0;
	struct dead d;
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
			else if (p < 0 && dead_find(e->dead, &x->props[i], &d))
				rc = prop_elem(b, d.ns, d.name, d.value);
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
			while (rc == 0 && dead_next(&c, &d))
				rc = prop_elem(b, d.ns, d.name,
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
				   : !dead_find(e->dead, &x->props[i], &d))
				rc = empty_prop(b, &x->props[i]);
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
	struct find_job *j;
	struct dav_xml x;
	int rc;

	if (!dav_need_body(r))
		return;
	if (r->depth == DAV_DEPTH_INF) {
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
	j->children = r->depth == 1;
	j->dead = true;
	c->st = CONN_BUSY;
	if (http_job(c, find_run, find_done, j) < 0) {
		find_free(j);
		http_busy(c);
	}
}

/* PROPPATCH */

struct patch_job {
	struct dav_req *r;
	struct store *store;
	char path[PATH_LEN_MAX + 1];
	struct dav_xml x;
	int rc;
	int status; /* of every property: 200, 403, 409, 507 */
};

/* The properties that set the file's mtime: DAV:getlastmodified (live,
 * not stored) and the one Windows sets (kept as a dead property too). */
static bool
sets_mtime(const struct dav_prop *p)
{
	return (!p->remove &&
		((strcmp(p->ns, "DAV:") == 0 &&
		  strcmp(p->name, "getlastmodified") == 0) ||
		 (strcmp(p->ns, "urn:schemas-microsoft-com:") == 0 &&
		  strcmp(p->name, "Win32LastModifiedTime") == 0)));
}

/* An HTTP date (or ISO 8601) as Unix seconds; -1 if it is neither. */
static int64_t
date_of(const char *v)
{
	static const char *const forms[] = {
	    "%a, %d %b %Y %H:%M:%S GMT",
	    "%Y-%m-%dT%H:%M:%SZ",
	};
	struct tm tm;
	const char *end;
	size_t i;

	for (i = 0; v != NULL && i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(v, forms[i], &tm)) != NULL && *end == '\0')
			return ((int64_t)timegm(&tm));
	}
	return (-1);
}

/* The attributes a[n] with the request's changes, into out. */
static int
patched(const uint8_t *a, size_t n, const struct dav_xml *x, struct buf *out)
{
	struct cursor c;
	struct span line;
	struct dead d;
	unsigned i;
	int rc = 0;

	/* What is not a dead property (S3's lines) stays as it was. */
	cur_init(&c, a, n);
	while (rc == 0 && !cur_eof(&c)) {
		line = cur_until(&c, '\n');
		(void)cur_eat(&c, '\n');
		if (line.len > 4 && memcmp(line.p, "dav:", 4) == 0)
			continue;
		if (line.len)
			rc = buf_append(out, line.p, line.len) < 0 ||
				     buf_append(out, "\n", 1) < 0
				 ? -E2BIG
				 : 0;
	}
	/* The dead properties no instruction names, then the ones set, in
	 * order (a later instruction on the same name wins). */
	cur_init(&c, a, n);
	while (rc == 0 && dead_next(&c, &d)) {
		for (i = 0; i < x->nprops; i++)
			if (strcmp(x->props[i].ns, d.ns) == 0 &&
			    strcmp(x->props[i].name, d.name) == 0)
				break;
		if (i < x->nprops)
			continue;
		if (buf_puts(out, "dav:") < 0 || field_put(out, d.ns) < 0 ||
		    buf_puts(out, " ") < 0 || field_put(out, d.name) < 0 ||
		    buf_puts(out, " ") < 0 || field_put(out, d.value) < 0 ||
		    buf_puts(out, "\n") < 0)
			rc = -E2BIG;
	}
	for (i = 0; rc == 0 && i < x->nprops; i++) {
		const struct dav_prop *p = &x->props[i];
		unsigned k;

		if (p->remove || strcmp(p->ns, "DAV:") == 0)
			continue;
		for (k = i + 1; k < x->nprops; k++)
			if (strcmp(x->props[k].ns, p->ns) == 0 &&
			    strcmp(x->props[k].name, p->name) == 0)
				break;
		if (k < x->nprops)
			continue;
		if (buf_puts(out, "dav:") < 0 || field_put(out, p->ns) < 0 ||
		    buf_puts(out, " ") < 0 || field_put(out, p->name) < 0 ||
		    buf_puts(out, " ") < 0 ||
		    field_put(out, p->value ? p->value : "") < 0 ||
		    buf_puts(out, "\n") < 0)
			rc = -E2BIG;
	}
	return (rc);
}

static void
patch_run(void *arg)
{
	struct patch_job *j = arg;
	struct fs_entry e;
	struct fs_file f;
	struct upload *up = NULL;
	uint8_t a[INDEX_ATTRS_MAX], *b = NULL;
	struct iovec iov;
	struct buf nb;
	size_t n = 0;
	off_t off = 0;
	int64_t mtime = -1;
	unsigned i, dead = 0;
	ssize_t k;
	int rc;

	if ((j->rc = fs_stat(j->store, j->path, 0, &e)) < 0)
		return;
	if (e.type == FS_DIR) {
		j->status = 403; /* no version to keep them with */
		return;
	}
	if ((j->rc = fs_open(j->store, j->path, FS_OPEN_META, &f)) < 0)
		return;
	if (f.remote) {
		j->status = 409;
		return;
	}
	for (i = 0; i < j->x.nprops; i++)
		if (sets_mtime(&j->x.props[i]) &&
		    (mtime = date_of(j->x.props[i].value)) < 0) {
			j->status = 409; /* not a date */
			close(f.fd);
			return;
		}
	if (mtime < 0)
		mtime = f.mtime; /* the rewrite keeps it */
	for (i = 0; i < j->x.nprops; i++)
		if (strcmp(j->x.props[i].ns, "DAV:") != 0)
			dead++;
	buf_init(&nb, INDEX_ATTRS_MAX);
	if (dead == 0)
		goto mtime; /* getlastmodified alone: no new attributes */
	if (fs_attrs(j->store, j->path, f.meta.sha256, a, sizeof(a), &n) < 0)
		n = 0;
	if (patched(a, n, &j->x, &nb) < 0) {
		j->status = 507;
		goto out;
	}
	/* The same bytes, the new attributes: a new version. */
	if ((rc = fs_write_begin(j->store, j->path, UPLOAD_NEW, 0, NULL, &up)) <
		0 ||
	    (rc = upload_set_attrs(up, nb.data ? (void *)nb.data : "",
				   nb.len)) < 0) {
		j->rc = rc;
		goto out;
	}
	fs_write_expect(up, f.meta.sha256);
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
		if ((j->rc = upload_write(up, &iov, 1)) < 0)
			goto out;
		off += k;
	}
	if ((j->rc = upload_flush(up)) == 0 &&
	    (j->rc = upload_commit(up, NULL)) == -ESTALE) {
		j->rc = 0;
		j->status = 409; /* written meanwhile */
		goto out;
	}
	if (j->rc < 0)
		goto out;
mtime:
	j->rc = fs_set_mtime(j->store, j->path, mtime * 1000000000);
out:
	if (up)
		upload_abort(up);
	free(b);
	buf_release(&nb);
	close(f.fd);
}

static void
patch_done(void *arg)
{
	struct patch_job *j = arg;
	struct dav_req *r = j->r;
	struct buf b;
	unsigned i;
	int rc;

	if (!http_job_end(r->c)) {
		dav_xml_release(&j->x);
		free(j);
		return;
	}
	if (j->rc < 0) {
		dav_error_errno(r, j->rc);
		dav_xml_release(&j->x);
		free(j);
		return;
	}
	buf_init(&b, 1 << 20);
	rc = buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			  "<D:multistatus xmlns:D=\"DAV:\"><D:response>"
			  "<D:href>");
	if (rc == 0)
		rc = dav_href(&b, r->path, false);
	if (rc == 0)
		rc = buf_puts(&b, "</D:href><D:propstat><D:prop>");
	for (i = 0; rc == 0 && i < j->x.nprops; i++)
		rc = empty_prop(&b, &j->x.props[i]);
	if (rc == 0)
		rc = buf_printf(&b,
				"</D:prop><D:status>HTTP/1.1 %d %s</D:status>"
				"</D:propstat></D:response></D:multistatus>\n",
				j->status, http_status_text(j->status));
	dav_xml_release(&j->x);
	free(j);
	if (rc < 0) {
		buf_release(&b);
		dav_error(r, 500, "out of memory");
		return;
	}
	dav_respond_xml(r, 207, &b);
}

static bool
is_protected(const struct dav_prop *p)
{
	return (strcmp(p->ns, "DAV:") == 0 && !sets_mtime(p));
}

/* The DAV: properties are live: a PROPPATCH naming one changes nothing
 * (403 for it, 424 for the others), getlastmodified excepted. */
static int
protected_answer(struct dav_req *r, const struct dav_xml *x)
{
	struct buf b;
	unsigned i, bad = 0;
	int rc, pass;

	for (i = 0; i < x->nprops; i++)
		if (is_protected(&x->props[i]))
			bad++;
	if (bad == 0)
		return (0);
	buf_init(&b, 1 << 20);
	rc = buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			  "<D:multistatus xmlns:D=\"DAV:\"><D:response>"
			  "<D:href>");
	if (rc == 0)
		rc = dav_href(&b, r->path, false);
	if (rc == 0)
		rc = buf_puts(&b, "</D:href>");
	for (pass = 0; rc == 0 && pass < 2; pass++) {
		if (pass == 1 && bad == x->nprops)
			break;
		rc = buf_puts(&b, "<D:propstat><D:prop>");
		for (i = 0; rc == 0 && i < x->nprops; i++)
			if (is_protected(&x->props[i]) == (pass == 0))
				rc = empty_prop(&b, &x->props[i]);
		if (rc == 0)
			rc = buf_puts(
			    &b, pass == 0 ? "</D:prop><D:status>HTTP/1.1 403 "
					    "Forbidden</D:status></D:propstat>"
					  : "</D:prop><D:status>HTTP/1.1 424 "
					    "Failed Dependency</D:status>"
					    "</D:propstat>");
	}
	if (rc == 0)
		rc = buf_puts(&b, "</D:response></D:multistatus>\n");
	if (rc < 0) {
		buf_release(&b);
		dav_error(r, 500, "out of memory");
	} else
		dav_respond_xml(r, 207, &b);
	return (1);
}

void
dav_proppatch(struct dav_req *r)
{
	struct http_conn *c = r->c;
	struct patch_job *j;
	int rc;

	if (!dav_need_body(r))
		return;
	if (dav_write_refused(r, r->path, false))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		dav_error(r, 500, "out of memory");
		return;
	}
	if ((rc = dav_xml_parse(DAV_XML_PROPPATCH, c->body.data, c->body.len,
				&j->x)) < 0 ||
	    j->x.nprops == 0) {
		if (rc == 0)
			dav_xml_release(&j->x);
		free(j);
		dav_error(r, rc == -E2BIG ? 413 : 400, "bad propertyupdate");
		return;
	}
	if (protected_answer(r, &j->x)) {
		dav_xml_release(&j->x);
		free(j);
		return;
	}
	j->r = r;
	j->store = c->srv->o.store;
	j->status = 200;
	memcpy(j->path, r->path, sizeof(j->path));
	c->st = CONN_BUSY;
	if (http_job(c, patch_run, patch_done, j) < 0) {
		dav_xml_release(&j->x);
		free(j);
		http_busy(c);
	}
}
