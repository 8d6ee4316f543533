/* net.json: decode (json_decode.c), encode (json_encode.c) and the two
 * values that JSON needs and Lua lacks, null and an empty array that is
 * not an empty object (json_value.h). daemon/luanet.c sets the table as
 * luanet.core's `json`, so scripts reach it as net.json. */
#include "json.h"
#include "json_decode.h"
#include "json_encode.h"
#include "json_value.h"

#include <lauxlib.h>

int luaopen_luanet_json(lua_State *L) {
  static const luaL_Reg functions[] = {
    { "decode", json_decode },
    { "encode", json_encode },
    { NULL, NULL },
  };
  luaL_newlib(L, functions);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  lua_pushlightuserdata(L, LNET_JSON_EMPTY_ARRAY);
  lua_setfield(L, -2, "emptyArray");
  return 1;
}
