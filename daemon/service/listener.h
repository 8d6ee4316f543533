/* The daemon's listening sockets: opened from the config (after a probe,
 * so that an address in use is an error, not a silent share), or taken
 * from systemd's socket activation (LISTEN_FDS). */
#ifndef LUANET_LISTENER_H
#define LUANET_LISTENER_H

#include <stddef.h>

#include "config.h"

/* A listening (tcp, unix) or bound (udp) non-blocking socket for l; -1
 * with a message naming the address in err. */
int listener_open(const struct listener_config *l, char *err, size_t errlen);
/* Another worker's socket for the TCP listener that `first` is: the same
 * address and port, bound with SO_REUSEPORT beside it; -1 with errno. */
int listener_open_again(int first);
/* Takes the descriptors systemd passed (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES) and clears those variables, as sd_listen_fds(1) does.
 * Returns how many there are. */
int listener_activation_init(void);
/* The passed descriptor for l: the one whose name is l's name (or the
 * service's name) or whose address is l's; -1 when none. Each is handed
 * out once. */
int listener_activation_take(const struct listener_config *l, const char *service);
/* Closes the passed descriptors that no listener took; returns how many. */
int listener_activation_close_unused(void);
/* "tcp://127.0.0.1:7000" with the port the socket has (for port 0). */
void listener_describe(int fd, const struct listener_config *l, char *buf, size_t size);

#endif
