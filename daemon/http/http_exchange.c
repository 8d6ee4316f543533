/* What an exchange (http_private.h) does alike under HTTP/1.x and HTTP/2:
 * req:waitBody's wait for more of a streamed body. */
#include "http_private.h"
#include "runtime.h"
#include "wait.h"

#include <stdlib.h>

/* The wait is made on the first call and kept for the exchange's next
 * requests; the connection frees it. */
int http_exchange_wait_body(struct http_exchange *ex, lua_State *L, double ms) {
  if (!ex->body_wait) {
    ex->body_wait = malloc(sizeof *ex->body_wait);
    if (!ex->body_wait)
      return luaL_error(L, "out of memory");
    lnet_wait_init(ex->body_wait, NULL);
  }
  return lnet_wait(L, ex->server->rt, ex->body_wait, ms);
}
