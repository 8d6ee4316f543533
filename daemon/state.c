#include "state.h"
#include "budget.h"
#include "luanet.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef LUANET_LUA_DIR
#define LUANET_LUA_DIR "/usr/share/luanetd/lua"
#endif

/* Our Lua modules come first on package.path; luanet.core is built in. */
static void setup_package(lua_State *L) {
  const char *dir = getenv("LUANET_LUA_DIR");
  if (!dir)
    dir = LUANET_LUA_DIR;
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_luanet_core);
  lua_setfield(L, -2, "luanet.core");
  lua_pop(L, 2);
}

static int open_state(lua_State *L) {
  luaL_openlibs(L);
  setup_package(L);
  return 0;
}

/* An error outside any protected call: nothing can recover the state. */
static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "luanetd: PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
  return 0;   /* Lua aborts */
}

static lua_State *prepare(lua_State *L) {
  if (!L)
    return NULL;
  lua_atpanic(L, panic);
  /* Generational, as lua5.4's own interpreter runs it: a server's garbage
   * is mostly young (the strings read and written per event). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_pushcfunction(L, open_state);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    state_close(L);
    return NULL;
  }
  return L;
}

lua_State *state_new(void) {
  struct budget *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->owned = true;
  lua_State *L = lua_newstate(budget_lua_alloc, b);
  if (!L) {
    free(b);
    return NULL;
  }
  return prepare(L);
}

lua_State *state_new_budget(struct budget *b) {
  return prepare(lua_newstate(budget_lua_alloc, b));
}

void state_close(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  struct budget *b = ud;
  lua_close(L);
  block_cache_drain(&b->cache);
  if (b->owned)
    free(b);
}
