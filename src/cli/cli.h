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
/* shoal -C DIR peers|status|add|bye: talks to the running node. */
int	cli_ctl(const char *dir, int argc, char **argv);
/* shoal -C DIR user add|passwd|del|list ... */
int	cli_user(const char *dir, int argc, char **argv);

#endif
