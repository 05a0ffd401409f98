/*
 * addr: numeric address parsing and comparison.  No name resolution: a
 * node's listen and peer addresses are numeric, so nothing here blocks.
 */
#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"

int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *hs;
	size_t hl;
	uint64_t port;
	struct span ps;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return (-EINVAL);
		hs = s + 1;
		hl = (size_t)(end - hs);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return (-EINVAL);
		hs = s;
		hl = (size_t)(colon - s);
	}
	ps.p = colon + 1;
	ps.len = strlen(colon + 1);
	if (span_u64(ps, 65535, &port) < 0 || hl >= sizeof(host))
		return (-EINVAL);
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (hl == 0 || strcmp(host, "*") == 0)
		memcpy(host, "0.0.0.0", sizeof("0.0.0.0"));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return (0);
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return (0);
	}
	return (-EINVAL);
}

const char *
addr_parse_error(const char *s)
{
	struct sockaddr_storage ss;
	const char *colon, *hs, *p;
	bool v4ish = true, v6ish = false;
	struct span ps;
	uint64_t port;
	socklen_t sl;
	size_t hl;

	if (addr_parse(s, &ss, &sl) == 0)
		return ("no error");
	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return ("an IPv6 address is written [ADDR]:PORT");
		hs = s + 1;
		hl = (size_t)(colon - hs);
		colon++;
	} else if ((colon = strrchr(s, ':')) == NULL)
		return ("no port: give HOST:PORT, such as 127.0.0.1:2121");
	else {
		hs = s;
		hl = (size_t)(colon - s);
	}
	ps.p = colon + 1;
	ps.len = strlen(colon + 1);
	if (span_u64(ps, 65535, &port) < 0)
		return ("the port is not a number from 0 to 65535");
	for (p = hs; p < hs + hl; p++) {
		if (*p == ':')
			v6ish = true;
		if ((*p < '0' || *p > '9') && *p != '.')
			v4ish = false;
	}
	if (s[0] == '[' || v6ish)
		return ("not a numeric IPv6 address");
	if (v4ish)
		return ("not an IPv4 address of four numbers 0-255 (short "
			"forms such as 127.1 are not accepted)");
	return ("host names are not resolved: give a numeric address, "
		"such as 127.0.0.1 (or [::1]) for this machine");
}

const char *
addr_host(const struct sockaddr *sa, char *out, size_t size)
{
	const void *p;

	if (sa->sa_family == AF_INET)
		p = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else {
		snprintf(out, size, "?");
		return (out);
	}
	if (inet_ntop(sa->sa_family, p, out, (socklen_t)size) == NULL)
		snprintf(out, size, "?");
	return (out);
}

void
addr_fill_wildcard(char *addr, const struct sockaddr *seen)
{
	struct sockaddr_storage ss, host;
	socklen_t sl;
	unsigned port;

	if ((strncmp(addr, "0.0.0.0:", 8) != 0 &&
	    strncmp(addr, "[::]:", 5) != 0) ||
	    addr_parse(addr, &ss, &sl) < 0)
		return;
	port = addr_port((struct sockaddr *)&ss);
	memcpy(&host, seen, addr_len(seen));
	addr_set_port((struct sockaddr *)&host, port);
	addr_str((struct sockaddr *)&host, addr);
}

const char *
addr_str(const struct sockaddr *sa, char *out)
{
	char host[INET6_ADDRSTRLEN];

	addr_host(sa, host, sizeof(host));
	if (sa->sa_family == AF_INET6)
		snprintf(out, ADDR_STR_MAX, "[%s]:%u", host, addr_port(sa));
	else
		snprintf(out, ADDR_STR_MAX, "%s:%u", host, addr_port(sa));
	return (out);
}

unsigned
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)sa)->sin_port));
	if (sa->sa_family == AF_INET6)
		return (ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
	return (0);
}

void
addr_set_port(struct sockaddr *sa, unsigned port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	return (sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
}

/* The IPv4 address of sa, unwrapping v4-mapped v6; false if it has none. */
static bool
addr_v4(const struct sockaddr *sa, struct in_addr *out)
{
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		*out = ((const struct sockaddr_in *)sa)->sin_addr;
		return (true);
	}
	if (sa->sa_family != AF_INET6)
		return (false);
	sin6 = (const struct sockaddr_in6 *)sa;
	if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return (false);
	memcpy(out, &sin6->sin6_addr.s6_addr[12], 4);
	return (true);
}

bool
addr_is_loopback(const struct sockaddr *sa)
{
	struct in_addr a;

	if (addr_v4(sa, &a))
		return ((ntohl(a.s_addr) >> 24) == 127);
	if (sa->sa_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr));
	return (false);
}

bool
addr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	struct in_addr a4, b4;
	bool va = addr_v4(a, &a4), vb = addr_v4(b, &b4);

	if (va || vb)
		return (va && vb && a4.s_addr == b4.s_addr);
	if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6)
		return (false);
	return (memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0);
}
