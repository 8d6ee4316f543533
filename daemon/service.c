#include "service.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "plain_copy.h"
#include "state.h"
#include "tcp_server.h"
#include "udp_socket.h"

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
  log_line(lv, g->sv->cfg->name, msg);
  if (lv == LOG_ERROR) {
    /* The first line: a traceback's message. */
    size_t n = strcspn(msg, "\n");
    if (n >= sizeof g->sv->last_error)
      n = sizeof g->sv->last_error - 1;
    memcpy(g->sv->last_error, msg, n);
    g->sv->last_error[n] = '\0';
  }
}

/* net.quit(code) in a service stops that service, at a safe point: the
 * reaper, not the slot that called it. */
static void generation_quit(struct lnet_runtime *rt, int code) {
  struct generation *g = rt->owner;
  g->quit = true;
  g->quit_code = code;
  daemon_wake_reaper(g->sv->d);
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
  log_line(level, g->sv->cfg->name, lua_tostring(L, -1));
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

/* Each listener as an object of this state, on a duplicate of the
 * daemon's descriptor: closing it here leaves the daemon's open. */
static void push_listeners(lua_State *L, struct service *sv) {
  lua_createtable(L, sv->cfg->nlisten, 0);
  for (int i = 0; i < sv->cfg->nlisten; i++) {
    const struct listener_config *l = &sv->cfg->listen[i];
    int fd = fcntl(sv->fds[i], F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
      luaL_error(L, "%s: cannot duplicate the listener: %s", l->url, strerror(errno));
    if (l->kind == LISTENER_UDP)
      udp_socket_push_bound(L, fd);
    else
      tcp_server_push_listening(L, fd);
    if (l->name) {
      lua_pushvalue(L, -1);
      lua_setfield(L, -3, l->name);
    }
    lua_rawseti(L, -2, i + 1);
  }
}

/* In a protected call, with the options (or nil) and the resolver
 * settings (or nil) as arguments, already copied into this state: loads
 * the library and the script, and leaves the main chunk and the service
 * table for the caller to run as a task. */
static int generation_setup(lua_State *L) {
  struct generation *g = lua_touserdata(L, 1);
  struct service *sv = g->sv;
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
  if (luaL_loadfile(L, sv->cfg->script) != LUA_OK)
    return lua_error(L);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, sv->cfg->name);
  lua_setfield(L, -2, "name");
  if (lua_isnil(L, 2))
    lua_newtable(L);
  else
    lua_pushvalue(L, 2);
  lua_setfield(L, -2, "options");
  push_listeners(L, sv);
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

/* The config's option and resolver tables, copied into L. */
static bool push_settings(struct service *sv, lua_State *L, char *err, size_t errlen) {
  lua_State *C = sv->config->L;
  const int refs[2] = { sv->cfg->options_ref, sv->config->resolver_ref };
  for (int i = 0; i < 2; i++) {
    if (refs[i] == LUA_NOREF) {
      lua_pushnil(L);
      continue;
    }
    lua_rawgeti(C, LUA_REGISTRYINDEX, refs[i]);
    bool ok = plain_copy(C, -1, L, i == 0 ? "options" : "resolver", err, errlen);
    lua_pop(C, 1);
    if (!ok)
      return false;
  }
  return true;
}

static void generation_free(struct generation *g) {
  if (g->L)
    lua_close(g->L);
  fileset_free(&g->files);
  free(g);
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

/* A new generation of sv's code, started, with a copy of old's
 * service.state when old is not NULL; NULL with the error in err. */
static struct generation *generation_start(struct service *sv, struct generation *old, char *err,
                                           size_t errlen) {
  struct generation *g = calloc(1, sizeof *g);
  if (g)
    g->budget.limit = sv->cfg->memory_limit;
  if (!g || !(g->L = state_new_budget(&g->budget))) {
    snprintf(err, errlen, "not enough memory for a new Lua state");
    free(g);
    return NULL;
  }
  g->sv = sv;
  g->table_ref = LUA_NOREF;
  g->number = ++sv->generations;
  lua_State *L = g->L;
  g->rt = runtime_attach(L, sv->d->loop);
  g->rt->owner = g;
  g->rt->log = generation_log;
  g->rt->on_quit = generation_quit;
  g->rt->budget = &g->budget;
  g->rt->cpu_limit_ms = sv->cfg->cpu_limit_ms;
  g->rt->max_connections = sv->cfg->max_connections;
  lua_pushcfunction(L, generation_setup);
  lua_pushlightuserdata(L, g);
  if (!push_settings(sv, L, err, errlen)) {
    generation_free(g);
    return NULL;
  }
  if (protected_call(g, 3, 2) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error while loading");
    generation_free(g);
    return NULL;
  }
  if (old && !hand_over_state(old, L, err, errlen)) {
    generation_free(g);
    return NULL;
  }
  sv->last_error[0] = '\0';
  /* Started: the main chunk ran to its end or to its first wait. */
  if (task_call(g->rt, L, 1, NULL) == TASK_FAILED) {
    snprintf(err, errlen, "%s", sv->last_error[0] ? sv->last_error : "the main chunk failed");
    generation_free(g);
    return NULL;
  }
  fileset_collect(L, sv->cfg->script, &g->files);
  return g;
}

/* What reload = "watch" watches: the files of the running code, or the
 * script alone while no code runs. */
static void watch_files(struct service *sv) {
  if (!sv->cfg->watch) {
    watcher_stop(&sv->watch);
    return;
  }
  if (sv->current) {
    watcher_watch(&sv->watch, &sv->current->files);
    return;
  }
  struct fileset script = { 0 };
  fileset_collect(NULL, sv->cfg->script, &script);
  watcher_watch(&sv->watch, &script);
  fileset_free(&script);
}

const char *service_code_changed(const struct service *sv) {
  return sv->current ? fileset_changed(&sv->current->files) : NULL;
}

/* reload = "watch": a file changed (or may have: the re-check). A reload
 * that failed is not tried again until the files change once more. */
static void watched_files_changed(void *ud) {
  struct service *sv = ud;
  if (sv->d->stopping || sv->status == SERVICE_STOPPED)
    return;
  if (!sv->current) {   /* not running: start now rather than at the back-off */
    ev_timer_stop(sv->d->loop, &sv->retry);
    service_start(sv);
    return;
  }
  const char *path = fileset_changed(&sv->current->files);
  if (!path)
    return;
  struct fileset now;
  fileset_restat(&sv->current->files, &now);
  if (sv->rejected.n && fileset_equal(&now, &sv->rejected)) {
    fileset_free(&now);
    return;
  }
  log_printf(LOG_INFO, sv->cfg->name, "%s changed: reloading", path);
  char err[1024];
  fileset_free(&sv->rejected);
  if (service_reload(sv, err, sizeof err))
    fileset_free(&now);
  else
    sv->rejected = now;
}

/* ---- the service's lifecycle ---- */

static void describe_listeners(struct service *sv, FILE *out) {
  for (int i = 0; i < sv->cfg->nlisten; i++)
    fprintf(out, "%s%s", i ? "," : "", sv->addresses[i]);
  if (sv->cfg->nlisten == 0)
    fputs("-", out);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  service_start((struct service *)((char *)w - offsetof(struct service, retry)));
}

bool service_open(struct service *sv, struct daemon *d, struct config *config,
                  const struct service_config *cfg, char *err, size_t errlen) {
  memset(sv, 0, sizeof *sv);
  sv->d = d;
  sv->config = config_ref(config);
  sv->cfg = cfg;
  watcher_init(&sv->watch, d->loop, watched_files_changed, sv);
  sv->status = SERVICE_STOPPED;
  ev_init(&sv->retry, retry_cb);
  sv->fds = malloc(((size_t)cfg->nlisten + 1) * sizeof *sv->fds);
  sv->addresses = calloc((size_t)cfg->nlisten + 1, sizeof *sv->addresses);
  for (int i = 0; i < cfg->nlisten; i++)
    sv->fds[i] = -1;
  for (int i = 0; i < cfg->nlisten; i++) {
    const struct listener_config *l = &cfg->listen[i];
    char why[256];
    sv->fds[i] = listener_activation_take(l, cfg->name);
    if (sv->fds[i] < 0) {
      sv->fds[i] = listener_open(l, why, sizeof why);
      sv->made_paths |= (unsigned long long)(l->kind == LISTENER_UNIX && sv->fds[i] >= 0) << i;
    }
    if (sv->fds[i] < 0) {
      snprintf(err, errlen, "%s:%d: service \"%s\": %s", config->path, cfg->line, cfg->name, why);
      return false;
    }
    char where[300];
    listener_describe(sv->fds[i], l, where, sizeof where);
    sv->addresses[i] = strdup(where);
  }
  return true;
}

void service_start(struct service *sv) {
  if (sv->d->stopping)
    return;
  char err[1024];
  sv->status = SERVICE_STARTING;
  struct generation *g = generation_start(sv, NULL, err, sizeof err);
  if (!g) {
    watch_files(sv);
    sv->backoff = sv->backoff > 0 ? sv->backoff * 2 : 1;
    if (sv->backoff > SERVICE_BACKOFF_MAX)
      sv->backoff = SERVICE_BACKOFF_MAX;
    snprintf(sv->last_error, sizeof sv->last_error, "%s", err);
    log_printf(LOG_ERROR, sv->cfg->name, "failed to start: %s; trying again in %g s", err, sv->backoff);
    sv->status = SERVICE_BACKOFF;
    ev_timer_set(&sv->retry, sv->backoff, 0.);
    ev_timer_start(sv->d->loop, &sv->retry);
    return;
  }
  sv->backoff = 0;
  sv->current = g;
  sv->status = SERVICE_RUNNING;
  watch_files(sv);
  char *where = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&where, &len);
  describe_listeners(sv, out);
  fclose(out);
  log_printf(LOG_INFO, sv->cfg->name, "started %s, listening on %s", sv->cfg->script, where);
  free(where);
}

/* Closes the generation's listeners and emits its `stopping`. */
static int generation_stop_call(lua_State *L) {
  struct generation *g = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->table_ref);
  int table = lua_gettop(L);
  lua_getfield(L, table, "listeners");
  int n = (int)luaL_len(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    /* __close: stop listening, and let go of connections nobody took. */
    if (luaL_getmetafield(L, -1, "__close") != LUA_TNIL) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 0);
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, table, "stopping");
  signal_emit(g->rt, L, lua_gettop(L), 0, 0, NULL, NULL);
  return 0;
}

