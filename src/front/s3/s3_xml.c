/*
 * s3_xml: request bodies read with expat, answers written into a buf (see
 * s3_xml.h).
 *
 * The parser keeps the stack of open elements (local names, prefix cut)
 * up to S3_XML_DEPTH_MAX and gathers text only inside the leaves an
 * operation reads, at most S3_XML_TEXT_MAX bytes each:
 *
 *   CompleteMultipartUpload / Part / PartNumber, ETag
 *   Delete / Quiet, Object / Key, VersionId
 *   CreateBucketConfiguration / LocationConstraint
 *
 * Any handler that finds the body wrong records the error and stops the
 * parser (XML_StopParser); the error sticks.  SECURITY: a DOCTYPE, an
 * entity declaration or an external entity reference stops the parse
 * before anything is expanded; parameter entities are never parsed.
 */
#include "front/s3/s3_xml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "base/parse.h"

/* The leaves read, by depth and parent. */
enum leaf {
	LEAF_NONE,
	LEAF_PART_NUMBER,
	LEAF_ETAG,
	LEAF_QUIET,
	LEAF_KEY,
	LEAF_VERSION_ID,
	LEAF_LOCATION,
};

struct s3_xml {
	XML_Parser p;
	enum s3_xml_kind kind;
	enum s3_err bad;
	size_t bytes;
	size_t max_bytes;
	unsigned depth;
	bool root_seen;
	bool in_item;	/* inside Part or Object */
	enum leaf leaf; /* text being gathered, or NONE */
	struct buf text;
	/* the item being read */
	bool have_number, have_etag, have_key, have_vid, have_quiet;
	uint32_t number;
	char *etag;
	char *key;
	size_t key_len;
	char *vid;
	size_t cap; /* of the result's array */
	struct s3_xml_result res;
};

static const char *const roots[] = {
    [S3_XML_COMPLETE] = "CompleteMultipartUpload",
    [S3_XML_DELETE] = "Delete",
    [S3_XML_CREATE_BUCKET] = "CreateBucketConfiguration",
};

static void
stop(struct s3_xml *x, enum s3_err e)
{
	if (x->bad == S3_OK)
		x->bad = e;
	(void)XML_StopParser(x->p, XML_FALSE);
}

static const char *
local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return (colon != NULL ? colon + 1 : name);
}

static void
item_reset(struct s3_xml *x)
{
	free(x->etag);
	free(x->key);
	free(x->vid);
	x->etag = x->key = x->vid = NULL;
	x->key_len = 0;
	x->have_number = x->have_etag = x->have_key = x->have_vid = false;
	x->number = 0;
}

static enum leaf
leaf_of(const struct s3_xml *x, const char *name)
{
	switch (x->kind) {
	case S3_XML_COMPLETE:
		if (x->depth == 3 && x->in_item) {
			if (strcmp(name, "PartNumber") == 0)
				return (LEAF_PART_NUMBER);
			if (strcmp(name, "ETag") == 0)
				return (LEAF_ETAG);
		}
		break;
	case S3_XML_DELETE:
		if (x->depth == 2 && strcmp(name, "Quiet") == 0)
			return (LEAF_QUIET);
		if (x->depth == 3 && x->in_item) {
			if (strcmp(name, "Key") == 0)
				return (LEAF_KEY);
			if (strcmp(name, "VersionId") == 0)
				return (LEAF_VERSION_ID);
		}
		break;
	case S3_XML_CREATE_BUCKET:
		if (x->depth == 2 && strcmp(name, "LocationConstraint") == 0)
			return (LEAF_LOCATION);
		break;
	}
	return (LEAF_NONE);
}

static void XMLCALL
on_start(void *arg, const XML_Char *qname, const XML_Char **attrs)
{
	struct s3_xml *x = arg;
	const char *name = local_name(qname);

	(void)attrs;
	if (x->bad != S3_OK)
		return;
	if (x->leaf != LEAF_NONE) {
		/* no element inside a leaf's text */
		stop(x, S3_ERR_MALFORMED_XML);
		return;
	}
	if (++x->depth > S3_XML_DEPTH_MAX) {
		stop(x, S3_ERR_MALFORMED_XML);
		return;
	}
	if (x->depth == 1) {
		if (strcmp(name, roots[x->kind]) != 0)
			stop(x, S3_ERR_MALFORMED_XML);
		x->root_seen = true;
		return;
	}
	if (x->depth == 2 &&
	    ((x->kind == S3_XML_COMPLETE && strcmp(name, "Part") == 0) ||
	     (x->kind == S3_XML_DELETE && strcmp(name, "Object") == 0))) {
		x->in_item = true;
		item_reset(x);
		return;
	}
	x->leaf = leaf_of(x, name);
	buf_reset(&x->text);
}

