/*
 * http_api: the routes (docs/API.md).
 *
 *   GET|HEAD|PUT|DELETE /v1/files/PATH   content, with ETag = SHA-256
 *   GET  /v1/list/PATH                   folder entries as JSON
 *   POST /v1/mkdir/PATH, POST /v1/move {from, to}
 *   GET|POST|DELETE /v1/locks/PATH       (need a tracker)
 *   GET|POST /v1/peers, POST /v1/bye, POST /v1/send/PATH, GET /v1/status
 *   GET /metrics                         Prometheus text
 *
 * Store work runs as jobs; a file is sent with sendfile(2) over plain
 * HTTP and in pread chunks over TLS; an upload streams through ingest.
 */
#include "front/http/http_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "base/log.h"
#include "base/work.h"
#include "front/ingest.h"
#include "store/hash.h"
#include "store/store.h"
#include "store/upload.h"

#define LIST_MAX	100000

static bool write_refused(struct http_conn *, const char *);

/* Decodes the part of the target after prefix into a normalised path. */
static int
target_path(struct http_conn *c, const char *prefix, bool allow_root)
{
	char raw[PATH_LEN_MAX + 1];
	const char *t = c->req.target + strlen(prefix);
	size_t n = strcspn(t, "?#");
	int rc;

	if (http_unescape(t, n, raw, sizeof(raw)) < 0) {
		http_error(c, 400, "bad escape in path");
		return (-1);
	}
	rc = path_resolve("", raw, strlen(raw), c->path, sizeof(c->path));
	/* SECURITY: a path that tries to leave the namespace is refused. */
	if (rc < 0 || strstr(raw, "..") != NULL) {
		http_error(c, 400, rc == -EACCES || rc == 0 ?
		    "path outside the namespace" : "bad path");
		return (-1);
	}
	if (!allow_root && c->path[0] == '\0') {
		http_error(c, 400, "a path is needed");
		return (-1);
	}
	return (0);
}

static int
errno_status(int rc)
{
	switch (-rc) {
	case ENOENT: case ENOTDIR: return (404);
	case EEXIST: case ENOTEMPTY: case EISDIR: return (409);
	case ENOSPC: case EDQUOT: case EFBIG: return (507);
	case EACCES: case EPERM: return (403);
	case EINVAL: case ENAMETOOLONG: return (400);
	default: return (500);
	}
}

static void
error_errno(struct http_conn *c, int rc)
{
	http_error(c, errno_status(rc), strerror(-rc));
}

/* Jobs over one path */

/*
 * The job functions read store, not c->srv: shutdown frees the server
 * while a job may still be running (the store outlives the pool).
 */
struct pjob {
	struct http_conn	*c;
	struct store		*store;
	int			 rc;
	struct file_meta	 m;
	struct stat		 st;
	int			 fd;
	struct upload		*up;
	json_t			*json;
	char			 to[PATH_LEN_MAX + 1];
	bool			 existed;
	unsigned		 n;		/* entries listed */
};

static struct pjob *
pjob_new(struct http_conn *c)
{
	struct pjob *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		http_error(c, 500, "out of memory");
		return (NULL);
	}
	j->c = c;
	j->store = c->srv->o.store;
	j->fd = -1;
	return (j);
}

static void
pjob_free(struct pjob *j)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->up)
		upload_abort(j->up);
	json_decref(j->json);
	free(j);
}

static void
submit(struct http_conn *c, struct pjob *j, void (*fn)(void *),
    void (*done)(void *))
{
	c->st = CONN_BUSY;
	if (http_job(c, fn, done, j) < 0) {
		pjob_free(j);
		http_error(c, 503, "busy");
	}
}

/* Ends a job; NULL if the connection is gone. */
static struct http_conn *
pjob_end(struct pjob *j)
{
	struct http_conn *c = j->c;

	if (!http_job_end(c)) {
		pjob_free(j);
		return (NULL);
	}
	return (c);
}

static void
etag_of(const struct file_meta *m, char out[HASH_HEX_LEN + 3])
{
	out[0] = '"';
	hash_hex(m->sha256, out + 1);
	out[HASH_HEX_LEN + 1] = '"';
	out[HASH_HEX_LEN + 2] = '\0';
}

/*
 * Does an If-None-Match / If-Match list name this ETag?  Quoted, weak
 * (W/"...") and bare forms all hold the 64 hex digits.
 */
static bool
etag_matches(const char *list, const char *etag)
{
	char hex[HASH_HEX_LEN + 1];

	if (strcmp(list, "*") == 0)
		return (true);
	memcpy(hex, etag + 1, HASH_HEX_LEN);
	hex[HASH_HEX_LEN] = '\0';
	return (strstr(list, hex) != NULL);
}

/* GET / HEAD /v1/files/PATH */

