/* Tasks: slots and script chunks run in pooled coroutines, so that a
 * slot may suspend (a wait, net.sleep) without blocking the loop. */
#ifndef LUANET_TASK_H
#define LUANET_TASK_H

#include <lua.h>
#include <stdbool.h>

struct lnet_runtime;

enum task_status { TASK_FINISHED, TASK_SUSPENDED, TASK_FAILED };
typedef void (*task_done_fn)(struct lnet_runtime *rt, void *ud, enum task_status st);

/* [-(nargs+1), +0, -] Runs the function below its nargs arguments on L's
 * top as a task. An error is logged with a traceback; *co_out (optional)
 * gets the coroutine, so that a suspended task can get a hook. */
enum task_status task_call(struct lnet_runtime *rt, lua_State *L, int nargs, lua_State **co_out);
/* [-0, +0, -] Resumes a suspended task with the nargs values on its stack. */
enum task_status task_resume(struct lnet_runtime *rt, lua_State *co, int nargs);
/* Calls fn(ud, status) once the suspended task `co` ends. */
void task_on_done(struct lnet_runtime *rt, lua_State *co, task_done_fn fn, void *ud);
/* Whether L is a task of ours that may yield to the loop. */
bool task_is_current(struct lnet_runtime *rt, lua_State *L);

#endif
