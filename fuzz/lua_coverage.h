/* What the fuzz targets of Lua modules share: libFuzzer sees the C of the
 * Lua VM, not the branches of the module, so a line hook feeds it the
 * transitions between the module's lines as extra coverage counters, and
 * the module is loaded once into the harness's state.
 *
 * Include once, after defining LUA_MODULE_PATH (the module's file). */
#ifndef LUANET_FUZZ_LUA_COVERAGE_H
#define LUANET_FUZZ_LUA_COVERAGE_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hit counts of (previous line, line) pairs in the module, hashed. */
#define EDGES 4096
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_edges[EDGES];

static int prev_line;   /* reset per input: same input, same edges */

/* The chunk's functions share one source string, so after the first match
 * a pointer compare recognises it. */
static void line_hook(lua_State *hl, lua_Debug *ar) {
  static const char *module_source;
  if (!lua_getinfo(hl, "S", ar))
    return;
  if (ar->source != module_source) {
    if (module_source || strcmp(ar->source, "@" LUA_MODULE_PATH) != 0)
      return;
    module_source = ar->source;
  }
  unsigned edge = ((unsigned)prev_line * 7919u ^ (unsigned)ar->currentline) % EDGES;
  if (lua_edges[edge] < 255)
    lua_edges[edge]++;
  prev_line = ar->currentline;
}

static const char *fuzz_target = "fuzz";   /* the target's name, for messages */

/* A broken invariant: what, and the input in hex, then abort(). */
__attribute__((noreturn, unused)) static void fuzz_fail(const char *what, const uint8_t *data, size_t size) {
  fprintf(stderr, "%s: invariant broken: %s\ninput (%zu bytes):", fuzz_target, what, size);
  for (size_t i = 0; i < size && i < 300; i++)
    fprintf(stderr, " %02x", data[i]);
  fprintf(stderr, "\n");
  abort();
}

/* Calls module.name(the nargs values on the stack top) with nres results
 * (module_ref: the module's registry reference); a raise is a broken
 * invariant. [-nargs, +nres, -] */
__attribute__((unused)) static void fuzz_call(lua_State *L, int module_ref, const char *name, int nargs, int nres,
                                              const uint8_t *data, size_t size) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -(nargs + 1));
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    fprintf(stderr, "%s: %s raised: %s\n", fuzz_target, name, lua_tostring(L, -1));
    fuzz_fail("the module raised", data, size);
  }
}

/* A new state with the standard libraries and the line hook; the module's
 * table is left in the registry, its reference returned. */
static lua_State *fuzz_open_module(const char *target, int *module_ref) {
  fuzz_target = target;
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: luaL_newstate failed\n", target);
    abort();
  }
  luaL_openlibs(L);
  if (luaL_loadfile(L, LUA_MODULE_PATH) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "%s: cannot load %s: %s\n", target, LUA_MODULE_PATH, lua_tostring(L, -1));
    abort();
  }
  *module_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  return L;
}

#endif
