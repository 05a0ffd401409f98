/*
 * wire_probe: a test peer that holds the cluster key and misbehaves on
 * purpose, so end-to-end tests can check what a node does with bad frames
 * from an authenticated peer.
 *
 *   wire_probe KEYHEX HOST:PORT oversized|unknown-type|dotdot|mixed|garbage|hello
 *
 * "mixed" sends one INDEX frame of three folder entries, "before", "Icon\r"
 * (a name with a control byte) and "after".
 *
 * It completes the TLS handshake, sends HELLO (except for "garbage"), then
 * the bad frame, and waits up to 5 s: it prints "closed" if the node ended
 * the connection, "open" if not.  Exit status 0 unless it could not
 * connect at all.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "cluster/wire.h"
#include "net/addr.h"
#include "net/tls.h"
#include "store/hash.h"
#include "store/vv.h"

static int
send_buf(SSL *ssl, const struct buf *b)
{
	return (SSL_write(ssl, b->data, (int)b->len) == (int)b->len ? 0 : -1);
}

static void
hello(struct buf *b)
{
	uint8_t id[NODE_ID_LEN];

	RAND_bytes(id, sizeof(id));
	/* Protocol 2; replicas not known (65535), so any node takes it. */
	if (wire_begin(b, WIRE_HELLO) < 0 || wire_u16(b, 2) < 0 ||
	    wire_fixed(b, id, NODE_ID_LEN) < 0 ||
	    wire_str(b, "127.0.0.1:1") < 0 || wire_u16(b, 0xffff) < 0 ||
	    wire_end(b) < 0)
		exit(2);
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
	    wire_end(b) < 0)
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
	    wire_fixed(b, by, NODE_ID_LEN) < 0 || wire_u8(b, 0) < 0)
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

	if (argc != 4 || cli_parse_key(argv[1], key) < 0 ||
	    addr_parse(argv[2], &ss, &sl) < 0) {
		fprintf(stderr, "usage: wire_probe KEYHEX HOST:PORT MODE\n");
		return (2);
	}
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
