/* fuzz/fuzz_http.c: libFuzzer target for net.HttpParser (daemon/http/http_parser.c
 * on llhttp), which reads requests from anyone and responses from servers.
 *
 * Input: byte 0 picks requests or responses (bit 0), byte 1 a split
 * point; the rest is the stream. The stream is parsed whole, and again in
 * two pieces cut at the split point, through the Lua API a server uses
 * (execute(data, from) until "more" or "error", stepping once after a
 * head). Checked, else abort():
 *   - execute never raises and answers only headers, message, more, error;
 *   - an error carries a status of 400, 431 or 503 and a reason;
 *   - both feedings give the same messages (method or status, target,
 *     headers count, body) in the same order, and fail alike. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luanet.h"

static lua_State *L;
static int run_ref = LUA_NOREF;

/* run(parser kind, pieces...) -> a transcript string, raising on a broken
 * invariant of the answers themselves. */
static const char RUN[] =
    "local net = ...\n"
    "return function(kind, ...)\n"
    "  local p = net.HttpParser(kind, 4096)\n"
    "  local out = {}\n"
    "  local function note(s) out[#out + 1] = s end\n"
    "  for _, piece in ipairs({ ... }) do\n"
    "    local from, step = 1, true\n"
    "    while step do\n"
    "      local what, nxt, status, reason = p:execute(piece, from)\n"
    "      assert(math.type(nxt) == 'integer' and nxt >= from and nxt <= #piece + 1, 'bad next')\n"
    "      from = nxt\n"
    "      if what == 'headers' then\n"
    "        local h, n = p:headers()\n"
    "        note(('H %s %s %s %d'):format(kind == 'request' and p:method() or p:status(),\n"
    "             p:target(), tostring(p:contentLength()), n))\n"
    "      elseif what == 'message' then\n"
    "        note('M ' .. p:takeBody())\n"
    "      elseif what == 'error' then\n"
    "        assert(status == 400 or status == 431 or status == 503, 'bad status ' .. tostring(status))\n"
    "        assert(type(reason) == 'string' and reason ~= '', 'no reason')\n"
    "        note('E')\n"
    "        return table.concat(out, '\\n')\n"
    "      elseif what == 'more' then\n"
    "        step = false\n"
    "      else\n"
    "        error('unknown answer ' .. tostring(what))\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return table.concat(out, '\\n')\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "luanet.core", luaopen_luanet_core, 0);
  if (luaL_loadstring(L, RUN) != LUA_OK) {
    fprintf(stderr, "fuzz_http: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static const char *transcript(const char *kind, const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                              const uint8_t *data, size_t size) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, run_ref);
  lua_pushstring(L, kind);
  lua_pushlstring(L, (const char *)a, na);
  int n = 2;
  if (b) {
    lua_pushlstring(L, (const char *)b, nb);
    n++;
  }
  if (lua_pcall(L, n, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_http: %s\ninput (%zu bytes)\n", lua_tostring(L, -1), size);
    (void)data;
    abort();
  }
  return lua_tostring(L, -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  const char *kind = (data[0] & 1) ? "response" : "request";
  const uint8_t *stream = data + 2;
  size_t n = size - 2;
  size_t cut = n ? data[1] % (n + 1) : 0;
  int top = lua_gettop(L);
  const char *whole = transcript(kind, stream, n, NULL, 0, data, size);
  const char *split = transcript(kind, stream, cut, stream + cut, n - cut, data, size);
  if (strcmp(whole, split) != 0) {
    fprintf(stderr, "fuzz_http: split at %zu parses differently:\n--- whole\n%s\n--- split\n%s\n", cut, whole,
            split);
    abort();
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
