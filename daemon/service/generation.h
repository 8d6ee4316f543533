/* A generation: one loaded copy of a service's code, in a Lua state of its
 * own, in one worker (its loop, its thread). A service has one running
 * generation per worker; a reload starts new ones beside them, and the old
 * ones drain on their worker's list until this file's reaper closes them.
 * Everything here runs in the generation's worker thread. */
#ifndef LUANET_GENERATION_H
#define LUANET_GENERATION_H

#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "budget.h"
#include "runtime.h"
#include "watch.h"

struct config;
struct service_config;
struct worker;

/* The service a generation belongs to, as the generation sees it. The
 * service embeds one and fills it in at service_open. A generation reports
 * through these hooks rather than calling service.c: service.h includes
 * this header, so a call back would tie the two files in a knot. The
 * hooks run in the generation's worker thread. */
struct generation_owner {
  void (*note_error)(struct generation_owner *o, const char *msg);   /* an error line was logged */
  void (*request_quit)(struct generation_owner *o, int code);        /* net.quit(code) */
  pthread_mutex_t *lock;     /* held while a start reads the config's state (shared by the workers) */
  atomic_int *live;          /* the service's generations alive, in all workers */
};

/* What generation_start starts from. Read while it runs only: a SIGHUP
 * may give the service another config later and free this one. */
struct generation_plan {
  struct generation_owner *owner;
  struct config *config;             /* the config the block is in: options, resolver, user */
  const struct service_config *cfg;  /* the service's block */
  const int *fds;            /* one per listener of cfg, -1 where this worker has none */
  struct generation *old;    /* a reload: its service.state is copied in; or NULL */
  unsigned number;
  struct lnet_counters *counters;   /* the service's in this worker: outlive the generation */
};

struct generation {
  struct generation_owner *owner;
  struct worker *w;
  lua_State *L;
  struct lnet_runtime *rt;
  struct budget budget;      /* memory_limit; outlives L, which allocates through it */
  int table_ref;             /* the service table (in L's registry) */
  unsigned number;           /* 1 for the first start, +1 per reload */
  bool draining;             /* stopped accepting; closes once idle */
  struct fileset files;      /* the Lua files it runs, as they were loaded */
  char error[1024];          /* the first line of the last error it logged */
  char name[64];             /* the service's, for log lines from this thread */
  struct generation *next;   /* in its worker's draining list */
};

/* Loads and starts the plan's code in worker w, on the listener
 * descriptors plan->fds (where w has none the script sees false), with
 * its TCP servers held (not accepting) until generation_release. With
 * plan->old, old's service.state is copied in first. NULL with
 * "FILE:LINE: message" in err. */
struct generation *generation_start(const struct generation_plan *plan, struct worker *w, char *err,
                                    size_t errlen);
/* Its TCP servers accept. */
void generation_release(struct generation *g);
/* Stops accepting (its listeners close), emits `stopping`, and joins its
 * worker's draining list: the worker's reaper closes it once it has no
 * connection and no task. */
void generation_stop(struct generation *g);
/* No open connection and no suspended task. */
bool generation_idle(const struct generation *g);
void generation_free(struct generation *g);
/* Lua's memory in KiB. */
double generation_lua_kib(const struct generation *g);

#endif
