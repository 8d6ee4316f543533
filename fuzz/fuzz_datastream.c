/* fuzz/fuzz_datastream.c: libFuzzer target for the DataStream reader
 * (lua/luanet/datastream.lua), which decodes fortune frames off the network.
 *
 * One Lua state, made once, holds the module. Each input is one reader run:
 * byte 0 picks the reader and the reads, the rest is the stream.
 *   bits 0-5: three 2-bit ops, repeated in turn: 0 readUInt16, 1 readUInt32,
 *             2 readQString, 3 check bytesAvailable/atEnd/pos;
 *   bits 6-7: 0 reads DataStream(string) over the whole stream; 1, 2, 3 read
 *             DataStream(device) over a device that gets the stream 1, 3 or
 *             64 bytes at a time, a feed whenever a round of ops consumed
 *             nothing, so every value is met cut at many points.
 * For every read this file computes, from the bytes alone, what the reader
 * must do: return the value (a QString re-encoded by a writer must give
 * back the very bytes it was read from), or return nil, "not enough data
 * yet" with its position unchanged, or consume a corrupt QString (odd byte
 * count: the count only; unpaired surrogate: the whole string) and return
 * nil, "corrupt data". Anything else, a raise included, abort()s. The
 * device raises if the reader peeks or reads past what is there, so a
 * partial read cannot hide.
 *
 * libFuzzer sees only this file's compiled branches, not the Lua ones, so
 * a line hook reports the module's line-to-line transitions through
 * libFuzzer's extra counters: an input that takes a new path through
 * datastream.lua counts as new coverage. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define LUA_MODULE_PATH DATASTREAM_LUA
#include "lua_coverage.h"

#ifndef DATASTREAM_LUA
#error "build with -DDATASTREAM_LUA=\"/path/to/lua/luanet/datastream.lua\""
#endif

#define NOT_YET "not enough data yet"
#define CORRUPT "corrupt data"

enum { OP_U16, OP_U32, OP_QSTRING, OP_STATE };

/* A device that only hands out what it was fed, and raises when asked for
 * more: DataStream must check bytesAvailable first. */
static const char device_lua[] =
  "return function()\n"
  "  local dev = { buf = '' }\n"
  "  function dev:bytesAvailable() return #self.buf end\n"
  "  function dev:peek(n)\n"
  "    if n > #self.buf then error('peek past the available bytes') end\n"
  "    return self.buf:sub(1, n)\n"
  "  end\n"
  "  function dev:read(n)\n"
  "    if n > #self.buf then error('read past the available bytes') end\n"
  "    local s = self.buf:sub(1, n)\n"
  "    self.buf = self.buf:sub(n + 1)\n"
  "    return s\n"
  "  end\n"
  "  function dev:feed(s) self.buf = self.buf .. s end\n"
  "  return dev\n"
  "end\n";

static lua_State *L;
static int module_ref = LUA_NOREF;   /* the DataStream module table */
static int device_ref = LUA_NOREF;   /* the device factory */

/* One run's state. Stack slots 1 and 2 hold the reader and the device. */
static const uint8_t *stream;        /* the bytes after the op byte */
static size_t stream_len;
static size_t fed;                   /* bytes the reader can see so far */

#define READER 1
#define DEVICE 2

static void fail(const char *what) {
  fprintf(stderr, "fuzz_datastream: invariant broken: %s\n", what);
  abort();
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Calls reader:name() with nres results left on the stack. A raise is a
 * broken invariant: reads report trouble by value. [-0, +nres, -] */
static void call_method(int obj, const char *name, int nres) {
  lua_getfield(L, obj, name);
  lua_pushvalue(L, obj);
  if (lua_pcall(L, 1, nres, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_datastream: %s raised: %s\n", name, lua_tostring(L, -1));
    abort();
  }
}

static lua_Integer reader_pos(void) {
  call_method(READER, "pos", 1);
  if (!lua_isinteger(L, -1))
    fail("pos() is not an integer");
  lua_Integer pos = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (pos < 0 || (size_t)pos > fed)
    fail("pos() outside what was fed");
  return pos;
}

/* True when the UTF-16BE units hold an unpaired surrogate. */
static int bad_utf16(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 2) {
    unsigned u = (unsigned)p[i] << 8 | p[i + 1];
    if (u >= 0xDC00 && u <= 0xDFFF)
      return 1;
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 2 >= n)
        return 1;
      unsigned v = (unsigned)p[i + 2] << 8 | p[i + 3];
      if (v < 0xDC00 || v > 0xDFFF)
        return 1;
      i += 2;
    }
  }
  return 0;
}

/* The writer's bytes for the QString at stack index idx (nil: null). */
static void reencode(int idx, const uint8_t *want, size_t want_len) {
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
  lua_getfield(L, -1, "new");
  if (lua_pcall(L, 0, 1, 0) != LUA_OK)
    fail("DataStream.new() raised");
  int w = lua_gettop(L);
  lua_getfield(L, w, "writeQString");
  lua_pushvalue(L, w);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_datastream: writeQString raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  call_method(w, "data", 1);
  size_t got_len;
  const char *got = lua_tolstring(L, -1, &got_len);
  if (!got || got_len != want_len || memcmp(got, want, want_len) != 0)
    fail("a QString read back does not re-encode to its bytes");
  lua_pop(L, 3);   /* data, writer, module */
}

