/* The runtime: one per Lua state, holding its loop, its task pool, the
 * scratch buffer its sockets lend each other, the list of tasks whose
 * waits ended (wait.c), and the service limits the daemon set on it. */
#ifndef LUANET_RUNTIME_H
#define LUANET_RUNTIME_H

#include <ev.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#define LNET_SCRATCH_SIZE (64 * 1024)
#define LNET_TASK_POOL_MAX 64

struct lnet_task_hook;
struct budget;
struct tcp_server;
struct lnet_ready {
  lua_State *co;
  bool result;
};

/* What a state's code did, for `ctl status` and metrics. Counted where it
 * happens, on the state's own thread; the daemon reads them from that
 * thread too (a worker job), so they need no atomics. A service's states
 * count into counters of its own per worker, which outlive reloads: they
 * only grow, as Prometheus's counters must. */
struct lnet_counters {
  unsigned long long accepted;       /* connections peers made to it */
  unsigned long long bytes_in;       /* read from its TCP and UDP sockets (TLS: the plaintext) */
  unsigned long long bytes_out;      /* written to them */
  unsigned long long errors;         /* slots and tasks that ended in an error */
  unsigned long long cpu_stops;      /* of those, stopped by the cpu_limit hook */
  unsigned long long memory_stops;   /* of those, failed for want of memory (memory_limit) */
  double lua_seconds;                /* time its Lua code ran, with `timed` */
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
  int accepted_sockets;      /* of those, the ones peers made to it: what a drain waits for */
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
  /* A socket closed below max_connections: the servers accept again.
   * Installed by TcpServer (io), which the sockets must not include. */
  void (*capacity_changed)(struct lnet_runtime *rt);
  struct lnet_counters *counters;   /* own_counters, or the daemon's for the service */
  struct lnet_counters own_counters;
  bool timed;                /* count Lua's time: a clock read at each outermost resume */
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

/* One turn of the loop from inside a nested wait; false when the loop has
 * nothing left to wait for or net.quit was called. */
bool runtime_run_once(struct lnet_runtime *rt);

#endif
