/*
 * cli: the `shoal` commands that work on a node's folder directly.
 */
#ifndef SHOAL_CLI_CLI_H
#define SHOAL_CLI_CLI_H

#include <stdint.h>

/* shoal init DIR: prepares DIR/.shoal.  Returns the exit status. */
int	cli_init(int argc, char **argv);
/* Parses a cluster key as `init` prints it. */
int	cli_parse_key(const char *, uint8_t key[32]);
struct client;
struct client_opts;

/* peers|status|add|bye through the node's HTTP endpoint. */
int	cli_ctl(struct client *, int argc, char **argv);
/* put|get|ls|rm|mv|mkdir|send|lock|unlock and the above. */
int	cli_remote(const struct client_opts *, int argc, char **argv);
/* The interactive shell. */
int	cli_shell(const struct client_opts *);
/* shoal -C DIR user add|passwd|del|list ... */
int	cli_user(const char *dir, int argc, char **argv);

#endif
