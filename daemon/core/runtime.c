/* The runtime of one Lua state: its libev loop (never libev's default loop,
 * whose SIGCHLD handler would reap the children of scripts and specs), the
 * task pool's anchors, the read scratch area and the log. */
#include "runtime.h"
#include "net.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char RUNTIME_KEY = 'r';

static struct lnet_runtime *runtime_find(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &RUNTIME_KEY);
  struct lnet_runtime *rt = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return rt;
}

struct lnet_runtime *lnet_runtime(lua_State *L) {
  struct lnet_runtime *rt = runtime_find(L);
  if (!rt)
    luaL_error(L, "luanet: the runtime is not open (require \"luanet\" first)");
  return rt;
}

void lnet_log(struct lnet_runtime *rt, const char *level, const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (rt && rt->log)
    rt->log(rt, level, msg);
  else
    fprintf(stderr, "luanetd: %s: %s\n", level, msg);
}

static int runtime_gc(lua_State *L) {
  struct lnet_runtime *rt = lua_touserdata(L, 1);
  if (rt->loop && rt->owns_loop)
    ev_loop_destroy(rt->loop);
  else if (rt->loop)
    ev_prepare_stop(rt->loop, &rt->resume_watcher);
  rt->loop = NULL;
  free(rt->scratch);
  rt->scratch = NULL;
  free(rt->ready);
  rt->ready = NULL;
  return 0;
}

static int new_ref_table(lua_State *L, const char *mode) {
  lua_newtable(L);
  if (mode) {
    lua_createtable(L, 0, 1);
    lua_pushstring(L, mode);
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

static struct lnet_runtime *runtime_new(lua_State *L, struct ev_loop *loop) {
  struct lnet_runtime *rt = lua_newuserdatauv(L, sizeof *rt, 0);
  memset(rt, 0, sizeof *rt);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, runtime_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  rt->scratch = malloc(LNET_SCRATCH_SIZE);
  rt->owns_loop = loop == NULL;
  rt->loop = loop ? loop : ev_loop_new(EVFLAG_AUTO);
  if (!rt->loop || !rt->scratch)
    luaL_error(L, "luanet: cannot create the event loop");
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  rt->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  rt->tasks_ref = new_ref_table(L, NULL);
  rt->hooks_ref = new_ref_table(L, NULL);
  rt->socket_mt_ref = LUA_NOREF;
  rt->counters = &rt->own_counters;
  lua_rawsetp(L, LUA_REGISTRYINDEX, &RUNTIME_KEY);
  /* Sends use MSG_NOSIGNAL, but sendfile() has no such flag. */
  signal(SIGPIPE, SIG_IGN);
  net_raise_nofile_limit();
  return rt;
}

struct lnet_runtime *runtime_open(lua_State *L) {
  struct lnet_runtime *rt = runtime_find(L);
  return rt ? rt : runtime_new(L, NULL);
}

struct lnet_runtime *runtime_attach(lua_State *L, struct ev_loop *loop) {
  struct lnet_runtime *rt = runtime_find(L);
  return rt ? rt : runtime_new(L, loop);
}

bool runtime_run_once(struct lnet_runtime *rt) {
  bool alive = ev_run(rt->loop, EVRUN_ONCE);
  if (rt->quit_requested) {
    ev_break(rt->loop, EVBREAK_ALL);
    return false;
  }
  return alive;
}

