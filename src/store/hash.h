/*
 * hash: a file's content identity.  Files are split into fixed blocks of
 * HASH_BLOCK_SIZE bytes; each block has a SHA-256 (what peers fetch and
 * check), and the whole file has a SHA-256 (what HASH and ETag answer).
 * One streaming pass computes both.
 */
#ifndef SHOAL_STORE_HASH_H
#define SHOAL_STORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"

#define HASH_LEN		32
#define HASH_HEX_LEN		64
#define HASH_BLOCK_SIZE		(1024 * 1024)
/* Block list cap: 64 Ki blocks of 1 MiB = files up to 64 GiB. */
#define HASH_BLOCKS_MAX		(64 * 1024)

struct hasher {
	EVP_MD_CTX	*file;
	EVP_MD_CTX	*block;
	uint64_t	 total;
	uint64_t	 in_block;
	struct buf	 blocks;	/* HASH_LEN bytes per block */
};

int	hasher_init(struct hasher *) __attribute__((warn_unused_result));
int	hasher_update(struct hasher *, const void *, size_t)
	    __attribute__((warn_unused_result));
/*
 * The two halves of hasher_update, for callers that run them on two
 * threads at once over the same bytes (each touches only its own state).
 */
int	hasher_update_file(struct hasher *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	hasher_update_blocks(struct hasher *, const void *, size_t)
	    __attribute__((warn_unused_result));
/* Closes the last block and writes the file hash; blocks stay in h. */
int	hasher_final(struct hasher *, uint8_t out[HASH_LEN])
	    __attribute__((warn_unused_result));
void	hasher_release(struct hasher *);
/* Hashes the whole regular file fd, on two threads when it is big. */
int	hasher_fd(struct hasher *, int fd) __attribute__((warn_unused_result));
/* out[HASH_HEX_LEN + 1]. */
void	hash_hex(const uint8_t h[HASH_LEN], char *out);

#endif
