/* The control socket: a Unix stream socket (mode 0600) on the daemon's
 * loop. A client sends one command line ("status", "reload [NAME]",
 * "stop") and reads the reply until the daemon closes: a first line "ok"
 * or "error", then the text. `luanetd ctl` (ctl.c) is such a client. The
 * commands themselves are the daemon's (struct control_handler). */
#ifndef LUANET_CONTROL_H
#define LUANET_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ev_loop;
struct control;

#define CONTROL_MAX_LINE 1024

/* What runs a command line. The daemon hands one to control_open rather
 * than this file calling daemon.c, which includes this header. */
struct control_handler {
  /* true with the reply written to out, or false with the error message */
  bool (*command)(void *ud, const char *line, FILE *out);
  void *ud;
};

/* NULL with the reason in err: a daemon already answers at path, or the
 * socket cannot be made. A stale socket file is replaced. */
struct control *control_open(struct ev_loop *loop, const char *path, struct control_handler handler, char *err,
                             size_t errlen);
/* Stops answering, drops the clients and removes the socket file. */
void control_close(struct control *c);

#endif
