/* Worker threads: `workers = N` runs N threads, each with its own libev
 * loop and its own Lua state of every service. The main thread keeps the
 * signals, the control socket and reloads; it hands work to the workers as
 * jobs and waits for all of them (a reload, a stop, a status). The workers
 * go on serving meanwhile; only the main thread waits.
 *
 * A worker also keeps what drains in it (stopped generations) and a reaper
 * timer, but what drains and how it closes is generation.c's: it installs
 * a reap hook (worker_drain), and this file only runs it. */
#ifndef LUANET_WORKER_H
#define LUANET_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct generation;
struct worker;

typedef void (*job_fn)(struct worker *w, void *arg);
/* Closes what drains in w that is done (all of it when `force`); whether
 * anything is left. A hook, not a call: generation.h, whose generations
 * drain here, includes this header. */
typedef bool (*reap_fn)(struct worker *w, bool force);

struct workers;

struct worker {
  struct workers *ws;
  int index;                 /* 0 .. workers-1 */
  pthread_t thread;
  struct ev_loop *loop;
  ev_async wake;             /* a job is waiting */
  ev_timer reaper;           /* runs `reap` while something drains */
  reap_fn reap;              /* set by worker_drain; NULL until something drains */
  job_fn job;                /* the job to run, set by the main thread */
  void *job_arg;
  bool job_done;
  bool quit;                 /* leave the loop (a job sets it) */
  atomic_int live;           /* generations alive in this worker */
  struct generation *draining;   /* stopped generations (generation.c's list), closed once idle */
};

struct workers {
  struct worker *w;
  int n;
  pthread_mutex_t lock;
  pthread_cond_t done;
};

/* Starts n threads with their loops; false with errno on failure. */
bool workers_start(struct workers *ws, int n);
/* Runs fn(w, arg) in every worker's thread and returns when all are done. */
void workers_run(struct workers *ws, job_fn fn, void *arg);
/* Runs fn in one worker only. */
void worker_run(struct workers *ws, int index, job_fn fn, void *arg);
/* Ends the threads (their loops leave) and frees the loops. */
void workers_stop(struct workers *ws);
/* Generations alive in all workers (an atomic read: the main thread's
 * shutdown poll). */
int workers_live(struct workers *ws);
/* Something drains in w: the reaper calls reap(w, false) every little
 * while until it returns false. In w's thread. */
void worker_drain(struct worker *w, reap_fn reap);
/* Runs w's reap hook now (closing everything when `force`); whether
 * anything is left. In w's thread. */
bool worker_reap(struct worker *w, bool force);

#endif
