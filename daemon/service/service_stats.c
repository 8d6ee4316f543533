#include "service_stats.h"
#include "service.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

static void add_draining(struct worker_stats *ws, const struct generation *g) {
  struct draining_stats *more = realloc(ws->draining, ((size_t)ws->ndraining + 1) * sizeof *more);
  if (!more)
    return;   /* the line goes missing, the sums do not */
  ws->draining = more;
  ws->draining[ws->ndraining++] = (struct draining_stats){ g->number, g->rt->accepted_sockets,
                                                           g->rt->suspended_tasks, generation_lua_kib(g) * 1024 };
}

/* On worker w's thread. */
static void gather_job(struct worker *w, void *arg) {
  struct service_stats *st = arg;
  struct service *sv = st->sv;
  struct worker_stats *ws = &st->workers[w->index];
  const struct generation *g = sv->inst[w->index].current;
  if (g) {
    ws->connections = g->rt->accepted_sockets;
    ws->lua_bytes = generation_lua_kib(g) * 1024;
    ws->memory = g->budget.used;
    ws->cpu_overruns = g->rt->cpu_overruns;
  }
  ws->counters = sv->inst[w->index].counters;
  for (g = w->draining; g; g = g->next) {
    if (g->owner != &sv->owner)
      continue;
    ws->draining_connections += g->rt->accepted_sockets;
    add_draining(ws, g);
  }
}

static void add_counters(struct lnet_counters *sum, const struct lnet_counters *c) {
  sum->accepted += c->accepted;
  sum->bytes_in += c->bytes_in;
  sum->bytes_out += c->bytes_out;
  sum->errors += c->errors;
  sum->cpu_stops += c->cpu_stops;
  sum->memory_stops += c->memory_stops;
  sum->lua_seconds += c->lua_seconds;
}

bool service_stats_gather(struct service *sv, struct service_stats *st) {
  memset(st, 0, sizeof *st);
  st->sv = sv;
  if (!(st->workers = calloc((size_t)sv->nworkers, sizeof *st->workers)))
    return false;
  st->nworkers = sv->nworkers;
  if (sv->inst)
    workers_run(sv->host->workers, gather_job, st);
  for (int i = 0; i < st->nworkers; i++) {
    const struct worker_stats *ws = &st->workers[i];
    st->connections += ws->connections;
    st->draining_connections += ws->draining_connections;
    st->lua_bytes += ws->lua_bytes;
    st->memory += (double)ws->memory;
    st->cpu_overruns += ws->cpu_overruns;
    add_counters(&st->counters, &ws->counters);
  }
  return true;
}

void service_stats_free(struct service_stats *st) {
  for (int i = 0; i < st->nworkers; i++)
    free(st->workers[i].draining);
  free(st->workers);
  st->workers = NULL;
  st->nworkers = 0;
}

int service_connections(struct service *sv) {
  struct service_stats st;
  service_stats_gather(sv, &st);
  int total = st.connections + st.draining_connections;
  service_stats_free(&st);
  return total;
}
