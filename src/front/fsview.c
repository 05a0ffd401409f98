/*
 * fsview: the store as every front end sees it (see fsview.h for the
 * listing filter and the symlink rule, which are the module's contract).
 *
 * Everything a front end used to do against the folder itself lives here:
 * reading a folder, telling what may be shown, opening a file or finding
 * it held elsewhere, checking an upload's target, and moving a file's
 * bytes out.  Paths are opened only through store (openat2 beneath the
 * root); the folder descriptors it hands back are read here and nowhere
 * else above store.
 */
#include "front/fsview.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "base/buf.h"
#include "cluster/twire.h"
#include "front/remote.h"
#include "store/store.h"

/* The one errno -> fs_err mapping; anything not here is FS_IO. */
static const struct {
	int err;
	enum fs_err fs;
} errno_map[] = {
    {0, FS_OK},
    {ENOENT, FS_ENOENT},
    {ENOTDIR, FS_NOTDIR},
    {EISDIR, FS_ISDIR},
    {EEXIST, FS_EXISTS},
    {ENOTEMPTY, FS_NOTEMPTY},
    {ENAMETOOLONG, FS_NAMETOOLONG},
    {EINVAL, FS_INVALID},
    {ENOSPC, FS_NOSPACE},
    {EDQUOT, FS_NOSPACE},
    {EFBIG, FS_TOOBIG},
    {EACCES, FS_DENIED},
    {EPERM, FS_DENIED},
    {EXDEV, FS_DENIED},
    {ELOOP, FS_DENIED},
    {EBUSY, FS_BUSY},
    {EAGAIN, FS_BUSY},
    {ENOLCK, FS_LOCKED},
    {ESTALE, FS_STALE},
    {EHOSTUNREACH, FS_UNAVAILABLE},
    {EREMOTE, FS_BUSY}, /* a copy must be fetched here first */
    {ENOMEM, FS_NOMEM},
};

enum fs_err
fs_err_of(int rc)
{
	size_t i;

	for (i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++)
		if (errno_map[i].err == -rc)
			return (errno_map[i].fs);
	return (FS_IO);
}

/* SECURITY: names that would break a listing line or a reply. */
static bool
has_ctl(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (true);
	return (false);
}

bool
fs_name_shown(const char *name)
{
	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return (false);
	return (!has_ctl(name) && twire_utf8_ok(name));
}

/* The real path of an open descriptor, from /proc. */
static int
fd_path(int fd, char *out, size_t size)
{
	char proc[64];
	ssize_t n;

	(void)str_fmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, out, size - 1)) < 0 || (size_t)n >= size - 1)
		return (-EIO);
	out[n] = '\0';
	return (0);
}

/* SECURITY: does the object open at fd lie in DIR/.shoal? */
static bool
in_private(struct store *s, int fd)
{
	char priv[PATH_LEN_MAX + 1], real[PATH_LEN_MAX + 1];
	size_t n;

	if (fd_path(s->priv_fd, priv, sizeof(priv)) < 0 ||
	    fd_path(fd, real, sizeof(real)) < 0)
		return (true);
	n = strlen(priv);
	return (strncmp(real, priv, n) == 0 &&
		(real[n] == '\0' || real[n] == '/'));
}

/*
 * The symlink rule: 0 if the link at path may be shown (it resolves to a
 * file or folder inside, or to nothing), -ENOENT if it is hidden.
 */
static int
link_shown(struct store *s, const char *path)
{
	struct stat st;
	int fd, rc = 0;

	fd = store_openat(s, path, O_PATH, 0);
	if (fd == -ENOENT)
		return (0); /* dangling, inside */
	if (fd < 0)
		return (-ENOENT); /* outside, a loop, or refused */
	if (fstat(fd, &st) < 0 ||
	    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || in_private(s, fd))
		rc = -ENOENT;
	close(fd);
	return (rc);
}

static int
child_path(const char *dir, const char *name, char *out, size_t size)
{
	return (str_fmt(out, size, "%s%s%s", dir, dir[0] ? "/" : "", name));
}

