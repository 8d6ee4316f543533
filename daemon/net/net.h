/* Lua-free socket helpers. Each returns -1 with errno set on failure, as the
 * syscalls they wrap do; every descriptor is non-blocking and close-on-exec. */
#ifndef LUANET_NET_H
#define LUANET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* An address and its length, as bind/connect take them. */
struct net_addr {
  struct sockaddr_storage ss;
  socklen_t len;
};

#define NET_ADDRSTRLEN 64   /* an IPv6 text with a %scope */

/* Parses an IPv4 or IPv6 literal ("127.0.0.1", "::1", "fe80::1%eth0",
 * "[::1]"); false when `text` is not one. */
bool net_addr_parse(const char *text, int port, struct net_addr *out);
void net_addr_any(int family, int port, struct net_addr *out);
/* The address without its port, into buf (NET_ADDRSTRLEN bytes). */
const char *net_addr_format(const struct sockaddr *sa, char *buf);
int net_addr_port(const struct sockaddr *sa);
void net_addr_set_port(struct net_addr *a, int port);
/* ::ffff:a.b.c.d as a.b.c.d, in place. */
void net_addr_unmap_v4(struct sockaddr_storage *ss);
/* Makes `a` sendable from a socket of `family`: IPv4 on a dual-stack
 * socket becomes v4-mapped, v4-mapped on an IPv4 socket plain IPv4. */
void net_addr_fit_family(struct net_addr *a, int family);

/* Starts a non-blocking connect; 0 or -1 with errno (EINPROGRESS is 0). */
int net_tcp_connect(const struct net_addr *to, int *fd_out);
/* The result of a connect that became writable: 0 or an errno value. */
int net_connect_result(int fd);
/* socket + SO_REUSEADDR + bind + listen. `dual_stack` clears IPV6_V6ONLY. */
int net_tcp_listen(const struct net_addr *at, int backlog, bool dual_stack);
int net_accept(int listen_fd);
/* The daemon's listeners. A plain bind (SO_REUSEADDR for a stream, so
 * that TIME_WAIT does not count) then close: -1 with EADDRINUSE when
 * someone else holds the address, even one that SO_REUSEPORT would let us
 * share. */
int net_bind_probe(const struct net_addr *at, int type);
/* socket(type) + bind, with SO_REUSEPORT when `share`, IPV6_V6ONLY (an
 * address means that address), and listen(backlog) for a stream. */
int net_listen_socket(const struct net_addr *at, int type, bool share, int backlog);
/* A stream socket listening on a Unix path. */
int net_unix_listen(const char *path, int backlog);
/* Makes a Unix path free to bind: 0 when nothing is there or only the
 * socket file of a process that is gone (removed); -1 with ENOTSOCK when
 * the path is something else, EADDRINUSE when something accepts there. */
int net_unix_claim(const char *path);
/* Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit. */
long net_raise_nofile_limit(void);

#endif
