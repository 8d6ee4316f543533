/* net.WebSocket's C half (websocket.c): the class table for luanet.c.
 * The handshake is Lua's (lua/luanet/ws/); once it is done, the socket is
 * attached here and its frames are read and written in C. */
#ifndef LUANET_WEBSOCKET_H
#define LUANET_WEBSOCKET_H

#include <lua.h>

/* [-0, +1, m] The class table (net.WebSocket). */
int luaopen_luanet_websocket(lua_State *L);

#endif
