/*
 * ftp_files: commands that read or change the store.  Each becomes one job
 * (struct file_job) whose run half calls front/fsview.h on a pool thread
 * and whose done half answers on the loop, or starts the transfer it
 * prepared.
 */
#include "front/ftp/ftp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/cfg.h"
#include "base/log.h"
#include "front/fsview.h"
#include "front/ingest.h"
#include "front/prefetch.h"
#include "store/hash.h"

struct file_job {
	struct ftp_session *s;
	struct store *store;
	enum ftp_verb verb;
	char path[PATH_LEN_MAX + 1];
	char path2[PATH_LEN_MAX + 1];
	uint64_t rest;
	/* the account's partial of path: a STOR (or an APPE of a new file)
	 * keeps what it received if interrupted; "" = partials are off */
	char key[UPLOAD_KEY_LEN + 1];
	uint64_t have; /* STOR: the partial's size, for a REST that is not */
	bool from_partial; /* SIZE: answered with the partial's size */
	bool set_time;	   /* MFMT, SITE UTIME, MDTM TIME PATH */
	uint64_t min_free; /* uploads: refused below this many free bytes */
	uint64_t avail;	   /* uploads: free bytes, when refused */
	bool no_space;	   /* refused before anything was read */
	unsigned prefetch_tries; /* copies of a file held elsewhere asked */
	int64_t mtime_ns;
	int rc;
	struct fs_entry e;
	struct file_meta meta;
	struct fs_file f;
	struct upload *up;
};

/*
 * A disk that cannot take one write batch is full for uploads: a floor of
 * FTP_XFER_BATCH, or store.min_free_mb if that is lower (0: no check).
 * store.min_free_mb itself is about placement (a node below it gets no new
 * copies) and is often more than a small disk ever has free.
 */
static uint64_t
upload_floor(const struct cfg *c)
{
	uint64_t min_free = (uint64_t)c->store_min_free_mb << 20;

	return (min_free < FTP_XFER_BATCH ? min_free : FTP_XFER_BATCH);
}

static void
file_run(void *arg)
{
	struct file_job *j = arg;
	struct store *st = j->store;
	enum upload_mode mode;

	if (j->set_time) {
		j->rc = fs_set_mtime(st, j->path, j->mtime_ns);
		return;
	}
	switch (j->verb) {
	case FTP_CWD:
	case FTP_XCWD:
	case FTP_CDUP:
	case FTP_XCUP:
		/* A folder, or a link to one inside: it is followed. */
		j->rc = fs_stat_target(st, j->path, &j->e);
		if (j->rc == 0 && j->e.type != FS_DIR)
			j->rc = -ENOTDIR;
		break;
	case FTP_MKD:
	case FTP_XMKD:
		j->rc = fs_mkdir(st, j->path);
		break;
	case FTP_RMD:
	case FTP_XRMD:
		j->rc = fs_rmdir(st, j->path);
		break;
	case FTP_DELE:
		j->rc = fs_unlink(st, j->path);
		break;
	case FTP_SIZE:
		/*
		 * What a resuming client (lftp put -c, curl -C -) asks first:
		 * while the name holds no file, the size of the account's
		 * partial of it.
		 */
		if (j->key[0] &&
		    fs_partial_size(st, j->path, j->key, &j->e.size) == 0) {
			j->rc = 0;
			j->from_partial = true;
			break;
		}
		/* FALLTHROUGH */
	case FTP_RNFR:
	case FTP_MDTM:
		j->rc = fs_stat_target(st, j->path, &j->e);
		if (j->rc == 0 && j->verb != FTP_RNFR && j->e.type != FS_FILE)
			j->rc = -ENOENT;
		break;
	case FTP_RNTO:
		j->rc = fs_rename(st, j->path2, j->path);
		break;
	case FTP_HASH:
		j->rc = fs_meta(st, j->path, &j->meta);
		break;
	case FTP_RETR:
		j->rc = fs_open(st, j->path, 0, &j->f);
		if (j->rc == 0 && j->rest > j->f.size)
			j->rc = -EINVAL;
		break;
	case FTP_STOU:
		if ((j->rc = fs_unique_name(st, j->path, sizeof(j->path))) < 0)
			break;
		/* FALLTHROUGH */
	case FTP_STOR:
	case FTP_APPE:
		/* A full disk refuses before the client sends a byte. */
		if ((j->rc = fs_space_check(st, j->min_free, &j->avail)) < 0) {
			j->no_space = true;
			break;
		}
		if (j->verb != FTP_STOU && j->key[0]) {
			mode = j->verb == FTP_APPE ? UPLOAD_APPEND : UPLOAD_NEW;
			j->rc =
			    fs_write_resumable(st, j->path, mode, j->rest,
					       j->key, &j->have, NULL, &j->up);
			break;
		}
		mode = j->verb == FTP_APPE   ? UPLOAD_APPEND
		       : j->verb == FTP_STOU ? UPLOAD_UNIQUE
		       : j->rest	     ? UPLOAD_RESUME
					     : UPLOAD_NEW;
		j->rc =
		    fs_write_begin(st, j->path, mode, j->rest, NULL, &j->up);
		break;
	default:
		j->rc = -EINVAL;
	}
}

