/* The daemon's state (struct daemon): what daemon.c keeps, and what the
 * parts that report on it read (status.c, metrics.c, metrics_http.c).
 * Apart from daemon.h so that those parts, which daemon.c includes, do not
 * include daemon.c's header back. */
#ifndef LUANET_DAEMON_STATE_H
#define LUANET_DAEMON_STATE_H

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

#endif
