#include "daemon.h"
#include "control.h"
#include "service_stats.h"
#include "status.h"
#include "metrics_http.h"
#include "listener.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "shared_dict.h"
#include "tls.h"

#include <errno.h>
#include <grp.h>
#include <lauxlib.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often the reaper looks while something drains or stops. */
#define REAP_INTERVAL 0.05

/* ---- the scripts compile: --check, and every start ---- */

/* Compiles every service's script, printing "CONFIG:LINE: service "NAME":
 * SCRIPT:LINE: message" for each that does not; returns how many failed.
 * At start as with --check, a script that does not compile is an error in
 * the config (as nginx treats a bad directive): nothing starts. A script
 * that compiles but fails when it runs is retried with back-off, and so,
 * at start, is one that cannot be read yet (it may be deployed after the
 * config); --check (unreadable_too) reports that one as well. */
static int compile_scripts(struct config *cfg, bool unreadable_too) {
  int failures = 0;
  for (int i = 0; i < cfg->nservices; i++) {
    const struct service_config *s = &cfg->services[i];
    int status = luaL_loadfile(cfg->L, s->script);
    if (status != LUA_OK && (status != LUA_ERRFILE || unreadable_too)) {
      fprintf(stderr, "%s:%d: service \"%s\": %s\n", cfg->path, s->line, s->name, lua_tostring(cfg->L, -1));
      failures++;
    }
    lua_pop(cfg->L, 1);
  }
  return failures;
}

static int check_config(struct config *cfg) {
  if (compile_scripts(cfg, true))
    return 2;
  printf("%s: %d service%s, config and scripts OK\n", cfg->path, cfg->nservices,
         cfg->nservices == 1 ? "" : "s");
  return 0;
}

/* ---- what the services see of the daemon (struct service_host) ---- */

/* From a worker thread: the main thread should look at the services'
 * quit flags. */
static void host_attention(void *ud) {
  struct daemon *d = ud;
  ev_async_send(d->loop, &d->attention);
}

/* A shutdown began: services start nothing any more. */
static bool host_stopping(void *ud) {
  return ((struct daemon *)ud)->stopping;
}

/* ---- shutdown, the reaper ---- */

static void attention_cb(struct ev_loop *loop, ev_async *a, int revents) {
  (void)loop, (void)revents;
  struct daemon *d = a->data;
  for (int i = 0; i < d->nservices; i++)
    service_check_quit(d->services[i]);
}

void daemon_wake_reaper(struct daemon *d) {
  if (!ev_is_active(&d->reaper)) {
    ev_timer_set(&d->reaper, REAP_INTERVAL, REAP_INTERVAL);
    ev_timer_start(d->loop, &d->reaper);
  }
}

static int open_connections(struct daemon *d) {
  int n = 0;
  for (int i = 0; i < d->nservices; i++)
    n += service_connections(d->services[i]);
  for (int i = 0; i < d->nretired; i++)
    n += service_connections(d->retired[i]);
  return n;
}

static struct service *find_service(struct daemon *d, const char *name) {
  for (int i = 0; i < d->nservices; i++)
    if (strcmp(d->services[i]->cfg->name, name) == 0)
      return d->services[i];
  return NULL;
}

static void service_free(struct service *sv) {
  service_close(sv);
  free(sv);
}

static void finish(struct daemon *d) {
  ev_timer_stop(d->loop, &d->reaper);
  ev_timer_stop(d->loop, &d->deadline);
  ev_timer_stop(d->loop, &d->watchdog);
  ev_signal_stop(d->loop, &d->sighup);
  ev_break(d->loop, EVBREAK_ALL);
}

/* Removed services go once their generations are closed; a shutdown ends
 * when no generation is left in any worker. */
