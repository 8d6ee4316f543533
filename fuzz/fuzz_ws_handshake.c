/* fuzz/fuzz_ws_handshake.c: libFuzzer target for what a WebSocket server
 * reads before its frames: the client's handshake head, judged by
 * lua/luanet/ws/head.lua (check_request, on parse and has_token).
 *
 * The input is the head. Checked, else abort():
 *   - nothing raises;
 *   - check_request gives a request or a status, never both nor neither;
 *   - a status is 400 or 426, and only 426 adds a header (the version);
 *   - a request has a key of 24 base64 characters ending "==", a target
 *     without whitespace, and a host field;
 *   - parse and check_request agree: no request from an unparsable head;
 *   - the input as a Sec-WebSocket-Extensions value: deflate_accept gives
 *     nil, or an answer that starts "permessage-deflate" and terms whose
 *     window bits are 9 to 15; deflate_response gives nil, false and why,
 *     or terms whose window bits are 9 to 15. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define LUA_MODULE_PATH WS_HEAD_LUA
#include "lua_coverage.h"

#ifndef WS_HEAD_LUA
#error "build with -DWS_HEAD_LUA=\"/path/to/lua/luanet/ws/head.lua\""
#endif

static lua_State *L;
static int module_ref = LUA_NOREF;

static bool is_key(const char *k, size_t n) {
  if (n != 24 || k[22] != '=' || k[23] != '=')
    return false;
  for (size_t i = 0; i < 22; i++) {
    char c = k[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  }
  return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = fuzz_open_module("fuzz_ws_handshake", &module_ref);
  return 0;
}

/* The terms table at idx has deflateBits 9..15 and boolean resets. */
static void check_terms(int idx, const uint8_t *data, size_t size) {
  lua_getfield(L, idx, "deflateBits");
  lua_Integer bits = lua_tointeger(L, -1);
  if (!lua_isinteger(L, -1) || bits < 9 || bits > 15)
    fuzz_fail("deflate terms with window bits outside 9..15", data, size);
  lua_getfield(L, idx, "inflateReset");
  lua_getfield(L, idx, "deflateReset");
  if (!lua_isboolean(L, -1) || !lua_isboolean(L, -2))
    fuzz_fail("deflate terms whose resets are not booleans", data, size);
  lua_pop(L, 3);
}

static void check_extensions(const uint8_t *data, size_t size) {
  lua_settop(L, 0);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "deflate_accept", 1, 2, data, size);
  if (!lua_isnil(L, 1)) {
    size_t n;
    const char *answer = lua_tolstring(L, 1, &n);
    if (!answer || n < 18 || memcmp(answer, "permessage-deflate", 18) != 0 || !lua_istable(L, 2))
      fuzz_fail("deflate_accept answered something else", data, size);
    check_terms(2, data, size);
  }
  lua_settop(L, 0);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "deflate_response", 1, 2, data, size);
  if (lua_istable(L, 1))
    check_terms(1, data, size);
  else if (!lua_isnil(L, 1) && !(lua_isboolean(L, 1) && !lua_toboolean(L, 1) && lua_isstring(L, 2)))
    fuzz_fail("deflate_response gave neither terms, nil, nor false and why", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  prev_line = 0;
  check_extensions(data, size);
  lua_settop(L, 0);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "parse", 1, 1, data, size);
  bool parsed = !lua_isnil(L, -1);
  lua_settop(L, 0);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "check_request", 1, 3, data, size);
  if (lua_istable(L, 1)) {
    if (!lua_isnil(L, 2))
      fuzz_fail("a request and a status both", data, size);
    if (!parsed)
      fuzz_fail("a request from a head parse refused", data, size);
    lua_getfield(L, 1, "key");
    size_t n;
    const char *key = lua_tolstring(L, -1, &n);
    if (!key || !is_key(key, n))
      fuzz_fail("a request whose key is not 16 bytes of base64", data, size);
    lua_getfield(L, 1, "target");
    const char *target = lua_tolstring(L, -1, &n);
    if (!target || n == 0 || strpbrk(target, " \t\r\n"))
      fuzz_fail("a request whose target is empty or has whitespace", data, size);
    lua_getfield(L, 1, "fields");
    if (!lua_istable(L, -1) || lua_getfield(L, -1, "host") != LUA_TSTRING)
      fuzz_fail("a request without a host field", data, size);
  } else {
    lua_Integer status = lua_tointeger(L, 2);
    if (!lua_isnil(L, 1) || (status != 400 && status != 426))
      fuzz_fail("neither a request nor a status of 400 or 426", data, size);
    size_t n;
    const char *extra = lua_tolstring(L, 3, &n);
    if (!extra || (status == 426) != (n > 0))
      fuzz_fail("the added header does not go with the status", data, size);
  }
  return 0;
}
