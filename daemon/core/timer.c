/* net.Timer: QTimer on an ev_timer. A running timer is anchored in the
 * registry, so `net.Timer()` started and dropped still fires; a stopped one
 * is an ordinary collectable object. Timer.singleShot(ms, fn) is a bare
 * ev_timer holding a reference to fn, with no object for the script. */
#include "timer.h"
#include "object.h"
#include "runtime.h"
#include "signals.h"
#include "task.h"

#include <math.h>

/***
 * net.Timer: a repeating or single-shot timer that emits timeout.
 * A running timer keeps itself alive (a started timer that the script
 * drops still fires); a stopped one is collected like any value. Timers
 * due at the same instant fire in the order they were started. A
 * to-be-closed variable (Lua's close attribute) stops it.
 * @classmod Timer
 * @qt QTimer
 * @usage local t = net.Timer()
 * t.timeout:connect(function() print("tick") end)
 * t:start(1000)
 */
static const struct lnet_class timer_class;

enum { TIMER_SIG_TIMEOUT = 1 };

struct timer {
  struct lnet_object obj;   /* first: its class */
  struct lnet_runtime *rt;
  ev_timer watcher;
  int ref;                  /* anchor while active */
  double interval_ms;
  bool single_shot;
};

/* libev's timer heap does not keep the start order of timers that expire
 * at the same instant; Qt and Node fire them in that order. Timers started
 * in one loop iteration share ev_now, so each gets a nanosecond more than
 * the one before (libev keeps times on the monotonic clock, where a double
 * resolves far below that). */
static double start_order_bias(struct lnet_runtime *rt) {
  unsigned iteration = ev_iteration(rt->loop);
  if (iteration != rt->timer_iteration) {
    rt->timer_iteration = iteration;
    rt->timer_seq = 0;
  }
  return 1e-9 * rt->timer_seq++;
}

static struct timer *timer_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &timer_class);
}

static double timer_checkms(lua_State *L, int idx) {
  double ms = luaL_checknumber(L, idx);
  luaL_argcheck(L, ms >= 0 && isfinite(ms), idx, "interval must be a non-negative number");
  return ms;
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct timer *t = (struct timer *)((char *)w - offsetof(struct timer, watcher));
  struct lnet_runtime *rt = t->rt;
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
  int obj = lua_gettop(L);
  if (t->single_shot) {
    /* Stop first: the slot may start the timer again. */
    ev_timer_stop(rt->loop, &t->watcher);
    lnet_unanchor(L, &t->ref);
  }
  lnet_emit(rt, L, obj, TIMER_SIG_TIMEOUT, 0, NULL, NULL);
  lua_settop(L, obj - 1);
}

static void timer_stop_watcher(lua_State *L, struct timer *t) {
  if (t->rt && t->rt->loop)
    ev_timer_stop(t->rt->loop, &t->watcher);
  lnet_unanchor(L, &t->ref);
}

/***
 * Starts (or restarts) the timer.
 * @function start
 * @tparam[opt] number ms the interval in milliseconds, >= 0 (else the one set before; 0 at first)
 * @qt QTimer::start
 */
static int timer_start(lua_State *L) {
  struct timer *t = timer_check(L, 1);
  if (!lua_isnoneornil(L, 2))
    t->interval_ms = timer_checkms(L, 2);
  ev_timer_stop(t->rt->loop, &t->watcher);
  double after = t->interval_ms / 1000.0;
  ev_timer_set(&t->watcher, after + start_order_bias(t->rt),
               t->single_shot ? 0. : (after > 0 ? after : 1e-9));
  ev_timer_start(t->rt->loop, &t->watcher);
  if (t->ref == LUA_NOREF)
    t->ref = lnet_anchor(L, 1);
  return 0;
}

/***
 * Stops the timer; it may then be collected.
 * @function stop
 * @qt QTimer::stop
 */
static int timer_stop(lua_State *L) {
  timer_stop_watcher(L, timer_check(L, 1));
  return 0;
}

/***
 * Sets the interval; a running timer restarts with it.
 * @function setInterval
 * @tparam number ms milliseconds, >= 0
 * @qt QTimer::setInterval
 */
static int timer_setInterval(lua_State *L) {
  struct timer *t = timer_check(L, 1);
  t->interval_ms = timer_checkms(L, 2);
  if (ev_is_active(&t->watcher)) {
    lua_settop(L, 1);
    return timer_start(L);
  }
  return 0;
}

/***
 * The interval.
 * @function interval
 * @treturn integer milliseconds
 * @qt QTimer::interval
 */
static int timer_interval(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)timer_check(L, 1)->interval_ms);
  return 1;
}

