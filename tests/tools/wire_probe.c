/*
 * wire_probe: a test peer that holds the cluster key and misbehaves on
 * purpose, so end-to-end tests can check what a node does with bad frames
 * from an authenticated peer.
 *
 *   wire_probe KEYHEX HOST:PORT oversized|unknown-type|dotdot|mixed|garbage|hello
 *   wire_probe KEYHEX HOST:PORT hold|bad N SECONDS [PREFIX]
 *   wire_probe KEYHEX HOST:PORT noread SHAHEX NBLOCKS COUNT FLAG
 *   wire_probe KEYHEX HOST:PORT vers
 *
 * "mixed" sends one INDEX frame of three folder entries, "before", "Icon
"
 * (a name with a control byte) and "after".
 *
 * It completes the TLS handshake, sends HELLO (except for "garbage"), then
 * the bad frame, and waits up to 5 s: it prints "closed" if the node ended
 * the connection, "open" if not.  Exit status 0 unless it could not
 * connect at all.
 *
 * hold and bad stay a member for SECONDS (heartbeats every 200 ms) after
 * announcing N files of 1000 bytes under PREFIX (default "hostile"): hold
 * never answers a block request, bad answers each with bytes that fail
 * the block's hash.  It prints "announced N" once the index is sent, then
 * "closed" or "done".
 *
 * noread asks for COUNT blocks (block i % NBLOCKS of the file whose
 * content hash is SHAHEX) at once, prints "sent COUNT", then reads nothing
 * while the file FLAG exists; then it reads every answer and prints "got
 * N", N the whole blocks received, once all COUNT came (or the node closed
 * the link, or 120 s passed).
 *
 * vers asks VERS_REQ of paths outside the folder, inside .shoal, and of a
 * version nobody keeps, and prints "vers" and the status of each answer.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "base/parse.h"
#include "cluster/wire.h"
#include "net/addr.h"
#include "net/tls.h"
#include "store/hash.h"
#include "store/vv.h"

static uint8_t probe_id[NODE_ID_LEN];

static int
send_buf(SSL *ssl, const struct buf *b)
{
	return (SSL_write(ssl, b->data, (int)b->len) == (int)b->len ? 0 : -1);
}

static void
hello(struct buf *b)
{
	/* Protocol 4; replicas not known (65535), so any node takes it. */
	if (wire_begin(b, WIRE_HELLO) < 0 || wire_u16(b, 4) < 0 ||
	    wire_fixed(b, probe_id, NODE_ID_LEN) < 0 ||
	    wire_str(b, "127.0.0.1:1") < 0 || wire_u16(b, 0xffff) < 0 ||
	    wire_end(b) < 0)
		exit(2);
}

static void
put_file_entry(struct buf *b, const char *path, uint64_t seq)
{
	uint8_t sha[HASH_LEN], vv[NODE_ID_LEN + 8] = {0};

	RAND_bytes(sha, sizeof(sha));
	memcpy(vv, probe_id, NODE_ID_LEN);
	vv[NODE_ID_LEN + 7] = 1;
	if (wire_u64(b, seq) < 0 || wire_str(b, path) < 0 ||
	    wire_u8(b, 0) < 0 || wire_u8(b, 0) < 0 || wire_u64(b, 1000) < 0 ||
	    wire_u64(b, (uint64_t)time(NULL) * 1000000000ULL) < 0 ||
	    wire_fixed(b, sha, HASH_LEN) < 0 ||
	    wire_bytes(b, sha, HASH_LEN) < 0 ||
	    wire_bytes(b, vv, sizeof(vv)) < 0 ||
	    wire_fixed(b, probe_id, NODE_ID_LEN) < 0 || wire_u8(b, 0) < 0 ||
	    wire_bytes(b, "", 0) < 0)
		exit(2);
}

