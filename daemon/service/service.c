#include "service.h"
#include "listener.h"
#include "log.h"
#include "worker.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_names[] = { "starting", "running", "backoff", "stopped" };

static int *worker_fds(struct service *sv, int w) {
  return sv->ls.fds + (size_t)w * (size_t)sv->cfg->nlisten;
}

/* ---- from the workers: the generation_owner hooks ---- */

static struct service *owner_service(struct generation_owner *o) {
  return (struct service *)((char *)o - offsetof(struct service, owner));
}

static void note_error(struct service *sv, const char *msg) {
  pthread_mutex_lock(&sv->lock);
  snprintf(sv->last_error, sizeof sv->last_error, "%s", msg);
  pthread_mutex_unlock(&sv->lock);
}

static void owner_note_error(struct generation_owner *o, const char *msg) {
  note_error(owner_service(o), msg);
}

static void owner_request_quit(struct generation_owner *o, int code) {
  struct service *sv = owner_service(o);
  atomic_store(&sv->quit_code, code);
  atomic_store(&sv->quit, true);
  sv->host->attention(sv->host->ud);
}

/* ---- from the daemon: its service_host ---- */

/* A shutdown began: nothing starts any more. */
static bool stopping(const struct service *sv) {
  return sv->host->stopping(sv->host->ud);
}

/* ---- listeners, for every worker ---- */

static void listener_set_free(struct listener_set *ls, int nlisten) {
  for (int i = 0; ls->addresses && i < nlisten; i++)
    free(ls->addresses[i]);
  free(ls->fds);
  free(ls->addresses);
  memset(ls, 0, sizeof *ls);
}

/* Closes the descriptors of listener i in every worker (and its Unix path
 * when we made it). */
static void close_listener(struct listener_set *ls, const struct service_config *cfg, int nworkers, int i) {
  for (int w = 0; w < nworkers; w++) {
    int *fd = &ls->fds[(size_t)w * (size_t)cfg->nlisten + (size_t)i];
    if (*fd >= 0)
      close(*fd);
    *fd = -1;
  }
  if ((ls->made_paths >> i) & 1ull)
    unlink(cfg->listen[i].path);
  ls->made_paths &= ~(1ull << i);
}

/* Listener i of cfg in every worker: worker 0's from socket activation or
 * a new socket; TCP again with SO_REUSEPORT in each other worker; UDP in
 * worker 0 only; a Unix or passed socket shared. */
static bool open_listener(struct listener_set *ls, const char *service, const struct service_config *cfg,
                          int nworkers, int i, char *why, size_t whylen) {
  const struct listener_config *l = &cfg->listen[i];
  int n = cfg->nlisten;
  bool passed = true;
  int first = listener_activation_take(l, service);
  if (first < 0) {
    passed = false;
    if ((first = listener_open(l, why, whylen)) < 0)
      return false;
    if (l->kind == LISTENER_UNIX)
      ls->made_paths |= 1ull << i;
  }
  ls->fds[i] = first;
  for (int w = 1; w < nworkers; w++) {
    int fd = -1;
    if (l->kind == LISTENER_TCP && !passed)
      fd = listener_open_again(first);
    else if (l->kind != LISTENER_UDP)
      fd = fcntl(first, F_DUPFD_CLOEXEC, 0);
    if (fd < 0 && l->kind != LISTENER_UDP) {
      snprintf(why, whylen, "%s: a socket for worker %d: %s", l->url, w + 1, strerror(errno));
      return false;
    }
    ls->fds[(size_t)w * (size_t)n + (size_t)i] = fd;
  }
  char where[300];
  listener_describe(first, l, where, sizeof where);
  ls->addresses[i] = strdup(where);
  return true;
}

/* The listeners of cfg; those whose address is also in `from` (listener j
 * of from_cfg, carried[j] set) take its descriptors. false with err. */