/*
 * Fills e for name in folder dir (open as dfd), seen as st (lstat), or
 * returns -ENOENT if the filter hides it.
 */
static int
entry_of(struct store *s, const char *dir, int dfd, const char *name,
	 const struct stat *st, int flags, struct fs_entry *e)
{
	char child[PATH_LEN_MAX + 1];
	ssize_t n;

	if (!fs_name_shown(name) ||
	    (dir[0] == '\0' && strcmp(name, PATH_PRIVATE) == 0))
		return (-ENOENT);
	if (child_path(dir, name, child, sizeof(child)) < 0)
		return (-ENOENT);
	memset(e, 0, sizeof(*e));
	if (S_ISREG(st->st_mode))
		e->type = FS_FILE;
	else if (S_ISDIR(st->st_mode))
		e->type = FS_DIR;
	else if (S_ISLNK(st->st_mode) && link_shown(s, child) == 0)
		e->type = FS_LINK;
	else
		return (-ENOENT); /* FIFOs, sockets, devices */
	(void)str_fmt(e->name, sizeof(e->name), "%s", name);
	e->size = (uint64_t)st->st_size;
	e->mtime = st->st_mtim.tv_sec;
	e->mode = st->st_mode & 0777;
	e->nlink = (unsigned long)st->st_nlink;
	if (e->type == FS_LINK) {
		n = readlinkat(dfd, name, e->target, sizeof(e->target) - 1);
		e->target[n >= 0 ? n : 0] = '\0';
		/* SECURITY: a target outside is nobody's business. */
		if (e->target[0] == '/' || strstr(e->target, "..") ||
		    !fs_name_shown(e->target))
			e->target[0] = '\0';
	}
	if (e->type == FS_FILE && (flags & FS_LIST_META) &&
	    store_meta(s, child, &e->meta) == 0)
		e->has_meta = true;
	return (0);
}

/* A file held by other nodes, listed like one held here. */
static int
remote_entry(struct store *s, const char *name, uint64_t size, int64_t mtime_ns,
	     const char *child, int flags, struct fs_entry *e)
{
	struct file_meta m;
	struct stat st;

	if (!fs_name_shown(name) || strlen(name) > PATH_NAME_MAX)
		return (-ENOENT);
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, strlen(name) + 1);
	e->type = FS_FILE;
	e->size = size;
	e->mtime = (time_t)(mtime_ns / 1000000000);
	e->mode = 0644;
	e->nlink = 1;
	e->remote = true;
	if ((flags & FS_LIST_META) && store_stat_any(s, child, &st, &m) == 0 &&
	    m.remote) {
		e->meta = m;
		e->has_meta = true;
	}
	return (0);
}

/*
 * Rows held elsewhere are copied out of the index first and looked at
 * after: the index is not asked again (FS_LIST_META) while it hands them
 * over, nor does a front end's callback run while it does.
 */
struct remote_row {
	char *name;
	uint64_t size;
	int64_t mtime_ns;
};

struct remote_rows {
	struct remote_row *v;
	size_t n, cap, max;
};

static int
collect_remote(const char *name, uint64_t size, int64_t mtime_ns, void *arg)
{
	struct remote_rows *r = arg;
	struct remote_row *v;
	size_t cap;

	if (r->n >= r->max)
		return (-1);
	if (!fs_name_shown(name))
		return (0);
	if (r->n == r->cap) {
		cap = r->cap ? 2 * r->cap : 16;
		if ((v = reallocarray(r->v, cap, sizeof(*v))) == NULL)
			return (-1);
		r->v = v;
		r->cap = cap;
	}
	if ((r->v[r->n].name = strdup(name)) == NULL)
		return (-1);
	r->v[r->n].size = size;
	r->v[r->n].mtime_ns = mtime_ns;
	r->n++;
	return (0);
}

