/* The daemon's config: a Lua file that lua/luanet/daemon/config.lua checks in an
 * empty sandbox; this file reads the checked table into C. The Lua state
 * that ran it stays with the config: it holds each service's `options`
 * and the resolver settings, which are copied into services' states. */
#ifndef LUANET_CONFIG_H
#define LUANET_CONFIG_H

#include <lua.h>
#include <stddef.h>

#include "log.h"

enum listener_kind { LISTENER_TCP, LISTENER_UDP, LISTENER_UNIX };

struct listener_config {
  char *name;                /* NULL for a listener given in a list */
  char *url;                 /* as written: "tcp://127.0.0.1:7000" */
  enum listener_kind kind;
  bool tls;                  /* tls://: a TCP listener whose connections are encrypted */
  char *host;                /* tcp and udp: an IP literal */
  int port;
  char *path;                /* unix */
};

struct service_config {
  char *name;
  char *script;              /* resolved against the config's directory */
  int line;                  /* where the config declares it */
  struct listener_config *listen;
  int nlisten;
  int options_ref;           /* in the config's state; LUA_NOREF when none */
  int tls_ref;               /* tls = { ... } (setSslConfiguration's), likewise */
  bool watch;                /* reload = "watch" */
  size_t memory_limit;       /* bytes; 0: none */
  double cpu_limit_ms;       /* 0: none */
  int max_connections;       /* 0: none */
  char *signature;           /* equal signatures: nothing to reload for */
};

struct config {
  int refs;                  /* the daemon's, and each service's */
  lua_State *L;
  char *path;
  int workers;               /* 0: "auto" */
  enum log_level log_level;
  enum log_format log_format;
  char *control;             /* the control socket's path */
  struct listener_config *metrics;   /* metrics = "tcp://...": GET /metrics; NULL: none */
  char *user;                /* NULL: keep the user we started as */
  int resolver_ref;          /* { servers, timeout, tries } or LUA_NOREF */
  double shutdown_timeout_ms;
  char **shared_names;       /* shared = { name = size }: the SharedDicts, by name */
  size_t *shared_sizes;
  int nshared;
  struct service_config *services;
  int nservices;
};

/* NULL with "FILE:LINE: message" in err when the file is not a valid
 * config. `text` (may be NULL: read the file) is the config's source. */
struct config *config_load(const char *path, const char *text, size_t len, char *err, size_t errlen);
void config_free(struct config *cfg);
/* A config lives while the daemon or a service holds it: a service whose
 * reload failed keeps the block it runs. config_load's result has one. */
struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);
const struct service_config *config_service(const struct config *cfg, const char *name);

#endif
