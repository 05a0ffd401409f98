/*
 * s3_multipart: multipart uploads, staged under DIR/.shoal/tmp/s3/ID/
 * (the private folder: never an object, never listed).
 *
 *   create   ID/info: the object's path, the account, the metadata headers
 *   part N   ID/NNNNN.tmp ──streamed, MD5 on the way──> fsync ──>
 *            ID/NNNNN.etag written, NNNNN.tmp renamed to NNNNN, folder
 *            fsynced: a part answered is on disk and survives a restart
 *   complete parts checked (order, ETags, sizes) ──> copied into an upload
 *            of the object (store/upload.h) ──> one atomic commit ──> ID/
 *            removed
 *   abort    ID/ removed; an upload untouched for s3.multipart_expiry
 *            seconds too
 *
 * The ETag of the object is MD5(MD5(part 1) || ... || MD5(part n))-n, as
 * S3 makes it.  The parts' bytes pass through the upload once more, since
 * the store hashes every byte it commits (the index's block hashes).
 */
#include "front/s3/s3_int.h"

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
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/cfg.h"
#include "base/log.h"
#include "base/work.h"
#include "front/s3/s3_xml.h"

#define MP_DIR	     "s3"
#define MP_ID_LEN    32
#define MP_PART_MIN  (5u << 20) /* every part but the last */
#define MP_PARTS_MAX 10000
#define MP_INFO_MAX  (PATH_LEN_MAX + AUTH_NAME_MAX + INDEX_ATTRS_MAX + 16)

/* Staging files, relative to DIR/.shoal/tmp */

static bool
id_ok(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != MP_ID_LEN)
		return (false);
	for (i = 0; i < MP_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return (false);
	return (true);
}

static int
fsync_dir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return (-errno);
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return (rc);
}

/* Writes name in folder dfd whole and durably (temp, fsync, rename). */
static int
write_file_at(int dfd, const char *dir, const char *name, const void *p,
	      size_t n)
{
	char tmp[MP_ID_LEN + 64], fin[MP_ID_LEN + 64];
	int fd, rc = 0;

	(void)str_fmt(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	(void)str_fmt(fin, sizeof(fin), "%s/%s", dir, name);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0600)) < 0)
		return (-errno);
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) < 0)
		rc = -EIO;
	close(fd);
	if (rc == 0 && renameat(dfd, tmp, dfd, fin) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir_at(dfd, dir);
	if (rc < 0)
		(void)unlinkat(dfd, tmp, 0);
	return (rc);
}

