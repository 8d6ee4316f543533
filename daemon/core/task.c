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
#include "task.h"
#include "budget.h"
#include "runtime.h"

#include <lauxlib.h>

#include <stdio.h>
#include <time.h>

/* How often the cpu_limit hook looks at the clock: cheap enough to leave
 * on, often enough to stop a loop within a few ms of its limit. */
#define CPU_CHECK_INSTRUCTIONS 10000


struct lnet_task_hook {
  task_done_fn fn;
  void *ud;
};

static double monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);   /* the vDSO: no syscall */
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* cpu_limit: a count hook on every task. The clock starts at the resume;
 * a hook call past the limit stops the task, naming the slot (the
 * function at the bottom of the task) and where it was. It
 * stops it by yielding from the hook, which no pcall in the script can
 * catch (an error could be); task_settle then ends the task as failed.
 * Where the task cannot yield (inside a metamethod called from C, say) it
 * raises instead. */
/* The slot of a task: the Lua function at the bottom of co's stack (a C
 * function may be below it: the emit's). false when there is none. */
static bool find_slot(lua_State *co, lua_Debug *slot) {
  int level = 0, found = -1;
  while (lua_getstack(co, level, slot)) {
    if (lua_getinfo(co, "S", slot) && slot->what[0] != 'C')
      found = level;
    level++;
  }
  return found >= 0 && lua_getstack(co, found, slot) && lua_getinfo(co, "S", slot);
}

static void cpu_hook(lua_State *co, lua_Debug *ar) {
  struct lnet_runtime *rt = *(struct lnet_runtime **)lua_getextraspace(co);
  double now = monotonic_ms();
  if (now - rt->slice_start <= rt->cpu_limit_ms)
    return;
  rt->cpu_reported = true;
  lua_getinfo(co, "Sl", ar);
  char at[LUA_IDSIZE + 16];
  snprintf(at, sizeof at, "%s:%d", ar->short_src, ar->currentline);
  lua_Debug slot;
  if (find_slot(co, &slot))
    snprintf(rt->cpu_message, sizeof rt->cpu_message,
             "cpu_limit (%d ms) exceeded: stopped the slot defined at %s:%d, at %s", (int)rt->cpu_limit_ms,
             slot.short_src, slot.linedefined, at);
  else
    snprintf(rt->cpu_message, sizeof rt->cpu_message, "cpu_limit (%d ms) exceeded: stopped at %s",
             (int)rt->cpu_limit_ms, at);
  if (lua_isyieldable(co)) {
    rt->cpu_stopped = co;
    lua_yield(co, 0);
    return;
  }
  lua_pushstring(co, rt->cpu_message);
  lua_error(co);
}

static lua_State *task_take(struct lnet_runtime *rt, lua_State *L) {
  if (rt->pool_len > 0)
    return rt->pool[--rt->pool_len];
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->tasks_ref);
  lua_State *co = lua_newthread(L);
  *(struct lnet_runtime **)lua_getextraspace(co) = rt;
  if (rt->cpu_limit_ms > 0)
    lua_sethook(co, cpu_hook, LUA_MASKCOUNT, CPU_CHECK_INSTRUCTIONS);
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

