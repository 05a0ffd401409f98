/*
 * tracker_probe: a test node that holds the cluster key and misbehaves
 * towards a tracker on purpose, so end-to-end tests can check that bad
 * announcements are refused and nothing else is affected.
 *
 *   tracker_probe KEYHEX HOST:PORT MODE
 *
 * MODE is one of:
 *   register        a valid HELLO and a two-file list (nothing wrong)
 *   oversized       HELLO, then a T_FILES header announcing 100 MB
 *   unknown-type    HELLO, then a frame of a type no one knows
 *   garbage         random bytes instead of HELLO
 *   files-first     T_FILES before any HELLO
 *   dotdot          HELLO, then T_FILES naming "../escaped.txt"
 *   bad-count       HELLO, then T_FILES claiming more entries than it has
 *   peer-key        the peer protocol's key instead of the tracker's
 *
 * It prints "refused: REASON" for a T_REFUSE, "handshake failed", then
 * "closed" if the tracker ended the connection within 5 s (1 s for
 * register), or "open".
 * Exit status 0 unless it could not connect at all.
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
#include "cluster/twire.h"
#include "net/addr.h"
#include "net/tls.h"

static int
send_buf(SSL *ssl, const struct buf *b)
{
	return (SSL_write(ssl, b->data, (int)b->len) == (int)b->len ? 0 : -1);
}

static void
hello(struct buf *b)
{
	struct twire_hello h;

	memset(&h, 0, sizeof(h));
	RAND_bytes(h.id, sizeof(h.id));
	(void)str_copy(h.peer_addr, sizeof(h.peer_addr), "127.0.0.1:1");
	(void)str_copy(h.http_addr, sizeof(h.http_addr), "127.0.0.1:2");
	if (twire_put_hello(b, &h) < 0)
		exit(2);
}

static void
files(struct buf *b)
{
	struct twire_list li;
	struct twire_file f;
	int i;

	memset(&f, 0, sizeof(f));
	f.live = true;
	f.size = 3;
	(void)str_copy(f.version, sizeof(f.version), "00000001:1");
	if (twire_list_begin(&li, b, WIRE_T_FILES, TWIRE_FLAG_RESET) < 0)
		exit(2);
	for (i = 0; i < 2; i++) {
		(void)snprintf(f.path, sizeof(f.path), "probe/file-%d.txt", i);
		f.sha256[0] = (uint8_t)i;
		if (twire_add_file(&li, &f) < 0)
			exit(2);
	}
	if (twire_list_end(&li) < 0)
		exit(2);
}

/* A list written by hand: the encoder would refuse these paths. */
static void
raw_files(struct buf *b, const char *path, uint32_t claimed)
{
	uint8_t sha[HASH_LEN] = { 0 };

	if (wire_begin(b, WIRE_T_FILES) < 0 || wire_u8(b, 0) < 0 ||
	    wire_u32(b, claimed) < 0 || wire_u8(b, 1) < 0 ||
	    wire_str(b, path) < 0 || wire_u64(b, 1) < 0 ||
	    wire_fixed(b, sha, HASH_LEN) < 0 || wire_str(b, "0a:1") < 0 ||
	    wire_end(b) < 0)
		exit(2);
}

/* Reads until the tracker closes or 5 s pass; reports a refusal. */
static void
watch(SSL *ssl, int fd, int seconds)
{
	uint8_t in[1 << 16];
	size_t have = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t deadline = time(NULL) + seconds;
	struct wire_hdr h;
	char why[TWIRE_MSG_MAX + 1];
	int n;

	for (;;) {
		if (time(NULL) >= deadline) {
			printf("open\n");
			return;
		}
		if (SSL_pending(ssl) == 0 && (poll(&pfd, 1, 500) <= 0 ||
		    !(pfd.revents & (POLLIN | POLLHUP))))
			continue;
		n = SSL_read(ssl, in + have, (int)(sizeof(in) - have));
		if (n <= 0) {
			printf("closed\n");
			return;
		}
		have += (size_t)n;
		while (have >= WIRE_HDR_LEN && wire_frame_check(in, &h) == 0 &&
		    have >= WIRE_HDR_LEN + h.len) {
			if (h.type == WIRE_T_REFUSE && twire_get_refuse(in +
			    WIRE_HDR_LEN, h.len, why, sizeof(why)) == 0)
				printf("refused: %s\n", why);
			else if (h.type == WIRE_T_WELCOME)
				printf("welcome\n");
			memmove(in, in + WIRE_HDR_LEN + h.len, have -
			    WIRE_HDR_LEN - h.len);
			have -= WIRE_HDR_LEN + h.len;
		}
		if (have == sizeof(in))
			have = 0;
	}
}

int
main(int argc, char **argv)
{
	uint8_t key[TLS_CLUSTER_KEY_LEN], junk[64];
	struct sockaddr_storage ss;
	const char *mode;
	char err[256];
	struct buf b;
	SSL_CTX *ctx;
	socklen_t sl;
	SSL *ssl;
	int fd;

	if (argc != 4 || tls_cluster_key_parse(argv[1], key) < 0 ||
	    addr_parse(argv[2], &ss, &sl) < 0) {
		fprintf(stderr, "usage: tracker_probe KEYHEX HOST:PORT MODE\n");
		return (2);
	}
	mode = argv[3];
	ctx = strcmp(mode, "peer-key") == 0 ? tls_peer_ctx(key, 0, err,
	    sizeof(err)) : tls_tracker_ctx(key, 0, err, sizeof(err));
	if (ctx == NULL || (fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("tracker_probe: connect");
		return (1);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		printf("handshake failed\n");
		return (0);
	}
	buf_init(&b, WIRE_FRAME_MAX + WIRE_HDR_LEN);
	if (strcmp(mode, "garbage") != 0 && strcmp(mode, "files-first") != 0) {
		hello(&b);
		if (send_buf(ssl, &b) < 0)
			return (1);
	}
	buf_reset(&b);
	if (strcmp(mode, "register") == 0 || strcmp(mode, "files-first") == 0)
		files(&b);
	else if (strcmp(mode, "oversized") == 0) {
		uint8_t h[WIRE_HDR_LEN] = { WIRE_VERSION, WIRE_T_FILES, 0, 0,
		    0x05, 0xf5, 0xe1, 0x00 };

		if (buf_append(&b, h, sizeof(h)) < 0)
			return (2);
	} else if (strcmp(mode, "unknown-type") == 0) {
		uint8_t h[WIRE_HDR_LEN] = { WIRE_VERSION, 200, 0, 0, 0, 0, 0,
		    4 };

		if (buf_append(&b, h, sizeof(h)) < 0 ||
		    buf_append(&b, "abcd", 4) < 0)
			return (2);
	} else if (strcmp(mode, "garbage") == 0) {
		RAND_bytes(junk, sizeof(junk));
		if (buf_append(&b, junk, sizeof(junk)) < 0)
			return (2);
	} else if (strcmp(mode, "dotdot") == 0)
		raw_files(&b, "../escaped.txt", 1);
	else if (strcmp(mode, "bad-count") == 0)
		raw_files(&b, "probe/ok.txt", 1000);
	if (b.len > 0 && send_buf(ssl, &b) < 0) {
		printf("closed\n");
		return (0);
	}
	/* A good registration stays open: no need to wait long for that. */
	watch(ssl, fd, strcmp(mode, "register") == 0 ? 1 : 5);
	return (0);
}