/* INDEX frames announcing n files, sent as each fills up. */
static int
announce(SSL *ssl, unsigned n, const char *prefix)
{
	char path[256];
	struct buf b;
	unsigned i = 0, count;
	size_t count_at;

	buf_init(&b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	while (i < n) {
		if (wire_begin(&b, WIRE_INDEX) < 0 || wire_u8(&b, 0) < 0)
			exit(2);
		count_at = b.len;
		if (wire_u32(&b, 0) < 0)
			exit(2);
		for (count = 0; i < n && b.len < WIRE_FRAME_MAX - 4096;
		     count++, i++) {
			snprintf(path, sizeof(path), "%s/f%07u.bin", prefix, i);
			put_file_entry(&b, path, i + 1);
		}
		b.data[count_at] = (char)(count >> 24);
		b.data[count_at + 1] = (char)(count >> 16);
		b.data[count_at + 2] = (char)(count >> 8);
		b.data[count_at + 3] = (char)count;
		if (wire_end(&b) < 0 || send_buf(ssl, &b) < 0) {
			buf_release(&b);
			return (-1);
		}
	}
	buf_release(&b);
	return (0);
}

static int
ping(SSL *ssl)
{
	uint8_t d[HASH_LEN] = {0};
	struct timespec ts;
	struct buf b;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	buf_init(&b, 256);
	/* Busy: a member still fetching is not asked to resync. */
	if (wire_begin(&b, WIRE_PING) < 0 ||
	    wire_u64(&b, (uint64_t)ts.tv_sec * 1000) < 0 ||
	    wire_fixed(&b, d, HASH_LEN) < 0 || wire_u32(&b, 1) < 0 ||
	    wire_u32(&b, 1000) < 0 || wire_u64(&b, 1ULL << 40) < 0 ||
	    wire_u8(&b, 0) < 0 || wire_end(&b) < 0)
		exit(2);
	rc = send_buf(ssl, &b);
	buf_release(&b);
	return (rc);
}

/* A BLOCK answering request id with 1000 bytes that match no hash. */
static int
bad_block(SSL *ssl, uint32_t id)
{
	uint8_t junk[1000];
	struct buf b;
	int rc;

	RAND_bytes(junk, sizeof(junk));
	buf_init(&b, 2048);
	if (wire_begin(&b, WIRE_BLOCK) < 0 || wire_u32(&b, id) < 0 ||
	    wire_u8(&b, 0) < 0 || wire_u32(&b, sizeof(junk)) < 0 ||
	    buf_append(&b, junk, sizeof(junk)) < 0 || wire_end(&b) < 0)
		exit(2);
	rc = send_buf(ssl, &b);
	buf_release(&b);
	return (rc);
}

/* Stays a member for secs, answering block requests as mode says. */
static int
stay(SSL *ssl, int fd, bool bad, unsigned secs)
{
	static uint8_t in[WIRE_FRAME_MAX + WIRE_HDR_LEN];
	struct timespec now, next, end;
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t have = 0;
	uint32_t len;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	next = end = now;
	end.tv_sec += secs;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return (0);
		if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec &&
						 now.tv_nsec >= next.tv_nsec)) {
			if (ping(ssl) < 0)
				return (-1);
			next.tv_nsec += 200 * 1000 * 1000;
			if (next.tv_nsec >= 1000 * 1000 * 1000) {
				next.tv_sec++;
				next.tv_nsec -= 1000 * 1000 * 1000;
			}
		}
		if (SSL_pending(ssl) == 0 &&
		    (poll(&pfd, 1, 50) <= 0 || !(pfd.revents & POLLIN)))
			continue;
		n = SSL_read(ssl, in + have, (int)(sizeof(in) - have));
		if (n <= 0)
			return (-1);
		have += (size_t)n;
		while (have >= WIRE_HDR_LEN) {
			len = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 |
			      (uint32_t)in[6] << 8 | in[7];
			if (len > WIRE_FRAME_MAX)
				return (-1);
			if (have < WIRE_HDR_LEN + len)
				break;
			if (bad && in[1] == WIRE_BLOCK_REQ && len >= 4 &&
			    bad_block(ssl, (uint32_t)in[8] << 24 |
					       (uint32_t)in[9] << 16 |
					       (uint32_t)in[10] << 8 | in[11]) <
				0)
				return (-1);
			memmove(in, in + WIRE_HDR_LEN + len,
				have - WIRE_HDR_LEN - len);
			have -= WIRE_HDR_LEN + len;
		}
	}
}

