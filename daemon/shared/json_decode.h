/* net.json.decode (json_decode.c). */
#ifndef LUANET_JSON_DECODE_H
#define LUANET_JSON_DECODE_H

#include <lua.h>

/* decode(text) -> value, or nil and "json: what at byte N" (N counted
 * from 1). The value is plain data in json_value.h's representation. */
int json_decode(lua_State *L);

#endif
