/* Signals, Qt-style: obj.readyRead:connect(fn) and obj.readyRead:emit(...).
 *
 * Two kinds, which scripts cannot tell apart (same methods, same
 * tostring, == compares them):
 *   - a Signal of its own (net.Signal(), for Lua classes such as Http and
 *     Ftp): a table whose array part holds its slots in connect order,
 *     with methods from its metatable (integer keys never clash with
 *     method names);
 *   - a C object's signal: its slots live in the object's user value 1, a
 *     table indexed by the class's signal number, as the one slot itself
 *     when it is a function (the common case: a connection with a
 *     readyRead slot) and as a list table otherwise. obj.readyRead is a
 *     small handle (obj, number) made on each access, kept by nobody: a
 *     server with thousands of idle connections pays for their slots and
 *     nothing for the signals they are connected to. An emit with
 *     nothing connected costs one table read.
 * Every slot runs in a task of its own. */
/*** A signal: the slots (functions) that an event calls, in connect order.
 * A C object's signals are its fields (sock.readyRead); a Lua class makes
 * its own with net.Signal(). Each slot runs in a task of its own, so it
 * may wait (net.sleep, waitFor..., a Redis call) without holding up the
 * emitter or the other slots. A slot's error is logged with a traceback
 * and the rest run on. Two handles of one object's signal compare equal
 * (==); `sig(...)` is `sig:emit(...)`.
 * @classmod Signal
 * @qt QObject::connect (signals and slots)
 * @usage sock.readyRead:connect(function() print(sock:readAll()) end)
 * local done = net.Signal()
 * local c = done:connect(print)
 * done:emit("finished", 3)   -- print("finished", 3), in a task
 * c:disconnect()
 */
#include "signals.h"
#include "lua_args.h"
#include "runtime.h"
#include "task.h"

#include <lauxlib.h>
#define LNET_BOUND_SIGNAL "luanet.Signal (of an object)"

void signal_new(lua_State *L) {
  lua_createtable(L, 1, 0);
  luaL_setmetatable(L, LNET_SIGNAL);
}

/* A C object's signal: the object (user value 1) and its number. */
struct bound_signal {
  int id;
};

void signal_push_bound(lua_State *L, int obj_idx, int id) {
  obj_idx = lua_absindex(L, obj_idx);
  struct bound_signal *b = lua_newuserdatauv(L, sizeof *b, 1);
  b->id = id;
  lua_pushvalue(L, obj_idx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LNET_BOUND_SIGNAL);
}

/* [-0, +1, -] The slots of signal `id` of the object at obj_idx: nil, the
 * one slot (a function) or the list; returns their number. */
int lnet_push_slots(lua_State *L, int obj_idx, int id) {
  if (lua_getiuservalue(L, obj_idx, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return 0;
  }
  int t = lua_rawgeti(L, -1, id);
  lua_remove(L, -2);
  return t == LUA_TFUNCTION ? 1 : t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
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
  int suspended = 0;
  if (lua_isfunction(L, sig_idx)) {   /* an object's one slot */
    lua_pushvalue(L, sig_idx);
    call_slot(rt, L, first_arg, nargs, suspended_fn, ud, failed, &suspended);
    return suspended;
  }
  if (!lua_istable(L, sig_idx))
    return 0;
  int n = (int)lua_rawlen(L, sig_idx);
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
  if (lua_getiuservalue(L, obj_idx, 1) == LUA_TTABLE && lua_rawgeti(L, -1, id) != LUA_TNIL)
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
  int n = lnet_push_slots(L, obj_idx, id);
  lua_pop(L, 1);
  return n > 0;
}

/* The object's signal at idx, or NULL for a Signal of its own (checked). */
static struct bound_signal *signal_check(lua_State *L, int idx) {
  struct bound_signal *b = luaL_testudata(L, idx, LNET_BOUND_SIGNAL);
  if (!b)
    lnet_check_table_class(L, idx, LNET_SIGNAL);
  return b;
}

/* [-0, +1, m] The slot table of the object whose signal is at idx (its
 * user value 1), made if `make`; nil when there is none. */
static bool push_slot_table(lua_State *L, int idx, bool make) {
  lua_getiuservalue(L, idx, 1);   /* the object */
  if (lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
    lua_remove(L, -2);
    return true;
  }
  lua_pop(L, 1);
  if (!make) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return false;
  }
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
  lua_remove(L, -2);
  return true;
}