static void
start_retr(struct ftp_session *s, struct file_job *j)
{
	struct ftp_xfer *x = ftp_xfer_new(XFER_SEND_FILE);
	char msg[PATH_LEN_MAX + 96];

	if (x == NULL) {
		ftp_reply(s, 451, "Out of memory.");
		ftp_session_resume(s);
		return;
	}
	fs_reader_local(&x->rd, j->f.fd, j->rest, j->f.size);
	j->f.fd = -1;
	snprintf(msg, sizeof(msg),
		 "Opening BINARY mode data connection for "
		 "/%s (%llu bytes).",
		 j->path, (unsigned long long)j->f.size);
	snprintf(x->ok_reply, sizeof(x->ok_reply), "Transfer complete.");
	ftp_xfer_start(s, x, msg);
}

/* RETR of a file held by other nodes: streamed from them. */
static void
start_remote_retr(struct ftp_session *s, struct file_job *j)
{
	struct ftp_xfer *x = ftp_xfer_new(XFER_SEND_FILE);
	char msg[PATH_LEN_MAX + 96], why[256] = "";
	uint64_t size;
	int rc;

	if (x == NULL) {
		ftp_reply(s, 451, "Out of memory.");
		ftp_session_resume(s);
		return;
	}
	rc = fs_reader_remote(&x->rd, s->srv->o.remote, j->path,
			      ftp_xfer_remote_ready, ftp_xfer_remote_failed, x,
			      &size, why, sizeof(why));
	if (rc < 0) {
		ftp_xfer_free(x);
		if (rc == -EHOSTUNREACH)
			ftp_reply(s, 450, "/%s: %s.", j->path, why);
		else
			ftp_reply_errno(s, rc, "RETR");
		ftp_session_resume(s);
		return;
	}
	if (j->rest > size) {
		ftp_xfer_free(x);
		ftp_reply_errno(s, -EINVAL, "RETR");
		ftp_session_resume(s);
		return;
	}
	fs_reader_range(&x->rd, j->rest, size);
	snprintf(msg, sizeof(msg),
		 "Opening BINARY mode data connection for "
		 "/%s (%llu bytes).",
		 j->path, (unsigned long long)size);
	snprintf(x->ok_reply, sizeof(x->ok_reply), "Transfer complete.");
	ftp_xfer_start(s, x, msg);
}

static void
start_store(struct ftp_session *s, struct file_job *j)
{
	struct ftp_xfer *x = ftp_xfer_new(XFER_RECV);
	char msg[PATH_LEN_MAX + 64];

	if (x == NULL) {
		upload_abort(j->up);
		j->up = NULL;
		ftp_reply(s, 451, "Out of memory.");
		ftp_session_resume(s);
		return;
	}
	{
		struct ingest_cbs cbs = {ftp_ingest_drained, ftp_ingest_done};

		x->path = strdup(upload_path(j->up));
		x->ing = ingest_new(s->srv->o.pool, j->up, &cbs, s);
		if (x->ing == NULL || x->path == NULL) {
			if (x->ing == NULL)
				upload_abort(j->up);
			j->up = NULL;
			ftp_xfer_free(x);
			ftp_reply(s, 451, "Out of memory.");
			ftp_session_resume(s);
			return;
		}
		j->up = NULL;
	}
	if (j->verb == FTP_STOU) {
		snprintf(msg, sizeof(msg), "FILE: %s", path_base(j->path));
		snprintf(x->ok_reply, sizeof(x->ok_reply),
			 "Transfer complete (unique file name: %s).",
			 path_base(j->path));
	} else {
		snprintf(msg, sizeof(msg), "Ok to send data.");
		snprintf(x->ok_reply, sizeof(x->ok_reply),
			 "Transfer complete.");
	}
	ftp_xfer_start(s, x, msg);
}

