/* Copies plain data (nil, booleans, numbers, strings, net.json.null and
 * net.json.emptyArray, and tables of them without metatables or cycles)
 * from one Lua state to another: how a service's options reach its
 * state, and how service.state crosses a reload, decoded JSON included. */
#ifndef LUANET_PLAIN_COPY_H
#define LUANET_PLAIN_COPY_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

/* [-0, +1 on `to`] Pushes onto `to` a copy of the value at idx in `from`.
 * On anything that is not plain data, pushes nothing, writes "KEY.PATH:
 * why" to err (the path starts with `what`) and returns false. */
bool plain_copy(lua_State *from, int idx, lua_State *to, const char *what, char *err, size_t errlen);

#endif
