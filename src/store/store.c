/*
 * store: confined file system operations.  The invariant: no path from a
 * client or peer reaches a system call except through store_openat or
 * store_open_parent, both of which resolve beneath root_fd.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "store/hash.h"
#include "store/path.h"
#include "store/scan.h"
#include "store/versions.h"

static int
openat2_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	if (flags & O_CREAT)
		how.mode = mode;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	do {
		fd = syscall(SYS_openat2, dirfd, path[0] ? path : ".", &how,
		    sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		/* SECURITY: a path that would leave the folder is refused. */
		return (errno == EXDEV || errno == ELOOP ? -EACCES : -errno);
	return ((int)fd);
}

int
store_errno(int e)
{
	switch (e) {
	case ENOENT: case EEXIST: case ENOTDIR: case EISDIR: case ENOTEMPTY:
	case EACCES: case EPERM: case ENOSPC: case EDQUOT: case ENAMETOOLONG:
	case EINVAL: case EFBIG: case EBUSY: case EXDEV: case ENOMEM:
		return (-e);
	default:
		return (-EIO);
	}
}

/*
 * Unfinished uploads are never resumed into a file: they go.  Partial
 * fetches (pull-*) and held content (held-*) are kept for a day, so a
 * fetch resumes after a restart.
 * The folder partial/ (interrupted uploads a client may resume) stays: its
 * files expire by ftp.partial_keep_hours.
 */
static int
clear_tmp(int tmp_fd)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int fd, n = 0;

	if ((fd = dup(tmp_fd)) < 0 || (d = fdopendir(fd)) == NULL)
		return (-errno);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((strncmp(de->d_name, "pull-", 5) == 0 ||
		    strncmp(de->d_name, "held-", 5) == 0) &&
		    fstatat(tmp_fd, de->d_name, &st, 0) == 0 &&
		    st.st_mtime > time(NULL) - 86400)
			continue;
		if (unlinkat(tmp_fd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return (n);
}

struct intent {
	char		*path;
	struct file_meta m;
	uint8_t		*blocks;
	uint8_t		*attrs;
	struct intent	*next;
};

static int
intent_collect(const char *path, const struct file_meta *m, void *arg)
{
	struct intent **list = arg, *in;
	size_t n = m->nblocks * HASH_LEN;

	if ((in = calloc(1, sizeof(*in))) == NULL ||
	    (in->path = strdup(path)) == NULL ||
	    (n > 0 && (in->blocks = malloc(n)) == NULL)) {
		if (in != NULL)
			free(in->path);
		free(in);
		return (-ENOMEM);
	}
	in->m = *m;
	if (n > 0)
		memcpy(in->blocks, m->blocks, n);
	in->m.blocks = in->blocks;
	in->m.attrs = NULL;
	if (m->attrs_len > 0 && (in->attrs = malloc(m->attrs_len)) != NULL) {
		memcpy(in->attrs, m->attrs, m->attrs_len);
		in->m.attrs = in->attrs;
	} else
		in->m.attrs_len = 0;
	in->next = *list;
	*list = in;
	return (0);
}

/*
 * A fetched file renamed into place whose row was never written (the node
 * stopped in between) is the fetched version, not a change made here: if
 * the file under its name has that content, record it as that version.
 */
static bool
intent_adopt(struct store *s, struct intent *in)
{
	struct file_meta cur;
	struct hasher h;
	struct stat st;
	uint8_t sha[HASH_LEN];
	bool same = false;
	int fd;

	if (index_get_any(s->index, in->path, &cur, NULL) == 0 &&
	    vv_compare(&cur.vv, &in->m.vv) == VV_EQUAL)
		return (false);		/* recorded after all */
	if ((fd = store_openat(s, in->path, O_RDONLY | O_NOFOLLOW, 0)) < 0)
		return (false);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == in->m.size && hasher_init(&h) == 0) {
		same = hasher_fd(&h, fd) == 0 && hasher_final(&h, sha) == 0 &&
		    memcmp(sha, in->m.sha256, HASH_LEN) == 0;
		hasher_release(&h);
	}
	close(fd);
	if (!same)
		return (false);
	in->m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	in->m.ino = (uint64_t)st.st_ino;
	in->m.remote = false;
	return (index_apply(s->index, in->path, &in->m) == 0);
}

