/*
 * http_files: the files API (docs/API.md).
 *
 *   GET|HEAD|PUT|DELETE /v1/files/PATH   content, with ETag = SHA-256
 *   GET  /v1/list/PATH                   folder entries as JSON
 *   POST /v1/mkdir/PATH, POST /v1/move {from, to}
 *
 * Everything it does to the folder goes through front/fsview.h, on the
 * worker pool: the listing and its filter, opening a file (here or held
 * by other nodes), the upload's start.  A file is sent by an fs_reader:
 * sendfile(2) over plain HTTP, pread jobs over TLS; an upload streams
 * through ingest.
 */
#include "front/http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "base/log.h"
#include "base/work.h"
#include "front/ingest.h"
#include "store/hash.h"

/* The ETag: the first n hex digits of the SHA-256 (0: all 64), quoted. */
static void
etag_of(const struct file_meta *m, unsigned n, char out[HASH_HEX_LEN + 3])
{
	if (n == 0 || n > HASH_HEX_LEN)
		n = HASH_HEX_LEN;
	out[0] = '"';
	hash_hex(m->sha256, out + 1);
	out[n + 1] = '"';
	out[n + 2] = '\0';
}

/*
 * Does an If-None-Match / If-Match list name this ETag?  Quoted, weak
 * (W/"...") and bare forms all hold the 64 hex digits.
 */
static bool
etag_matches(const char *list, const char *etag)
{
	char hex[HASH_HEX_LEN + 1];
	size_t n = strlen(etag) - 2;

	if (strcmp(list, "*") == 0)
		return (true);
	memcpy(hex, etag + 1, n);
	hex[n] = '\0';
	return (strstr(list, hex) != NULL);
}

/* GET / HEAD /v1/files/PATH */

/* A file streamed from its holders: more of it is here. */
static void
remote_ready(void *arg)
{
	struct http_conn *c = arg;

	if (c->st == CONN_SENDING && !fs_reader_done(&c->rd))
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
	struct http_pjob *j = arg;

	j->rc = fs_open(j->store, j->path, FS_OPEN_META, &j->f);
}

static void get_done(void *);

/* The file arrived from the nodes that hold it (or did not in time). */
static void
get_fetched(void *arg, int rc)
{
	struct http_conn *c = arg;
	struct http_pjob *j;

	if (!http_job_end(c))
		return;
	if (rc < 0) {
		http_error(c, 404, "not on this node yet; try again");
		return;
	}
	if ((j = http_pjob_new(c)) != NULL)
		http_pjob_submit(c, j, get_run, get_done);
}

/* A file held elsewhere: its reader streams it from the holders. */
static int
open_remote(struct http_conn *c)
{
	const struct http_ctl *ctl = &c->srv->o.ctl;
	char why[256] = "", msg[PATH_LEN_MAX + 300];
	uint64_t size;
	int rc;

	if (ctl->remote == NULL) {
		http_error_errno(c, -ENOENT);
		return (-1);
	}
	rc = fs_reader_remote(&c->rd, ctl->remote, c->path, remote_ready,
			      remote_failed, c, &size, why, sizeof(why));
	if (rc == -EHOSTUNREACH) {
		snprintf(msg, sizeof(msg), "/%s: %s", c->path, why);
		http_error(c, 503, msg);
		return (-1);
	}
	if (rc < 0) {
		http_error_errno(c, rc);
		return (-1);
	}
	return (0);
}