static void reap(struct daemon *d) {
  for (int i = 0; i < d->nretired;) {
    if (atomic_load(&d->retired[i]->live) > 0) {
      i++;
      continue;
    }
    log_printf(LOG_INFO, d->retired[i]->cfg->name, "removed");
    service_free(d->retired[i]);
    d->retired[i] = d->retired[--d->nretired];
  }
  log_tick();
  if (d->stopping && workers_live(&d->workers) == 0) {
    log_printf(LOG_INFO, NULL, "stopped");
    finish(d);
  } else if (!d->stopping && d->nretired == 0) {
    ev_timer_stop(d->loop, &d->reaper);
  }
}

static void reaper_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  reap((struct daemon *)((char *)w - offsetof(struct daemon, reaper)));
}

static void force_reap_job(struct worker *w, void *arg) {
  (void)arg;
  worker_reap(w, true);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, deadline));
  log_printf(LOG_WARN, NULL, "shutdown_timeout (%g ms) reached: closing %d connections",
             d->cfg->shutdown_timeout_ms, open_connections(d));
  workers_run(&d->workers, force_reap_job, NULL);
  reap(d);
}

static void begin_shutdown(struct daemon *d, const char *why) {
  if (d->stopping)
    return;
  d->stopping = true;
  notify_send("STOPPING=1");
  log_printf(LOG_INFO, NULL, "%s: stopping; %d connections open, waiting up to %g ms for them", why,
             open_connections(d), d->cfg->shutdown_timeout_ms);
  /* The daemon's own descriptors go too: a listening socket that nobody
   * accepts from would still complete connections in the kernel. */
  for (int i = 0; i < d->nservices; i++) {
    service_stop(d->services[i]);
    service_close_listeners(d->services[i]);
  }
  ev_timer_set(&d->deadline, d->cfg->shutdown_timeout_ms / 1000.0, 0.);
  ev_timer_start(d->loop, &d->deadline);
  daemon_wake_reaper(d);
}

/* ---- SIGHUP: the config again ---- */

