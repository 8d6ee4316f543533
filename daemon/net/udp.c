/* Datagram sockets without Lua: open and bind with Qt's bind flags, the
 * pending size, receive and send (retrying past a stale ICMP error, which
 * the error queue reports instead), the error queue, and multicast. Each
 * function returns -1 with errno set, as the syscalls it wraps. */
#include "udp.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* What every datagram socket of ours has: SO_BROADCAST (Qt's sockets
 * broadcast without asking) and IP_RECVERR, so that an ICMP error comes
 * back as a queued error instead of being lost. */
void net_udp_prepare(int fd, int family) {
  int on = 1;
  if (family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  /* On an AF_INET6 socket this one covers the IPv4 traffic of dual stack. */
  setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
}

/* A datagram socket bound to `at`, with the bind flags. `dual_stack`
 * clears IPV6_V6ONLY for Qt's Any. */
int net_udp_open(const struct net_addr *at, bool dual_stack, unsigned flags) {
  int family = at->ss.ss_family;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int on = 1, off = 0;
  if (family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &off : &on, sizeof on);
  net_udp_prepare(fd, family);
  int err = 0;
  if ((flags & (NET_UDP_SHARE | NET_UDP_REUSE_HINT)) &&
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
    err = errno;
  if (!err && (flags & NET_UDP_SHARE) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
    err = errno;
  if (!err && bind(fd, (const struct sockaddr *)&at->ss, at->len) < 0)
    err = errno;
  if (err) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* The size of the next datagram, or -1 when none is queued. A stale error
 * (sk_err of an earlier datagram) fails one call; the queue keeps it. */
ssize_t net_udp_pending_size(int fd) {
  for (int tries = 0; tries < 3; tries++) {
    ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (n >= 0)
      return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return -1;
  }
  return -1;
}

/* recvmsg with the same retry; returns bytes or -1 with errno. */
ssize_t net_udp_recv(int fd, char *buf, size_t len, struct sockaddr_storage *from) {
  ssize_t n = -1;
  for (int tries = 0; tries < 3; tries++) {
    struct iovec iov = { buf, len };
    struct msghdr msg = { .msg_name = from, .msg_namelen = sizeof *from,
                          .msg_iov = &iov, .msg_iovlen = 1 };
    if ((n = recvmsg(fd, &msg, MSG_DONTWAIT)) >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
      break;
  }
  return n;
}

ssize_t net_udp_send(int fd, const char *data, size_t len, const struct net_addr *to) {
  ssize_t n = -1;
  for (int tries = 0; tries < 3; tries++) {
    n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&to->ss, to->len);
    /* ECONNREFUSED here is an ICMP answer to an earlier datagram. */
    if (n >= 0 || (errno != EINTR && errno != ECONNREFUSED && errno != EHOSTUNREACH &&
                   errno != ENETUNREACH))
      break;
  }
  return n;
}

/* Takes one error off the socket's error queue: its errno, 0 for one that
 * was reported already (a local error, which the send itself returned), or
 * -1 when the queue is empty. */
int net_udp_next_queued_error(int fd) {
  char control[512];
  struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof control };
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
    return errno == EINTR ? 0 : -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
      continue;
    struct sock_extended_err ee;
    memcpy(&ee, CMSG_DATA(c), sizeof ee);   /* CMSG_DATA need not be aligned */
    return ee.ee_origin == SO_EE_ORIGIN_LOCAL ? 0 : (int)ee.ee_errno;
  }
  return 0;
}

/* The interface multicast leaves from (0: the kernel's choice). */
int net_udp_set_multicast_if(int fd, int family, unsigned ifindex) {
  struct ip_mreqn m = { .imr_ifindex = (int)ifindex };
  int r4 = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
  if (family == AF_INET)
    return r4;
  int index = (int)ifindex;
  return setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index);
}

/* Joins or leaves `group` on interface ifindex (0: the kernel's choice;
 * for IPv6, a scope in the group's literal when there is one). */
int net_udp_membership(int fd, int family, struct net_addr *group, unsigned ifindex, bool join) {
  net_addr_unmap_v4(&group->ss);
  if (group->ss.ss_family == AF_INET) {
    struct ip_mreqn m = { .imr_ifindex = (int)ifindex };
    m.imr_multiaddr = ((struct sockaddr_in *)&group->ss)->sin_addr;
    return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
  }
  if (family != AF_INET6) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  struct sockaddr_in6 *g = (struct sockaddr_in6 *)&group->ss;
  struct ipv6_mreq m = { .ipv6mr_multiaddr = g->sin6_addr,
                         .ipv6mr_interface = ifindex ? ifindex : g->sin6_scope_id };
  return setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof m);
}
