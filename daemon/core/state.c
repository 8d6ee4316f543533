#include "state.h"
#include "budget.h"
#include "lua_library.h"
#include "luanet.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LUANET_LUA_DIR
#define LUANET_LUA_DIR "/usr/share/luanetd/lua"
#endif

static const struct lua_library_module *library;

void state_use_library(const struct lua_library_module *modules) {
  library = modules;
}

/* package.preload's loader for a module of the built-in library: arg 1 is
 * its name. Its chunk is named by the file it was built from. */
static int load_library_module(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const struct lua_library_module *m = library; m->name; m++) {
    if (strcmp(m->name, name) != 0)
      continue;
    lua_pushfstring(L, "@%s/%s", LUANET_LUA_DIR, m->file);
    if (luaL_loadbufferx(L, m->source, m->len, lua_tostring(L, -1), "t") != LUA_OK)
      return lua_error(L);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
  }
  return luaL_error(L, "module '%s' is not in luanetd's library", name);
}

/* luanet.core is built in. The Lua library is too, in the luanetd binary
 * (state_use_library), unless LUANET_LUA_DIR names a directory to load it
 * from (a developer's edits, without a rebuild); otherwise, and in the
 * core.so of a stock lua5.4, it comes first on package.path. */
static void setup_package(lua_State *L) {
  const char *dir = getenv("LUANET_LUA_DIR");
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_luanet_core);
  lua_setfield(L, -2, "luanet.core");
  if (library && !dir) {
    for (const struct lua_library_module *m = library; m->name; m++) {
      lua_pushcfunction(L, load_library_module);
      lua_setfield(L, -2, m->name);
    }
  } else {
    if (!dir)
      dir = LUANET_LUA_DIR;
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -3, "path");
    lua_concat(L, 2);
    lua_setfield(L, -3, "path");
  }
  lua_pop(L, 2);
}

/* os.exit([code [, close]]) as lua5.4's, but with close it ends the state
 * through state_close: lua_close alone would leave our budget and its
 * block cache allocated (LeakSanitizer reported them after busted's
 * os.exit(code, true)). */
static int state_os_exit(lua_State *L) {
  int status;
  if (lua_isboolean(L, 1))
    status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  else
    status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  if (lua_toboolean(L, 2))
    state_close(L);
  exit(status);
}

static int open_state(lua_State *L) {
  luaL_openlibs(L);
  lua_getglobal(L, "os");
  lua_pushcfunction(L, state_os_exit);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);
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