static void
list_remote(struct store *s, const char *dir, int flags, unsigned *n,
	    unsigned max, struct fs_entry *e,
	    int (*fn)(const struct fs_entry *, void *), void *arg)
{
	struct remote_rows r = {NULL, 0, 0, max - *n};
	char child[PATH_LEN_MAX + 1];
	bool stop = false;
	size_t i;

	(void)store_remote_children(s, dir, collect_remote, &r);
	for (i = 0; i < r.n; i++) {
		if (!stop &&
		    child_path(dir, r.v[i].name, child, sizeof(child)) == 0 &&
		    remote_entry(s, r.v[i].name, r.v[i].size, r.v[i].mtime_ns,
				 child, flags, e) == 0) {
			if (fn(e, arg) < 0)
				stop = true;
			else
				(*n)++;
		}
		free(r.v[i].name);
	}
	free(r.v);
}

int
fs_list(struct store *s, const char *dir, int flags, unsigned max,
	int (*fn)(const struct fs_entry *, void *), void *arg)
{
	struct fs_entry *e;
	struct dirent *de;
	struct stat st;
	bool stop = false;
	unsigned n = 0;
	DIR *d;
	int fd;

	if ((fd = store_openat(s, dir, O_DIRECTORY | O_RDONLY, 0)) < 0)
		return (fd);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (store_errno(errno));
	}
	if ((e = malloc(sizeof(*e))) == NULL) {
		closedir(d);
		return (-ENOMEM);
	}
	while (!stop && n < max && (de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			0 ||
		    entry_of(s, dir, dirfd(d), de->d_name, &st, flags, e) < 0)
			continue;
		if (fn(e, arg) < 0)
			stop = true;
		else
			n++;
	}
	closedir(d);
	if (!stop && n < max)
		list_remote(s, dir, flags, &n, max, e, fn, arg);
	free(e);
	return (0);
}

int
fs_stat(struct store *s, const char *path, int flags, struct fs_entry *e)
{
	char dir[PATH_LEN_MAX + 1];
	const char *name;
	struct file_meta m;
	struct stat st;
	int dfd, rc;

	if (path[0] == '\0') {
		if ((rc = store_stat(s, "", &st)) < 0)
			return (rc);
		memset(e, 0, sizeof(*e));
		e->type = FS_DIR;
		e->size = (uint64_t)st.st_size;
		e->mtime = st.st_mtim.tv_sec;
		e->mode = st.st_mode & 0777;
		e->nlink = (unsigned long)st.st_nlink;
		return (0);
	}
	if ((dfd = store_open_parent(s, path, &name)) < 0) {
		/* A file held elsewhere, in a folder not made here. */
		if (dfd == -ENOENT && store_stat_any(s, path, &st, &m) == 0 &&
		    m.remote)
			return (remote_entry(s, path_base(path), m.size,
					     m.mtime_ns, path, flags, e));
		return (dfd == -EINVAL ? -EACCES : dfd);
	}
	(void)str_fmt(dir, sizeof(dir), "%.*s",
		      (int)(name > path ? name - path - 1 : 0), path);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rc = entry_of(s, dir, dfd, name, &st, flags, e);
	else if (errno == ENOENT && store_stat_any(s, path, &st, &m) == 0 &&
		 m.remote)
		rc = remote_entry(s, name, m.size, m.mtime_ns, path, flags, e);
	else
		rc = store_errno(errno);
	close(dfd);
	return (rc);
}

int
fs_stat_target(struct store *s, const char *path, struct fs_entry *e)
{
	struct stat st;
	int rc;

	if ((rc = fs_stat(s, path, 0, e)) < 0 || e->type != FS_LINK)
		return (rc);
	if ((rc = store_stat(s, path, &st)) < 0)
		return (rc);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return (-ENOENT);
	e->type = S_ISDIR(st.st_mode) ? FS_DIR : FS_FILE;
	e->size = (uint64_t)st.st_size;
	e->mtime = st.st_mtim.tv_sec;
	e->target[0] = '\0';
	return (0);
}

int
fs_meta(struct store *s, const char *path, struct file_meta *m)
{
	return (store_meta(s, path, m));
}

int
fs_attrs(struct store *s, const char *path, const uint8_t sha[HASH_LEN],
    void *out, size_t size, size_t *len)
{
	return (index_get_attrs(s->index, path, sha, out, size, len));
}

