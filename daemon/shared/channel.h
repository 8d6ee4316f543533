/* net.Channel (channel.c): the class table for luanet.c. */
#ifndef LUANET_CHANNEL_H
#define LUANET_CHANNEL_H

#include <lua.h>

/* [-0, +1, m] The class table (net.Channel). */
int luaopen_luanet_channel(lua_State *L);

#endif
