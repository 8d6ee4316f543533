/* fuzz/fuzz_json.c: libFuzzer target for net.json (daemon/shared/json*.c,
 * with daemon/net/utf8.c), which scripts run on whatever a peer sends.
 *
 * Each input is decoded in a fresh lua_State, closed afterwards, so
 * nothing one input leaves can hide another's leak. Checked, else abort():
 *   - decode never raises; it gives a value, or nil and "json: ... at
 *     byte N" with N within the input (1 .. size + 1);
 *   - what decodes was valid UTF-8 as a whole (outside strings JSON is
 *     ASCII, inside them decode checks);
 *   - a decoded value encodes (sortKeys), and decoding that text and
 *     encoding it again gives the same text: the round trip is stable;
 *   - the indented text decodes to what encodes to that same text. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

static void fail(const char *what, const uint8_t *data, size_t size) {
  fprintf(stderr, "fuzz_json: invariant broken: %s\ninput (%zu bytes):", what, size);
  for (size_t i = 0; i < size && i < 300; i++)
    fprintf(stderr, " %02x", data[i]);
  fprintf(stderr, "\n");
  abort();
}

/* [-1, +2] json.decode(the value on top): value or nil, and the message. */
static void decode(lua_State *L, const uint8_t *data, size_t size) {
  lua_getfield(L, 1, "decode");
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_json: decode raised: %s\n", lua_tostring(L, -1));
    fail("decode raised", data, size);
  }
}

/* [-1, +1] json.encode(the value on top, { sortKeys = true, indent }):
 * the text, or abort(), since a decoded value must encode. */
static void encode(lua_State *L, bool indent, const uint8_t *data, size_t size) {
  lua_getfield(L, 1, "encode");
  lua_insert(L, -2);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "sortKeys");
  lua_pushboolean(L, indent);
  lua_setfield(L, -2, "indent");
  if (lua_pcall(L, 2, 2, 0) != LUA_OK || !lua_isstring(L, -2)) {
    fprintf(stderr, "fuzz_json: encode failed: %s\n", lua_tostring(L, -1));
    fail("a decoded value does not encode", data, size);
  }
  lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = luaL_newstate();
  if (!L)
    abort();
  luaL_requiref(L, "json", luaopen_luanet_json, 0);   /* index 1 */

  lua_pushlstring(L, (const char *)data, size);
  decode(L, data, size);
  if (lua_isnil(L, -2)) {
    const char *msg = lua_tostring(L, -1);
    const char *at = msg ? strstr(msg, " at byte ") : NULL;
    if (!msg || strncmp(msg, "json: ", 6) != 0 || !at)
      fail("a refusal is not nil and \"json: ... at byte N\"", data, size);
    unsigned long long n = strtoull(at + 9, NULL, 10);
    if (n < 1 || n > size + 1)
      fail("the byte named is outside the input", data, size);
    lua_close(L);
    return 0;
  }
  lua_pop(L, 1);

  struct utf8_check check = { 0 };
  if (!utf8_feed(&check, data, size) || !utf8_complete(&check))
    fail("input that is not UTF-8 decoded", data, size);

  lua_pushvalue(L, -1);
  encode(L, false, data, size);                 /* value, text */
  lua_pushvalue(L, -1);
  decode(L, data, size);
  if (lua_isnil(L, -2))
    fail("our own text does not decode", data, size);
  lua_pop(L, 1);
  encode(L, false, data, size);                 /* value, text, again */
  if (!lua_rawequal(L, -1, -2))
    fail("the round trip is not stable", data, size);
  lua_pop(L, 1);

  lua_pushvalue(L, -2);
  encode(L, true, data, size);                  /* value, text, indented */
  decode(L, data, size);
  if (lua_isnil(L, -2))
    fail("our own indented text does not decode", data, size);
  lua_pop(L, 1);
  encode(L, false, data, size);
  if (!lua_rawequal(L, -1, -2))
    fail("the indented text decodes to another value", data, size);
  lua_close(L);
  return 0;
}
