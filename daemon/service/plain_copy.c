#include "plain_copy.h"
#include "json_value.h"

#include <lauxlib.h>
#include <stdio.h>

#define MAX_DEPTH 64

struct copy {
  lua_State *from, *to;
  int seen;          /* index in `from` of a table: tables on the current path */
  char *err;
  size_t errlen;
};

static bool copy_value(struct copy *c, int idx, const char *path, int depth);

static bool fail(struct copy *c, const char *path, const char *why) {
  snprintf(c->err, c->errlen, "%s: %s", path, why);
  return false;
}

static bool copy_table(struct copy *c, int idx, const char *path, int depth) {
  lua_State *from = c->from, *to = c->to;
  if (depth > MAX_DEPTH)
    return fail(c, path, "nested too deep");
  if (lua_getmetatable(from, idx))
    return fail(c, path, "a table with a metatable (plain data only)");
  lua_pushvalue(from, idx);
  if (lua_rawget(from, c->seen) != LUA_TNIL)
    return fail(c, path, "a table that contains itself (plain data only)");
  lua_pop(from, 1);
  lua_pushvalue(from, idx);
  lua_pushboolean(from, 1);
  lua_rawset(from, c->seen);
  if (!lua_checkstack(from, 4) || !lua_checkstack(to, 4))
    return fail(c, path, "nested too deep");
  lua_newtable(to);
  lua_pushnil(from);
  while (lua_next(from, idx)) {
    int key = lua_gettop(from) - 1;
    int kt = lua_type(from, key);
    char sub[512];
    if (kt == LUA_TSTRING)
      snprintf(sub, sizeof sub, "%s.%s", path, lua_tostring(from, key));
    else if (kt == LUA_TNUMBER || kt == LUA_TBOOLEAN)
      snprintf(sub, sizeof sub, "%s[%s]", path, luaL_tolstring(from, key, NULL)), lua_pop(from, 1);
    else
      snprintf(sub, sizeof sub, "%s[?]", path);
    /* On failure the stacks are left as they are: plain_copy resets both. */
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
      return fail(c, sub, "a key that is not a string, number or boolean (plain data only)");
    if (!copy_value(c, key, sub, depth + 1) || !copy_value(c, key + 1, sub, depth + 1))
      return false;
    lua_rawset(to, -3);
    lua_pop(from, 1);
  }
  lua_pushvalue(from, idx);
  lua_pushnil(from);
  lua_rawset(from, c->seen);
  return true;
}

static bool copy_value(struct copy *c, int idx, const char *path, int depth) {
  lua_State *from = c->from, *to = c->to;
  switch (lua_type(from, idx)) {
  case LUA_TNIL:
    lua_pushnil(to);
    return true;
  case LUA_TBOOLEAN:
    lua_pushboolean(to, lua_toboolean(from, idx));
    return true;
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx))
      lua_pushinteger(to, lua_tointeger(from, idx));
    else
      lua_pushnumber(to, lua_tonumber(from, idx));
    return true;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(from, idx, &n);
    lua_pushlstring(to, s, n);
    return true;
  }
  case LUA_TTABLE:
    return copy_table(c, idx, path, depth);
  case LUA_TLIGHTUSERDATA:
    /* net.json.null and net.json.emptyArray are the same pointers in
     * every state of the process: what JSON decodes to passes as it is. */
    if (lnet_json_is_null(from, idx) || lnet_json_is_empty_array(from, idx)) {
      lua_pushlightuserdata(to, lua_touserdata(from, idx));
      return true;
    }
  /* fall through */
  default: {
    char why[96];
    snprintf(why, sizeof why, "a %s (plain data only)", luaL_typename(from, idx));
    return fail(c, path, why);
  }
  }
}

bool plain_copy(lua_State *from, int idx, lua_State *to, const char *what, char *err, size_t errlen) {
  idx = lua_absindex(from, idx);
  int top_from = lua_gettop(from), top_to = lua_gettop(to);
  lua_newtable(from);
  struct copy c = { from, to, lua_gettop(from), err, errlen };
  bool ok = copy_value(&c, idx, what, 0);
  lua_settop(from, top_from);
  if (!ok)
    lua_settop(to, top_to);
  return ok;
}
