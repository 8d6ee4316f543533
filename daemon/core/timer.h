/* net.Timer: Qt's QTimer over an ev_timer (start, stop, singleShot). */
#ifndef LUANET_TIMER_H
#define LUANET_TIMER_H

#include <lua.h>

int luaopen_luanet_timer(lua_State *L);

#endif
