/* What every part of the core shares: the per-state runtime (loop, task
 * pool, scratch buffer), tasks, waits, signals and the class helper.
 * Type names live here, once. */
#ifndef LUANET_LNET_H
#define LUANET_LNET_H

#include <ev.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#define LNET_TCPSOCKET   "luanet.TcpSocket"
#define LNET_TCPSERVER   "luanet.TcpServer"
#define LNET_UDPSOCKET   "luanet.UdpSocket"
#define LNET_TIMER       "luanet.Timer"
#define LNET_HOSTADDRESS "luanet.HostAddress"
#define LNET_SIGNAL      "luanet.Signal"
#define LNET_CONNECTION  "luanet.Connection"
#define LNET_HTTPPARSER  "luanet.HttpParser"

#define LNET_SCRATCH_SIZE (64 * 1024)
#define LNET_TASK_POOL_MAX 64

/* ---- the runtime: one per Lua state (runtime.c) ---- */

struct lnet_task_hook;
struct budget;
struct tcp_server;
struct lnet_ready {
  lua_State *co;
  bool result;
};

struct lnet_runtime {
  struct ev_loop *loop;
  lua_State *L;              /* the state's main thread: callbacks push here */
  int tasks_ref;             /* registry table: task coroutine -> true */
  int hooks_ref;             /* registry table: suspended task -> its done hook */
  lua_State *pool[LNET_TASK_POOL_MAX];
  int pool_len;
  char *scratch;             /* lent to one socket's read buffer at a time */
  bool scratch_busy;
  bool quit_requested;
  int exit_code;
  int socket_mt_ref;         /* TcpSocket's metatable, for accept */
  ev_prepare resume_watcher; /* resumes the tasks whose waits ended */
  struct lnet_ready *ready;  /* those tasks, in the order their waits ended */
  size_t ready_head, nready, ready_cap;   /* a FIFO: ready[head..n) */
  unsigned timer_iteration;  /* loop iteration of the last timer start */
  unsigned timer_seq;        /* timers started in that iteration */
  bool owns_loop;            /* false when the daemon lends its loop */
  int open_sockets;          /* TcpSockets with an fd: a service's connections */
  int suspended_tasks;       /* tasks waiting for an event or a time-out */
  /* A service's limits (DESIGN, The daemon); zero or NULL: none. */
  struct budget *budget;     /* memory_limit: the state's allocator count */
  double cpu_limit_ms;       /* Lua time one resume of a task may take */
  double slice_start;        /* when the running resume began (with a cpu_limit) */
  unsigned long cpu_overruns;   /* resumes past cpu_limit that the hook could not stop */
  bool cpu_reported;         /* the hook stopped (and logged) the running resume */
  int resume_depth;          /* resumes running, nested (counted under a cpu_limit only) */
  int max_connections;       /* open_sockets at which servers stop accepting */
  unsigned long memory_errors;   /* tasks that failed for want of memory */
  lua_State *cpu_stopped;    /* the task the cpu_limit hook just stopped */
  char cpu_message[320];     /* and why */
  struct tcp_server *listening;   /* the servers that accept, for max_connections */
  /* Set by the daemon for a service's state; NULL when a script runs alone. */
  void *owner;
  /* Where log lines go; stderr as "luanetd: level: message" when NULL. */
  void (*log)(struct lnet_runtime *rt, const char *level, const char *msg);
  /* What net.quit(code) does; breaks the loop when NULL. */
  void (*on_quit)(struct lnet_runtime *rt, int code);
};

/* [-0, +0, -] The runtime of L's state (made by luaopen_luanet_core). */
struct lnet_runtime *lnet_runtime(lua_State *L);
/* [-0, +0, m] Opens L's runtime on a loop of its own (once per state). */
struct lnet_runtime *runtime_open(lua_State *L);
/* [-0, +0, m] Opens L's runtime on the daemon's loop, which it does not
 * own: closing the state stops its watchers and leaves the loop running.
 * Call before `require "luanet"`. */
