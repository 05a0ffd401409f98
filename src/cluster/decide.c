/*
 * decide: version comparison, conflicts and repair as pure rules.
 */
#include "cluster/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/members.h"
#include "store/path.h"

bool
decide_remote_wins(const struct file_meta *l, const struct file_meta *r)
{
	if (l->deleted != r->deleted)
		return (l->deleted);
	if (l->type != r->type)
		return (r->type == ENTRY_DIR);
	if (l->mtime_ns != r->mtime_ns)
		return (r->mtime_ns > l->mtime_ns);
	return (memcmp(r->modified_by, l->modified_by, NODE_ID_LEN) > 0);
}

bool
decide_same_content(const struct file_meta *a, const struct file_meta *b)
{
	if (a->deleted || b->deleted)
		return (a->deleted && b->deleted);
	return (a->type == b->type &&
		(a->type == ENTRY_DIR ||
		 memcmp(a->sha256, b->sha256, HASH_LEN) == 0));
}

char *
decide_conflict_name(const char *path, const struct file_meta *loser)
{
	const char *base = path_base(path), *dot = strrchr(base, '.');
	char when[32], node[8], *out;
	time_t t = (time_t)(loser->mtime_ns / 1000000000);
	struct tm tm;
	size_t stem;

	if (dot == NULL || dot == base)
		dot = base + strlen(base);
	stem = (size_t)(dot - path);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	snprintf(node, sizeof(node), "%02x%02x%02x", loser->modified_by[0],
		 loser->modified_by[1], loser->modified_by[2]);
	if (asprintf(&out, "%.*s.sync-conflict-%s-%s%s", (int)stem, path, when,
		     node, dot) < 0)
		return (NULL);
	return (out);
}

bool
decide_copy_needed(const struct file_meta *copy, const struct file_meta *r)
{
	return (copy == NULL || memcmp(copy->sha256, r->sha256, HASH_LEN) != 0);
}

struct decision
decide_entry(const char *path, const struct file_meta *l,
	     const struct file_meta *r, const struct place_view *view)
{
	struct decision d = {DECIDE_IGNORE, false, false, false};
	enum vv_order ord = l != NULL ? vv_compare(&r->vv, &l->vv) : VV_AFTER;

	if (ord == VV_EQUAL || ord == VV_BEFORE)
		return (d);
	if (l != NULL && decide_same_content(l, r)) {
		d.act = DECIDE_ADOPT;
		return (d);
	}
	if (ord == VV_CONCURRENT) {
		d.conflict = true;
		if (!decide_remote_wins(l, r)) {
			/*
			 * Ours stays.  Theirs is kept as a copy; its node
			 * makes the same decision and the same copy, and the
			 * two copies merge, so it survives whichever of us
			 * acts first.
			 */
			d.act = r->type == ENTRY_FILE && !r->deleted
				    ? DECIDE_COPY
				    : DECIDE_KEEP;
			return (d);
		}
		/* A copy held elsewhere is renamed by its holders. */
		d.merge = true;
		d.set_aside =
		    !l->deleted && l->type == ENTRY_FILE && !l->remote;
	}
	/* Theirs is newer (or won): make it so here. */
	if (r->deleted)
		d.act = DECIDE_DELETE;
	else if (r->type == ENTRY_DIR)
		d.act = DECIDE_DIR;
	else if (!place_mine(view, place_key(path)))
		d.act = DECIDE_ROW;
	else
		d.act = DECIDE_FETCH;
	return (d);
}

enum repair_act
decide_repair(const struct repair_facts *f)
{
	/* With every node a holder, sync fetches each new version and
	 * nothing is dropped; a copy found damaged is fetched here. */
	bool pinned = f->replicas != REPLICAS_ALL && f->pinned;

	if ((f->mine || pinned) && !f->held && !f->pulling && f->copies > 0 &&
	    f->room)
		return (REPAIR_FETCH);
	if (f->replicas != REPLICAS_ALL && !f->mine && !pinned && f->held &&
	    !f->pulling && f->all_hold && f->holders == f->replicas &&
	    f->now >= f->keep_until && !f->dropping)
		return (REPAIR_DROP);
	return (REPAIR_NONE);
}

unsigned
decide_missing(unsigned replicas, unsigned alive, unsigned copies)
{
	unsigned target = replicas != REPLICAS_ALL ? replicas : alive;

	return (copies < target ? target - copies : 0);
}
