/*
 * dav_xml: the bodies of PROPFIND, PROPPATCH and LOCK, read with expat
 * with namespaces (each name is "URI\x01local"; a name in no namespace
 * has no separator), and text escaped for the answers.
 *
 *   propfind        / allprop | propname | prop / NAME...
 *   propertyupdate  / set | remove / prop / NAME (value: any XML)
 *   lockinfo        / lockscope / exclusive | shared,
 *                     locktype / write, owner (any XML)
 *
 * A property's value and a lock's owner are kept as XML rebuilt from the
 * parse (elements re-declare their namespaces, text escaped), so they go
 * back out well-formed whatever the client's prefixes were (attributes
 * inside a value are not kept).  Caps: the
 * body (DAV_BODY_MAX, the connection's), the nesting (DAV_XML_DEPTH),
 * the properties (DAV_PROPS_MAX), a name (DAV_NAME_MAX) and a value
 * (DAV_VALUE_MAX).  SECURITY: a DOCTYPE, an entity declaration or an
 * external entity reference stops the parse before anything is expanded,
 * so neither an entity bomb nor an external file can be read.
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#define NS_SEP '\x01'

struct parse {
	XML_Parser p;
	struct dav_xml *x;
	int err;
	unsigned depth;
	/* what the elements at depth 1..3 were (DAV: local names) */
	char at[4][16];
	bool remove;
	struct buf val; /* the value being rebuilt */
	bool in_val;
	unsigned val_depth;
};

static void
stop(struct parse *ps, int err)
{
	if (ps->err == 0)
		ps->err = err;
	(void)XML_StopParser(ps->p, XML_FALSE);
}

/* Splits "URI\x01local": ns and local, each capped. */
static int
split(const char *name, char *ns, char *local)
{
	const char *s = strchr(name, NS_SEP);

	if (s == NULL) {
		ns[0] = '\0';
		return (str_copy(local, DAV_NAME_MAX, name));
	}
	if ((size_t)(s - name) >= DAV_NAME_MAX)
		return (-1);
	memcpy(ns, name, (size_t)(s - name));
	ns[s - name] = '\0';
	return (str_copy(local, DAV_NAME_MAX, s + 1));
}

static bool
is_dav(const char *ns, const char *local, const char *want)
{
	return (strcmp(ns, "DAV:") == 0 && strcmp(local, want) == 0);
}

int
dav_xml_esc(struct buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s; s++)
		switch (*s) {
		case '<':
			rc = buf_puts(b, "&lt;");
			break;
		case '>':
			rc = buf_puts(b, "&gt;");
			break;
		case '&':
			rc = buf_puts(b, "&amp;");
			break;
		case '"':
			rc = buf_puts(b, "&quot;");
			break;
		default:
			rc = buf_append(b, s, 1);
		}
	return (rc);
}

static int
add_prop(struct parse *ps, const char *ns, const char *local)
{
	struct dav_xml *x = ps->x;
	struct dav_prop *np;

	if (x->nprops == DAV_PROPS_MAX)
		return (-E2BIG);
	if ((np = realloc(x->props, (x->nprops + 1) * sizeof(*np))) == NULL)
		return (-ENOMEM);
	x->props = np;
	np = &x->props[x->nprops++];
	memset(np, 0, sizeof(*np));
	(void)str_copy(np->ns, sizeof(np->ns), ns);
	(void)str_copy(np->name, sizeof(np->name), local);
	np->remove = ps->remove;
	return (0);
}

/* An element inside a value: rebuilt with its namespace declared. */
static void
val_open(struct parse *ps, const char *ns, const char *local)
{
	int rc;

	if (ns[0] == '\0')
		rc = buf_printf(&ps->val, "<%s xmlns=\"\">", local);
	else {
		rc = buf_printf(&ps->val, "<V:%s xmlns:V=\"", local);
		if (rc == 0)
			rc = dav_xml_esc(&ps->val, ns);
		if (rc == 0)
			rc = buf_puts(&ps->val, "\">");
	}
	if (rc < 0)
		stop(ps, -E2BIG);
}

