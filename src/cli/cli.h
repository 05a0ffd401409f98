/*
 * cli: the `shoal` commands that work on a node's folder directly.
 */
#ifndef SHOAL_CLI_CLI_H
#define SHOAL_CLI_CLI_H

/* shoal init DIR: prepares DIR/.shoal.  Returns the exit status. */
int	cli_init(int argc, char **argv);
/* shoal -C DIR user add|passwd|del|list ... */
int	cli_user(const char *dir, int argc, char **argv);

#endif
