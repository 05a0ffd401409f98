/*
 * ftp_list: directory listings.  LIST (ls -l style), NLST (names), MLSD
 * (RFC 3659 facts) go over a data connection; MLST and STAT with a path
 * answer on the control connection.  The listing is built by a job into an
 * evbuffer; symlinks are shown as links and never followed, so a link
 * pointing outside the folder reveals nothing of its target's metadata.
 *
 * A name (or link target) holding a control byte is not listed at all.
 * CR or LF in it would end a line of the listing, and on the control
 * connection (STAT, MLST) a reply: a file made in the folder by other
 * means could forge replies.  RFC 959's CR NUL escape only covers CR and
 * few clients undo it; such names are refused as arguments anyway
 * (path_resolve), so a client could do nothing with a listed one.
 */
#include "front/ftp/ftp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "base/log.h"
#include "store/store.h"

#define LIST_ENTRIES_MAX	1000000

enum list_style { STYLE_LIST, STYLE_NLST, STYLE_MLSD, STYLE_MLST,
	STYLE_STAT };

struct list_job {
	struct ftp_session	*s;
	struct store		*store;
	enum list_style		 style;
	char			 path[PATH_LEN_MAX + 1];
	struct evbuffer		*out;
	int			 rc;
	time_t			 now;
	unsigned		 count;
};

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void
mode_string(mode_t m, char *out)
{
	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : '-';
	out[1] = (m & S_IRUSR) ? 'r' : '-';
	out[2] = (m & S_IWUSR) ? 'w' : '-';
	out[3] = (m & S_IXUSR) ? 'x' : '-';
	out[4] = (m & S_IRGRP) ? 'r' : '-';
	out[5] = (m & S_IWGRP) ? 'w' : '-';
	out[6] = (m & S_IXGRP) ? 'x' : '-';
	out[7] = (m & S_IROTH) ? 'r' : '-';
	out[8] = (m & S_IWOTH) ? 'w' : '-';
	out[9] = (m & S_IXOTH) ? 'x' : '-';
	out[10] = '\0';
}

/* SECURITY: names with control bytes never reach a listing or a reply. */
static bool
has_ctl(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (true);
	return (false);
}

/* Appends one entry in the job's style; dfd/name locate a symlink. */
static void
emit(struct list_job *j, const char *name, const struct stat *st, int dfd)
{
	char line[PATH_NAME_MAX + PATH_LEN_MAX + 160], perms[11];
	char target[PATH_LEN_MAX + 1];
	struct tm tm;
	time_t t = st->st_mtim.tv_sec;
	ssize_t tl = -1;
	int n = 0;

	gmtime_r(&t, &tm);
	switch (j->style) {
	case STYLE_NLST:
		n = snprintf(line, sizeof(line), "%s\r\n", name);
		break;
	case STYLE_LIST:
	case STYLE_STAT:
		mode_string(st->st_mode, perms);
		if (S_ISLNK(st->st_mode) && dfd >= 0)
			tl = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (tl >= 0)
			target[tl] = '\0';
		/* SECURITY: a target outside the folder is nobody's business. */
		if (tl >= 0 && (target[0] == '/' || strstr(target, "..") ||
				has_ctl(target)))
			tl = -1;
		/* Like ls: the year instead of the time past six months. */
		if (t > j->now - 180 * 86400 && t < j->now + 86400)
			n = snprintf(line, sizeof(line),
			    "%s %3lu ftp      ftp      %12llu %s %2d %02d:%02d "
			    "%s%s%s\r\n", perms, (unsigned long)st->st_nlink,
			    (unsigned long long)st->st_size, months[tm.tm_mon],
			    tm.tm_mday, tm.tm_hour, tm.tm_min, name,
			    tl >= 0 ? " -> " : "", tl >= 0 ? target : "");
		else
			n = snprintf(line, sizeof(line),
			    "%s %3lu ftp      ftp      %12llu %s %2d  %4d "
			    "%s%s%s\r\n", perms, (unsigned long)st->st_nlink,
			    (unsigned long long)st->st_size, months[tm.tm_mon],
			    tm.tm_mday, tm.tm_year + 1900, name,
			    tl >= 0 ? " -> " : "", tl >= 0 ? target : "");
		break;
	case STYLE_MLSD:
	case STYLE_MLST:
		n = snprintf(line, sizeof(line),
		    "%stype=%s;size=%llu;modify=%04d%02d%02d%02d%02d%02d;"
		    "perm=%s; %s\r\n", j->style == STYLE_MLST ? " " : "",
		    S_ISDIR(st->st_mode) ? "dir" : S_ISREG(st->st_mode) ?
		    "file" : "OS.unix=symlink",
		    (unsigned long long)st->st_size, tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, S_ISDIR(st->st_mode) ? "flcdmpe" : "adfrw",
		    name);
		break;
	}
	if (n > 0 && (size_t)n < sizeof(line))
		evbuffer_add(j->out, line, (size_t)n);
}

