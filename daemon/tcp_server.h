/* What the daemon needs of TcpServer beyond its Lua methods. */
#ifndef LUANET_TCP_SERVER_H
#define LUANET_TCP_SERVER_H

#include <lua.h>

/* [-0, +1, m] A TcpServer accepting on fd, a listening socket it now
 * owns, as if listen() had opened it. The runtime must be open. */
void tcp_server_push_listening(lua_State *L, int fd);

#endif