static void
get_done(void *arg)
{
	struct http_pjob *j = arg;
	struct http_conn *c;
	const struct http_ctl *ctl;
	char etag[HASH_HEX_LEN + 3], extra[512];
	uint64_t size, first = 0, last;
	int status = 200, r;

	if ((c = http_pjob_end(j)) == NULL)
		return;
	ctl = &c->srv->o.ctl;
	/* Not here yet, but coming from its holders: wait for it. */
	if (j->rc == -ENOENT && ctl->await && !c->awaited) {
		c->awaited = true;
		c->jobs++;
		if (ctl->await(ctl->arg, c->path, get_fetched, c) == 0) {
			http_pjob_free(j);
			return;
		}
		c->jobs--;
	}
	if (j->rc < 0) {
		if (j->rc == -EISDIR)
			http_error(c, 409, "a folder: use /v1/list/");
		else
			http_error_errno(c, j->rc);
		http_pjob_free(j);
		return;
	}
	if (j->f.remote && open_remote(c) < 0) {
		http_pjob_free(j);
		return;
	}
	etag_of(&j->f.meta, c->etag_hex, etag);
	size = j->f.size;
	last = size ? size - 1 : 0;
	if (c->req.if_none_match[0] &&
	    etag_matches(c->req.if_none_match, etag)) {
		snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
		http_respond(c, 304, NULL, extra, NULL, 0);
		http_pjob_free(j);
		return;
	}
	if (c->req.range[0]) {
		r = http_parse_range(c->req.range, size, &first, &last);
		if (r == -416) {
			static const char msg[] =
			    "{\"error\": \"range outside the file\"}\n";

			snprintf(extra, sizeof(extra),
				 "Content-Range: bytes "
				 "*/%llu\r\n",
				 (unsigned long long)size);
			http_respond(c, 416, "application/json", extra, msg,
				     sizeof(msg) - 1);
			http_pjob_free(j);
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
		snprintf(extra, sizeof(extra),
			 "ETag: %s\r\nAccept-Ranges: "
			 "bytes\r\nContent-Range: bytes %llu-%llu/%llu\r\n",
			 etag, (unsigned long long)first,
			 (unsigned long long)last, (unsigned long long)size);
	else
		snprintf(extra, sizeof(extra),
			 "ETag: %s\r\nAccept-Ranges: "
			 "bytes\r\n",
			 etag);
	http_respond_head(c, status, "application/octet-stream", extra,
			  size ? last - first + 1 : 0);
	if (c->req.method == HTTP_HEAD || size == 0) {
		fs_reader_release(&c->rd);
		http_response_done(c);
		http_pjob_free(j);
		return;
	}
	if (j->f.remote)
		fs_reader_range(&c->rd, first, last + 1);
	else {
		fs_reader_local(&c->rd, j->f.fd, first, last + 1);
		j->f.fd = -1;
	}
	http_pjob_free(j);
	http_send_more(c);
}

/* Over TLS: one pread job at a time, while the socket drains.  The job
 * carries copies of what it reads and the buffer it fills. */
struct read_job {
	struct http_conn *c; /* not touched by read_run */
	struct fs_read rd;
};

static void
read_run(void *arg)
{
	struct read_job *j = arg;

	fs_read_run(&j->rd);
}

static void
read_done(void *arg)
{
	struct read_job *j = arg;
	struct http_conn *c = j->c;
	struct fs_read rd = j->rd;
	size_t n;

	free(j);
	c->reading = false;
	if (!http_job_end(c)) {
		fs_read_discard(&rd);
		return;
	}
	if (rd.rc < 0 ||
	    (n = fs_read_finish(&rd, &c->rd, bufferevent_get_output(c->bev))) ==
		0) {
		fs_read_discard(&rd);
		/* The file shrank under us: the length we promised is void. */
		c->close_after = true;
		http_conn_close(c, "file changed while sent");
		return;
	}
	c->srv->bytes_out += n;
}

void
http_send_more(struct http_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct read_job *j;
	uint64_t sent;

	if (c->reading || fs_reader_ready_bytes(&c->rd) == 0)
		return;
	if (c->srv->tls == NULL) {
		if (fs_reader_send(&c->rd, out, &sent) < 0) {
			http_conn_close(c, "cannot send the file");
			return;
		}
		c->srv->bytes_out += sent;
		return;
	}
	if (evbuffer_get_length(out) > HTTP_FILE_CHUNK)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    fs_read_prepare(&j->rd, &c->rd, HTTP_FILE_CHUNK) < 0) {
		if (j)
			fs_read_discard(&j->rd);
		free(j);
		http_conn_close(c, "out of memory");
		return;
	}
	j->c = c;
	c->reading = true;
	if (http_job_more(c, read_run, read_done, j) < 0) {
		c->reading = false;
		fs_read_discard(&j->rd);
		free(j);
		http_conn_close(c, "busy");
	}
}

/* PUT /v1/files/PATH */

static void put_answer(struct http_conn *, const uint8_t sha[32]);

/* A stored upload waiting for its write quorum (sync.writes). */
struct put_quorum {
	struct http_conn	*c;
	uint8_t			 sha[HASH_LEN];
};

static void
put_quorum_done(void *arg, int rc, unsigned got)
{
	struct put_quorum *q = arg;
	struct http_conn *c = q->c;
	char hex[HASH_HEX_LEN + 1], msg[200];
	unsigned want = c->srv->o.ctl.sync_writes;

	if (!http_job_end(c)) {
		free(q);
		return;
	}
	if (rc == 0)
		put_answer(c, q->sha);
	else {
		/* What FTP answers with 451, as an HTTP error. */
		hash_hex(q->sha, hex);
		snprintf(msg, sizeof(msg), "stored here, but only %u of %u "
		    "other node(s) confirmed a copy in time; it keeps "
		    "replicating", got, want);
		http_respond_json(c, 504, json_pack("{s:s, s:s, s:s, s:i, s:i}",
		    "error", msg, "path", c->path, "sha256", hex,
		    "copies_confirmed", (int)got, "copies_wanted", (int)want));
	}
	free(q);
}

/* If-None-Match: * and a file there: 412. */
static bool
refused_existing(struct http_conn *c, int rc)
{
	if (rc != -EEXIST || strcmp(c->req.if_none_match, "*") != 0)
		return (false);
	http_error(c, 412, "the file exists (If-None-Match: *)");
	return (true);
}

/* "Range: bytes=0-N" for a partial of size bytes, or "" for none. */
static void
stored_range(uint64_t size, char *out, size_t len)
{
	if (size == 0)
		out[0] = '\0';
	else
		snprintf(out, len, "Range: bytes=0-%llu\r\n",
			 (unsigned long long)(size - 1));
}

/* A part that does not start where the partial ends: 409, and where. */
static void
part_mismatch(struct http_conn *c, uint64_t offset, uint64_t have)
{
	char extra[96], msg[160];
	json_t *j;
	char *s;

	stored_range(have, extra, sizeof(extra));
	snprintf(msg, sizeof(msg),
		 "this part starts at byte %llu but %llu bytes are stored: "
		 "send from %llu",
		 (unsigned long long)offset, (unsigned long long)have,
		 (unsigned long long)have);
	c->close_after = true;
	j = json_pack("{s:s, s:I}", "error", msg, "stored", (json_int_t)have);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	http_respond(c, 409, "application/json", extra, s, s ? strlen(s) : 0);
	free(s);
	json_decref(j);
}

/* A part is stored, the file is not complete yet: 308 and how much. */
static void
part_kept(struct http_conn *c)
{
	char extra[96];
	json_t *j;
	char *s;

	log_info("http: %s stored bytes up to %llu of %s", c->peer,
		 (unsigned long long)c->part_end, c->path);
	stored_range(c->part_end, extra, sizeof(extra));
	c->st = CONN_BUSY;
	j = json_pack("{s:s, s:I}", "path", c->path, "stored",
		      (json_int_t)c->part_end);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	http_respond(c, 308, "application/json", extra, s, s ? strlen(s) : 0);
	free(s);
	json_decref(j);
}

static void
put_done_cb(void *arg, int rc, const uint8_t sha[32])
{
	const struct http_ctl *ctl;
	struct http_conn *c = arg;
	struct put_quorum *q;

	c->ing = NULL;
	if (rc == INGEST_KEPT) {
		part_kept(c);
		return;
	}
	if (rc < 0) {
		log_warnx("http: %s upload of %s failed: %s", c->peer, c->path,
			  strerror(-rc));
		c->close_after = true;
		if (!refused_existing(c, rc))
			http_error_errno(c, rc);
		return;
	}
	log_info("http: %s stored %s", c->peer, c->path);
	/* With a write quorum, 201 waits until enough nodes hold it. */
	ctl = &c->srv->o.ctl;
	if (ctl->wait_copies != NULL && (q = calloc(1, sizeof(*q))) != NULL) {
		q->c = c;
		memcpy(q->sha, sha, HASH_LEN);
		c->st = CONN_BUSY;
		c->jobs++;
		if (ctl->wait_copies(ctl->arg, c->path, sha, put_quorum_done,
		    q) == 0)
			return;
		c->jobs--;
		free(q);
	}
	put_answer(c, sha);
}

static void
put_answer(struct http_conn *c, const uint8_t sha[32])
{
	char etag[HASH_HEX_LEN + 3], hex[HASH_HEX_LEN + 1], extra[256];
	struct file_meta m;
	json_t *j;
	char *s;

	if (c->stored) {
		c->st = CONN_BUSY;
		c->stored(c, sha);
		return;
	}
	memcpy(m.sha256, sha, HASH_LEN);
	etag_of(&m, c->etag_hex, etag);
	hash_hex(sha, hex);
	snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
	c->st = CONN_BUSY;
	j = json_pack("{s:s, s:s}", "path", c->path, "sha256", hex);
	s = json_dumps(j, JSON_COMPACT);
	http_respond(c, c->created ? 201 : 200, "application/json", extra, s,
		     s ? strlen(s) : 0);
	free(s);
	json_decref(j);
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
		if (c->keep_part)
			ingest_finish_keep(c->ing);
		else
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
	struct http_pjob *j = arg;
	struct store *s = j->store;
	char etag[HASH_HEX_LEN + 3];
	int rc;

	rc = fs_meta(s, j->path, &j->m);
	j->existed = rc == 0;
	if (rc == -EISDIR) {
		j->rc = rc;
		return;
	}
	if (j->create_only && j->existed) {
		j->rc = -EEXIST;
		return;
	}
	if (j->if_match[0]) {
		/* Conditional: only over the version the client saw. */
		if (!j->existed) {
			j->rc = -ESTALE;
			return;
		}
		etag_of(&j->m, j->etag_hex, etag);
		if (!etag_matches(j->if_match, etag)) {
			j->rc = -ESTALE;
			return;
		}
	}
	/* Missing folders above it are made, unless the client said not to
	 * (the upload then finds no folder: 404). */
	if (!j->no_parents && (j->rc = fs_make_parents(s, j->path)) < 0)
		return;
	if (j->ranged) {
		j->rc = fs_write_partial(s, j->path, j->offset, j->key,
					 &j->have, &j->up);
		return;
	}
	/* If-None-Match: * commits only if no file appeared meanwhile. */
	j->rc = fs_write_begin(s, j->path,
			       j->create_only ? UPLOAD_UNIQUE : UPLOAD_NEW, 0,
			       NULL, &j->up);
	if (j->rc == 0 && j->if_match[0])
		fs_write_expect(j->up, j->m.sha256);
}

static void
put_ready(void *arg)
{
	struct http_pjob *j = arg;
	struct http_conn *c;
	struct ingest_cbs cbs = {put_drained, put_done_cb};

	if ((c = http_pjob_end(j)) == NULL)
		return;
	if (j->rc < 0) {
		if (refused_existing(c, j->rc))
			;
		else if (j->rc == -ERANGE)
			part_mismatch(c, j->offset, j->have);
		else if (j->rc == -ESTALE)
			http_error(c, 412,
				   "the file is not at the version "
				   "If-Match names");
		else
			http_error_errno(c, j->rc);
		http_pjob_free(j);
		return;
	}
	c->created = !j->existed;
	c->keep_part = false;
	if (j->ranged) {
		c->part_end = j->offset + (uint64_t)c->req.content_length;
		c->keep_part = c->part_end < c->req_total;
	}
	if ((c->ing = ingest_new(c->srv->o.pool, j->up, &cbs, c)) == NULL) {
		http_pjob_free(j);
		http_error(c, 500, "out of memory");
		return;
	}
	j->up = NULL;
	http_pjob_free(j);
	if (c->req.expect_continue)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	c->st = CONN_UPLOAD;
	http_upload_more(c);
}

/* DELETE, mkdir, move */

static void
run_delete(void *arg)
{
	struct http_pjob *j = arg;

	j->rc = fs_remove(j->store, j->path);
}

static void
run_mkdir(void *arg)
{
	struct http_pjob *j = arg;

	j->rc = fs_mkdir(j->store, j->path);
}

static void
run_move(void *arg)
{
	struct http_pjob *j = arg;

	j->rc = fs_rename(j->store, j->path, j->to);
}

static void
change_done(void *arg)
{
	struct http_pjob *j = arg;
	struct http_conn *c;

	if ((c = http_pjob_end(j)) == NULL)
		return;
	if (j->rc < 0)
		http_error_errno(c, j->rc);
	else if (c->req.method == HTTP_DELETE)
		http_respond(c, 204, NULL, NULL, NULL, 0);
	else
		http_respond_json(c, j->to[0] ? 200 : 201,
				  json_pack("{s:s}",
					    j->to[0] ? "moved" : "created",
					    j->to[0] ? j->to : c->path));
	http_pjob_free(j);
}

/* GET /v1/list/PATH */

static const char *const type_names[] = {
    [FS_FILE] = "file",
    [FS_DIR] = "dir",
    [FS_LINK] = "link",
};

static int
list_entry(const struct fs_entry *e, void *arg)
{
	struct http_pjob *j = arg;
	char hex[HASH_HEX_LEN + 1];
	json_t *o;

	o = json_pack("{s:s, s:s, s:I, s:I}", "name", e->name, "type",
		      type_names[e->type], "size",
		      (json_int_t)(e->type == FS_DIR ? 0 : e->size), "mtime",
		      (json_int_t)e->mtime);
	if (o == NULL)
		return (-1);
	if (e->type == FS_LINK && e->target[0])
		json_object_set_new(o, "target", json_string(e->target));
	if (e->has_meta) {
		hash_hex(e->meta.sha256, hex);
		json_object_set_new(o, "hash", json_string(hex));
		json_object_set_new(o, "version",
				    json_integer((json_int_t)e->meta.seq));
	}
	json_array_append_new(j->json, o);
	j->n++;
	return (0);
}

static void
list_run(void *arg)
{
	struct http_pjob *j = arg;

	if ((j->json = json_array()) == NULL) {
		j->rc = -ENOMEM;
		return;
	}
	j->rc = fs_list(j->store, j->path, FS_LIST_META, 100000,
			list_entry, j);
}

static void
list_done(void *arg)
{
	struct http_pjob *j = arg;
	struct http_conn *c;
	const struct http_ctl *ctl;
	json_t *holders;
	size_t i;
	json_t *e;

	if ((c = http_pjob_end(j)) == NULL)
		return;
	if (j->rc < 0) {
		http_error_errno(c, j->rc);
		http_pjob_free(j);
		return;
	}
	ctl = &c->srv->o.ctl;
	json_array_foreach(j->json, i, e)
	{
		char child[PATH_LEN_MAX + 1];

		if (ctl->holders == NULL || !json_object_get(e, "hash") ||
		    str_fmt(child, sizeof(child), "%s%s%s", c->path,
			    c->path[0] ? "/" : "",
			    json_string_value(json_object_get(e, "name"))) < 0)
			continue;
		holders = ctl->holders(ctl->arg, child);
		json_object_set_new(e, "holders", holders);
	}
	http_respond_json(
	    c, 200,
	    json_pack("{s:s, s:O}", "path", c->path, "entries", j->json));
	http_pjob_free(j);
}

/*
 * PUT with Content-Range: bytes A-B/T, one part of a resumable upload
 * kept for the account (store/upload.h) until byte T-1 is in.
 */
static int
put_range(struct http_conn *c, struct http_pjob *j)
{
	uint64_t first, last, total;

	if (http_parse_content_range(c->req.content_range, &first, &last,
				     &total) < 0 ||
	    last - first + 1 != (uint64_t)c->req.content_length) {
		http_error(c, 400,
			   "Content-Range must be bytes A-B/TOTAL, "
			   "with B-A+1 the Content-Length");
		return (-1);
	}
	j->ranged = true;
	j->offset = first;
	c->req_total = total;
	upload_partial_key(c->user, c->path, j->key);
	return (0);
}

/* GET /v1/upload/PATH: how much of a resumable upload is stored. */

static void
upload_run(void *arg)
{
	struct http_pjob *j = arg;

	j->rc = upload_partial_size(j->store, j->key, &j->have);
}

static void
upload_done(void *arg)
{
	struct http_pjob *j = arg;
	struct http_conn *c;
	char extra[96];
	json_t *o;
	char *s;

	if ((c = http_pjob_end(j)) == NULL)
		return;
	if (j->rc < 0) {
		http_error(c, 404, "no upload of this path is stored");
		http_pjob_free(j);
		return;
	}
	stored_range(j->have, extra, sizeof(extra));
	o = json_pack("{s:s, s:I}", "path", c->path, "stored",
		      (json_int_t)j->have);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	http_respond(c, 200, "application/json", extra, s, s ? strlen(s) : 0);
	free(s);
	json_decref(o);
	http_pjob_free(j);
}

void
http_route_upload(struct http_conn *c)
{
	struct http_pjob *j;

	if (http_target_path(c, "/v1/upload/", false) < 0)
		return;
	if (c->req.method != HTTP_GET && c->req.method != HTTP_HEAD) {
		http_error(c, 405, "use GET or HEAD");
		return;
	}
	if ((j = http_pjob_new(c)) == NULL)
		return;
	upload_partial_key(c->user, c->path, j->key);
	http_pjob_submit(c, j, upload_run, upload_done);
}

/* For a server with its own route */

void
http_file_get(struct http_conn *c)
{
	struct http_pjob *j;

	if ((j = http_pjob_new(c)) != NULL)
		http_pjob_submit(c, j, get_run, get_done);
}

void
http_file_put(struct http_conn *c, bool no_parents)
{
	struct http_pjob *j;

	if (c->req.chunked || c->req.content_length < 0) {
		http_error(c, 411, "PUT needs a Content-Length");
		return;
	}
	if ((j = http_pjob_new(c)) == NULL)
		return;
	j->no_parents = no_parents;
	j->create_only = strcmp(c->req.if_none_match, "*") == 0;
	http_pjob_submit(c, j, put_run, put_ready);
}

/* Routes */

void
http_route_files(struct http_conn *c)
{
	struct http_pjob *j;

	if (http_target_path(c, "/v1/files/", false) < 0)
		return;
	switch (c->req.method) {
	case HTTP_GET:
	case HTTP_HEAD:
		if ((j = http_pjob_new(c)) != NULL)
			http_pjob_submit(c, j, get_run, get_done);
		break;
	case HTTP_PUT:
		if (c->req.chunked || c->req.content_length < 0) {
			http_error(c, 411, "PUT needs a Content-Length");
			return;
		}
		if (http_write_refused(c, c->path))
			return;
		if ((j = http_pjob_new(c)) == NULL)
			return;
		j->no_parents = c->req.no_parents;
		j->create_only = strcmp(c->req.if_none_match, "*") == 0;
		if (c->req.content_range[0] && put_range(c, j) < 0) {
			http_pjob_free(j);
			return;
		}
		http_pjob_submit(c, j, put_run, put_ready);
		break;
	case HTTP_DELETE:
		if (!http_write_refused(c, c->path) &&
		    (j = http_pjob_new(c)) != NULL)
			http_pjob_submit(c, j, run_delete, change_done);
		break;
	default:
		http_error(c, 405, "use GET, HEAD, PUT or DELETE");
	}
}

void
http_route_list(struct http_conn *c)
{
	struct http_pjob *j;

	if (c->req.method != HTTP_GET) {
		http_error(c, 405, "use GET");
		return;
	}
	if (http_target_path(c,
			     strcmp(c->req.target, "/v1/list") == 0
				 ? "/v1/list"
				 : "/v1/list/",
			     true) == 0 &&
	    (j = http_pjob_new(c)) != NULL)
		http_pjob_submit(c, j, list_run, list_done);
}

void
http_route_mkdir(struct http_conn *c)
{
	struct http_pjob *j;

	if (c->req.method != HTTP_POST) {
		http_error(c, 405, "use POST");
		return;
	}
	if (http_target_path(c, "/v1/mkdir/", false) == 0 &&
	    !http_write_refused(c, c->path) && (j = http_pjob_new(c)) != NULL)
		http_pjob_submit(c, j, run_mkdir, change_done);
}

void
http_route_move(struct http_conn *c)
{
	const char *from, *to;
	struct http_pjob *j;
	json_t *b;
	int rc;

	if (c->req.method != HTTP_POST) {
		http_error(c, 405, "use POST");
		return;
	}
	if (!http_need_body(c))
		return;
	b = http_body_json(c);
	from = json_string_value(json_object_get(b, "from"));
	to = json_string_value(json_object_get(b, "to"));
	if (from == NULL || to == NULL || (j = http_pjob_new(c)) == NULL) {
		if (from == NULL || to == NULL)
			http_error(c, 400,
				   "expected {\"from\": PATH, \"to\": "
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
		http_pjob_free(j);
		http_error(c, 400, "path outside the namespace");
		return;
	}
	if (http_write_refused(c, c->path) || http_write_refused(c, j->to)) {
		http_pjob_free(j);
		return;
	}
	http_pjob_submit(c, j, run_move, change_done);
}
