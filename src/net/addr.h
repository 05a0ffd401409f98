/*
 * addr: socket addresses as people write them ("127.0.0.1:2121",
 * "[::1]:2121") and as logs show them.
 */
#ifndef SHOAL_NET_ADDR_H
#define SHOAL_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDR_STR_MAX	64	/* "[v6]:port" fits */

/* Parses HOST:PORT (numeric host; "*" or empty host means 0.0.0.0). */
int	addr_parse(const char *, struct sockaddr_storage *, socklen_t *)
	    __attribute__((warn_unused_result));
/*
 * Why addr_parse refused s, in words for an error message.  Host names
 * (localhost included) are refused rather than resolved: a lookup could
 * block, and "localhost" may mean 127.0.0.1, ::1 or both.  So are the
 * short IPv4 forms inet_aton takes ("127.1").
 */
const char *addr_parse_error(const char *s);
/* Formats as HOST:PORT into out[ADDR_STR_MAX]. */
const char *addr_str(const struct sockaddr *, char *out);
/* Formats only the host. */
const char *addr_host(const struct sockaddr *, char *out, size_t);
bool	addr_is_loopback(const struct sockaddr *);
/*
 * addr[ADDR_STR_MAX] names a listener; if its host is a wildcard
 * ("0.0.0.0", "[::]"), replaces that host with the one seen on the
 * connection from it, keeping the port.
 */
void	addr_fill_wildcard(char *addr, const struct sockaddr *seen);
/* Same host (ignores ports); IPv4-mapped IPv6 equals its IPv4 form. */
bool	addr_same_host(const struct sockaddr *, const struct sockaddr *);
unsigned addr_port(const struct sockaddr *);
void	addr_set_port(struct sockaddr *, unsigned);
socklen_t addr_len(const struct sockaddr *);

#endif
