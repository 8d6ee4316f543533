/* A generation: one loaded copy of a service's code, in a Lua state of its
 * own, in one worker (its loop, its thread). A service has one running
 * generation per worker; a reload starts new ones beside them, and the old
 * ones drain. Everything here runs in the generation's worker thread. */
#ifndef LUANET_GENERATION_H
#define LUANET_GENERATION_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#include "budget.h"
#include "runtime.h"
#include "watch.h"

struct service;
struct worker;

struct generation {
  struct service *sv;
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

/* Loads and starts sv's code in worker w, on the listener descriptors
 * `fds` (one per listener of sv's block, -1 where w has none: the script
 * sees false), with its TCP servers held (not accepting) until
 * generation_release. With `old`, old's service.state is copied in
 * first. NULL with "FILE:LINE: message" in err. */
struct generation *generation_start(struct service *sv, struct worker *w, const int *fds,
                                    struct generation *old, unsigned number, char *err, size_t errlen);
/* Its TCP servers accept. */
void generation_release(struct generation *g);
/* Stops accepting (its listeners close) and emits `stopping`. */
void generation_stop(struct generation *g);
/* No open connection and no suspended task. */
bool generation_idle(const struct generation *g);
void generation_free(struct generation *g);
/* Lua's memory in KiB. */
double generation_lua_kib(const struct generation *g);

#endif
