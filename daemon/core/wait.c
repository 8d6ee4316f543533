/* Waits. A waitFor...() call in one of our tasks yields it; the event
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
#include "wait.h"
#include "runtime.h"
#include "task.h"

#include <lauxlib.h>
#include <stdlib.h>

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
    if (!ev_is_active(&rt->resume_watcher)) {
      ev_prepare_init(&rt->resume_watcher, resume_ready_cb);
      rt->resume_watcher.data = rt;
      ev_prepare_start(rt->loop, &rt->resume_watcher);
    }
  } else {
    w->done = true;
    w->result = result;
  }
}

