/* File-system figures for scripts (issue 4). Placeholder. */
#include "lnet.h"

int luaopen_luanet_fs(lua_State *L) {
  (void)L;
  return 0;
}
