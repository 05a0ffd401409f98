/*
 * place: rendezvous hashing over a view of candidate nodes, and the view
 * taken from the members.
 */
#include "cluster/place.h"

#include <math.h>
#include <string.h>

#include <openssl/evp.h>

#include "cluster/members.h"
#include "store/hash.h"

uint64_t
place_key(const char *path)
{
	uint8_t d[HASH_LEN];
	unsigned int n = sizeof(d);
	uint64_t k = 0;
	int i;

	/* A cryptographic hash: no set of names can crowd one node. */
	if (EVP_Digest(path, strlen(path), d, &n, EVP_sha256(), NULL) != 1)
		return (0);
	for (i = 0; i < 8; i++)
		k = k << 8 | d[i];
	return (k);
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (x);
}

static double
score(const struct place_node *nd, uint64_t key)
{
	uint64_t id = 0, h;
	double u;
	int i;

	for (i = 0; i < 8; i++)
		id = id << 8 | nd->id[i];
	h = mix(key ^ mix(id ^ 0x9e3779b97f4a7c15ULL));
	/* u in (0, 1): 53 bits, never 0. */
	u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
	return (-(nd->weight > 0 ? nd->weight : 1e-9) / log(u));
}

unsigned
place_holders(const struct place_view *v, uint64_t key,
    bool (*holds)(void *, const uint8_t id[NODE_ID_LEN]), void *arg,
    unsigned *out, unsigned max)
{
	double best[PLACE_MAX];
	unsigned want, n = 0, i, j;

	want = v->replicas == 0 || v->replicas > v->n ? v->n : v->replicas;
	if (want > max)
		want = max;
	/* Insertion into the top `want`: N is small. */
	for (i = 0; i < v->n && i < PLACE_MAX; i++) {
		double s;

		if (v->nodes[i].full && (holds == NULL ||
		    !holds(arg, v->nodes[i].id)))
			continue;
		s = score(&v->nodes[i], key);
		if (n == want && (n == 0 || s <= best[n - 1]))
			continue;
		j = n < want ? n++ : n - 1;
		while (j > 0 && best[j - 1] < s) {
			best[j] = best[j - 1];
			out[j] = out[j - 1];
			j--;
		}
		best[j] = s;
		out[j] = i;
	}
	return (n);
}

bool
place_mine(const struct place_view *v, uint64_t key)
{
	unsigned h[PLACE_MAX], n, i;

	if (v->replicas == 0)
		return (true);
	if (v->self < 0)
		return (false);
	n = place_holders(v, key, NULL, NULL, h, PLACE_MAX);
	for (i = 0; i < n; i++)
		if (h[i] == (unsigned)v->self)
			return (true);
	return (false);
}

void
place_view_fill(struct place_view *v, unsigned replicas,
		const struct place_self *self, struct members *mb, uint64_t now,
		unsigned delay_ms)
{
	struct member *m;
	bool up;

	v->replicas = replicas == REPLICAS_UNKNOWN ? REPLICAS_ALL : replicas;
	memcpy(v->nodes[0].id, self->id, NODE_ID_LEN);
	v->nodes[0].weight = self->weight;
	v->nodes[0].full = self->full;
	v->self = 0;
	v->n = 1;
	TAILQ_FOREACH(m, members_list(mb), entry) {
		if (v->n == PLACE_MAX)
			break;
		if (!m->id_known || m->state == MEMBER_LEFT)
			continue;
		/* Down for less than the repair delay: still a holder. */
		up = m->state == MEMBER_ALIVE && m->link != NULL;
		if (!up && now - m->down_at >= delay_ms)
			continue;
		memcpy(v->nodes[v->n].id, m->id, NODE_ID_LEN);
		v->nodes[v->n].weight = m->capacity;
		v->nodes[v->n].full = m->full;
		v->n++;
	}
}