static bool listeners_open(struct listener_set *ls, struct config *config, const struct service_config *cfg,
                           int nworkers, struct listener_set *from, const struct service_config *from_cfg,
                           bool *carried, char *err, size_t errlen) {
  size_t n = (size_t)cfg->nlisten;
  ls->fds = malloc((n * (size_t)nworkers + 1) * sizeof *ls->fds);
  ls->addresses = calloc(n + 1, sizeof *ls->addresses);
  ls->made_paths = 0;
  if (!ls->fds || !ls->addresses) {
    snprintf(err, errlen, "%s:%d: service \"%s\": out of memory", config->path, cfg->line, cfg->name);
    listener_set_free(ls, cfg->nlisten);
    return false;
  }
  for (size_t k = 0; k < n * (size_t)nworkers; k++)
    ls->fds[k] = -1;
  for (int i = 0; i < cfg->nlisten; i++) {
    int j = -1;
    for (int k = 0; from && k < from_cfg->nlisten && j < 0; k++)
      if (!carried[k] && strcmp(from_cfg->listen[k].url, cfg->listen[i].url) == 0)
        j = k;
    if (j >= 0) {
      carried[j] = true;
      for (int w = 0; w < nworkers; w++)
        ls->fds[(size_t)w * n + (size_t)i] = from->fds[(size_t)w * (size_t)from_cfg->nlisten + (size_t)j];
      ls->made_paths |= ((from->made_paths >> j) & 1ull) << i;
      ls->addresses[i] = strdup(from->addresses[j]);
      continue;
    }
    char why[512];
    if (!open_listener(ls, cfg->name, cfg, nworkers, i, why, sizeof why)) {
      snprintf(err, errlen, "%s:%d: service \"%s\": %s", config->path, cfg->line, cfg->name, why);
      /* Undo: what was opened here closes, what was carried goes back. */
      for (int k = 0; k <= i; k++) {
        bool was_carried = false;
        for (int m = 0; from && m < from_cfg->nlisten; m++)
          was_carried |= carried[m] && from->fds[m] == ls->fds[k];
        if (!was_carried)
          close_listener(ls, cfg, nworkers, k);
      }
      if (carried)
        memset(carried, 0, (size_t)from_cfg->nlisten * sizeof *carried);
      listener_set_free(ls, cfg->nlisten);
      return false;
    }
  }
  return true;
}

static void describe_listeners(const struct service *sv, FILE *out) {
  for (int i = 0; i < sv->cfg->nlisten; i++)
    fprintf(out, "%s%s", i ? "," : "", sv->ls.addresses[i]);
  if (sv->cfg->nlisten == 0)
    fputs("-", out);
}

/* While no code runs, connections are closed as they come (refuser.h):
 * every worker's TCP listener (the kernel spreads connections over them)
 * and a Unix one once (the workers' are duplicates). UDP has no
 * connection to refuse. */
static void refuse_while_down(struct service *sv) {
  int n = sv->cfg->nlisten, k = 0;
  int *fds = malloc(((size_t)n * (size_t)sv->nworkers + 1) * sizeof *fds);
  if (!fds)
    return;
  for (int i = 0; i < n; i++) {
    enum listener_kind kind = sv->cfg->listen[i].kind;
    for (int w = 0; w < sv->nworkers && kind != LISTENER_UDP; w++) {
      if (w > 0 && kind == LISTENER_UNIX)
        break;
      fds[k++] = worker_fds(sv, w)[i];
    }
  }
  refuser_start(&sv->refuser, sv->host->loop, fds, k);
  free(fds);
}

/* ---- switching generations, in two steps across the workers ---- */

struct switch_job {
  struct service *sv;
  bool hand_over;            /* reload: copy service.state from the running code */
  unsigned number;
};

static void prepare_job(struct worker *w, void *arg) {
  struct switch_job *job = arg;
  struct service *sv = job->sv;
  struct instance *in = &sv->inst[w->index];
  struct generation_plan plan = { &sv->owner, sv->config, sv->cfg, worker_fds(sv, w->index),
                                  job->hand_over ? in->current : NULL, job->number, &in->counters };
  in->error[0] = '\0';
  in->prepared = generation_start(&plan, w, in->error, sizeof in->error);
}

