#include "metrics.h"
#include "daemon_state.h"
#include "service.h"
#include "service_stats.h"
#include "shared_dict.h"
#include "version.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* One family: its HELP and TYPE lines come once, before its samples. */
static void family(FILE *out, const char *name, const char *type, const char *help) {
  fprintf(out, "# HELP luanetd_%s %s\n# TYPE luanetd_%s %s\n", name, help, name, type);
}

/* A label value: backslash, quote and newline escaped, as the format asks.
 * Service and dict names are words, but a format is kept, not assumed. */
static void label_value(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', out), fputc(*s, out);
    else if (*s == '\n')
      fputs("\\n", out);
    else
      fputc(*s, out);
  }
}

static void service_sample(FILE *out, const char *name, const char *service, int worker, double value) {
  fprintf(out, "luanetd_%s{service=\"", name);
  label_value(out, service);
  if (worker > 0)
    fprintf(out, "\",worker=\"%d", worker);
  fprintf(out, "\"} %.15g\n", value);
}

/* The services' stats, gathered once per scrape. */
struct scrape {
  struct service_stats *stats;
  int n;
};

/* A value of one worker's stats. */
typedef double (*worker_value)(const struct worker_stats *ws);

static double open_connections(const struct worker_stats *ws) { return ws->connections + ws->draining_connections; }
static double accepted(const struct worker_stats *ws) { return (double)ws->counters.accepted; }
static double bytes_in(const struct worker_stats *ws) { return (double)ws->counters.bytes_in; }
static double bytes_out(const struct worker_stats *ws) { return (double)ws->counters.bytes_out; }
static double errors(const struct worker_stats *ws) { return (double)ws->counters.errors; }
static double cpu_stops(const struct worker_stats *ws) { return (double)ws->counters.cpu_stops; }
static double memory_stops(const struct worker_stats *ws) { return (double)ws->counters.memory_stops; }
static double lua_seconds(const struct worker_stats *ws) { return ws->counters.lua_seconds; }
static double memory(const struct worker_stats *ws) { return (double)ws->memory; }
static double lua_bytes(const struct worker_stats *ws) {
  double sum = ws->lua_bytes;
  for (int i = 0; i < ws->ndraining; i++)
    sum += ws->draining[i].lua_bytes;
  return sum;
}

static const struct {
  const char *name, *type, *help;
  worker_value value;
} per_worker[] = {
  { "connections_open", "gauge", "Connections peers made to the service that are open, old code's included.",
    open_connections },
  { "connections_accepted_total", "counter", "Connections the service accepted.", accepted },
  { "received_bytes_total", "counter", "Bytes the service's sockets read (TLS: after decryption).", bytes_in },
  { "sent_bytes_total", "counter", "Bytes the service's sockets wrote (TLS: before encryption).", bytes_out },
  { "lua_memory_bytes", "gauge", "The Lua heap of the service's states, old code's included.", lua_bytes },
  { "memory_bytes", "gauge", "What memory_limit counts: the running code's Lua heap and socket buffers.", memory },
  { "lua_cpu_seconds_total", "counter", "Time the service's Lua code ran.", lua_seconds },
  { "errors_total", "counter", "Slots and tasks of the service that ended in an error.", errors },
  { "cpu_limit_stops_total", "counter", "Slots stopped by cpu_limit.", cpu_stops },
  { "memory_limit_stops_total", "counter", "Slots that failed for want of memory under memory_limit.", memory_stops },
};

/* A value of one service. */
typedef double (*service_value)(const struct service *sv);

static double up(const struct service *sv) { return strcmp(service_status_name(sv), "running") == 0; }
static double reloads(const struct service *sv) { return sv->reloads; }
static double failed_reloads(const struct service *sv) { return sv->failed_reloads; }
static double refused(const struct service *sv) { return (double)sv->refuser.refused; }

static const struct {
  const char *name, *type, *help;
  service_value value;
} per_service[] = {
  { "service_up", "gauge", "1 while the service's code runs, 0 in back-off or stopped.", up },
  { "reloads_total", "counter", "Reloads of the service's code that switched to new code.", reloads },
  { "reload_failures_total", "counter", "Reloads that failed, leaving the old code running.", failed_reloads },
  { "refused_connections_total", "counter", "Connections closed at once while the service had no code running.",
    refused },
};