/* `workers = "auto"`: one per core. */
static int worker_count(const struct config *cfg) {
  if (cfg->workers > 0)
    return cfg->workers;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Settings that only a restart can change. workers is compared with the
 * threads that run, not with the last config read: 1 -> 2 -> 1 is back
 * where it started, with nothing to wait for. */
static void warn_restart_only(struct daemon *d, struct config *now) {
  struct config *was = d->cfg;
  if (worker_count(now) != d->workers.n)
    log_printf(LOG_WARN, NULL, "workers changed (%d running, %d in the config): takes effect at the next restart",
               d->workers.n, worker_count(now));
  if (strcmp(was->control, now->control) != 0)
    log_printf(LOG_WARN, NULL, "control changed: the socket stays %s until the next restart", was->control);
  if ((was->user == NULL) != (now->user == NULL) || (was->user && strcmp(was->user, now->user) != 0))
    log_printf(LOG_WARN, NULL, "user changed: takes effect at the next restart");
  if ((was->metrics == NULL) != (now->metrics == NULL) || (was->metrics && strcmp(was->metrics->url, now->metrics->url) != 0))
    log_printf(LOG_WARN, NULL, "metrics changed: the listener stays %s until the next restart",
               was->metrics ? was->metrics->url : "closed");
}

/* A service of the new config: open and start it, or note why not. */
static bool add_service(struct daemon *d, struct config *cfg, const struct service_config *sc,
                        struct service **list, int *n) {
  char err[1024];
  struct service *sv = calloc(1, sizeof *sv);
  if (!sv || !service_open(sv, &d->host, cfg, sc, err, sizeof err)) {
    log_printf(LOG_ERROR, sc->name, "not added: %s", sv ? err : "out of memory");
    if (sv)
      service_free(sv);
    return false;
  }
  list[(*n)++] = sv;
  log_printf(LOG_INFO, sc->name, "added");
  service_start(sv);
  return true;
}

/* What a SIGHUP did, for its one-line summary. */
struct reread_counts {
  int added, removed, reloaded, failed, unchanged;
};

/* "SIGHUP: 1 service reloaded, 4 unchanged" (the kinds that happened). */
static void log_reread_summary(const struct reread_counts *c) {
  char line[256];
  int len = 0;
  const struct { int n; const char *what; } parts[] = {
    { c->added, "added" }, { c->removed, "removed" }, { c->reloaded, "reloaded" },
    { c->failed, "failed" }, { c->unchanged, "unchanged" },
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (parts[i].n == 0)
      continue;
    len += snprintf(line + len, sizeof line - (size_t)len, "%s%d%s %s", len ? ", " : "", parts[i].n,
                    len ? "" : parts[i].n == 1 ? " service" : " services", parts[i].what);
  }
  log_printf(LOG_INFO, NULL, "SIGHUP: %s", len ? line : "no services");
}

/* The SharedDicts the config declares: made, resized or dropped before
 * any service's code runs with the new config. */
static void configure_shared(const struct config *cfg) {
  const char *why = NULL;
  if (!shared_dict_configure((const char *const *)cfg->shared_names, cfg->shared_sizes, cfg->nshared, &why))
    log_printf(LOG_ERROR, NULL, "shared: %s", why);
}

/* Services added, removed, or changed (block or code) are acted on; the
 * others are not touched. A config that does not load changes nothing. */
static void reread_config(struct daemon *d) {
  char err[2048];
  struct reread_counts counts = { 0 };
  log_printf(LOG_INFO, NULL, "SIGHUP: reading %s", d->cfg->path);
  struct config *cfg = config_load(d->cfg->path, NULL, 0, err, sizeof err);
  if (!cfg) {
    log_printf(LOG_ERROR, NULL, "the config did not load, nothing changes: %s", err);
    return;
  }
  notify_reloading();
  warn_restart_only(d, cfg);
  configure_shared(cfg);
  log_set_level(cfg->log_level);
  log_set_format(cfg->log_format);
  struct service **list = calloc((size_t)cfg->nservices + 1, sizeof *list);
  struct service **retired = realloc(d->retired, ((size_t)d->nretired + (size_t)d->nservices + 1) * sizeof *retired);
  if (!list || !retired) {
    free(list);
    config_unref(cfg);
    log_printf(LOG_ERROR, NULL, "out of memory re-reading the config");
    notify_send("READY=1");
    return;
  }
  d->retired = retired;
  /* What the new config no longer has stops first, and its listeners
   * close: an address it held may be in a block that comes next. */
  for (int i = 0; i < d->nservices; i++) {
    struct service *sv = d->services[i];
    if (!config_service(cfg, sv->cfg->name)) {
      log_printf(LOG_INFO, sv->cfg->name, "no longer in the config: stopping");
      counts.removed++;
      service_stop(sv);
      service_close_listeners(sv);
      d->retired[d->nretired++] = sv;
    }
  }
  int n = 0;
  for (int i = 0; i < cfg->nservices; i++) {
    const struct service_config *sc = &cfg->services[i];
    struct service *sv = find_service(d, sc->name);
    if (!sv) {
      if (add_service(d, cfg, sc, list, &n))
        counts.added++;
      else
        counts.failed++;
      continue;
    }
    list[n++] = sv;
    const char *file = NULL;
    if (strcmp(sv->cfg->signature, sc->signature) != 0) {
      if (!service_reconfigure(sv, cfg, sc, err, sizeof err)) {
        log_printf(LOG_ERROR, sc->name, "its config block changed, but the reload failed: %s", err);
        counts.failed++;
      } else if (sv->status == SERVICE_RUNNING) {
        log_printf(LOG_INFO, sc->name, "its config block changed: reloaded");
        counts.reloaded++;
      } else {
        log_printf(LOG_WARN, sc->name, "its config block changed; it does not start yet either");
        counts.failed++;
      }
    } else if ((file = service_code_changed(sv))) {
      service_adopt(sv, cfg, sc);
      log_printf(LOG_INFO, sc->name, "%s changed: reloading", file);
      if (service_reload(sv, err, sizeof err))
        counts.reloaded++;
      else
        counts.failed++;
    } else {
      service_adopt(sv, cfg, sc);
      counts.unchanged++;
    }
  }
  log_reread_summary(&counts);
  free(d->services);
  d->services = list;
  d->nservices = n;
  config_unref(d->cfg);
  d->cfg = cfg;
  daemon_wake_reaper(d);
  notify_send("READY=1");
}

/* ---- commands: the control socket and signals ---- */

static bool reload_services(struct daemon *d, const char *name, FILE *out) {
  if (d->stopping) {
    fprintf(out, "the daemon is stopping\n");
    return false;
  }
  bool found = false, ok = true;
  notify_reloading();
  for (int i = 0; i < d->nservices; i++) {
    struct service *sv = d->services[i];
    if (name && strcmp(sv->cfg->name, name) != 0)
      continue;
    found = true;
    char err[1024];
    if (service_reload(sv, err, sizeof err)) {
      fprintf(out, "%s: reloaded\n", sv->cfg->name);
    } else {
      fprintf(out, "%s: %s\n", sv->cfg->name, err);
      ok = false;
    }
  }
  notify_send("READY=1");
  if (!found) {
    fprintf(out, "no service named \"%s\"\n", name);
    return false;
  }
  return ok;
}

/* A control command ("status", "reload [NAME]", "stop"), the control
 * socket's handler: true with the reply written to out, or false with the
 * error message written to out. */
static bool daemon_command(void *ud, const char *line, FILE *out) {
  struct daemon *d = ud;
  char cmd[32] = "", arg[256] = "";
  int n = sscanf(line, "%31s %255s", cmd, arg);
  if (n >= 1 && strcmp(cmd, "status") == 0 && (n == 1 || strcmp(arg, "--json") == 0)) {
    (n == 1 ? status_text : status_json)(d, out);
    return true;
  }
  if (n >= 1 && strcmp(cmd, "reload") == 0)
    return reload_services(d, n == 2 ? arg : NULL, out);
  if (n >= 1 && strcmp(cmd, "stop") == 0 && n == 1) {
    begin_shutdown(d, "ctl stop");
    fprintf(out, "stopping\n");
    return true;
  }
  fprintf(out, "unknown command \"%s\" (status [--json], reload [NAME], stop)\n", line);
  return false;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  (void)loop, (void)revents;
  struct daemon *d = w->data;
  switch (w->signum) {
  case SIGINT:
    if (d->stopping) {
      log_printf(LOG_WARN, NULL, "second SIGINT: exiting now with %d connections open", open_connections(d));
      _exit(130);
    }
    begin_shutdown(d, "SIGINT");
    break;
  case SIGTERM:
    begin_shutdown(d, "SIGTERM");
    break;
  case SIGHUP:
    if (!d->stopping)
      reread_config(d);
    break;
  }
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  notify_send("WATCHDOG=1");
}

/* ---- start ---- */

static bool drop_privileges(const char *user, char *err, size_t errlen) {
  struct passwd *pw = getpwnam(user);
  if (!pw) {
    snprintf(err, errlen, "user \"%s\": no such user", user);
    return false;
  }
  if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
    return true;
  if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
    snprintf(err, errlen, "user \"%s\": cannot switch to it: %s", user, strerror(errno));
    return false;
  }
  return true;
}