/* A file streamed from its holders: more of it is here. */
static void
remote_ready(void *arg)
{
	struct http_conn *c = arg;
	const struct remote_reads *ops = c->srv->o.ctl.remote;
	uint64_t size;
	int fd = ops->avail(c->remote, &c->avail, &size);

	if (c->fd < 0 && fd >= 0 &&
	    (c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		http_conn_close(c, "out of file descriptors");
		return;
	}
	if (c->st == CONN_SENDING && c->off < c->end)
		http_send_more(c);
}

static void
remote_failed(void *arg, const char *why)
{
	struct http_conn *c = arg;

	/* The head is out: the only way to say so is to cut it short. */
	log_info("http: %s: reading /%s from its holders failed: %s", c->peer,
	    c->path, why);
	c->close_after = true;
	http_conn_close(c, why);
}

static void
get_run(void *arg)
{
	struct pjob *j = arg;
	struct store *s = j->store;

	if ((j->rc = store_meta(s, j->c->path, &j->m)) < 0)
		return;
	if (j->m.remote) {
		j->rc = -EREMOTE;	/* held by other nodes */
		return;
	}
	j->fd = store_openat(s, j->c->path, O_RDONLY, 0);
	if (j->fd < 0)
		j->rc = j->fd;
	else if (fstat(j->fd, &j->st) < 0)
		j->rc = store_errno(errno);
}

static void get_done(void *);

/* The file arrived from the nodes that hold it (or did not in time). */
static void
get_fetched(void *arg, int rc)
{
	struct http_conn *c = arg;
	struct pjob *j;

	if (!http_job_end(c))
		return;
	if (rc < 0) {
		http_error(c, 404, "not on this node yet; try again");
		return;
	}
	if ((j = pjob_new(c)) != NULL)
		submit(c, j, get_run, get_done);
}

static void
get_done(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c;
	const struct http_ctl *ctl;
	char etag[HASH_HEX_LEN + 3], extra[512];
	uint64_t size, first = 0, last;
	int status = 200, r;

	if ((c = pjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	/* Not here yet, but coming from its holders: wait for it. */
	if (j->rc == -ENOENT && ctl->await && !c->awaited) {
		c->awaited = true;
		c->jobs++;
		if (ctl->await(ctl->arg, c->path, get_fetched, c) == 0) {
			pjob_free(j);
			return;
		}
		c->jobs--;
	}
	if (j->rc == -EREMOTE && ctl->remote) {
		char why[256] = "", msg[PATH_LEN_MAX + 300];
		int rc;

		rc = ctl->remote->open(ctl->remote->arg, c->path,
		    remote_ready, remote_failed, c, &c->remote, why,
		    sizeof(why));
		if (rc < 0) {
			c->remote = NULL;
			if (rc == -EHOSTUNREACH) {
				snprintf(msg, sizeof(msg), "/%s: %s", c->path,
				    why);
				http_error(c, 503, msg);
			} else
				error_errno(c, rc);
			pjob_free(j);
			return;
		}
		j->rc = 0;
		j->st.st_size = (off_t)j->m.size;
	}
	if (j->rc < 0) {
		if (j->rc == -EISDIR)
			http_error(c, 409, "a folder: use /v1/list/");
		else
			error_errno(c, j->rc == -EREMOTE ? -ENOENT : j->rc);
		pjob_free(j);
		return;
	}
	etag_of(&j->m, etag);
	size = (uint64_t)j->st.st_size;
	last = size ? size - 1 : 0;
	if (c->req.if_none_match[0] &&
	    etag_matches(c->req.if_none_match, etag)) {
		snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
		http_respond(c, 304, NULL, extra, NULL, 0);
		pjob_free(j);
		return;
	}
	if (c->req.range[0]) {
		r = http_parse_range(c->req.range, size, &first, &last);
		if (r == -416) {
			static const char msg[] =
			    "{\"error\": \"range outside the file\"}\n";

			snprintf(extra, sizeof(extra), "Content-Range: bytes "
			    "*/%llu\r\n", (unsigned long long)size);
			http_respond(c, 416, "application/json", extra, msg,
			    sizeof(msg) - 1);
			pjob_free(j);
			return;
		}
		if (r == 0)
			status = 206;
		else {
			first = 0;
			last = size ? size - 1 : 0;
		}
	}
	if (status == 206)
		snprintf(extra, sizeof(extra), "ETag: %s\r\nAccept-Ranges: "
		    "bytes\r\nContent-Range: bytes %llu-%llu/%llu\r\n", etag,
		    (unsigned long long)first, (unsigned long long)last,
		    (unsigned long long)size);
	else
		snprintf(extra, sizeof(extra), "ETag: %s\r\nAccept-Ranges: "
		    "bytes\r\n", etag);
	http_respond_head(c, status, "application/octet-stream", extra,
	    size ? last - first + 1 : 0);
	if (c->req.method == HTTP_HEAD || size == 0) {
		if (c->remote) {
			c->srv->o.ctl.remote->close(c->remote);
			c->remote = NULL;
		}
		http_response_done(c);
		pjob_free(j);
		return;
	}
	if (c->remote == NULL) {
		c->fd = j->fd;
		j->fd = -1;
	}
	c->off = first;
	c->end = last + 1;
	pjob_free(j);
	http_send_more(c);
}

/*
 * Over TLS: one pread job at a time, while the socket drains.  The job
 * reads copies made on the loop (c->avail and c->off change there while
 * it runs) and fills c->chunk, which nothing else touches until done.
 */
struct read_job {
	struct http_conn	*c;	/* for read_done only */
	struct evbuffer		*chunk;
	int			 fd;
	uint64_t		 off, want;
};

static void
read_run(void *arg)
{
	struct read_job *j = arg;
	struct evbuffer_iovec v;
	ssize_t n;

	if (evbuffer_reserve_space(j->chunk, (ev_ssize_t)j->want, &v, 1) < 1)
		return;
	n = pread(j->fd, v.iov_base, (size_t)j->want, (off_t)j->off);
	if (n <= 0)
		return;
	v.iov_len = (size_t)n;
	evbuffer_commit_space(j->chunk, &v, 1);
}

static void
read_done(void *arg)
{
	struct read_job *j = arg;
	struct http_conn *c = j->c;
	size_t n;

	free(j);
	c->reading = false;
	if (!http_job_end(c))
		return;
	n = evbuffer_get_length(c->chunk);
	if (n == 0) {
		/* The file shrank under us: the length we promised is void. */
		c->close_after = true;
		http_conn_close(c, "file changed while sent");
		return;
	}
	c->off += n;
	c->srv->bytes_out += n;
	bufferevent_write_buffer(c->bev, c->chunk);
}

void
http_send_more(struct http_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint64_t upto = c->end;
	struct read_job *j;
	int fd = c->fd;

	if (c->remote && c->avail < upto)
		upto = c->avail;	/* the rest is on its way */
	if (c->off >= upto || c->reading || c->fd < 0)
		return;
	if (c->srv->tls == NULL) {
		/* sendfile(2): the evbuffer owns the descriptor it gets; a
		 * streamed file keeps its own for the parts to come. */
		if (c->remote && (fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			http_conn_close(c, "out of file descriptors");
			return;
		}
		if (evbuffer_add_file(out, fd, (ev_off_t)c->off,
		    (ev_off_t)(upto - c->off)) < 0) {
			http_conn_close(c, "cannot send the file");
			return;
		}
		c->srv->bytes_out += upto - c->off;
		if (!c->remote)
			c->fd = -1;
		c->off = upto;
		return;
	}
	if (c->chunk == NULL && (c->chunk = evbuffer_new()) == NULL) {
		http_conn_close(c, "out of memory");
		return;
	}
	if (evbuffer_get_length(out) > HTTP_FILE_CHUNK)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		http_conn_close(c, "out of memory");
		return;
	}
	j->c = c;
	j->chunk = c->chunk;
	j->fd = c->fd;
	j->off = c->off;
	j->want = upto - c->off;
	if (j->want > HTTP_FILE_CHUNK)
		j->want = HTTP_FILE_CHUNK;
	c->reading = true;
	if (http_job(c, read_run, read_done, j) < 0) {
		free(j);
		c->reading = false;
		http_conn_close(c, "busy");
	}
}

/* PUT /v1/files/PATH */

static void
put_done_cb(void *arg, int rc, const uint8_t sha[32])
{
	struct http_conn *c = arg;
	char etag[HASH_HEX_LEN + 3], hex[HASH_HEX_LEN + 1], extra[256];
	struct file_meta m;

	c->ing = NULL;
	if (rc < 0) {
		log_warnx("http: %s upload of %s failed: %s", c->peer, c->path,
		    strerror(-rc));
		c->close_after = true;
		error_errno(c, rc);
		return;
	}
	memcpy(m.sha256, sha, HASH_LEN);
	etag_of(&m, etag);
	hash_hex(sha, hex);
	log_info("http: %s stored %s", c->peer, c->path);
	snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
	c->st = CONN_BUSY;
	{
		json_t *j = json_pack("{s:s, s:s}", "path", c->path, "sha256",
		    hex);
		char *s = json_dumps(j, JSON_COMPACT);

		http_respond(c, c->created ? 201 : 200, "application/json",
		    extra, s, s ? strlen(s) : 0);
		free(s);
		json_decref(j);
	}
}

static void
put_drained(void *arg)
{
	http_upload_more(arg);
}

void
http_upload_more(struct http_conn *c)
{
	struct evbuffer *in, *part;
	size_t n;

	if (c->closing || c->ing == NULL || ingest_busy(c->ing))
		return;
	if (c->body_left == 0) {
		ingest_finish(c->ing);
		return;
	}
	in = bufferevent_get_input(c->bev);
	n = evbuffer_get_length(in);
	if (n == 0)
		return;
	if (n > c->body_left)
		n = (size_t)c->body_left;
	/* Jobs for a few KiB each would cost more than the writing. */
	if (n < HTTP_FILE_CHUNK && n < c->body_left)
		return;
	if ((part = evbuffer_new()) == NULL)
		return;
	evbuffer_remove_buffer(in, part, n);
	c->body_left -= n;
	c->srv->bytes_in += n;
	if (ingest_push(c->ing, part) < 0) {
		evbuffer_free(part);
		http_conn_close(c, "upload failed");
		return;
	}
	evbuffer_free(part);
}

static void
put_run(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c = j->c;
	struct store *s = j->store;
	char etag[HASH_HEX_LEN + 3];
	const char *name;
	int rc, dfd;

	rc = store_meta(s, c->path, &j->m);
	j->existed = rc == 0;
	if (rc == -EISDIR) {
		j->rc = rc;
		return;
	}
	if (c->req.if_match[0]) {
		/* Conditional: only over the version the client saw. */
		if (!j->existed) {
			j->rc = -ESTALE;
			return;
		}
		etag_of(&j->m, etag);
		if (!etag_matches(c->req.if_match, etag)) {
			j->rc = -ESTALE;
			return;
		}
	}
	if ((dfd = store_open_parent(s, c->path, &name)) < 0) {
		j->rc = dfd;
		return;
	}
	close(dfd);
	j->rc = upload_begin(s, c->path, UPLOAD_NEW, 0, &j->up);
}

static void
put_ready(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c;
	struct ingest_cbs cbs = { put_drained, put_done_cb };

	if ((c = pjob_end(j)) == NULL)
		return;
	if (j->rc < 0) {
		if (j->rc == -ESTALE)
			http_error(c, 412, "the file is not at the version "
			    "If-Match names");
		else
			error_errno(c, j->rc);
		pjob_free(j);
		return;
	}
	c->created = !j->existed;
	if ((c->ing = ingest_new(c->srv->o.pool, j->up, &cbs, c)) == NULL) {
		pjob_free(j);
		http_error(c, 500, "out of memory");
		return;
	}
	j->up = NULL;
	pjob_free(j);
	if (c->req.expect_continue)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	c->st = CONN_UPLOAD;
	http_upload_more(c);
}

/* DELETE, mkdir, move */

static void
simple_run_delete(void *arg)
{
	struct pjob *j = arg;
	struct store *s = j->store;
	struct stat st;

	if ((j->rc = store_stat(s, j->c->path, &st)) < 0)
		return;
	j->rc = S_ISDIR(st.st_mode) ? store_rmdir(s, j->c->path) :
	    store_unlink(s, j->c->path);
}

static void
simple_run_mkdir(void *arg)
{
	struct pjob *j = arg;

	j->rc = store_mkdir(j->store, j->c->path);
}

static void
simple_run_move(void *arg)
{
	struct pjob *j = arg;
	struct store *s = j->store;
	struct stat st;

	if ((j->rc = store_stat(s, j->c->path, &st)) == 0)
		j->rc = store_rename(s, j->c->path, j->to);
}

static void
simple_done(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c;

	if ((c = pjob_end(j)) == NULL)
		return;
	if (j->rc < 0)
		error_errno(c, j->rc);
	else if (c->req.method == HTTP_DELETE)
		http_respond(c, 204, NULL, NULL, NULL, 0);
	else
		http_respond_json(c, j->to[0] ? 200 : 201, json_pack("{s:s}",
		    j->to[0] ? "moved" : "created", j->to[0] ? j->to :
		    c->path));
	pjob_free(j);
}

/* GET /v1/list/PATH */

/* A file held by other nodes is listed like one held here. */
static int
list_remote(const char *name, uint64_t size, int64_t mtime_ns, void *arg)
{
	struct pjob *j = arg;
	struct store *s = j->store;
	char child[PATH_LEN_MAX + 1], hex[HASH_HEX_LEN + 1];
	struct file_meta m;
	json_t *e;

	if (j->n >= LIST_MAX)
		return (-1);
	e = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "type", "file",
	    "size", (json_int_t)size, "mtime", (json_int_t)(mtime_ns /
	    1000000000));
	if (str_fmt(child, sizeof(child), "%s%s%s", j->c->path,
	    j->c->path[0] ? "/" : "", name) == 0 &&
	    index_get(s->index, child, &m) == 0) {
		hash_hex(m.sha256, hex);
		json_object_set_new(e, "hash", json_string(hex));
		json_object_set_new(e, "version",
		    json_integer((json_int_t)m.seq));
	}
	json_array_append_new(j->json, e);
	j->n++;
	return (0);
}

static void
list_run(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c = j->c;
	struct store *s = j->store;
	char child[PATH_LEN_MAX + 1], hex[HASH_HEX_LEN + 1];
	struct dirent *de;
	struct file_meta m;
	struct stat st;
	unsigned n = 0;
	DIR *d;
	int fd;

	if ((fd = store_openat(s, c->path, O_DIRECTORY | O_RDONLY, 0)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		j->rc = fd < 0 ? fd : store_errno(errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	j->json = json_array();
	while ((de = readdir(d)) != NULL && n < LIST_MAX) {
		json_t *e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (c->path[0] == '\0' && !strcmp(de->d_name, PATH_PRIVATE)))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
			continue;
		if (str_fmt(child, sizeof(child), "%s%s%s", c->path,
		    c->path[0] ? "/" : "", de->d_name) < 0)
			continue;
		e = json_pack("{s:s, s:s, s:I, s:I}", "name", de->d_name,
		    "type", S_ISDIR(st.st_mode) ? "dir" : "file", "size",
		    (json_int_t)(S_ISDIR(st.st_mode) ? 0 : st.st_size),
		    "mtime", (json_int_t)st.st_mtim.tv_sec);
		if (S_ISREG(st.st_mode) && store_meta(s, child, &m) == 0) {
			hash_hex(m.sha256, hex);
			json_object_set_new(e, "hash", json_string(hex));
			json_object_set_new(e, "version",
			    json_integer((json_int_t)m.seq));
		}
		json_array_append_new(j->json, e);
		n++;
	}
	closedir(d);
	j->n = n;
	(void)store_remote_children(s, c->path, list_remote, j);
}

static void
list_done(void *arg)
{
	struct pjob *j = arg;
	struct http_conn *c;
	const struct http_ctl *ctl;
	json_t *holders;
	size_t i;
	json_t *e;

	if ((c = pjob_end(j)) == NULL)
		return;
	if (j->rc < 0) {
		error_errno(c, j->rc);
		pjob_free(j);
		return;
	}
	ctl = &c->srv->o.ctl;
	json_array_foreach(j->json, i, e) {
		char child[PATH_LEN_MAX + 1];

		if (ctl->holders == NULL || !json_object_get(e, "hash") ||
		    str_fmt(child, sizeof(child), "%s%s%s", c->path,
		    c->path[0] ? "/" : "", json_string_value(json_object_get(e,
		    "name"))) < 0)
			continue;
		holders = ctl->holders(ctl->arg, child);
		json_object_set_new(e, "holders", holders);
	}
	http_respond_json(c, 200, json_pack("{s:s, s:O}", "path", c->path,
	    "entries", j->json));
	pjob_free(j);
}

/* Control */

static void
send_check_run(void *arg)
{
	struct pjob *j = arg;

	j->rc = store_meta(j->store, j->c->path, &j->m);
}

static void
send_check_done(void *arg)
{
	struct pjob *j = arg;
	const struct http_ctl *ctl;
	struct http_conn *c;
	int n;

	if ((c = pjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	n = j->rc < 0 ? j->rc : ctl->send ? ctl->send(ctl->arg, c->path) :
	    -ENOTSUP;
	if (n < 0)
		error_errno(c, n);
	else
		http_respond_json(c, 200, json_pack("{s:s, s:i}", "offered",
		    c->path, "members", n));
	pjob_free(j);
}

static void
status_done(void *req, json_t *j)
{
	http_respond_json(req, 200, j);
}

static void
metrics(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	struct buf b;

	buf_init(&b, 1 << 20);
	if (buf_printf(&b,
	    "# HELP shoal_http_requests_total HTTP requests served.\n"
	    "# TYPE shoal_http_requests_total counter\n"
	    "shoal_http_requests_total %llu\n"
	    "# HELP shoal_http_errors_total HTTP answers with status >= 400.\n"
	    "# TYPE shoal_http_errors_total counter\n"
	    "shoal_http_errors_total %llu\n"
	    "# HELP shoal_bytes_in_total Bytes received, by front end.\n"
	    "# TYPE shoal_bytes_in_total counter\n"
	    "shoal_bytes_in_total{front=\"http\"} %llu\n"
	    "# HELP shoal_bytes_out_total Bytes sent, by front end.\n"
	    "# TYPE shoal_bytes_out_total counter\n"
	    "shoal_bytes_out_total{front=\"http\"} %llu\n"
	    "# HELP shoal_http_connections Open HTTP connections.\n"
	    "# TYPE shoal_http_connections gauge\n"
	    "shoal_http_connections %u\n",
	    (unsigned long long)srv->requests,
	    (unsigned long long)srv->errors,
	    (unsigned long long)srv->bytes_in,
	    (unsigned long long)srv->bytes_out, srv->nconns) < 0) {
		buf_release(&b);
		http_error(c, 500, "out of memory");
		return;
	}
	if (srv->o.ctl.metrics)
		srv->o.ctl.metrics(srv->o.ctl.arg, &b);
	http_respond(c, 200, "text/plain; version=0.0.4", NULL, b.data, b.len);
	buf_release(&b);
}

/* Reads a JSON body first; true once it is there. */
static bool
need_body(struct http_conn *c)
{
	if (c->req.chunked) {
		http_error(c, 411, "send a Content-Length");
		return (false);
	}
	if (c->body_left > HTTP_BODY_MAX) {
		c->close_after = true;
		http_error(c, 413, "body too large");
		return (false);
	}
	if (c->body_left > 0) {
		http_read_body(c);
		return (false);
	}
	return (true);
}

static json_t *
body_json(struct http_conn *c)
{
	json_error_t e;

	return (c->body.len ? json_loadb(c->body.data, c->body.len, 0, &e) :
	    NULL);
}

static bool
starts(const char *t, const char *p)
{
	return (strncmp(t, p, strlen(p)) == 0);
}

static void
route_files(struct http_conn *c)
{
	struct pjob *j;

	if (target_path(c, "/v1/files/", false) < 0)
		return;
	switch (c->req.method) {
	case HTTP_GET:
	case HTTP_HEAD:
		if ((j = pjob_new(c)) != NULL)
			submit(c, j, get_run, get_done);
		break;
	case HTTP_PUT:
		if (c->req.chunked || c->req.content_length < 0) {
			http_error(c, 411, "PUT needs a Content-Length");
			return;
		}
		if (write_refused(c, c->path))
			return;
		if ((j = pjob_new(c)) != NULL)
			submit(c, j, put_run, put_ready);
		break;
	case HTTP_DELETE:
		if (!write_refused(c, c->path) && (j = pjob_new(c)) != NULL)
			submit(c, j, simple_run_delete, simple_done);
		break;
	default:
		http_error(c, 405, "use GET, HEAD, PUT or DELETE");
	}
}

static void
route_move(struct http_conn *c)
{
	const char *from, *to;
	struct pjob *j;
	json_t *b;
	int rc;

	if (c->req.method != HTTP_POST) {
		http_error(c, 405, "use POST");
		return;
	}
	if (!need_body(c))
		return;
	b = body_json(c);
	from = json_string_value(json_object_get(b, "from"));
	to = json_string_value(json_object_get(b, "to"));
	if (from == NULL || to == NULL || (j = pjob_new(c)) == NULL) {
		if (from == NULL || to == NULL)
			http_error(c, 400, "expected {\"from\": PATH, \"to\": "
			    "PATH}");
		json_decref(b);
		return;
	}
	rc = path_resolve("", from, strlen(from), c->path, sizeof(c->path));
	if (rc == 0 && c->path[0] && !strstr(from, "..") && !strstr(to, ".."))
		rc = path_resolve("", to, strlen(to), j->to, sizeof(j->to));
	else
		rc = -EINVAL;
	json_decref(b);
	if (rc < 0 || j->to[0] == '\0') {
		pjob_free(j);
		http_error(c, 400, "path outside the namespace");
		return;
	}
	if (write_refused(c, c->path) || write_refused(c, j->to)) {
		pjob_free(j);
		return;
	}
	submit(c, j, simple_run_move, simple_done);
}

/* Write locks and the tracker (docs/TRACKER.md) */

#define NO_TRACKER	"locking needs a tracker: start the node with " \
			"--tracker HOST:PORT"

/*
 * A write under a lock held by someone else is refused (423), and so is
 * one carrying a stale fencing token (409).  Requests authenticated with
 * the node's API token write as the node itself.
 */
static bool
write_refused(struct http_conn *c, const char *path)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char why[512];
	int rc;

	if (ctl->write_check == NULL)
		return (false);
	rc = ctl->write_check(ctl->arg, path, strcmp(c->user, "(token)") ==
	    0 ? NULL : c->user, c->req.lock_token, why, sizeof(why));
	if (rc == 0)
		return (false);
	if (c->body_left > 0) {
		/* The body is not read: the connection cannot go on. */
		c->req.keep_alive = false;
		c->close_after = true;
	}
	http_error(c, rc == -EBUSY ? 423 : 409, why);
	return (true);
}

static const char *
lock_owner(const struct http_conn *c)
{
	return (strcmp(c->user, "(token)") == 0 ? "(node)" : c->user);
}

static void
lock_done(void *req, int status, const char *msg, const struct twire_lock *l)
{
	struct http_conn *c = req;
	json_t *j;

	if (!http_job_end(c))
		return;
	if (status == 0) {
		if (l != NULL && l->held)
			http_respond_json(c, 200, twire_lock_json(l));
		else
			http_respond_json(c, 200, json_pack("{s:s, s:b}",
			    "path", c->path, "released", 1));
		return;
	}
	switch (status) {
	case EBUSY:
	case EPERM:
		j = json_pack("{s:s}", "error", msg);
		if (l != NULL && l->held)
			json_object_set_new(j, "lock", twire_lock_json(l));
		http_respond_json(c, status == EBUSY ? 423 : 409, j);
		break;
	case ENOENT:
		http_error(c, 404, msg && msg[0] ? msg : "not locked");
		break;
	case EINVAL:
		http_error(c, 400, msg);
		break;
	case ETIMEDOUT:
		http_error(c, 504, msg);
		break;
	case ENOTCONN:
		http_error(c, 503, msg);
		break;
	default:
		http_error(c, 500, msg && msg[0] ? msg : strerror(status));
	}
}

static void
route_locks(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	enum twire_lock_op op;
	json_t *b, *ttl, *all, *k;
	uint32_t ttl_s = 0;
	size_t i;
	int rc;

	if (c->req.method == HTTP_GET) {
		/* The table, or one path's lock, as this node knows them. */
		all = ctl->locks ? ctl->locks(ctl->arg) : NULL;
		if (strcmp(c->req.target, "/v1/locks") == 0)
			http_respond_json(c, 200, all ? json_incref(all) :
			    json_pack("{s:[]}", "locks"));
		else if (all == NULL)
			http_error(c, 503, NO_TRACKER);
		else if (target_path(c, "/v1/locks/", false) == 0) {
			json_array_foreach(json_object_get(all, "locks"), i, k)
				if (strcmp(json_string_value(json_object_get(k,
				    "path")), c->path) == 0)
					break;
			if (i < json_array_size(json_object_get(all, "locks")))
				http_respond_json(c, 200, json_incref(k));
			else
				http_error(c, 404, "not locked");
		}
		json_decref(all);
		return;
	}
	if (strcmp(c->req.target, "/v1/locks") == 0) {
		http_error(c, 405, "use GET");
		return;
	}
	if (c->req.method != HTTP_POST && c->req.method != HTTP_DELETE) {
		http_error(c, 405, "use GET, POST or DELETE");
		return;
	}
	if (target_path(c, "/v1/locks/", false) < 0 || !need_body(c))
		return;
	op = c->req.method == HTTP_POST ? TWIRE_LOCK : TWIRE_UNLOCK;
	if (op == TWIRE_LOCK && c->body.len > 0) {
		b = body_json(c);
		ttl = json_object_get(b, "ttl");
		if (b == NULL || (ttl != NULL && (!json_is_integer(ttl) ||
		    json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > 86400))) {
			json_decref(b);
			http_error(c, 400, "expected {\"ttl\": SECONDS} "
			    "(1 to 86400)");
			return;
		}
		ttl_s = ttl ? (uint32_t)json_integer_value(ttl) : 0;
		json_decref(b);
	}
	rc = ctl->lock == NULL ? -ENOSYS : ctl->lock(ctl->arg, op, c->path,
	    lock_owner(c), ttl_s, lock_done, c);
	if (rc == 0)
		c->jobs++;	/* lock_done ends it */
	else
		http_error(c, 503, rc == -ENOSYS ? NO_TRACKER :
		    "the tracker is unreachable");
}

static void
passthrough_done(void *req, int status, const char *json, size_t len)
{
	struct http_conn *c = req;

	if (!http_job_end(c))
		return;
	http_respond(c, status, "application/json", NULL, json, len);
}

/* GET /v1/all[/PREFIX]?after=PATH&limit=N: the tracker's listing. */
static void
route_all(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	const char *q = strchr(c->req.target, '?');
	char after[PATH_LEN_MAX + 1] = "", raw[PATH_LEN_MAX + 1];
	unsigned long limit = 0;
	int rc;

	if (c->req.method != HTTP_GET) {
		http_error(c, 405, "use GET");
		return;
	}
	if (target_path(c, starts(c->req.target, "/v1/all/") ? "/v1/all/" :
	    "/v1/all", true) < 0)
		return;
	for (; q != NULL && *q; q = strchr(q + 1, '&')) {
		const char *v = q + 1;
		size_t n = strcspn(v, "&#");

		if (strncmp(v, "after=", 6) == 0) {
			if (http_unescape(v + 6, n - 6, raw, sizeof(raw)) < 0 ||
			    (raw[0] != '\0' && (path_resolve("", raw,
			    strlen(raw), after, sizeof(after)) < 0 ||
			    strstr(raw, "..") != NULL))) {
				http_error(c, 400, "bad 'after' path");
				return;
			}
		} else if (strncmp(v, "limit=", 6) == 0)
			limit = strtoul(v + 6, NULL, 10);
	}
	rc = ctl->tracker_query == NULL ? -ENOSYS : ctl->tracker_query(ctl->arg,
	    TWIRE_Q_FILES, c->path, after, (uint32_t)(limit > 5000 ? 5000 :
	    limit), passthrough_done, c);
	if (rc == 0)
		c->jobs++;
	else if (rc == -ENOSYS && ctl->catalog)	/* no tracker: our view */
		http_respond_json(c, 200, ctl->catalog(ctl->arg, c->path,
		    after, (unsigned)(limit > 5000 ? 5000 : limit)));
	else
		http_error(c, 503, "the tracker is unreachable");
}

/* GET /v1/pins, POST and DELETE /v1/pins/PATH */
static void
pin_done(void *req, int rc)
{
	struct http_conn *c = req;

	if (!http_job_end(c))
		return;
	if (rc < 0) {
		error_errno(c, rc);
		return;
	}
	http_respond_json(c, 200, json_pack("{s:s, s:b}", "path", c->path,
	    "pinned", c->req.method == HTTP_POST));
}

static void
route_pins(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	int rc;

	if (ctl->pin == NULL) {
		http_error(c, 501, "pins are not available");
		return;
	}
	if (strcmp(c->req.target, "/v1/pins") == 0) {
		if (c->req.method != HTTP_GET)
			http_error(c, 405, "use GET");
		else
			http_respond_json(c, 200, ctl->pins(ctl->arg));
		return;
	}
	if (c->req.method != HTTP_POST && c->req.method != HTTP_DELETE) {
		http_error(c, 405, "use POST or DELETE");
		return;
	}
	if (target_path(c, "/v1/pins/", false) < 0 || !need_body(c))
		return;
	if ((rc = ctl->pin(ctl->arg, c->path, c->req.method == HTTP_POST,
	    pin_done, c)) < 0)
		error_errno(c, rc);
	else
		c->jobs++;
}

/*
 * GET /v1/peers: the members, best first; with a tracker, each gets the
 * tracker's file count and heartbeat age, and nodes the tracker knows
 * that are not members yet are listed too.
 */
static void
peers_done(void *req, int status, const char *json, size_t len)
{
	struct http_conn *c = req;
	const struct http_ctl *ctl = &c->srv->o.ctl;
	json_t *members = ctl->peers(ctl->arg), *t, *nodes, *tn, *m = NULL;
	char self[2 * NODE_ID_LEN + 1];
	json_error_t e;
	size_t i, k;

	if (!http_job_end(c)) {
		json_decref(members);
		return;
	}
	t = status == 200 ? json_loadb(json, len, 0, &e) : NULL;
	nodes = json_object_get(t, "nodes");
	str_hex(c->srv->o.store->node_id, NODE_ID_LEN, self);
	json_array_foreach(nodes, i, tn) {
		const char *id = json_string_value(json_object_get(tn, "id"));

		json_array_foreach(members, k, m)
			if (id && json_string_value(json_object_get(m, "id")) &&
			    strcmp(json_string_value(json_object_get(m, "id")),
			    id) == 0)
				break;
		if (k == json_array_size(members)) {
			m = json_pack("{s:n, s:O, s:O, s:s}", "rank", "id",
			    json_object_get(tn, "id"), "address",
			    json_object_get(tn, "peer_addr"), "state",
			    id && strcmp(id, self) == 0 ? "self" : "tracker");
			json_array_append_new(members, m);
		}
		json_object_set(m, "files", json_object_get(tn, "files"));
		json_object_set(m, "last_heartbeat_s", json_object_get(tn,
		    "last_heartbeat_s"));
	}
	json_decref(t);
	http_respond_json(c, 200, members);
}

static void
peers(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;

	if (ctl->tracker_query != NULL && ctl->tracker_query(ctl->arg,
	    TWIRE_Q_NODES, "", "", 0, peers_done, c) == 0) {
		c->jobs++;
		return;
	}
	http_respond_json(c, 200, ctl->peers(ctl->arg));
}

/*
 * SECURITY: the calls that stop the node or change its membership need the
 * API token or an admin account; any other account gets 403.
 */
static const struct {
	enum http_method	 method;
	const char		*target;
} admin_only[] = {
	{ HTTP_POST, "/v1/peers" },
	{ HTTP_POST, "/v1/bye" },
};

static bool
admin_refused(struct http_conn *c)
{
	size_t i;

	if (c->admin)
		return (false);
	for (i = 0; i < sizeof(admin_only) / sizeof(admin_only[0]); i++)
		if (c->req.method == admin_only[i].method &&
		    strcmp(c->req.target, admin_only[i].target) == 0) {
			log_info("http: %s: %s may not use %s", c->peer,
			    c->user, admin_only[i].target);
			http_error(c, 403, "needs the node's API token or an "
			    "admin account");
			return (true);
		}
	return (false);
}

static void
route_control(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	const char *t = c->req.target;
	char err[256] = "";
	json_t *b;
	const char *a;

	if (admin_refused(c))
		return;
	if (strcmp(t, "/v1/status") == 0) {
		if (c->req.method != HTTP_GET)
			http_error(c, 405, "use GET");
		else
			ctl->status(ctl->arg, status_done, c);
	} else if (strcmp(t, "/v1/peers") == 0) {
		if (c->req.method == HTTP_GET)
			peers(c);
		else if (c->req.method == HTTP_POST) {
			if (!need_body(c))
				return;
			b = body_json(c);
			a = json_string_value(json_object_get(b, "address"));
			if (a == NULL)
				http_error(c, 400, "expected {\"address\": "
				    "\"HOST:PORT\"}");
			else if (ctl->add(ctl->arg, a, err, sizeof(err)) < 0)
				http_error(c, 400, err);
			else
				http_respond_json(c, 200, json_pack("{s:s}",
				    "added", a));
			json_decref(b);
		} else
			http_error(c, 405, "use GET or POST");
	} else if (strcmp(t, "/v1/bye") == 0) {
		if (c->req.method != HTTP_POST)
			http_error(c, 405, "use POST");
		else {
			http_respond_json(c, 200, json_pack("{s:b}", "leaving",
			    1));
			ctl->bye(ctl->arg);
		}
	} else if (starts(t, "/v1/send/")) {
		struct pjob *j;

		if (c->req.method != HTTP_POST)
			http_error(c, 405, "use POST");
		else if (target_path(c, "/v1/send/", false) == 0 &&
		    (j = pjob_new(c)) != NULL)
			submit(c, j, send_check_run, send_check_done);
	} else if (strcmp(t, "/metrics") == 0) {
		if (c->req.method != HTTP_GET)
			http_error(c, 405, "use GET");
		else
			metrics(c);
	} else
		http_error(c, 404, "no such endpoint");
}

void
http_route(struct http_conn *c)
{
	const char *t = c->req.target;
	struct pjob *j;

	if (c->req.method == HTTP_OTHER) {
		http_error(c, 405, "method not allowed");
		return;
	}
	if (starts(t, "/v1/files/"))
		route_files(c);
	else if (starts(t, "/v1/list/") || strcmp(t, "/v1/list") == 0) {
		if (c->req.method != HTTP_GET) {
			http_error(c, 405, "use GET");
			return;
		}
		if (target_path(c, strcmp(t, "/v1/list") == 0 ? "/v1/list" :
		    "/v1/list/", true) == 0 && (j = pjob_new(c)) != NULL)
			submit(c, j, list_run, list_done);
	} else if (starts(t, "/v1/mkdir/")) {
		if (c->req.method != HTTP_POST) {
			http_error(c, 405, "use POST");
			return;
		}
		if (target_path(c, "/v1/mkdir/", false) == 0 &&
		    !write_refused(c, c->path) && (j = pjob_new(c)) != NULL)
			submit(c, j, simple_run_mkdir, simple_done);
	} else if (strcmp(t, "/v1/move") == 0)
		route_move(c);
	else if (starts(t, "/v1/locks/") || strcmp(t, "/v1/locks") == 0)
		route_locks(c);
	else if (starts(t, "/v1/pins/") || strcmp(t, "/v1/pins") == 0)
		route_pins(c);
	else if (starts(t, "/v1/all/") || starts(t, "/v1/all?") ||
	    strcmp(t, "/v1/all") == 0)
		route_all(c);
	else
		route_control(c);
}
