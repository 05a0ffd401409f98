/*
 * s3_chunked: the aws-chunked decoder (see s3_chunked.h for the framing).
 *
 *   ST_LINE (size line) --"0"--> ST_TRAILER --empty line--> ST_DONE
 *      |  ^                        (trailer lines, each kept for the
 *    n>0  |                         trailer signature and checksum)
 *      v  |
 *   ST_DATA --n bytes--> ST_DATA_CR --'\r'--> ST_DATA_LF --'\n'--+
 *                                     chunk signature checked here
 *
 * Lines (size and trailer) are gathered in line[] up to
 * S3_CHUNKED_LINE_MAX bytes and must end in CRLF; data bytes go straight
 * to the sink.  The first error is kept in bad and every later call
 * answers it, so a caller that ignores one result still cannot store a
 * bad body.  A body that ends right after its last trailer's CRLF,
 * without the final empty line, is accepted by s3_chunked_finish (some
 * clients leave that line out).
 */
#include "front/s3/s3_chunked.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"

enum state {
	ST_LINE,
	ST_DATA,
	ST_DATA_CR,
	ST_DATA_LF,
	ST_TRAILER,
	ST_DONE,
};

struct s3_chunked {
	struct s3_chunked_cfg cfg;
	struct sigv4_chain chain;
	bool signed_;
	bool trailers_ok; /* the mode allows trailer lines */
	enum state st;
	enum s3_err bad;
	char line[S3_CHUNKED_LINE_MAX + 2];
	size_t linelen;
	uint32_t left; /* data bytes left in this chunk */
	uint8_t chunk_sig[32];
	struct s3_sum chunk_sha; /* of this chunk's data */
	struct s3_sum sum;	 /* trailer checksum of all data */
	bool sum_on;
	uint64_t decoded;
	size_t trailer_bytes;
	unsigned ntrailers;
	struct buf canon_trailers; /* "name:value\n" for the signature */
	bool have_sum;
	uint8_t want_sum[S3_SUM_RAW_MAX];
	bool have_trailer_sig;
	uint8_t trailer_sig[32];
	char got_b64[S3_SUM_B64_MAX + 1];
	bool finished;
};

struct s3_chunked *
s3_chunked_new(const struct s3_chunked_cfg *cfg)
{
	struct s3_chunked *d;
	bool is_signed;

	switch (cfg->payload) {
	case SIGV4_PAYLOAD_STREAMING:
	case SIGV4_PAYLOAD_STREAMING_TRAILER:
		is_signed = true;
		break;
	case SIGV4_PAYLOAD_STREAMING_UNSIGNED:
		is_signed = false;
		break;
	default:
		return (NULL);
	}
	if ((is_signed && cfg->chain == NULL) || cfg->sink == NULL)
		return (NULL);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->cfg = *cfg;
	d->cfg.chain = NULL;
	d->signed_ = is_signed;
	d->trailers_ok = cfg->payload != SIGV4_PAYLOAD_STREAMING;
	if (is_signed)
		d->chain = *cfg->chain;
	buf_init(&d->canon_trailers, S3_CHUNKED_TRAILER_MAX);
	if (cfg->trailer_sum != S3_SUM_NONE) {
		if (s3_sum_init(&d->sum, cfg->trailer_sum) < 0) {
			s3_chunked_free(d);
			return (NULL);
		}
		d->sum_on = true;
	}
	if (s3_sum_init(&d->chunk_sha, S3_SUM_SHA256) < 0) {
		s3_chunked_free(d);
		return (NULL);
	}
	return (d);
}

void
s3_chunked_free(struct s3_chunked *d)
{
	if (d == NULL)
		return;
	s3_sum_release(&d->chunk_sha);
	if (d->sum_on)
		s3_sum_release(&d->sum);
	buf_release(&d->canon_trailers);
	OPENSSL_cleanse(&d->chain, sizeof(d->chain));
	free(d);
}

static enum s3_err
fail(struct s3_chunked *d, enum s3_err e)
{
	if (d->bad == S3_OK)
		d->bad = e;
	return (d->bad);
}

