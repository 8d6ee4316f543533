/* Qt-style signals: a Signal is a list of slots (Connections); emitting
 * calls each slot in a task of its own. */
#ifndef LUANET_SIGNALS_H
#define LUANET_SIGNALS_H

#include <lua.h>
#include <stdbool.h>

#include "task.h"

#define LNET_SIGNAL      "luanet.Signal"
#define LNET_CONNECTION  "luanet.Connection"

/* [-0, +?, -] Calls every slot of the Signal at sig_idx, in connect order,
 * each in a task, with the nargs values from stack index first_arg. Leaves
 * its scratch values on the stack for the caller's one lua_settop. Returns
 * how many slots were left suspended; each of those gets `done` as hook. */
int signal_emit(struct lnet_runtime *rt, lua_State *L, int sig_idx, int first_arg, int nargs,
                task_done_fn done, void *ud);
/* As signal_emit, but suspended_fn(co, ud) is called for every slot left
 * suspended (to hook each with data of its own), and *failed (optional)
 * counts the slots that raised. */
int signal_emit_each(struct lnet_runtime *rt, lua_State *L, int sig_idx, int first_arg, int nargs,
                     void (*suspended_fn)(lua_State *co, void *ud), void *ud, int *failed);
/* [-nargs, +0, -] Emits signal number `id` of the object at obj_idx; costs
 * one table read when nothing is connected. */
int lnet_emit(struct lnet_runtime *rt, lua_State *L, int obj_idx, int id, int nargs,
              task_done_fn done, void *ud);
/* Whether signal `id` of the object at obj_idx has a slot connected. */
bool lnet_has_slots(lua_State *L, int obj_idx, int id);
/* [-nup, +0, e] Connects a C closure of fn and the nup values on the top
 * of the stack to signal `name` of the object at obj_idx. */
void lnet_connect(lua_State *L, int obj_idx, const char *name, lua_CFunction fn, int nup);
/* [-0, +1, -] The slots of signal `id` of the object at obj_idx: nil, the
 * one slot (a function) or their list; returns how many. signal_emit and
 * signal_emit_each take any of the three. */
int lnet_push_slots(lua_State *L, int obj_idx, int id);
/* [-0, +1, m] Signal number `id` of the object at obj_idx, as scripts see
 * it (obj.readyRead). */
void signal_push_bound(lua_State *L, int obj_idx, int id);
/* [-0, +1, m] A new, unconnected Signal. */
void signal_new(lua_State *L);
int luaopen_luanet_signal(lua_State *L);
/* Adds sig:wait([ms]) (signal_wait.c) to the Signal methods at `methods`. */
void signal_wait_register(lua_State *L, int methods);

#endif
