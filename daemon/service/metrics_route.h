/* The metrics listener's one decision: what a request's head asks for.
 * Lua-free and socket-free, so that its fuzz target (fuzz/fuzz_metrics.c)
 * feeds it any bytes. Only the request line counts: the reply is the
 * same whatever the headers say, and the connection closes after it. */
#ifndef LUANET_METRICS_ROUTE_H
#define LUANET_METRICS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

enum metrics_route {
  METRICS_ROUTE_METRICS,     /* GET or HEAD /metrics (any query): 200 */
  METRICS_ROUTE_NOT_FOUND,   /* another path: 404 */
  METRICS_ROUTE_BAD_METHOD,  /* a method other than GET and HEAD: 405 */
  METRICS_ROUTE_BAD_REQUEST, /* not an HTTP/1.x request line: 400 */
};

/* The head's end ("\r\n\r\n", or "\n\n" as RFC 9112 lets a server take
 * bare LFs) within buf[0..len). */
bool metrics_head_complete(const char *buf, size_t len);
/* The request line of head[0..len); *head_only for HEAD. */
enum metrics_route metrics_route(const char *head, size_t len, bool *head_only);

#endif
