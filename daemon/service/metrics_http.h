/* metrics = "tcp://HOST:PORT": an HTTP/1.x listener on the daemon's main
 * loop whose GET /metrics answers with metrics.c's text. It runs in the
 * main thread, beside the control socket, so a scrape reaches the workers
 * the way `ctl status` does and needs no Lua. */
#ifndef LUANET_METRICS_HTTP_H
#define LUANET_METRICS_HTTP_H

#include <stddef.h>

struct daemon;
struct listener_config;
struct metrics_http;

/* Opens the listener (before privileges drop, as the services' are); NULL
 * with "metrics: URL: why" in err. */
struct metrics_http *metrics_http_open(struct daemon *d, const struct listener_config *l, char *err, size_t errlen);
void metrics_http_close(struct metrics_http *m);

#endif
