/* Datagram sockets without Lua (udp.c): each function returns -1 with
 * errno set on failure, as the syscalls it wraps. */
#ifndef LUANET_NET_UDP_H
#define LUANET_NET_UDP_H

#include "net.h"

#include <stdbool.h>
#include <sys/types.h>

/* Qt's BindMode flags, as net_udp_open takes them. */
enum net_udp_bind_flag { NET_UDP_SHARE = 1, NET_UDP_DONT_SHARE = 2, NET_UDP_REUSE_HINT = 4 };

/* What every datagram socket of ours has: SO_BROADCAST and IP_RECVERR. */
void net_udp_prepare(int fd, int family);
/* A non-blocking datagram socket bound to `at` with the bind flags;
 * `dual_stack` clears IPV6_V6ONLY (Qt's Any). */
int net_udp_open(const struct net_addr *at, bool dual_stack, unsigned flags);
/* The size of the next datagram, or -1 when none is queued. */
ssize_t net_udp_pending_size(int fd);
/* recvmsg of one datagram; *from gets its sender. */
ssize_t net_udp_recv(int fd, char *buf, size_t len, struct sockaddr_storage *from);
/* sendto, retried past an earlier datagram's ICMP error. */
ssize_t net_udp_send(int fd, const char *data, size_t len, const struct net_addr *to);
/* One error off the error queue: its errno, 0 for a local one (already
 * reported by the send), -1 when the queue is empty. */
int net_udp_next_queued_error(int fd);
/* The interface multicast leaves from (0: the kernel's choice). */
int net_udp_set_multicast_if(int fd, int family, unsigned ifindex);
/* Joins or leaves a multicast group on interface ifindex. */
int net_udp_membership(int fd, int family, struct net_addr *group, unsigned ifindex, bool join);

#endif