/* Reads exactly n bytes; -1 if the link ends first. */
static int
read_full(SSL *ssl, void *out, size_t n)
{
	size_t got = 0;
	int r;

	while (got < n) {
		if ((r = SSL_read(ssl, (char *)out + got, (int)(n - got))) <= 0)
			return (-1);
		got += (size_t)r;
	}
	return (0);
}

/*
 * The vers mode: VERS_REQ for paths that leave the folder or name its
 * private part, and one for a version nobody has; prints the status of
 * each answer ("vers S1 S2 ..."), or "closed".
 */
static int
vers(SSL *ssl)
{
	static const struct {
		uint8_t op;
		const char *path, *id;
	} q[] = {
		{1, "../../etc/passwd", "0123-1"},
		{1, ".shoal/node_id", "0123-1"},
		{0, "a/../../b", ""},
		{2, "../", ""},
		{1, "nope.txt", "0123-1"},
	};
	uint8_t h[WIRE_HDR_LEN], *p;
	uint32_t status[5], len;
	struct wire_hdr wh;
	struct wire_rd rd;
	struct buf b;
	unsigned i, got = 0;

	buf_init(&b, 1 << 16);
	for (i = 0; i < 5; i++) {
		buf_reset(&b);
		if (wire_begin(&b, WIRE_VERS_REQ) < 0 || wire_u32(&b, i) < 0 ||
		    wire_u8(&b, q[i].op) < 0 || wire_str(&b, q[i].path) < 0 ||
		    wire_str(&b, q[i].id) < 0 || wire_u64(&b, 0) < 0 ||
		    wire_end(&b) < 0 || send_buf(ssl, &b) < 0)
			return (-1);
	}
	buf_release(&b);
	while (got < 5) {
		if (read_full(ssl, h, sizeof(h)) < 0 ||
		    wire_frame_check(h, &wh) < 0)
			return (-1);
		len = wh.len;
		if ((p = malloc(len ? len : 1)) == NULL ||
		    read_full(ssl, p, len) < 0)
			return (-1);
		if (wh.type == WIRE_VERS) {
			wire_rd_init(&rd, p, len);
			i = wire_get_u32(&rd);
			(void)wire_get_u8(&rd);
			if (i < 5)
				status[i] = wire_get_u32(&rd);
			got++;
		}
		free(p);
	}
	printf("vers");
	for (i = 0; i < 5; i++)
		printf(" %u", status[i]);
	printf("\n");
	return (0);
}

/* The noread mode: many requests, no reading, then every answer. */
static int
noread(SSL *ssl, int fd, const char *shahex, uint32_t nblocks,
    uint32_t count, const char *flag)
{
	static uint8_t in[WIRE_FRAME_MAX + WIRE_HDR_LEN];
	struct timespec wait = {0, 10 * 1000 * 1000};
	struct pollfd pfd = {fd, POLLIN, 0};
	uint8_t sha[HASH_LEN];
	uint32_t i, got = 0, answers = 0, len;
	size_t have = 0;
	struct buf b;
	time_t deadline;
	int n;

	if (nblocks == 0 || span_hex(span_str(shahex), sha, sizeof(sha)) < 0)
		return (-1);
	buf_init(&b, 256);
	for (i = 0; i < count; i++) {
		buf_reset(&b);
		if (wire_begin(&b, WIRE_BLOCK_REQ) < 0 ||
		    wire_u32(&b, i + 1) < 0 ||
		    wire_fixed(&b, sha, HASH_LEN) < 0 ||
		    wire_u32(&b, i % nblocks) < 0 || wire_end(&b) < 0 ||
		    send_buf(ssl, &b) < 0) {
			buf_release(&b);
			return (-1);
		}
	}
	buf_release(&b);
	printf("sent %u\n", count);
	fflush(stdout);
	while (access(flag, F_OK) == 0)
		nanosleep(&wait, NULL);
	deadline = time(NULL) + 120;
	while (answers < count && time(NULL) < deadline) {
		if (SSL_pending(ssl) == 0 &&
		    (poll(&pfd, 1, 1000) <= 0 || !(pfd.revents & POLLIN)))
			continue;
		n = SSL_read(ssl, in + have, (int)(sizeof(in) - have));
		if (n <= 0)
			break;
		have += (size_t)n;
		while (have >= WIRE_HDR_LEN) {
			len = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 |
			      (uint32_t)in[6] << 8 | in[7];
			if (len > WIRE_FRAME_MAX)
				return (-1);
			if (have < WIRE_HDR_LEN + len)
				break;
			/* id, status, length, bytes */
			if (in[1] == WIRE_BLOCK && len >= 9) {
				answers++;
				if (in[12] == 0 && len == 9 + HASH_BLOCK_SIZE)
					got++;
			}
			memmove(in, in + WIRE_HDR_LEN + len,
				have - WIRE_HDR_LEN - len);
			have -= WIRE_HDR_LEN + len;
		}
	}
	printf("got %u\n", got);
	return (0);
}

