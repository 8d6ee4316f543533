/* The file-system functions of net (statvfs), for scripts that watch disks. */
#ifndef LUANET_FS_H
#define LUANET_FS_H

#include <lua.h>

int luaopen_luanet_fs(lua_State *L);

#endif
