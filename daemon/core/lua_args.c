/* Argument checks every class makes (callables, table classes, option
 * values, milliseconds), and registry anchors that keep an object alive
 * while libev holds it. */
#include "lua_args.h"

#include <lauxlib.h>
#include <limits.h>

int lnet_anchor(lua_State *L, int idx) {
  lua_pushvalue(L, idx);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

void lnet_unanchor(lua_State *L, int *ref) {
  if (*ref != LUA_NOREF && *ref != LUA_REFNIL)
    luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = LUA_NOREF;
}

void lnet_check_callable(lua_State *L, int idx) {
  if (lua_isfunction(L, idx))
    return;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  luaL_typeerror(L, idx, "function");
}

bool lnet_test_table_class(lua_State *L, int idx, const char *tname) {
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
    return false;
  luaL_getmetatable(L, tname);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

void lnet_check_table_class(lua_State *L, int idx, const char *tname) {
  if (!lnet_test_table_class(L, idx, tname))
    luaL_typeerror(L, idx, tname);
}

int lnet_check_option_value(lua_State *L, int idx) {
  if (lua_isboolean(L, idx))
    return lua_toboolean(L, idx);
  lua_Integer v = luaL_checkinteger(L, idx);
  luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, idx, "value out of range");
  return (int)v;
}

double lnet_opt_ms(lua_State *L, int idx, double def) {
  return luaL_optnumber(L, idx, def);
}