static int
read_file_at(int dfd, const char *path, char *out, size_t size, size_t *len)
{
	ssize_t k;
	int fd;

	if ((fd = openat(dfd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return (-errno);
	k = read(fd, out, size);
	close(fd);
	if (k < 0)
		return (-EIO);
	if ((size_t)k == size)
		return (-E2BIG);
	*len = (size_t)k;
	out[k] = '\0';
	return (0);
}

/* Removes ID/ and what is in it. */
static int
remove_upload(int tmp_fd, const char *id)
{
	char dir[MP_ID_LEN + 8], p[MP_ID_LEN + 64];
	struct dirent *de;
	DIR *d;
	int fd;

	(void)str_fmt(dir, sizeof(dir), "%s/%s", MP_DIR, id);
	if ((fd = openat(tmp_fd, dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		return (-errno);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (-errno);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)str_fmt(p, sizeof(p), "%s/%s", dir, de->d_name);
		(void)unlinkat(tmp_fd, p, 0);
	}
	closedir(d);
	if (unlinkat(tmp_fd, dir, AT_REMOVEDIR) < 0)
		return (-errno);
	(void)fsync_dir_at(tmp_fd, MP_DIR);
	return (0);
}

/* info: "PATH\nACCOUNT\n" and the metadata lines. */
struct mp_info {
	char path[PATH_LEN_MAX + 1];
	char account[AUTH_NAME_MAX + 1];
	char meta[INDEX_ATTRS_MAX + 1];
	size_t meta_len;
	time_t created;
};

static int
read_info(int tmp_fd, const char *id, struct mp_info *in)
{
	char p[MP_ID_LEN + 16], *b;
	struct cursor c;
	struct span s;
	struct stat st;
	size_t n;
	int rc;

	(void)str_fmt(p, sizeof(p), "%s/%s/info", MP_DIR, id);
	if ((b = malloc(MP_INFO_MAX + 1)) == NULL)
		return (-ENOMEM);
	if ((rc = read_file_at(tmp_fd, p, b, MP_INFO_MAX + 1, &n)) < 0) {
		free(b);
		return (rc == -ENOTDIR ? -ENOENT : rc);
	}
	if (fstatat(tmp_fd, p, &st, 0) == 0)
		in->created = st.st_mtime;
	cur_init(&c, b, n);
	s = cur_until(&c, '\n');
	if (!cur_eat(&c, '\n') || s.len == 0 || s.len > PATH_LEN_MAX)
		rc = -EINVAL;
	else {
		memcpy(in->path, s.p, s.len);
		in->path[s.len] = '\0';
		s = cur_until(&c, '\n');
		if (!cur_eat(&c, '\n') || s.len > AUTH_NAME_MAX)
			rc = -EINVAL;
		else {
			memcpy(in->account, s.p, s.len);
			in->account[s.len] = '\0';
			s = cur_rest(&c);
			if (s.len > INDEX_ATTRS_MAX - 64)
				rc = -EINVAL;
			else {
				memcpy(in->meta, s.p, s.len);
				in->meta_len = s.len;
			}
		}
	}
	free(b);
	return (rc);
}

/* A part's ETag (quoted) and size; -ENOENT if the part is not there. */
static int
read_part(int tmp_fd, const char *id, unsigned n, char etag[S3_ETAG_MAX + 3],
	  uint64_t *size, time_t *mtime)
{
	char p[MP_ID_LEN + 32];
	struct stat st;
	size_t len;
	int rc;

	(void)str_fmt(p, sizeof(p), "%s/%s/%05u", MP_DIR, id, n);
	if (fstatat(tmp_fd, p, &st, 0) < 0)
		return (-errno);
	*size = (uint64_t)st.st_size;
	if (mtime)
		*mtime = st.st_mtime;
	(void)str_fmt(p, sizeof(p), "%s/%s/%05u.etag", MP_DIR, id, n);
	if ((rc = read_file_at(tmp_fd, p, etag, S3_ETAG_MAX + 3, &len)) < 0)
		return (rc);
	return (len >= 2 && etag[0] == '"' ? 0 : -EINVAL);
}

static int
tmp_fd_of(struct s3_job *j)
{
	return (j->store->tmp_fd);
}

static const char *
upload_id(struct s3_req *r)
{
	return (http_query_get(&r->q, "uploadId"));
}

/* The upload named by the request, for this object: S3_OK or
 * NoSuchUpload.  Pool only. */
static enum s3_err
check_upload(struct s3_job *j, const char *id, struct mp_info *in)
{
	if (!id_ok(id) || read_info(tmp_fd_of(j), id, in) < 0 ||
	    strcmp(in->path, j->path) != 0)
		return (S3_ERR_NO_SUCH_UPLOAD);
	return (S3_OK);
}

/* CreateMultipartUpload: POST /b/k?uploads */

struct mp_args {
	char id[MP_ID_LEN + 1];
	unsigned part;
	struct buf meta;
	struct s3_xml_result x;
	/* UploadPartCopy */
	char src[PATH_LEN_MAX + 1];
	uint64_t first, last;
	bool ranged;
	int64_t mtime;
	/* ListParts, ListMultipartUploads */
	char prefix[S3_KEY_MAX + 1];
	unsigned marker, max;
};

static void
mp_args_free(struct mp_args *a)
{
	if (a == NULL)
		return;
	buf_release(&a->meta);
	s3_xml_result_release(&a->x);
	free(a);
}

static void
mp_args_free_v(void *a)
{
	mp_args_free(a);
}

static struct mp_args *
mp_args_new(struct s3_req *r)
{
	struct mp_args *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		return (NULL);
	}
	buf_init(&a->meta, INDEX_ATTRS_MAX);
	return (a);
}

static enum s3_err
bucket_here(struct store *s, const char *bucket)
{
	struct fs_entry e;
	int rc = fs_stat(s, bucket, 0, &e);

	if (rc == -ENOENT || rc == -ENOTDIR || (rc == 0 && e.type != FS_DIR))
		return (S3_ERR_NO_SUCH_BUCKET);
	return (rc < 0 ? S3_ERR_INTERNAL : S3_OK);
}

static void
create_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	char dir[MP_ID_LEN + 8];
	uint8_t rnd[MP_ID_LEN / 2];
	struct buf info;
	int tfd = tmp_fd_of(j);

	if ((j->err = bucket_here(j->store, j->bucket)) != S3_OK)
		return;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		j->rc = -EIO;
		return;
	}
	str_hex(rnd, sizeof(rnd), a->id);
	if (mkdirat(tfd, MP_DIR, 0700) < 0 && errno != EEXIST) {
		j->rc = -errno;
		return;
	}
	(void)str_fmt(dir, sizeof(dir), "%s/%s", MP_DIR, a->id);
	if (mkdirat(tfd, dir, 0700) < 0) {
		j->rc = -errno;
		return;
	}
	buf_init(&info, MP_INFO_MAX);
	if (buf_printf(&info, "%s\n%s\n", j->path, j->account) < 0 ||
	    buf_append(&info, a->meta.data ? (void *)a->meta.data : "",
		       a->meta.len) < 0)
		j->rc = -ENOMEM;
	else
		j->rc = write_file_at(tfd, dir, "info", info.data, info.len);
	buf_release(&info);
	if (j->rc == 0)
		j->rc = fsync_dir_at(tfd, MP_DIR);
	if (j->rc < 0)
		(void)remove_upload(tfd, a->id);
	else if (s3_xml_decl(&j->out) < 0 ||
		 s3_xml_open_ns(&j->out, "InitiateMultipartUploadResult") < 0 ||
		 s3_xml_elem(&j->out, "Bucket", j->bucket) < 0 ||
		 s3_xml_elem(&j->out, "Key", j->path + strlen(j->bucket) + 1) <
		     0 ||
		 s3_xml_elem(&j->out, "UploadId", a->id) < 0 ||
		 s3_xml_close(&j->out, "InitiateMultipartUploadResult") < 0)
		j->rc = -ENOMEM;
}

static void
mp_xml_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;

	mp_args_free(j->arg);
	j->arg = NULL;
	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_UPLOAD);
	else
		s3_respond_xml(r, 200, &j->out);
	s3_job_free(j);
}

