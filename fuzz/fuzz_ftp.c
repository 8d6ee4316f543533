/* fuzz/fuzz_ftp.c: libFuzzer target for what FTP reads from the network
 * (lua/luanet/ftp/parse.lua): the client's reply lines, PASV and EPSV
 * addresses, LIST lines (Unix and DOS styles) and MLSD facts, and the
 * server's paths (`virtual`, which confines every command's path to the
 * root).
 *
 * Byte 0 picks the parser; the rest is its input (for `virtual`, split at
 * the first NUL into cwd and argument). Checked, else abort():
 *   - no parser raises;
 *   - reply_line: nil, or a code equal to the line's first three digits,
 *     the text after them and the separator, and `more` true exactly for
 *     a '-' separator;
 *   - pasv: nil, or a dotted address of four parts 0-255 and a port 1-65535;
 *   - epsv: nil, or a port 1-65535;
 *   - port_arg (the server's PORT), on the same input: nil, or a dotted
 *     address of four parts 0-255 and a port 1-65535;
 *   - eprt (the server's EPRT, whose delimiter once went into a pattern),
 *     on the same input: nil and 501 or 522, or an address (dotted four
 *     parts 0-255 for protocol 1), a port 1-65535 and the protocol 1 or 2;
 *   - list_line, mlsd_line: nil, or a table with a non-empty name without
 *     CR or LF, a size >= 0, booleans isDir, isFile, isSymLink (never
 *     both a directory and a file) and, for list_line, a lastModified;
 *   - virtual: a path that starts with "/", has no "." or ".." segment
 *     and no empty one, for any cwd and argument. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define LUA_MODULE_PATH FTP_PARSE_LUA
#include "lua_coverage.h"

#ifndef FTP_PARSE_LUA
#error "build with -DFTP_PARSE_LUA=\"/path/to/lua/luanet/ftp/parse.lua\""
#endif

static lua_State *L;
static int module_ref = LUA_NOREF;

static void check_reply(const char *s, size_t n, const uint8_t *data, size_t size) {
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, "reply_line", 1, 3, data, size);
  if (lua_isnil(L, -3)) {
    lua_pop(L, 3);
    return;
  }
  bool digits = n >= 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
  if (!digits || !lua_isinteger(L, -3) || lua_tointeger(L, -3) != (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'))
    fuzz_fail("reply_line: the code is not the first three digits", data, size);
  size_t skip = 3 + (n > 3 && (s[3] == ' ' || s[3] == '-'));
  size_t tlen;
  const char *text = lua_tolstring(L, -2, &tlen);
  if (!text || tlen != n - skip || memcmp(text, s + skip, tlen) != 0)
    fuzz_fail("reply_line: the text is not the rest of the line", data, size);
  if (lua_toboolean(L, -1) != (n > 3 && s[3] == '-'))
    fuzz_fail("reply_line: more is not the '-' separator", data, size);
  lua_pop(L, 3);
}

static void check_port(int idx, const char *what, const uint8_t *data, size_t size) {
  if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 1 || lua_tointeger(L, idx) > 65535)
    fuzz_fail(what, data, size);
}

static bool is_dotted_ipv4(int idx) {
  unsigned a, b, c, d;
  char extra;
  const char *host = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
  return host && sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a <= 255 && b <= 255 && c <= 255 &&
         d <= 255;
}

/* The server's PORT and EPRT arguments (see the header). */
static void check_active(const char *s, size_t n, const uint8_t *data, size_t size) {
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, "port_arg", 1, 2, data, size);
  if (!lua_isnil(L, -2)) {
    if (!is_dotted_ipv4(-2))
      fuzz_fail("port_arg: not a dotted IPv4 address", data, size);
    check_port(-1, "port_arg: port out of range", data, size);
  }
  lua_pop(L, 2);
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, "eprt", 1, 3, data, size);
  if (lua_isnil(L, -3)) {
    lua_Integer code = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
    if (code != 501 && code != 522)
      fuzz_fail("eprt: nil without 501 or 522", data, size);
  } else {
    lua_Integer proto = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    if (lua_type(L, -3) != LUA_TSTRING || (proto != 1 && proto != 2))
      fuzz_fail("eprt: no address, or a protocol other than 1 or 2", data, size);
    if (proto == 1 && !is_dotted_ipv4(-3))
      fuzz_fail("eprt: protocol 1 with no dotted IPv4 address", data, size);
    check_port(-2, "eprt: port out of range", data, size);
  }
  lua_pop(L, 3);
}

