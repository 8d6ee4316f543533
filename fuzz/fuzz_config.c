/* fuzz/fuzz_config.c: libFuzzer target for the config loader
 * (lua/luanet/daemon/config.lua), which evaluates a config file in its sandbox.
 * A config comes from the administrator, not the network, but a daemon
 * that crashes, hangs or half-accepts a bad config is as bad.
 *
 * Each input is the text of a config named "fuzz.conf". The loader must:
 *   - never raise, and finish (its instruction limit bounds a loop);
 *   - refuse with nil and a message naming the file ("fuzz.conf:...");
 *   - or accept with a table the daemon can read without checking again:
 *     workers 1..1024 or "auto", a log level, shutdown_timeout >= 0, and
 *     services with unique word names, a script path, and listeners whose
 *     kind is tcp/udp (an address inet_pton takes, a port 0..65535) or
 *     unix (a path), at most 64 of them; options a table or nil.
 * Anything else abort()s. The loader's on_line argument feeds the lines
 * it runs to libFuzzer as coverage (lua_coverage.h). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUA_MODULE_PATH CONFIG_LUA
#include "lua_coverage.h"

#ifndef CONFIG_LUA
#error "build with -DCONFIG_LUA=\"/path/to/lua/luanet/daemon/config.lua\""
#endif

static lua_State *L;
static int module_ref = LUA_NOREF;

static void fail(const char *what, const uint8_t *data, size_t size) {
  fprintf(stderr, "fuzz_config: invariant broken: %s\ninput (%zu bytes):\n%.*s\n", what, size,
          (int)(size < 2000 ? size : 2000), (const char *)data);
  abort();
}

/* on_line(line): the sandbox's hook reports each line it runs. */
static int on_line(lua_State *hl) {
  unsigned line = (unsigned)lua_tointeger(hl, 1);
  unsigned edge = ((unsigned)prev_line * 7919u ^ line) % EDGES;
  if (lua_edges[edge] < 255)
    lua_edges[edge]++;
  prev_line = (int)line;
  return 0;
}

static bool field_is(int t, const char *key, int type) {
  bool ok = lua_getfield(L, t, key) == type;
  lua_pop(L, 1);
  return ok;
}

static bool is_address(const char *host) {
  char buf[64];
  size_t n = strcspn(host, "%");   /* a scope is the daemon's to check */
  if (n >= sizeof buf)
    return false;
  memcpy(buf, host, n);
  buf[n] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET, buf, out) == 1 || inet_pton(AF_INET6, buf, out) == 1;
}

static void check_listener(int l, const uint8_t *data, size_t size) {
  lua_getfield(L, l, "kind");
  const char *kind = lua_tostring(L, -1);
  if (!kind || !field_is(l, "url", LUA_TSTRING))
    fail("a listener without kind or url", data, size);
  if (strcmp(kind, "unix") == 0) {
    if (!field_is(l, "path", LUA_TSTRING))
      fail("a unix listener without a path", data, size);
  } else if (strcmp(kind, "tcp") == 0 || strcmp(kind, "udp") == 0) {
    lua_getfield(L, l, "host");
    lua_getfield(L, l, "port");
    const char *host = lua_tostring(L, -2);
    if (!host || !is_address(host))
      fail("an accepted listener's host is not an IP address", data, size);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 65535)
      fail("an accepted listener's port is out of range", data, size);
    lua_pop(L, 2);
  } else {
    fail("a listener of an unknown kind", data, size);
  }
  lua_pop(L, 1);
}

static void check_service(int s, const uint8_t *data, size_t size) {
  lua_getfield(L, s, "name");
  const char *name = lua_tostring(L, -1);
  if (!name || !*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name))
    fail("a service name that is not a word", data, size);
  lua_pop(L, 1);
  if (!field_is(s, "script", LUA_TSTRING) || !field_is(s, "listen", LUA_TTABLE))
    fail("a service without script or listen", data, size);
  if (!field_is(s, "options", LUA_TTABLE) && !field_is(s, "options", LUA_TNIL))
    fail("options that are not a table", data, size);
  lua_getfield(L, s, "listen");
  lua_Integer n = luaL_len(L, -1);
  if (n > 64)
    fail("more than 64 listeners accepted", data, size);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (!lua_istable(L, -1))
      fail("a listener that is not a table", data, size);
    check_listener(lua_gettop(L), data, size);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void check_config(int t, const uint8_t *data, size_t size) {
  lua_getfield(L, t, "workers");
  bool workers_ok = (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= 1024) ||
                    (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "auto") == 0);
  lua_pop(L, 1);
  if (!workers_ok)
    fail("workers out of range accepted", data, size);
  lua_getfield(L, t, "shutdown_timeout");
  if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
    fail("a bad shutdown_timeout accepted", data, size);
  lua_pop(L, 1);
  lua_getfield(L, t, "log");
  lua_getfield(L, -1, "level");
  const char *level = lua_tostring(L, -1);
  if (!level || (strcmp(level, "debug") && strcmp(level, "info") && strcmp(level, "warn") && strcmp(level, "error")))
    fail("a bad log level accepted", data, size);
  lua_pop(L, 2);
  lua_getfield(L, t, "services");
  int services = lua_gettop(L);
  lua_Integer n = luaL_len(L, services);
  lua_newtable(L);   /* names seen */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, services, i);
    check_service(lua_gettop(L), data, size);
    lua_getfield(L, -1, "name");
    lua_pushvalue(L, -1);
    if (lua_rawget(L, services + 1) != LUA_TNIL)
      fail("two services of one name accepted", data, size);
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, services + 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  L = fuzz_open_module("fuzz_config", &module_ref);
  lua_sethook(L, NULL, 0, 0);   /* coverage comes through on_line */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  prev_line = 0;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, module_ref);
  lua_getfield(L, -1, "load");
  lua_pushliteral(L, "fuzz.conf");
  lua_pushlstring(L, (const char *)data, size);
  lua_pushcfunction(L, on_line);
  if (lua_pcall(L, 3, 2, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_config: load raised: %s\n", lua_tostring(L, -1));
    fail("the loader raised", data, size);
  }
  if (lua_istable(L, -2)) {
    check_config(lua_gettop(L) - 1, data, size);
  } else {
    const char *msg = lua_tostring(L, -1);
    if (!lua_isnil(L, -2) || !msg || strncmp(msg, "fuzz.conf:", 10) != 0)
      fail("a refusal is not nil and \"fuzz.conf:...\"", data, size);
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