static int
grow(struct s3_xml *x, void **arr, size_t size, size_t n, size_t max)
{
	void *p;
	size_t cap;

	if (n < x->cap)
		return (0);
	if (n >= max)
		return (-ENOSPC);
	cap = x->cap ? x->cap * 2 : 16;
	if (cap > max)
		cap = max;
	if ((p = realloc(*arr, cap * size)) == NULL)
		return (-ENOMEM);
	*arr = p;
	x->cap = cap;
	return (0);
}

/* The end of a Part or an Object: checked and added to the result. */
static void
item_end(struct s3_xml *x)
{
	struct s3_xml_result *r = &x->res;
	int rc;

	if (x->kind == S3_XML_COMPLETE) {
		if (!x->have_number || !x->have_etag) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		rc = grow(x, (void **)&r->parts, sizeof(*r->parts), r->nparts,
			  S3_XML_PARTS_MAX);
		if (rc < 0) {
			stop(x, rc == -ENOMEM ? S3_ERR_INTERNAL
					      : S3_ERR_MALFORMED_XML);
			return;
		}
		r->parts[r->nparts].number = x->number;
		r->parts[r->nparts].etag = x->etag;
		x->etag = NULL;
		r->nparts++;
	} else {
		if (!x->have_key) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		rc = grow(x, (void **)&r->keys, sizeof(*r->keys), r->nkeys,
			  S3_XML_DELETE_MAX);
		if (rc < 0) {
			stop(x, rc == -ENOMEM ? S3_ERR_INTERNAL
					      : S3_ERR_MALFORMED_XML);
			return;
		}
		r->keys[r->nkeys].key = x->key;
		r->keys[r->nkeys].key_len = x->key_len;
		r->keys[r->nkeys].version_id = x->vid;
		x->key = x->vid = NULL;
		r->nkeys++;
	}
	item_reset(x);
}

static struct span
trimmed(const struct buf *b)
{
	struct span s = {b->data != NULL ? b->data : "", b->len};

	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t' ||
			     s.p[0] == '\r' || s.p[0] == '\n')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
			     s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return (s);
}

static char *
dup_span(struct span s)
{
	char *p = malloc(s.len + 1);

	if (p == NULL)
		return (NULL);
	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	return (p);
}

/* A leaf's text is whole. */
static void
leaf_end(struct s3_xml *x)
{
	struct span t = trimmed(&x->text);
	uint64_t n;

	switch (x->leaf) {
	case LEAF_PART_NUMBER:
		if (x->have_number || span_u64(t, S3_XML_PARTS_MAX, &n) < 0 ||
		    n < 1) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		x->number = (uint32_t)n;
		x->have_number = true;
		break;
	case LEAF_ETAG:
		if (x->have_etag || (x->etag = dup_span(t)) == NULL) {
			stop(x, x->have_etag ? S3_ERR_MALFORMED_XML
					     : S3_ERR_INTERNAL);
			return;
		}
		x->have_etag = true;
		break;
	case LEAF_QUIET:
		if (x->have_quiet) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		if (span_eq_ci(t, "true"))
			x->res.quiet = true;
		else if (!span_eq_ci(t, "false")) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		x->have_quiet = true;
		break;
	case LEAF_KEY: {
		/* a key is taken as sent, spaces included */
		struct span k = {x->text.data ? x->text.data : "", x->text.len};

		if (x->have_key || k.len == 0) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		if ((x->key = dup_span(k)) == NULL) {
			stop(x, S3_ERR_INTERNAL);
			return;
		}
		x->key_len = k.len;
		x->have_key = true;
		break;
	}
	case LEAF_VERSION_ID:
		if (x->have_vid || (x->vid = dup_span(t)) == NULL) {
			stop(x, x->have_vid ? S3_ERR_MALFORMED_XML
					    : S3_ERR_INTERNAL);
			return;
		}
		x->have_vid = true;
		break;
	case LEAF_LOCATION:
		if (t.len >= sizeof(x->res.location)) {
			stop(x, S3_ERR_MALFORMED_XML);
			return;
		}
		memcpy(x->res.location, t.p, t.len);
		x->res.location[t.len] = '\0';
		break;
	case LEAF_NONE:
		break;
	}
}

