#include "generation.h"
#include "config.h"
#include "log.h"
#include "plain_copy.h"
#include "state.h"
#include "tcp_server.h"
#include "udp_socket.h"
#include "worker.h"
#include "object.h"
#include "runtime.h"
#include "task.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const LOG_FUNCTIONS[] = { "debug", "info", "warn", "error" };

/* ---- what a generation's runtime reports to the daemon ---- */

static void generation_log(struct lnet_runtime *rt, const char *level, const char *msg) {
  struct generation *g = rt->owner;
  enum log_level lv = LOG_ERROR;
  log_level_parse(level, &lv);
  log_line(lv, g->name, msg);
  if (lv == LOG_ERROR) {
    size_t n = strcspn(msg, "\n");   /* a traceback's message */
    if (n >= sizeof g->error)
      n = sizeof g->error - 1;
    memcpy(g->error, msg, n);
    g->error[n] = '\0';
    g->owner->note_error(g->owner, g->error);
  }
}

/* net.quit(code) in a service stops that service: the main thread does it,
 * in every worker, not the slot that called it. */
static void generation_quit(struct lnet_runtime *rt, int code) {
  struct generation *g = rt->owner;
  g->owner->request_quit(g->owner, code);
}

/* lua_pcall in the generation's state, where its memory_limit applies. */
static int protected_call(struct generation *g, int nargs, int nres) {
  g->budget.protected_depth++;
  int status = lua_pcall(g->L, nargs, nres, 0);
  g->budget.protected_depth--;
  return status;
}

/* ---- the service table ---- */

/* service.log.LEVEL(...): the arguments as print() joins them. */
static int service_log_call(lua_State *L) {
  struct generation *g = lua_touserdata(L, lua_upvalueindex(1));
  enum log_level level = (enum log_level)lua_tointeger(L, lua_upvalueindex(2));
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  log_line(level, g->name, lua_tostring(L, -1));
  return 0;
}

static void push_log_table(lua_State *L, struct generation *g) {
  lua_createtable(L, 0, 4);
  for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
    lua_pushlightuserdata(L, g);
    lua_pushinteger(L, i);
    lua_pushcclosure(L, service_log_call, 2);
    lua_setfield(L, -2, LOG_FUNCTIONS[i]);
  }
}

/* server:setSslConfiguration(tls) for the TcpServer on the top: the
 * certificates are read now, so a reload reads them again. */
static void encrypt_listener(lua_State *L, const struct listener_config *l, int tls) {
  int server = lua_gettop(L);
  lua_getfield(L, server, "setSslConfiguration");
  lua_pushvalue(L, server);
  lua_pushvalue(L, tls);
  lua_call(L, 2, 2);
  if (!lua_toboolean(L, -2))
    luaL_error(L, "%s: %s", l->url, lua_tostring(L, -1));
  lua_settop(L, server);
}

/* Each listener as an object of this state, on a duplicate of the
 * daemon's descriptor (closing it here leaves the daemon's open); false
 * where this worker has none (a UDP listener lives in worker 0). */
static void push_listeners(lua_State *L, const struct service_config *cfg, const int *fds, int tls) {
  lua_createtable(L, cfg->nlisten, 0);
  for (int i = 0; i < cfg->nlisten; i++) {
    const struct listener_config *l = &cfg->listen[i];
    if (fds[i] < 0) {
      lua_pushboolean(L, 0);
    } else {
      int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
      if (fd < 0)
        luaL_error(L, "%s: cannot duplicate the listener: %s", l->url, strerror(errno));
      if (l->kind == LISTENER_UDP) {
        udp_socket_push_bound(L, fd);
      } else {
        tcp_server_push_listening(L, fd);
        tcp_server_hold(L, -1, true);   /* until generation_release */
        if (l->tls)
          encrypt_listener(L, l, tls);
      }
    }
    if (l->name) {
      lua_pushvalue(L, -1);
      lua_setfield(L, -3, l->name);
    }
    lua_rawseti(L, -2, i + 1);
  }
}

/* In a protected call, with the generation, the options (or nil), the
 * resolver settings (or nil), the tls table (or nil) and the plan (light
 * userdata) as arguments:
 * loads the library and the script, and leaves the main chunk and the
 * service table for the caller to run as a task. */
