/* The Lua library (the files of lua/luanet) built into the luanetd binary
 * (cmake/embed_lua.cmake writes the table at build time). A daemon that
 * drops privileges (user = "nobody") must not need to read its own
 * library from a checkout or prefix the new user cannot read (/root is
 * 0700), and the binary then always runs the library it was built and
 * tested with. The luanet/core.so that a stock lua5.4 loads has no such
 * table: it finds the library on package.path. */
#ifndef LUANET_LUA_LIBRARY_H
#define LUANET_LUA_LIBRARY_H

#include <stddef.h>

struct lua_library_module {
  const char *name;          /* "luanet.http"; "luanet" for luanet/init.lua */
  const char *file;          /* "luanet/http/init.lua", under the Lua directory */
  const char *source;
  size_t len;
};

/* Ends with an entry whose name is NULL. */
extern const struct lua_library_module lua_library_modules[];

#endif