static void XMLCALL
on_end(void *arg, const XML_Char *qname)
{
	struct s3_xml *x = arg;

	(void)qname;
	if (x->bad != S3_OK)
		return;
	if (x->leaf != LEAF_NONE) {
		leaf_end(x);
		x->leaf = LEAF_NONE;
	} else if (x->depth == 2 && x->in_item) {
		item_end(x);
		x->in_item = false;
	}
	x->depth--;
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct s3_xml *x = arg;

	if (x->bad != S3_OK || x->leaf == LEAF_NONE || len <= 0)
		return;
	if (buf_append(&x->text, s, (size_t)len) < 0)
		stop(x, S3_ERR_MALFORMED_XML);
}

/* SECURITY: no DTD, no entity of any kind. */
static void XMLCALL
on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
	   const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(arg, S3_ERR_MALFORMED_XML);
}

static void XMLCALL
on_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value,
	  int value_len, const XML_Char *base, const XML_Char *sysid,
	  const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(arg, S3_ERR_MALFORMED_XML);
}

static int XMLCALL
on_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
	    const XML_Char *sysid, const XML_Char *pubid)
{
	(void)p;
	(void)context;
	(void)base;
	(void)sysid;
	(void)pubid;
	return (XML_STATUS_ERROR);
}

struct s3_xml *
s3_xml_new(enum s3_xml_kind kind)
{
	struct s3_xml *x;

	if ((unsigned)kind > S3_XML_CREATE_BUCKET)
		return (NULL);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (NULL);
	if ((x->p = XML_ParserCreate(NULL)) == NULL) {
		free(x);
		return (NULL);
	}
	x->kind = kind;
	x->res.kind = kind;
	x->max_bytes =
	    kind == S3_XML_DELETE ? S3_XML_DELETE_BODY_MAX : S3_XML_BODY_MAX;
	buf_init(&x->text, S3_XML_TEXT_MAX);
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
	XML_SetEntityDeclHandler(x->p, on_entity);
	XML_SetExternalEntityRefHandler(x->p, on_external);
	(void)XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
	return (x);
}

void
s3_xml_free(struct s3_xml *x)
{
	if (x == NULL)
		return;
	XML_ParserFree(x->p);
	item_reset(x);
	buf_release(&x->text);
	s3_xml_result_release(&x->res);
	free(x);
}

enum s3_err
s3_xml_feed(struct s3_xml *x, const void *data, size_t len)
{
	if (x->bad != S3_OK)
		return (x->bad);
	if (len > x->max_bytes - x->bytes) {
		x->bad = S3_ERR_ENTITY_TOO_LARGE;
		return (x->bad);
	}
	x->bytes += len;
	if (len == 0)
		return (S3_OK);
	if (XML_Parse(x->p, data, (int)len, XML_FALSE) != XML_STATUS_OK &&
	    x->bad == S3_OK)
		x->bad = S3_ERR_MALFORMED_XML;
	return (x->bad);
}

enum s3_err
s3_xml_finish(struct s3_xml *x, struct s3_xml_result *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = x->kind;
	if (x->bad != S3_OK)
		return (x->bad);
	if (x->bytes == 0 && x->kind == S3_XML_CREATE_BUCKET)
		return (S3_OK);
	if (XML_Parse(x->p, "", 0, XML_TRUE) != XML_STATUS_OK) {
		if (x->bad == S3_OK)
			x->bad = S3_ERR_MALFORMED_XML;
		return (x->bad);
	}
	if (x->bad != S3_OK)
		return (x->bad);
	if (!x->root_seen ||
	    (x->kind == S3_XML_COMPLETE && x->res.nparts == 0) ||
	    (x->kind == S3_XML_DELETE && x->res.nkeys == 0)) {
		x->bad = S3_ERR_MALFORMED_XML;
		return (x->bad);
	}
	*out = x->res;
	memset(&x->res, 0, sizeof(x->res));
	x->bad = S3_ERR_INTERNAL; /* finished: no more feeding */
	return (S3_OK);
}

