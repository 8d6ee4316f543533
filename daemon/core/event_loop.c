/* The functions of net that run the loop: net.exec, net.quit,
 * net.processEvents, net.sleep, net.clock and net.spawn; and net.log,
 * the runtime's log for library code that has no service table. */
/*** The loop, tasks and the log (daemon/core/event_loop.c).
 * @module net
 */
#include "event_loop.h"
#include "object.h"
#include "runtime.h"
#include "task.h"
#include "wait.h"

#include <lauxlib.h>
#include <time.h>

/***
 * Runs the loop until net.quit is called or nothing is left to wait for
 * (no socket, timer or task). A script alone calls it once; under luanetd
 * the daemon runs the loop and a service never calls it.
 * @function exec
 * @treturn integer the code given to net.quit (0 when the loop ran out of work)
 * @qt QCoreApplication::exec
 */
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

/***
 * Ends net.exec with a code. In a luanetd service it stops that service,
 * in every worker (the daemon does it, not the slot that called it).
 * @function quit
 * @tparam[opt=0] integer code
 * @qt QCoreApplication::exit
 */
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

/*** Runs the loop: without ms, what is ready now; with ms, the loop
 * for at most ms, returning early when nothing is left to wait for.
 * @function processEvents
 * @tparam[opt] number ms
 * @qt QCoreApplication::processEvents
 */
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

/***
 * Waits ms milliseconds: in a task (a slot, a spawned function) only that
 * task waits and the loop runs on; outside one the loop runs nested for
 * that long.
 * @function sleep
 * @tparam number ms
 * @treturn boolean true
 * @qt QThread::msleep (which blocks; this does not)
 */
static int runtime_sleep(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  double ms = luaL_checknumber(L, 1);
  /* The wait lives in a userdata on this stack: alive while we wait. */
  struct sleep_wait *s = lua_newuserdatauv(L, sizeof *s, 0);
  lnet_wait_init(&s->wait, NULL);
  s->wait.timeout_result = true;
  return lnet_wait(L, rt, &s->wait, ms < 0 ? 0 : ms);
}

/*** Milliseconds of a monotonic clock, for time-outs.
 * @function clock
 * @treturn number milliseconds (a float), from an arbitrary start
 * @qt QElapsedTimer
 */
static int runtime_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1e3 + (lua_Number)ts.tv_nsec / 1e6);
  return 1;
}

/***
 * Calls fn(...) in a new task (a coroutine the loop resumes): it runs at
 * once until it first waits (sleep, a waitFor... method, a Redis call),
 * and spawn returns then. An error in it is logged with a traceback.
 * @function spawn
 * @tparam function fn
 * @param ... its arguments
 */
static int runtime_spawn(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  lnet_check_callable(L, 1);
  task_call(rt, L, lua_gettop(L) - 1, NULL);
  return 0;
}

/*** A line in the runtime's log, as the C classes
 * write theirs: under the daemon tagged with the service (and filtered
 * by log.level), alone on stderr as "luanetd: level: message".
 * @function log
 * @tparam string level "debug", "info", "warn" or "error"
 * @tparam string message
 * @qt qDebug, qInfo, qWarning, qCritical
 */
static int runtime_log(lua_State *L) {
  static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
  int level = luaL_checkoption(L, 1, NULL, levels);
  lnet_log(lnet_runtime(L), levels[level], "%s", luaL_checkstring(L, 2));
  return 0;
}

int luaopen_luanet_event_loop(lua_State *L) {
  static const luaL_Reg funcs[] = {
    { "exec", runtime_exec },
    { "quit", runtime_quit },
    { "processEvents", runtime_processEvents },
    { "sleep", runtime_sleep },
    { "spawn", runtime_spawn },
    { "clock", runtime_clock },
    { "log", runtime_log },
    { NULL, NULL },
  };
  runtime_open(L);
  luaL_setfuncs(L, funcs, 0);
  return 0;
}