/*
 * APPE, or REST + STOR, of a file only other nodes hold needs its bytes
 * here first, or the upload would start from nothing and replace the file
 * with the appended part alone (front/prefetch.c); once the copy is here
 * the command runs again.  The session waits meanwhile, as it does for any
 * command.
 */
#define PREFETCH_TRIES 3

static void file_done(void *);

void
ftp_prefetch_free(struct ftp_session *s)
{
	prefetch_cancel(s->prefetch);
	free(s->prefetch_job);
	s->prefetch = NULL;
	s->prefetch_job = NULL;
}

static void
prefetch_done(void *arg, int rc, const char *why)
{
	struct file_job *j = arg;
	struct ftp_session *s = j->s;

	s->prefetch = NULL;
	s->prefetch_job = NULL;
	if (rc < 0) {
		ftp_reply(s, 450,
			  "/%s is held by other nodes and no copy could be "
			  "fetched here: %s.",
			  j->path, why);
		free(j);
		ftp_session_resume(s);
		return;
	}
	j->rc = 0;
	j->up = NULL;
	if (ftp_job(s, file_run, file_done, j) < 0) {
		free(j);
		ftp_session_resume(s);
	}
}

static void
fetch_copy_first(struct ftp_session *s, struct file_job *j)
{
	char why[256] = "";

	if (j->prefetch_tries >= PREFETCH_TRIES) {
		ftp_reply(s, 450,
			  "/%s is held by other nodes; its copy here is not "
			  "ready yet, try again.",
			  j->path);
		free(j);
		ftp_session_resume(s);
		return;
	}
	j->prefetch_tries++;
	s->prefetch = prefetch_start(s->srv->o.remote, s->srv->o.base, j->path,
				     prefetch_done, j, why, sizeof(why));
	if (s->prefetch == NULL) {
		ftp_reply(s, 450,
			  "/%s is held by other nodes and no copy could be "
			  "fetched here: %s.",
			  j->path, why);
		free(j);
		ftp_session_resume(s);
		return;
	}
	s->prefetch_job = j;
}

