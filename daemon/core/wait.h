/* Waits: waitFor...() suspends a task, or runs the loop nested when not
 * called from a task (wait.c). */
#ifndef LUANET_WAIT_H
#define LUANET_WAIT_H

#include <ev.h>
#include <lua.h>
#include <stdbool.h>

struct lnet_runtime;

struct lnet_wait {
  struct lnet_runtime *rt;   /* set by lnet_wait */
  lua_State *co;             /* the suspended task, or NULL in a nested loop */
  bool active, done, result;
  ev_timer timer;
  bool timeout_result;       /* what a wait that times out returns */
  void (*on_timeout)(struct lnet_wait *w);   /* sets the Qt error, say */
};

void lnet_wait_init(struct lnet_wait *w, void (*on_timeout)(struct lnet_wait *));
/* Waits for lnet_wait_finish or ms (< 0: no limit). Called as the return
 * of a C function: `return lnet_wait(L, rt, w, ms);` yields a boolean. */
int lnet_wait(lua_State *L, struct lnet_runtime *rt, struct lnet_wait *w, double ms);
void lnet_wait_finish(struct lnet_runtime *rt, struct lnet_wait *w, bool result);

#endif
