/* fuzz/fuzz_resp.c: libFuzzer target for what net.Redis reads from the
 * network, the RESP2 decoder of lua/luanet/redis/resp.lua, and for its
 * command encoder.
 *
 * Byte 0 seeds the split points; the rest is a stream of replies. The
 * checks are a Lua chunk (CHECKS below) run on the module, so that values
 * (nested tables, false, error tables) compare as Lua sees them; the line
 * hook of lua_coverage.h counts the module's lines only. Checked, else
 * abort():
 *   - decode never raises; it gives a value and a next position past the
 *     reply and within the buffer, or nil, "need more" and a bound greater
 *     than the buffer's length, or nil and a message;
 *   - the stream decoded whole and the same bytes fed in random splits (as
 *     the client reads them: decoding again when bytes come, unless the
 *     bound is far, here 64 bytes, off) give the same replies and end the
 *     same way (need more, or malformed) once every byte is in;
 *   - every proper prefix of a reply decoded whole is "need more", with a
 *     bound over the prefix's length and at most the reply's length (the
 *     client would otherwise wait for bytes that never come);
 *   - the rest of the input split at NUL bytes into arguments, encoded and
 *     decoded again, is an array of exactly those strings;
 *   - its first 8 bytes as a double and as an integer, encoded, read back
 *     as the same numbers (infinities and NaN aside), and a boolean
 *     argument is refused with its index. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define LUA_MODULE_PATH RESP_LUA
#include "lua_coverage.h"

#ifndef RESP_LUA
#error "build with -DRESP_LUA=\"/path/to/lua/luanet/redis/resp.lua\""
#endif

/* check(resp, seed, bytes) -> nil, or what broke. */
static const char CHECKS[] =
  "local resp, seed, data = ...\n"
  "local MORE = resp.MORE\n"
  "local function same(a, b)\n"
  "  if type(a) ~= type(b) then return false end\n"
  "  if type(a) ~= 'table' then return a == b and math.type(a) == math.type(b) end\n"
  "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
  "  for k in pairs(b) do if a[k] == nil then return false end end\n"
  "  return true\n"
  "end\n"
  "local function step(buf, pos)\n"
  "  local v, b, c = resp.decode(buf, pos)\n"
  "  if v ~= nil then\n"
  "    if math.type(b) ~= 'integer' or b <= pos or b > #buf + 1 then return nil, 'a bad next position' end\n"
  "  elseif b == MORE then\n"
  "    if math.type(c) ~= 'integer' or c <= #buf then return nil, 'need more without a bound past the buffer' end\n"
  "  elseif type(b) ~= 'string' then return nil, 'nil without a reason'\n"
  "  end\n"
  "  return true, v, b, c\n"
  "end\n"
  /* The whole stream: replies, their ends, and how it stops. */
  "local whole, ends, stop = {}, {}, nil\n"
  "local pos = 1\n"
  "while true do\n"
  "  local ok, v, b, c = step(data, pos)\n"
  "  if not ok then return v end\n"
  "  if v == nil then stop = b == MORE and MORE or 'bad' break end\n"
  "  whole[#whole + 1], ends[#ends + 1] = v, b\n"
  "  pos = b\n"
  "end\n"
  /* Prefixes of each reply: need more, with a bound within the reply. */
  "local from, rng = 1, seed\n"
  "local function rand(n) rng = (rng * 1103515245 + 12345) % 2147483648; return rng % n end\n"
  "for i, e in ipairs(ends) do\n"
  "  local len = e - from\n"
  "  for _ = 1, 4 do\n"
  "    local k = rand(len)\n"
  "    local piece = data:sub(from, from + k - 1)\n"
  "    local ok, v, b, c = step(piece, 1)\n"
  "    if not ok then return v end\n"
  "    if v ~= nil or b ~= MORE then return 'a proper prefix of a reply is not need more' end\n"
  "    if c > len then return 'the bound of a prefix is past the reply' end\n"
  "  end\n"
  "  from = e\n"
  "end\n"
  /* The same bytes in random splits, decoded as the client does. */
  "local got, buf, p, fed, need = {}, '', 1, 0, 0\n"
  "local split_stop\n"
  "while true do\n"
  "  if need - #buf <= 64 or fed == #data then\n"
  "    local ok, v, b, c = step(buf, p)\n"
  "    if not ok then return v end\n"
  "    if v ~= nil then got[#got + 1], p, need = v, b, 0\n"
  "    elseif b ~= MORE then split_stop = 'bad' break\n"
  "    else need = c end\n"
  "  end\n"
  "  if need > #buf then\n"
  "    if fed == #data then split_stop = MORE break end\n"
  "    local n = 1 + rand(#data - fed)\n"
  "    if rand(4) == 0 then n = 1 end\n"
  "    buf = buf:sub(p) .. data:sub(fed + 1, fed + n)\n"
  "    need = need - p + 1\n"
  "    p, fed = 1, fed + n\n"
  "  end\n"
  "end\n"
  "if split_stop ~= stop then return 'whole and split end differently' end\n"
  "if not same(whole, got) then return 'whole and split decode differently' end\n"
  /* Encode, then decode: the same arguments. */
  "local args = {}\n"
  "for a in (data .. '\\0'):gmatch('(.-)%z') do args[#args + 1] = a end\n"
  "local wire = resp.encode(args)\n"
  "if type(wire) ~= 'string' then return 'encode failed on strings' end\n"
  "local back, nxt = resp.decode(wire, 1)\n"
  "if nxt ~= #wire + 1 or not same(back, args) then return 'an encoded command does not decode as its arguments' end\n"
  "if #data >= 8 then\n"
  "  local x, i = string.unpack('<d', data), string.unpack('<i8', data)\n"
  "  local nums = resp.decode(resp.encode({ x, i }), 1)\n"
  "  if x == x and math.abs(x) ~= math.huge and tonumber(nums[1]) ~= x then return 'a float does not read back' end\n"
  "  if math.tointeger(tonumber(nums[2])) ~= i then return 'an integer does not read back' end\n"
  "  local none, _, at = resp.encode({ 'a', x, true })\n"
  "  if none ~= nil or at ~= 3 then return 'encode took a boolean' end\n"
  "end\n"
  "return nil\n";

static lua_State *L;
static int module_ref = LUA_NOREF;
static int checks_ref = LUA_NOREF;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = fuzz_open_module("fuzz_resp", &module_ref);
  if (luaL_loadbuffer(L, CHECKS, sizeof CHECKS - 1, "=checks") != LUA_OK) {
    fprintf(stderr, "fuzz_resp: the checks do not compile: %s\n", lua_tostring(L, -1));
    abort();
  }
  checks_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  prev_line = 0;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, checks_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
  lua_pushinteger(L, data[0]);
  lua_pushlstring(L, (const char *)data + 1, size - 1);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_resp: raised: %s\n", lua_tostring(L, -1));
    fuzz_fail("the module raised", data, size);
  }
  if (!lua_isnil(L, -1)) {
    fprintf(stderr, "fuzz_resp: %s\n", lua_tostring(L, -1));
    fuzz_fail("a check failed", data, size);
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
