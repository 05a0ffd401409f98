/*
 * versions: keeping old content by rename, pruning it, and restoring it
 * through an upload (versions.h).
 *
 * Invariants:
 *   - DIR/.shoal/versions/HEX holds the bytes whose SHA-256 is HEX, and
 *     exists while an unpruned row names HEX (vers_mu makes "no row names
 *     it" and "remove it" one step against a keep of the same bytes);
 *   - the bytes are never written after they are kept: a restore copies
 *     them into a new upload, never links them into the folder, so an
 *     edit in place of the restored file cannot reach them.
 */
#include "store/versions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "store/hash.h"
#include "store/path.h"
#include "store/upload.h"

#define VERS_DIR	"versions"
#define PRUNE_BATCH	256
#define RESTORE_CHUNK	(1u << 20)

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

int
vers_init(struct store *s)
{
	pthread_mutex_init(&s->vers_mu, NULL);
	if (mkdirat(s->priv_fd, VERS_DIR, 0700) < 0 && errno != EEXIST)
		return (-errno);
	s->vers_fd = openat(s->priv_fd, VERS_DIR, O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW);
	return (s->vers_fd < 0 ? -errno : 0);
}

/* The bytes of row r go if no unpruned row names them; vers_mu held. */
static int
prune_row(struct store *s, const char *path, const struct vers_row *r,
    bool pressure)
{
	char hex[HASH_HEX_LEN + 1];
	bool last;
	int rc;

	if ((rc = index_vers_prune(s->index, path, r->id, r->sha256,
	    &last)) < 0)
		return (rc);
	if (last) {
		hash_hex(r->sha256, hex);
		if (unlinkat(s->vers_fd, hex, 0) < 0 && errno != ENOENT)
			log_warn("versions: removing %s", hex);
		s->vers_pruned_bytes += r->size;
	}
	s->vers_prunes++;
	if (pressure)
		s->vers_pressure_prunes++;
	return (0);
}

/* Rows collected to be pruned once the index's lock is released. */
struct row_list {
	char		**paths;
	struct vers_row	*rows;
	size_t		 n, cap;
};

static int
collect(const char *path, const struct vers_row *r, void *arg)
{
	struct row_list *l = arg;
	struct vers_row *nr;
	char **np;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((nr = realloc(l->rows, cap * sizeof(*nr))) == NULL)
			return (-1);
		l->rows = nr;
		if ((np = realloc(l->paths, cap * sizeof(*np))) == NULL)
			return (-1);
		l->paths = np;
		l->cap = cap;
	}
	if ((l->paths[l->n] = strdup(path)) == NULL)
		return (-1);
	l->rows[l->n++] = *r;
	return (0);
}

