/* net.SharedDict (shared_dict_lua.c): the class table for luanet.c. */
#ifndef LUANET_SHARED_DICT_LUA_H
#define LUANET_SHARED_DICT_LUA_H

#include <lua.h>

/* [-0, +1, m] The class table (net.SharedDict). */
int luaopen_luanet_shared_dict(lua_State *L);

#endif
