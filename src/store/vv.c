/*
 * vv: sorted small arrays; every operation is a merge walk.  The rule for
 * folding a full vector is in vv.h.
 */
#include "store/vv.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

/* The base entry's id: no node has it (ids are random 128-bit). */
static const uint8_t base_id[NODE_ID_LEN];

void
vv_clear(struct vv *v)
{
	v->n = 0;
}

static int
find(const struct vv *v, const uint8_t id[NODE_ID_LEN], unsigned *pos)
{
	unsigned i;
	int c;

	for (i = 0; i < v->n; i++) {
		c = memcmp(v->e[i].id, id, NODE_ID_LEN);
		if (c == 0) {
			*pos = i;
			return (1);
		}
		if (c > 0)
			break;
	}
	*pos = i;
	return (0);
}

uint64_t
vv_get(const struct vv *v, const uint8_t id[NODE_ID_LEN])
{
	unsigned i;

	return (find(v, id, &i) ? v->e[i].c : 0);
}

static int
set(struct vv *v, const uint8_t id[NODE_ID_LEN], uint64_t c)
{
	unsigned i;

	if (find(v, id, &i)) {
		v->e[i].c = c;
		return (0);
	}
	if (v->n >= VV_MAX)
		return (-ENOSPC);
	memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(v->e[0]));
	memcpy(v->e[i].id, id, NODE_ID_LEN);
	v->e[i].c = c;
	v->n++;
	return (0);
}

int
vv_bump(struct vv *v, const uint8_t id[NODE_ID_LEN])
{
	uint64_t c = vv_get(v, id);

	/* A counter that wrapped would make a new version look old. */
	if (c == UINT64_MAX)
		return (-EOVERFLOW);
	return (set(v, id, c + 1));
}

uint64_t
vv_fingerprint(const struct vv *v)
{
	uint8_t enc[VV_ENC_MAX], d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0, k;
	uint64_t fp = 0;
	size_t n = vv_encode(v, enc);

	if (EVP_Digest(enc, n, d, &dl, EVP_sha256(), NULL) != 1 || dl < 8)
		return (1);
	for (k = 0; k < 8; k++)
		fp = fp << 8 | d[k];
	return (fp ? fp : 1);
}

/* Drops the smallest counters (not id's, not the base) down to VV_KEEP
 * entries, and records v's fingerprint in the base entry. */
static void
fold(struct vv *v, const uint8_t id[NODE_ID_LEN])
{
	uint64_t fp = vv_fingerprint(v);
	unsigned i, low, j;

	while (v->n > VV_KEEP - 1) {
		low = v->n;
		for (i = 0; i < v->n; i++) {
			if (memcmp(v->e[i].id, id, NODE_ID_LEN) == 0 ||
			    memcmp(v->e[i].id, base_id, NODE_ID_LEN) == 0)
				continue;
			if (low == v->n || v->e[i].c < v->e[low].c)
				low = i;
		}
		if (low == v->n)
			break;
		for (j = low; j + 1 < v->n; j++)
			v->e[j] = v->e[j + 1];
		v->n--;
	}
	(void)set(v, base_id, fp);
}

int
vv_bump_compact(struct vv *v, const uint8_t id[NODE_ID_LEN])
{
	unsigned i;

	if (!find(v, id, &i) && v->n >= VV_MAX)
		fold(v, id);
	return (vv_bump(v, id));
}

int
vv_merge(struct vv *dst, const struct vv *src)
{
	enum vv_order o = vv_compare(dst, src);
	unsigned i;
	int rc;

	/* One descends from the other (a fold included): it is the merge. */
	if (o == VV_BEFORE) {
		*dst = *src;
		return (0);
	}
	if (o != VV_CONCURRENT)
		return (0);
	for (i = 0; i < src->n; i++)
		if (src->e[i].c > vv_get(dst, src->e[i].id) &&
		    (rc = set(dst, src->e[i].id, src->e[i].c)) < 0)
			return (rc);
	return (0);
}

enum vv_order
vv_compare(const struct vv *a, const struct vv *b)
{
	unsigned i = 0, j = 0;
	int a_more = 0, b_more = 0, c;

	while (i < a->n || j < b->n) {
		if (i == a->n)
			c = 1;
		else if (j == b->n)
			c = -1;
		else
			c = memcmp(a->e[i].id, b->e[j].id, NODE_ID_LEN);
		if (c < 0) {
			a_more |= a->e[i].c > 0;
			i++;
		} else if (c > 0) {
			b_more |= b->e[j].c > 0;
			j++;
		} else {
			a_more |= a->e[i].c > b->e[j].c;
			b_more |= b->e[j].c > a->e[i].c;
			i++;
			j++;
		}
	}
	if (a_more && b_more) {
		/* A folded vector descends from the one it names. */
		if (find(a, base_id, &i) && a->e[i].c == vv_fingerprint(b))
			return (VV_AFTER);
		if (find(b, base_id, &j) && b->e[j].c == vv_fingerprint(a))
			return (VV_BEFORE);
		return (VV_CONCURRENT);
	}
	if (a_more)
		return (VV_AFTER);
	if (b_more)
		return (VV_BEFORE);
	return (VV_EQUAL);
}

size_t
vv_encode(const struct vv *v, uint8_t out[VV_ENC_MAX])
{
	unsigned i, k;
	size_t o = 0;

	for (i = 0; i < v->n; i++) {
		memcpy(out + o, v->e[i].id, NODE_ID_LEN);
		o += NODE_ID_LEN;
		for (k = 0; k < 8; k++)
			out[o++] = (uint8_t)(v->e[i].c >> (56 - 8 * k));
	}
	return (o);
}

int
vv_decode(struct vv *v, const uint8_t *p, size_t len)
{
	const size_t rec = NODE_ID_LEN + 8;
	unsigned k;
	size_t o;

	v->n = 0;
	if (len % rec != 0 || len / rec > VV_MAX)
		return (-EINVAL);
	for (o = 0; o < len; o += rec) {
		uint64_t c = 0;

		for (k = 0; k < 8; k++)
			c = c << 8 | p[o + NODE_ID_LEN + k];
		/* Sorted and unique, or it is not one of ours. */
		if (v->n > 0 && memcmp(v->e[v->n - 1].id, p + o,
		    NODE_ID_LEN) >= 0) {
			v->n = 0;
			return (-EINVAL);
		}
		memcpy(v->e[v->n].id, p + o, NODE_ID_LEN);
		v->e[v->n].c = c;
		v->n++;
	}
	return (0);
}