static void abort_job(struct worker *w, void *arg) {
  struct instance *in = &((struct switch_job *)arg)->sv->inst[w->index];
  if (in->prepared)
    generation_free(in->prepared);
  in->prepared = NULL;
}

static void commit_job(struct worker *w, void *arg) {
  struct instance *in = &((struct switch_job *)arg)->sv->inst[w->index];
  struct generation *old = in->current;
  in->current = in->prepared;
  in->prepared = NULL;
  generation_release(in->current);
  if (old)
    generation_stop(old);
}

static void files_job(struct worker *w, void *arg) {
  struct service *sv = arg;
  fileset_free(&sv->files);
  if (sv->inst[w->index].current)
    fileset_copy(&sv->inst[w->index].current->files, &sv->files);
}

static bool running(const struct service *sv) {
  return sv->inst[0].current != NULL;
}

static bool switch_generations(struct service *sv, bool hand_over, char *err, size_t errlen) {
  struct workers *ws = sv->host->workers;
  struct switch_job job = { sv, hand_over, sv->generations + 1 };
  workers_run(ws, prepare_job, &job);
  for (int w = 0; w < sv->nworkers; w++) {
    if (!sv->inst[w].prepared) {
      snprintf(err, errlen, "%s", sv->inst[w].error[0] ? sv->inst[w].error : "the code did not start");
      workers_run(ws, abort_job, &job);
      return false;
    }
  }
  sv->generations = job.number;
  refuser_stop(&sv->refuser);   /* the new code accepts from here on */
  workers_run(ws, commit_job, &job);
  worker_run(ws, 0, files_job, sv);
  return true;
}

/* ---- watching the code ---- */

/* What reload = "watch" watches: the files of the running code, or the
 * script alone while no code runs. */
static void watch_files(struct service *sv) {
  if (!sv->cfg->watch) {
    watcher_stop(&sv->watch);
    return;
  }
  if (running(sv)) {
    watcher_watch(&sv->watch, &sv->files);
    return;
  }
  struct fileset script = { 0 };
  fileset_collect(NULL, sv->cfg->script, &script);
  watcher_watch(&sv->watch, &script);
  fileset_free(&script);
}

const char *service_code_changed(const struct service *sv) {
  return running(sv) ? fileset_changed(&sv->files) : NULL;
}

/* reload = "watch": a file changed (or may have: the re-check). A reload
 * that failed is not tried again until the files change once more. */
static void watched_files_changed(void *ud) {
  struct service *sv = ud;
  if (stopping(sv) || sv->status == SERVICE_STOPPED)
    return;
  if (!running(sv)) {   /* not running: start now rather than at the back-off */
    ev_timer_stop(sv->host->loop, &sv->retry);
    service_start(sv);
    return;
  }
  const char *path = fileset_changed(&sv->files);
  if (!path)
    return;
  struct fileset now;
  fileset_restat(&sv->files, &now);
  if (sv->rejected.n && fileset_equal(&now, &sv->rejected)) {
    fileset_free(&now);
    return;
  }
  log_printf(LOG_INFO, sv->cfg->name, "%s changed: reloading", path);
  char err[1024];
  fileset_free(&sv->rejected);
  if (service_reload(sv, err, sizeof err))
    fileset_free(&now);
  else
    sv->rejected = now;
}

/* ---- the lifecycle ---- */

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  service_start((struct service *)((char *)w - offsetof(struct service, retry)));
}