static void
adopt_fetches(struct store *s)
{
	struct intent *list = NULL, *in;
	int n = 0;

	(void)index_intents(s->index, intent_collect, &list);
	while ((in = list) != NULL) {
		list = in->next;
		if (intent_adopt(s, in))
			n++;
		(void)index_intent_del(s->index, in->path);
		free(in->path);
		free(in->blocks);
		free(in->attrs);
		free(in);
	}
	if (n > 0)
		log_info("recorded %d fetched file(s) the node had put in "
		    "place but not yet indexed when it stopped", n);
}

int
store_open(struct store *s, const char *dir, char *err, size_t errlen)
{
	char dbpath[FS_PATH_MAX];
	int n;

	memset(s, 0, sizeof(*s));
	s->root_fd = s->priv_fd = s->tmp_fd = s->vers_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	s->keep.keep = 10;
	s->keep.days = 30;
	s->keep.trash_days = 30;
	if ((s->root = strdup(dir)) == NULL)
		return (-ENOMEM);
	if ((s->root_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
		(void)str_fmt(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	s->priv_fd = openat(s->root_fd, PATH_PRIVATE, O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (s->priv_fd < 0) {
		(void)str_fmt(err, errlen, "%s is not a shoal folder (run "
		    "'shoal init %s' first)", dir, dir);
		goto fail;
	}
	if (mkdirat(s->priv_fd, "tmp", 0700) < 0 && errno != EEXIST) {
		(void)str_fmt(err, errlen, "%s/.shoal/tmp: %s", dir,
		    strerror(errno));
		goto fail;
	}
	s->tmp_fd = openat(s->priv_fd, "tmp", O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (s->tmp_fd < 0)
		goto fail;
	/* Interrupted uploads kept for a resume (store/upload.h). */
	if (mkdirat(s->tmp_fd, "partial", 0700) < 0 && errno != EEXIST) {
		(void)str_fmt(err, errlen, "%s/.shoal/tmp/partial: %s", dir,
			      strerror(errno));
		goto fail;
	}
	/* Old content and trash (store/versions.h). */
	if (vers_init(s) < 0) {
		(void)str_fmt(err, errlen, "%s/.shoal/versions: %s", dir,
		    strerror(errno));
		goto fail;
	}
	/* Partial transfers from a crash are never resumed into a file. */
	if ((n = clear_tmp(s->tmp_fd)) > 0)
		log_info("removed %d unfinished transfer(s) from %s/.shoal/tmp",
		    n, dir);
	if (str_fmt(dbpath, sizeof(dbpath), "%s/%s/index.db", dir,
	    PATH_PRIVATE) < 0)
		goto fail;
	if (store_read_node_id(dir, s->node_id) < 0) {
		(void)str_fmt(err, errlen, "%s/.shoal/node_id: missing or "
		    "damaged", dir);
		goto fail;
	}
	if ((s->index = index_open(dbpath, s->node_id, err, errlen)) == NULL)
		goto fail;
	adopt_fetches(s);
	return (0);
fail:
	if (err[0] == '\0')
		(void)str_fmt(err, errlen, "%s: %s", dir, strerror(errno));
	store_close(s);
	return (-EINVAL);
}

void
store_close(struct store *s)
{
	size_t i;

	index_close(s->index);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->priv_fd >= 0)
		close(s->priv_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->vers_fd >= 0) {
		close(s->vers_fd);
		pthread_mutex_destroy(&s->vers_mu);
	}
	for (i = 0; i < s->nbusy; i++)
		free(s->busy[i]);
	free(s->busy);
	free(s->root);
	pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof(*s));
	s->root_fd = s->priv_fd = s->tmp_fd = s->vers_fd = -1;
}

int
store_openat(struct store *s, const char *path, int flags, mode_t mode)
{
	if (path_is_private(path))
		return (-EACCES);
	return (openat2_beneath(s->root_fd, path, flags, mode));
}

int
store_open_parent(struct store *s, const char *path, const char **name)
{
	char parent[PATH_LEN_MAX + 1];
	const char *base = path_base(path);
	size_t plen;

	if (path[0] == '\0' || path_is_private(path))
		return (-EINVAL);
	plen = base > path ? (size_t)(base - path - 1) : 0;
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	*name = base;
	return (openat2_beneath(s->root_fd, parent, O_DIRECTORY | O_RDONLY,
	    0));
}

int
store_stat(struct store *s, const char *path, struct stat *st)
{
	return (store_stat_any(s, path, st, NULL));
}

/* A file held elsewhere looks like a plain file of its size and mtime. */
static int
remote_stat(struct store *s, const char *path, struct stat *st,
    struct file_meta *out)
{
	struct file_meta m;

	if (index_get(s->index, path, &m) < 0 || !m.remote ||
	    m.type != ENTRY_FILE)
		return (-ENOENT);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)m.size;
	st->st_mtim.tv_sec = (time_t)(m.mtime_ns / 1000000000);
	st->st_mtim.tv_nsec = (long)(m.mtime_ns % 1000000000);
	if (out)
		*out = m;
	return (0);
}

int
store_stat_any(struct store *s, const char *path, struct stat *st,
    struct file_meta *remote)
{
	int fd, rc = 0;

	if (remote)
		remote->remote = false;
	if ((fd = store_openat(s, path, O_PATH, 0)) < 0)
		return (fd == -ENOENT ? remote_stat(s, path, st, remote) : fd);
	if (fstat(fd, st) < 0)
		rc = store_errno(errno);
	close(fd);
	return (rc);
}

bool
store_is_remote(struct store *s, const char *path)
{
	struct file_meta m;

	return (index_get(s->index, path, &m) == 0 && m.remote &&
	    m.type == ENTRY_FILE);
}

/*
 * Changes made through store mark their paths busy until the index holds
 * them, so the folder watcher, seeing the same change from inotify, does
 * not record it a second time (or, between the two steps, wrongly).
 */
int
store_mkdir(struct store *s, const char *path)
{
	const char *name;
	int dfd, rc = 0;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		store_busy_del(s, path);
		return (dfd);
	}
	if (mkdirat(dfd, name, 0755) < 0 || fsync(dfd) < 0)
		rc = store_errno(errno);
	close(dfd);
	if (rc == 0)
		rc = index_put_dir(s->index, path);
	store_busy_del(s, path);
	return (rc);
}

int
store_rmdir(struct store *s, const char *path)
{
	const char *name;
	int dfd, rc = 0, frc = 0;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		store_busy_del(s, path);
		return (dfd);
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		rc = store_errno(errno);
	else if (fsync(dfd) < 0)
		frc = store_errno(errno);
	close(dfd);
	if (rc == 0)
		rc = index_delete(s->index, path);
	store_busy_del(s, path);
	/* Done, but not known to be on disk: not a success to report. */
	return (rc < 0 ? rc : frc);
}

int
store_unlink(struct store *s, const char *path)
{
	struct file_meta old;
	struct stat st;
	const char *name;
	int dfd, rc = 0, frc = 0;
	bool have_old;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		store_busy_del(s, path);
		return (dfd);
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = errno == ENOENT && store_is_remote(s, path) ? 0 :
		    store_errno(errno);
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else {
		/* The deleted content goes to the trash. */
		have_old = index_get(s->index, path, &old) == 0;
		if (!S_ISREG(st.st_mode) || vers_keep(s, dfd, name, path,
		    have_old ? &old : NULL, VERS_TRASH, NULL) < 0) {
			if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
				rc = store_errno(errno);
		}
		if (rc == 0 && fsync(dfd) < 0)
			frc = store_errno(errno);
	}
	close(dfd);
	if (rc == 0)
		rc = index_delete(s->index, path);
	store_busy_del(s, path);
	return (rc < 0 ? rc : frc);
}

/* A file a rename is about to replace is kept as a version of to. */
static void
keep_replaced(struct store *s, int ffd, const char *fname, int tfd,
    const char *tname, const char *to)
{
	struct file_meta old;
	struct stat fst, tst;
	bool have_old;

	if (fstatat(ffd, fname, &fst, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(fst.st_mode) ||
	    fstatat(tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(tst.st_mode) || tst.st_ino == fst.st_ino)
		return;
	have_old = index_get(s->index, to, &old) == 0;
	(void)vers_keep(s, tfd, tname, to, have_old ? &old : NULL,
	    VERS_VERSION, NULL);
}

int
store_rename(struct store *s, const char *from, const char *to)
{
	const char *fname, *tname;
	int ffd, tfd, rc = 0, frc = 0;
	bool moved = false;

	if (strcmp(from, to) == 0)
		return (0);
	/* A folder cannot move inside itself. */
	if (strncmp(to, from, strlen(from)) == 0 && to[strlen(from)] == '/')
		return (-EINVAL);
	if ((rc = store_busy_wait(s, from)) < 0)
		return (rc);
	if ((rc = store_busy_wait(s, to)) < 0) {
		store_busy_del(s, from);
		return (rc);
	}
	if ((ffd = store_open_parent(s, from, &fname)) < 0) {
		rc = ffd;
		goto out;
	}
	if ((tfd = store_open_parent(s, to, &tname)) < 0) {
		close(ffd);
		rc = tfd;
		goto out;
	}
	keep_replaced(s, ffd, fname, tfd, tname, to);
	if (renameat(ffd, fname, tfd, tname) < 0) {
		/* A file held elsewhere moves in the index alone. */
		rc = errno == ENOENT && store_is_remote(s, from) ? 0 :
		    store_errno(errno);
	} else {
		moved = true;
		if (fsync(tfd) < 0 || fsync(ffd) < 0)
			frc = store_errno(errno);
	}
	close(ffd);
	close(tfd);
	if (rc == 0)
		rc = index_rename(s->index, from, to);
	moved = moved && rc == 0;
	if (rc == 0)
		rc = frc;
out:
	store_busy_del(s, to);
	store_busy_del(s, from);
	/*
	 * The watcher sees this rename too and may examine a path beneath
	 * `from` after the move but before the index followed: it finds the
	 * file gone and records a deletion, so index_rename, which moves live
	 * rows only, leaves the file under `to` with no row (never announced,
	 * and every digest still agrees).  Looking at `to` again now puts back
	 * whatever that dropped.
	 */
	if (moved)
		(void)scan_path(s, to, NULL, NULL);
	return (rc);
}

static bool
meta_matches(const struct file_meta *m, const struct stat *st)
{
	return (m->size == (uint64_t)st->st_size &&
	    m->ino == (uint64_t)st->st_ino &&
	    m->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec);
}

bool
store_meta_matches(const struct file_meta *m, const struct stat *st)
{
	return (meta_matches(m, st));
}

/*
 * Records what was hashed, unless the file moved or changed meanwhile
 * (renamed away, replaced): the path is held busy for the check and the
 * write, so a rename through store cannot slip in between and leave a
 * row for a file that is no longer there.
 */
static int
record_if_still_there(struct store *s, const char *path, struct file_meta *m,
    const struct stat *hashed)
{
	struct file_meta cur;
	struct stat now;
	int rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if (store_stat(s, path, &now) < 0 || now.st_ino != hashed->st_ino ||
	    now.st_size != hashed->st_size ||
	    now.st_mtim.tv_sec != hashed->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != hashed->st_mtim.tv_nsec)
		rc = -EAGAIN;
	else if (index_get(s->index, path, &cur) == 0 && !cur.remote &&
	    cur.type == ENTRY_FILE && meta_matches(&cur, hashed) &&
	    memcmp(cur.sha256, m->sha256, HASH_LEN) == 0) {
		/*
		 * Recorded meanwhile, as it is: a version fetched while this
		 * hash ran (the good copy of a file set aside, a peer's
		 * version) is not a change made here.
		 */
		cur.blocks = NULL;
		cur.nblocks = 0;
		*m = cur;
		rc = 0;
	} else
		rc = index_put(s->index, path, m);
	store_busy_del(s, path);
	return (rc);
}

static int set_aside(struct store *, const char *, const struct file_meta *,
    const struct stat *, bool);

bool
store_is_damaged(const struct file_meta *row, const struct stat *st)
{
	return (row->type == ENTRY_FILE && !row->deleted &&
	    row->ino == (uint64_t)st->st_ino &&
	    row->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec && row->size != (uint64_t)st->st_size);
}

int
store_set_aside_damaged(struct store *s, const char *path,
    const struct file_meta *row, const struct stat *seen)
{
	return (set_aside(s, path, row, seen, false));
}

int
store_set_aside_rotten(struct store *s, const char *path,
    const struct file_meta *row, const struct stat *seen)
{
	if (!meta_matches(row, seen))
		return (-EAGAIN);
	return (set_aside(s, path, row, seen, true));
}

/* Both kinds of damage: the row stays, held elsewhere; the bytes go. */
static int
set_aside(struct store *s, const char *path, const struct file_meta *row,
    const struct stat *seen, bool rotten)
{
	char aside[PATH_NAME_MAX + 1], show[PATH_LEN_MAX + 1];
	const char *name;
	struct stat now;
	uint64_t n;
	int dfd = -1, qfd = -1, rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if (store_stat(s, path, &now) < 0 || now.st_ino != seen->st_ino ||
	    now.st_size != seen->st_size ||
	    now.st_mtim.tv_sec != seen->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != seen->st_mtim.tv_nsec) {
		rc = -EAGAIN;
		goto out;
	}
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		rc = dfd;
		goto out;
	}
	if ((mkdirat(s->priv_fd, "damaged", 0700) < 0 && errno != EEXIST) ||
	    (qfd = openat(s->priv_fd, "damaged", O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = store_errno(errno);
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	n = ++s->tmp_seq;
	pthread_mutex_unlock(&s->mu);
	(void)snprintf(aside, sizeof(aside), "%.200s.%lld.%llu", name,
	    (long long)time(NULL), (unsigned long long)n);
	if ((rc = index_set_remote(s->index, path, row->sha256, true)) < 0)
		goto out;
	if (renameat(dfd, name, qfd, aside) < 0) {
		rc = store_errno(errno);
		(void)index_set_remote(s->index, path, row->sha256, false);
		goto out;
	}
	if (fsync(qfd) < 0 || fsync(dfd) < 0)
		log_warn("fsync after setting %s aside", aside);
	if (rotten)
		log_warnx("%s has rotted (its bytes no longer match their "
		    "hash, its size and mtime unchanged): set aside as "
		    ".shoal/damaged/%s, a good copy is fetched from a peer",
		    path_printable(path, show, sizeof(show)), aside);
	else
		log_warnx("%s is damaged (%llu bytes, %llu expected, its mtime "
		    "unchanged): set aside as .shoal/damaged/%s, a good copy "
		    "is fetched from a peer", path_printable(path, show,
		    sizeof(show)), (unsigned long long)seen->st_size,
		    (unsigned long long)row->size, aside);
out:
	if (qfd >= 0)
		close(qfd);
	if (dfd >= 0)
		close(dfd);
	store_busy_del(s, path);
	return (rc);
}

int
store_note_dir(struct store *s, const char *path)
{
	struct stat st;
	int rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if (store_stat(s, path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = index_put_dir(s->index, path);
	store_busy_del(s, path);
	return (rc);
}

int
store_index_file(struct store *s, const char *path, struct file_meta *m)
{
	struct hasher h;
	struct stat st, st2;
	int fd, rc;

	/* m is output only: nothing a caller left in it (attributes, a
	 * version) may reach the row. */
	memset(m, 0, sizeof(*m));
	m->type = ENTRY_FILE;
	if ((fd = store_openat(s, path, O_RDONLY | O_NOFOLLOW, 0)) < 0)
		return (fd == -ELOOP ? -ENOENT : fd);
	if (fstat(fd, &st) < 0) {
		rc = store_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -ENOENT;
		goto out;
	}
	if ((rc = hasher_init(&h)) < 0)
		goto out;
	if ((rc = hasher_fd(&h, fd)) == 0)
		rc = hasher_final(&h, m->sha256);
	if (rc == 0 && fstat(fd, &st2) == 0 &&
	    (st2.st_size != st.st_size ||
	    st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
	    st2.st_mtim.tv_sec != st.st_mtim.tv_sec))
		rc = -EAGAIN;	/* written while we read it: try later */
	if (rc == 0) {
		m->size = (uint64_t)st.st_size;
		m->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
		m->ino = (uint64_t)st.st_ino;
		m->blocks = (const uint8_t *)h.blocks.data;
		m->nblocks = h.blocks.len / HASH_LEN;
		rc = record_if_still_there(s, path, m, &st);
		m->blocks = NULL;
		m->nblocks = 0;
	}
	hasher_release(&h);
out:
	close(fd);
	return (rc);
}

static void
ns_to_times(int64_t ns, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;	/* atime stays */
	ts[1].tv_sec = (time_t)(ns / 1000000000);
	ts[1].tv_nsec = (long)(ns % 1000000000);
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000;
	}
}

int
store_set_mtime(struct store *s, const char *path, int64_t mtime_ns)
{
	struct timespec ts[2];
	struct file_meta m = { 0 };
	struct stat st;
	int fd, rc = 0;

	if ((fd = store_openat(s, path, O_RDONLY | O_NOFOLLOW, 0)) < 0)
		return (fd == -ELOOP ? -ENOENT : fd);
	ns_to_times(mtime_ns, ts);
	if (fstat(fd, &st) < 0)
		rc = store_errno(errno);
	else if (!S_ISREG(st.st_mode))
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -ENOENT;
	else if (futimens(fd, ts) < 0)
		rc = store_errno(errno);
	close(fd);
	if (rc == 0)
		rc = store_index_file(s, path, &m);
	return (rc);
}

int
store_apply_mtime(struct store *s, const char *path, struct file_meta *m,
    const struct file_meta *old)
{
	struct timespec ts[2];
	struct stat st;
	int fd, rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	fd = store_openat(s, path, O_RDONLY | O_NOFOLLOW, 0);
	/* Only the file that was indexed: a local edit since is a change
	 * of its own, which the scan records. */
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    meta_matches(old, &st)) {
		ns_to_times(m->mtime_ns, ts);
		if (futimens(fd, ts) < 0)
			log_warn("%s: cannot set mtime", path);
	}
	if (fd >= 0)
		close(fd);
	rc = index_apply(s->index, path, m);
	store_busy_del(s, path);
	return (rc);
}

int
store_meta(struct store *s, const char *path, struct file_meta *m)
{
	struct stat st;
	int rc;

	if ((rc = store_stat_any(s, path, &st, m)) < 0)
		return (rc);
	if (m->remote)
		return (0);
	if (!S_ISREG(st.st_mode))
		return (S_ISDIR(st.st_mode) ? -EISDIR : -ENOENT);
	if (index_get(s->index, path, m) == 0 && meta_matches(m, &st))
		return (0);
	return (store_index_file(s, path, m));
}

int
store_busy_add(struct store *s, const char *path)
{
	char **nb, *p;
	size_t i;

	if ((p = strdup(path)) == NULL)
		return (-ENOMEM);
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nbusy; i++)
		if (strcmp(s->busy[i], path) == 0) {
			pthread_mutex_unlock(&s->mu);
			free(p);
			return (-EBUSY);
		}
	nb = realloc(s->busy, (s->nbusy + 1) * sizeof(*nb));
	if (nb == NULL) {
		pthread_mutex_unlock(&s->mu);
		free(p);
		return (-ENOMEM);
	}
	s->busy = nb;
	s->busy[s->nbusy++] = p;
	pthread_mutex_unlock(&s->mu);
	return (0);
}

int
store_busy_wait(struct store *s, const char *path)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int i, rc;

	for (i = 0; i < 2500; i++) {
		if ((rc = store_busy_add(s, path)) != -EBUSY)
			return (rc);
		nanosleep(&ts, NULL);
	}
	return (-EBUSY);
}

void
store_busy_del(struct store *s, const char *path)
{
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nbusy; i++) {
		if (strcmp(s->busy[i], path) == 0) {
			free(s->busy[i]);
			s->busy[i] = s->busy[--s->nbusy];
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

bool
store_is_busy(struct store *s, const char *path)
{
	bool busy = false;
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nbusy && !busy; i++)
		busy = strcmp(s->busy[i], path) == 0;
	pthread_mutex_unlock(&s->mu);
	return (busy);
}

int
store_move_in(struct store *s, const char *tmp, int dfd, const char *name,
    bool noreplace, enum store_undo *undo)
{
	struct stat st;
	int tfd = s->tmp_fd, tries;

	*undo = STORE_UNDO_NONE;
	if (noreplace) {
		if (renameat2(tfd, tmp, dfd, name, RENAME_NOREPLACE) < 0)
			return (store_errno(errno));
		*undo = STORE_UNDO_REMOVE;
		return (0);
	}
	/* A file made directly in the folder meanwhile: try again. */
	for (tries = 0; tries < 3; tries++) {
		if (renameat2(tfd, tmp, dfd, name, RENAME_EXCHANGE) == 0) {
			/* Exchange would take a folder's place: not ours. */
			if (fstatat(tfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode)) {
				if (renameat2(tfd, tmp, dfd, name,
				    RENAME_EXCHANGE) < 0)
					log_warn("commit of %s", name);
				return (-EISDIR);
			}
			*undo = STORE_UNDO_SWAP;
			return (0);
		}
		if (errno == EINVAL)
			break;
		if (errno != ENOENT)
			return (store_errno(errno));
		if (renameat2(tfd, tmp, dfd, name, RENAME_NOREPLACE) == 0) {
			*undo = STORE_UNDO_REMOVE;
			return (0);
		}
		if (errno != EEXIST)
			return (store_errno(errno));
	}
	if (renameat(tfd, tmp, dfd, name) < 0)
		return (store_errno(errno));
	return (0);
}

int
store_move_back(struct store *s, const char *tmp, int dfd, const char *name,
    enum store_undo undo)
{
	int rc = -1;

	if (undo == STORE_UNDO_SWAP)
		rc = renameat2(s->tmp_fd, tmp, dfd, name, RENAME_EXCHANGE);
	else if (undo == STORE_UNDO_REMOVE)
		rc = renameat(dfd, name, s->tmp_fd, tmp);
	if (rc < 0) {
		log_warn("%s could not be put back as it was", name);
		return (-EIO);
	}
	if (fsync(dfd) < 0)
		log_warn("fsync of the folder of %s", name);
	return (0);
}

void
store_tmp_name(struct store *s, char *out)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = ++s->tmp_seq;
	pthread_mutex_unlock(&s->mu);
	snprintf(out, 64, "up-%ld-%llu", (long)getpid(),
	    (unsigned long long)n);
}

int
store_read_node_id(const char *dir, uint8_t id[NODE_ID_LEN])
{
	char path[FS_PATH_MAX], hex[2 * NODE_ID_LEN + 2];
	FILE *f;

	if (str_fmt(path, sizeof(path), "%s/%s/node_id", dir, PATH_PRIVATE) <
	    0 || (f = fopen(path, "re")) == NULL)
		return (-ENOENT);
	if (fgets(hex, sizeof(hex), f) == NULL || strlen(hex) <
	    2 * NODE_ID_LEN) {
		fclose(f);
		return (-EINVAL);
	}
	fclose(f);
	return (span_hex((struct span){ hex, 2 * NODE_ID_LEN }, id,
	    NODE_ID_LEN) < 0 ? -EINVAL : 0);
}

int
store_make_parents(struct store *s, const char *path)
{
	char p[PATH_LEN_MAX + 1];
	struct stat st;
	char *slash;
	int rc;

	if (str_copy(p, sizeof(p), path) < 0)
		return (-ENAMETOOLONG);
	for (slash = strchr(p, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		rc = store_stat(s, p, &st);
		if (rc == -ENOENT)
			rc = store_mkdir(s, p);
		else if (rc == 0 && !S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
		*slash = '/';
		if (rc < 0 && rc != -EEXIST)
			return (rc);
	}
	return (0);
}

int
store_apply_dir(struct store *s, const char *path, struct file_meta *m)
{
	const char *name;
	struct stat st;
	int dfd, rc;

	if ((rc = store_make_parents(s, path)) < 0)
		return (rc);
	if (store_stat(s, path, &st) == 0 && !S_ISDIR(st.st_mode))
		return (-ENOTDIR);
	if ((dfd = store_open_parent(s, path, &name)) < 0)
		return (dfd);
	if (mkdirat(dfd, name, 0755) == 0)
		(void)fsync(dfd);
	else if (errno != EEXIST)
		rc = store_errno(errno);
	close(dfd);
	if (rc == 0)
		rc = index_apply(s->index, path, m);
	return (rc);
}

static void
held_name(const uint8_t sha[HASH_LEN], char *out, size_t size)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex(sha, hex);
	(void)str_fmt(out, size, "held-%s", hex);
}

int
store_hold(struct store *s, const char *path, const uint8_t sha[HASH_LEN])
{
	char name[HASH_HEX_LEN + 16], tmp[HASH_HEX_LEN + 16];
	const char *base;
	int dfd, rc = 0;

	held_name(sha, name, sizeof(name));
	(void)str_fmt(tmp, sizeof(tmp), "%s.new", name);
	if ((dfd = store_open_parent(s, path, &base)) < 0)
		return (dfd);
	(void)unlinkat(s->tmp_fd, tmp, 0);
	if (linkat(dfd, base, s->tmp_fd, tmp, 0) < 0 ||
	    renameat(s->tmp_fd, tmp, s->tmp_fd, name) < 0) {
		rc = store_errno(errno);
		(void)unlinkat(s->tmp_fd, tmp, 0);
	}
	close(dfd);
	return (rc);
}

int
store_held_open(struct store *s, const uint8_t sha[HASH_LEN])
{
	char name[HASH_HEX_LEN + 16];
	int fd;

	held_name(sha, name, sizeof(name));
	fd = openat(s->tmp_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return (fd < 0 ? -errno : fd);
}

void
store_held_drop(struct store *s, const uint8_t sha[HASH_LEN])
{
	char name[HASH_HEX_LEN + 16];

	held_name(sha, name, sizeof(name));
	(void)unlinkat(s->tmp_fd, name, 0);
}

int
store_apply_delete(struct store *s, const char *path, struct file_meta *m)
{
	struct file_meta old;
	const char *name;
	struct stat st;
	int dfd, rc = 0;
	bool have_old;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		rc = dfd == -ENOENT ? 0 : dfd;
		goto out;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* A peer's delete: the content goes to the trash here too. */
		have_old = S_ISREG(st.st_mode) &&
		    index_get(s->index, path, &old) == 0;
		if (S_ISREG(st.st_mode) && vers_keep(s, dfd, name, path,
		    have_old ? &old : NULL, VERS_TRASH, m->modified_by) == 0)
			(void)fsync(dfd);
		else if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ?
		    AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
			rc = store_errno(errno);
		else
			(void)fsync(dfd);
	}
	close(dfd);
out:
	if (rc == 0 || rc == -ENOENT)
		rc = index_apply(s->index, path, m);
	store_busy_del(s, path);
	return (rc);
}

int
store_drop_copy(struct store *s, const char *path, const uint8_t sha[HASH_LEN])
{
	struct file_meta m;
	const char *name;
	int dfd, rc;

	/* -EBUSY while a writer commits it: the next walk tries again. */
	if ((rc = store_busy_add(s, path)) < 0)
		return (rc);
	/* The file must still be that version (hashed again if touched). */
	if ((rc = store_meta(s, path, &m)) < 0)
		goto out;
	if (m.remote || memcmp(m.sha256, sha, HASH_LEN) != 0) {
		rc = -ESTALE;
		goto out;
	}
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		rc = dfd;
		goto out;
	}
	/* The row first: a crash between the two leaves a file the
	 * start-up scan indexes again, never a row without its file. */
	if ((rc = index_set_remote(s->index, path, sha, true)) == 0) {
		if (unlinkat(dfd, name, 0) < 0)
			rc = store_errno(errno);
		else
			(void)fsync(dfd);
	}
	close(dfd);
out:
	store_busy_del(s, path);
	return (rc);
}

/* An older version of path held here, superseded by one held elsewhere:
 * kept as a version (or removed). */
static int
keep_superseded(struct store *s, int dfd, const char *name, const char *path,
    const uint8_t *by)
{
	struct file_meta old;
	bool have_old = index_get(s->index, path, &old) == 0;

	if (vers_keep(s, dfd, name, path, have_old ? &old : NULL,
	    VERS_VERSION, by) == 0)
		return (0);
	return (unlinkat(dfd, name, 0) < 0 ? -errno : 0);
}

/*
 * The row of a version held elsewhere, written with path busy: an older
 * copy held here goes.  unindexed_ok false: a file where the index knows
 * of none is content made here and not scanned yet, kept (-EEXIST).
 */
static int
record_remote(struct store *s, const char *path, struct file_meta *m,
    bool unindexed_ok)
{
	const char *name;
	struct stat st;
	int dfd, rc;

	m->remote = true;
	if ((dfd = store_open_parent(s, path, &name)) >= 0) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (!unindexed_ok) {
				close(dfd);
				return (-EEXIST);
			}
			if (keep_superseded(s, dfd, name, path,
			    m->modified_by) == 0)
				(void)fsync(dfd);
		}
		close(dfd);
	} else if (dfd != -ENOENT)
		return (dfd);
	else if ((rc = store_make_parents(s, path)) < 0)
		return (rc);
	return (index_apply(s->index, path, m));
}

int
store_apply_remote_if(struct store *s, const char *path, struct file_meta *m,
    const struct vv *expect, bool expect_exists)
{
	struct file_meta cur;
	bool have_row, held;
	int rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	/* Any row, tombstones included, as fetch_commit checks it. */
	have_row = index_get_any(s->index, path, &cur, NULL) == 0;
	if (have_row != expect_exists || (have_row &&
	    vv_compare(&cur.vv, expect) != VV_EQUAL))
		rc = -EAGAIN;
	else {
		held = have_row && !cur.deleted && !cur.remote &&
		    cur.type == ENTRY_FILE;
		rc = record_remote(s, path, m, held);
	}
	store_busy_del(s, path);
	return (rc);
}

int
store_apply_remote(struct store *s, const char *path, struct file_meta *m)
{
	const char *name;
	struct stat st;
	int dfd, rc;

	if ((rc = store_busy_wait(s, path)) < 0)
		return (rc);
	m->remote = true;
	if ((dfd = store_open_parent(s, path, &name)) >= 0) {
		/* An older version held here goes: it is superseded. */
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && keep_superseded(s, dfd, name,
		    path, m->modified_by) == 0)
			(void)fsync(dfd);
		close(dfd);
	} else if (dfd != -ENOENT) {
		rc = dfd;
		goto out;
	} else if ((rc = store_make_parents(s, path)) < 0)
		goto out;
	rc = index_apply(s->index, path, m);
out:
	store_busy_del(s, path);
	return (rc);
}

int
store_remote_children(struct store *s, const char *dir,
    int (*fn)(const char *name, uint64_t size, int64_t mtime_ns, void *),
    void *arg)
{
	return (index_remote_children(s->index, dir, fn, arg));
}
