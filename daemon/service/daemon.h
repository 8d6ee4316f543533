/* luanetd -c FILE: the daemon. It loads the config, opens every listener
 * (before dropping privileges), starts the services on one loop, and
 * answers signals (SIGTERM/SIGINT: graceful shutdown; SIGHUP: re-read the
 * config, reload what changed),
 * the control socket and systemd's notify protocol.
 *
 * It is the top of daemon/service: the files below reach it only through
 * the hooks it installs when it sets them up (struct service_host for the
 * services, struct control_handler for the control socket). */
#ifndef LUANET_DAEMON_H
#define LUANET_DAEMON_H

#include <ev.h>
#include <stdio.h>
#include <stdbool.h>

#include "config.h"
#include "service.h"
#include "worker.h"

struct control;
struct metrics_http;

struct daemon {
  struct ev_loop *loop;
  struct config *cfg;
  struct service **services; /* in config order */
  int nservices;
  struct service **retired;  /* removed from the config, draining */
  int nretired;
  struct control *control;
  struct workers workers;
  struct service_host host;  /* what the services see of the daemon */
  ev_signal sigterm, sigint, sighup;
  ev_async attention;        /* a worker asks: net.quit() was called */
  ev_timer reaper;           /* frees removed services once drained; ends a shutdown */
  ev_timer deadline;         /* shutdown_timeout */
  ev_timer watchdog;         /* systemd's WATCHDOG=1 */
  bool stopping;
  int exit_code;
  double started;            /* wall clock, seconds since the epoch */
  struct metrics_http *metrics;   /* metrics = "tcp://...", or NULL */
};

/* Runs the config at `path`; the process's exit code. --check: only
 * validate the config and compile its scripts. */
int daemon_main(const char *path, bool check_only);
/* Makes the reaper look at the services soon. */
void daemon_wake_reaper(struct daemon *d);

#endif