static void part_copy_run(void *);

/* As mp_xml_done, once the source's bytes are here. */
static void
part_copy_done(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;

	if (j->rc == -EREMOTE) {
		if (s3_job_end(j) != NULL)
			s3_job_fetch_first(j, a->src, part_copy_run,
					   part_copy_done);
		return;
	}
	mp_xml_done(j);
}

static void
submit(struct s3_req *r, struct mp_args *a, void (*fn)(void *),
       void (*done)(void *))
{
	struct s3_job *j;

	if ((j = s3_job_new(r)) == NULL) {
		mp_args_free(a);
		return;
	}
	j->arg = a;
	j->arg_free = mp_args_free_v;
	s3_job_submit(j, fn, done);
}

void
s3_mp_create(struct s3_req *r)
{
	struct mp_args *a;

	if (r->key[strlen(r->key) - 1] == '/') {
		s3_error(r, S3_ERR_INVALID_KEY,
			 "keys ending in '/' are not "
			 "stored");
		return;
	}
	if (s3_write_refused(r, r->path) || (a = mp_args_new(r)) == NULL)
		return;
	if (s3_meta_from_request(r, &a->meta) < 0) {
		mp_args_free(a);
		s3_error(r, S3_ERR_INVALID_ARGUMENT,
			 "metadata headers over "
			 "2 KiB");
		return;
	}
	submit(r, a, create_run, mp_xml_done);
}

/* UploadPart: PUT /b/k?partNumber=N&uploadId=ID, body streamed. */

/*
 * The part writer: bytes pushed on the loop, written by one pool job at a
 * time; a cancelled writer (the client left) is freed by its last job.
 */
struct s3_part {
	struct work_pool *pool;
	int dfd; /* DIR/.shoal/tmp, borrowed */
	char dir[MP_ID_LEN + 8];
	unsigned n;
	int fd;
	struct evbuffer *chunk;
	bool busy, cancelled, finishing;
	int rc;
	char etag[S3_ETAG_MAX + 3];
	void (*drained)(void *);
	void (*done)(void *, int);
	void *arg;
};

static void
part_free(struct s3_part *p)
{
	char t[MP_ID_LEN + 32];

	if (p->fd >= 0) {
		close(p->fd);
		/* Not finished: the temp part goes. */
		(void)str_fmt(t, sizeof(t), "%s/%05u.tmp", p->dir, p->n);
		(void)unlinkat(p->dfd, t, 0);
	}
	if (p->chunk)
		evbuffer_free(p->chunk);
	free(p);
}

static void
part_write_run(void *arg)
{
	struct s3_part *p = arg;
	struct evbuffer_iovec v[64];
	int i, nv;
	ssize_t k;

	while (p->rc == 0 && evbuffer_get_length(p->chunk) > 0) {
		nv = evbuffer_peek(p->chunk, -1, NULL, v, 64);
		if (nv > 64)
			nv = 64;
		for (i = 0; i < nv && p->rc == 0; i++) {
			size_t off = 0;

			while (off < v[i].iov_len) {
				k = write(p->fd, (char *)v[i].iov_base + off,
					  v[i].iov_len - off);
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0) {
					p->rc = k < 0 ? -errno : -EIO;
					break;
				}
				off += (size_t)k;
			}
			if (p->rc == 0)
				evbuffer_drain(p->chunk, v[i].iov_len);
		}
	}
}

static void
part_write_done(void *arg)
{
	struct s3_part *p = arg;

	p->busy = false;
	if (p->cancelled) {
		part_free(p);
		return;
	}
	if (p->rc < 0) {
		p->done(p->arg, p->rc);
		part_free(p);
		return;
	}
	p->drained(p->arg);
}

static void
part_finish_run(void *arg)
{
	struct s3_part *p = arg;
	char t[MP_ID_LEN + 32], f[MP_ID_LEN + 32], name[16];

	if (fsync(p->fd) < 0) {
		p->rc = -errno;
		return;
	}
	(void)str_fmt(name, sizeof(name), "%05u.etag", p->n);
	if ((p->rc = write_file_at(p->dfd, p->dir, name, p->etag,
				   strlen(p->etag))) < 0)
		return;
	(void)str_fmt(t, sizeof(t), "%s/%05u.tmp", p->dir, p->n);
	(void)str_fmt(f, sizeof(f), "%s/%05u", p->dir, p->n);
	if (renameat(p->dfd, t, p->dfd, f) < 0) {
		p->rc = -errno;
		return;
	}
	close(p->fd);
	p->fd = -1;
	p->rc = fsync_dir_at(p->dfd, p->dir);
}

static void
part_finish_done(void *arg)
{
	struct s3_part *p = arg;

	p->busy = false;
	if (p->cancelled) {
		part_free(p);
		return;
	}
	p->done(p->arg, p->rc);
	part_free(p);
}

bool
s3_part_busy(const struct s3_part *p)
{
	return (p->busy || p->finishing);
}

