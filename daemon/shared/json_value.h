/* The Lua values that stand for JSON's null and for an empty array
 * (json_value.c). Both are light userdata, so they are plain data: they
 * have no metatable, every Lua state of the process sees the same value,
 * and code that copies values between states (the state handoff,
 * SharedDict, Channel) passes them on as the pointers they are.
 *
 *   null  a NULL light userdata (as lua-cjson's cjson.null), which
 *         JSON's null decodes to and which encodes to null;
 *   []    the address of lnet_json_empty_array: an empty Lua table
 *         cannot say whether it was [] or {}, so {} decodes to an empty
 *         table and [] to this, and each encodes back to what it was.
 * A non-empty array decodes to a sequence, any object to a table with
 * string keys. */
#ifndef LUANET_JSON_VALUE_H
#define LUANET_JSON_VALUE_H

#include <lua.h>
#include <stdbool.h>

extern const char lnet_json_empty_array;
/* Lua never writes through a light userdata: the cast drops const only. */
#define LNET_JSON_EMPTY_ARRAY ((void *)&lnet_json_empty_array)

static inline bool lnet_json_is_null(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static inline bool lnet_json_is_empty_array(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == LNET_JSON_EMPTY_ARRAY;
}

#endif