static void
file_done(void *arg)
{
	struct file_job *j = arg;
	struct ftp_session *s = j->s;
	struct tm tm;
	char hex[HASH_HEX_LEN + 1];
	time_t t;

	if (!ftp_job_release(s)) {
		if (j->f.fd >= 0)
			close(j->f.fd);
		if (j->up)
			upload_abort(j->up);
		free(j);
		return;
	}
	if (j->rc == -EREMOTE) {
		/* The job goes with it; it comes back once a copy is here. */
		fetch_copy_first(s, j);
		return;
	}
	if (j->rc == 0 && j->verb == FTP_RETR && j->f.remote) {
		if (s->srv->o.remote) {
			start_remote_retr(s, j);
			free(j);
			return;
		}
		j->rc = -ENOENT;
	}
	if (j->no_space) {
		log_warnx("ftp: %s %s /%s refused: %llu KiB free", s->peer_str,
			  ftp_verb_name(j->verb), j->path,
			  (unsigned long long)(j->avail >> 10));
		/* The client's data connection, if open, carries nothing. */
		ftp_data_close(s);
		ftp_reply(s, 452,
			  "Insufficient storage space: %llu KiB free on this "
			  "node; nothing stored.",
			  (unsigned long long)(j->avail >> 10));
		goto out;
	}
	if (j->rc == -ERANGE && j->verb == FTP_APPE) {
		ftp_reply(s, 554,
			  "The interrupted upload of /%s now holds %llu bytes, "
			  "not the %llu SIZE told: ask SIZE again.",
			  j->path, (unsigned long long)j->have,
			  (unsigned long long)j->rest);
		goto out;
	}
	if (j->rc == -ERANGE && j->verb == FTP_STOR && j->have == 0) {
		ftp_reply(s, 554,
			  "REST %llu: nothing is kept of an upload of /%s to "
			  "resume; STOR without REST to start it.",
			  (unsigned long long)j->rest, j->path);
		goto out;
	}
	if (j->rc == -ERANGE && j->verb == FTP_STOR) {
		ftp_reply(s, 554,
			  "REST %llu does not match the %llu bytes kept of an "
			  "interrupted upload of /%s: use REST %llu to resume "
			  "it, or STOR without REST to start over.",
			  (unsigned long long)j->rest,
			  (unsigned long long)j->have, j->path,
			  (unsigned long long)j->have);
		goto out;
	}
	if (j->rc < 0) {
		ftp_reply_errno(s, j->rc, ftp_verb_name(j->verb));
		goto out;
	}
	if (j->set_time) {
		char when[16];

		ftp_format_time(j->mtime_ns, when);
		if (j->verb == FTP_SITE)
			ftp_reply(s, 200, "Modification time of /%s set to %s.",
				  j->path, when);
		else
			ftp_reply(s, 213, "Modify=%s; /%s", when, j->path);
		goto out;
	}
	switch (j->verb) {
	case FTP_CWD:
	case FTP_XCWD:
	case FTP_CDUP:
	case FTP_XCUP:
		memcpy(s->cwd, j->path, sizeof(s->cwd));
		ftp_reply(s, 250, "Directory successfully changed.");
		break;
	case FTP_MKD:
	case FTP_XMKD: {
		char q[FTP_QUOTED_MAX + 1];

		ftp_reply(s, 257, "\"%s\" created.",
			  ftp_quote_path(j->path, q));
		break;
	}
	case FTP_RMD:
	case FTP_XRMD:
		ftp_reply(s, 250, "Remove directory operation successful.");
		break;
	case FTP_DELE:
		ftp_reply(s, 250, "Delete operation successful.");
		break;
	case FTP_RNFR:
		free(s->rnfr);
		s->rnfr = strdup(j->path);
		ftp_reply(s, s->rnfr ? 350 : 451,
			  s->rnfr ? "Ready for RNTO." : "Out of memory.");
		break;
	case FTP_RNTO:
		ftp_reply(s, 250, "Rename successful.");
		break;
	case FTP_SIZE:
		free(s->size_told);
		s->size_told = j->from_partial ? strdup(j->path) : NULL;
		s->size_told_n = j->e.size;
		ftp_reply(s, 213, "%llu", (unsigned long long)j->e.size);
		break;
	case FTP_MDTM:
		t = j->e.mtime;
		gmtime_r(&t, &tm);
		ftp_reply(s, 213, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
			  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			  tm.tm_sec);
		break;
	case FTP_HASH:
		hash_hex(j->meta.sha256, hex);
		ftp_reply(s, 213, "SHA-256 0-%llu %s /%s",
			  (unsigned long long)j->meta.size, hex, j->path);
		break;
	case FTP_RETR:
		/* ftp_xfer_start resumes the session. */
		start_retr(s, j);
		free(j);
		return;
	case FTP_STOR:
	case FTP_APPE:
	case FTP_STOU:
		start_store(s, j);
		free(j);
		return;
	default:
		break;
	}
out:
	if (j->f.fd >= 0)
		close(j->f.fd);
	free(j);
	ftp_session_resume(s);
}

static bool
is_write(enum ftp_verb v)
{
	switch (v) {
	case FTP_STOR:
	case FTP_APPE:
	case FTP_STOU:
	case FTP_DELE:
	case FTP_RNFR:
	case FTP_RNTO:
	case FTP_MKD:
	case FTP_XMKD:
	case FTP_RMD:
	case FTP_XRMD:
		return (true);
	default:
		return (false);
	}
}

/* A write lock held by someone else (or a stale fencing token) answers
 * 450 and the command does nothing. */
static bool
locked(struct ftp_session *s, const char *path)
{
	const struct ftp_server_opts *o = &s->srv->o;
	char why[512];

	if (o->write_check == NULL ||
	    o->write_check(o->write_arg, path, s->user, s->lock_token, why,
			   sizeof(why)) == 0)
		return (false);
	ftp_reply(s, 450, "%s", why);
	return (true);
}

