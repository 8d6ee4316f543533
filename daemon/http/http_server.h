/* net.HttpServer: what code outside daemon/http needs of it, the class
 * table for luanet.c. Its inside, shared by the folder's files, is in
 * http_private.h. */
#ifndef LUANET_HTTP_SERVER_H
#define LUANET_HTTP_SERVER_H

#include <lua.h>

/* [-0, +1, m] The class table (net.HttpServer); registers the metatables
 * of its requests and responses too. */
int luaopen_luanet_http_server(lua_State *L);

#endif
