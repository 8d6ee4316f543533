/* The runtime of one Lua state: its libev loop (never libev's default loop,
 * whose SIGCHLD handler would reap the children of scripts and specs), the
 * task pool's anchors, the read scratch area, and the functions that run
 * the loop: net.exec, net.quit, net.processEvents, net.sleep, net.spawn.
 *
 * Waits. A waitFor...() call in one of our tasks yields it; the event
 * resumes it with the result. Called anywhere else (the main chunk under a
 * stock lua5.4, a user's own coroutine) it runs the loop nested, as Qt's
 * blocking calls do, one turn at a time, until the event or its time-out.
 * A nested ev_run resets libev's break flag, so every nested turn re-asserts
 * net.quit's break for the runs below it.
 *
 * A task whose wait ends is not resumed inside the callback that ended it:
 * that callback is in the middle of changing its object (and holds it on
 * its stack). It goes on a ready list that a prepare watcher empties once
 * the loop's current callbacks are done, before the loop polls again. */
#include "runtime.h"
#include "object.h"
#include "task.h"
#include "net.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void resume_ready_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  (void)revents;
  struct lnet_runtime *rt = w->data;
  /* Each entry leaves the list before its task runs: a task may run the
   * loop nested (processEvents), which calls us again, and may end other
   * waits, which we take in this same turn. */
  while (rt->ready_head < rt->nready) {
    struct lnet_ready r = rt->ready[rt->ready_head++];
    lua_pushboolean(r.co, r.result);
    task_resume(rt, r.co, 1);
  }
  rt->ready_head = rt->nready = 0;
  ev_prepare_stop(loop, &rt->resume_watcher);
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
  ev_prepare_init(&rt->resume_watcher, resume_ready_cb);
  rt->resume_watcher.data = rt;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  rt->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  rt->tasks_ref = new_ref_table(L, NULL);
  rt->hooks_ref = new_ref_table(L, NULL);
  rt->socket_mt_ref = LUA_NOREF;
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

/* ---- waits ---- */

static void wait_timeout_cb(struct ev_loop *loop, ev_timer *timer, int revents) {
  (void)revents;
  (void)loop;
  struct lnet_wait *w = (struct lnet_wait *)((char *)timer - offsetof(struct lnet_wait, timer));
  if (w->on_timeout)
    w->on_timeout(w);
  lnet_wait_finish(w->rt, w, w->timeout_result);
}

void lnet_wait_init(struct lnet_wait *w, void (*on_timeout)(struct lnet_wait *)) {
  memset(w, 0, sizeof *w);
  ev_init(&w->timer, wait_timeout_cb);
  w->on_timeout = on_timeout;
}

int lnet_wait(lua_State *L, struct lnet_runtime *rt, struct lnet_wait *w, double ms) {
  if (w->active)
    return luaL_error(L, "another task is already waiting on this object");
  w->active = true;
  w->rt = rt;
  w->done = false;
  w->result = false;
  if (ms >= 0) {
    ev_timer_set(&w->timer, ms / 1000.0, 0.);
    ev_timer_start(rt->loop, &w->timer);
  }
  if (task_is_current(rt, L)) {
    w->co = L;
    return lua_yield(L, 0);   /* lnet_wait_finish resumes with the result */
  }
  w->co = NULL;
  while (!w->done && runtime_run_once(rt))
    ;
  if (!w->done) {             /* net.quit, or nothing left that could end it */
    ev_timer_stop(rt->loop, &w->timer);
    w->active = false;
  }
  lua_pushboolean(L, w->done && w->result);
  return 1;
}

void lnet_wait_finish(struct lnet_runtime *rt, struct lnet_wait *w, bool result) {
  if (!w->active)
    return;
  w->active = false;
  ev_timer_stop(rt->loop, &w->timer);
  if (w->co) {
    lua_State *co = w->co;
    w->co = NULL;
    if (rt->nready == rt->ready_cap) {
      size_t cap = rt->ready_cap ? rt->ready_cap * 2 : 16;
      struct lnet_ready *ready = realloc(rt->ready, cap * sizeof *ready);
      if (!ready) {   /* out of memory: resume now rather than lose it */
        lua_pushboolean(co, result);
        task_resume(rt, co, 1);
        return;
      }
      rt->ready = ready;
      rt->ready_cap = cap;
    }
    rt->ready[rt->nready++] = (struct lnet_ready){ co, result };
    ev_prepare_start(rt->loop, &rt->resume_watcher);
  } else {
    w->done = true;
    w->result = result;
  }
}

/* ---- net.exec, net.quit, net.processEvents, net.sleep, net.spawn ---- */

static int runtime_exec(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  rt->quit_requested = false;
  rt->exit_code = 0;
  while (runtime_run_once(rt))
    ;
  rt->quit_requested = false;
  lua_pushinteger(L, rt->exit_code);
  return 1;
}

static int runtime_quit(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  rt->exit_code = (int)luaL_optinteger(L, 1, 0);
  if (rt->on_quit) {
    rt->on_quit(rt, rt->exit_code);
    return 0;
  }
  rt->quit_requested = true;
  ev_break(rt->loop, EVBREAK_ALL);
  return 0;
}

static void expire_cb(struct ev_loop *loop, ev_timer *timer, int revents) {
  (void)loop, (void)revents;
  *(bool *)timer->data = true;
}

/* net.processEvents([ms]): without ms, what is ready now; with ms, the loop
 * for at most ms, returning early when nothing is left to wait for. */
static int runtime_processEvents(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  rt->quit_requested = false;
  if (lua_isnoneornil(L, 1)) {
    ev_run(rt->loop, EVRUN_NOWAIT);
    return 0;
  }
  double ms = luaL_checknumber(L, 1);
  bool expired = false;
  ev_timer timer;
  ev_timer_init(&timer, expire_cb, ms > 0 ? ms / 1000.0 : 0., 0.);
  timer.data = &expired;
  ev_timer_start(rt->loop, &timer);
  ev_unref(rt->loop);   /* our timer alone does not keep the loop alive */
  while (!expired && runtime_run_once(rt))
    ;
  ev_ref(rt->loop);
  ev_timer_stop(rt->loop, &timer);
  return 0;
}

struct sleep_wait {
  struct lnet_wait wait;
};

static int runtime_sleep(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  double ms = luaL_checknumber(L, 1);
  /* The wait lives in a userdata on this stack: alive while we wait. */
  struct sleep_wait *s = lua_newuserdatauv(L, sizeof *s, 0);
  lnet_wait_init(&s->wait, NULL);
  s->wait.timeout_result = true;
  return lnet_wait(L, rt, &s->wait, ms < 0 ? 0 : ms);
}

/* net.clock(): milliseconds of a monotonic clock, for time-outs. */
static int runtime_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1e3 + (lua_Number)ts.tv_nsec / 1e6);
  return 1;
}

static int runtime_spawn(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  lnet_check_callable(L, 1);
  task_call(rt, L, lua_gettop(L) - 1, NULL);
  return 0;
}

int luaopen_luanet_runtime(lua_State *L) {
  static const luaL_Reg funcs[] = {
    { "exec", runtime_exec },
    { "quit", runtime_quit },
    { "processEvents", runtime_processEvents },
    { "sleep", runtime_sleep },
    { "spawn", runtime_spawn },
    { "clock", runtime_clock },
    { NULL, NULL },
  };
  runtime_open(L);
  luaL_setfuncs(L, funcs, 0);
  return 0;
}