int
s3_part_push(struct s3_part *p, struct evbuffer *in)
{
	if (p->busy || p->finishing)
		return (-EBUSY);
	evbuffer_add_buffer(p->chunk, in);
	if (work_submit(p->pool, part_write_run, part_write_done, p) < 0)
		return (-ENOMEM);
	p->busy = true;
	return (0);
}

void
s3_part_finish(struct s3_part *p, const char *etag)
{
	p->finishing = true;
	(void)str_copy(p->etag, sizeof(p->etag), etag);
	if (work_submit(p->pool, part_finish_run, part_finish_done, p) < 0) {
		p->rc = -ENOMEM;
		p->done(p->arg, p->rc);
		part_free(p);
		return;
	}
	p->busy = true;
}

void
s3_part_cancel(struct s3_part *p)
{
	if (p->busy)
		p->cancelled = true;
	else
		part_free(p);
}

static void
part_open_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct mp_info in;
	char t[MP_ID_LEN + 32];
	int fd;

	if ((j->err = check_upload(j, a->id, &in)) != S3_OK)
		return;
	(void)str_fmt(t, sizeof(t), "%s/%s/%05u.tmp", MP_DIR, a->id, a->part);
	if ((fd = openat(tmp_fd_of(j), t,
			 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		j->rc = -errno;
	else
		j->f.fd = fd;
}

static void part_drained(void *);
static void part_done(void *, int);

static void
part_open_done(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct s3_req *r;
	struct http_conn *c;
	struct s3_part *p;

	j->arg = NULL; /* ours now, whatever happens */
	if ((r = s3_job_end(j)) == NULL) {
		mp_args_free(a);
		return;
	}
	c = r->c;
	if (j->err != S3_OK || j->rc < 0) {
		c->close_after = c->body_left > 0;
		if (j->err != S3_OK)
			s3_error(r, j->err, NULL);
		else
			s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_UPLOAD);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->chunk = evbuffer_new()) == NULL) {
		free(p);
		c->close_after = true;
		s3_error(r, S3_ERR_INTERNAL, "out of memory");
		goto out;
	}
	p->pool = c->srv->o.pool;
	p->dfd = j->store->tmp_fd;
	(void)str_fmt(p->dir, sizeof(p->dir), "%s/%s", MP_DIR, a->id);
	p->n = a->part;
	p->fd = j->f.fd;
	j->f.fd = -1;
	p->drained = part_drained;
	p->done = part_done;
	p->arg = r;
	r->part = p;
	if (c->req.expect_continue)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 100 Continue\r\n\r\n");
	s3_body_start(r);
out:
	mp_args_free(a);
	j->arg = NULL;
	s3_job_free(j);
}

static void
part_drained(void *arg)
{
	struct s3_req *r = arg;

	s3_body_more(r->c);
}

static void
part_done(void *arg, int rc)
{
	struct s3_req *r = arg;
	struct http_conn *c = r->c;
	char extra[160];

	r->part = NULL; /* freed once this returns */
	if (rc < 0) {
		c->close_after = true;
		s3_error_errno(r, rc, S3_ERR_NO_SUCH_UPLOAD);
		return;
	}
	(void)str_fmt(extra, sizeof(extra),
		      "ETag: %s\r\nx-amz-request-id: "
		      "%s\r\n",
		      r->etag, r->id);
	c->st = CONN_BUSY;
	http_respond(c, 200, NULL, extra, NULL, 0);
}

/* Parses partNumber and uploadId into a; false (answered) if bad. */
static bool
part_params(struct s3_req *r, struct mp_args *a)
{
	const char *v = http_query_get(&r->q, "partNumber");
	uint64_t n;

	if (v == NULL || span_u64(span_str(v), MP_PARTS_MAX, &n) < 0 ||
	    n == 0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT,
			 "Part number must be an "
			 "integer between 1 and 10000, inclusive");
		return (false);
	}
	a->part = (unsigned)n;
	if (!id_ok(upload_id(r))) {
		s3_error(r, S3_ERR_NO_SUCH_UPLOAD, NULL);
		return (false);
	}
	(void)str_copy(a->id, sizeof(a->id), upload_id(r));
	return (true);
}

static void s3_mp_part_copy(struct s3_req *, struct span);

void
s3_mp_part(struct s3_req *r)
{
	struct http_conn *c = r->c;
	struct mp_args *a;
	struct span v;
	enum s3_err e;

	if (s3_header(r, "x-amz-copy-source", &v)) {
		s3_mp_part_copy(r, v);
		return;
	}
	if (!c->req.chunked && c->req.content_length < 0) {
		c->close_after = true;
		s3_error(r, S3_ERR_MISSING_CONTENT_LENGTH, NULL);
		return;
	}
	if ((a = mp_args_new(r)) == NULL)
		return;
	if (!part_params(r, a)) {
		c->close_after = c->body_left > 0;
		mp_args_free(a);
		return;
	}
	if ((e = s3_body_setup(r)) != S3_OK) {
		c->close_after = c->body_left > 0;
		mp_args_free(a);
		s3_error(r, e, NULL);
		return;
	}
	submit(r, a, part_open_run, part_open_done);
}

/* UploadPartCopy: the part's bytes from another object (a range). */

