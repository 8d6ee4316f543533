/* Argument checks every class makes, and registry anchors (lua_args.c). */
#ifndef LUANET_LUA_ARGS_H
#define LUANET_LUA_ARGS_H

#include <lua.h>
#include <stdbool.h>

/* Registry anchors: keep an object alive while libev holds it. */
int lnet_anchor(lua_State *L, int idx);
void lnet_unanchor(lua_State *L, int *ref);
/* Raises "bad argument #n (function expected)" unless callable. */
void lnet_check_callable(lua_State *L, int idx);
/* Tables with a class's metatable (Signal, Connection). */
bool lnet_test_table_class(lua_State *L, int idx, const char *tname);
void lnet_check_table_class(lua_State *L, int idx, const char *tname);
/* A socket option's value: a boolean, or an integer that fits a C int
 * (setsockopt takes an int; a larger one would be cut silently). */
int lnet_check_option_value(lua_State *L, int idx);
/* Milliseconds argument with a default, as Qt's int msecs. */
double lnet_opt_ms(lua_State *L, int idx, double def);

#endif