int
fs_cache_attrs(struct store *s, const char *path, const uint8_t sha[HASH_LEN],
    const void *attrs, size_t len)
{
	return (index_set_attrs(s->index, path, sha, attrs, len));
}

int
fs_open(struct store *s, const char *path, int flags, struct fs_file *f)
{
	struct file_meta m;
	struct stat st;
	int fd;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (flags & FS_OPEN_META) {
		if ((fd = store_meta(s, path, &f->meta)) < 0)
			return (fd);
		f->has_meta = true;
		m = f->meta;
		if (m.remote)
			goto remote;
	}
	fd = store_openat(s, path, O_RDONLY, 0);
	if (fd == -ENOENT && !(flags & FS_OPEN_META) &&
	    store_stat_any(s, path, &st, &m) == 0 && m.remote)
		goto remote;
	if (fd < 0)
		return (fd);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return (store_errno(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return (S_ISDIR(st.st_mode) ? -EISDIR : -ENOENT);
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->mtime = st.st_mtim.tv_sec;
	return (0);
remote:
	f->remote = true;
	f->size = m.size;
	f->mtime = (time_t)(m.mtime_ns / 1000000000);
	return (0);
}

int
fs_write_begin(struct store *s, const char *path, enum upload_mode mode,
	       uint64_t offset, bool *existed, struct upload **out)
{
	const char *name;
	struct stat st;
	int dfd, rc;

	/* The target must be a file (or nothing) in a folder. */
	if ((dfd = store_open_parent(s, path, &name)) < 0)
		return (dfd);
	close(dfd);
	rc = store_stat(s, path, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		return (-EISDIR);
	if (rc < 0 && rc != -ENOENT)
		return (rc);
	/* Keeping the bytes of a file only other nodes hold (replicas = N). */
	if (rc == 0 && st.st_size > 0 &&
	    (mode == UPLOAD_APPEND || (mode == UPLOAD_RESUME && offset > 0)) &&
	    store_is_remote(s, path))
		return (-EREMOTE);
	if (existed)
		*existed = rc == 0;
	return (upload_begin(s, path, mode, offset, out));
}

/* Continues partial key at offset (0: starts over). */
static int
partial_begin(struct store *s, const char *path, uint64_t offset,
	      const char *key, uint64_t *have, struct upload **out)
{
	uint64_t kept = 0;
	int rc;

	if (offset > 0) {
		if ((rc = upload_partial_size(s, key, &kept)) < 0 &&
		    rc != -ENOENT)
			return (rc);
		if (offset != kept) {
			*have = kept;
			return (-ERANGE);
		}
	}
	rc = upload_begin_partial(s, path, key, offset, out);
	if (offset > 0 && (rc == -ERANGE || rc == -ENOENT)) {
		/* Taken or changed meanwhile: what is there now. */
		*have = upload_partial_size(s, key, &kept) == 0 ? kept : 0;
		rc = -ERANGE;
	}
	return (rc);
}

void
fs_write_expect(struct upload *up, const uint8_t sha[HASH_LEN])
{
	upload_expect(up, sha);
}

int
fs_write_resumable(struct store *s, const char *path, enum upload_mode mode,
		   uint64_t offset, const char *key, uint64_t *have,
		   bool *existed, struct upload **out)
{
	const char *name;
	struct stat st;
	uint64_t kept;
	int dfd, rc, prc;

	if ((dfd = store_open_parent(s, path, &name)) < 0)
		return (dfd);
	close(dfd);
	rc = store_stat(s, path, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		return (-EISDIR);
	if (rc < 0 && rc != -ENOENT)
		return (rc);
	if (existed)
		*existed = rc == 0;
	/*
	 * Appending to, or keeping the start of, a file only other nodes
	 * hold (replicas = N; stat describes their copy): its bytes first.
	 */
	if (rc == 0 && st.st_size > 0 && (mode == UPLOAD_APPEND || offset > 0) &&
	    upload_partial_size(s, key, &kept) == -ENOENT &&
	    store_is_remote(s, path))
		return (-EREMOTE);
	if (rc < 0 || (mode == UPLOAD_NEW && offset == 0))
		return (partial_begin(s, path, offset, key, have, out));
	/*
	 * A file is there.  A partial of this account is its interrupted
	 * replacement: an offset resumes it.  Without one, REST keeps the
	 * file's first bytes and APPE appends to it, as FTP always did.
	 */
	if ((prc = upload_partial_size(s, key, &kept)) < 0 && prc != -ENOENT)
		return (prc);
	if (offset > 0 && (prc == 0 || mode == UPLOAD_APPEND))
		return (partial_begin(s, path, offset, key, have, out));
	(void)upload_partial_drop(s, key);
	if (mode == UPLOAD_NEW)
		mode = UPLOAD_RESUME;
	return (upload_begin(s, path, mode, offset, out));
}

int
fs_write_partial(struct store *s, const char *path, uint64_t offset,
		 const char *key, uint64_t *have, struct upload **out)
{
	const char *name;
	struct stat st;
	int dfd, rc;

	if ((dfd = store_open_parent(s, path, &name)) < 0)
		return (dfd);
	close(dfd);
	rc = store_stat(s, path, &st);
	if (rc == 0 && S_ISDIR(st.st_mode))
		return (-EISDIR);
	if (rc < 0 && rc != -ENOENT)
		return (rc);
	return (partial_begin(s, path, offset, key, have, out));
}

int
fs_partial_size(struct store *s, const char *path, const char *key,
		uint64_t *size)
{
	(void)path; /* the key names it */
	return (upload_partial_size(s, key, size));
}

int
fs_make_parents(struct store *s, const char *path)
{
	return (store_make_parents(s, path));
}

int
fs_space_check(struct store *s, uint64_t min_free, uint64_t *avail)
{
	struct statvfs sv;

	*avail = 0;
	if (min_free == 0 || fstatvfs(s->root_fd, &sv) < 0)
		return (0);
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return (*avail < min_free ? -ENOSPC : 0);
}

int
fs_unique_name(struct store *s, char *path, size_t size)
{
	char base[PATH_LEN_MAX + 1];
	struct stat st;
	unsigned i;
	int rc;

	if (str_fmt(base, sizeof(base), "%s", path) < 0)
		return (-ENAMETOOLONG);
	for (i = 0; i < 1000; i++) {
		if (i > 0 && str_fmt(path, size, "%s.%u", base, i) < 0)
			return (-ENAMETOOLONG);
		rc = store_stat(s, path, &st);
		if (rc == -ENOENT)
			return (0);
		if (rc < 0)
			return (rc);
	}
	return (-EEXIST);
}

const uint8_t *
fs_node_id(const struct store *s)
{
	return (s->node_id);
}

int
fs_mkdir(struct store *s, const char *path)
{
	return (store_mkdir(s, path));
}

int
fs_rmdir(struct store *s, const char *path)
{
	return (store_rmdir(s, path));
}

int
fs_unlink(struct store *s, const char *path)
{
	return (store_unlink(s, path));
}

int
fs_set_mtime(struct store *s, const char *path, int64_t mtime_ns)
{
	return (store_set_mtime(s, path, mtime_ns));
}

int
fs_remove(struct store *s, const char *path)
{
	struct stat st;
	int rc;

	if ((rc = store_stat(s, path, &st)) < 0)
		return (rc);
	return (S_ISDIR(st.st_mode) ? store_rmdir(s, path)
				    : store_unlink(s, path));
}

int
fs_rename(struct store *s, const char *from, const char *to)
{
	struct stat st;
	int rc;

	if ((rc = store_stat(s, from, &st)) < 0)
		return (rc);
	return (store_rename(s, from, to));
}

/* fs_reader */

void
fs_reader_init(struct fs_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

void
fs_reader_local(struct fs_reader *r, int fd, uint64_t off, uint64_t end)
{
	r->fd = fd;
	r->off = off;
	r->end = end;
}

/* The holders' fd (a copy: theirs stays theirs), once there is one. */
static int
reader_update(struct fs_reader *r)
{
	uint64_t size;
	int fd = r->ops->avail(r->remote, &r->avail, &size);

	if (r->fd < 0 && fd >= 0 && (r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return (-errno);
	return (0);
}

static void
reader_ready(void *arg)
{
	struct fs_reader *r = arg;

	if (reader_update(r) < 0) {
		r->failed(r->cbarg, "out of file descriptors");
		return;
	}
	r->ready(r->cbarg);
}

static void
reader_failed(void *arg, const char *why)
{
	struct fs_reader *r = arg;

	r->failed(r->cbarg, why);
}

int
fs_reader_remote(struct fs_reader *r, const struct remote_reads *ops,
		 const char *path, void (*ready)(void *),
		 void (*failed)(void *, const char *), void *cbarg,
		 uint64_t *size, char *why, size_t whylen)
{
	int rc, fd;

	r->ops = ops;
	r->ready = ready;
	r->failed = failed;
	r->cbarg = cbarg;
	rc = ops->open(ops->arg, path, reader_ready, reader_failed, r,
		       &r->remote, why, whylen);
	if (rc < 0) {
		r->remote = NULL;
		return (rc);
	}
	fd = ops->avail(r->remote, &r->avail, size);
	if (fd >= 0 && (r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		rc = -errno;
		fs_reader_release(r);
		(void)str_fmt(why, whylen, "out of file descriptors");
		return (rc);
	}
	r->off = 0;
	r->end = *size;
	return (0);
}

void
fs_reader_range(struct fs_reader *r, uint64_t off, uint64_t end)
{
	r->off = off;
	r->end = end;
}

uint64_t
fs_reader_ready_bytes(const struct fs_reader *r)
{
	uint64_t upto = r->end;

	if (r->remote && r->avail < upto)
		upto = r->avail; /* the rest is on its way */
	if (r->fd < 0 || r->off >= upto)
		return (0);
	return (upto - r->off);
}

bool
fs_reader_done(const struct fs_reader *r)
{
	return (r->off >= r->end);
}

int
fs_reader_send(struct fs_reader *r, struct evbuffer *out, uint64_t *sent)
{
	uint64_t n = fs_reader_ready_bytes(r);
	int fd = r->fd;

	*sent = 0;
	if (n == 0)
		return (0);
	/* The evbuffer owns the fd it is given; a streamed file keeps its
	 * own for the parts still to come. */
	if (r->remote && (fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return (-errno);
	if (evbuffer_add_file(out, fd, (ev_off_t)r->off, (ev_off_t)n) < 0)
		return (-EIO);
	if (!r->remote)
		r->fd = -1;
	r->off += n;
	*sent = n;
	return (0);
}

void
fs_reader_release(struct fs_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->remote)
		r->ops->close(r->remote);
	fs_reader_init(r);
}

int
fs_read_prepare(struct fs_read *rd, const struct fs_reader *r, size_t max)
{
	uint64_t want = fs_reader_ready_bytes(r);

	memset(rd, 0, sizeof(*rd));
	rd->fd = r->fd;
	rd->off = r->off;
	rd->want = want > max ? max : (size_t)want;
	if ((rd->buf = evbuffer_new()) == NULL)
		return (-ENOMEM);
	return (0);
}

void
fs_read_run(struct fs_read *rd)
{
	struct evbuffer_iovec v;
	ssize_t n;

	if (rd->want == 0 ||
	    evbuffer_reserve_space(rd->buf, (ev_ssize_t)rd->want, &v, 1) < 1) {
		rd->rc = -ENOMEM;
		return;
	}
	n = pread(rd->fd, v.iov_base, rd->want, (off_t)rd->off);
	if (n <= 0) {
		rd->rc = n < 0 ? -errno : -EIO; /* shrank under us */
		return;
	}
	v.iov_len = (size_t)n;
	evbuffer_commit_space(rd->buf, &v, 1);
}

size_t
fs_read_finish(struct fs_read *rd, struct fs_reader *r, struct evbuffer *out)
{
	size_t n = evbuffer_get_length(rd->buf);

	r->off += n;
	evbuffer_add_buffer(out, rd->buf);
	fs_read_discard(rd);
	return (n);
}

void
fs_read_discard(struct fs_read *rd)
{
	if (rd->buf)
		evbuffer_free(rd->buf);
	rd->buf = NULL;
}