void
ftp_cmd_files(struct ftp_session *s, const struct ftp_request *req)
{
	struct ftp_request r = *req;
	struct file_job *j;
	char rnd[8];
	int64_t mtime_ns = 0;
	bool xfer, set_time = false;

	xfer = r.verb == FTP_RETR || r.verb == FTP_STOR || r.verb == FTP_APPE ||
	       r.verb == FTP_STOU;
	switch (r.verb) {
	case FTP_CWD:
	case FTP_XCWD:
	case FTP_MKD:
	case FTP_XMKD:
	case FTP_RMD:
	case FTP_XRMD:
	case FTP_DELE:
	case FTP_RNFR:
	case FTP_RNTO:
	case FTP_SIZE:
	case FTP_MDTM:
	case FTP_MFMT:
	case FTP_SITE:
	case FTP_HASH:
	case FTP_RETR:
	case FTP_STOR:
	case FTP_APPE:
	case FTP_STOU:
	case FTP_CDUP:
	case FTP_XCUP:
		break;
	default:
		ftp_reply(s, 502, "Command not supported here.");
		return;
	}
	if (r.verb == FTP_CDUP || r.verb == FTP_XCUP) {
		r.arg.p = "..";
		r.arg.len = 2;
	} else if (r.verb == FTP_STOU && r.arg.len == 0) {
		unsigned char b[4];

		RAND_bytes(b, sizeof(b));
		snprintf(rnd, sizeof(rnd), "%02x%02x%02x", b[0], b[1], b[2]);
		r.arg.p = rnd;
		r.arg.len = strlen(rnd);
	} else if (r.arg.len == 0) {
		ftp_reply(s, 501, "%s needs an argument.", r.name);
		return;
	}
	if (r.verb == FTP_MFMT || r.verb == FTP_SITE ||
	    (r.verb == FTP_MDTM && ftp_time_then_path(r.arg))) {
		if (ftp_parse_set_time(r.verb, r.arg, &r.arg, &mtime_ns) < 0) {
			ftp_reply(s, 501,
				  r.verb == FTP_SITE
				      ? "Use SITE UTIME YYYYMMDDHHMMSS path or "
					"SITE UTIME path atime mtime ctime UTC "
					"(UTC, a real date)."
				      : "Use %s YYYYMMDDHHMMSS[.sss] path "
					"(UTC, a real date).",
				  r.name);
			return;
		}
		set_time = true;
	}
	if (r.verb == FTP_RNTO && s->rnfr == NULL) {
		ftp_reply(s, 503, "RNFR required first.");
		return;
	}
	if (xfer && !ftp_data_configured(s)) {
		ftp_reply(s, 425, "Use PORT or PASV first.");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		ftp_reply(s, 451, "Out of memory.");
		return;
	}
	j->s = s;
	j->store = s->srv->o.store;
	j->verb = r.verb;
	j->set_time = set_time;
	j->mtime_ns = mtime_ns;
	j->f.fd = -1;
	j->rest = s->rest;
	if (r.verb == FTP_STOR || r.verb == FTP_APPE || r.verb == FTP_STOU)
		j->min_free = upload_floor(s->srv->o.cfg);
	if (ftp_resolve(s, &r, j->path, sizeof(j->path)) < 0) {
		free(j);
		return;
	}
	if ((r.verb == FTP_STOR || r.verb == FTP_APPE || r.verb == FTP_SIZE) &&
	    s->srv->o.cfg->ftp_partial_keep_hours > 0)
		upload_partial_key(s->user, j->path, j->key);
	if (r.verb == FTP_APPE && j->key[0]) {
		/* Of a new file: where SIZE said it stands, or afresh. */
		j->rest = s->size_told && strcmp(s->size_told, j->path) == 0
			      ? s->size_told_n
			      : 0;
	}
	if ((r.verb == FTP_STOR || r.verb == FTP_APPE) && s->size_told) {
		free(s->size_told);
		s->size_told = NULL;
	}
	if (j->path[0] == '\0' && r.verb != FTP_CWD && r.verb != FTP_XCWD &&
	    r.verb != FTP_CDUP && r.verb != FTP_XCUP) {
		ftp_reply(s, 550, "Not allowed on the root folder.");
		free(j);
		return;
	}
	if (r.verb == FTP_RNTO) {
		memcpy(j->path2, s->rnfr, strlen(s->rnfr) + 1);
		free(s->rnfr);
		s->rnfr = NULL;
	}
	if ((is_write(r.verb) || set_time) &&
	    (locked(s, j->path) ||
	     (r.verb == FTP_RNTO && locked(s, j->path2)))) {
		free(j);
		return;
	}
	if (ftp_job(s, file_run, file_done, j) < 0)
		free(j);
}