/* What a read at offset `at` with `avail` bytes visible must give. */
enum outcome { VALUE, NULLSTR, WAIT, CORRUPT_COUNT, CORRUPT_UNITS };

static enum outcome expect(int op, size_t at, size_t avail, size_t *consumed) {
  const uint8_t *p = stream + at;
  switch (op) {
  case OP_U16:
    *consumed = 2;
    return avail < 2 ? WAIT : VALUE;
  case OP_U32:
    *consumed = 4;
    return avail < 4 ? WAIT : VALUE;
  default: {
    if (avail < 4)
      return WAIT;
    uint32_t len = be32(p);
    *consumed = 4;
    if (len == 0xFFFFFFFFu)
      return NULLSTR;
    if (len & 1)
      return CORRUPT_COUNT;
    if (avail - 4 < len)
      return WAIT;
    *consumed = 4 + (size_t)len;
    return bad_utf16(p + 4, len) ? CORRUPT_UNITS : VALUE;
  }
  }
}

/* Runs one op; returns 1 when it consumed bytes. */
static int run_op(int op) {
  size_t before = (size_t)reader_pos();
  size_t avail = fed - before;

  if (op == OP_STATE) {
    call_method(READER, "bytesAvailable", 1);
    if (!lua_isinteger(L, -1) || (size_t)lua_tointeger(L, -1) != avail)
      fail("bytesAvailable() is not fed - pos()");
    call_method(READER, "atEnd", 1);
    if (!lua_isboolean(L, -1) || lua_toboolean(L, -1) != (avail == 0))
      fail("atEnd() disagrees with bytesAvailable()");
    lua_pop(L, 2);
    return 0;
  }

  static const char *const names[] = { "readUInt16", "readUInt32", "readQString" };
  size_t consumed = 0;
  enum outcome want = expect(op, before, avail, &consumed);
  call_method(READER, names[op], 2);
  size_t after = (size_t)reader_pos();

  if (lua_isnil(L, -2)) {
    const char *err = lua_tostring(L, -1);
    if (!err)
      fail("nil without a message");
    if (strcmp(err, NOT_YET) == 0) {
      if (want != WAIT)
        fail("not enough data yet, but the whole value was there");
      if (after != before)
        fail("not enough data yet, but bytes were consumed");
    } else if (strcmp(err, CORRUPT) == 0) {
      if (want != CORRUPT_COUNT && want != CORRUPT_UNITS)
        fail("corrupt data for a valid value");
      if (after != before + consumed)
        fail("a corrupt QString consumed the wrong number of bytes");
    } else {
      fail("nil with an unknown message");
    }
    lua_pop(L, 2);
    return after != before;
  }

  if (want != VALUE && want != NULLSTR)
    fail("a value where none was due");
  if (after != before + consumed)
    fail("a value consumed the wrong number of bytes");
  const uint8_t *p = stream + before;
  if (op == OP_U16 || op == OP_U32) {
    lua_Integer v = op == OP_U16 ? (lua_Integer)(p[0] << 8 | p[1]) : (lua_Integer)be32(p);
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) != v || !lua_isnil(L, -1))
      fail("an integer read wrongly");
  } else {
    if (lua_type(L, -2) != LUA_TSTRING || !lua_isboolean(L, -1))
      fail("readQString did not return a string and a boolean");
    int is_null = lua_toboolean(L, -1);
    if (is_null != (want == NULLSTR))
      fail("isNull is wrong");
    if (is_null) {
      if (lua_rawlen(L, -2) != 0)
        fail("a null QString read as a non-empty string");
      lua_pushnil(L);
      reencode(-1, p, consumed);
      lua_pop(L, 1);
    } else {
      reencode(-2, p, consumed);
    }
  }
  lua_pop(L, 2);
  return 1;
}

static void feed(size_t n) {
  if (n > stream_len - fed)
    n = stream_len - fed;
  lua_getfield(L, DEVICE, "feed");
  lua_pushvalue(L, DEVICE);
  lua_pushlstring(L, (const char *)stream + fed, n);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK)
    fail("feed raised");
  fed += n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = fuzz_open_module("fuzz_datastream", &module_ref);
  if (luaL_loadstring(L, device_lua) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    fail("the device chunk does not load");
  device_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const size_t chunks[] = { 0, 1, 3, 64 };
  int ops[3] = { data[0] & 3, data[0] >> 2 & 3, data[0] >> 4 & 3 };
  size_t chunk = chunks[data[0] >> 6];
  stream = data + 1;
  stream_len = size - 1;
  prev_line = 0;

  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
  lua_getfield(L, -1, "new");
  if (chunk == 0) {
    lua_pushlstring(L, (const char *)stream, stream_len);
    lua_pushnil(L);
    fed = stream_len;
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, device_ref);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
      fail("the device factory raised");
    lua_pushvalue(L, -1);
    fed = 0;
  }
  /* stack: module, new, source, device-or-nil */
  lua_insert(L, 1);                  /* device, module, new, source */
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_datastream: DataStream.new raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_insert(L, 1);                  /* reader, device, module */
  lua_settop(L, 2);

  if (chunk)
    feed(chunk);
  for (;;) {
    int progress = 0;
    for (int k = 0; k < 3; k++)
      progress |= run_op(ops[k]);
    if (progress)
      continue;
    if (fed == stream_len)
      break;
    feed(chunk);
  }
  /* Free this run's garbage now: libFuzzer counts mallocs against frees
   * per run and runs a (slow) leak scan whenever they differ. */
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
