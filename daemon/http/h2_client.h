/* net._Http2Client, the HTTP/2 client's connection (h2_client.c): the
 * library's own, for lua/luanet/http/client.lua. */
#ifndef LUANET_H2_CLIENT_H
#define LUANET_H2_CLIENT_H

#include <lua.h>

/* [-0, +1, m] The class table. */
int luaopen_luanet_http2_client(lua_State *L);

#endif