/* [-0, +1, -] The slots of the signal at idx, as lnet_push_slots gives
 * them (a Signal of its own is its own list); returns their number. */
static int push_slots(lua_State *L, int idx, struct bound_signal *b) {
  if (!b) {
    lua_pushvalue(L, idx);
    return (int)lua_rawlen(L, idx);
  }
  lua_getiuservalue(L, idx, 1);
  int n = lnet_push_slots(L, -1, b->id);
  lua_remove(L, -2);
  return n;
}

static void append(lua_State *L, int list, int fn) {
  lua_pushvalue(L, fn);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

/*** Connects a slot; slots are called in connect order, one slot as
 * often as it was connected.
 * @function connect
 * @tparam function fn the slot (or a callable table); it gets the signal's arguments
 * @treturn Connection a handle whose disconnect() removes this slot
 * @qt QObject::connect
 */
static int signal_connect(lua_State *L) {
  struct bound_signal *b = signal_check(L, 1);
  lnet_check_callable(L, 2);
  lua_settop(L, 2);
  if (!b) {
    append(L, 1, 2);
  } else {
    push_slot_table(L, 1, true);                 /* 3 */
    int kind = lua_rawgeti(L, 3, b->id);         /* 4: what is there */
    if (kind == LUA_TTABLE) {
      append(L, 4, 2);
    } else if (kind == LUA_TNIL && lua_isfunction(L, 2)) {
      lua_pushvalue(L, 2);                       /* the only slot, as itself */
      lua_rawseti(L, 3, b->id);
    } else {                                     /* a second slot, or a callable table: a list */
      lua_createtable(L, 2, 0);
      if (kind != LUA_TNIL)
        append(L, 5, 4);
      append(L, 5, 2);
      lua_rawseti(L, 3, b->id);
    }
    lua_settop(L, 2);
  }
  /* the handle: { signal, slot } */
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 2);
  luaL_setmetatable(L, LNET_CONNECTION);
  return 1;
}

/* Removes the first slot of list `list` that is `fn`; true when there was one. */
static bool list_remove(lua_State *L, int list, int fn) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    bool same = lua_rawequal(L, -1, fn);
    lua_pop(L, 1);
    if (!same)
      continue;
    for (lua_Integer j = i; j < n; j++) {
      lua_rawgeti(L, list, j + 1);
      lua_rawseti(L, list, j);
    }
    lua_pushnil(L);
    lua_rawseti(L, list, n);
    return true;
  }
  return false;
}

/* Removes the first slot of the signal at sig that is `fn` (or every
 * slot, fn 0); true when there was one. A list, once made, stays the
 * object's: an emit in progress walks it. */
static bool signal_remove(lua_State *L, int sig, int fn) {
  sig = lua_absindex(L, sig);
  fn = fn ? lua_absindex(L, fn) : 0;
  struct bound_signal *b = luaL_testudata(L, sig, LNET_BOUND_SIGNAL);
  int top = lua_gettop(L);
  bool removed = false;
  int kind = LUA_TTABLE, list = sig;
  if (b) {
    if (!push_slot_table(L, sig, false)) {
      lua_settop(L, top);
      return false;
    }
    kind = lua_rawgeti(L, top + 1, b->id);
    list = top + 2;
  }
  if (kind == LUA_TTABLE && fn) {
    removed = list_remove(L, list, fn);
  } else if (kind == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    for (lua_Integer i = n; i >= 1; i--) {
      lua_pushnil(L);
      lua_rawseti(L, list, i);
    }
    removed = n > 0;
  } else if (kind != LUA_TNIL && (!fn || lua_rawequal(L, list, fn))) {
    lua_pushnil(L);   /* the object's only slot */
    lua_rawseti(L, top + 1, b->id);
    removed = true;
  }
  lua_settop(L, top);
  return removed;
}

