/*
 * shoal: one binary for the node, the tracker and the client commands.
 *
 *   shoal init DIR [--join KEY]
 *   shoal node DIR [--ftp|--peer|--http HOST:PORT] [--sync-writes K] ...
 *   shoal [-C DIR] user add|passwd|del|list [NAME] [--password PW]
 *   shoal tracker DIR [--listen HOST:PORT] [--http HOST:PORT] [--db DB]
 *   shoal [-C DIR] peers|status|add HOST:PORT|bye
 *   shoal config [--markdown]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/cfg.h"
#include "base/fspath.h"
#include "base/log.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "node.h"
#include "tracker/tracker.h"

#define SHOAL_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: shoal [-C DIR | --node URL --user NAME] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "  init DIR [--join KEY] [--replicas N|all] [--tls-names N,...]\n"
	    "                                prepare DIR as a node (of a new\n"
	    "                                cluster keeping N copies of each\n"
	    "                                file, or of KEY's cluster)\n"
	    "  node DIR [--ftp HOST:PORT] [--peer HOST:PORT] [--http HOST:PORT]\n"
	    "           [--s3 HOST:PORT|off] [--dav HOST:PORT|off]\n"
	    "           [--tracker HOST:PORT]\n"
	    "           [--sync-writes K] [--repair-delay SECONDS]\n"
	    "           [--ftp-require-tls auto|yes|no]\n"
	    "           [--log-level LEVEL] [-o SECTION.KEY=VALUE ...]\n"
	    "                                serve DIR until SIGINT/SIGTERM\n"
	    "  tracker DIR [--listen HOST:PORT] [--http HOST:PORT|off]\n"
	    "           [--db sqlite:PATH|postgresql://...] [--expire SECONDS]\n"
	    "           [--log-level LEVEL]\n"
	    "                                the directory of nodes, files and\n"
	    "                                locks (DIR made by init --join)\n"
	    "  put [-r] LOCAL|- REMOTE       upload a file, a tree (-r) or standard\n"
	    "                                input (-); REMOTE ending in / is a folder\n"
	    "  get [-r] REMOTE [-o LOCAL|-]  download, through the local cache\n"
	    "  ls [PATH]  rm PATH  mv FROM TO  mkdir [-p] PATH\n"
	    "  ls --all [PATH]               every file in the network and its\n"
	    "                                holders (tracker)\n"
	    "  send PATH                     offer a file to every node\n"
	    "  lock PATH [--ttl SECONDS]     cluster-wide write lock (tracker)\n"
	    "  unlock PATH\n"
	    "  pin PATH, unpin PATH, pins    keep a copy here whatever the\n"
	    "                                placement (replicas = N)\n"
	    "  peers                         members, best first\n"
	    "  status                        this node, its members and files\n"
	    "  add HOST:PORT                 add a member (remembered)\n"
	    "  bye                           leave the cluster and stop\n"
	    "  shell                         interactive: ADD LIST GET SEND BYE CMDS\n"
	    "  user add NAME [--password PW] [--admin]\n"
	    "                                add an account (admin: may also\n"
	    "                                stop the node and add members)\n"
	    "  user passwd NAME [--password PW]\n"
	    "  user del NAME | user list\n"
	    "  s3 key add ACCOUNT            an S3 access key and its secret\n"
	    "                                for ACCOUNT (printed once)\n"
	    "  s3 key list | s3 key del ACCESS_KEY\n"
	    "  config [--markdown]           every configuration key, its\n"
	    "                                default and meaning\n"
	    "  version\n"
	    "\n"
	    "Where: -C DIR (the node in DIR; default: the nearest folder\n"
	    "upward holding .shoal/), or --node http[s]://HOST:PORT --user NAME\n"
	    "[--cacert FILE] (password from SHOAL_PASSWORD or a prompt).\n"
	    "COMMAND --help prints its usage.  --json prints machine-readable\n"
	    "output (errors as JSON on stderr).  Without --password, user\n"
	    "add/passwd read the password from standard input.\n");
}

/* "-o section.key=value" */
static int
apply_override(struct cfg *c, const char *opt)
{
	char sec[64], key[64], err[256];
	const char *dot = strchr(opt, '.'), *eq = strchr(opt, '=');

	if (dot == NULL || eq == NULL || dot > eq ||
	    (size_t)(dot - opt) >= sizeof(sec) ||
	    (size_t)(eq - dot - 1) >= sizeof(key)) {
		fprintf(stderr, "shoal: -o %s: expected SECTION.KEY=VALUE\n",
		    opt);
		return (-EINVAL);
	}
	memcpy(sec, opt, (size_t)(dot - opt));
	sec[dot - opt] = '\0';
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = '\0';
	if (cfg_set(c, sec, key, eq + 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: -o %s: %s\n", opt, err);
		return (-EINVAL);
	}
	return (0);
}

static int
cmd_node(int argc, char **argv)
{
	struct cfg c;
	char path[FS_PATH_MAX], err[512];
	const char *dir = NULL;
	enum log_level lvl;
	int i;

	cfg_defaults(&c);
	for (i = 1; i < argc; i++)
		if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else if (argv[i][0] == '-' && i + 1 < argc &&
		    (strcmp(argv[i], "--ftp") == 0 ||
		    strcmp(argv[i], "--peer") == 0 ||
		    strcmp(argv[i], "--http") == 0 ||
		    strcmp(argv[i], "--s3") == 0 ||
		    strcmp(argv[i], "--dav") == 0 ||
		    strcmp(argv[i], "--ftp-require-tls") == 0 ||
		    strcmp(argv[i], "--sync-writes") == 0 ||
		    strcmp(argv[i], "--repair-delay") == 0 ||
		    strcmp(argv[i], "--tracker") == 0 ||
		    strcmp(argv[i], "--log-level") == 0 ||
		    strcmp(argv[i], "-o") == 0))
			i++;
		else {
			fprintf(stderr, "shoal: node: unexpected '%s'\n",
			    argv[i]);
			return (2);
		}
	if (dir == NULL) {
		fprintf(stderr, "usage: shoal node DIR [--ftp HOST:PORT] "
		    "[--log-level LEVEL] [-o SECTION.KEY=VALUE]\n");
		return (2);
	}
	if (str_fmt(path, sizeof(path), "%s/.shoal/shoal.conf", dir) < 0 ||
	    cfg_load(&c, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		return (1);
	}
	/* Flags override the file, whatever their order. */
	for (i = 1; i < argc; i++) {
		const char *v = argv[i + 1 < argc ? i + 1 : i];
		int rc = 0;

		if (strcmp(argv[i], "--ftp") == 0)
			rc = cfg_set(&c, "ftp", "listen", v, err, sizeof(err));
		else if (strcmp(argv[i], "--peer") == 0)
			rc = cfg_set(&c, "peer", "listen", v, err, sizeof(err));
		else if (strcmp(argv[i], "--http") == 0)
			rc = cfg_set(&c, "http", "listen", v, err, sizeof(err));
		else if (strcmp(argv[i], "--s3") == 0)
			rc = cfg_set(&c, "s3", "listen", v, err, sizeof(err));
		else if (strcmp(argv[i], "--dav") == 0)
			rc = cfg_set(&c, "dav", "listen", v, err, sizeof(err));
		else if (strcmp(argv[i], "--ftp-require-tls") == 0)
			rc = cfg_set(&c, "ftp", "require_tls", v, err,
			    sizeof(err));
		else if (strcmp(argv[i], "--sync-writes") == 0)
			rc = cfg_set(&c, "sync", "writes", v, err, sizeof(err));
		else if (strcmp(argv[i], "--repair-delay") == 0)
			rc = cfg_set(&c, "sync", "repair_delay", v, err,
			    sizeof(err));
		else if (strcmp(argv[i], "--tracker") == 0)
			rc = cfg_set(&c, "tracker", "address", v, err,
			    sizeof(err));
		else if (strcmp(argv[i], "--log-level") == 0)
			rc = cfg_set(&c, "node", "log_level", v, err,
			    sizeof(err));
		else if (strcmp(argv[i], "-o") == 0) {
			if (apply_override(&c, v) < 0)
				return (1);
		} else
			continue;
		if (rc < 0) {
			fprintf(stderr, "shoal: %s %s: %s\n", argv[i], v, err);
			return (1);
		}
		i++;
	}
	if (log_level_parse(c.log_level, &lvl) == 0)
		log_set_level(lvl);
	return (node_run(dir, &c));
}

static int
cmd_tracker(int argc, char **argv)
{
	struct tracker_opts o = { .listen = "0.0.0.0:5050",
	    .http = "127.0.0.1:5051", .expire_s = 60 };
	enum log_level lvl;
	uint64_t v;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] :
		    NULL;

		if (a[0] != '-' && o.dir == NULL) {
			o.dir = a;
			continue;
		}
		if (val == NULL) {
			fprintf(stderr, "shoal: tracker: '%s' needs a value\n",
			    a);
			return (2);
		}
		if (strcmp(a, "--listen") == 0)
			o.listen = val;
		else if (strcmp(a, "--http") == 0)
			o.http = val;
		else if (strcmp(a, "--db") == 0)
			o.db = val;
		else if (strcmp(a, "--expire") == 0) {
			if (span_u64(span_str(val), 86400, &v) < 0 || v < 2) {
				fprintf(stderr, "shoal: tracker: --expire "
				    "takes 2 to 86400 seconds\n");
				return (2);
			}
			o.expire_s = (unsigned)v;
		} else if (strcmp(a, "--log-level") == 0) {
			if (log_level_parse(val, &lvl) < 0) {
				fprintf(stderr, "shoal: tracker: unknown log "
				    "level '%s'\n", val);
				return (2);
			}
			log_set_level(lvl);
		} else {
			fprintf(stderr, "shoal: tracker: unexpected '%s'\n",
			    a);
			return (2);
		}
		i++;
	}
	if (o.dir == NULL) {
		fprintf(stderr, "usage: shoal tracker DIR [--listen HOST:PORT] "
		    "[--http HOST:PORT|off] [--db sqlite:PATH|postgresql://...]"
		    " [--expire SECONDS]\n");
		return (2);
	}
	return (tracker_run(&o));
}