struct lnet_runtime *runtime_attach(lua_State *L, struct ev_loop *loop);
/* Logs one line to stderr: "tag: level: message". */
void lnet_log(struct lnet_runtime *rt, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- tasks: slots and script chunks run in pooled coroutines (task.c) ---- */

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

/* ---- waits: waitFor...() suspends a task or runs the loop nested (runtime.c) ---- */

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
/* One turn of the loop from inside a nested wait; false when the loop has
 * nothing left to wait for or net.quit was called. */
bool runtime_run_once(struct lnet_runtime *rt);
int luaopen_luanet_runtime(lua_State *L);

/* ---- signals (signal.c) ---- */

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
/* [-0, +1, m] A new, unconnected Signal. */
void signal_new(lua_State *L);
int luaopen_luanet_signal(lua_State *L);

/* ---- classes (lnet.c) ---- */

/* The ids of struct lnet_object: odd and with "LN" on top, so that neither
 * a pointer nor a small number at the head of another userdata matches. */
enum lnet_class_id {
  LNET_ID_TCPSOCKET = 0x4c4e0001,
  LNET_ID_TCPSERVER = 0x4c4e0003,
  LNET_ID_UDPSOCKET = 0x4c4e0005,
  LNET_ID_TIMER = 0x4c4e0007,
  LNET_ID_HOSTADDRESS = 0x4c4e0009,
  LNET_ID_HTTPPARSER = 0x4c4e000b,
  LNET_ID_HTTPSERVER = 0x4c4e000d,
  LNET_ID_HTTPREQUEST = 0x4c4e000f,
  LNET_ID_HTTPRESPONSE = 0x4c4e0011,
};

struct lnet_class {
  uint32_t id;               /* enum lnet_class_id */
  const char *name;          /* the metatable's __name: "luanet.TcpSocket" */
  /* Called when a script first touches signal `id` of an object, so that
   * a class can skip work for signals nobody can have connected. */
  void (*signal_touched)(void *obj, int id);
  const luaL_Reg *methods;
  const luaL_Reg *more_methods;   /* another file's (TcpSocket's TLS); may be NULL */
  const luaL_Reg *meta;      /* __gc, __close, __tostring, ... */
  const char *const *signals;/* NULL-terminated; signal ids are 1-based */
  const char *const *constants; /* enum names exposed on the class table */
  const luaL_Reg *statics;   /* functions of the class table (singleShot) */
  lua_CFunction construct;   /* called by Class(...) */
};

/* [-0, +1, m] Registers the metatable and pushes the class table
 * (constants, methods, __call = construct). Objects of the class keep
 * their signals in user value 1, a table indexed by signal id. */
void lnet_class_register(lua_State *L, const struct lnet_class *c);
/* The first member of every object's struct: the id of the class that
 * made it. Methods check their self argument by it, with two API calls and
 * nothing pushed; comparing metatables took four calls, twice per echoed
 * message. Four bytes, so that the next member packs beside it. */
struct lnet_object {
  uint32_t class_id;
};
/* [-0, +1, m] A new full userdata of `size` bytes (a struct that starts
 * with a struct lnet_object), zeroed but for its class, with the class's
 * metatable. Its signal table (user value 1) is made when a script first
 * touches one of its signals. */
void *lnet_newobject(lua_State *L, size_t size, const struct lnet_class *c, int nuvalues);
/* The object of class c at idx, else NULL. lua_rawlen is 0 for a light
 * userdata, and a full one shorter than the tag is not ours. */
static inline void *lnet_testself(lua_State *L, int idx, const struct lnet_class *c) {
  struct lnet_object *o = lua_touserdata(L, idx);
  return o && lua_rawlen(L, idx) >= sizeof *o && o->class_id == c->id ? o : NULL;
}
/* The same, else a type error. */
static inline void *lnet_checkself(lua_State *L, int idx, const struct lnet_class *c) {
  void *o = lnet_testself(L, idx, c);
  if (!o)
    luaL_typeerror(L, idx, c->name);
  return o;
}
/* Registry anchors: keep an object alive while libev holds it. */
int lnet_anchor(lua_State *L, int idx);
void lnet_unanchor(lua_State *L, int *ref);
/* Raises "bad argument #n (function expected)" unless callable. */
void lnet_check_callable(lua_State *L, int idx);
/* Tables with a class's metatable (Signal, Connection). */
bool lnet_test_table_class(lua_State *L, int idx, const char *tname);
void lnet_check_table_class(lua_State *L, int idx, const char *tname);
/* A socket option's value: a boolean, or an integer that fits a C int
 * (setsockopt takes an int; a larger one would be cut silently). */
int lnet_check_option_value(lua_State *L, int idx);
/* Milliseconds argument with a default, as Qt's int msecs. */
double lnet_opt_ms(lua_State *L, int idx, double def);

#endif