/*** Disconnects a slot (its first connection), or every slot.
 * @function disconnect
 * @tparam[opt] function|Connection fn the slot, or connect's handle; nothing: every slot
 * @treturn boolean whether a slot was removed
 * @qt QObject::disconnect
 */
static int signal_disconnect(lua_State *L) {
  signal_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_pushboolean(L, signal_remove(L, 1, 0));
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

/*** Calls every slot connected now with these arguments, each in a task;
 * a slot disconnected by an earlier one in the same emit is skipped, one
 * connected meanwhile waits for the next emit. Returns when each slot has
 * ended or first waits.
 * @function emit
 * @param ... the arguments
 * @qt emit (Q_EMIT)
 */
static int signal_emit_lua(lua_State *L) {
  struct bound_signal *b = signal_check(L, 1);
  int nargs = lua_gettop(L) - 1;
  push_slots(L, 1, b);
  signal_emit(lnet_runtime(L), L, lua_gettop(L), 2, nargs, NULL, NULL);
  return 0;
}

/*** How many slots are connected.
 * @function slotCount
 * @treturn integer
 * @qt QObject::receivers
 */
static int signal_count(lua_State *L) {
  struct bound_signal *b = signal_check(L, 1);
  lua_pushinteger(L, push_slots(L, 1, b));
  return 1;
}

static int signal_tostring(lua_State *L) {
  struct bound_signal *b = signal_check(L, 1);
  lua_pushfstring(L, LNET_SIGNAL " (%d slots)", push_slots(L, 1, b));
  return 1;
}

/* Two handles of one object's signal are the same signal. */
static int signal_eq(lua_State *L) {
  struct bound_signal *a = luaL_testudata(L, 1, LNET_BOUND_SIGNAL);
  struct bound_signal *b = luaL_testudata(L, 2, LNET_BOUND_SIGNAL);
  bool same = a && b && a->id == b->id;
  if (same) {
    lua_getiuservalue(L, 1, 1);
    lua_getiuservalue(L, 2, 1);
    same = lua_rawequal(L, -1, -2);
  }
  lua_pushboolean(L, same);
  return 1;
}

/*** Disconnects this slot from its signal: a Connection is the handle
 * connect returns (one slot's connection to one signal).
 * @function Connection:disconnect
 * @within Connection
 * @treturn boolean whether it was still connected
 * @qt QObject::disconnect(const QMetaObject::Connection &)
 */
static int connection_disconnect(lua_State *L) {
  lnet_check_table_class(L, 1, LNET_CONNECTION);
  lua_rawgeti(L, 1, 1);
  lua_rawgeti(L, 1, 2);
  lua_pushboolean(L, signal_remove(L, 2, 3));
  return 1;
}

/*** A new signal with no slot, for a class written in Lua.
 * @function net.Signal
 * @treturn Signal
 */
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
  static const luaL_Reg meta[] = {
    { "__tostring", signal_tostring },
    { "__call", signal_emit_lua },
    { "__eq", signal_eq },
    { NULL, NULL },
  };
  luaL_newlib(L, methods);
  signal_wait_register(L, lua_gettop(L));
  const char *names[] = { LNET_SIGNAL, LNET_BOUND_SIGNAL };
  for (int i = 0; i < 2; i++) {   /* one face for both kinds */
    luaL_newmetatable(L, names[i]);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "__index");
    luaL_setfuncs(L, meta, 0);
    lua_pushstring(L, LNET_SIGNAL);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
  }
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
