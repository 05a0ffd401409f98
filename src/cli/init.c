/*
 * init: makes a folder a node.  Everything is created under a temporary
 * name and renamed into place last, so a failed init leaves no half-made
 * .shoal behind.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "front/auth.h"
#include "net/tls.h"
#include "store/hash.h"
#include "store/index.h"

static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) <
	    0)
		return (-errno);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return (-errno);
	}
	fputs(text, f);
	if (fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		return (-EIO);
	}
	return (fclose(f) == 0 ? 0 : -EIO);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return (remove(path) < 0 ? -1 : 0);
}

/* Removes our own half-made temp folder after a failed init. */
static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
write_hex(const char *path, const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 2];
	size_t i;

	for (i = 0; i < n && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	hex[2 * i] = '\n';
	hex[2 * i + 1] = '\0';
	return (write_file(path, hex, 0600));
}

static int
make_private(const char *dir, const char *priv, char *node_id,
    const uint8_t key[TLS_CLUSTER_KEY_LEN], const char *replicas,
    const char *tls_names)
{
	char p[FS_PATH_MAX], err[256];
	uint8_t id[16];
	struct index *ix;
	FILE *f;
	int i, rc;

	if (mkdir(priv, 0700) < 0)
		return (-errno);
	RAND_bytes(id, sizeof(id));
	for (i = 0; i < 16; i++)
		snprintf(node_id + 2 * i, 3, "%02x", id[i]);
	if (str_fmt(p, sizeof(p), "%s/node_id", priv) < 0)
		return (-ENAMETOOLONG);
	if ((rc = write_file(p, node_id, 0600)) < 0)
		return (rc);
	if (str_fmt(p, sizeof(p), "%s/cluster_key", priv) < 0)
		return (-ENAMETOOLONG);
	if ((rc = write_hex(p, key, TLS_CLUSTER_KEY_LEN)) < 0)
		return (rc);
	{
		uint8_t tok[16];

		RAND_bytes(tok, sizeof(tok));
		if (str_fmt(p, sizeof(p), "%s/api_token", priv) < 0)
			return (-ENAMETOOLONG);
		if ((rc = write_hex(p, tok, sizeof(tok))) < 0)
			return (rc);
	}
	/* Without it (a joining node) it is learned from the cluster. */
	if (replicas != NULL) {
		char line[32];

		if (str_fmt(p, sizeof(p), "%s/replicas", priv) < 0 ||
		    str_fmt(line, sizeof(line), "%s\n", replicas) < 0)
			return (-ENAMETOOLONG);
		if ((rc = write_file(p, line, 0644)) < 0)
			return (rc);
	}
	if (str_fmt(p, sizeof(p), "%s/shoal.conf", priv) < 0)
		return (-ENAMETOOLONG);
	if ((f = fopen(p, "wx")) == NULL)
		return (-errno);
	cfg_write_template(f);
	if (fclose(f) != 0)
		return (-EIO);
	if (str_fmt(p, sizeof(p), "%s/users", priv) < 0)
		return (-ENAMETOOLONG);
	if ((rc = auth_file_add(p, AUTH_GUEST, AUTH_GUEST, 0)) < 0)
		return (rc);
	if (str_fmt(p, sizeof(p), "%s/tls", priv) < 0 || mkdir(p, 0700) < 0)
		return (-errno);
	if (str_fmt(p, sizeof(p), "%s/tmp", priv) < 0 || mkdir(p, 0700) < 0)
		return (-errno);
	{
		char cert[FS_PATH_MAX], tkey[FS_PATH_MAX];

		if (str_fmt(cert, sizeof(cert), "%s/tls/cert.pem", priv) < 0 ||
		    str_fmt(tkey, sizeof(tkey), "%s/tls/key.pem", priv) < 0)
			return (-ENAMETOOLONG);
		if ((rc = tls_make_self_signed(cert, tkey, node_id,
		    tls_names)) < 0)
			return (rc);
	}
	if (str_fmt(p, sizeof(p), "%s/index.db", priv) < 0)
		return (-ENAMETOOLONG);
	if ((ix = index_open(p, id, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shoal: %s\n", err);
		return (-EIO);
	}
	index_close(ix);
	(void)dir;
	return (0);
}

int
cli_init(int argc, char **argv)
{
	char priv[FS_PATH_MAX], tmp[FS_PATH_MAX], node_id[33];
	char khex[TLS_CLUSTER_KEY_HEX_LEN + 1];
	uint8_t key[TLS_CLUSTER_KEY_LEN];
	const char *dir = NULL, *join = NULL, *replicas = NULL;
	const char *tls_names = NULL;
	char why[300];
	struct stat st;
	int rc, dfd, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--join") == 0 && i + 1 < argc)
			join = argv[++i];
		else if (strcmp(argv[i], "--replicas") == 0 && i + 1 < argc)
			replicas = argv[++i];
		else if (strcmp(argv[i], "--tls-names") == 0 && i + 1 < argc)
			tls_names = argv[++i];
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			dir = NULL, i = argc + 1;
	}
	if (dir == NULL || i > argc) {
		fprintf(stderr, "usage: shoal init DIR [--join KEY] "
		    "[--replicas N|all] [--tls-names NAME,...]\n");
		return (2);
	}
	if (tls_names_check(tls_names, why, sizeof(why)) < 0) {
		fprintf(stderr, "shoal: --tls-names: %s (give host names or "
		    "IP addresses, separated by commas)\n", why);
		return (2);
	}
	if (replicas != NULL && strcmp(replicas, "all") != 0) {
		uint64_t v;

		if (span_u64(span_str(replicas), 255, &v) < 0 || v < 1) {
			fprintf(stderr, "shoal: --replicas: a number of copies "
			    "from 1 to 255, or 'all'\n");
			return (2);
		}
	}
	/* A new cluster keeps every file on every node unless told. */
	if (replicas == NULL && join == NULL)
		replicas = "all";
	if (join) {
		if (tls_cluster_key_parse(join, key) < 0) {
			fprintf(stderr, "shoal: --join: a cluster key is %d "
			    "hex digits (as 'shoal init' printed it)\n",
			    TLS_CLUSTER_KEY_HEX_LEN);
			return (1);
		}
	} else
		RAND_bytes(key, sizeof(key));
	tls_cluster_key_hex(key, khex);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "shoal: %s: %s\n", dir, strerror(errno));
		return (1);
	}
	if (str_fmt(priv, sizeof(priv), "%s/.shoal", dir) < 0 ||
	    str_fmt(tmp, sizeof(tmp), "%s/.shoal.init-%ld", dir,
	    (long)getpid()) < 0) {
		fprintf(stderr, "shoal: %s: path too long\n", dir);
		return (1);
	}
	if (stat(priv, &st) == 0) {
		fprintf(stderr, "shoal: %s is already a node\n", dir);
		return (1);
	}
	if ((rc = make_private(dir, tmp, node_id, key, replicas,
	    tls_names)) < 0) {
		fprintf(stderr, "shoal: cannot initialise %s: %s\n", dir,
		    strerror(-rc));
		rm_tree(tmp);
		return (1);
	}
	if (rename(tmp, priv) < 0) {
		fprintf(stderr, "shoal: %s: %s\n", priv, strerror(errno));
		rm_tree(tmp);
		return (1);
	}
	if ((dfd = open(dir, O_DIRECTORY | O_RDONLY)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	printf("initialised %s as node %s\n", dir, node_id);
	if (replicas && strcmp(replicas, "all") != 0)
		printf("each file is kept on %s nodes\n", replicas);
	if (join)
		printf(
		    "this node will join the cluster of the given key when "
		    "it starts ('shoal node %s'); nothing was contacted yet\n",
		    dir);
	else
		printf("cluster key: %s\n(other nodes join with 'shoal init "
		    "DIR --join KEY'; keep it secret)\n", khex);
	printf("FTP account: guest/guest (loopback only; change it with "
	    "'shoal -C %s user passwd guest')\n", dir);
	return (0);
}