/*
 * COMMAND --help for the commands that work on a folder: the usage, and
 * nothing done.  The commands through the HTTP API have theirs in
 * cli/cmd.c's table.
 */
static bool
local_help(int argc, char **argv)
{
	static const struct {
		const char *name, *usage;
	} local[] = {
		{ "init", "init DIR [--join KEY] [--replicas N|all] "
		    "[--tls-names NAME,...]" },
		{ "node", "node DIR [--ftp HOST:PORT] [--peer HOST:PORT] "
		    "[--http HOST:PORT] [--s3 HOST:PORT|off] [--dav HOST:PORT|off] "
		    "[--tracker HOST:PORT] [--sync-writes K] [--repair-delay SECONDS] "
		    "[--ftp-require-tls auto|yes|no] [--log-level LEVEL] "
		    "[-o SECTION.KEY=VALUE ...]" },
		{ "tracker", "tracker DIR [--listen HOST:PORT] "
		    "[--http HOST:PORT|off] [--db sqlite:PATH|postgresql://...] "
		    "[--expire SECONDS] [--log-level LEVEL]" },
		{ "user", "user add|passwd NAME [--password PW] | user del NAME "
		    "| user list" },
		{ "s3", "s3 key add ACCOUNT | s3 key list | s3 key del "
		    "ACCESS_KEY [--json]" },
		{ "config", "config [--markdown]" },
	};
	size_t k;
	int i;

	for (k = 0; k < sizeof(local) / sizeof(*local); k++) {
		if (strcmp(argv[0], local[k].name) != 0)
			continue;
		for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
			if (strcmp(argv[i], "-h") == 0 ||
			    strcmp(argv[i], "--help") == 0) {
				printf("usage: shoal %s\n", local[k].usage);
				return (true);
			}
	}
	return (false);
}