static void
part_copy_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct mp_info in;
	struct fs_file f;
	char t[MP_ID_LEN + 32], dir[MP_ID_LEN + 8], name[16], hex[33];
	uint8_t md5[16], *b = NULL;
	EVP_MD_CTX *mc = NULL;
	uint64_t off, end;
	ssize_t k;
	int fd = -1, rc;
	int tfd = tmp_fd_of(j);

	if ((j->err = check_upload(j, a->id, &in)) != S3_OK)
		return;
	if ((rc = fs_open(j->store, a->src, FS_OPEN_META, &f)) < 0) {
		j->err = S3_ERR_NO_SUCH_KEY;
		return;
	}
	if (f.remote) {
		/* The bytes are held elsewhere: part_copy_done fetches them. */
		j->rc = -EREMOTE;
		return;
	}
	off = a->ranged ? a->first : 0;
	end = a->ranged ? a->last + 1 : f.size;
	if (a->ranged && (a->first > a->last || a->last >= f.size)) {
		j->err = S3_ERR_INVALID_RANGE;
		goto out;
	}
	a->mtime = (int64_t)f.mtime;
	(void)str_fmt(dir, sizeof(dir), "%s/%s", MP_DIR, a->id);
	(void)str_fmt(t, sizeof(t), "%s/%05u.tmp", dir, a->part);
	if ((fd = openat(tfd, t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			 0600)) < 0 ||
	    (b = malloc(1 << 20)) == NULL || (mc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(mc, EVP_md5(), NULL) != 1) {
		j->rc = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while (off < end) {
		size_t want =
		    end - off < (1 << 20) ? (size_t)(end - off) : (1 << 20);

		if ((k = pread(f.fd, b, want, (off_t)off)) <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			j->rc = -EIO;
			goto out;
		}
		EVP_DigestUpdate(mc, b, (size_t)k);
		if (write(fd, b, (size_t)k) != k) {
			j->rc = -EIO;
			goto out;
		}
		off += (uint64_t)k;
	}
	EVP_DigestFinal_ex(mc, md5, NULL);
	str_hex(md5, 16, hex);
	(void)str_fmt(j->etag, sizeof(j->etag), "\"%s\"", hex);
	(void)str_fmt(name, sizeof(name), "%05u.etag", a->part);
	if (fsync(fd) < 0 || (j->rc = write_file_at(tfd, dir, name, j->etag,
						    strlen(j->etag))) < 0) {
		j->rc = j->rc < 0 ? j->rc : -EIO;
		goto out;
	}
	{
		char fin[MP_ID_LEN + 32];

		(void)str_fmt(fin, sizeof(fin), "%s/%05u", dir, a->part);
		if (renameat(tfd, t, tfd, fin) < 0)
			j->rc = -errno;
		else
			j->rc = fsync_dir_at(tfd, dir);
	}
	if (j->rc == 0 &&
	    (s3_xml_decl(&j->out) < 0 ||
	     s3_xml_open_ns(&j->out, "CopyPartResult") < 0 ||
	     s3_xml_elem_time(&j->out, "LastModified", a->mtime) < 0 ||
	     s3_xml_elem(&j->out, "ETag", j->etag) < 0 ||
	     s3_xml_close(&j->out, "CopyPartResult") < 0))
		j->rc = -ENOMEM;
out:
	if (fd >= 0) {
		close(fd);
		if (j->rc < 0 || j->err != S3_OK)
			(void)unlinkat(tfd, t, 0);
	}
	EVP_MD_CTX_free(mc);
	free(b);
	close(f.fd);
}

static void
s3_mp_part_copy(struct s3_req *r, struct span src)
{
	char raw[PATH_LEN_MAX + 1], bucket[S3_BUCKET_MAX + 1];
	struct mp_args *a;
	struct span rg;
	const char *p, *slash;
	size_t i, n;

	if ((a = mp_args_new(r)) == NULL)
		return;
	if (!part_params(r, a)) {
		mp_args_free(a);
		return;
	}
	for (i = 0, n = src.len; i < src.len; i++)
		if (src.p[i] == '?') {
			n = i;
			break;
		}
	if (http_unescape(src.p, n, raw, sizeof(raw)) < 0 ||
	    (slash = strchr(p = raw[0] == '/' ? raw + 1 : raw, '/')) == NULL ||
	    (size_t)(slash - p) > S3_BUCKET_MAX || slash[1] == '\0') {
		mp_args_free(a);
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad x-amz-copy-source");
		return;
	}
	memcpy(bucket, p, (size_t)(slash - p));
	bucket[slash - p] = '\0';
	if (!s3_key_ok(r, bucket, slash + 1, a->src, sizeof(a->src))) {
		mp_args_free(a);
		return;
	}
	if (s3_header(r, "x-amz-copy-source-range", &rg)) {
		struct cursor c;

		cur_init(&c, rg.p, rg.len);
		if (rg.len < 6 || memcmp(rg.p, "bytes=", 6) != 0) {
			mp_args_free(a);
			s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad range");
			return;
		}
		cur_init(&c, rg.p + 6, rg.len - 6);
		if (cur_u64(&c, UINT64_MAX, &a->first) < 0 ||
		    !cur_eat(&c, '-') ||
		    cur_u64(&c, UINT64_MAX, &a->last) < 0 || !cur_eof(&c)) {
			mp_args_free(a);
			s3_error(r, S3_ERR_INVALID_ARGUMENT, "bad range");
			return;
		}
		a->ranged = true;
	}
	submit(r, a, part_copy_run, part_copy_done);
}

/* CompleteMultipartUpload: POST /b/k?uploadId=ID with the part list. */

static void
complete_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct mp_info in;
	struct fs_entry e;
	char etag[S3_ETAG_MAX + 3], p[MP_ID_LEN + 32], hex[33];
	uint8_t md5[16], *b = NULL;
	EVP_MD_CTX *mc = NULL;
	struct buf at;
	struct iovec iov;
	uint64_t size;
	size_t i;
	ssize_t k;
	int tfd = tmp_fd_of(j), fd;

	if ((j->err = check_upload(j, a->id, &in)) != S3_OK)
		return;
	if (a->x.nparts == 0) {
		j->err = S3_ERR_MALFORMED_XML;
		return;
	}
	/* Every part named is here with the ETag named, in order. */
	for (i = 0; i < a->x.nparts; i++) {
		const struct s3_xml_part *xp = &a->x.parts[i];
		const char *want = xp->etag;
		size_t wl = strlen(want);

		if (i > 0 && xp->number <= a->x.parts[i - 1].number) {
			j->err = S3_ERR_INVALID_PART_ORDER;
			return;
		}
		if (read_part(tfd, a->id, xp->number, etag, &size, NULL) < 0) {
			j->err = S3_ERR_INVALID_PART;
			return;
		}
		/* Quotes are optional in the list, as S3 takes it. */
		if (want[0] == '"' && wl >= 2)
			want++, wl -= 2;
		if (wl != strlen(etag) - 2 || memcmp(want, etag + 1, wl) != 0) {
			j->err = S3_ERR_INVALID_PART;
			return;
		}
		if (i + 1 < a->x.nparts && size < MP_PART_MIN) {
			j->err = S3_ERR_ENTITY_TOO_SMALL;
			return;
		}
	}
	if (fs_stat(j->store, j->path, 0, &e) == 0 && e.type == FS_DIR) {
		j->rc = -EISDIR;
		return;
	}
	if ((j->rc = s3_make_parents(j->store, j->path)) < 0 ||
	    (j->rc = fs_write_begin(j->store, j->path, UPLOAD_NEW, 0,
				    &j->existed, &j->up)) < 0)
		return;
	if ((b = malloc(1 << 20)) == NULL || (mc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(mc, EVP_md5(), NULL) != 1) {
		j->rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a->x.nparts && j->rc == 0; i++) {
		unsigned n = a->x.parts[i].number;
		off_t off = 0;

		(void)read_part(tfd, a->id, n, etag, &size, NULL);
		etag[33] = '\0';
		if (span_hex(span_str(etag + 1), md5, 16) < 0) {
			j->rc = -EIO;
			break;
		}
		EVP_DigestUpdate(mc, md5, 16);
		(void)str_fmt(p, sizeof(p), "%s/%s/%05u", MP_DIR, a->id, n);
		if ((fd = openat(tfd, p, O_RDONLY | O_CLOEXEC)) < 0) {
			j->rc = -errno;
			break;
		}
		while ((k = pread(fd, b, 1 << 20, off)) != 0) {
			if (k < 0) {
				if (errno == EINTR)
					continue;
				j->rc = -EIO;
				break;
			}
			iov.iov_base = b;
			iov.iov_len = (size_t)k;
			if ((j->rc = upload_write(j->up, &iov, 1)) < 0)
				break;
			off += k;
		}
		close(fd);
	}
	if (j->rc < 0)
		goto out;
	EVP_DigestFinal_ex(mc, md5, NULL);
	str_hex(md5, 16, hex);
	(void)str_fmt(j->etag, sizeof(j->etag), "\"%s-%zu\"", hex, a->x.nparts);
	buf_init(&at, INDEX_ATTRS_MAX);
	if ((j->rc = buf_printf(&at, "etag:%s-%zu\n", hex, a->x.nparts)) == 0 &&
	    (j->rc = buf_append(&at, in.meta, in.meta_len)) == 0)
		j->rc = upload_set_attrs(j->up, at.data, at.len);
	buf_release(&at);
	if (j->rc == 0 && (j->rc = upload_flush(j->up)) == 0)
		j->rc = upload_commit(j->up, &j->m);
	if (j->rc < 0)
		goto out;
	/* The object is there: the parts go. */
	(void)remove_upload(tfd, a->id);
	if (s3_xml_decl(&j->out) < 0 ||
	    s3_xml_open_ns(&j->out, "CompleteMultipartUploadResult") < 0 ||
	    buf_printf(&j->out, "<Location>/%s</Location>", j->path) < 0 ||
	    s3_xml_elem(&j->out, "Bucket", j->bucket) < 0 ||
	    s3_xml_elem(&j->out, "Key", j->path + strlen(j->bucket) + 1) < 0 ||
	    s3_xml_elem(&j->out, "ETag", j->etag) < 0 ||
	    s3_xml_close(&j->out, "CompleteMultipartUploadResult") < 0)
		j->rc = -ENOMEM;
out:
	EVP_MD_CTX_free(mc);
	free(b);
}

void
s3_mp_complete(struct s3_req *r)
{
	struct http_conn *c = r->c;
	struct mp_args *a;
	enum s3_err e;

	if (c->req.chunked || c->req.content_length < 0) {
		c->close_after = true;
		s3_error(r, S3_ERR_MISSING_CONTENT_LENGTH, NULL);
		return;
	}
	if (c->body_left > S3_XML_BODY_MAX) {
		c->close_after = true;
		s3_error(r, S3_ERR_MALFORMED_XML, "the body is too large");
		return;
	}
	if (c->body_left > 0) {
		s3_read_body(r);
		return;
	}
	if (!id_ok(upload_id(r))) {
		s3_error(r, S3_ERR_NO_SUCH_UPLOAD, NULL);
		return;
	}
	if (s3_write_refused(r, r->path) || (a = mp_args_new(r)) == NULL)
		return;
	(void)str_copy(a->id, sizeof(a->id), upload_id(r));
	e = s3_xml_parse(S3_XML_COMPLETE,
			 c->body.data ? c->body.data : (void *)"", c->body.len,
			 &a->x);
	if (e != S3_OK) {
		mp_args_free(a);
		s3_error(r, e, NULL);
		return;
	}
	submit(r, a, complete_run, mp_xml_done);
}

/* AbortMultipartUpload: DELETE /b/k?uploadId=ID */

static void
abort_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct mp_info in;

	if ((j->err = check_upload(j, a->id, &in)) != S3_OK)
		return;
	j->rc = remove_upload(tmp_fd_of(j), a->id);
}

