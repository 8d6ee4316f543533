/* A service: one script from the config, its listeners, and the Lua states
 * that run its code. The daemon opens the listeners once and keeps them;
 * each state (a generation of the code) gets duplicates of them as
 * TcpServer/UdpSocket objects in its service table. A reload starts a new
 * generation beside the running one; the old one stops accepting, gets
 * `stopping` and drains: it is closed when its last connection and task
 * end, or at the shutdown time-out. */
#ifndef LUANET_SERVICE_H
#define LUANET_SERVICE_H

#include <ev.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "budget.h"
#include "config.h"
#include "lnet.h"
#include "watch.h"

struct daemon;

enum service_status { SERVICE_STARTING, SERVICE_RUNNING, SERVICE_BACKOFF, SERVICE_STOPPED };

/* One loaded copy of a service's code, in a Lua state of its own. */
struct generation {
  struct service *sv;
  lua_State *L;
  struct lnet_runtime *rt;
  int table_ref;             /* the service table (in L's registry) */
  unsigned number;           /* 1 for the first start, +1 per reload */
  bool draining;             /* stopped accepting; closes once idle */
  bool quit;                 /* net.quit() was called in it */
  int quit_code;
  struct fileset files;      /* the Lua files it runs, as they were loaded */
  struct budget budget;      /* memory_limit; outlives L, which allocates through it */
  struct generation *next;   /* in the service's draining list */
};

struct service {
  struct daemon *d;
  struct config *config;     /* held: the config this service's block is in */
  const struct service_config *cfg;
  int *fds;                  /* one open listener per cfg->listen */
  char **addresses;          /* each listener as it is bound */
  unsigned long long made_paths;   /* bit i: we made listener i's Unix path */
  enum service_status status;
  struct generation *current;
  struct generation *draining;
  unsigned generations;      /* how many were started */
  unsigned reloads;
  ev_timer retry;            /* a failed start is tried again */
  double backoff;            /* seconds: 1, doubling to SERVICE_BACKOFF_MAX */
  char last_error[1024];
  struct watcher watch;      /* reload = "watch" */
  struct fileset rejected;   /* the files as they were when a watched reload failed */
};

#define SERVICE_BACKOFF_MAX 60.0

/* Opens (or takes from socket activation) the service's listeners; false
 * with "FILE:LINE: service "NAME": ADDRESS: why" in err. Holds config. */
bool service_open(struct service *sv, struct daemon *d, struct config *config,
                  const struct service_config *cfg, char *err, size_t errlen);
/* Starts the code; a failure is logged and tried again with back-off. */
void service_start(struct service *sv);
/* Starts the code anew beside the running generation and switches to it,
 * handing it a copy of the running one's service.state; false with the
 * error (FILE:LINE: message) when it does not start, and the running code
 * goes on. */
bool service_reload(struct service *sv, char *err, size_t errlen);
/* A new block for the service from a re-read config: listeners that stay
 * keep their descriptors, new ones are opened, and the code reloads. On
 * failure the service keeps its block, listeners and code. */
bool service_reconfigure(struct service *sv, struct config *config, const struct service_config *cfg,
                         char *err, size_t errlen);
/* The same block in a re-read config: the service holds that one now. */
void service_adopt(struct service *sv, struct config *config, const struct service_config *cfg);
/* A file the running code was loaded from that changed since, or NULL. */
const char *service_code_changed(const struct service *sv);
/* Stops taking connections: the running generation drains. */
void service_stop(struct service *sv);
/* Closes the daemon's own listening descriptors (at shutdown). */
void service_close_listeners(struct service *sv);
/* Closes the generations that are idle (all of them when `force`) and
 * acts on net.quit(). Returns whether any generation is left draining. */
bool service_reap(struct service *sv, bool force);
/* Connections open in all its generations. */
int service_connections(const struct service *sv);
/* One or more lines for `ctl status`. */
void service_describe(const struct service *sv, FILE *out);
void service_close(struct service *sv);

#endif
