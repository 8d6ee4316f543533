/* sig:wait([ms]), as Qt's QSignalSpy::wait: the calling task suspends
 * until the signal is emitted (true) or ms pass (false; 5000 by default,
 * a negative ms: no limit). Outside a task the loop runs nested, as the
 * waitFor...() calls do. It works on any signal, an object's
 * (sock.readyRead) or a Signal of a Lua class, so library code in Lua
 * waits for what another task hands over without looking every few ms.
 *
 * The wait is a one-shot slot: a C closure over the waiter, connected for
 * the wait and disconnected by whichever ends it, the emit or the time-out.
 * The waiter stays on the waiting call's stack until that call returns. */
/*** Signal's wait (daemon/core/signal_wait.c).
 * @classmod Signal
 */
#include "signals.h"
#include "runtime.h"
#include "wait.h"

#include <lauxlib.h>
#include <stddef.h>

struct signal_waiter {
  struct lnet_wait wait;
  int sig_ref, slot_ref;     /* registry refs while connected; LUA_NOREF after */
};

/* Removes the waiter's slot from its signal. */
static void waiter_disconnect(lua_State *L, struct signal_waiter *w) {
  if (w->slot_ref == LUA_NOREF)
    return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->sig_ref);
  lua_getfield(L, -1, "disconnect");
  lua_insert(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->slot_ref);
  lua_call(L, 2, 0);
  luaL_unref(L, LUA_REGISTRYINDEX, w->sig_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, w->slot_ref);
  w->sig_ref = w->slot_ref = LUA_NOREF;
}

/* The slot: the signal came. */
static int waiter_slot(lua_State *L) {
  struct signal_waiter *w = lua_touserdata(L, lua_upvalueindex(1));
  struct lnet_runtime *rt = lnet_runtime(L);
  waiter_disconnect(L, w);
  lnet_wait_finish(rt, &w->wait, true);
  return 0;
}

static void waiter_timeout(struct lnet_wait *lw) {
  struct signal_waiter *w = (struct signal_waiter *)((char *)lw - offsetof(struct signal_waiter, wait));
  waiter_disconnect(lw->rt->L, w);
}

/*** Waits for the signal: the calling task suspends until the signal is
 * emitted or ms pass (outside a task the loop runs nested meanwhile, as
 * the waitFor... methods do). Any number of tasks may wait on one signal;
 * an emit wakes them all. The emit's arguments go to the slots, not here:
 * connect a slot to keep them.
 * @function wait
 * @tparam[opt=5000] number ms how long at most; a negative number: no limit
 * @treturn boolean true when the signal was emitted, false after ms
 * @qt QSignalSpy::wait
 */
static int signal_wait(lua_State *L) {
  luaL_checkany(L, 1);
  double ms = luaL_optnumber(L, 2, 5000);
  lua_settop(L, 1);
  struct lnet_runtime *rt = lnet_runtime(L);
  struct signal_waiter *w = lua_newuserdatauv(L, sizeof *w, 0);   /* 2: held by this call */
  lnet_wait_init(&w->wait, waiter_timeout);
  w->sig_ref = w->slot_ref = LUA_NOREF;
  lua_getfield(L, 1, "connect");   /* checks that it is a signal */
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, waiter_slot, 1);
  lua_pushvalue(L, -1);
  w->slot_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_call(L, 2, 0);
  lua_pushvalue(L, 1);
  w->sig_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return lnet_wait(L, rt, &w->wait, ms);
}

void signal_wait_register(lua_State *L, int methods) {
  lua_pushcfunction(L, signal_wait);
  lua_setfield(L, methods, "wait");
}
