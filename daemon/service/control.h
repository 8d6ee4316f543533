/* The control socket: a Unix stream socket (mode 0600) on the daemon's
 * loop. A client sends one command line ("status", "reload [NAME]",
 * "stop") and reads the reply until the daemon closes: a first line "ok"
 * or "error", then the text. `luanetd ctl` (ctl.c) is such a client. */
#ifndef LUANET_CONTROL_H
#define LUANET_CONTROL_H

#include <stddef.h>

struct daemon;
struct control;

#define CONTROL_MAX_LINE 1024

/* NULL with the reason in err: a daemon already answers at path, or the
 * socket cannot be made. A stale socket file is replaced. */
struct control *control_open(struct daemon *d, const char *path, char *err, size_t errlen);
/* Stops answering, drops the clients and removes the socket file. */
void control_close(struct control *c);

#endif