static void
abort_done(void *arg)
{
	struct s3_job *j = arg;
	struct s3_req *r;
	char extra[64];

	mp_args_free(j->arg);
	j->arg = NULL;
	if ((r = s3_job_end(j)) == NULL)
		return;
	if (j->err != S3_OK)
		s3_error(r, j->err, NULL);
	else if (j->rc < 0)
		s3_error_errno(r, j->rc, S3_ERR_NO_SUCH_UPLOAD);
	else {
		(void)str_fmt(extra, sizeof(extra), "x-amz-request-id: %s\r\n",
			      r->id);
		http_respond(r->c, 204, NULL, extra, NULL, 0);
	}
	s3_job_free(j);
}

void
s3_mp_abort(struct s3_req *r)
{
	struct mp_args *a;

	if (!id_ok(upload_id(r))) {
		s3_error(r, S3_ERR_NO_SUCH_UPLOAD, NULL);
		return;
	}
	if ((a = mp_args_new(r)) == NULL)
		return;
	(void)str_copy(a->id, sizeof(a->id), upload_id(r));
	submit(r, a, abort_run, abort_done);
}

/* ListParts: GET /b/k?uploadId=ID */

static void
list_parts_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct mp_info in;
	char etag[S3_ETAG_MAX + 3];
	struct buf *o = &j->out;
	uint64_t size;
	time_t mtime;
	unsigned n, count = 0, last = 0;
	bool more = false;

	if ((j->err = check_upload(j, a->id, &in)) != S3_OK)
		return;
	if (s3_xml_decl(o) < 0 || s3_xml_open_ns(o, "ListPartsResult") < 0 ||
	    s3_xml_elem(o, "Bucket", j->bucket) < 0 ||
	    s3_xml_elem(o, "Key", j->path + strlen(j->bucket) + 1) < 0 ||
	    s3_xml_elem(o, "UploadId", a->id) < 0 ||
	    s3_xml_elem_u64(o, "PartNumberMarker", a->marker) < 0 ||
	    s3_xml_elem_u64(o, "MaxParts", a->max) < 0) {
		j->rc = -ENOMEM;
		return;
	}
	{
		struct buf parts;

		buf_init(&parts, 16u << 20);
		for (n = a->marker + 1; n <= MP_PARTS_MAX; n++) {
			if (read_part(tmp_fd_of(j), a->id, n, etag, &size,
				      &mtime) < 0)
				continue;
			if (count == a->max) {
				more = true;
				break;
			}
			count++;
			last = n;
			if (s3_xml_open(&parts, "Part") < 0 ||
			    s3_xml_elem_u64(&parts, "PartNumber", n) < 0 ||
			    s3_xml_elem_time(&parts, "LastModified",
					     (int64_t)mtime) < 0 ||
			    s3_xml_elem(&parts, "ETag", etag) < 0 ||
			    s3_xml_elem_u64(&parts, "Size", size) < 0 ||
			    s3_xml_close(&parts, "Part") < 0) {
				j->rc = -ENOMEM;
				break;
			}
		}
		if (j->rc == 0 &&
		    (s3_xml_elem_u64(o, "NextPartNumberMarker", last) < 0 ||
		     s3_xml_elem_bool(o, "IsTruncated", more) < 0 ||
		     s3_xml_open(o, "Initiator") < 0 ||
		     s3_xml_elem(o, "ID", in.account) < 0 ||
		     s3_xml_close(o, "Initiator") < 0 ||
		     s3_xml_elem(o, "StorageClass", "STANDARD") < 0 ||
		     buf_append(o, parts.data ? (void *)parts.data : "",
				parts.len) < 0 ||
		     s3_xml_close(o, "ListPartsResult") < 0))
			j->rc = -ENOMEM;
		buf_release(&parts);
	}
}

