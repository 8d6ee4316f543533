#include "config.h"
#include "state.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The default control socket: /run for root, else the working directory. */
static const char *default_control(void) {
  return geteuid() == 0 ? "/run/luanetd.sock" : "./luanetd.sock";
}

static char *dup_field(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *s = lua_tostring(L, -1);
  char *copy = s ? strdup(s) : NULL;
  lua_pop(L, 1);
  return copy;
}

static int int_field(lua_State *L, int idx, const char *key, int def) {
  lua_getfield(L, idx, key);
  int v = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

static int ref_field(lua_State *L, int idx, const char *key) {
  if (lua_getfield(L, idx, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void read_listener(lua_State *L, int idx, struct listener_config *l) {
  l->name = dup_field(L, idx, "name");
  l->url = dup_field(L, idx, "url");
  l->host = dup_field(L, idx, "host");
  l->path = dup_field(L, idx, "path");
  l->port = int_field(L, idx, "port", 0);
  char *kind = dup_field(L, idx, "kind");
  l->kind = strcmp(kind, "tcp") == 0 ? LISTENER_TCP : strcmp(kind, "udp") == 0 ? LISTENER_UDP : LISTENER_UNIX;
  free(kind);
  lua_getfield(L, idx, "tls");
  l->tls = lua_toboolean(L, -1);
  lua_pop(L, 1);
}

static void read_service(lua_State *L, int idx, struct service_config *s) {
  s->name = dup_field(L, idx, "name");
  s->script = dup_field(L, idx, "script");
  s->line = int_field(L, idx, "line", 0);
  s->options_ref = ref_field(L, idx, "options");
  s->tls_ref = ref_field(L, idx, "tls");
  s->signature = dup_field(L, idx, "signature");
  char *reload = dup_field(L, idx, "reload");
  s->watch = reload && strcmp(reload, "watch") == 0;
  free(reload);
  lua_getfield(L, idx, "memory_limit");
  s->memory_limit = (size_t)lua_tointeger(L, -1);
  lua_getfield(L, idx, "cpu_limit");
  s->cpu_limit_ms = lua_tonumber(L, -1);
  lua_pop(L, 2);
  s->max_connections = int_field(L, idx, "max_connections", 0);
  lua_getfield(L, idx, "listen");
  s->nlisten = (int)luaL_len(L, -1);
  s->listen = calloc((size_t)s->nlisten + 1, sizeof *s->listen);
  for (int i = 0; i < s->nlisten; i++) {
    lua_rawgeti(L, -1, i + 1);
    read_listener(L, lua_gettop(L), &s->listen[i]);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* shared = { name = size }, as checked by config.lua. */
static void read_shared(lua_State *L, int t, struct config *cfg) {
  if (lua_getfield(L, t, "shared") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int n = 0;
  for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
    n++;
  cfg->shared_names = calloc((size_t)n + 1, sizeof *cfg->shared_names);
  cfg->shared_sizes = calloc((size_t)n + 1, sizeof *cfg->shared_sizes);
  for (lua_pushnil(L); cfg->shared_names && cfg->shared_sizes && lua_next(L, -2); lua_pop(L, 1)) {
    cfg->shared_names[cfg->nshared] = strdup(lua_tostring(L, -2));
    cfg->shared_sizes[cfg->nshared++] = (size_t)lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
}

/* Reads the checked table at the top of cfg->L. */
static void read_config(struct config *cfg) {
  lua_State *L = cfg->L;
  int t = lua_gettop(L);
  lua_getfield(L, t, "workers");
  cfg->workers = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  lua_pop(L, 1);
  lua_getfield(L, t, "log");
  lua_getfield(L, -1, "level");
  log_level_parse(lua_tostring(L, -1), &cfg->log_level);
  lua_getfield(L, -2, "format");
  cfg->log_format = strcmp(lua_tostring(L, -1), "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;
  lua_pop(L, 3);
  if (lua_getfield(L, t, "metrics") == LUA_TTABLE) {
    cfg->metrics = calloc(1, sizeof *cfg->metrics);
    read_listener(L, lua_gettop(L), cfg->metrics);
  }
  lua_pop(L, 1);
  cfg->control = dup_field(L, t, "control");
  if (!cfg->control)
    cfg->control = strdup(default_control());
  cfg->user = dup_field(L, t, "user");
  cfg->resolver_ref = ref_field(L, t, "resolver");
  lua_getfield(L, t, "shutdown_timeout");
  cfg->shutdown_timeout_ms = lua_tonumber(L, -1);
  lua_pop(L, 1);
  read_shared(L, t, cfg);
  lua_getfield(L, t, "services");
  cfg->nservices = (int)luaL_len(L, -1);
  cfg->services = calloc((size_t)cfg->nservices + 1, sizeof *cfg->services);
  for (int i = 0; i < cfg->nservices; i++) {
    lua_rawgeti(L, -1, i + 1);
    read_service(L, lua_gettop(L), &cfg->services[i]);
    lua_pop(L, 1);
  }
  lua_settop(L, t - 1);
}

/* In a protected call: config.load(path, text) -> cfg or nil, message. */
static int load_checked(lua_State *L) {
  const char *path = lua_touserdata(L, 1);
  const char *text = lua_touserdata(L, 2);
  size_t len = (size_t)lua_tointeger(L, 3);
  lua_settop(L, 0);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luanet.config");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "load");
  lua_pushstring(L, path);
  if (text)
    lua_pushlstring(L, text, len);
  else
    lua_pushnil(L);
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2))
    return lua_error(L);   /* the message */
  lua_pop(L, 1);
  read_config(lua_touserdata(L, lua_upvalueindex(1)));
  return 0;
}

struct config *config_load(const char *path, const char *text, size_t len, char *err, size_t errlen) {
  struct config *cfg = calloc(1, sizeof *cfg);
  if (!cfg || !(cfg->L = state_new())) {
    snprintf(err, errlen, "%s: not enough memory", path);
    free(cfg);
    return NULL;
  }
  cfg->resolver_ref = LUA_NOREF;
  cfg->refs = 1;
  cfg->path = strdup(path);
  lua_State *L = cfg->L;
  lua_pushlightuserdata(L, cfg);
  lua_pushcclosure(L, load_checked, 1);
  lua_pushlightuserdata(L, (void *)path);
  lua_pushlightuserdata(L, (void *)text);
  lua_pushinteger(L, (lua_Integer)len);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "error in the config");
    config_free(cfg);
    return NULL;
  }
  return cfg;
}

static void free_listener(struct listener_config *l) {
  free(l->name), free(l->url), free(l->host), free(l->path);
}

static void free_service(struct service_config *s) {
  for (int i = 0; i < s->nlisten; i++)
    free_listener(&s->listen[i]);
  free(s->listen);
  free(s->name);
  free(s->script);
  free(s->signature);
}

void config_free(struct config *cfg) {
  if (!cfg)
    return;
  for (int i = 0; i < cfg->nservices; i++)
    free_service(&cfg->services[i]);
  free(cfg->services);
  for (int i = 0; i < cfg->nshared; i++)
    free(cfg->shared_names[i]);
  free(cfg->shared_names);
  free(cfg->shared_sizes);
  free(cfg->path);
  free(cfg->control);
  if (cfg->metrics)
    free_listener(cfg->metrics);
  free(cfg->metrics);
  free(cfg->user);
  if (cfg->L)
    state_close(cfg->L);
  free(cfg);
}

struct config *config_ref(struct config *cfg) {
  cfg->refs++;
  return cfg;
}

void config_unref(struct config *cfg) {
  if (cfg && --cfg->refs == 0)
    config_free(cfg);
}

const struct service_config *config_service(const struct config *cfg, const char *name) {
  for (int i = 0; i < cfg->nservices; i++)
    if (strcmp(cfg->services[i].name, name) == 0)
      return &cfg->services[i];
  return NULL;
}