static int generation_setup(lua_State *L) {
  struct generation *g = lua_touserdata(L, 1);
  const struct generation_plan *plan = lua_touserdata(L, 5);
  const struct service_config *cfg = plan->cfg;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luanet");
  lua_call(L, 1, 1);
  int net = lua_gettop(L);
  if (!lua_isnil(L, 3)) {   /* resolver = { servers, timeout, tries } */
    lua_getfield(L, net, "HostInfo");
    lua_getfield(L, -1, "setNameServers");
    lua_getfield(L, 3, "servers");
    lua_createtable(L, 0, 2);
    lua_getfield(L, 3, "timeout");
    lua_setfield(L, -2, "timeout");
    lua_getfield(L, 3, "tries");
    lua_setfield(L, -2, "tries");
    lua_call(L, 2, 0);
    lua_pop(L, 1);
  }
  if (luaL_loadfile(L, cfg->script) != LUA_OK) {
    /* "cannot open PATH: Permission denied": after `user =` dropped
     * privileges, say which user could not read it. */
    const char *user = plan->config->user;
    if (user && access(cfg->script, R_OK) < 0 && errno == EACCES)
      lua_pushfstring(L, "%s (the daemon runs as user \"%s\", set by user =)", lua_tostring(L, -1), user);
    return lua_error(L);
  }
  lua_createtable(L, 0, 8);
  lua_pushstring(L, cfg->name);
  lua_setfield(L, -2, "name");
  lua_pushnumber(L, plan->config->shutdown_timeout_ms);
  lua_setfield(L, -2, "shutdownTimeout");   /* how long `stopping` code may drain, in ms */
  lua_pushinteger(L, g->w->index + 1);
  lua_setfield(L, -2, "worker");
  if (lua_isnil(L, 2))
    lua_newtable(L);
  else
    lua_pushvalue(L, 2);
  lua_setfield(L, -2, "options");
  push_listeners(L, cfg, plan->fds, 4);
  lua_setfield(L, -2, "listeners");
  push_log_table(L, g);
  lua_setfield(L, -2, "log");
  lua_newtable(L);
  lua_setfield(L, -2, "state");
  signal_new(L);
  lua_setfield(L, -2, "stopping");
  lua_pushvalue(L, -1);
  g->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 2;
}

/* The config's option, resolver and tls tables, copied into L. The config's
 * state is shared by the workers: the main thread waits while they start
 * (workers_run), so each reads it under the service's lock. */
static bool push_settings(const struct generation_plan *plan, lua_State *L, char *err, size_t errlen) {
  lua_State *C = plan->config->L;
  const int refs[3] = { plan->cfg->options_ref, plan->config->resolver_ref, plan->cfg->tls_ref };
  static const char *const names[3] = { "options", "resolver", "tls" };
  bool ok = true;
  pthread_mutex_lock(plan->owner->lock);
  for (int i = 0; i < 3 && ok; i++) {
    if (refs[i] == LUA_NOREF) {
      lua_pushnil(L);
      continue;
    }
    lua_rawgeti(C, LUA_REGISTRYINDEX, refs[i]);
    ok = plain_copy(C, -1, L, names[i], err, errlen);
    lua_pop(C, 1);
  }
  pthread_mutex_unlock(plan->owner->lock);
  return ok;
}

/* The running generation's service.state, copied into L's service table
 * (at the top of L's stack): the snapshot a reload hands on. */
static bool hand_over_state(struct generation *old, lua_State *L, char *err, size_t errlen) {
  lua_State *O = old->L;
  lua_rawgeti(O, LUA_REGISTRYINDEX, old->table_ref);
  lua_getfield(O, -1, "state");
  bool ok = plain_copy(O, -1, L, "service.state", err, errlen);
  lua_pop(O, 2);
  if (ok)
    lua_setfield(L, -2, "state");
  return ok;
}

void generation_free(struct generation *g) {
  if (g->L) {
    state_close(g->L);
    atomic_fetch_sub(&g->w->live, 1);
    atomic_fetch_sub(g->owner->live, 1);
  }
  fileset_free(&g->files);
  free(g);
}

