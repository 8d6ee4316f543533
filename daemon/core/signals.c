/* Signals, Qt-style: obj.readyRead:connect(fn) and obj.readyRead:emit(...).
 *
 * A Signal is a table whose array part holds its slots in connect order,
 * with methods from its metatable (integer keys never clash with method
 * names). C objects keep their signals in their user value, indexed by a
 * small per-class number, and make a Signal only when a script first
 * touches it: an emit with nothing connected costs one table read. Lua
 * classes (Http, Ftp, ...) make theirs with net.Signal(), so users cannot
 * tell the two kinds apart. Every slot runs in a task of its own. */
#include "signals.h"
#include "lua_args.h"
#include "runtime.h"
#include "task.h"

#include <lauxlib.h>
void signal_new(lua_State *L) {
  lua_createtable(L, 1, 0);
  luaL_setmetatable(L, LNET_SIGNAL);
}

/* Whether fn (at fn_idx) is still a slot of the signal at sig_idx. */
static bool signal_has_slot(lua_State *L, int sig_idx, int fn_idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, sig_idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, sig_idx, i);
    bool same = lua_rawequal(L, -1, fn_idx);
    lua_pop(L, 1);
    if (same)
      return true;
  }
  return false;
}

/* Calls the function on top of L with the nargs values at first_arg. */
static void call_slot(struct lnet_runtime *rt, lua_State *L, int first_arg, int nargs,
                      void (*suspended_fn)(lua_State *co, void *ud), void *ud, int *failed,
                      int *suspended) {
  for (int a = 0; a < nargs; a++)
    lua_pushvalue(L, first_arg + a);
  lua_State *co;
  enum task_status st = task_call(rt, L, nargs, &co);
  if (st == TASK_SUSPENDED) {
    ++*suspended;
    if (suspended_fn)
      suspended_fn(co, ud);
  } else if (st == TASK_FAILED && failed) {
    ++*failed;
  }
}

/* The slots connected when the emit starts are called, in order, unless a
 * slot disconnects one before its turn (as in Qt); slots connected during
 * the emit wait for the next one. One slot, the common case (a readyRead
 * per message), needs no snapshot and no re-check. */
int signal_emit_each(struct lnet_runtime *rt, lua_State *L, int sig_idx, int first_arg, int nargs,
                     void (*suspended_fn)(lua_State *co, void *ud), void *ud, int *failed) {
  int n = (int)lua_rawlen(L, sig_idx);
  int suspended = 0;
  if (n == 1) {
    lua_rawgeti(L, sig_idx, 1);
    call_slot(rt, L, first_arg, nargs, suspended_fn, ud, failed, &suspended);
    return suspended;
  }
  sig_idx = lua_absindex(L, sig_idx);
  luaL_checkstack(L, n + nargs + 2, "too many slots");
  int first = lua_gettop(L) + 1;
  for (int i = 1; i <= n; i++)   /* the snapshot */
    lua_rawgeti(L, sig_idx, i);
  for (int i = 0; i < n; i++) {
    if (i > 0 && !signal_has_slot(L, sig_idx, first + i))
      continue;
    lua_pushvalue(L, first + i);
    call_slot(rt, L, first_arg, nargs, suspended_fn, ud, failed, &suspended);
  }
  return suspended;
}

struct done_hook {
  task_done_fn done;
  void *ud;
  struct lnet_runtime *rt;
};

static void hook_suspended(lua_State *co, void *ud) {
  struct done_hook *h = ud;
  task_on_done(h->rt, co, h->done, h->ud);
}

int signal_emit(struct lnet_runtime *rt, lua_State *L, int sig_idx, int first_arg, int nargs,
                task_done_fn done, void *ud) {
  struct done_hook h = { done, ud, rt };
  return signal_emit_each(rt, L, sig_idx, first_arg, nargs, done ? hook_suspended : NULL, &h, NULL);
}

int lnet_emit(struct lnet_runtime *rt, lua_State *L, int obj_idx, int id, int nargs,
              task_done_fn done, void *ud) {
  int top = lua_gettop(L) - nargs;
  int suspended = 0;
  if (lua_getiuservalue(L, obj_idx, 1) == LUA_TTABLE && lua_rawgeti(L, -1, id) == LUA_TTABLE)
    suspended = signal_emit(rt, L, -1, top + 1, nargs, done, ud);
  lua_settop(L, top);
  return suspended;
}

