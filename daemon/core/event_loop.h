/* net.exec, net.quit, net.processEvents, net.sleep, net.clock and
 * net.spawn (event_loop.c). */
#ifndef LUANET_EVENT_LOOP_H
#define LUANET_EVENT_LOOP_H

#include <lua.h>

/* [-0, +0, m] Sets the functions in the table on the stack top. */
int luaopen_luanet_event_loop(lua_State *L);

#endif
