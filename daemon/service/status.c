#include "status.h"
#include "daemon_state.h"
#include "json_print.h"
#include "service.h"
#include "service_stats.h"
#include "shared_dict.h"

#include <pthread.h>
#include <unistd.h>

/* The services of the config, then those removed from it that drain. */
static void each_service(struct daemon *d, void (*fn)(struct service *sv, FILE *out, bool first), FILE *out) {
  bool first = true;
  for (int i = 0; i < d->nservices; i++, first = false)
    fn(d->services[i], out, first);
  for (int i = 0; i < d->nretired; i++, first = false)
    fn(d->retired[i], out, first);
}

/* ---- text ---- */

/* "12.3MiB" */
static void print_size(FILE *out, double bytes) {
  static const char *const units[] = { "B", "KiB", "MiB", "GiB" };
  int u = 0;
  while (bytes >= 1024 && u < 3)
    bytes /= 1024, u++;
  fprintf(out, u ? "%.1f%s" : "%.0f%s", bytes, units[u]);
}

static void text_limits(const struct service_config *c, FILE *out) {
  fputs("\tmemory_limit=", out);
  if (c->memory_limit)
    print_size(out, (double)c->memory_limit);
  else
    fputs("-", out);
  if (c->cpu_limit_ms > 0)
    fprintf(out, "\tcpu_limit=%.0fms", c->cpu_limit_ms);
  else
    fputs("\tcpu_limit=-", out);
  if (c->max_connections)
    fprintf(out, "\tmax_connections=%d", c->max_connections);
  else
    fputs("\tmax_connections=-", out);
}

static void text_service(struct service *sv, FILE *out, bool first) {
  (void)first;
  struct service_stats st;
  service_stats_gather(sv, &st);
  fprintf(out, "%s\t%s\t", sv->cfg->name, service_status_name(sv));
  for (int i = 0; i < sv->cfg->nlisten; i++)
    fprintf(out, "%s%s", i ? "," : "", sv->ls.addresses[i]);
  if (sv->cfg->nlisten == 0)
    fputs("-", out);
  pthread_mutex_lock(&sv->lock);
  fprintf(out, "\tconnections=%d\tlua=%.0fKiB\treloads=%u\tlast_error=%s", st.connections, st.lua_bytes / 1024,
          sv->reloads, sv->last_error[0] ? sv->last_error : "-");
  pthread_mutex_unlock(&sv->lock);
  fprintf(out, "\trefused=%llu\tcpu_overruns=%lu", sv->refuser.refused, st.cpu_overruns);
  fputs("\tmemory=", out);
  print_size(out, st.memory);
  text_limits(sv->cfg, out);
  if (st.nworkers > 1) {
    fputs("\tper_worker=", out);
    for (int w = 0; w < st.nworkers; w++)
      fprintf(out, "%s%d", w ? "," : "", st.workers[w].connections);
  }
  fputs("\n", out);
  for (int w = 0; w < st.nworkers; w++) {
    for (int i = 0; i < st.workers[w].ndraining; i++) {
      const struct draining_stats *g = &st.workers[w].draining[i];
      fprintf(out, "%s\tdraining\tgeneration=%u\tconnections=%d\ttasks=%d\tlua=%.0fKiB\tworker=%d\n", sv->cfg->name,
              g->number, g->connections, g->tasks, g->lua_bytes / 1024, w + 1);
    }
  }
  service_stats_free(&st);
}

void status_text(struct daemon *d, FILE *out) {
  each_service(d, text_service, out);
}

/* ---- JSON ---- */

static void json_counters(const struct lnet_counters *c, FILE *out) {
  fprintf(out, "\"accepted\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"errors\":%llu,"
          "\"cpu_limit_stops\":%llu,\"memory_limit_stops\":%llu,\"lua_cpu_seconds\":%.6f",
          c->accepted, c->bytes_in, c->bytes_out, c->errors, c->cpu_stops, c->memory_stops, c->lua_seconds);
}

