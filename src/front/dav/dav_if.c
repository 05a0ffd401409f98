/*
 * dav_if: the If header of RFC 4918 (10.4), parsed and evaluated.
 *
 *   If        = 1*No-tag-list | 1*Tagged-list
 *   Tagged    = "<" URI-or-path ">" 1*List
 *   List      = "(" 1*Condition ")"
 *   Condition = ["Not"] ( "<" state-token ">" | "[" entity-tag "]" )
 *
 * The header holds if any list holds; a list holds if each of its
 * conditions does.  A state token holds for a resource when it is the
 * token of a live lock covering it (the caller knows the locks: a
 * callback); an entity tag, when it is the request path's ETag (quoted
 * or not, weak or not; only the request path's ETag is known).  The
 * resource of a tagged list is decoded and checked as the target is
 * (dav_path_of).  A value longer than any token or ETag of ours is kept
 * as one that never matches.  Pure: no allocation, no I/O; unit tested
 * in tests/unit/test_dav_if.c.
 */
#include "front/dav/dav_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static void
skip_ws(struct cursor *c)
{
	while (!cur_eof(c) && (c->p[0] == ' ' || c->p[0] == '\t'))
		(void)cur_eat(c, c->p[0]);
}

/* A resource tag's URI or path into res. */
static int
resource(struct span u, char res[PATH_LEN_MAX + 1])
{
	const char *p = u.p, *e = u.p + u.len, *s;
	bool dir;

	if (u.len > 7 && strncasecmp(p, "http", 4) == 0 &&
	    (s = memchr(p, ':', u.len)) != NULL && (size_t)(e - s) > 3 &&
	    s[1] == '/' && s[2] == '/') {
		/* http://host[:port]/path: the path, or the root */
		if ((p = memchr(s + 3, '/', (size_t)(e - s - 3))) == NULL) {
			p = "/";
			e = p + 1;
		}
	}
	return (dav_path_of(p, (size_t)(e - p), res, PATH_LEN_MAX + 1, &dir) ==
			0
		    ? 0
		    : -EINVAL);
}

/* One condition at c into k. */
static int
condition(struct cursor *c, struct dav_if_cond *k)
{
	struct span t;

	memset(k, 0, sizeof(*k));
	if (c->len >= 3 && strncasecmp(c->p, "not", 3) == 0) {
		cur_init(c, c->p + 3, c->len - 3);
		k->negate = true;
		skip_ws(c);
	}
	if (cur_eat(c, '<')) {
		t = cur_until(c, '>');
		if (!cur_eat(c, '>'))
			return (-EINVAL);
	} else if (cur_eat(c, '[')) {
		t = cur_until(c, ']');
		if (!cur_eat(c, ']'))
			return (-EINVAL);
		k->etag = true;
	} else
		return (-EINVAL);
	if (t.len == 0)
		return (-EINVAL);
	if (t.len < sizeof(k->val)) {
		memcpy(k->val, t.p, t.len);
		k->val[t.len] = '\0';
	} else
		(void)str_copy(k->val, sizeof(k->val), "-");
	return (0);
}

int
dav_if_parse(const char *v, size_t len, struct dav_if *h)
{
	struct cursor c;
	char res[PATH_LEN_MAX + 1] = "";
	bool tagged = false;
	struct dav_if_list *l;

	memset(h, 0, sizeof(*h));
	cur_init(&c, v, len);
	for (;;) {
		skip_ws(&c);
		if (cur_eof(&c))
			break;
		if (cur_eat(&c, '<')) {
			struct span u = cur_until(&c, '>');

			if (!cur_eat(&c, '>') || resource(u, res) < 0)
				return (-EINVAL);
			tagged = true;
			continue;
		}
		if (!cur_eat(&c, '(') || h->nlist == DAV_IF_LISTS_MAX)
			return (-EINVAL);
		l = &h->list[h->nlist];
		l->tagged = tagged;
		l->first = h->ncond;
		l->n = 0;
		(void)str_copy(l->res, sizeof(l->res), res);
		for (;;) {
			skip_ws(&c);
			if (cur_eat(&c, ')'))
				break;
			if (h->ncond == DAV_IF_CONDS_MAX ||
			    condition(&c, &h->cond[h->ncond]) < 0)
				return (-EINVAL);
			h->ncond++;
			l->n++;
		}
		if (l->n == 0)
			return (-EINVAL);
		h->nlist++;
	}
	return (h->nlist > 0 ? 0 : -EINVAL);
}

bool
dav_etag_is(const char *val, const char *etag)
{
	size_t n;

	if (etag[0] == '\0')
		return (false);
	if (strncmp(val, "W/", 2) == 0)
		val += 2;
	n = strlen(val);
	if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
		val++;
		n -= 2;
	}
	return (n == strlen(etag) && memcmp(val, etag, n) == 0);
}

bool
dav_if_eval(const struct dav_if *h, const char *path, const char *etag,
	    bool (*holds)(void *, const char *res, const char *token),
	    void *arg)
{
	unsigned i, k;

	for (i = 0; i < h->nlist; i++) {
		const struct dav_if_list *l = &h->list[i];
		const char *res = l->tagged ? l->res : path;
		bool ok = true;

		for (k = l->first; ok && k < l->first + l->n; k++) {
			const struct dav_if_cond *c = &h->cond[k];
			bool m;

			if (c->etag)
				m = strcmp(res, path) == 0 &&
				    dav_etag_is(c->val, etag);
			else
				m = holds(arg, res, c->val);
			ok = c->negate ? !m : m;
		}
		if (ok)
			return (true);
	}
	return (false);
}
