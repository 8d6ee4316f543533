/* What the daemon and TcpSocket need of TcpServer beyond its Lua methods. */
#ifndef LUANET_TCP_SERVER_H
#define LUANET_TCP_SERVER_H

#include <lua.h>
#include <stdbool.h>

/* [-0, +1, m] A TcpServer accepting on fd, a listening socket it now
 * owns, as if listen() had opened it. The runtime must be open. */
void tcp_server_push_listening(lua_State *L, int fd);
/* A held server does not accept (the daemon holds a new generation's
 * servers until it switches to it); the backlog keeps what comes. */
void tcp_server_hold(lua_State *L, int idx, bool held);

/* The server at idx, when its connections are encrypted and its TLS
 * configuration names no ALPN list, offers `list` ("h2,http/1.1": an
 * HttpServer serving it). */
void tcp_server_offer_alpn(lua_State *L, int idx, const char *list);

/* [-0, +1, m] The class table (net.TcpServer). */
int luaopen_luanet_tcp_server(lua_State *L);

#endif