static void services(FILE *out, const struct scrape *s) {
  for (size_t f = 0; f < sizeof per_service / sizeof *per_service; f++) {
    family(out, per_service[f].name, per_service[f].type, per_service[f].help);
    for (int i = 0; i < s->n; i++)
      service_sample(out, per_service[f].name, s->stats[i].sv->cfg->name, 0, per_service[f].value(s->stats[i].sv));
  }
  for (size_t f = 0; f < sizeof per_worker / sizeof *per_worker; f++) {
    family(out, per_worker[f].name, per_worker[f].type, per_worker[f].help);
    for (int i = 0; i < s->n; i++)
      for (int w = 0; w < s->stats[i].nworkers; w++)
        service_sample(out, per_worker[f].name, s->stats[i].sv->cfg->name, w + 1,
                       per_worker[f].value(&s->stats[i].workers[w]));
  }
}

/* The dict families, one field of sd_stats each. */
enum dict_field { DICT_CAPACITY, DICT_USED, DICT_ENTRIES, DICT_EVICTIONS };

static const struct {
  const char *name, *type, *help;
} dict_families[] = {
  [DICT_CAPACITY] = { "shared_dict_capacity_bytes", "gauge", "The size the config declares for the SharedDict." },
  [DICT_USED] = { "shared_dict_used_bytes", "gauge", "Bytes the SharedDict's entries take of its capacity." },
  [DICT_ENTRIES] = { "shared_dict_entries", "gauge", "Entries in the SharedDict (expired ones not yet swept count)." },
  [DICT_EVICTIONS] = { "shared_dict_evictions_total", "counter", "Live entries evicted to make room." },
};

struct dict_scrape {
  FILE *out;
  enum dict_field field;
};

static void dict_sample(void *ud, struct shared_dict *dict) {
  struct dict_scrape *ds = ud;
  struct sd_stats s;
  shared_dict_stats(dict, &s);
  double value = ds->field == DICT_CAPACITY ? (double)s.capacity
               : ds->field == DICT_USED     ? (double)s.used
               : ds->field == DICT_ENTRIES  ? (double)s.entries
                                            : (double)s.evictions;
  fprintf(ds->out, "luanetd_%s{dict=\"", dict_families[ds->field].name);
  label_value(ds->out, shared_dict_name(dict));
  fprintf(ds->out, "\"} %.15g\n", value);
}

static void dicts(FILE *out) {
  for (enum dict_field f = DICT_CAPACITY; f <= DICT_EVICTIONS; f++) {
    family(out, dict_families[f].name, dict_families[f].type, dict_families[f].help);
    struct dict_scrape ds = { out, f };
    shared_dict_each(dict_sample, &ds);
  }
}

static double seconds(const struct timespec *ts) {
  return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static void process(struct daemon *d, FILE *out) {
  family(out, "build_info", "gauge", "The version of the running luanetd.");
  fprintf(out, "luanetd_build_info{version=\"%s\"} 1\n", version_string());
  family(out, "start_time_seconds", "gauge", "When the daemon started, in seconds since the epoch.");
  fprintf(out, "luanetd_start_time_seconds %.3f\n", d->started);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  family(out, "process_cpu_seconds_total", "counter", "User and system CPU time of the whole process.");
  fprintf(out, "luanetd_process_cpu_seconds_total %.6f\n", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                                               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
  long pages = 0;
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm) {
    if (fscanf(statm, "%*s %ld", &pages) != 1)
      pages = 0;
    fclose(statm);
  }
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory of the whole process.");
  fprintf(out, "luanetd_process_resident_memory_bytes %.0f\n", (double)pages * (double)sysconf(_SC_PAGESIZE));
  family(out, "worker_cpu_seconds_total", "counter", "CPU time of each worker thread (all its services).");
  for (int w = 0; w < d->workers.n; w++) {
    clockid_t clock;
    struct timespec ts;
    if (pthread_getcpuclockid(d->workers.w[w].thread, &clock) == 0 && clock_gettime(clock, &ts) == 0)
      fprintf(out, "luanetd_worker_cpu_seconds_total{worker=\"%d\"} %.6f\n", w + 1, seconds(&ts));
  }
}

/* The config's services; one removed from it (still draining) is not
 * reported: its name may be back in the config, and a series must be one. */
void metrics_write(struct daemon *d, FILE *out) {
  struct scrape s = { calloc((size_t)d->nservices + 1, sizeof *s.stats), 0 };
  if (!s.stats)
    return;
  for (int i = 0; i < d->nservices; i++)
    service_stats_gather(d->services[i], &s.stats[s.n++]);
  process(d, out);
  services(out, &s);
  dicts(out);
  for (int i = 0; i < s.n; i++)
    service_stats_free(&s.stats[i]);
  free(s.stats);
}
