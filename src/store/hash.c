/*
 * hash: streaming SHA-256 of blocks and of the whole file.  OpenSSL's
 * implementation uses the CPU's SHA extensions where present.
 */
#include "store/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

static int hasher_fd_serial(struct hasher *, int);

int
hasher_init(struct hasher *h)
{
	h->total = 0;
	h->in_block = 0;
	buf_init(&h->blocks, (size_t)HASH_BLOCKS_MAX * HASH_LEN);
	h->file = EVP_MD_CTX_new();
	h->block = EVP_MD_CTX_new();
	if (h->file == NULL || h->block == NULL ||
	    EVP_DigestInit_ex(h->file, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(h->block, EVP_sha256(), NULL) != 1) {
		hasher_release(h);
		return (-ENOMEM);
	}
	return (0);
}

void
hasher_release(struct hasher *h)
{
	EVP_MD_CTX_free(h->file);
	EVP_MD_CTX_free(h->block);
	h->file = h->block = NULL;
	buf_release(&h->blocks);
}

static int
close_block(struct hasher *h)
{
	uint8_t d[HASH_LEN];
	int rc;

	if (EVP_DigestFinal_ex(h->block, d, NULL) != 1)
		return (-EIO);
	if ((rc = buf_append(&h->blocks, d, sizeof(d))) < 0)
		return (rc == -ENOBUFS ? -EFBIG : rc);
	if (EVP_DigestInit_ex(h->block, EVP_sha256(), NULL) != 1)
		return (-EIO);
	h->in_block = 0;
	return (0);
}

int
hasher_update_file(struct hasher *h, const void *p, size_t n)
{
	return (EVP_DigestUpdate(h->file, p, n) == 1 ? 0 : -EIO);
}

int
hasher_update(struct hasher *h, const void *p, size_t n)
{
	int rc;

	if ((rc = hasher_update_file(h, p, n)) < 0)
		return (rc);
	return (hasher_update_blocks(h, p, n));
}

int
hasher_update_blocks(struct hasher *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t take;
	int rc;

	h->total += n;
	while (n > 0) {
		take = HASH_BLOCK_SIZE - h->in_block;
		if (take > n)
			take = n;
		if (EVP_DigestUpdate(h->block, b, take) != 1)
			return (-EIO);
		h->in_block += take;
		b += take;
		n -= take;
		if (h->in_block == HASH_BLOCK_SIZE &&
		    (rc = close_block(h)) < 0)
			return (rc);
	}
	return (0);
}

int
hasher_final(struct hasher *h, uint8_t out[HASH_LEN])
{
	int rc;

	/* A trailing partial block, or the single empty block of "". */
	if ((h->in_block > 0 || h->total == 0) && (rc = close_block(h)) < 0)
		return (rc);
	if (EVP_DigestFinal_ex(h->file, out, NULL) != 1)
		return (-EIO);
	return (0);
}

/* The whole-file half of a parallel hasher_fd, on its own thread. */
struct file_half {
	struct hasher	*h;
	int		 fd;
	uint64_t	 size;
	int		 rc;
};

static int
hash_range(int fd, uint64_t size, struct hasher *h, bool blocks)
{
	size_t cap = 1 << 20;
	uint64_t off = 0;
	uint8_t *b;
	ssize_t n;
	int rc = 0;

	if ((b = malloc(cap)) == NULL)
		return (-ENOMEM);
	while (off < size) {
		n = pread(fd, b, size - off < cap ? (size_t)(size - off) : cap,
		    (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EAGAIN;	/* shrank */
			break;
		}
		rc = blocks ? hasher_update_blocks(h, b, (size_t)n) :
		    hasher_update_file(h, b, (size_t)n);
		if (rc < 0)
			break;
		off += (uint64_t)n;
	}
	free(b);
	return (rc);
}

static void *
file_half_run(void *arg)
{
	struct file_half *f = arg;

	f->rc = hash_range(f->fd, f->size, f->h, false);
	return (NULL);
}

/*
 * Big files are hashed on two threads at once, one pass for the whole
 * file and one for its blocks (each touches only its own hash state), so
 * a file written straight into the folder is indexed in half the time.
 */
#define PARALLEL_MIN	(16u << 20)

int
hasher_fd(struct hasher *h, int fd)
{
	struct file_half half;
	struct stat st;
	pthread_t t;
	int rc;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size >= PARALLEL_MIN) {
		half.h = h;
		half.fd = fd;
		half.size = (uint64_t)st.st_size;
		half.rc = 0;
		if (pthread_create(&t, NULL, file_half_run, &half) == 0) {
			rc = hash_range(fd, half.size, h, true);
			pthread_join(t, NULL);
			return (rc < 0 ? rc : half.rc);
		}
	}
	return (hasher_fd_serial(h, fd));
}

static int
hasher_fd_serial(struct hasher *h, int fd)
{
	size_t cap = 256 * 1024;
	uint8_t *b;
	ssize_t n;
	int rc = 0;

	if ((b = malloc(cap)) == NULL)
		return (-ENOMEM);
	for (;;) {
		n = read(fd, b, cap);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if ((rc = hasher_update(h, b, (size_t)n)) < 0)
			break;
	}
	free(b);
	return (rc);
}

void
hash_hex(const uint8_t h[HASH_LEN], char *out)
{
	str_hex(h, HASH_LEN, out);
}