static void watch_signal(struct daemon *d, ev_signal *w, int signum) {
  ev_signal_init(w, signal_cb, signum);
  w->data = d;
  ev_signal_start(d->loop, w);
}


/* Opens listeners and the control socket, then drops privileges. */
static bool open_all(struct daemon *d, char *err, size_t errlen) {
  struct config *cfg = d->cfg;
  if (!workers_start(&d->workers, worker_count(cfg))) {
    snprintf(err, errlen, "luanetd: cannot start %d workers: %s", worker_count(cfg), strerror(errno));
    return false;
  }
  listener_activation_init();
  d->services = calloc((size_t)cfg->nservices + 1, sizeof *d->services);
  if (!d->services)
    return false;
  for (int i = 0; i < cfg->nservices; i++) {
    struct service *sv = calloc(1, sizeof *sv);
    if (!sv)
      return false;
    d->services[d->nservices++] = sv;
    if (!service_open(sv, &d->host, cfg, &cfg->services[i], err, errlen))
      return false;
  }
  int unused = listener_activation_close_unused();
  if (unused)
    log_printf(LOG_WARN, NULL, "%d socket-activated descriptors match no listener: closed", unused);
  struct control_handler commands = { daemon_command, d };
  if (!(d->control = control_open(d->loop, cfg->control, commands, err, errlen)))
    return false;
  if (cfg->metrics && !(d->metrics = metrics_http_open(d, cfg->metrics, err, errlen)))
    return false;
  if (!cfg->user)
    return true;
  /* The TLS module is loaded on demand, and the new user may not be able
   * to read where it lies (a build under /root): load it now, while we
   * can. A failure is the first TLS context's to report. */
  char tls_err[256];
  tls_load(tls_err, sizeof tls_err);
  return drop_privileges(cfg->user, err, errlen);
}