static void json_limits(const struct service_config *c, FILE *out) {
  fputs("\"limits\":{\"memory_limit\":", out);
  c->memory_limit ? fprintf(out, "%zu", c->memory_limit) : fputs("null", out);
  fputs(",\"cpu_limit_ms\":", out);
  c->cpu_limit_ms > 0 ? fprintf(out, "%.0f", c->cpu_limit_ms) : fputs("null", out);
  fputs(",\"max_connections\":", out);
  c->max_connections ? fprintf(out, "%d", c->max_connections) : fputs("null", out);
  fputs("}", out);
}

static void json_service(struct service *sv, FILE *out, bool first) {
  struct service_stats st;
  service_stats_gather(sv, &st);
  fputs(first ? "{\"name\":" : ",{\"name\":", out);
  json_print_cstring(out, sv->cfg->name);
  fprintf(out, ",\"status\":\"%s\",\"listeners\":[", service_status_name(sv));
  for (int i = 0; i < sv->cfg->nlisten; i++) {
    fputs(i ? "," : "", out);
    json_print_cstring(out, sv->ls.addresses[i]);
  }
  pthread_mutex_lock(&sv->lock);
  fprintf(out, "],\"reloads\":%u,\"failed_reloads\":%u,\"last_error\":", sv->reloads, sv->failed_reloads);
  json_print_cstring(out, sv->last_error[0] ? sv->last_error : NULL);
  pthread_mutex_unlock(&sv->lock);
  fprintf(out, ",\"connections\":%d,\"draining_connections\":%d,\"lua_bytes\":%.0f,\"memory_bytes\":%.0f,"
          "\"refused\":%llu,\"cpu_overruns\":%lu,",
          st.connections, st.draining_connections, st.lua_bytes, st.memory, sv->refuser.refused, st.cpu_overruns);
  json_counters(&st.counters, out);
  fputs(",", out);
  json_limits(sv->cfg, out);
  fputs(",\"workers\":[", out);
  for (int w = 0; w < st.nworkers; w++) {
    const struct worker_stats *ws = &st.workers[w];
    fprintf(out, "%s{\"worker\":%d,\"connections\":%d,\"draining_connections\":%d,\"lua_bytes\":%.0f,"
            "\"memory_bytes\":%zu,", w ? "," : "", w + 1, ws->connections, ws->draining_connections, ws->lua_bytes,
            ws->memory);
    json_counters(&ws->counters, out);
    fputs(",\"draining\":[", out);
    for (int i = 0; i < ws->ndraining; i++) {
      const struct draining_stats *g = &ws->draining[i];
      fprintf(out, "%s{\"generation\":%u,\"connections\":%d,\"tasks\":%d,\"lua_bytes\":%.0f}", i ? "," : "",
              g->number, g->connections, g->tasks, g->lua_bytes);
    }
    fputs("]}", out);
  }
  fputs("]}", out);
  service_stats_free(&st);
}

struct json_dicts {
  FILE *out;
  bool first;
};

static void json_dict(void *ud, struct shared_dict *dict) {
  struct json_dicts *j = ud;
  struct sd_stats s;
  shared_dict_stats(dict, &s);
  fputs(j->first ? "{\"name\":" : ",{\"name\":", j->out);
  json_print_cstring(j->out, shared_dict_name(dict));
  fprintf(j->out, ",\"capacity_bytes\":%zu,\"used_bytes\":%zu,\"entries\":%zu,\"evictions\":%llu}", s.capacity, s.used,
          s.entries, s.evictions);
  j->first = false;
}

void status_json(struct daemon *d, FILE *out) {
  fprintf(out, "{\"pid\":%ld,\"config\":", (long)getpid());
  json_print_cstring(out, d->cfg->path);
  fprintf(out, ",\"workers\":%d,\"stopping\":%s,\"services\":[", d->workers.n, d->stopping ? "true" : "false");
  each_service(d, json_service, out);
  fputs("],\"shared\":[", out);
  struct json_dicts dicts = { out, true };
  shared_dict_each(json_dict, &dicts);
  fputs("]}\n", out);
}