void lnet_connect(lua_State *L, int obj_idx, const char *name, lua_CFunction fn, int nup) {
  obj_idx = lua_absindex(L, obj_idx);
  lua_pushcclosure(L, fn, nup);
  lua_getfield(L, obj_idx, name);
  lua_getfield(L, -1, "connect");
  lua_insert(L, -3);   /* connect, signal, closure */
  lua_insert(L, -2);
  lua_call(L, 2, 0);
}

bool lnet_has_slots(lua_State *L, int obj_idx, int id) {
  int top = lua_gettop(L);
  bool has = lua_getiuservalue(L, obj_idx, 1) == LUA_TTABLE &&
             lua_rawgeti(L, -1, id) == LUA_TTABLE && lua_rawlen(L, -1) > 0;
  lua_settop(L, top);
  return has;
}

static void signal_check(lua_State *L, int idx) {
  lnet_check_table_class(L, idx, LNET_SIGNAL);
}

/* sig:connect(fn) -> handle; slots are called in connect order. */
static int signal_connect(lua_State *L) {
  signal_check(L, 1);
  lnet_check_callable(L, 2);
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
  /* the handle: { signal, slot } */
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 2);
  luaL_setmetatable(L, LNET_CONNECTION);
  return 1;
}

/* Removes the first slot that is `fn`; true when there was one. */
static bool signal_remove(lua_State *L, int sig, int fn) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, sig);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, sig, i);
    bool same = lua_rawequal(L, -1, fn);
    lua_pop(L, 1);
    if (!same)
      continue;
    for (lua_Integer j = i; j < n; j++) {
      lua_rawgeti(L, sig, j + 1);
      lua_rawseti(L, sig, j);
    }
    lua_pushnil(L);
    lua_rawseti(L, sig, n);
    return true;
  }
  return false;
}

/* sig:disconnect([fn or handle]): without an argument, every slot. */
static int signal_disconnect(lua_State *L) {
  signal_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = n; i >= 1; i--) {
      lua_pushnil(L);
      lua_rawseti(L, 1, i);
    }
    lua_pushboolean(L, n > 0);
    return 1;
  }
  if (lnet_test_table_class(L, 2, LNET_CONNECTION)) {
    lua_rawgeti(L, 2, 2);
    lua_replace(L, 2);
  } else {
    lnet_check_callable(L, 2);
  }
  lua_pushboolean(L, signal_remove(L, 1, 2));
  return 1;
}

static int signal_emit_lua(lua_State *L) {
  signal_check(L, 1);
  signal_emit(lnet_runtime(L), L, 1, 2, lua_gettop(L) - 1, NULL, NULL);
  return 0;
}

static int signal_count(lua_State *L) {
  signal_check(L, 1);
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
  return 1;
}

static int signal_tostring(lua_State *L) {
  signal_check(L, 1);
  lua_pushfstring(L, LNET_SIGNAL " (%d slots)", (int)lua_rawlen(L, 1));
  return 1;
}

static int connection_disconnect(lua_State *L) {
  lnet_check_table_class(L, 1, LNET_CONNECTION);
  lua_rawgeti(L, 1, 1);
  lua_rawgeti(L, 1, 2);
  lua_pushboolean(L, signal_remove(L, 2, 3));
  return 1;
}

static int signal_new_lua(lua_State *L) {
  signal_new(L);
  return 1;
}

int luaopen_luanet_signal(lua_State *L) {
  static const luaL_Reg methods[] = {
    { "connect", signal_connect },
    { "disconnect", signal_disconnect },
    { "emit", signal_emit_lua },
    { "slotCount", signal_count },
    { NULL, NULL },
  };
  luaL_newmetatable(L, LNET_SIGNAL);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, signal_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, signal_emit_lua);
  lua_setfield(L, -2, "__call");
  lua_pop(L, 1);

  luaL_newmetatable(L, LNET_CONNECTION);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, connection_disconnect);
  lua_setfield(L, -2, "disconnect");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  lua_pushcfunction(L, signal_new_lua);
  return 1;
}
