/* What the daemon needs of UdpSocket beyond its Lua methods. */
#ifndef LUANET_UDP_SOCKET_H
#define LUANET_UDP_SOCKET_H

#include <lua.h>

/* [-0, +1, m] A UdpSocket in BoundState on fd, a bound datagram socket it
 * now owns, as if bind() had opened it. The runtime must be open. */
void udp_socket_push_bound(lua_State *L, int fd);
/* [-0, +1, m] The class table (net.UdpSocket). */
int luaopen_luanet_udp_socket(lua_State *L);

#endif
