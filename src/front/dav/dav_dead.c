/*
 * dav_dead: dead properties, and PROPPATCH.
 *
 * Dead properties are kept with the file's version, in its attributes in
 * the index, so they replicate with it (as S3 keeps its metadata:
 * s3_meta.c), one line each:
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
 * Windows sends) does besides being kept.  A folder has no version to
 * carry attributes: its properties cannot be set (403).
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/work.h"

/* The "dav:" lines of attributes a[n], as a string (NULL: none). */
char *
dav_dead_lines(const uint8_t *a, size_t n)
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

/* <N:name xmlns:N="ns"/> for a property we do not have. */
int
dav_empty_prop(struct buf *b, const struct dav_prop *p)
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

/* The next dead property of lines at *c; false at the end. */
bool
dav_dead_next(struct cursor *c, struct dav_dead *d)
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

bool
dav_dead_find(const char *lines, const struct dav_prop *p, struct dav_dead *d)
{
	struct cursor c;

	if (lines == NULL)
		return (false);
	cur_init(&c, lines, strlen(lines));
	while (dav_dead_next(&c, d))
		if (strcmp(d->ns, p->ns) == 0 && strcmp(d->name, p->name) == 0)
			return (true);
	return (false);
}

/* <N:name xmlns:N="ns">value</N:name> (value NULL: empty). */
int
dav_prop_elem(struct buf *b, const char *ns, const char *name,
	      const char *value)
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
	struct dav_dead d;
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
	while (rc == 0 && dav_dead_next(&c, &d)) {
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
		rc = dav_empty_prop(&b, &j->x.props[i]);
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
				rc = dav_empty_prop(&b, &x->props[i]);
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