static void
list_free(struct row_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

/* Prunes every row of l; vers_mu held.  Returns how many. */
static int
prune_list(struct store *s, struct row_list *l, bool pressure)
{
	size_t i;
	int n = 0;

	for (i = 0; i < l->n; i++)
		if (prune_row(s, l->paths[i], &l->rows[i], pressure) == 0)
			n++;
	return (n);
}

/* The content of the regular file name in dfd, hashed. */
static int
hash_file(int dfd, const char *name, uint8_t sha[HASH_LEN])
{
	struct hasher h;
	int fd, rc;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return (-errno);
	if ((rc = hasher_init(&h)) == 0) {
		if ((rc = hasher_fd(&h, fd)) == 0)
			rc = hasher_final(&h, sha);
		hasher_release(&h);
	}
	close(fd);
	return (rc);
}

int
vers_keep(struct store *s, int dfd, const char *name, const char *path,
    const struct file_meta *old, enum vers_kind kind, const uint8_t *by)
{
	char hex[HASH_HEX_LEN + 1];
	struct row_list excess = { 0 };
	struct vers_row r;
	struct stat st;
	bool moved = false;
	int rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (-errno);
	if (S_ISDIR(st.st_mode))
		return (-EISDIR);
	if (!S_ISREG(st.st_mode))
		return (-EINVAL);
	if (s->keep.keep == 0 || (kind == VERS_TRASH &&
	    s->keep.trash_days <= 0) || s->vers_fd < 0)
		goto drop;
	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.size = (uint64_t)st.st_size;
	if (old != NULL && !old->deleted && old->type == ENTRY_FILE &&
	    store_meta_matches(old, &st)) {
		memcpy(r.sha256, old->sha256, HASH_LEN);
		r.mtime_ns = old->mtime_ns;
		memcpy(r.writer, old->modified_by, NODE_ID_LEN);
	} else {
		/* Bytes the index never described (an edit not scanned
		 * yet): this node wrote them, at their mtime. */
		if ((rc = hash_file(dfd, name, r.sha256)) < 0)
			goto drop;
		r.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
		memcpy(r.writer, s->node_id, NODE_ID_LEN);
	}
	memcpy(r.by, by != NULL ? by : s->node_id, NODE_ID_LEN);
	vers_id(r.sha256, r.mtime_ns, r.id);
	r.kept_ns = now_ns();
	hash_hex(r.sha256, hex);
	pthread_mutex_lock(&s->vers_mu);
	/* The same bytes kept before: stored once. */
	if (renameat2(dfd, name, s->vers_fd, hex, RENAME_NOREPLACE) == 0)
		moved = true;
	else if (errno != EEXIST) {
		rc = -errno;
		log_warn("versions: keeping %s", path);
		pthread_mutex_unlock(&s->vers_mu);
		goto drop;
	} else
		(void)unlinkat(dfd, name, 0);
	if ((rc = index_vers_put(s->index, path, &r)) < 0) {
		log_warnx("versions: %s: not recorded (%s)", path,
		    strerror(-rc));
		/* Bytes no row names would stay for ever. */
		if (moved)
			(void)unlinkat(s->vers_fd, hex, 0);
	} else if (kind == VERS_VERSION &&
	    index_vers_excess(s->index, path, s->keep.keep, collect,
	    &excess) >= 0)
		(void)prune_list(s, &excess, false);
	pthread_mutex_unlock(&s->vers_mu);
	list_free(&excess);
	return (rc);
drop:
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return (-errno);
	return (rc);
}

int
vers_open_content(struct store *s, const uint8_t sha[HASH_LEN])
{
	char hex[HASH_HEX_LEN + 1];
	int fd;

	if (s->vers_fd < 0)
		return (-ENOENT);
	hash_hex(sha, hex);
	fd = openat(s->vers_fd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return (fd < 0 ? -errno : fd);
}

int
vers_open(struct store *s, const char *path, const char *id,
    struct vers_row *r)
{
	char hex[HASH_HEX_LEN + 1];
	int rc, fd;

	if ((rc = index_vers_get(s->index, path, id, r)) < 0)
		return (rc);
	if (r->pruned)
		return (-ENODATA);
	hash_hex(r->sha256, hex);
	if ((fd = openat(s->vers_fd, hex, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return (errno == ENOENT ? -ENODATA : -errno);
	return (fd);
}

/* An upload of len bytes, from fd (>= 0) or from data. */
static int
upload_bytes(struct store *s, const char *path, int fd, const void *data,
    uint64_t len)
{
	struct upload *up = NULL;
	struct iovec iov;
	char *buf = NULL;
	uint64_t done = 0;
	ssize_t n;
	int rc;

	if (fd >= 0 && (buf = malloc(RESTORE_CHUNK)) == NULL)
		return (-ENOMEM);
	if ((rc = store_make_parents(s, path)) < 0 ||
	    (rc = upload_begin(s, path, UPLOAD_NEW, 0, &up)) < 0)
		goto out;
	while (done < len) {
		if (fd < 0) {
			iov.iov_base = (char *)(uintptr_t)data + done;
			iov.iov_len = (size_t)(len - done);
		} else {
			if ((n = read(fd, buf, RESTORE_CHUNK)) < 0) {
				rc = store_errno(errno);
				goto out;
			}
			if (n == 0)
				break;
			iov.iov_base = buf;
			iov.iov_len = (size_t)n;
		}
		if ((rc = upload_write(up, &iov, 1)) < 0)
			goto out;
		done += iov.iov_len;
	}
	if ((rc = upload_flush(up)) == 0)
		rc = upload_commit(up, NULL);
out:
	upload_abort(up);
	free(buf);
	return (rc);
}

/* Whether path's live content is sha already. */
static bool
is_current(struct store *s, const char *path, const uint8_t sha[HASH_LEN])
{
	struct file_meta cur;

	return (index_get(s->index, path, &cur) == 0 &&
	    cur.type == ENTRY_FILE && memcmp(cur.sha256, sha, HASH_LEN) == 0);
}

int
vers_restore(struct store *s, const char *path, const char *id,
    bool *changed)
{
	struct vers_row r;
	int fd, rc = 0;

	*changed = false;
	if ((fd = vers_open(s, path, id, &r)) < 0)
		return (fd);
	if (!is_current(s, path, r.sha256) &&
	    (rc = upload_bytes(s, path, fd, NULL, r.size)) == 0) {
		*changed = true;
		log_info("restored %s to version %s", path, id);
	}
	close(fd);
	return (rc);
}

int
vers_restore_bytes(struct store *s, const char *path, const void *data,
    size_t len, const uint8_t sha[HASH_LEN], bool *changed)
{
	int rc = 0;

	*changed = false;
	if (!is_current(s, path, sha) &&
	    (rc = upload_bytes(s, path, -1, data, len)) == 0)
		*changed = true;
	return (rc);
}

/* Point in time */

enum vers_action
vers_decide(const struct vers_live *live, const struct vers_row *rows,
    size_t n, int64_t t, size_t *pick)
{
	const struct vers_row *b = NULL;
	size_t i;

	/* Live content written at or before t is what it had then. */
	if (live->exists && live->mtime_ns <= t)
		return (VERS_UNCHANGED);
	for (i = 0; i < n; i++) {
		if (rows[i].mtime_ns > t)
			continue;
		if (b == NULL || rows[i].mtime_ns > b->mtime_ns ||
		    (rows[i].mtime_ns == b->mtime_ns &&
		    rows[i].kept_ns > b->kept_ns)) {
			b = &rows[i];
			*pick = i;
		}
	}
	/* Nothing known from before t: it was made after t. */
	if (b == NULL)
		return (live->exists ? VERS_DO_TRASH : VERS_UNCHANGED);
	/* Deleted by t. */
	if (b->kind == VERS_TRASH && b->kept_ns <= t)
		return (live->exists ? VERS_DO_TRASH : VERS_UNCHANGED);
	if (live->exists && memcmp(live->sha256, b->sha256, HASH_LEN) == 0)
		return (VERS_UNCHANGED);
	return (b->pruned ? VERS_LOST : VERS_DO_RESTORE);
}

struct plan {
	struct store	*s;
	int64_t		 t;
	int		(*fn)(const char *, enum vers_action,
			    const struct vers_row *, void *);
	void		*arg;
	struct row_list	 rows;		/* every row under the prefix */
	char		**live;
	size_t		 nlive, caplive;
};

static int
collect_live(const char *path, void *arg)
{
	struct plan *p = arg;
	char **nv;
	size_t cap;

	if (p->nlive == p->caplive) {
		cap = p->caplive ? p->caplive * 2 : 16;
		if ((nv = realloc(p->live, cap * sizeof(*nv))) == NULL)
			return (-1);
		p->live = nv;
		p->caplive = cap;
	}
	if ((p->live[p->nlive] = strdup(path)) == NULL)
		return (-1);
	p->nlive++;
	return (0);
}

/* Decides path with its rows rows[0..n) and hands the result on. */
static int
plan_path(struct plan *p, const char *path, const struct vers_row *rows,
    size_t n)
{
	struct vers_live live;
	struct file_meta m;
	enum vers_action a;
	size_t pick = 0;

	memset(&live, 0, sizeof(live));
	if (index_get(p->s->index, path, &m) == 0 && m.type == ENTRY_FILE) {
		live.exists = true;
		live.mtime_ns = m.mtime_ns;
		memcpy(live.sha256, m.sha256, HASH_LEN);
	}
	a = vers_decide(&live, rows, n, p->t, &pick);
	if (a == VERS_UNCHANGED)
		return (0);
	return (p->fn(path, a, a == VERS_DO_TRASH ? NULL : &rows[pick],
	    p->arg));
}

int
vers_plan(struct store *s, const char *prefix, int64_t t,
    int (*fn)(const char *, enum vers_action, const struct vers_row *,
    void *), void *arg)
{
	struct plan p;
	size_t i = 0, j, k = 0;
	int rc = 0, c;

	memset(&p, 0, sizeof(p));
	p.s = s;
	p.t = t;
	p.fn = fn;
	p.arg = arg;
	if (index_vers_under(s->index, prefix, collect, &p.rows) < 0 ||
	    index_vers_live(s->index, prefix, collect_live, &p) < 0) {
		rc = -EIO;
		goto out;
	}
	/* Both lists are in path order: merge them. */
	while (rc == 0 && (i < p.rows.n || k < p.nlive)) {
		c = i == p.rows.n ? 1 : k == p.nlive ? -1 :
		    strcmp(p.rows.paths[i], p.live[k]);
		if (c > 0) {
			rc = plan_path(&p, p.live[k++], NULL, 0);
			continue;
		}
		for (j = i; j < p.rows.n &&
		    strcmp(p.rows.paths[j], p.rows.paths[i]) == 0; j++)
			;
		rc = plan_path(&p, p.rows.paths[i], &p.rows.rows[i], j - i);
		i = j;
		if (c == 0)
			k++;
	}
out:
	list_free(&p.rows);
	for (i = 0; i < p.nlive; i++)
		free(p.live[i]);
	free(p.live);
	return (rc);
}

/* Pruning */

static bool
space_low(struct store *s, uint64_t min_free)
{
	struct statvfs sv;

	if (min_free == 0 || fstatvfs(s->root_fd, &sv) < 0)
		return (false);
	return ((uint64_t)sv.f_bavail * sv.f_frsize < min_free);
}

/* One batch of rows of kind kept before `before`; returns how many. */
static int
prune_aged(struct store *s, enum vers_kind kind, int64_t before)
{
	struct row_list l = { 0 };
	int n = 0;

	if (index_vers_aged(s->index, kind, before, PRUNE_BATCH, collect,
	    &l) > 0)
		n = prune_list(s, &l, false);
	list_free(&l);
	return (n);
}

int
vers_prune(struct store *s, int64_t now, uint64_t min_free)
{
	struct row_list l;
	uint64_t bytes0;
	int64_t day = 86400LL * 1000000000, forget;
	double longest;
	int n = 0, got, pressed = 0;

	pthread_mutex_lock(&s->vers_mu);
	if (s->keep.days > 0)
		while ((got = prune_aged(s, VERS_VERSION,
		    now - (int64_t)(s->keep.days * (double)day))) > 0)
			n += got;
	if (s->keep.trash_days > 0)
		while ((got = prune_aged(s, VERS_TRASH,
		    now - (int64_t)(s->keep.trash_days * (double)day))) > 0)
			n += got;
	/* Low on space: the oldest go first, until there
	 * is room again or nothing is left: one at a time, as each
	 * frees its bytes only if no other row names them. */
	bytes0 = s->vers_pruned_bytes;
	while (space_low(s, min_free)) {
		memset(&l, 0, sizeof(l));
		if (index_vers_oldest(s->index, 1, collect, &l) <= 0) {
			list_free(&l);
			break;
		}
		got = prune_list(s, &l, true);
		list_free(&l);
		if (got == 0)
			break;
		pressed += got;
	}
	n += pressed;
	if (pressed > 0)
		log_warnx("free space under %s is below store.min_free_mb: "
		    "pruned the %d oldest version(s) and trash, %llu bytes",
		    s->root, pressed,
		    (unsigned long long)(s->vers_pruned_bytes - bytes0));
	/* Records of pruned content are kept as long as the longer of the
	 * two policies, so a point-in-time restore can tell it was there. */
	longest = s->keep.days > s->keep.trash_days ? s->keep.days :
	    s->keep.trash_days;
	forget = longest > 0 ? now - 2 * (int64_t)(longest * (double)day) :
	    now - 60 * day;
	(void)index_vers_forget(s->index, forget);
	pthread_mutex_unlock(&s->vers_mu);
	return (n);
}

int
vers_stats(struct store *s, struct vers_stats *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = index_vers_counts(s->index, &out->c);
	pthread_mutex_lock(&s->vers_mu);
	out->prunes = s->vers_prunes;
	out->pruned_bytes = s->vers_pruned_bytes;
	out->pressure_prunes = s->vers_pressure_prunes;
	pthread_mutex_unlock(&s->vers_mu);
	return (rc);
}
