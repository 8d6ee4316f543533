#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* How often a worker's reaper looks while something drains. */
#define REAP_INTERVAL 0.05

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents) {
  (void)revents;
  struct worker *w = a->data;
  struct workers *ws = w->ws;
  pthread_mutex_lock(&ws->lock);
  job_fn fn = w->job;
  void *arg = w->job_arg;
  pthread_mutex_unlock(&ws->lock);
  if (fn)
    fn(w, arg);
  pthread_mutex_lock(&ws->lock);
  w->job = NULL;
  w->job_done = true;
  pthread_cond_broadcast(&ws->done);
  pthread_mutex_unlock(&ws->lock);
  if (w->quit)
    ev_break(loop, EVBREAK_ALL);
}

bool worker_reap(struct worker *w, bool force) {
  return w->reap && w->reap(w, force);
}

static void reaper_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)revents;
  struct worker *w = t->data;
  if (!worker_reap(w, false))
    ev_timer_stop(loop, t);
}

void worker_drain(struct worker *w, reap_fn reap) {
  w->reap = reap;
  if (!ev_is_active(&w->reaper)) {
    ev_timer_set(&w->reaper, REAP_INTERVAL, REAP_INTERVAL);
    ev_timer_start(w->loop, &w->reaper);
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  while (!w->quit)
    ev_run(w->loop, 0);
  return NULL;
}

bool workers_start(struct workers *ws, int n) {
  memset(ws, 0, sizeof *ws);
  pthread_mutex_init(&ws->lock, NULL);
  pthread_cond_init(&ws->done, NULL);
  ws->w = calloc((size_t)n, sizeof *ws->w);
  if (!ws->w)
    return false;
  for (int i = 0; i < n; i++) {
    struct worker *w = &ws->w[i];
    w->ws = ws;
    w->index = i;
    atomic_init(&w->live, 0);
    if (!(w->loop = ev_loop_new(EVFLAG_AUTO)))
      return false;
    ev_async_init(&w->wake, wake_cb);
    w->wake.data = w;
    ev_async_start(w->loop, &w->wake);
    ev_init(&w->reaper, reaper_cb);
    w->reaper.data = w;
    int err = pthread_create(&w->thread, NULL, worker_main, w);
    if (err) {
      ev_loop_destroy(w->loop);
      w->loop = NULL;
      errno = err;
      return false;
    }
    ws->n = i + 1;
  }
  return true;
}

static void post(struct workers *ws, struct worker *w, job_fn fn, void *arg) {
  pthread_mutex_lock(&ws->lock);
  w->job = fn;
  w->job_arg = arg;
  w->job_done = false;
  pthread_mutex_unlock(&ws->lock);
  ev_async_send(w->loop, &w->wake);
}

static void wait_done(struct workers *ws, int from, int to) {
  pthread_mutex_lock(&ws->lock);
  for (int i = from; i < to; i++)
    while (!ws->w[i].job_done)
      pthread_cond_wait(&ws->done, &ws->lock);
  pthread_mutex_unlock(&ws->lock);
}

void workers_run(struct workers *ws, job_fn fn, void *arg) {
  for (int i = 0; i < ws->n; i++)
    post(ws, &ws->w[i], fn, arg);
  wait_done(ws, 0, ws->n);
}

void worker_run(struct workers *ws, int index, job_fn fn, void *arg) {
  post(ws, &ws->w[index], fn, arg);
  wait_done(ws, index, index + 1);
}

static void quit_job(struct worker *w, void *arg) {
  (void)arg;
  worker_reap(w, true);
  ev_timer_stop(w->loop, &w->reaper);
  w->quit = true;
}

void workers_stop(struct workers *ws) {
  if (!ws->w)
    return;
  workers_run(ws, quit_job, NULL);
  for (int i = 0; i < ws->n; i++) {
    pthread_join(ws->w[i].thread, NULL);
    ev_loop_destroy(ws->w[i].loop);
  }
  free(ws->w);
  ws->w = NULL;
  ws->n = 0;
  pthread_cond_destroy(&ws->done);
  pthread_mutex_destroy(&ws->lock);
}

int workers_live(struct workers *ws) {
  int n = 0;
  for (int i = 0; i < ws->n; i++)
    n += atomic_load(&ws->w[i].live);
  return n;
}
