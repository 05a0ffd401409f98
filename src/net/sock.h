/*
 * sock: socket options shared by every listener.
 */
#ifndef SHOAL_NET_SOCK_H
#define SHOAL_NET_SOCK_H

/*
 * Disables Nagle's algorithm: replies and frames are whole messages, and
 * holding a small one back until the last is acknowledged costs a delayed
 * ACK (some 40 ms) per request.
 */
void	sock_nodelay(int fd);

#endif