static bool
u_param(struct s3_req *r, const char *name, unsigned max, unsigned *out)
{
	const char *v = http_query_get(&r->q, name);
	uint64_t n;

	if (v == NULL)
		return (true);
	if (span_u64(span_str(v), UINT32_MAX, &n) < 0) {
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "not a number");
		return (false);
	}
	*out = n > max ? max : (unsigned)n;
	return (true);
}

void
s3_mp_list_parts(struct s3_req *r)
{
	struct mp_args *a;

	if (!id_ok(upload_id(r))) {
		s3_error(r, S3_ERR_NO_SUCH_UPLOAD, NULL);
		return;
	}
	if ((a = mp_args_new(r)) == NULL)
		return;
	(void)str_copy(a->id, sizeof(a->id), upload_id(r));
	a->max = 1000;
	if (!u_param(r, "part-number-marker", MP_PARTS_MAX, &a->marker) ||
	    !u_param(r, "max-parts", 1000, &a->max)) {
		mp_args_free(a);
		return;
	}
	submit(r, a, list_parts_run, mp_xml_done);
}

/* ListMultipartUploads: GET /b?uploads */

static void
list_uploads_run(void *arg)
{
	struct s3_job *j = arg;
	struct mp_args *a = j->arg;
	struct buf *o = &j->out;
	struct dirent *de;
	struct mp_info in;
	size_t bl = strlen(j->bucket);
	DIR *d;
	int fd;

	if ((j->err = bucket_here(j->store, j->bucket)) != S3_OK)
		return;
	if (s3_xml_decl(o) < 0 ||
	    s3_xml_open_ns(o, "ListMultipartUploadsResult") < 0 ||
	    s3_xml_elem(o, "Bucket", j->bucket) < 0 ||
	    s3_xml_elem(o, "Prefix", a->prefix) < 0 ||
	    s3_xml_elem_u64(o, "MaxUploads", 1000) < 0 ||
	    s3_xml_elem_bool(o, "IsTruncated", false) < 0) {
		j->rc = -ENOMEM;
		return;
	}
	fd = openat(tmp_fd_of(j), MP_DIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
		unsigned n = 0;

		while ((de = readdir(d)) != NULL && n < 1000) {
			const char *key;

			if (!id_ok(de->d_name) ||
			    read_info(tmp_fd_of(j), de->d_name, &in) < 0 ||
			    strncmp(in.path, j->bucket, bl) != 0 ||
			    in.path[bl] != '/')
				continue;
			key = in.path + bl + 1;
			if (strncmp(key, a->prefix, strlen(a->prefix)) != 0)
				continue;
			n++;
			if (s3_xml_open(o, "Upload") < 0 ||
			    s3_xml_elem(o, "Key", key) < 0 ||
			    s3_xml_elem(o, "UploadId", de->d_name) < 0 ||
			    s3_xml_open(o, "Initiator") < 0 ||
			    s3_xml_elem(o, "ID", in.account) < 0 ||
			    s3_xml_close(o, "Initiator") < 0 ||
			    s3_xml_elem(o, "StorageClass", "STANDARD") < 0 ||
			    s3_xml_elem_time(o, "Initiated",
					     (int64_t)in.created) < 0 ||
			    s3_xml_close(o, "Upload") < 0) {
				j->rc = -ENOMEM;
				break;
			}
		}
		closedir(d);
	} else if (fd >= 0)
		close(fd);
	if (j->rc == 0 && s3_xml_close(o, "ListMultipartUploadsResult") < 0)
		j->rc = -ENOMEM;
}