static void generation_stop(struct service *sv, struct generation *g) {
  g->draining = true;
  g->next = sv->draining;
  sv->draining = g;
  lua_State *L = g->L;
  lua_pushcfunction(L, generation_stop_call);
  lua_pushlightuserdata(L, g);
  if (protected_call(g, 1, 0) != LUA_OK) {
    log_printf(LOG_ERROR, sv->cfg->name, "while stopping: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  daemon_wake_reaper(sv->d);
}

bool service_reload(struct service *sv, char *err, size_t errlen) {
  struct generation *g = generation_start(sv, sv->current, err, errlen);
  if (!g) {
    log_printf(LOG_ERROR, sv->cfg->name, "reload failed, the running code goes on: %s", err);
    return false;
  }
  ev_timer_stop(sv->d->loop, &sv->retry);
  sv->backoff = 0;
  struct generation *old = sv->current;
  sv->current = g;
  sv->status = SERVICE_RUNNING;
  sv->reloads++;
  if (old)
    generation_stop(sv, old);
  watch_files(sv);
  log_printf(LOG_INFO, sv->cfg->name, "reloaded %s (generation %u)", sv->cfg->script, g->number);
  return true;
}

/* The listeners of a new block: the descriptors of listeners with the same
 * address carry over, the rest are opened. */
struct listener_set {
  int *fds;
  char **addresses;
  unsigned long long made_paths;
};

static void listener_set_free(struct listener_set *ls, int n, bool close_fds) {
  for (int i = 0; ls->fds && i < n; i++) {
    if (close_fds && ls->fds[i] >= 0)
      close(ls->fds[i]);
    free(ls->addresses[i]);
  }
  free(ls->fds);
  free(ls->addresses);
}

/* Opens what `cfg` needs beyond what sv holds; carried[j] tells which of
 * sv's descriptors moved. false with err on a listener that cannot open. */
static bool listeners_for(struct service *sv, struct config *config, const struct service_config *cfg,
                          struct listener_set *ls, bool *carried, char *err, size_t errlen) {
  ls->fds = malloc(((size_t)cfg->nlisten + 1) * sizeof *ls->fds);
  ls->addresses = calloc((size_t)cfg->nlisten + 1, sizeof *ls->addresses);
  ls->made_paths = 0;
  bool *mine = calloc((size_t)cfg->nlisten + 1, sizeof *mine);   /* opened here */
  bool ok = ls->fds && ls->addresses && mine;
  for (int i = 0; ok && i < cfg->nlisten; i++) {
    const struct listener_config *l = &cfg->listen[i];
    int from = -1;
    for (int j = 0; j < sv->cfg->nlisten && from < 0; j++)
      if (!carried[j] && sv->fds[j] >= 0 && strcmp(sv->cfg->listen[j].url, l->url) == 0)
        from = j;
    char why[256];
    if (from >= 0) {
      carried[from] = true;
      ls->fds[i] = sv->fds[from];
      ls->made_paths |= ((sv->made_paths >> from) & 1ull) << i;
    } else if ((ls->fds[i] = listener_open(l, why, sizeof why)) >= 0) {
      mine[i] = true;
      ls->made_paths |= (unsigned long long)(l->kind == LISTENER_UNIX) << i;
    } else {
      snprintf(err, errlen, "%s:%d: service \"%s\": %s", config->path, cfg->line, cfg->name, why);
      ok = false;
      break;
    }
    char where[300];
    listener_describe(ls->fds[i], l, where, sizeof where);
    ls->addresses[i] = strdup(where);
  }
  if (!ok) {
    for (int i = 0; i < cfg->nlisten && ls->fds; i++) {
      if (mine[i]) {
        close(ls->fds[i]);
        if (cfg->listen[i].kind == LISTENER_UNIX)
          unlink(cfg->listen[i].path);
      }
    }
    memset(carried, 0, (size_t)sv->cfg->nlisten * sizeof *carried);
    ls->made_paths = 0;
    listener_set_free(ls, cfg->nlisten, false);
  }
  free(mine);
  return ok;
}

bool service_reconfigure(struct service *sv, struct config *config, const struct service_config *cfg,
                         char *err, size_t errlen) {
  bool *carried = calloc((size_t)sv->cfg->nlisten + 1, sizeof *carried);
  struct listener_set ls;
  if (!carried || !listeners_for(sv, config, cfg, &ls, carried, err, errlen)) {
    free(carried);
    return false;
  }
  struct service old = *sv;
  sv->config = config;
  sv->cfg = cfg;
  sv->fds = ls.fds;
  sv->addresses = ls.addresses;
  sv->made_paths = ls.made_paths;
  bool ok;
  if (sv->current) {
    ok = service_reload(sv, err, errlen);
  } else {   /* not running (back-off): the new block gets a fresh start */
    ev_timer_stop(sv->d->loop, &sv->retry);
    sv->backoff = 0;
    service_start(sv);
    ok = true;
  }
  if (!ok) {   /* back to the old block; what was opened for the new one goes */
    for (int i = 0; i < cfg->nlisten; i++) {
      bool moved = false;
      for (int j = 0; j < old.cfg->nlisten; j++)
        moved |= carried[j] && old.fds[j] == ls.fds[i];
      if (!moved) {
        close(ls.fds[i]);
        if ((ls.made_paths >> i) & 1ull)
          unlink(cfg->listen[i].path);
      }
    }
    listener_set_free(&ls, cfg->nlisten, false);
    sv->config = old.config;
    sv->cfg = old.cfg;
    sv->fds = old.fds;
    sv->addresses = old.addresses;
    sv->made_paths = old.made_paths;
    free(carried);
    return false;
  }
  /* The old block's listeners that did not carry over close; the old
   * generation's duplicates close as it stops. */
  for (int j = 0; j < old.cfg->nlisten; j++) {
    if (!carried[j] && old.fds[j] >= 0) {
      close(old.fds[j]);
      if ((old.made_paths >> j) & 1ull)
        unlink(old.cfg->listen[j].path);
    }
  }
  struct listener_set gone = { old.fds, old.addresses, 0 };
  listener_set_free(&gone, old.cfg->nlisten, false);
  config_ref(config);
  config_unref(old.config);
  watch_files(sv);
  free(carried);
  return true;
}

void service_adopt(struct service *sv, struct config *config, const struct service_config *cfg) {
  config_ref(config);
  config_unref(sv->config);
  sv->config = config;
  sv->cfg = cfg;
}

void service_stop(struct service *sv) {
  ev_timer_stop(sv->d->loop, &sv->retry);
  watcher_stop(&sv->watch);
  if (sv->current) {
    generation_stop(sv, sv->current);
    sv->current = NULL;
  }
  sv->status = SERVICE_STOPPED;
}

static bool generation_idle(const struct generation *g) {
  return g->rt->open_sockets == 0 && g->rt->suspended_tasks == 0;
}

bool service_reap(struct service *sv, bool force) {
  struct generation *g = sv->current;
  if (g && g->quit) {
    log_printf(LOG_INFO, sv->cfg->name, "net.quit(%d) called: the service stops", g->quit_code);
    service_stop(sv);
  }
  for (struct generation **p = &sv->draining; *p;) {
    g = *p;
    if (force || generation_idle(g)) {
      if (!generation_idle(g))
        log_printf(LOG_WARN, sv->cfg->name, "closing generation %u with %d connections open",
                   g->number, g->rt->open_sockets);
      *p = g->next;
      generation_free(g);
    } else {
      p = &g->next;
    }
  }
  return sv->draining != NULL;
}

int service_connections(const struct service *sv) {
  int n = sv->current ? sv->current->rt->open_sockets : 0;
  for (const struct generation *g = sv->draining; g; g = g->next)
    n += g->rt->open_sockets;
  return n;
}

static const char *const status_names[] = { "starting", "running", "backoff", "stopped" };

static double lua_kib(lua_State *L) {
  return lua_gc(L, LUA_GCCOUNT, 0) + lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0;
}

/* "12.3MiB" */
static void print_size(FILE *out, double bytes) {
  static const char *const units[] = { "B", "KiB", "MiB", "GiB" };
  int u = 0;
  while (bytes >= 1024 && u < 3)
    bytes /= 1024, u++;
  fprintf(out, u ? "%.1f%s" : "%.0f%s", bytes, units[u]);
}

static void describe_limits(const struct service_config *c, FILE *out) {
  fputs("\tmemory_limit=", out);
  if (c->memory_limit)
    print_size(out, (double)c->memory_limit);
  else
    fputs("-", out);
  if (c->cpu_limit_ms > 0)
    fprintf(out, "\tcpu_limit=%.0fms", c->cpu_limit_ms);
  else
    fputs("\tcpu_limit=-", out);
  if (c->max_connections)
    fprintf(out, "\tmax_connections=%d", c->max_connections);
  else
    fputs("\tmax_connections=-", out);
}

void service_describe(const struct service *sv, FILE *out) {
  const struct generation *g = sv->current;
  fprintf(out, "%s\t%s\t", sv->cfg->name, status_names[sv->status]);
  describe_listeners((struct service *)sv, out);
  fprintf(out, "\tconnections=%d\tlua=%.0fKiB\treloads=%u\tlast_error=%s",
          g ? g->rt->open_sockets : 0, g ? lua_kib(g->L) : 0., sv->reloads,
          sv->last_error[0] ? sv->last_error : "-");
  fputs("\tmemory=", out);
  print_size(out, g ? (double)g->budget.used : 0.);
  describe_limits(sv->cfg, out);
  fputs("\n", out);
  for (g = sv->draining; g; g = g->next)
    fprintf(out, "%s\tdraining\tgeneration=%u\tconnections=%d\ttasks=%d\tlua=%.0fKiB\n",
            sv->cfg->name, g->number, g->rt->open_sockets, g->rt->suspended_tasks, lua_kib(g->L));
}

void service_close_listeners(struct service *sv) {
  for (int i = 0; sv->fds && i < sv->cfg->nlisten; i++) {
    if (sv->fds[i] >= 0)
      close(sv->fds[i]);
    sv->fds[i] = -1;
    if (sv->made_paths & (1ull << i))
      unlink(sv->cfg->listen[i].path);
  }
  sv->made_paths = 0;
}

void service_close(struct service *sv) {
  if (sv->d && sv->d->loop)
    ev_timer_stop(sv->d->loop, &sv->retry);
  watcher_stop(&sv->watch);
  fileset_free(&sv->rejected);
  if (sv->current)
    generation_free(sv->current);
  sv->current = NULL;
  service_reap(sv, true);
  service_close_listeners(sv);
  for (int i = 0; sv->addresses && i < sv->cfg->nlisten; i++)
    free(sv->addresses[i]);
  free(sv->fds);
  free(sv->addresses);
  sv->fds = NULL;
  sv->addresses = NULL;
  config_unref(sv->config);
  sv->config = NULL;
}