int
main(int argc, char **argv)
{
	struct client_opts o;
	char dirbuf[FS_PATH_MAX];
	int i = 1;

	log_init("shoal", LOG_LVL_INFO);
	memset(&o, 0, sizeof(o));
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) {
			o.dir = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
			o.node = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			o.user = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc) {
			o.cacert = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return (0);
		} else {
			usage(stderr);
			return (2);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return (2);
	}
	argc -= i;
	argv += i;
	if (local_help(argc, argv))
		return (0);
	if (strcmp(argv[0], "init") == 0)
		return (cli_init(argc, argv));
	if (strcmp(argv[0], "node") == 0)
		return (cmd_node(argc, argv));
	if (strcmp(argv[0], "tracker") == 0)
		return (cmd_tracker(argc, argv));
	if (strcmp(argv[0], "version") == 0) {
		printf("shoal %s\n", SHOAL_VERSION);
		return (0);
	}
	if (strcmp(argv[0], "config") == 0) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--markdown"))) {
			fprintf(stderr, "usage: shoal config [--markdown]\n");
			return (2);
		}
		cfg_write_keys(stdout, argc == 2);
		return (0);
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return (0);
	}
	/* The commands through the HTTP API, shell included (cli/cmd.c). */
	if (cli_is_remote(argv[0]))
		return (cli_remote(&o, argc, argv));
	if (strcmp(argv[0], "user") == 0 || strcmp(argv[0], "s3") == 0) {
		if (o.dir == NULL) {
			if (client_find_node_dir(dirbuf, sizeof(dirbuf)) < 0) {
				fprintf(stderr, "shoal: not inside a node "
				    "folder; use -C DIR\n");
				return (1);
			}
			o.dir = dirbuf;
		}
		if (strcmp(argv[0], "s3") == 0)
			return (cli_s3(o.dir, o.json, argc, argv));
		return (cli_user(o.dir, argc, argv));
	}
	fprintf(stderr, "shoal: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return (2);
}