void
s3_mp_list_uploads(struct s3_req *r)
{
	struct mp_args *a;
	const char *v;

	if ((a = mp_args_new(r)) == NULL)
		return;
	if ((v = http_query_get(&r->q, "prefix")) != NULL &&
	    str_copy(a->prefix, sizeof(a->prefix), v) < 0) {
		mp_args_free(a);
		s3_error(r, S3_ERR_INVALID_ARGUMENT, "prefix too long");
		return;
	}
	submit(r, a, list_uploads_run, mp_xml_done);
}

/* Expiry: uploads untouched for s3.multipart_expiry seconds go. */

struct expire_job {
	int tmp_fd;
	time_t before;
	int removed;
};

static void
expire_run(void *arg)
{
	struct expire_job *e = arg;
	char dir[MP_ID_LEN + 8];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(e->tmp_fd, MP_DIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!id_ok(de->d_name))
			continue;
		(void)str_fmt(dir, sizeof(dir), "%s/%s", MP_DIR, de->d_name);
		/* The folder's mtime moves with every part written. */
		if (fstatat(e->tmp_fd, dir, &st, 0) == 0 &&
		    st.st_mtime < e->before &&
		    remove_upload(e->tmp_fd, de->d_name) == 0)
			e->removed++;
	}
	closedir(d);
}

static void
expire_done(void *arg)
{
	struct expire_job *e = arg;

	if (e->removed > 0)
		log_info("s3: removed %d abandoned multipart upload(s)",
			 e->removed);
	free(e);
}

void
s3_mp_expire(struct work_pool *pool, struct store *s, unsigned expiry_s)
{
	struct expire_job *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return;
	e->tmp_fd = s->tmp_fd;
	e->before = time(NULL) - (time_t)expiry_s;
	if (work_submit(pool, expire_run, expire_done, e) < 0)
		free(e);
}
