/*
 * ftp_list: directory listings.  LIST (ls -l style), NLST (names), MLSD
 * (RFC 3659 facts) go over a data connection; MLST and STAT with a path
 * answer on the control connection.  The listing is built by a job into an
 * evbuffer from the entries front/fsview.h lets through: that one filter
 * decides what is shown (never .shoal, names with control bytes or not
 * UTF-8, special files, symlinks leading outside), for FTP as for every
 * other front end.  A symlink is shown as a link, never followed, with
 * its target only when that stays inside.
 *
 * A name holding a control byte is not listed at all: CR or LF in it
 * would end a line of the listing, and on the control connection (STAT,
 * MLST) a reply, so a file made in the folder by other means could forge
 * replies.  Such names are refused as arguments anyway (path_resolve).
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "base/log.h"
#include "front/fsview.h"

enum list_style { STYLE_LIST, STYLE_NLST, STYLE_MLSD, STYLE_MLST, STYLE_STAT };

struct list_job {
	struct ftp_session *s;
	struct store *store;
	enum list_style style;
	char path[PATH_LEN_MAX + 1];
	struct evbuffer *out;
	int rc;
	time_t now;
	struct fs_entry e;
};

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void
mode_string(const struct fs_entry *e, char *out)
{
	unsigned m = e->mode;

	out[0] = e->type == FS_DIR ? 'd' : e->type == FS_LINK ? 'l' : '-';
	out[1] = (m & 0400) ? 'r' : '-';
	out[2] = (m & 0200) ? 'w' : '-';
	out[3] = (m & 0100) ? 'x' : '-';
	out[4] = (m & 0040) ? 'r' : '-';
	out[5] = (m & 0020) ? 'w' : '-';
	out[6] = (m & 0010) ? 'x' : '-';
	out[7] = (m & 0004) ? 'r' : '-';
	out[8] = (m & 0002) ? 'w' : '-';
	out[9] = (m & 0001) ? 'x' : '-';
	out[10] = '\0';
}

/* Appends one entry in the job's style, under name. */
static void
emit(struct list_job *j, const char *name, const struct fs_entry *e)
{
	char line[PATH_NAME_MAX + 2 * PATH_LEN_MAX + 160], perms[11];
	const char *arrow = e->target[0] ? " -> " : "";
	struct tm tm;
	time_t t = e->mtime;
	int n = 0;

	gmtime_r(&t, &tm);
	switch (j->style) {
	case STYLE_NLST:
		n = snprintf(line, sizeof(line), "%s\r\n", name);
		break;
	case STYLE_LIST:
	case STYLE_STAT:
		mode_string(e, perms);
		/* Like ls: the year instead of the time past six months. */
		if (t > j->now - 180 * 86400 && t < j->now + 86400)
			n = snprintf(
			    line, sizeof(line),
			    "%s %3lu ftp      ftp      %12llu %s %2d %02d:%02d "
			    "%s%s%s\r\n",
			    perms, e->nlink, (unsigned long long)e->size,
			    months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
			    tm.tm_min, name, arrow, e->target);
		else
			n = snprintf(
			    line, sizeof(line),
			    "%s %3lu ftp      ftp      %12llu %s %2d  %4d "
			    "%s%s%s\r\n",
			    perms, e->nlink, (unsigned long long)e->size,
			    months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900,
			    name, arrow, e->target);
		break;
	case STYLE_MLSD:
	case STYLE_MLST:
		n = snprintf(
		    line, sizeof(line),
		    "%stype=%s;size=%llu;modify=%04d%02d%02d%02d%02d%02d;"
		    "perm=%s; %s\r\n",
		    j->style == STYLE_MLST ? " " : "",
		    e->type == FS_DIR	 ? "dir"
		    : e->type == FS_FILE ? "file"
					 : "OS.unix=symlink",
		    (unsigned long long)e->size, tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    e->type == FS_DIR ? "flcdmpe" : "adfrw", name);
		break;
	}
	if (n > 0 && (size_t)n < sizeof(line))
		evbuffer_add(j->out, line, (size_t)n);
}

static int
emit_entry(const struct fs_entry *e, void *arg)
{
	struct list_job *j = arg;

	emit(j, e->name, e);
	return (0);
}

static void
list_run(void *arg)
{
	struct list_job *j = arg;

	j->now = time(NULL);
	/* The path itself, a final symlink not followed. */
	if ((j->rc = fs_stat(j->store, j->path, 0, &j->e)) < 0)
		return;
	if (j->e.type != FS_DIR || j->style == STYLE_MLST) {
		emit(j,
		     j->style == STYLE_MLST ? (j->path[0] ? j->path : "/")
					    : path_base(j->path),
		     &j->e);
		return;
	}
	j->rc = fs_list(j->store, j->path, 0, FS_LIST_MAX, emit_entry, j);
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

		n = snprintf(head, sizeof(head), "%d-Status of /%s:\r\n", code,
			     j->path);
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
	j->style = r.verb == FTP_NLST	? STYLE_NLST
		   : r.verb == FTP_MLSD ? STYLE_MLSD
		   : r.verb == FTP_MLST ? STYLE_MLST
		   : r.verb == FTP_STAT ? STYLE_STAT
					: STYLE_LIST;
	if ((j->style == STYLE_LIST || j->style == STYLE_NLST ||
	     j->style == STYLE_MLSD) &&
	    !ftp_data_configured(s)) {
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
