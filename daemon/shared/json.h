/* placeholder until net.json lands (wt-json): the sentinels only */
#ifndef LUANET_JSON_H
#define LUANET_JSON_H
#include <stdbool.h>
#include <lua.h>
extern const char lnet_json_empty_array;
#define LNET_JSON_EMPTY_ARRAY ((void *)&lnet_json_empty_array)
#endif
