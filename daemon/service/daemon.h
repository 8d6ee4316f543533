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

#include <stdbool.h>

#include "daemon_state.h"

/* Runs the config at `path`; the process's exit code. --check: only
 * validate the config and compile its scripts. */
int daemon_main(const char *path, bool check_only);
/* Makes the reaper look at the services soon. */
void daemon_wake_reaper(struct daemon *d);

#endif
