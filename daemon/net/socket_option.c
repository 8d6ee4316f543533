/* Qt's SocketOption on a descriptor: its level and name per family. On an
 * IPv6 socket the IP-level options are set for both families, since a
 * dual-stack socket carries IPv4 too. Each returns -1 with errno set. */
#include "socket_option.h"
#include "socket_error.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* Sets a Qt socket option. On an IPv6 socket the IP-level options are set
 * for both families, since a dual-stack socket carries IPv4 too. */
int net_set_option(int fd, int family, int opt, int value) {
  int v6name = -1, v4name = -1;
  switch (opt) {
  case OPT_LOW_DELAY:
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value);
  case OPT_KEEP_ALIVE:
    return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &value, sizeof value);
  case OPT_SEND_BUFFER:
    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof value);
  case OPT_RECEIVE_BUFFER:
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value);
  case OPT_MULTICAST_TTL:
    v4name = IP_MULTICAST_TTL, v6name = IPV6_MULTICAST_HOPS;
    break;
  case OPT_MULTICAST_LOOPBACK:
    value = value != 0;
    v4name = IP_MULTICAST_LOOP, v6name = IPV6_MULTICAST_LOOP;
    break;
  case OPT_TYPE_OF_SERVICE:
    v4name = IP_TOS, v6name = IPV6_TCLASS;
    break;
  }
  int r4 = setsockopt(fd, IPPROTO_IP, v4name, &value, sizeof value);
  if (family == AF_INET)
    return r4;
  return setsockopt(fd, IPPROTO_IPV6, v6name, &value, sizeof value);
}

int net_get_option(int fd, int family, int opt, int *value) {
  static const int levels[] = { IPPROTO_TCP, SOL_SOCKET, IPPROTO_IP, IPPROTO_IP, IPPROTO_IP,
                                SOL_SOCKET, SOL_SOCKET };
  static const int names4[] = { TCP_NODELAY, SO_KEEPALIVE, IP_MULTICAST_TTL, IP_MULTICAST_LOOP,
                                IP_TOS, SO_SNDBUF, SO_RCVBUF };
  static const int names6[] = { TCP_NODELAY, SO_KEEPALIVE, IPV6_MULTICAST_HOPS,
                                IPV6_MULTICAST_LOOP, IPV6_TCLASS, SO_SNDBUF, SO_RCVBUF };
  int level = levels[opt], name = names4[opt];
  if (family == AF_INET6 && level == IPPROTO_IP)
    level = IPPROTO_IPV6, name = names6[opt];
  *value = 0;
  socklen_t len = sizeof *value;
  return getsockopt(fd, level, name, value, &len);
}
