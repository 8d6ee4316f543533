/* A fresh Lua state as luanetd runs scripts in it: the standard libraries,
 * `require "luanet"` built in, our Lua library first on package.path, and
 * the generational collector. Script mode, services and the config loader
 * all start from one. */
#ifndef LUANET_STATE_H
#define LUANET_STATE_H

#include <lua.h>

struct budget;
struct lua_library_module;

/* The states made from now on load the luanet Lua modules from `modules`
 * (lua_library.h) rather than from files; main() calls it. */
void state_use_library(const struct lua_library_module *modules);

/* NULL when there is no memory for it. */
lua_State *state_new(void);
/* The same, allocating through a budget (a service's memory_limit). */
lua_State *state_new_budget(struct budget *b);
/* lua_close, then the state's cached blocks go back to malloc (and the
 * budget that state_new made is freed). */
void state_close(lua_State *L);

#endif