static void
val_close(struct parse *ps, const char *ns, const char *local)
{
	if (buf_printf(&ps->val, ns[0] ? "</V:%s>" : "</%s>", local) < 0)
		stop(ps, -E2BIG);
}

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct parse *ps = arg;
	struct dav_xml *x = ps->x;
	char ns[DAV_NAME_MAX], local[DAV_NAME_MAX];
	unsigned d;
	int rc;

	(void)attrs;
	d = ++ps->depth;
	if (d > DAV_XML_DEPTH) {
		stop(ps, -E2BIG);
		return;
	}
	if (split(name, ns, local) < 0) {
		stop(ps, -E2BIG);
		return;
	}
	if (ps->in_val) {
		val_open(ps, ns, local);
		return;
	}
	if (d <= 3)
		(void)str_copy(ps->at[d], sizeof(ps->at[d]),
			       strcmp(ns, "DAV:") == 0 ? local : "");
	switch (x->kind) {
	case DAV_XML_PROPFIND:
		if (d == 1 && !is_dav(ns, local, "propfind"))
			stop(ps, -EINVAL);
		else if (d == 2 && is_dav(ns, local, "allprop"))
			x->find = DAV_FIND_ALLPROP;
		else if (d == 2 && is_dav(ns, local, "propname"))
			x->find = DAV_FIND_PROPNAME;
		else if (d == 2 && is_dav(ns, local, "prop"))
			x->find = DAV_FIND_PROP;
		else if (d == 3 && strcmp(ps->at[2], "prop") == 0 &&
			 (rc = add_prop(ps, ns, local)) < 0)
			stop(ps, rc);
		break;
	case DAV_XML_PROPPATCH:
		if (d == 1 && !is_dav(ns, local, "propertyupdate"))
			stop(ps, -EINVAL);
		else if (d == 2)
			ps->remove = is_dav(ns, local, "remove");
		else if (d == 4 && strcmp(ps->at[3], "prop") == 0 &&
			 (strcmp(ps->at[2], "set") == 0 ||
			  strcmp(ps->at[2], "remove") == 0)) {
			if ((rc = add_prop(ps, ns, local)) < 0) {
				stop(ps, rc);
				return;
			}
			ps->in_val = true;
			ps->val_depth = d;
			buf_reset(&ps->val);
		}
		break;
	case DAV_XML_LOCKINFO:
		if (d == 1 && !is_dav(ns, local, "lockinfo"))
			stop(ps, -EINVAL);
		else if (d == 2 && is_dav(ns, local, "owner")) {
			ps->in_val = true;
			ps->val_depth = d;
			buf_reset(&ps->val);
		} else if (d == 3 && strcmp(ps->at[2], "lockscope") == 0)
			x->shared = is_dav(ns, local, "shared");
		else if (d == 3 && strcmp(ps->at[2], "locktype") == 0)
			x->write = is_dav(ns, local, "write");
		break;
	}
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct parse *ps = arg;
	struct dav_xml *x = ps->x;
	char ns[DAV_NAME_MAX], local[DAV_NAME_MAX];

	if (ps->in_val && ps->depth == ps->val_depth) {
		ps->in_val = false;
		if (x->kind == DAV_XML_LOCKINFO)
			(void)str_copy(x->owner, sizeof(x->owner),
				       buf_cstr(&ps->val));
		else if (ps->val.len > 0 &&
			 (x->props[x->nprops - 1].value =
			      strdup(buf_cstr(&ps->val))) == NULL)
			stop(ps, -ENOMEM);
	} else if (ps->in_val && split(name, ns, local) == 0)
		val_close(ps, ns, local);
	ps->depth--;
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct parse *ps = arg;
	char one[2] = {0, 0};
	int i;

	if (!ps->in_val)
		return;
	for (i = 0; i < len; i++) {
		one[0] = s[i];
		if (dav_xml_esc(&ps->val, one) < 0) {
			stop(ps, -E2BIG);
			return;
		}
	}
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
	stop(arg, -EINVAL);
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
	stop(arg, -EINVAL);
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

int
dav_xml_parse(enum dav_xml_kind kind, const void *body, size_t len,
	      struct dav_xml *x)
{
	struct parse ps;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->find = DAV_FIND_ALLPROP;
	if (len == 0)
		return (0);
	if (len > DAV_BODY_MAX)
		return (-E2BIG);
	memset(&ps, 0, sizeof(ps));
	ps.x = x;
	buf_init(&ps.val,
		 kind == DAV_XML_LOCKINFO ? DAV_OWNER_MAX - 1 : DAV_VALUE_MAX);
	if ((ps.p = XML_ParserCreateNS(NULL, NS_SEP)) == NULL) {
		buf_release(&ps.val);
		return (-ENOMEM);
	}
	XML_SetUserData(ps.p, &ps);
	XML_SetElementHandler(ps.p, on_start, on_end);
	XML_SetCharacterDataHandler(ps.p, on_text);
	XML_SetStartDoctypeDeclHandler(ps.p, on_doctype);
	XML_SetEntityDeclHandler(ps.p, on_entity);
	XML_SetExternalEntityRefHandler(ps.p, on_external);
	(void)XML_SetParamEntityParsing(ps.p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(ps.p, body, (int)len, XML_TRUE) != XML_STATUS_OK &&
	    ps.err == 0)
		ps.err = -EINVAL;
	XML_ParserFree(ps.p);
	buf_release(&ps.val);
	if (ps.err == 0 && kind == DAV_XML_PROPFIND &&
	    x->find == DAV_FIND_PROP && x->nprops == 0)
		ps.err = -EINVAL;
	if (ps.err != 0) {
		dav_xml_release(x);
		return (ps.err);
	}
	return (0);
}

void
dav_xml_release(struct dav_xml *x)
{
	unsigned i;

	for (i = 0; i < x->nprops; i++)
		free(x->props[i].value);
	free(x->props);
	x->props = NULL;
	x->nprops = 0;
}