bool service_open(struct service *sv, const struct service_host *host, struct config *config,
                  const struct service_config *cfg, char *err, size_t errlen) {
  memset(sv, 0, sizeof *sv);
  sv->host = host;
  sv->config = config_ref(config);
  sv->cfg = cfg;
  sv->nworkers = host->workers->n;
  sv->status = SERVICE_STOPPED;
  pthread_mutex_init(&sv->lock, NULL);
  atomic_init(&sv->live, 0);
  atomic_init(&sv->quit, false);
  atomic_init(&sv->quit_code, 0);
  sv->owner = (struct generation_owner){ owner_note_error, owner_request_quit, &sv->lock, &sv->live };
  ev_init(&sv->retry, retry_cb);
  watcher_init(&sv->watch, host->loop, watched_files_changed, sv);
  sv->inst = calloc((size_t)sv->nworkers, sizeof *sv->inst);
  if (!sv->inst) {
    snprintf(err, errlen, "%s:%d: service \"%s\": out of memory", config->path, cfg->line, cfg->name);
    return false;
  }
  return listeners_open(&sv->ls, config, cfg, sv->nworkers, NULL, NULL, NULL, err, errlen);
}

void service_start(struct service *sv) {
  if (stopping(sv))
    return;
  char err[1024];
  sv->status = SERVICE_STARTING;
  if (!switch_generations(sv, false, err, sizeof err)) {
    watch_files(sv);
    sv->backoff = sv->backoff > 0 ? sv->backoff * 2 : 1;
    if (sv->backoff > SERVICE_BACKOFF_MAX)
      sv->backoff = SERVICE_BACKOFF_MAX;
    note_error(sv, err);
    log_printf(LOG_ERROR, sv->cfg->name, "failed to start: %s; trying again in %g s", err, sv->backoff);
    sv->status = SERVICE_BACKOFF;
    ev_timer_set(&sv->retry, sv->backoff, 0.);
    ev_timer_start(sv->host->loop, &sv->retry);
    refuse_while_down(sv);
    return;
  }
  sv->backoff = 0;
  sv->status = SERVICE_RUNNING;
  note_error(sv, "");   /* it runs again: the error that stopped it is past */
  watch_files(sv);
  char *where = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&where, &len);
  describe_listeners(sv, out);
  fclose(out);
  if (sv->nworkers > 1)
    log_printf(LOG_INFO, sv->cfg->name, "started %s in %d workers, listening on %s", sv->cfg->script,
               sv->nworkers, where);
  else
    log_printf(LOG_INFO, sv->cfg->name, "started %s, listening on %s", sv->cfg->script, where);
  free(where);
}

bool service_reload(struct service *sv, char *err, size_t errlen) {
  if (!switch_generations(sv, true, err, errlen)) {
    sv->failed_reloads++;
    log_printf(LOG_ERROR, sv->cfg->name, "reload failed, the running code goes on: %s", err);
    return false;
  }
  ev_timer_stop(sv->host->loop, &sv->retry);
  sv->backoff = 0;
  sv->status = SERVICE_RUNNING;
  sv->reloads++;
  watch_files(sv);
  log_printf(LOG_INFO, sv->cfg->name, "reloaded %s (generation %u)", sv->cfg->script, sv->generations);
  return true;
}

