/* net.HttpParser: what code outside daemon/http needs of it, the class
 * table for luanet.c. */
#ifndef LUANET_HTTP_PARSER_H
#define LUANET_HTTP_PARSER_H

#include <lua.h>

/* [-0, +1, m] The class table (net.HttpParser). */
int luaopen_luanet_http_parser(lua_State *L);

#endif
