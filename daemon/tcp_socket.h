/* net.TcpSocket: QTcpSocket on a non-blocking fd and two ev_io watchers. */
#ifndef LUANET_TCP_SOCKET_H
#define LUANET_TCP_SOCKET_H

#include "lnet.h"

/* [-0, +1, m] A connected TcpSocket for an accepted fd, already reading. */
void tcp_socket_push_accepted(lua_State *L, struct lnet_runtime *rt, int fd);
/* Closes the socket at idx without signals (its server is going away). */
void tcp_socket_release(lua_State *L, int idx);
int luaopen_luanet_tcp_socket(lua_State *L);

#endif