static void
dotdot_index(struct buf *b)
{
	uint8_t sha[HASH_LEN] = { 0 }, vv[NODE_ID_LEN + 8] = { 0 };
	uint8_t by[NODE_ID_LEN] = { 1 };

	vv[NODE_ID_LEN + 7] = 1;
	if (wire_begin(b, WIRE_INDEX) < 0 || wire_u8(b, 0) < 0 ||
	    wire_u32(b, 1) < 0 || wire_u64(b, 1) < 0 ||
	    wire_str(b, "../escaped.txt") < 0 || wire_u8(b, 0) < 0 ||
	    wire_u8(b, 0) < 0 || wire_u64(b, 5) < 0 || wire_u64(b, 0) < 0 ||
	    wire_fixed(b, sha, HASH_LEN) < 0 ||
	    wire_bytes(b, sha, HASH_LEN) < 0 ||
	    wire_bytes(b, vv, sizeof(vv)) < 0 ||
	    wire_fixed(b, by, NODE_ID_LEN) < 0 || wire_u8(b, 0) < 0 ||
	    wire_bytes(b, "", 0) < 0 || wire_end(b) < 0)
		exit(2);
}

static int
dir_entry(struct buf *b, uint64_t seq, const char *path)
{
	uint8_t sha[HASH_LEN] = { 0 }, vv[NODE_ID_LEN + 8] = { 0 };
	uint8_t by[NODE_ID_LEN] = { 1 };

	vv[0] = 1;
	vv[NODE_ID_LEN + 7] = 1;
	if (wire_u64(b, seq) < 0 || wire_str(b, path) < 0 ||
	    wire_u8(b, 1) < 0 || wire_u8(b, 0) < 0 || wire_u64(b, 0) < 0 ||
	    wire_u64(b, 1700000000000000000ULL) < 0 ||
	    wire_fixed(b, sha, HASH_LEN) < 0 || wire_bytes(b, "", 0) < 0 ||
	    wire_bytes(b, vv, sizeof(vv)) < 0 ||
	    wire_fixed(b, by, NODE_ID_LEN) < 0 || wire_u8(b, 0) < 0 ||
	    wire_bytes(b, "", 0) < 0)
		return (-1);
	return (0);
}

static void
mixed_index(struct buf *b)
{
	if (wire_begin(b, WIRE_INDEX) < 0 || wire_u8(b, 0) < 0 ||
	    wire_u32(b, 3) < 0 || dir_entry(b, 1, "before") < 0 ||
	    dir_entry(b, 2, "Icon\r") < 0 || dir_entry(b, 3, "after") < 0 ||
	    wire_end(b) < 0)
		exit(2);
}

