/*
 * s3_meta: what S3 keeps with an object besides its bytes, as the file's
 * attributes in the index (index.h: they replicate with the version).
 *
 * The attributes are lines of text, each "NAME:VALUE\n":
 *   etag:HEX[-N]        the ETag without quotes: MD5 of the content, or
 *                       the multipart form
 *   Content-Type:...    and Content-Disposition, Cache-Control,
 *   x-amz-meta-NAME:... Content-Encoding, Content-Language, Expires and
 *                       every x-amz-meta-* header, as sent
 * No value holds a CR or LF (the HTTP parser refused those), so a line
 * ends where its value does.  The headers together are capped at
 * S3_META_MAX bytes, as S3 caps user metadata.
 *
 * A file written otherwise (FTP, HTTP, into the folder) has no ETag line:
 * the first S3 read or listing that needs one hashes the file and caches
 * the line (no new version: it is computed, not chosen).
 */
#include "front/s3/s3_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Headers kept besides x-amz-meta-*. */
static const char *const kept[] = {
    "Content-Type",	"Content-Disposition", "Cache-Control",
    "Content-Encoding", "Content-Language",    "Expires",
};

static bool
is_kept(struct span name)
{
	size_t i;

	if (name.len > 11 && strncasecmp(name.p, "x-amz-meta-", 11) == 0)
		return (true);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (span_eq_ci(name, kept[i]))
			return (true);
	return (false);
}

int
s3_meta_from_request(const struct s3_req *r, struct buf *out)
{
	size_t i, j, total = 0;
	struct span n;

	for (i = 0; i < r->nhdr; i++) {
		n = r->hdr[i].name;
		if (!is_kept(n))
			continue;
		total += n.len + r->hdr[i].value.len;
		if (total > S3_META_MAX)
			return (-E2BIG);
		/* x-amz-meta names are case-insensitive: kept lower-case,
		 * as S3 returns them. */
		for (j = 0; j < n.len; j++) {
			char ch = n.p[j];

			if (n.len > 11 && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (buf_append(out, &ch, 1) < 0)
				return (-ENOMEM);
		}
		if (buf_append(out, ":", 1) < 0 ||
		    buf_append(out, r->hdr[i].value.p, r->hdr[i].value.len) <
			0 ||
		    buf_append(out, "\n", 1) < 0)
			return (-ENOMEM);
	}
	return (0);
}

int
s3_meta_copy_headers(const uint8_t *a, size_t n, struct buf *out)
{
	struct cursor c;
	struct span line, name;

	cur_init(&c, a, n);
	while (!cur_eof(&c)) {
		line = cur_until(&c, '\n');
		(void)cur_eat(&c, '\n');
		{
			struct cursor lc;

			cur_init(&lc, line.p, line.len);
			name = cur_until(&lc, ':');
		}
		if (span_eq(name, "etag") || name.len == line.len)
			continue;
		if (buf_append(out, line.p, line.len) < 0 ||
		    buf_append(out, "\n", 1) < 0)
			return (-ENOMEM);
	}
	return (0);
}

bool
s3_meta_get(const uint8_t *a, size_t n, const char *name, char *out,
	    size_t size)
{
	struct cursor c, lc;
	struct span line, k, v;

	cur_init(&c, a, n);
	while (!cur_eof(&c)) {
		line = cur_until(&c, '\n');
		(void)cur_eat(&c, '\n');
		cur_init(&lc, line.p, line.len);
		k = cur_until(&lc, ':');
		if (!cur_eat(&lc, ':') || !span_eq_ci(k, name))
			continue;
		v = cur_rest(&lc);
		if (v.len >= size)
			return (false);
		memcpy(out, v.p, v.len);
		out[v.len] = '\0';
		return (true);
	}
	return (false);
}

int
s3_meta_headers(const uint8_t *a, size_t n, struct buf *h, bool *has_ctype)
{
	struct cursor c, lc;
	struct span line, k, v;

	*has_ctype = false;
	cur_init(&c, a, n);
	while (!cur_eof(&c)) {
		line = cur_until(&c, '\n');
		(void)cur_eat(&c, '\n');
		cur_init(&lc, line.p, line.len);
		k = cur_until(&lc, ':');
		/* WebDAV's dead properties (dav_props.c) are not headers. */
		if (!cur_eat(&lc, ':') || span_eq(k, "etag") ||
		    span_eq(k, "checksum") || span_eq(k, "dav"))
			continue;
		v = cur_rest(&lc);
		if (span_eq_ci(k, "Content-Type")) {
			*has_ctype = true;
			continue; /* the caller writes it */
		}
		if (buf_append(h, k.p, k.len) < 0 ||
		    buf_append(h, ": ", 2) < 0 ||
		    buf_append(h, v.p, v.len) < 0 ||
		    buf_append(h, "\r\n", 2) < 0)
			return (-ENOMEM);
	}
	return (0);
}

int
s3_md5_fd(int fd, uint8_t md5[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t *b = malloc(1 << 20);
	off_t off = 0;
	ssize_t k;
	int rc = 0;

	if (c == NULL || b == NULL ||
	    EVP_DigestInit_ex(c, EVP_md5(), NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	while ((k = pread(fd, b, 1 << 20, off)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		EVP_DigestUpdate(c, b, (size_t)k);
		off += k;
	}
	EVP_DigestFinal_ex(c, md5, NULL);
out:
	EVP_MD_CTX_free(c);
	free(b);
	return (rc);
}

int
s3_etag_of(struct store *s, const char *path, const uint8_t sha[32], int fd,
	   uint8_t *attrs, size_t size, size_t *len, char etag[S3_ETAG_MAX + 3])
{
	char bare[S3_ETAG_MAX + 1];
	uint8_t md5[16];
	struct buf b;
	int rc;

	if (fs_attrs(s, path, sha, attrs, size, len) < 0)
		*len = 0;
	if (s3_meta_get(attrs, *len, "etag", bare, sizeof(bare))) {
		(void)str_fmt(etag, S3_ETAG_MAX + 3, "\"%s\"", bare);
		return (0);
	}
	/* Held elsewhere and never read here: the content hash stands in. */
	if (fd == -1) {
		s3_etag(sha, etag);
		return (0);
	}
	if (fd == S3_FD_OPEN) {
		struct fs_file f;

		if ((rc = fs_open(s, path, FS_OPEN_META, &f)) < 0)
			return (rc);
		if (f.remote || memcmp(f.meta.sha256, sha, 32) != 0) {
			if (f.fd >= 0)
				close(f.fd);
			s3_etag(sha, etag);
			return (0);
		}
		rc = s3_md5_fd(f.fd, md5);
		close(f.fd);
	} else
		rc = s3_md5_fd(fd, md5);
	if (rc < 0)
		return (rc);
	str_hex(md5, 16, bare);
	(void)str_fmt(etag, S3_ETAG_MAX + 3, "\"%s\"", bare);
	buf_init(&b, INDEX_ATTRS_MAX);
	if (buf_printf(&b, "etag:%s\n", bare) == 0 &&
	    buf_append(&b, attrs, *len) == 0) {
		if (b.len <= size) {
			memcpy(attrs, b.data, b.len);
			*len = b.len;
		}
		(void)fs_cache_attrs(s, path, sha, b.data, b.len);
	}
	buf_release(&b);
	return (0);
}
