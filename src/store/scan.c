/*
 * scan: depth-first walk using directory descriptors opened beneath the
 * root, so a folder renamed during the walk cannot send it elsewhere.
 * Only names that pass path_valid (the rule sync applies to a peer's
 * entries) are indexed, so nothing this node announces is refused.
 */
#include "store/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "store/path.h"

struct walk {
	struct store		*store;
	int			 prune;
	scan_dir_fn		 on_dir;
	void			*arg;
	struct scan_stats	*stats;
	char			 path[PATH_LEN_MAX + 1];
};

static void
skip_invalid(const char *path)
{
	char show[PATH_LEN_MAX + 1];

	log_warnx("scan: \"%s\" skipped: a name with a control byte is "
	    "not shared", path_printable(path, show, sizeof(show)));
}

static void
scan_file(struct walk *w)
{
	struct file_meta m;
	struct stat st;
	int rc;

	w->stats->files++;
	if (w->prune && index_scan_seen(w->store->index, w->path) < 0)
		return;
	if (store_is_busy(w->store, w->path))
		return;
	if (store_stat(w->store, w->path, &st) < 0)
		return;
	if (index_get(w->store->index, w->path, &m) == 0) {
		if (m.size == (uint64_t)st.st_size &&
		    m.ino == (uint64_t)st.st_ino &&
		    m.mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec)
			return;
		/*
		 * A whole-folder scan runs where no event was seen (at start,
		 * after the event queue overflowed): a size that changed
		 * under an unchanged mtime is damage, not an edit, and must
		 * never become a new version.
		 */
		if (w->prune && store_is_damaged(&m, &st)) {
			rc = store_set_aside_damaged(w->store, w->path, &m,
			    &st);
			if (rc < 0 && rc != -EAGAIN)
				log_warnx("set aside %s: %s", w->path,
				    strerror(-rc));
			return;
		}
	}
	rc = store_index_file(w->store, w->path, &m);
	if (rc == 0) {
		w->stats->hashed++;
		w->stats->bytes_hashed += m.size;
		log_debug("indexed %s (%llu bytes)", w->path,
		    (unsigned long long)m.size);
	} else if (rc != -ENOENT && rc != -EAGAIN)
		log_warnx("index %s: %s", w->path, strerror(-rc));
}

static void
walk_dir(struct walk *w, int depth)
{
	struct dirent *de;
	size_t len = strlen(w->path);
	DIR *d;
	int fd;

	if (depth > 256)
		return;
	if (w->on_dir)
		w->on_dir(w->path, w->arg);
	/* Folders are entries too, so an empty one reaches peers. */
	if (w->path[0] != '\0') {
		if (w->prune)
			(void)index_scan_seen(w->store->index, w->path);
		(void)store_note_dir(w->store, w->path);
	}
	if ((fd = store_openat(w->store, w->path, O_DIRECTORY | O_RDONLY |
	    O_NOFOLLOW, 0)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned char type = de->d_type;
		size_t nl = strlen(de->d_name);
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len == 0 && strcmp(de->d_name, PATH_PRIVATE) == 0)
			continue;
		if (len + 1 + nl > PATH_LEN_MAX)
			continue;
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR :
			    S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (type != DT_DIR && type != DT_REG)
			continue;
		if (len)
			w->path[len] = '/';
		memcpy(w->path + len + (len ? 1 : 0), de->d_name, nl + 1);
		/* A name peers would refuse (a control byte, as in macOS's
		 * "Icon\r") is never indexed: it stays a local file. */
		if (!path_valid(w->path)) {
			skip_invalid(w->path);
			w->path[len] = '\0';
			continue;
		}
		if (type == DT_DIR)
			walk_dir(w, depth + 1);
		else
			scan_file(w);
		w->path[len] = '\0';
	}
	closedir(d);
}

int
scan_tree(struct store *s, const char *path, int prune, scan_dir_fn on_dir,
    void *arg, struct scan_stats *stats)
{
	struct walk w;
	int rc;

	memset(stats, 0, sizeof(*stats));
	w.store = s;
	w.prune = prune;
	w.on_dir = on_dir;
	w.arg = arg;
	w.stats = stats;
	if (str_copy(w.path, sizeof(w.path), path) < 0)
		return (-ENAMETOOLONG);
	if (prune && (rc = index_scan_begin(s->index)) < 0)
		return (rc);
	walk_dir(&w, 0);
	if (prune)
		return (index_scan_end(s->index, &stats->removed));
	return (0);
}

int
scan_path(struct store *s, const char *path, scan_dir_fn on_dir, void *arg)
{
	struct scan_stats stats;
	struct file_meta m;
	struct stat st;
	int rc;

	if (path[0] == '\0' || path_is_private(path))
		return (0);
	/*
	 * Being changed through store, which records it.  The caller must
	 * come back to it: a folder renamed through store is walked only by
	 * the caller, which learns its new name that way (the watcher's
	 * watch on it still carries the old one).
	 */
	if (store_is_busy(s, path))
		return (-EBUSY);
	if (!path_valid(path)) {
		skip_invalid(path);
		return (0);
	}
	rc = store_stat(s, path, &st);
	if (rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES) {
		/* A file held elsewhere is not here by design: no deletion. */
		if (rc == -ENOENT && index_get(s->index, path, &m) == 0 &&
		    m.remote)
			return (0);
		return (index_delete(s->index, path));
	}
	if (rc < 0)
		return (rc);
	if (S_ISDIR(st.st_mode))
		return (scan_tree(s, path, 0, on_dir, arg, &stats));
	if (!S_ISREG(st.st_mode))
		return (0);
	rc = store_meta(s, path, &m);
	return (rc == -EAGAIN ? 0 : rc);
}