struct generation *generation_start(const struct generation_plan *plan, struct worker *w, char *err,
                                    size_t errlen) {
  const struct service_config *cfg = plan->cfg;
  struct generation *g = calloc(1, sizeof *g);
  if (g)
    g->budget.limit = cfg->memory_limit;
  if (!g || !(g->L = state_new_budget(&g->budget))) {
    snprintf(err, errlen, "not enough memory for a new Lua state");
    free(g);
    return NULL;
  }
  atomic_fetch_add(&w->live, 1);
  atomic_fetch_add(plan->owner->live, 1);
  g->owner = plan->owner;
  /* Its own copy: a SIGHUP may give the service another config (and free
   * the old one) while this worker logs. */
  snprintf(g->name, sizeof g->name, "%s", cfg->name);
  g->w = w;
  g->table_ref = LUA_NOREF;
  g->number = plan->number;
  lua_State *L = g->L;
  g->rt = runtime_attach(L, w->loop);
  g->rt->owner = g;
  g->rt->log = generation_log;
  g->rt->on_quit = generation_quit;
  g->rt->budget = &g->budget;
  g->rt->cpu_limit_ms = cfg->cpu_limit_ms;
  g->rt->max_connections = cfg->max_connections;
  g->rt->counters = plan->counters;
  g->rt->timed = true;   /* its Lua time, for metrics; the default cpu_limit reads the clock anyway */
  lua_pushcfunction(L, generation_setup);
  lua_pushlightuserdata(L, g);
  if (!push_settings(plan, L, err, errlen)) {
    generation_free(g);
    return NULL;
  }
  lua_pushlightuserdata(L, (void *)plan);
  if (protected_call(g, 5, 2) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error while loading");
    generation_free(g);
    return NULL;
  }
  if (plan->old && !hand_over_state(plan->old, L, err, errlen)) {
    generation_free(g);
    return NULL;
  }
  /* Started: the main chunk ran to its end or to its first wait. The
   * error, if any, was logged; its first line is the answer. */
  g->error[0] = '\0';
  if (task_call(g->rt, L, 1, NULL) == TASK_FAILED) {
    snprintf(err, errlen, "%s", g->error[0] ? g->error : "the main chunk failed");
    generation_free(g);
    return NULL;
  }
  fileset_collect(L, cfg->script, &g->files);
  return g;
}

/* Releases the held TCP servers of the service table; or closes every
 * listener and emits `stopping`. */
static int for_each_listener(lua_State *L) {
  struct generation *g = lua_touserdata(L, 1);
  bool release = lua_toboolean(L, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->table_ref);
  lua_getfield(L, -1, "listeners");
  int n = (int)luaL_len(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (release) {
      if (luaL_testudata(L, -1, LNET_TCPSERVER))
        tcp_server_hold(L, -1, false);
    } else if (luaL_getmetafield(L, -1, "__close") != LUA_TNIL) {
      /* __close: stop listening, and let go of connections nobody took. */
      lua_pushvalue(L, -2);
      lua_call(L, 1, 0);
    }
    lua_pop(L, 1);
  }
  if (!release) {
    lua_getfield(L, -2, "stopping");
    signal_emit(g->rt, L, lua_gettop(L), 0, 0, NULL, NULL);
  }
  return 0;
}

static void listeners_call(struct generation *g, bool release) {
  lua_State *L = g->L;
  lua_pushcfunction(L, for_each_listener);
  lua_pushlightuserdata(L, g);
  lua_pushboolean(L, release);
  if (protected_call(g, 2, 0) != LUA_OK) {
    log_printf(LOG_ERROR, g->name, "while %s: %s", release ? "starting" : "stopping",
               lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

void generation_release(struct generation *g) {
  listeners_call(g, true);
}

/* The worker's reap hook (worker.h): closes the idle generations of w's
 * draining list, or all of them when `force`; whether any is left. */
static bool reap_drained(struct worker *w, bool force) {
  for (struct generation **p = &w->draining; *p;) {
    struct generation *g = *p;
    if (force || generation_idle(g)) {
      if (!generation_idle(g))
        log_printf(LOG_WARN, g->name, "closing generation %u with %d connections open", g->number,
                   g->rt->accepted_sockets);
      *p = g->next;
      generation_free(g);
    } else {
      p = &g->next;
    }
  }
  return w->draining != NULL;
}

void generation_stop(struct generation *g) {
  g->draining = true;
  listeners_call(g, false);
  g->next = g->w->draining;
  g->w->draining = g;
  worker_drain(g->w, reap_drained);
}

/* Drained: no peer's connection is left and no task waits. The state's
 * own connections out (a Redis subscriber, an HTTP client's keep-alive
 * pool) keep nothing alive: nobody is served through them any more, and
 * they close with the state. */
bool generation_idle(const struct generation *g) {
  return g->rt->accepted_sockets == 0 && g->rt->suspended_tasks == 0;
}

double generation_lua_kib(const struct generation *g) {
  return lua_gc(g->L, LUA_GCCOUNT, 0) + lua_gc(g->L, LUA_GCCOUNTB, 0) / 1024.0;
}