enum s3_err
s3_xml_parse(enum s3_xml_kind kind, const void *data, size_t len,
	     struct s3_xml_result *out)
{
	struct s3_xml *x;
	enum s3_err e;

	memset(out, 0, sizeof(*out));
	if ((x = s3_xml_new(kind)) == NULL)
		return (S3_ERR_INTERNAL);
	e = s3_xml_feed(x, data, len);
	if (e == S3_OK)
		e = s3_xml_finish(x, out);
	s3_xml_free(x);
	return (e);
}

void
s3_xml_result_release(struct s3_xml_result *r)
{
	for (size_t i = 0; i < r->nparts; i++)
		free(r->parts[i].etag);
	free(r->parts);
	for (size_t i = 0; i < r->nkeys; i++) {
		free(r->keys[i].key);
		free(r->keys[i].version_id);
	}
	free(r->keys);
	r->parts = NULL;
	r->keys = NULL;
	r->nparts = r->nkeys = 0;
}

/* --- the writer --- */

int
s3_xml_decl(struct buf *b)
{
	return (buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
}

int
s3_xml_open(struct buf *b, const char *name)
{
	return (buf_printf(b, "<%s>", name));
}

int
s3_xml_open_ns(struct buf *b, const char *name)
{
	return (buf_printf(b, "<%s xmlns=\"" S3_XML_NS "\">", name));
}

int
s3_xml_close(struct buf *b, const char *name)
{
	return (buf_printf(b, "</%s>", name));
}

int
s3_xml_text(struct buf *b, const char *s, size_t len)
{
	size_t start = b->len, run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *ent = NULL;
		char num[8];

		switch (c) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		default:
			if (c < 0x20) {
				(void)str_fmt(num, sizeof(num), "&#x%X;", c);
				ent = num;
			}
			break;
		}
		if (ent == NULL) {
			run++;
			continue;
		}
		if ((run > 0 && buf_append(b, s + i - run, run) < 0) ||
		    buf_puts(b, ent) < 0)
			goto full;
		run = 0;
	}
	if (run > 0 && buf_append(b, s + len - run, run) < 0)
		goto full;
	return (0);
full:
	buf_truncate(b, start);
	return (-ENOBUFS);
}

int
s3_xml_elem_len(struct buf *b, const char *name, const char *text, size_t len)
{
	size_t start = b->len;

	if (s3_xml_open(b, name) < 0 ||
	    (text != NULL && s3_xml_text(b, text, len) < 0) ||
	    s3_xml_close(b, name) < 0) {
		buf_truncate(b, start);
		return (-ENOBUFS);
	}
	return (0);
}

int
s3_xml_elem(struct buf *b, const char *name, const char *text)
{
	return (s3_xml_elem_len(b, name, text, text ? strlen(text) : 0));
}

int
s3_xml_elem_u64(struct buf *b, const char *name, uint64_t v)
{
	return (
	    buf_printf(b, "<%s>%llu</%s>", name, (unsigned long long)v, name));
}

int
s3_xml_elem_bool(struct buf *b, const char *name, bool v)
{
	return (s3_xml_elem(b, name, v ? "true" : "false"));
}

int
s3_xml_elem_time(struct buf *b, const char *name, int64_t t)
{
	char text[32];
	struct tm tm;
	time_t v = (time_t)t;

	if (gmtime_r(&v, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		return (-EINVAL);
	return (s3_xml_elem(b, name, text));
}

int
s3_xml_error(struct buf *b, enum s3_err e, const char *message,
	     const char *resource, const char *request_id)
{
	size_t start = b->len;

	if (s3_xml_decl(b) < 0 || s3_xml_open(b, "Error") < 0 ||
	    s3_xml_elem(b, "Code", s3_err_code(e)) < 0 ||
	    s3_xml_elem(b, "Message",
			message != NULL ? message : s3_err_message(e)) < 0 ||
	    (resource != NULL && s3_xml_elem(b, "Resource", resource) < 0) ||
	    (request_id != NULL &&
	     s3_xml_elem(b, "RequestId", request_id) < 0) ||
	    s3_xml_close(b, "Error") < 0) {
		buf_truncate(b, start);
		return (-ENOBUFS);
	}
	return (0);
}
