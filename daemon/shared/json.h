/* net.json (json.c): JSON's text to and from plain Lua data. What the
 * values look like is json_value.h's; the text's rules json_text.h's. */
#ifndef LUANET_JSON_H
#define LUANET_JSON_H

#include <lua.h>

/* [-0, +1] The table net.json: decode, encode, null, emptyArray. */
int luaopen_luanet_json(lua_State *L);

#endif
