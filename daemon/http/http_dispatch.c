/* Handing a request to the server's handlers: the request signal runs each
 * slot in a task with req and res. Alike for every connection kind (an
 * HTTP/1.x connection's one exchange, an HTTP/2 stream's): what differs
 * goes through the exchange's ops. A handler that fails before its
 * response finished gets a 500 for it, at once or when its task ends;
 * a request nobody listens for gets a 404. */
#include "http_private.h"
#include "object.h"
#include "runtime.h"
#include "signals.h"
#include "task.h"

#include <stdlib.h>

/* A handler's task ended after suspending: one that failed before its
 * response finished gets a 500 for it. The token holds the socket (and so
 * the connection) until then. */
struct handler_token {
  struct http_exchange *ex;
  uint32_t exchange;
  int sock_ref;
};

static void handler_done(struct lnet_runtime *rt, void *ud, enum task_status st) {
  struct handler_token *t = ud;
  struct http_exchange *ex = t->ex;
  lua_State *L = rt->L;
  if (st == TASK_FAILED && ex->number == t->exchange && ex->ops->open(ex) && !ex->res_done) {
    int obj = tcp_socket_push(L, ex->sock);
    ex->ops->refuse(ex, L, obj, 500);
    lua_settop(L, obj - 1);
  }
  lnet_unanchor(L, &t->sock_ref);
  free(t);
}

struct dispatch_ctx {
  struct http_exchange *ex;
  lua_State *L;
  int obj;   /* the socket, on L's stack */
};

static void handler_suspended(lua_State *co, void *ud) {
  struct dispatch_ctx *d = ud;
  struct handler_token *t = malloc(sizeof *t);
  if (!t)
    return;   /* then a failure later gets no 500, only its log line */
  t->ex = d->ex;
  t->exchange = d->ex->number;
  lua_pushvalue(d->L, d->obj);
  t->sock_ref = luaL_ref(d->L, LUA_REGISTRYINDEX);
  task_on_done(d->ex->server->rt, co, handler_done, t);
}

/* Pushes the slots of the server's request signal (lnet_push_slots), on
 * the top; returns how many. The server's slot table (its user value),
 * made when a script first connected a slot and never replaced, is kept
 * by reference from the first request on: one read per request instead of
 * three. It stays below the slots (the caller's lua_settop drops both: a
 * lua_remove here cost some 50 instructions a request). */
static int push_request_slots(struct http_server *sv, lua_State *L) {
  if (sv->slots_ref == LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, sv->ref);
    if (lua_getiuservalue(L, -1, 1) != LUA_TTABLE) {
      lua_pop(L, 2);
      lua_pushnil(L);
      return 0;
    }
    sv->slots_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, sv->slots_ref);
  int t = lua_rawgeti(L, -1, 1);
  return t == LUA_TFUNCTION ? 1 : t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
}

void http_dispatch(struct http_exchange *ex, lua_State *L, int obj, int req_idx) {
  struct http_server *sv = ex->server;
  http_response_begin(ex);
  if (sv->log_ref != LUA_NOREF) {
    lua_pushvalue(L, req_idx);
    ex->req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  int top = lua_gettop(L);
  int failed = 0, slots = 0;
  if ((slots = push_request_slots(sv, L)) > 0) {
    int sig = lua_gettop(L);
    lua_pushvalue(L, req_idx);
    http_response_push(L, ex, obj);
    uint32_t exchange = ex->number;
    struct dispatch_ctx ctx = { ex, L, obj };
    signal_emit_each(sv->rt, L, sig, sig + 1, 2, handler_suspended, &ctx, &failed);
    if (failed && ex->number == exchange && ex->ops->open(ex) && !ex->res_done)
      ex->ops->refuse(ex, L, obj, 500);
  }
  lua_settop(L, top);
  if (slots == 0 && ex->ops->open(ex))
    ex->ops->refuse(ex, L, obj, 404);   /* nobody listens */
  http_response_settle(ex);
}