/* A file held by other nodes is listed like one held here. */
static int
emit_remote(const char *name, uint64_t size, int64_t mtime_ns, void *arg)
{
	struct list_job *j = arg;
	struct stat st;

	if (j->count >= LIST_ENTRIES_MAX)
		return (-1);
	if (has_ctl(name))
		return (0);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_nlink = 1;
	st.st_size = (off_t)size;
	st.st_mtim.tv_sec = (time_t)(mtime_ns / 1000000000);
	emit(j, name, &st, -1);
	j->count++;
	return (0);
}

static void
list_run(void *arg)
{
	struct list_job *j = arg;
	struct dirent *de;
	struct stat st;
	unsigned count = 0;
	DIR *d;
	int fd;

	j->now = time(NULL);
	/* The path itself, without following a final symlink. */
	fd = store_openat(j->store, j->path, O_PATH | O_NOFOLLOW, 0);
	if (fd == -ENOENT && store_stat_any(j->store, j->path, &st, NULL) ==
	    0) {
		emit(j, j->style == STYLE_MLST ? j->path : path_base(j->path),
		    &st, -1);
		return;
	}
	if (fd < 0) {
		j->rc = fd;
		return;
	}
	if (fstat(fd, &st) < 0) {
		j->rc = store_errno(errno);
		close(fd);
		return;
	}
	close(fd);
	if (!S_ISDIR(st.st_mode) || j->style == STYLE_MLST) {
		emit(j, j->style == STYLE_MLST ? (j->path[0] ? j->path : "/") :
		    path_base(j->path), &st, -1);
		return;
	}
	fd = store_openat(j->store, j->path, O_DIRECTORY | O_RDONLY, 0);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		j->rc = fd < 0 ? fd : store_errno(errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && count < LIST_ENTRIES_MAX) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		/* SECURITY: the private folder is invisible. */
		if (j->path[0] == '\0' && strcmp(de->d_name, PATH_PRIVATE) == 0)
			continue;
		if (has_ctl(de->d_name))
			continue;
		if (j->style == STYLE_NLST) {
			emit(j, de->d_name, &st, -1);
			count++;
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		emit(j, de->d_name, &st, dirfd(d));
		count++;
	}
	closedir(d);
	j->count = count;
	(void)store_remote_children(j->store, j->path, emit_remote, j);
}

static void
list_done(void *arg)
{
	struct list_job *j = arg;
	struct ftp_session *s = j->s;
	struct ftp_xfer *x;

	if (!ftp_job_release(s)) {
		evbuffer_free(j->out);
		free(j);
		return;
	}
	if (j->rc < 0) {
		ftp_reply_errno(s, j->rc, "Listing failed");
		goto out;
	}
	if (j->style == STYLE_MLST || j->style == STYLE_STAT) {
		int code = j->style == STYLE_MLST ? 250 : 213;
		char head[PATH_LEN_MAX + 32];
		int n;

		n = snprintf(head, sizeof(head), "%d-Status of /%s:\r\n",
		    code, j->path);
		if (n > 0 && (size_t)n < sizeof(head))
			ftp_reply_raw(s, head, (size_t)n);
		if (s->bev)
			bufferevent_write_buffer(s->bev, j->out);
		ftp_reply(s, code, "End");
		goto out;
	}
	if ((x = ftp_xfer_new(XFER_SEND_BUF)) == NULL) {
		ftp_reply(s, 451, "Out of memory.");
		goto out;
	}
	x->out = j->out;
	j->out = NULL;
	snprintf(x->ok_reply, sizeof(x->ok_reply), "Directory send OK.");
	free(j);
	ftp_xfer_start(s, x, "Here comes the directory listing.");
	return;
out:
	if (j->out)
		evbuffer_free(j->out);
	free(j);
	ftp_session_resume(s);
}

void
ftp_cmd_list(struct ftp_session *s, const struct ftp_request *req)
{
	struct ftp_request r = *req;
	struct list_job *j;

	/* "LIST -la" and "LIST -la dir": options are accepted and ignored. */
	while (r.arg.len > 0 && r.arg.p[0] == '-') {
		while (r.arg.len > 0 && r.arg.p[0] != ' ') {
			r.arg.p++;
			r.arg.len--;
		}
		while (r.arg.len > 0 && r.arg.p[0] == ' ') {
			r.arg.p++;
			r.arg.len--;
		}
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->out = evbuffer_new()) == NULL) {
		free(j);
		ftp_reply(s, 451, "Out of memory.");
		return;
	}
	j->s = s;
	j->store = s->srv->o.store;
	j->style = r.verb == FTP_NLST ? STYLE_NLST : r.verb == FTP_MLSD ?
	    STYLE_MLSD : r.verb == FTP_MLST ? STYLE_MLST : r.verb == FTP_STAT ?
	    STYLE_STAT : STYLE_LIST;
	if ((j->style == STYLE_LIST || j->style == STYLE_NLST ||
	    j->style == STYLE_MLSD) && !ftp_data_configured(s)) {
		ftp_reply(s, 425, "Use PORT or PASV first.");
		goto fail;
	}
	if (ftp_resolve(s, &r, j->path, sizeof(j->path)) < 0)
		goto fail;
	if (ftp_job(s, list_run, list_done, j) < 0)
		goto fail;
	return;
fail:
	evbuffer_free(j->out);
	free(j);
}
