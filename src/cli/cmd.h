/*
 * cmd: the table of the `shoal` commands that talk to a node (their
 * usage, the options each takes, how many arguments) and the one option
 * parser they all go through, so `--help`, unknown options and extra
 * arguments behave the same for every command: `--help` prints the usage
 * on stdout and does nothing else (exit 0); a usage error prints why and
 * the usage line on stderr (exit 2).  Also the output helpers every
 * command shares: JSON printed the same way, remote paths absolute, and
 * columns padded by display width.
 */
#ifndef SHOAL_CLI_CMD_H
#define SHOAL_CLI_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct client;
struct client_opts;
struct response;

#define CLI_POS_MAX 3

enum {
	CLI_OPT_R = 1 << 0,	/* -r, --recursive */
	CLI_OPT_O = 1 << 1,	/* -o FILE */
	CLI_OPT_P = 1 << 2,	/* -p, --parents */
	CLI_OPT_ALL = 1 << 3,	/* --all */
	CLI_OPT_TTL = 1 << 4,	/* --ttl SECONDS */
	CLI_OPT_WATCH = 1 << 5, /* -w, --watch */
	CLI_OPT_WAIT = 1 << 6,	/* --wait */
	CLI_OPT_VERSION = 1 << 7, /* --version ID */
	CLI_OPT_BEFORE = 1 << 8,  /* --before TIME */
	CLI_OPT_DRY = 1 << 9,	  /* -n, --dry-run */
};

struct cli_cmd;

/* What the parser found.  path[i] (owned, freed by cli_args_release) is
 * positional i made absolute when the table says it is a remote path. */
struct cli_args {
	const struct cli_cmd *cmd;
	int npos;
	const char *pos[CLI_POS_MAX];
	char *path[CLI_POS_MAX];
	unsigned opts;
	const char *out;
	uint64_t ttl;
	const char *version; /* --version */
	const char *before;  /* --before */
};

typedef int cli_run_fn(struct client *, const struct cli_args *);

struct cli_cmd {
	const char *name;
	const char *args; /* the usage after the name */
	const char *what; /* one line for --help */
	unsigned opts;	  /* CLI_OPT_* it takes */
	int min, max;	  /* positional arguments */
	unsigned remote;  /* bit i: positional i is a remote path */
	cli_run_fn *run;  /* NULL: the shell */
};

/* The command named name, or NULL. */
const struct cli_cmd *cli_cmd_find(const char *name);
/* Every command, for the shell's CMDS; the last entry's name is NULL. */
const struct cli_cmd *cli_cmd_table(void);
/*
 * Parses argv[1..] for cmd.  Returns 0 (a is filled), 1 (--help was
 * printed) or 2 (a usage error was printed).  *json is set by --json.
 */
int cli_parse(const struct cli_cmd *, int argc, char **argv, struct cli_args *,
	      bool *json);
void cli_args_release(struct cli_args *);
void cli_usage(const struct cli_cmd *, FILE *);

/* A remote path with exactly one leading '/' (malloc'd). */
char *cli_abs(const char *);
/* Prints j on stdout (one line): remote paths absolute, floats short. */
void cli_print_json(json_t *);
/* Parses a JSON answer body and prints it as cli_print_json does. */
void cli_print_body(struct response *);
/* A failure of cmd on path: one line on stderr (JSON with --json). */
int cli_fail(const char *cmd, const char *path, const char *why);
/*
 * Splits line in place into at most max words for the shell: blanks
 * separate, 'single' and "double" quotes keep blanks, a backslash takes
 * the next character as it is (but not inside single quotes).  Returns the
 * count, or -1 with *why set.
 */
int cli_split(char *line, char **argv, int max, const char **why);
/* Columns of a UTF-8 string on a terminal; and s padded to width. */
size_t cli_width(const char *);
void cli_pad(const char *s, size_t width);

/* The handlers (files.c, ctl.c). */
cli_run_fn files_put, files_get, files_ls, files_rm, files_mv, files_mkdir,
    files_send, files_lock, files_unlock, files_pin, files_unpin, files_pins;
cli_run_fn vers_list, vers_trash, vers_restore_cmd;
cli_run_fn ctl_peers, ctl_status, ctl_add, ctl_bye, ctl_scrub;

#endif