/***
 * Makes the timer fire once per start, or repeatedly (the default).
 * @function setSingleShot
 * @tparam boolean singleShot
 * @qt QTimer::setSingleShot
 */
static int timer_setSingleShot(lua_State *L) {
  struct timer *t = timer_check(L, 1);
  t->single_shot = lua_toboolean(L, 2);
  return 0;
}

/***
 * Whether the timer fires once per start.
 * @function isSingleShot
 * @treturn boolean
 * @qt QTimer::isSingleShot
 */
static int timer_isSingleShot(lua_State *L) {
  lua_pushboolean(L, timer_check(L, 1)->single_shot);
  return 1;
}

/***
 * Whether the timer is running.
 * @function isActive
 * @treturn boolean
 * @qt QTimer::isActive
 */
static int timer_isActive(lua_State *L) {
  lua_pushboolean(L, ev_is_active(&timer_check(L, 1)->watcher));
  return 1;
}

/***
 * The time left until the timer fires.
 * @function remainingTime
 * @treturn integer milliseconds, or -1 when the timer is not running
 * @qt QTimer::remainingTime
 */
static int timer_remainingTime(lua_State *L) {
  struct timer *t = timer_check(L, 1);
  if (!ev_is_active(&t->watcher))
    lua_pushinteger(L, -1);
  else
    lua_pushinteger(L, (lua_Integer)(ev_timer_remaining(t->rt->loop, &t->watcher) * 1000.0));
  return 1;
}

static int timer_gc(lua_State *L) {
  timer_stop_watcher(L, timer_check(L, 1));
  return 0;
}

static int timer_tostring(lua_State *L) {
  struct timer *t = timer_check(L, 1);
  lua_pushfstring(L, LNET_TIMER " (%s, %d ms)", ev_is_active(&t->watcher) ? "active" : "inactive",
                  (int)t->interval_ms);
  return 1;
}

/***
 * A new timer, stopped, repeating, with an interval of 0.
 * @function net.Timer
 * @treturn Timer
 * @qt QTimer::QTimer
 */
static int timer_new(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  struct timer *t = lnet_newobject(L, sizeof *t, &timer_class, 1);
  t->rt = rt;
  t->ref = LUA_NOREF;
  ev_init(&t->watcher, timer_cb);
  return 1;
}

/* ---- Timer.singleShot(ms, fn) ---- */

/* A userdata holding fn as its user value, anchored until it fires: the
 * registry owns it, so nothing leaks if the state closes first. */
struct single_shot {
  ev_timer watcher;
  struct lnet_runtime *rt;
  int ref;
};

static void single_shot_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct single_shot *s = (struct single_shot *)w;
  struct lnet_runtime *rt = s->rt;
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
  lnet_unanchor(L, &s->ref);
  lua_getiuservalue(L, -1, 1);
  lua_remove(L, -2);
  task_call(rt, L, 0, NULL);
}

/***
 * Calls fn once, in a task of its own, after ms milliseconds; there is
 * no object to stop.
 * @function singleShot
 * @static
 * @tparam number ms milliseconds, >= 0
 * @tparam function fn
 * @qt QTimer::singleShot
 */
static int timer_singleShot(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  double ms = timer_checkms(L, 1);
  lnet_check_callable(L, 2);
  struct single_shot *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->rt = rt;
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  s->ref = lnet_anchor(L, -1);
  ev_timer_init(&s->watcher, single_shot_cb, ms / 1000.0 + start_order_bias(rt), 0.);
  ev_timer_start(rt->loop, &s->watcher);
  return 0;
}

static const luaL_Reg timer_methods[] = {
  { "start", timer_start },
  { "stop", timer_stop },
  { "setInterval", timer_setInterval },
  { "interval", timer_interval },
  { "setSingleShot", timer_setSingleShot },
  { "isSingleShot", timer_isSingleShot },
  { "isActive", timer_isActive },
  { "remainingTime", timer_remainingTime },
  { NULL, NULL },
};

static const luaL_Reg timer_statics[] = {
  { "singleShot", timer_singleShot },
  { NULL, NULL },
};

/***
 * Emitted each time the timer fires (once per start when single-shot).
 * @signal timeout
 * @qt QTimer::timeout
 */
static const char *const timer_signals[] = { "timeout", NULL };

static const struct lnet_class timer_class = {
  .id = LNET_ID_TIMER, .name = LNET_TIMER, .methods = timer_methods, .gc = timer_gc, .close = timer_gc, .tostring = timer_tostring, .signals = timer_signals,
  .statics = timer_statics, .construct = timer_new,
};

int luaopen_luanet_timer(lua_State *L) {
  lnet_class_register(L, &timer_class);
  return 1;
}