static void close_all(struct daemon *d) {
  control_close(d->control);
  metrics_http_close(d->metrics);
  for (int i = 0; i < d->nservices; i++)
    service_free(d->services[i]);
  for (int i = 0; i < d->nretired; i++)
    service_free(d->retired[i]);
  free(d->services);
  free(d->retired);
  workers_stop(&d->workers);
}

int daemon_main(const char *path, bool check_only) {
  char err[2048];
  struct config *cfg = config_load(path, NULL, 0, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  if (check_only) {
    int code = check_config(cfg);
    config_unref(cfg);
    return code;
  }
  if (compile_scripts(cfg, false)) {
    config_unref(cfg);
    return 2;
  }
  log_set_level(cfg->log_level);
  log_set_format(cfg->log_format);
  configure_shared(cfg);
  signal(SIGPIPE, SIG_IGN);
  net_raise_nofile_limit();
  struct daemon d = { .cfg = cfg, .loop = ev_loop_new(EVFLAG_AUTO), .started = ev_time() };
  if (!d.loop) {
    fprintf(stderr, "luanetd: cannot create the event loop\n");
    config_unref(cfg);
    return 1;
  }
  d.host = (struct service_host){ d.loop, &d.workers, host_stopping, host_attention, &d };
  ev_init(&d.reaper, reaper_cb);
  ev_async_init(&d.attention, attention_cb);
  d.attention.data = &d;
  ev_async_start(d.loop, &d.attention);
  ev_init(&d.deadline, deadline_cb);
  ev_init(&d.watchdog, watchdog_cb);
  if (!open_all(&d, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    close_all(&d);
    ev_loop_destroy(d.loop);
    config_unref(cfg);
    return 2;
  }
  watch_signal(&d, &d.sigterm, SIGTERM);
  watch_signal(&d, &d.sigint, SIGINT);
  watch_signal(&d, &d.sighup, SIGHUP);
  log_printf(LOG_INFO, NULL, "%s: %d service%s, %d worker%s, control socket %s", cfg->path, cfg->nservices,
             cfg->nservices == 1 ? "" : "s", d.workers.n, d.workers.n == 1 ? "" : "s", cfg->control);
  for (int i = 0; i < d.nservices; i++)
    service_start(d.services[i]);
  notify_send("READY=1");
  double watchdog = notify_watchdog_interval();
  if (watchdog > 0) {
    ev_timer_set(&d.watchdog, watchdog, watchdog);
    ev_timer_start(d.loop, &d.watchdog);
  }
  ev_run(d.loop, 0);
  close_all(&d);
  ev_loop_destroy(d.loop);
  config_unref(d.cfg);
  log_flush();
  return d.exit_code;
}