int
main(int argc, char **argv)
{
	uint8_t key[TLS_CLUSTER_KEY_LEN], junk[64];
	struct sockaddr_storage ss;
	struct pollfd pfd;
	char err[256], rd[4096];
	struct buf b;
	SSL_CTX *ctx;
	socklen_t sl;
	SSL *ssl;
	time_t deadline;
	int fd, n;

	if (argc < 4 || tls_cluster_key_parse(argv[1], key) < 0 ||
	    addr_parse(argv[2], &ss, &sl) < 0) {
		fprintf(stderr, "usage: wire_probe KEYHEX HOST:PORT MODE\n");
		return (2);
	}
	RAND_bytes(probe_id, sizeof(probe_id));
	if ((ctx = tls_peer_ctx(key, 0, err, sizeof(err))) == NULL ||
	    (fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("wire_probe: connect");
		return (1);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		printf("handshake failed\n");
		return (0);
	}
	buf_init(&b, 1 << 20);
	if (strcmp(argv[3], "garbage") != 0) {
		hello(&b);
		if (send_buf(ssl, &b) < 0)
			return (1);
	}
	buf_reset(&b);
	if ((strcmp(argv[3], "hold") == 0 || strcmp(argv[3], "bad") == 0) &&
	    argc >= 6) {
		struct span a = {argv[4], strlen(argv[4])};
		struct span t = {argv[5], strlen(argv[5])};
		uint64_t nfiles, secs;

		if (span_u64(a, 10000000, &nfiles) < 0 ||
		    span_u64(t, 3600, &secs) < 0)
			return (2);
		if (announce(ssl, (unsigned)nfiles,
			     argc > 6 ? argv[6] : "hostile") < 0) {
			printf("closed\n");
			return (0);
		}
		printf("announced %u\n", (unsigned)nfiles);
		fflush(stdout);
		printf(stay(ssl, fd, argv[3][0] == 'b', (unsigned)secs) < 0
			   ? "closed\n"
			   : "done\n");
		return (0);
	}
	if (strcmp(argv[3], "noread") == 0 && argc >= 8) {
		struct span nb = {argv[5], strlen(argv[5])};
		struct span nc = {argv[6], strlen(argv[6])};
		uint64_t nblocks, count;

		if (span_u64(nb, HASH_BLOCKS_MAX, &nblocks) < 0 ||
		    span_u64(nc, 10000000, &count) < 0 ||
		    noread(ssl, fd, argv[4], (uint32_t)nblocks,
			   (uint32_t)count, argv[7]) < 0)
			return (2);
		return (0);
	}
	if (strcmp(argv[3], "vers") == 0) {
		if (vers(ssl) < 0)
			printf("closed\n");
		return (0);
	}
	if (strcmp(argv[3], "oversized") == 0) {
		/* A header announcing 100 MB of INDEX, and nothing after. */
		uint8_t h[WIRE_HDR_LEN] = { WIRE_VERSION, WIRE_INDEX, 0, 0,
		    0x05, 0xf5, 0xe1, 0x00 };

		if (buf_append(&b, h, sizeof(h)) < 0)
			return (2);
	} else if (strcmp(argv[3], "unknown-type") == 0) {
		uint8_t h[WIRE_HDR_LEN] = { WIRE_VERSION, 200, 0, 0, 0, 0, 0,
		    4 };

		if (buf_append(&b, h, sizeof(h)) < 0 ||
		    buf_append(&b, "abcd", 4) < 0)
			return (2);
	} else if (strcmp(argv[3], "dotdot") == 0)
		dotdot_index(&b);
	else if (strcmp(argv[3], "mixed") == 0)
		mixed_index(&b);
	else if (strcmp(argv[3], "garbage") == 0) {
		RAND_bytes(junk, sizeof(junk));
		if (buf_append(&b, junk, sizeof(junk)) < 0)
			return (2);
	}
	if (b.len > 0 && send_buf(ssl, &b) < 0) {
		printf("closed\n");
		return (0);
	}
	/* Read (and drop) until the node closes, or 5 s pass. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	deadline = time(NULL) + 5;
	for (;;) {
		if (time(NULL) >= deadline || (SSL_pending(ssl) == 0 &&
		    poll(&pfd, 1, 1000) < 0)) {
			printf("open\n");
			return (0);
		}
		if (SSL_pending(ssl) == 0 && !(pfd.revents & POLLIN))
			continue;
		n = SSL_read(ssl, rd, sizeof(rd));
		if (n <= 0) {
			printf("closed\n");
			return (0);
		}
	}
}