static int
hexdig(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* "hex-size" [";chunk-signature=" 64hex]: the next chunk begins. */
static enum s3_err
size_line(struct s3_chunked *d)
{
	static const char ext[] = ";chunk-signature=";
	struct cursor c;
	uint64_t size = 0;
	size_t ndig = 0;

	cur_init(&c, d->line, d->linelen);
	while (c.len > 0 && hexdig(c.p[0]) >= 0) {
		/* 8 digits hold any size under the cap, leading zeros too */
		if (++ndig > 8)
			return (S3_ERR_INVALID_CHUNK);
		size = size * 16 + (uint64_t)hexdig(c.p[0]);
		c.p++;
		c.len--;
	}
	if (ndig == 0 || size > S3_CHUNKED_CHUNK_MAX)
		return (S3_ERR_INVALID_CHUNK);
	if (d->signed_) {
		if (c.len != sizeof(ext) - 1 + 64 ||
		    memcmp(c.p, ext, sizeof(ext) - 1) != 0)
			return (S3_ERR_INVALID_CHUNK);
		c.p += sizeof(ext) - 1;
		c.len -= sizeof(ext) - 1;
		if (cur_hex(&c, d->chunk_sig, 32) < 0)
			return (S3_ERR_INVALID_CHUNK);
	}
	if (!cur_eof(&c))
		return (S3_ERR_INVALID_CHUNK);
	if (d->cfg.decoded_length >= 0 &&
	    d->decoded + size > (uint64_t)d->cfg.decoded_length)
		return (S3_ERR_INVALID_CHUNK);
	d->left = (uint32_t)size;
	if (d->signed_) {
		s3_sum_release(&d->chunk_sha);
		if (s3_sum_init(&d->chunk_sha, S3_SUM_SHA256) < 0)
			return (S3_ERR_INTERNAL);
	}
	if (size > 0) {
		d->st = ST_DATA;
		return (S3_OK);
	}
	/* The final chunk: its signature covers the empty data. */
	if (d->signed_) {
		uint8_t h[32];

		(void)s3_sum_final(&d->chunk_sha, h);
		if (sigv4_chain_next(&d->chain, h, d->chunk_sig) != S3_OK)
			return (S3_ERR_SIGNATURE_MISMATCH);
	}
	d->st = ST_TRAILER;
	return (S3_OK);
}

/* The end of a chunk's data and its CRLF: check its signature. */
static enum s3_err
chunk_end(struct s3_chunked *d)
{
	uint8_t h[32];

	if (!d->signed_)
		return (S3_OK);
	(void)s3_sum_final(&d->chunk_sha, h);
	return (sigv4_chain_next(&d->chain, h, d->chunk_sig));
}

/* All trailers read: the trailer signature and the checksum. */
static enum s3_err
trailers_end(struct s3_chunked *d)
{
	uint8_t got[S3_SUM_RAW_MAX];
	size_t n;

	if (d->cfg.payload == SIGV4_PAYLOAD_STREAMING_TRAILER) {
		uint8_t h[32];

		if (!d->have_trailer_sig)
			return (S3_ERR_SIGNATURE_MISMATCH);
		sigv4_sha256(d->canon_trailers.data, d->canon_trailers.len, h);
		if (sigv4_chain_trailer(&d->chain, h, d->trailer_sig) != S3_OK)
			return (S3_ERR_SIGNATURE_MISMATCH);
	}
	if (d->cfg.decoded_length >= 0 &&
	    d->decoded != (uint64_t)d->cfg.decoded_length)
		return (S3_ERR_INCOMPLETE_BODY);
	if (!d->sum_on)
		return (S3_OK);
	n = s3_sum_final(&d->sum, got);
	s3_b64(got, n, d->got_b64);
	if (!d->have_sum || n != s3_sum_len(d->cfg.trailer_sum) ||
	    CRYPTO_memcmp(got, d->want_sum, n) != 0)
		return (S3_ERR_CHECKSUM_MISMATCH);
	return (S3_OK);
}

/* One "name:value" trailer line. */
static enum s3_err
trailer_line(struct s3_chunked *d)
{
	struct cursor c;
	struct span name, value;
	enum s3_sum_alg alg;

	if (!d->trailers_ok || ++d->ntrailers > 64)
		return (S3_ERR_INVALID_CHUNK);
	d->trailer_bytes += d->linelen + 2;
	if (d->trailer_bytes > S3_CHUNKED_TRAILER_MAX)
		return (S3_ERR_INVALID_CHUNK);
	cur_init(&c, d->line, d->linelen);
	name = cur_until(&c, ':');
	if (!cur_eat(&c, ':') || name.len == 0)
		return (S3_ERR_INVALID_CHUNK);
	value = cur_rest(&c);
	while (value.len > 0 && (value.p[0] == ' ' || value.p[0] == '\t')) {
		value.p++;
		value.len--;
	}
	while (value.len > 0 && (value.p[value.len - 1] == ' ' ||
				 value.p[value.len - 1] == '\t'))
		value.len--;
	if (span_eq_ci(name, "x-amz-trailer-signature")) {
		if (d->have_trailer_sig || !d->signed_ || value.len != 64 ||
		    span_hex(value, d->trailer_sig, 32) < 0)
			return (S3_ERR_INVALID_CHUNK);
		d->have_trailer_sig = true;
		return (S3_OK);
	}
	if (d->have_trailer_sig)
		return (S3_ERR_INVALID_CHUNK); /* the signature comes last */
	for (size_t i = 0; i < name.len; i++) {
		char ch = name.p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (buf_append(&d->canon_trailers, &ch, 1) < 0)
			return (S3_ERR_INVALID_CHUNK);
	}
	if (buf_append(&d->canon_trailers, ":", 1) < 0 ||
	    buf_append(&d->canon_trailers, value.p, value.len) < 0 ||
	    buf_append(&d->canon_trailers, "\n", 1) < 0)
		return (S3_ERR_INVALID_CHUNK);
	alg = s3_sum_from_header(name);
	if (alg == S3_SUM_NONE)
		return (S3_OK); /* not ours to read, but signed */
	if (alg != d->cfg.trailer_sum || d->have_sum)
		return (S3_ERR_INVALID_REQUEST);
	if (s3_unb64(value, d->want_sum, s3_sum_len(alg)) < 0)
		return (S3_ERR_INVALID_DIGEST);
	d->have_sum = true;
	return (S3_OK);
}

/* A whole line is in line[]: what it means depends on the state. */
static enum s3_err
line_done(struct s3_chunked *d)
{
	enum s3_err e;

	if (d->st == ST_LINE)
		e = size_line(d);
	else if (d->linelen == 0) {
		e = trailers_end(d);
		if (e == S3_OK)
			d->st = ST_DONE;
	} else
		e = trailer_line(d);
	d->linelen = 0;
	return (e);
}

enum s3_err
s3_chunked_feed(struct s3_chunked *d, const void *data, size_t len,
		size_t *used)
{
	const char *p = data;
	size_t i = 0;
	enum s3_err e;

	if (used != NULL)
		*used = 0;
	if (d->bad != S3_OK)
		return (d->bad);
	while (i < len && d->st != ST_DONE) {
		switch (d->st) {
		case ST_LINE:
		case ST_TRAILER:
			if (p[i] == '\n') {
				if (d->linelen == 0 ||
				    d->line[d->linelen - 1] != '\r')
					return (fail(d, S3_ERR_INVALID_CHUNK));
				d->linelen--;
				i++;
				if ((e = line_done(d)) != S3_OK)
					return (fail(d, e));
				break;
			}
			/* room for the line and its '\r' */
			if (d->linelen == S3_CHUNKED_LINE_MAX + 1 ||
			    (d->linelen > 0 && d->line[d->linelen - 1] == '\r'))
				return (fail(d, S3_ERR_INVALID_CHUNK));
			d->line[d->linelen++] = p[i++];
			break;
		case ST_DATA: {
			size_t n = len - i;

			if (n > d->left)
				n = d->left;
			if (d->signed_)
				s3_sum_update(&d->chunk_sha, p + i, n);
			if (d->sum_on)
				s3_sum_update(&d->sum, p + i, n);
			d->decoded += n;
			d->left -= (uint32_t)n;
			if ((e = d->cfg.sink(d->cfg.arg, p + i, n)) != S3_OK)
				return (fail(d, e));
			i += n;
			if (d->left == 0)
				d->st = ST_DATA_CR;
			break;
		}
		case ST_DATA_CR:
			if (p[i++] != '\r')
				return (fail(d, S3_ERR_INVALID_CHUNK));
			d->st = ST_DATA_LF;
			break;
		case ST_DATA_LF:
			if (p[i++] != '\n')
				return (fail(d, S3_ERR_INVALID_CHUNK));
			if ((e = chunk_end(d)) != S3_OK)
				return (fail(d, e));
			d->st = ST_LINE;
			break;
		case ST_DONE:
			break;
		}
	}
	if (used != NULL)
		*used = i;
	return (S3_OK);
}

bool
s3_chunked_done(const struct s3_chunked *d)
{
	return (d->bad == S3_OK && d->st == ST_DONE);
}

enum s3_err
s3_chunked_finish(struct s3_chunked *d)
{
	enum s3_err e;

	if (d->bad != S3_OK)
		return (d->bad);
	if (d->finished)
		return (S3_OK);
	if (d->st == ST_TRAILER && d->linelen == 0 && d->ntrailers > 0) {
		/* the final empty line left out */
		if ((e = trailers_end(d)) != S3_OK)
			return (fail(d, e));
		d->st = ST_DONE;
	}
	if (d->st != ST_DONE)
		return (fail(d, S3_ERR_INCOMPLETE_BODY));
	d->finished = true;
	return (S3_OK);
}

uint64_t
s3_chunked_decoded(const struct s3_chunked *d)
{
	return (d->decoded);
}

int
s3_chunked_checksum(const struct s3_chunked *d, char *out)
{
	if (!d->sum_on || d->got_b64[0] == '\0')
		return (-ENOENT);
	memcpy(out, d->got_b64, sizeof(d->got_b64));
	return (0);
}
