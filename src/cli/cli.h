/*
 * cli: the `shoal` commands that work on a node's folder directly.
 */
#ifndef SHOAL_CLI_CLI_H
#define SHOAL_CLI_CLI_H

#include <stdbool.h>

/* shoal init DIR: prepares DIR/.shoal.  Returns the exit status. */
int	cli_init(int argc, char **argv);
struct client;
struct client_opts;

/* Whether name is one of the commands cli_remote runs (cmd.c's table). */
int cli_is_remote(const char *name);
/* put|get|ls|rm|mv|mkdir|send|lock|unlock|pin|unpin|pins|peers|status|
 * add|bye|shell: argv[0] is the command.  Returns the exit status (2 for
 * a usage error, 0 after --help). */
int	cli_remote(const struct client_opts *, int argc, char **argv);
/* The interactive shell. */
int	cli_shell(const struct client_opts *);
/* shoal -C DIR user add|passwd|del|list ... */
int	cli_user(const char *dir, int argc, char **argv);
/* shoal -C DIR s3 key add ACCOUNT | key list | key del AK (json: --json
 * given before the command; it is also taken after). */
int	cli_s3(const char *dir, bool json, int argc, char **argv);

#endif
