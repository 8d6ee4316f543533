/* fuzz/fuzz_discovery.c: libFuzzer target for the free-space discovery
 * decoders (lua/luanet/discovery.lua), which read datagrams off the
 * network: a responder decodes queries from anyone, an asker answers.
 *
 * One Lua state, made once, holds the module. Each input is one datagram,
 * given whole to decode_query and to decode_answer. For each, this file
 * decides from the bytes alone, with its own reading of the version-1
 * layout (see discovery.lua's header), whether the datagram is valid and
 * what it holds, and checks that the decoder:
 *   - never raises;
 *   - accepts exactly the valid datagrams, with the values in them;
 *   - rejects the rest with nil and one of the documented reasons;
 *   - gives values that the encoder turns back into the very same bytes.
 * Anything else abort()s.
 *
 * libFuzzer sees only this file's compiled branches, not the Lua ones, so
 * a line hook reports the module's line-to-line transitions through
 * libFuzzer's extra counters: an input that takes a new path through
 * discovery.lua counts as new coverage. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define LUA_MODULE_PATH DISCOVERY_LUA
#include "lua_coverage.h"

#ifndef DISCOVERY_LUA
#error "build with -DDISCOVERY_LUA=\"/path/to/lua/luanet/discovery.lua\""
#endif

/* The version-1 layout, written out again from the documentation. */
#define MAGIC "LNDS"
#define VERSION 1
#define KIND_QUERY 1
#define KIND_ANSWER 2
#define QUERY_SIZE 10
#define ANSWER_FIXED 19          /* header, free (8), host length (1) */
#define MAX_HOST 255

/* What a rejection's reason may start with. */
static const char *const reasons[] = {
  "truncated", "oversize", "wrong magic", "unsupported version ", "not a query (kind ",
  "not an answer (kind ", "free bytes out of range", "empty host name",
  "host name is not UTF-8", "host name has a space or control character",
  "host name has a control character", NULL,
};

static lua_State *L;
static int module_ref = LUA_NOREF;   /* the discovery module table */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) {
  return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) with no C0 control, space, DEL or C1 control. */
static bool valid_host(const uint8_t *p, size_t n) {
  if (n == 0 || n > MAX_HOST)
    return false;
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c <= 0x20 || c == 0x7F)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;   /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
      return false;
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
      return false;
    for (size_t k = 2; k < len; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF)
        return false;
    if (c == 0xC2 && p[i + 1] <= 0x9F)   /* U+0080..U+009F: C1 controls */
      return false;
    i += len;
  }
  return true;
}

static bool header_ok(const uint8_t *p, size_t n, int kind) {
  return n >= 6 && memcmp(p, MAGIC, 4) == 0 && p[4] == VERSION && p[5] == kind;
}

/* A rejection: nil and a documented reason, at stack -2 and -1. */
static void check_rejection(const uint8_t *data, size_t size) {
  size_t len;
  const char *reason = lua_tolstring(L, -1, &len);
  if (!lua_isnil(L, -2) || lua_type(L, -1) != LUA_TSTRING || len == 0)
    fuzz_fail("a rejection is not nil and a reason", data, size);
  for (const char *const *r = reasons; *r; r++)
    if (strncmp(reason, *r, strlen(*r)) == 0)
      return;
  fprintf(stderr, "fuzz_discovery: unknown reason %s\n", reason);
  fuzz_fail("a rejection gives an undocumented reason", data, size);
}

/* The encoder's bytes, on the stack top, must be the input. */
static void check_reencoded(const uint8_t *data, size_t size) {
  size_t len;
  const char *bytes = lua_tolstring(L, -1, &len);
  if (!bytes || len != size || memcmp(bytes, data, size) != 0)
    fuzz_fail("a decoded message does not re-encode to its bytes", data, size);
}

static void check_query(const uint8_t *data, size_t size) {
  bool valid = size == QUERY_SIZE && header_ok(data, size, KIND_QUERY);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "decode_query", 1, 2, data, size);
  if (!valid) {
    check_rejection(data, size);
    lua_pop(L, 2);
    return;
  }
  if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) != (lua_Integer)be32(data + 6))
    fuzz_fail("a valid query decodes to the wrong id", data, size);
  lua_pop(L, 1);                     /* the id stays as the argument */
  fuzz_call(L, module_ref, "encode_query", 1, 1, data, size);
  check_reencoded(data, size);
  lua_pop(L, 1);
}

static void check_answer(const uint8_t *data, size_t size) {
  bool valid = size >= ANSWER_FIXED && header_ok(data, size, KIND_ANSWER) &&
               be64(data + 10) <= (uint64_t)INT64_MAX && size == ANSWER_FIXED + (size_t)data[18] &&
               valid_host(data + ANSWER_FIXED, data[18]);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_call(L, module_ref, "decode_answer", 1, 2, data, size);
  if (!valid) {
    check_rejection(data, size);
    lua_pop(L, 2);
    return;
  }
  if (!lua_istable(L, -2) || !lua_isnil(L, -1))
    fuzz_fail("a valid answer does not decode to a table", data, size);
  lua_pop(L, 1);
  int t = lua_gettop(L);
  lua_getfield(L, t, "id");
  lua_getfield(L, t, "host");
  lua_getfield(L, t, "free");
  size_t hlen;
  const char *host = lua_tolstring(L, -2, &hlen);
  if (!lua_isinteger(L, -3) || lua_tointeger(L, -3) != (lua_Integer)be32(data + 6))
    fuzz_fail("a valid answer decodes to the wrong id", data, size);
  if (lua_type(L, -2) != LUA_TSTRING || hlen != data[18] || memcmp(host, data + ANSWER_FIXED, hlen) != 0)
    fuzz_fail("a valid answer decodes to the wrong host", data, size);
  if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != (lua_Integer)be64(data + 10))
    fuzz_fail("a valid answer decodes to the wrong free bytes", data, size);
  fuzz_call(L, module_ref, "encode_answer", 3, 1, data, size);
  check_reencoded(data, size);
  lua_pop(L, 2);                     /* bytes, table */
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = fuzz_open_module("fuzz_discovery", &module_ref);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  prev_line = 0;
  lua_settop(L, 0);
  check_query(data, size);
  check_answer(data, size);
  if (lua_gettop(L) != 0)
    fuzz_fail("the checks left values on the stack", data, size);
  /* Free this run's garbage now: libFuzzer counts mallocs against frees
   * per run and runs a (slow) leak scan whenever they differ. */
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
