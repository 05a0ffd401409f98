/*
 * catalog: a chained hash table of entries keyed by path.
 */
#include "cluster/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/place.h"
#include "cluster/twire.h"

struct catalog {
	struct cat_entry	**b;
	size_t			 nb, n;
	char			**pins;
	size_t			 npins;
};

struct catalog *
catalog_new(void)
{
	struct catalog *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->nb = 1024;
	if ((c->b = calloc(c->nb, sizeof(*c->b))) == NULL) {
		free(c);
		return (NULL);
	}
	return (c);
}

static void
entry_free(struct cat_entry *e)
{
	free(e->h);
	free(e->version);
	free(e->path);
	free(e);
}

void
catalog_free(struct catalog *c)
{
	struct cat_entry *e, *t;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nb; i++)
		for (e = c->b[i]; e != NULL; e = t) {
			t = e->next;
			entry_free(e);
		}
	for (i = 0; i < c->npins; i++)
		free(c->pins[i]);
	free(c->pins);
	free(c->b);
	free(c);
}

static void
grow(struct catalog *c)
{
	struct cat_entry **nb, *e, *t;
	size_t i, n = c->nb * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;	/* longer chains, still correct */
	for (i = 0; i < c->nb; i++)
		for (e = c->b[i]; e != NULL; e = t) {
			t = e->next;
			e->next = nb[e->key % n];
			nb[e->key % n] = e;
		}
	free(c->b);
	c->b = nb;
	c->nb = n;
}

static struct cat_entry *
lookup(struct catalog *c, const char *path, uint64_t key, bool create)
{
	struct cat_entry *e;

	for (e = c->b[key % c->nb]; e != NULL; e = e->next)
		if (e->key == key && strcmp(e->path, path) == 0)
			return (e);
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	if ((e->path = strdup(path)) == NULL) {
		free(e);
		return (NULL);
	}
	e->key = key;
	if (c->n >= c->nb)
		grow(c);
	e->next = c->b[key % c->nb];
	c->b[key % c->nb] = e;
	c->n++;
	return (e);
}

static void
remove_entry(struct catalog *c, struct cat_entry *e)
{
	struct cat_entry **pp;

	for (pp = &c->b[e->key % c->nb]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			c->n--;
			entry_free(e);
			return;
		}
}

struct cat_entry *
catalog_find(struct catalog *c, const char *path)
{
	return (lookup(c, path, place_key(path), false));
}

static bool
is_live_file(const struct file_meta *m)
{
	return (!m->deleted && m->type == ENTRY_FILE);
}

void
catalog_self(struct catalog *c, const char *path, const struct file_meta *m)
{
	struct cat_entry *e;
	uint64_t key = place_key(path);

	if (!is_live_file(m)) {
		if ((e = lookup(c, path, key, false)) != NULL)
			remove_entry(c, e);
		return;
	}
	if ((e = lookup(c, path, key, true)) == NULL)
		return;
	e->live = true;
	e->held = !m->remote;
	{
		char v[TWIRE_VERSION_MAX + 1], *nv;

		twire_version_text(&m->vv, v);
		if ((e->version == NULL || strcmp(e->version, v) != 0) &&
		    (nv = strdup(v)) != NULL) {
			free(e->version);
			e->version = nv;
		}
	}
	e->size = m->size;
	memcpy(e->sha, m->sha256, HASH_LEN);
}

static int
holder_at(const struct cat_entry *e, const uint8_t id[NODE_ID_LEN])
{
	unsigned i;

	for (i = 0; i < e->nh; i++)
		if (memcmp(e->h[i].id, id, NODE_ID_LEN) == 0)
			return ((int)i);
	return (-1);
}

void
catalog_peer(struct catalog *c, const char *path, const uint8_t id[NODE_ID_LEN],
    const struct file_meta *m)
{
	bool holds = is_live_file(m) && !m->remote;
	struct cat_entry *e;
	struct cat_holder *nh;
	int i;

	if ((e = lookup(c, path, place_key(path), holds)) == NULL)
		return;
	i = holder_at(e, id);
	if (!holds) {
		if (i >= 0)
			e->h[i] = e->h[--e->nh];
		if (e->nh == 0 && !e->live)
			remove_entry(c, e);
		return;
	}
	if (i < 0) {
		if ((nh = realloc(e->h, (e->nh + 1) * sizeof(*nh))) == NULL)
			return;
		e->h = nh;
		i = (int)e->nh++;
		memcpy(e->h[i].id, id, NODE_ID_LEN);
	}
	memcpy(e->h[i].sha, m->sha256, HASH_LEN);
}

bool
catalog_holds(const struct cat_entry *e, const uint8_t id[NODE_ID_LEN])
{
	int i = holder_at(e, id);

	return (i >= 0 && memcmp(e->h[i].sha, e->sha, HASH_LEN) == 0);
}

void
catalog_each(struct catalog *c, void (*fn)(struct cat_entry *, void *),
    void *arg)
{
	struct cat_entry *e;
	size_t i;

	for (i = 0; i < c->nb; i++)
		for (e = c->b[i]; e != NULL; e = e->next)
			fn(e, arg);
}

int
catalog_pin(struct catalog *c, const char *path, bool pin)
{
	char **np;
	size_t i;

	for (i = 0; i < c->npins; i++)
		if (strcmp(c->pins[i], path) == 0)
			break;
	if (!pin) {
		if (i == c->npins)
			return (-ENOENT);
		free(c->pins[i]);
		c->pins[i] = c->pins[--c->npins];
		return (0);
	}
	if (i < c->npins)
		return (0);
	if ((np = realloc(c->pins, (c->npins + 1) * sizeof(*np))) == NULL)
		return (-ENOMEM);
	c->pins = np;
	if ((c->pins[c->npins] = strdup(path)) == NULL)
		return (-ENOMEM);
	c->npins++;
	return (0);
}

bool
catalog_pinned(const struct catalog *c, const char *path)
{
	size_t i, l;

	for (i = 0; i < c->npins; i++) {
		l = strlen(c->pins[i]);
		if (l == 0 || (strncmp(path, c->pins[i], l) == 0 &&
		    (path[l] == '\0' || path[l] == '/')))
			return (true);
	}
	return (false);
}

void
catalog_pins(const struct catalog *c, void (*fn)(const char *, void *),
    void *arg)
{
	size_t i;

	for (i = 0; i < c->npins; i++)
		fn(c->pins[i], arg);
}