static void check_pasv(const char *s, size_t n, const uint8_t *data, size_t size) {
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, "pasv", 1, 2, data, size);
  if (!lua_isnil(L, -2)) {
    if (!is_dotted_ipv4(-2))
      fuzz_fail("pasv: not a dotted IPv4 address", data, size);
    check_port(-1, "pasv: port out of range", data, size);
  }
  lua_pop(L, 2);
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, "epsv", 1, 1, data, size);
  if (!lua_isnil(L, -1))
    check_port(-1, "epsv: port out of range", data, size);
  lua_pop(L, 1);
}

static void check_entry(const char *fn, const char *s, size_t n, bool needs_time, const uint8_t *data,
                        size_t size) {
  lua_pushlstring(L, s, n);
  fuzz_call(L, module_ref, fn, 1, 1, data, size);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  int t = lua_gettop(L);
  if (!lua_istable(L, t))
    fuzz_fail("an entry is not nil or a table", data, size);
  lua_getfield(L, t, "name");
  size_t nlen;
  const char *name = lua_tolstring(L, -1, &nlen);
  if (!name || nlen == 0 || memchr(name, '\r', nlen) || memchr(name, '\n', nlen))
    fuzz_fail("an entry's name is empty or has CR or LF", data, size);
  lua_getfield(L, t, "size");
  if (!lua_isnumber(L, -1) || lua_tonumber(L, -1) < 0)
    fuzz_fail("an entry's size is not a number >= 0", data, size);
  lua_pop(L, 2);
  lua_getfield(L, t, "isDir");
  lua_getfield(L, t, "isFile");
  lua_getfield(L, t, "isSymLink");
  for (int i = -3; i <= -1; i++)
    if (!lua_isboolean(L, i))
      fuzz_fail("an entry's isDir, isFile or isSymLink is not a boolean", data, size);
  if (lua_toboolean(L, -3) && lua_toboolean(L, -2))
    fuzz_fail("an entry is both a directory and a file", data, size);
  lua_pop(L, 3);
  if (needs_time) {
    lua_getfield(L, t, "lastModified");
    if (!lua_isinteger(L, -1))
      fuzz_fail("a LIST entry without lastModified", data, size);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void check_virtual(const char *s, size_t n, const uint8_t *data, size_t size) {
  const char *nul = memchr(s, 0, n);
  size_t cwd_len = nul ? (size_t)(nul - s) : 0;
  const char *arg = nul ? nul + 1 : s;
  size_t arg_len = nul ? n - cwd_len - 1 : n;
  if (cwd_len == 0 || s[0] != '/')
    lua_pushliteral(L, "/");
  else
    lua_pushlstring(L, s, cwd_len);
  lua_pushlstring(L, arg, arg_len);
  fuzz_call(L, module_ref, "virtual", 2, 1, data, size);
  size_t len;
  const char *p = lua_tolstring(L, -1, &len);
  if (!p || len == 0 || p[0] != '/')
    fuzz_fail("virtual: not an absolute path", data, size);
  for (size_t i = 0; i < len;) {   /* each segment after a '/' */
    size_t j = i + 1;
    while (j < len && p[j] != '/')
      j++;
    size_t seg = j - i - 1;
    if (len > 1 && (seg == 0 || (seg == 1 && p[i + 1] == '.') || (seg == 2 && p[i + 1] == '.' && p[i + 2] == '.')))
      fuzz_fail("virtual: an empty, '.' or '..' segment", data, size);
    i = j;
  }
  lua_pop(L, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = fuzz_open_module("fuzz_ftp", &module_ref);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  prev_line = 0;
  lua_settop(L, 0);
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  switch (data[0] % 5) {
  case 0:
    check_reply(s, n, data, size);
    break;
  case 1:
    check_pasv(s, n, data, size);
    check_active(s, n, data, size);
    break;
  case 2:
    check_entry("list_line", s, n, true, data, size);
    break;
  case 3:
    check_entry("mlsd_line", s, n, false, data, size);
    break;
  default:
    check_virtual(s, n, data, size);
    break;
  }
  if (lua_gettop(L) != 0)
    fuzz_fail("the checks left values on the stack", data, size);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
