/* What a service is doing, gathered from its workers: the facts behind
 * `ctl status` (text and --json, status.c) and the metrics (metrics.c).
 * Each worker fills in its own part on its own thread (a worker job), so
 * nothing it counts needs a lock. */
#ifndef LUANET_SERVICE_STATS_H
#define LUANET_SERVICE_STATS_H

#include "runtime.h"

struct service;

/* A stopped generation still finishing its connections. */
struct draining_stats {
  unsigned number;           /* the generation's */
  int connections, tasks;
  double lua_bytes;
};

struct worker_stats {
  int connections;           /* open, peers' (accepted), on the running code */
  int draining_connections;  /* and on its draining generations */
  double lua_bytes;          /* the running code's Lua heap */
  size_t memory;             /* what memory_limit counts (Lua and socket buffers) */
  unsigned long cpu_overruns;   /* the running code's slots past cpu_limit in a C call */
  struct lnet_counters counters;   /* since the service started, all generations */
  struct draining_stats *draining;
  int ndraining;
};

struct service_stats {
  struct service *sv;
  int nworkers;
  struct worker_stats *workers;
  /* Sums over the workers. */
  int connections, draining_connections;
  double lua_bytes, memory;
  unsigned long cpu_overruns;
  struct lnet_counters counters;
};

/* false when memory ran out (st is then empty, and freeing it is safe). */
bool service_stats_gather(struct service *sv, struct service_stats *st);
void service_stats_free(struct service_stats *st);
/* Open connections of all its generations, running and draining. */
int service_connections(struct service *sv);

#endif
