#include "metrics_http.h"
#include "daemon_state.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_route.h"
#include "request_server.h"

#include <stdlib.h>
#include <unistd.h>

/* A head past this is not a scraper's: 431. */
#define METRICS_MAX_HEAD 8192

struct metrics_http {
  struct daemon *d;
  struct request_server *server;
};

static void reply(FILE *out, const char *status, const char *type, const char *extra, const char *body,
                  size_t len, bool head_only) {
  fprintf(out, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
          type, len, extra);
  if (!head_only)
    fwrite(body, 1, len, out);
}

static void error_reply(FILE *out, const char *status) {
  char body[128];
  int n = snprintf(body, sizeof body, "%s\n", status);
  reply(out, status, "text/plain; charset=utf-8", "", body, (size_t)n, false);
}

static void respond(void *ud, char *request, size_t len, bool too_long, FILE *out) {
  struct metrics_http *m = ud;
  if (too_long) {
    error_reply(out, "431 Request Header Fields Too Large");
    return;
  }
  bool head_only;
  switch (metrics_route(request, len, &head_only)) {
  case METRICS_ROUTE_BAD_REQUEST:
    error_reply(out, "400 Bad Request");
    return;
  case METRICS_ROUTE_BAD_METHOD:
    reply(out, "405 Method Not Allowed", "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
          "405 Method Not Allowed\n", 23, false);
    return;
  case METRICS_ROUTE_NOT_FOUND:
    error_reply(out, "404 Not Found");
    return;
  case METRICS_ROUTE_METRICS:
    break;
  }
  char *body = NULL;
  size_t body_len = 0;
  FILE *text = open_memstream(&body, &body_len);
  if (!text) {
    error_reply(out, "503 Service Unavailable");
    return;
  }
  metrics_write(m->d, text);
  fclose(text);
  reply(out, "200 OK", "text/plain; version=0.0.4; charset=utf-8", "", body, body_len, head_only);
  free(body);
}

struct metrics_http *metrics_http_open(struct daemon *d, const struct listener_config *l, char *err, size_t errlen) {
  char why[512];
  int fd = listener_open(l, why, sizeof why);
  if (fd < 0) {
    snprintf(err, errlen, "metrics: %s", why);
    return NULL;
  }
  struct metrics_http *m = calloc(1, sizeof *m);
  struct request_handler handler = { metrics_head_complete, respond, m, METRICS_MAX_HEAD };
  if (!m || !(m->server = request_server_start(d->loop, fd, handler))) {
    free(m);
    close(fd);
    snprintf(err, errlen, "metrics: %s: out of memory", l->url);
    return NULL;
  }
  m->d = d;
  char where[128];
  listener_describe(fd, l, where, sizeof where);
  log_printf(LOG_INFO, NULL, "metrics on %s (GET /metrics)", where);
  return m;
}

void metrics_http_close(struct metrics_http *m) {
  if (!m)
    return;
  request_server_stop(m->server);
  free(m);
}
