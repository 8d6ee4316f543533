/* Worker threads: `workers = N` runs N threads, each with its own libev
 * loop and its own Lua state of every service. The main thread keeps the
 * signals, the control socket and reloads; it hands work to the workers as
 * jobs and waits for all of them (a reload, a stop, a status). The workers
 * go on serving meanwhile; only the main thread waits. */
#ifndef LUANET_WORKER_H
#define LUANET_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct generation;
struct worker;

typedef void (*job_fn)(struct worker *w, void *arg);

struct workers;

struct worker {
  struct workers *ws;
  int index;                 /* 0 .. workers-1 */
  pthread_t thread;
  struct ev_loop *loop;
  ev_async wake;             /* a job is waiting */
  ev_timer reaper;           /* closes this worker's drained generations */
  job_fn job;                /* the job to run, set by the main thread */
  void *job_arg;
  bool job_done;
  bool quit;                 /* leave the loop (a job sets it) */
  atomic_int live;           /* generations alive in this worker */
  struct generation *draining;   /* stopped generations, closed once idle */
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
/* A stopped generation joins w's draining list (in w's thread); the
 * reaper closes it once it has no connection and no task. */
void worker_add_draining(struct worker *w, struct generation *g);
/* Closes the idle draining generations (all of them when `force`);
 * whether any is left. In w's thread. */
bool worker_reap(struct worker *w, bool force);

#endif
