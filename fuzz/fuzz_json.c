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
 *   - the indented text decodes to what encodes to that same text.
 * Then the same bytes, read as a small program, build a Lua value of the
 * kinds decode never gives (NaN, cycles, metatables, mixed and sparse
 * keys, functions, invalid UTF-8, nesting past 200), and encode must not
 * raise: it gives text that decodes, or nil and "json: value...: ...". */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
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

/* Decodes the input; if it is JSON, checks the round trips above. */
static void check_decode(lua_State *L, const uint8_t *data, size_t size) {
  int top = lua_gettop(L);
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
    lua_settop(L, top);
    return;
  }
  lua_pop(L, 1);

  if (!utf8_valid(data, size))
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
  lua_settop(L, top);
}

/* [-0, +1] A value built by the bytes as a stack machine: each byte an
 * operation, some followed by their operand bytes. Tables are filled
 * from the stack; what is left is folded into the root at the end. */
static void build(lua_State *L, const uint8_t *p, size_t n) {
  int root = lua_gettop(L) + 1;
  lua_newtable(L);
  size_t i = 0;
  int wraps_left = 512;
#define NEXT() (i < n ? p[i++] : 0)
  while (i < n) {
    if (!lua_checkstack(L, 8) || lua_gettop(L) > root + 64)
      break;
    uint8_t op = NEXT();
    switch (op % 13) {
    case 0:                                     /* a small integer, or any */
    case 1: {                                   /* any double: NaN, inf, -0.0, denormals */
      uint8_t b[8] = { 0 };
      for (int k = 0; k < ((op % 13 == 0 && !(op & 0x80)) ? 1 : 8); k++) b[k] = NEXT();
      if (op % 13 == 1) {
        double d;
        memcpy(&d, b, 8);
        lua_pushnumber(L, d);
      } else {
        int64_t v;
        memcpy(&v, b, 8);
        lua_pushinteger(L, (op & 0x80) ? (lua_Integer)v : (lua_Integer)(int8_t)b[0]);
      }
      break;
    }
    case 2: {                                   /* a string of up to 15 bytes, UTF-8 or not */
      size_t len = NEXT() % 16;
      if (len > n - i) len = n - i;
      lua_pushlstring(L, (const char *)p + i, len);
      i += len;
      break;
    }
    case 3: lua_pushlightuserdata(L, (op & 0x80) ? NULL : (void *)&lua_newstate); break;   /* null, or a stray pointer */
    case 4: lua_getfield(L, 1, "emptyArray"); break;
    case 5: lua_newtable(L); break;
    case 6: lua_pushboolean(L, op & 0x80); break;
    case 7: lua_pushcfunction(L, luaopen_luanet_json); break;
    case 8:                                      /* t[k] = v */
      if (lua_gettop(L) >= root + 3 && lua_istable(L, -3) && !lua_isnil(L, -2) &&
          !(lua_type(L, -2) == LUA_TNUMBER && isnan(lua_tonumber(L, -2))))
        lua_rawset(L, -3);
      else if (lua_gettop(L) > root)
        lua_pop(L, 1);                           /* drops the value: nowhere to put it */
      break;
    case 9:                                      /* append v to t */
      if (lua_gettop(L) >= root + 2 && lua_istable(L, -2))
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      else if (lua_gettop(L) > root)
        lua_pop(L, 1);
      break;
    case 10:                                     /* a table already on the stack: a cycle, or a shared one */
      lua_pushvalue(L, root + NEXT() % (lua_gettop(L) - root + 1));
      break;
    case 11:                                     /* a metatable on the top table */
      if (lua_istable(L, -1)) {
        lua_newtable(L);
        lua_setmetatable(L, -2);
      }
      break;
    case 12: {                                   /* the top value in up to 255 tables, past the depth limit */
      int wrap = NEXT();
      if (wrap > wraps_left)
        wrap = wraps_left;   /* a budget, or inputs of many wraps crawl */
      wraps_left -= wrap;
      for (int k = 0; k < wrap; k++) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
      }
      break;
    }
    }
  }
#undef NEXT
  while (lua_gettop(L) > root)
    lua_rawseti(L, root, (lua_Integer)lua_rawlen(L, root) + 1);
}

/* Encodes a built value with options from its first byte. */
static void check_encode(lua_State *L, const uint8_t *data, size_t size) {
  if (size < 1)
    return;
  int top = lua_gettop(L);
  bool sort = data[0] & 1, indent = data[0] & 2;
  build(L, data + 1, size - 1);
  int value = lua_gettop(L);
  lua_getfield(L, 1, "encode");
  lua_pushvalue(L, value);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, sort);
  lua_setfield(L, -2, "sortKeys");
  lua_pushboolean(L, indent);
  lua_setfield(L, -2, "indent");
  if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_json: encode raised: %s\n", lua_tostring(L, -1));
    fail("encode raised", data, size);
  }
  if (lua_isnil(L, -2)) {
    const char *msg = lua_tostring(L, -1);
    if (!msg || strncmp(msg, "json: value", 11) != 0 || !strstr(msg, ": "))
      fail("an encode refusal is not nil and \"json: value...: what\"", data, size);
  } else {
    lua_pop(L, 1);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    if (!text || !utf8_valid((const uint8_t *)text, len))
      fail("encode gave text that is not UTF-8", data, size);
    decode(L, data, size);
    if (lua_isnil(L, -2))
      fail("encode gave text that does not decode", data, size);
    if (sort) {                                   /* value, nil: then the same text again */
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushlstring(L, text, len);
      lua_replace(L, -3);
      encode(L, indent, data, size);
      if (!lua_rawequal(L, -1, -2))
        fail("a built value's text does not encode back to itself", data, size);
    }
  }
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = luaL_newstate();
  if (!L)
    abort();
  luaL_requiref(L, "json", luaopen_luanet_json, 0);   /* index 1 */
  check_decode(L, data, size);
  check_encode(L, data, size);
  lua_close(L);
  return 0;
}