bool service_reconfigure(struct service *sv, struct config *config, const struct service_config *cfg,
                         char *err, size_t errlen) {
  bool *carried = calloc((size_t)sv->cfg->nlisten + 1, sizeof *carried);
  struct listener_set ls;
  if (!carried || !listeners_open(&ls, config, cfg, sv->nworkers, &sv->ls, sv->cfg, carried, err, errlen)) {
    free(carried);
    return false;
  }
  struct listener_set old_ls = sv->ls;
  struct config *old_config = sv->config;
  const struct service_config *old_cfg = sv->cfg;
  sv->config = config;
  sv->cfg = cfg;
  sv->ls = ls;
  bool ok = true;
  if (running(sv)) {
    ok = service_reload(sv, err, errlen);
  } else {   /* not running (back-off): the new block gets a fresh start */
    refuser_stop(&sv->refuser);   /* it watches the old block's descriptors */
    ev_timer_stop(sv->host->loop, &sv->retry);
    sv->backoff = 0;
    service_start(sv);
  }
  if (!ok) {   /* back to the old block; what was opened for the new one goes */
    for (int i = 0; i < cfg->nlisten; i++) {
      bool was_carried = false;
      for (int j = 0; j < old_cfg->nlisten; j++)
        was_carried |= carried[j] && old_ls.fds[j] == ls.fds[i];
      if (!was_carried)
        close_listener(&ls, cfg, sv->nworkers, i);
    }
    listener_set_free(&ls, cfg->nlisten);
    sv->config = old_config;
    sv->cfg = old_cfg;
    sv->ls = old_ls;
    free(carried);
    return false;
  }
  /* The old block's listeners that did not carry over close; the old
   * generations' duplicates close as they stop. */
  for (int j = 0; j < old_cfg->nlisten; j++)
    if (!carried[j])
      close_listener(&old_ls, old_cfg, sv->nworkers, j);
  listener_set_free(&old_ls, old_cfg->nlisten);
  config_ref(config);
  config_unref(old_config);
  watch_files(sv);
  free(carried);
  return true;
}

void service_adopt(struct service *sv, struct config *config, const struct service_config *cfg) {
  config_ref(config);
  config_unref(sv->config);
  sv->config = config;
  sv->cfg = cfg;
}

static void stop_job(struct worker *w, void *arg) {
  struct instance *in = &((struct service *)arg)->inst[w->index];
  if (in->current)
    generation_stop(in->current);
  in->current = NULL;
}

void service_stop(struct service *sv) {
  refuser_stop(&sv->refuser);
  ev_timer_stop(sv->host->loop, &sv->retry);
  watcher_stop(&sv->watch);
  if (running(sv))
    workers_run(sv->host->workers, stop_job, sv);
  sv->status = SERVICE_STOPPED;
}

void service_close_listeners(struct service *sv) {
  refuser_stop(&sv->refuser);   /* before its descriptors close */
  for (int i = 0; sv->ls.fds && i < sv->cfg->nlisten; i++)
    close_listener(&sv->ls, sv->cfg, sv->nworkers, i);
}

void service_check_quit(struct service *sv) {
  if (!atomic_exchange(&sv->quit, false))
    return;
  log_printf(LOG_INFO, sv->cfg->name, "net.quit(%d) called: the service stops", atomic_load(&sv->quit_code));
  service_stop(sv);
  if (!stopping(sv))
    refuse_while_down(sv);   /* its listeners stay open until a reload starts it */
}

/* ---- status ---- */

const char *service_status_name(const struct service *sv) {
  return status_names[sv->status];
}

/* ---- the end ---- */

static void close_job(struct worker *w, void *arg) {
  struct service *sv = arg;
  struct instance *in = &sv->inst[w->index];
  if (in->current)
    generation_free(in->current);
  if (in->prepared)
    generation_free(in->prepared);
  in->current = in->prepared = NULL;
  /* Its draining generations go too: a closing service is past waiting. */
  for (struct generation **p = &w->draining; *p;) {
    struct generation *g = *p;
    if (g->owner == &sv->owner) {
      *p = g->next;
      generation_free(g);
    } else {
      p = &g->next;
    }
  }
}

void service_close(struct service *sv) {
  if (sv->host && sv->host->loop) {
    refuser_stop(&sv->refuser);
    ev_timer_stop(sv->host->loop, &sv->retry);
    watcher_stop(&sv->watch);
  }
  if (sv->inst && sv->host->workers->n)
    workers_run(sv->host->workers, close_job, sv);
  fileset_free(&sv->rejected);
  fileset_free(&sv->files);
  if (sv->cfg)
    service_close_listeners(sv);
  listener_set_free(&sv->ls, sv->cfg ? sv->cfg->nlisten : 0);
  free(sv->inst);
  sv->inst = NULL;
  config_unref(sv->config);
  sv->config = NULL;
  pthread_mutex_destroy(&sv->lock);
}
