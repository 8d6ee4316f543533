/* A service: one script from the config, its listeners, and the Lua states
 * that run its code, one per worker (generation.h). The daemon opens the
 * listeners once per worker (TCP with SO_REUSEPORT; a UDP listener in
 * worker 0 only; a Unix one shared) and keeps them; each generation gets
 * duplicates as TcpServer/UdpSocket objects in its service table.
 *
 * Starting and reloading are two steps across the workers: every worker
 * starts new code with its servers held, and only when all have started
 * does every worker switch to it (the old generation stops accepting, gets
 * `stopping` and drains). If one fails, none switches.
 *
 * These functions run in the main thread; they reach the workers through
 * jobs (worker.h), during which the main thread waits, and the daemon
 * through the hooks it hands to service_open (struct service_host). */
#ifndef LUANET_SERVICE_H
#define LUANET_SERVICE_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "generation.h"
#include "refuser.h"
#include "watch.h"

struct worker;
struct workers;

/* The daemon, as its services see it. daemon.c fills one in and hands it
 * to service_open: a service reaches the daemon through it rather than
 * calling daemon.c, because daemon.h includes this header. */
struct service_host {
  struct ev_loop *loop;      /* the main thread's */
  struct workers *workers;
  bool (*stopping)(void *ud);    /* a shutdown began: nothing starts any more */
  void (*attention)(void *ud);   /* from a worker thread: look at the services' quit flags */
  void *ud;
};

enum service_status { SERVICE_STARTING, SERVICE_RUNNING, SERVICE_BACKOFF, SERVICE_STOPPED };

/* The service in one worker. Its draining generations are on the
 * worker's list (the worker's reaper closes them). */
struct instance {
  struct generation *current;
  struct generation *prepared;   /* started, not yet switched to */
  char error[1024];              /* why prepared is NULL */
  struct lnet_counters counters; /* its generations' in this worker (read from it) */
};

/* The listening descriptors of a block, for every worker. */
struct listener_set {
  int *fds;                  /* fds[worker * nlisten + i]; -1: none there */
  char **addresses;          /* listener i as bound (worker 0's) */
  unsigned long long made_paths;   /* bit i: we made listener i's Unix path */
};

struct service {
  const struct service_host *host;
  struct config *config;     /* held: the config this service's block is in */
  const struct service_config *cfg;
  int nworkers;
  struct listener_set ls;
  struct instance *inst;     /* one per worker */
  enum service_status status;
  unsigned generations;      /* switches made (a generation's number) */
  unsigned reloads;
  unsigned failed_reloads;
  ev_timer retry;            /* a failed start is tried again */
  double backoff;            /* seconds: 1, doubling to SERVICE_BACKOFF_MAX */
  pthread_mutex_t lock;      /* last_error and the config's state, shared with workers */
  char last_error[1024];
  struct refuser refuser;    /* while no code runs: accept and close */
  struct watcher watch;      /* reload = "watch" */
  struct fileset files;      /* the running code's files (worker 0's) */
  struct fileset rejected;   /* the files as they were when a watched reload failed */
  atomic_int live;           /* generations alive, in all workers */
  atomic_bool quit;          /* net.quit() was called in one of them */
  atomic_int quit_code;
  struct generation_owner owner;   /* how its generations reach it (lock, live, the hooks) */
};

#define SERVICE_BACKOFF_MAX 60.0

/* Opens (or takes from socket activation) the service's listeners for
 * every worker; false with "FILE:LINE: service "NAME": ADDRESS: why" in
 * err. Holds config; keeps host, which outlives the service. */
bool service_open(struct service *sv, const struct service_host *host, struct config *config,
                  const struct service_config *cfg, char *err, size_t errlen);
/* Starts the code in every worker; a failure is logged and tried again
 * with back-off. */
void service_start(struct service *sv);
/* Starts the code anew beside the running generations and switches to it,
 * handing each worker's new state a copy of its old service.state; false
 * with the error (FILE:LINE: message) when it does not start anywhere, and
 * the running code goes on. */
bool service_reload(struct service *sv, char *err, size_t errlen);
/* A new block for the service from a re-read config: listeners that stay
 * keep their descriptors, new ones are opened, and the code reloads. On
 * failure the service keeps its block, listeners and code. */
bool service_reconfigure(struct service *sv, struct config *config, const struct service_config *cfg,
                         char *err, size_t errlen);
/* The same block in a re-read config: the service holds that one now. */
void service_adopt(struct service *sv, struct config *config, const struct service_config *cfg);
/* A file the running code was loaded from that changed since, or NULL. */
const char *service_code_changed(const struct service *sv);
/* Stops taking connections: the running generations drain. */
void service_stop(struct service *sv);
/* Closes the daemon's own listening descriptors (at shutdown). */
void service_close_listeners(struct service *sv);
/* Acts on a net.quit() from any worker. */
void service_check_quit(struct service *sv);
/* "running", "backoff", ... as ctl status says it. */
const char *service_status_name(const struct service *sv);
/* Closes every generation (in the workers) and frees what it holds. */
void service_close(struct service *sv);

#endif
