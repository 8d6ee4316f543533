/* Tasks: every slot and every script chunk runs in a coroutine, so that
 * waitFor...() and net.sleep can suspend it and let the loop go on.
 *
 * Coroutines come from a pool of finished ones: in Lua 5.4 a coroutine
 * whose function returned is back at its base and can take a new function,
 * so an emit costs a lua_resume and no allocation. One that failed is reset
 * with lua_resetthread (5.4.4 has no lua_closethread). Every task is a key
 * of the registry table tasks_ref, which keeps a suspended task alive while
 * only a C waiter knows it. A task's extra space points at its runtime:
 * that is how waitFor...() tells our tasks from a user's own coroutines. */
#include "lnet.h"


struct lnet_task_hook {
  task_done_fn fn;
  void *ud;
};

static lua_State *task_take(struct lnet_runtime *rt, lua_State *L) {
  if (rt->pool_len > 0)
    return rt->pool[--rt->pool_len];
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->tasks_ref);
  lua_State *co = lua_newthread(L);
  *(struct lnet_runtime **)lua_getextraspace(co) = rt;
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return co;
}

static void task_release(struct lnet_runtime *rt, lua_State *co) {
  if (rt->pool_len < LNET_TASK_POOL_MAX) {
    rt->pool[rt->pool_len++] = co;
    return;
  }
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->tasks_ref);
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static void task_report(struct lnet_runtime *rt, lua_State *co) {
  lua_State *L = rt->L;
  const char *msg = lua_tostring(co, -1);
  if (!msg)
    msg = luaL_typename(co, -1) ;
  luaL_traceback(L, co, msg, 0);
  lnet_log(rt, "error", "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* Takes the hook of a task that had suspended: it runs once the task ends. */
static struct lnet_task_hook task_take_hook(struct lnet_runtime *rt, lua_State *co) {
  struct lnet_task_hook h = { NULL, NULL };
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->hooks_ref);
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  if (lua_rawget(L, -2) == LUA_TUSERDATA) {
    h = *(struct lnet_task_hook *)lua_touserdata(L, -1);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    lua_pushnil(L);
    lua_rawset(L, -4);
  }
  lua_pop(L, 2);
  return h;
}

static enum task_status task_settle(struct lnet_runtime *rt, lua_State *co, int status,
                                    int nres, bool resumed) {
  enum task_status st;
  if (status == LUA_YIELD) {
    lua_pop(co, nres);
    return TASK_SUSPENDED;
  }
  if (status == LUA_OK) {
    if (lua_gettop(co) != 0)   /* a slot's return values */
      lua_settop(co, 0);
    st = TASK_FINISHED;
  } else {
    task_report(rt, co);
    lua_resetthread(co);
    st = TASK_FAILED;
  }
  struct lnet_task_hook hook = { NULL, NULL };
  if (resumed)
    hook = task_take_hook(rt, co);
  task_release(rt, co);
  if (hook.fn)
    hook.fn(rt, hook.ud, st);
  return st;
}

enum task_status task_call(struct lnet_runtime *rt, lua_State *L, int nargs, lua_State **co_out) {
  lua_State *co = task_take(rt, L);
  lua_xmove(L, co, nargs + 1);
  if (co_out)
    *co_out = co;
  int nres = 0;
  int status = lua_resume(co, L, nargs, &nres);
  enum task_status st = task_settle(rt, co, status, nres, false);
  if (st == TASK_SUSPENDED)
    rt->suspended_tasks++;
  return st;
}

enum task_status task_resume(struct lnet_runtime *rt, lua_State *co, int nargs) {
  int nres = 0;
  int status = lua_resume(co, rt->L, nargs, &nres);
  enum task_status st = task_settle(rt, co, status, nres, true);
  if (st != TASK_SUSPENDED)
    rt->suspended_tasks--;
  return st;
}

/* The hook is a userdata in the hooks table: the state owns it, so a task
 * that never ends (os.exit inside it) leaks nothing. */
void task_on_done(struct lnet_runtime *rt, lua_State *co, task_done_fn fn, void *ud) {
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->hooks_ref);
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  struct lnet_task_hook *hook = lua_newuserdatauv(L, sizeof *hook, 0);
  hook->fn = fn;
  hook->ud = ud;
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

bool task_is_current(struct lnet_runtime *rt, lua_State *L) {
  return *(struct lnet_runtime **)lua_getextraspace(L) == rt && lua_isyieldable(L);
}