static void task_report(struct lnet_runtime *rt, lua_State *co, const char *msg) {
  lua_State *L = rt->L;
  rt->counters->errors++;
  if (!msg)
    msg = lua_tostring(co, -1);
  if (!msg)
    msg = luaL_typename(co, -1);
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

/* A C call is beyond the hook: a slot stuck in one (a pattern that
 * backtracks for seconds, say) runs past the limit and the hook sees it
 * only after, if at all. Such a resume is logged once it returns (with
 * the slot's definition when the task is still there to name it, and how
 * long it ran) and counted (cpu_overruns in ctl status). */
static void note_overrun(struct lnet_runtime *rt, lua_State *co, int status) {
  double ran = monotonic_ms() - rt->slice_start;
  if (ran <= rt->cpu_limit_ms)
    return;
  rt->cpu_overruns++;
  lua_Debug ar;
  bool named = status == LUA_YIELD && find_slot(co, &ar);   /* suspended: its stack is there */
  if (!named && status != LUA_YIELD) {   /* ended: the slot that task_call began with, if it did */
    lua_State *L = rt->L;
    named = lua_rawgetp(L, LUA_REGISTRYINDEX, &rt->cpu_overruns) == LUA_TFUNCTION && lua_getinfo(L, ">S", &ar);
    if (!named)
      lua_pop(L, 1);
  }
  if (named)
    lnet_log(rt, "warn", "cpu_limit (%d ms) overrun: the slot defined at %s:%d ran %.0f ms in one turn, "
             "in a C call that the limit cannot stop", (int)rt->cpu_limit_ms, ar.short_src, ar.linedefined, ran);
  else
    lnet_log(rt, "warn", "cpu_limit (%d ms) overrun: a slot ran %.0f ms in one turn, in a C call that the "
             "limit cannot stop", (int)rt->cpu_limit_ms, ran);
}

static enum task_status task_settle(struct lnet_runtime *rt, lua_State *co, int status,
                                    int nres, bool resumed) {
  enum task_status st;
  if (rt->cpu_limit_ms > 0 && rt->resume_depth == 0 && !rt->cpu_reported)
    note_overrun(rt, co, status);
  if (status == LUA_YIELD && rt->cpu_stopped == co) {   /* the cpu_limit hook */
    rt->cpu_stopped = NULL;
    rt->counters->cpu_stops++;
    task_report(rt, co, rt->cpu_message);
    lua_resetthread(co);
    st = TASK_FAILED;
  } else if (status == LUA_YIELD) {
    lua_pop(co, nres);
    return TASK_SUSPENDED;
  } else if (status == LUA_OK) {
    if (lua_gettop(co) != 0)   /* a slot's return values */
      lua_settop(co, 0);
    st = TASK_FINISHED;
  } else {
    task_report(rt, co, NULL);
    lua_resetthread(co);
    st = TASK_FAILED;
    if (status == LUA_ERRMEM) {
      /* What the failed slot allocated is garbage now: collect it before
       * anything else of this state has to fit under the limit. */
      rt->memory_errors++;
      rt->counters->memory_stops++;
      lua_gc(rt->L, LUA_GCCOLLECT, 0);
    }
  }
  struct lnet_task_hook hook = { NULL, NULL };
  if (resumed)
    hook = task_take_hook(rt, co);
  task_release(rt, co);
  if (hook.fn)
    hook.fn(rt, hook.ud, st);
  return st;
}

/* lua_resume, as a protected call for the memory limit and a new slice
 * for the cpu limit. */
static int protected_resume(struct lnet_runtime *rt, lua_State *co, lua_State *from, int nargs, int *nres) {
  if (rt->budget)
    rt->budget->protected_depth++;
  int status = lua_resume(co, from, nargs, nres);
  if (rt->budget)
    rt->budget->protected_depth--;
  return status;
}

/* Under a cpu_limit, or timed: a clock read per resume (two when timed); a
 * task resumed from inside another's turn is part of that turn. Out of
 * line: without either (every script, and the benchmarks) the resume stays
 * as small as it was. */
static __attribute__((noinline)) int limited_resume(struct lnet_runtime *rt, lua_State *co, lua_State *from,
                                                    int nargs, int *nres) {
  if (rt->resume_depth++ == 0) {
    rt->slice_start = monotonic_ms();
    rt->cpu_reported = false;
  }
  int status = protected_resume(rt, co, from, nargs, nres);
  if (--rt->resume_depth == 0 && rt->timed)
    rt->counters->lua_seconds += (monotonic_ms() - rt->slice_start) / 1e3;
  return status;
}

static inline __attribute__((always_inline)) int resume(struct lnet_runtime *rt, lua_State *co, lua_State *from,
                                                        int nargs, int *nres) {
  if (rt->cpu_limit_ms > 0 || rt->timed)
    return limited_resume(rt, co, from, nargs, nres);
  return protected_resume(rt, co, from, nargs, nres);
}

enum task_status task_call(struct lnet_runtime *rt, lua_State *L, int nargs, lua_State **co_out) {
  if (rt->cpu_limit_ms > 0 && rt->resume_depth == 0) {   /* to name it should it overrun */
    lua_pushvalue(L, -(nargs + 1));
    lua_rawsetp(L, LUA_REGISTRYINDEX, &rt->cpu_overruns);
  }
  lua_State *co = task_take(rt, L);
  lua_xmove(L, co, nargs + 1);
  if (co_out)
    *co_out = co;
  int nres = 0;
  int status = resume(rt, co, L, nargs, &nres);
  enum task_status st = task_settle(rt, co, status, nres, false);
  if (st == TASK_SUSPENDED)
    rt->suspended_tasks++;
  return st;
}

enum task_status task_resume(struct lnet_runtime *rt, lua_State *co, int nargs) {
  int nres = 0;
  int status = resume(rt, co, rt->L, nargs, &nres);
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
