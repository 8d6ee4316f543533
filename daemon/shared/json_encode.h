/* net.json.encode (json_encode.c). */
#ifndef LUANET_JSON_ENCODE_H
#define LUANET_JSON_ENCODE_H

#include <lua.h>

/* encode(value [, { indent = bool, sortKeys = bool }]) -> text, or nil
 * and "json: PATH: what" (PATH as value.users[3].name). Raises only on a
 * bad options argument. */
int json_encode(lua_State *L);

#endif
