/*
 * s3_chunked: the decoder of "Content-Encoding: aws-chunked" bodies, fed
 * any split of the bytes as they arrive.  Pure: no I/O; one allocation
 * (the decoder).  Fuzzed in fuzz/fuzz_s3_chunked.c.
 *
 * Signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
 *     hex-size ";chunk-signature=" 64hex CRLF data CRLF ...
 *     "0;chunk-signature=" 64hex CRLF
 *     [trailers: "name:value" CRLF ... "x-amz-trailer-signature:" 64hex CRLF]
 *     CRLF
 * Unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER):
 *     hex-size CRLF data CRLF ... "0" CRLF [trailers CRLF ...] CRLF
 *
 *   SIZE --line--> DATA --len bytes--> DATA_CRLF --> SIZE
 *     \--size 0--> TRAILER --empty line--> DONE
 *
 * Each chunk's data is hashed as it passes and its signature checked
 * through the sigv4 chain when the chunk ends.  Payload bytes go to the
 * caller's sink as they arrive, before their chunk is checked: a body is
 * good only when s3_chunked_finish() answers S3_OK, and a caller discards
 * everything it got from a decoder that answered an error (the store's
 * temp files make that free).  Errors are sticky.
 *
 * Caps: a size line (or trailer line) <= S3_CHUNKED_LINE_MAX bytes, a
 * chunk <= S3_CHUNKED_CHUNK_MAX, the trailer block <=
 * S3_CHUNKED_TRAILER_MAX, the decoded length == the declared
 * x-amz-decoded-content-length when there is one.
 */
#ifndef SHOAL_FRONT_S3_CHUNKED_H
#define SHOAL_FRONT_S3_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "front/s3/s3_err.h"
#include "front/s3/s3_sum.h"
#include "front/s3/sigv4.h"

#define S3_CHUNKED_LINE_MAX    256
#define S3_CHUNKED_CHUNK_MAX   (16u * 1024 * 1024)
#define S3_CHUNKED_TRAILER_MAX 8192

/* Receives decoded payload bytes; anything but S3_OK stops the decoder
 * with that error. */
typedef enum s3_err (*s3_chunked_sink)(void *arg, const void *, size_t);

struct s3_chunked_cfg {
	/* SIGV4_PAYLOAD_STREAMING, _STREAMING_TRAILER or
	 * _STREAMING_UNSIGNED. */
	enum sigv4_payload payload;
	/* Signed modes: the chain sigv4_verify() filled (copied in; the
	 * decoder wipes its copy). */
	const struct sigv4_chain *chain;
	/* The checksum named by the x-amz-trailer header (S3_SUM_NONE when
	 * none): computed over the payload and compared with the trailer's
	 * value, which must then be present. */
	enum s3_sum_alg trailer_sum;
	/* x-amz-decoded-content-length, or -1 when not sent. */
	int64_t decoded_length;
	s3_chunked_sink sink;
	void *arg;
};

struct s3_chunked;

/* NULL on ENOMEM or a bad cfg (a signed mode without a chain). */
struct s3_chunked *s3_chunked_new(const struct s3_chunked_cfg *);
void s3_chunked_free(struct s3_chunked *);
/*
 * Decodes data[len].  *used (may be NULL) is set to the bytes taken:
 * all of them, unless the body ended inside data (bytes after the final
 * CRLF are not the body's).  Returns S3_OK, or an error that sticks:
 * S3_ERR_INVALID_CHUNK / S3_ERR_INCOMPLETE_BODY (framing, caps, length),
 * S3_ERR_SIGNATURE_MISMATCH (a chunk or the trailer), or the sink's; and
 * once the final empty line is read, what s3_chunked_finish would answer
 * about the trailer: S3_ERR_CHECKSUM_MISMATCH, S3_ERR_INVALID_DIGEST (a
 * checksum that is not base64 of the algorithm's length),
 * S3_ERR_INVALID_REQUEST (a checksum of another algorithm than
 * x-amz-trailer names, or two).
 */
enum s3_err s3_chunked_feed(struct s3_chunked *, const void *data, size_t len,
			    size_t *used) __attribute__((warn_unused_result));
/* True once the final empty line has been read. */
bool s3_chunked_done(const struct s3_chunked *);
/*
 * At the end of the HTTP body: S3_OK if the body was whole and good;
 * S3_ERR_INCOMPLETE_BODY if it stopped short (or the decoded length is
 * not the declared one), S3_ERR_CHECKSUM_MISMATCH if the trailing
 * checksum is wrong or missing, or the sticky error.
 */
enum s3_err s3_chunked_finish(struct s3_chunked *)
    __attribute__((warn_unused_result));
/* Bytes of payload delivered so far. */
uint64_t s3_chunked_decoded(const struct s3_chunked *);
/* After finish: the trailing checksum (its algorithm is cfg.trailer_sum)
 * as S3 spells it, base64, into out[S3_SUM_B64_MAX + 1]; -ENOENT if none. */
int s3_chunked_checksum(const struct s3_chunked *, char *out);

#endif
