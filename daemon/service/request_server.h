/* The daemon's own small servers, on the main loop: the control socket
 * (control.c) and the metrics listener (metrics_http.c). Each connection
 * sends one request, gets one reply, and is closed: no keep-alive, so a
 * client holds nothing between requests. A request that does not end
 * within REQUEST_SERVER_TIMEOUT seconds, or that outgrows the server's
 * limit, is answered or dropped without stalling anyone else. */
#ifndef LUANET_REQUEST_SERVER_H
#define LUANET_REQUEST_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ev_loop;
struct request_server;

#define REQUEST_SERVER_TIMEOUT 10.0
/* Connections at once; more wait in the listen backlog. */
#define REQUEST_SERVER_MAX_CLIENTS 64

struct request_handler {
  /* Whether buf[0..len) holds a whole request (a line, a head). */
  bool (*complete)(const char *buf, size_t len);
  /* Writes the whole reply to out. request is NUL-terminated; too_long:
   * it filled max_request bytes without being complete. */
  void (*respond)(void *ud, char *request, size_t len, bool too_long, FILE *out);
  void *ud;
  size_t max_request;
};

/* Serves the listening socket fd (non-blocking), which it then owns. */
struct request_server *request_server_start(struct ev_loop *loop, int fd, struct request_handler handler);
/* Sends what the kernel takes of pending replies, drops the clients and
 * closes the listening socket. */
void request_server_stop(struct request_server *rs);

#endif
