/* The luanet.core module: every class and function of the core in one table. */
#ifndef LUANET_LUANET_H
#define LUANET_LUANET_H

#include <lua.h>

int luaopen_luanet_core(lua_State *L);

#endif
