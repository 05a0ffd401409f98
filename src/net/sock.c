/*
 * sock: socket options.  Failures are harmless (the socket still works,
 * only slower), so they are not reported.
 */
#include "net/sock.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void
sock_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
