/* The server's side of RFC 6455's opening handshake, in C: a
 * WebSocketServer's connections (WebSocket._serverHandshake) and an
 * HttpServer's upgrades (WebSocket._answerUpgrade), and the client's
 * reading of the server's answer
 * (WebSocket._checkResponse). The judging is ws_request.c's.
 *
 * Why C: a server holds thousands of idle WebSockets, and a handshake
 * done in Lua left each of them about a kilobyte of garbage and heap
 * holes (its strings, closures and timer) in the memory it keeps. Here a
 * handshake in flight is one small struct, the socket's reader, with a
 * timer in it; the head is judged where it lies in the socket's buffer
 * and nothing of it outlives the 101.
 *
 * The WebSocketServer (lua/luanet/ws/server.lua) is read, not copied:
 * its _timeout when the connection comes, its _subprotocols, _deflate and
 * _check_origin when the head is complete; it is told the outcome by
 * server:_handshakeDone(ws) or server:_handshakeDone(nil, why), and asked
 * server:_originAllowed(origin) when it checks origins. */
#include "websocket.h"
#include "buffer.h"
#include "lua_args.h"
#include "runtime.h"
#include "task.h"
#include "tcp_socket.h"
#include "ws_request.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBPROTOCOLS 32   /* of a server's list that are looked at */

/* A connection whose head has not come yet: the socket's reader. */
struct ws_handshake {
  struct socket_reader reader;   /* first */
  struct tcp_socket *sock;
  struct lnet_runtime *rt;
  ev_timer timer;            /* the handshake time-out; 0 when the socket closed */
  int server_ref;            /* the WebSocketServer, until it is told */
  size_t scanned;            /* bytes of the buffer searched for the head's end */
  bool closed;               /* the socket closed before the head came */
};

/* The strings of a Lua list (at idx, may be nil) as spans; they live as
 * long as the list is on the stack. */
static size_t subprotocols(lua_State *L, int idx, struct ws_span out[MAX_SUBPROTOCOLS]) {
  size_t n = 0;
  if (!lua_istable(L, idx))
    return 0;
  for (lua_Integer i = 1; n < MAX_SUBPROTOCOLS; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING) {
      lua_pop(L, 1);
      break;
    }
    out[n].p = lua_tolstring(L, -1, &out[n].n);
    n++;
    lua_pop(L, 1);   /* the list still holds it */
  }
  return n;
}

/* ---- a WebSocketServer's connection ---- */

/* Tells the server how the handshake ended: the WebSocket on the stack's
 * top (ws true), or nil and why. Once. */
static void tell_server(struct ws_handshake *h, lua_State *L, bool ws, const char *why) {
  int top = lua_gettop(L) - (ws ? 1 : 0);
  if (h->server_ref == LUA_NOREF) {
    lua_settop(L, top);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->server_ref);
  lnet_unanchor(L, &h->server_ref);
  lua_getfield(L, -1, "_handshakeDone");
  lua_insert(L, -2);
  if (ws)
    lua_pushvalue(L, top + 1);
  else
    lua_pushnil(L);
  lua_pushstring(L, why);
  task_call(h->rt, L, 3, NULL);
  lua_settop(L, top);
}

/* An answer that ends the connection: 400, 403, 426, 431. */
static void refuse(struct ws_handshake *h, lua_State *L, int sock_obj, int status, const char *why) {
  const char *reason = status == 403 ? "Forbidden" : status == 426 ? "Upgrade Required"
                     : status == 431 ? "Request Header Fields Too Large" : "Bad Request";
  char text[192];
  int n = snprintf(text, sizeof text, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n%s\r\n", status,
                   reason, status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
  struct iovec iov = { text, (size_t)n };
  ev_timer_stop(h->rt->loop, &h->timer);
  buffer_consume(tcp_socket_input(h->sock), tcp_socket_input(h->sock)->len);
  h->scanned = 0;
  tcp_socket_send(h->sock, L, sock_obj, &iov, 1);
  tcp_socket_disconnect(L, sock_obj);
  tell_server(h, L, false, why);
}

/* server:_originAllowed(origin), when the server checks origins: a slot
 * that raises refuses. */
static bool origin_allowed(struct ws_handshake *h, lua_State *L, int server, struct ws_span origin) {
  if (lua_getfield(L, server, "_check_origin"), !lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  lua_getfield(L, server, "_originAllowed");
  lua_pushvalue(L, server);
  lua_pushlstring(L, origin.p ? origin.p : "", origin.n);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    lnet_log(h->rt, "error", "WebSocketServer: origin check: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return false;
  }
  bool ok = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return ok;
}

/* The whole head is the buffer's first `len` bytes: judge it, answer it,
 * and on success hand the socket to a new WebSocket. */
static void head_complete(struct ws_handshake *h, lua_State *L, int sock_obj, size_t len) {
  struct buffer *in = tcp_socket_input(h->sock);
  struct ws_request r;
  int status = ws_request_parse(buffer_head(in), len, WS_HEAD_REQUEST, &r);
  if (status == 0)
    status = ws_request_check(&r);
  if (status != 0) {
    ws_request_free(&r);
    return refuse(h, L, sock_obj, status,
                  status == 426 ? "unsupported WebSocket version" : "not a WebSocket handshake");
  }
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->server_ref);
  int server = lua_gettop(L);
  if (!origin_allowed(h, L, server, r.origin)) {
    lua_settop(L, top);
    ws_request_free(&r);
    return refuse(h, L, sock_obj, 403, "origin refused");
  }
  struct ws_span list[MAX_SUBPROTOCOLS], protocol = { NULL, 0 };
  lua_getfield(L, server, "_subprotocols");
  ws_pick_protocol(r.protocol, list, subprotocols(L, -1, list), &protocol);
  struct ws_deflate_terms terms;
  char extensions[WS_DEFLATE_ANSWER_MAX];
  bool deflate = lua_getfield(L, server, "_deflate") != LUA_TNIL && lua_toboolean(L, -1)
              && ws_deflate_accept(r.extensions, &terms, extensions);

  char small[512];
  size_t need = ws_switching(small, sizeof small, r.key, protocol, deflate ? extensions : NULL);
  char *answer = need < sizeof small ? small : malloc(need + 1);
  if (answer != small && answer)
    ws_switching(answer, need + 1, r.key, protocol, deflate ? extensions : NULL);
  websocket_new(L);
  int ws = lua_gettop(L);
  struct websocket_info info = { r.target, r.origin, protocol };
  bool attached = false;
  if (answer) {
    ev_timer_stop(h->rt->loop, &h->timer);
    /* The head leaves the buffer (its bytes stay where they are until the
     * next read: the WebSocket copies what info points at before any Lua
     * runs), so that what follows it is the WebSocket's first frames. */
    buffer_consume(in, len);
    tcp_socket_set_reader(h->sock, NULL);   /* the WebSocket's reader takes over; h goes below */
    attached = websocket_attach(L, ws, sock_obj, true, deflate ? &terms : NULL, &info);
    struct iovec iov = { answer, need };
    if (attached)
      tcp_socket_send(h->sock, L, sock_obj, &iov, 1);   /* a failure is the WebSocket's to report */
  }
  if (answer != small)
    free(answer);
  ws_request_free(&r);
  lua_pushvalue(L, ws);
  tell_server(h, L, attached, attached ? NULL : "the connection closed during the handshake");
  lua_settop(L, top);
  if (tcp_socket_reader(h->sock) == &h->reader)
    return;   /* no memory for the answer: h stays until the socket goes */
  free(h);
}

static void hs_readable(struct socket_reader *rd, lua_State *L, int sock_obj) {
  struct ws_handshake *h = (struct ws_handshake *)rd;
  struct buffer *in = tcp_socket_input(h->sock);
  if (h->server_ref == LUA_NOREF) {   /* refused: what follows is not read */
    buffer_consume(in, in->len);
    return;
  }
  const char *p = buffer_head(in);
  size_t from = h->scanned > 3 ? h->scanned - 3 : 0;
  for (size_t i = from; i + 3 < in->len && i < WS_MAX_HEAD; i++) {
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
      return head_complete(h, L, sock_obj, i + 4);
  }
  h->scanned = in->len;
  if (in->len > WS_MAX_HEAD + 3)
    refuse(h, L, sock_obj, 431, "handshake too large");
}

static void hs_closed(struct socket_reader *rd) {
  struct ws_handshake *h = (struct ws_handshake *)rd;
  /* No Lua here: the server is told from the loop. */
  h->closed = true;
  ev_timer_stop(h->rt->loop, &h->timer);
  if (h->server_ref != LUA_NOREF) {
    ev_timer_set(&h->timer, 0., 0.);
    ev_timer_start(h->rt->loop, &h->timer);
  }
}

static void hs_release(struct socket_reader *rd) {
  struct ws_handshake *h = (struct ws_handshake *)rd;
  ev_timer_stop(h->rt->loop, &h->timer);
  if (h->server_ref != LUA_NOREF)
    luaL_unref(h->rt->L, LUA_REGISTRYINDEX, h->server_ref);
  free(h);
}

/* The time-out, or the socket closed: the server hears of it. */
static void hs_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct ws_handshake *h = (struct ws_handshake *)((char *)w - offsetof(struct ws_handshake, timer));
  lua_State *L = h->rt->L;
  int top = lua_gettop(L);
  if (!h->closed) {
    int s = tcp_socket_push(L, h->sock);
    lua_getfield(L, s, "abort");
    lua_pushvalue(L, s);
    lua_call(L, 1, 0);
  }
  tell_server(h, L, false, h->closed ? "the connection closed during the handshake" : "handshake timed out");
  lua_settop(L, top);
}

/* WebSocket._serverHandshake(sock, server): sock's head is awaited and
 * judged as the WebSocketServer `server` is set up; it hears the outcome
 * by server:_handshakeDone. */
static int ws_serverHandshake(lua_State *L) {
  struct tcp_socket *s = tcp_socket_test(L, 1);
  luaL_argcheck(L, s != NULL, 1, "TcpSocket expected");
  luaL_checktype(L, 2, LUA_TTABLE);
  if (tcp_socket_reader(s))
    return luaL_argerror(L, 1, "the socket is read by something else already");
  if (!tcp_socket_is_open(s))
    return 0;
  struct ws_handshake *h = calloc(1, sizeof *h);
  if (!h)
    return luaL_error(L, "WebSocketServer: out of memory");
  static const struct socket_reader_ops ops = { hs_readable, hs_closed, hs_release };
  h->reader.ops = &ops;
  h->sock = s;
  h->rt = lnet_runtime(L);
  lua_getfield(L, 2, "_timeout");
  lua_Number ms = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 10000;
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  h->server_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  ev_init(&h->timer, hs_timer_cb);
  if (ms > 0) {
    ev_timer_set(&h->timer, ms / 1000.0, 0.);
    ev_timer_start(h->rt->loop, &h->timer);
  }
  tcp_socket_set_reader(s, &h->reader);
  if (tcp_socket_input(s)->len > 0)   /* what came before we looked */
    hs_readable(&h->reader, L, 1);
  return 0;
}

/* ---- an HttpServer's upgrade ---- */

static struct ws_span field(lua_State *L, int headers, const char *name) {
  struct ws_span s = { NULL, 0 };
  if (lua_getfield(L, headers, name) == LUA_TSTRING)
    s.p = lua_tolstring(L, -1, &s.n);
  lua_pop(L, 1);   /* the headers table still holds it */
  return s;
}

/* [-0, +1, m] permessage-deflate's terms as Lua's half passes them to
 * ws:_attach. */
static void push_terms(lua_State *L, const struct ws_deflate_terms *t) {
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, t->inflate_reset);
  lua_setfield(L, -2, "inflateReset");
  lua_pushboolean(L, t->deflate_reset);
  lua_setfield(L, -2, "deflateReset");
  lua_pushinteger(L, t->deflate_bits);
  lua_setfield(L, -2, "deflateBits");
}

/* WebSocket._answerUpgrade(method, version, target, headers [, subprotocols
 * [, deflate]]), headers with lower-case names as an HttpServer's request
 * has them: the 101 head, the deflate terms (or false) and the
 * subprotocol (or nil); or nil and the status to answer (400, 426). */
static int ws_answerUpgrade(lua_State *L) {
  luaL_checktype(L, 4, LUA_TTABLE);
  struct ws_request r = { 0 };
  r.get = lua_type(L, 1) == LUA_TSTRING && strcmp(lua_tostring(L, 1), "GET") == 0;
  r.http11 = lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "1.1") == 0;
  if (lua_type(L, 3) == LUA_TSTRING)
    r.target.p = lua_tolstring(L, 3, &r.target.n);
  r.host = field(L, 4, "host");
  r.origin = field(L, 4, "origin");
  r.key = field(L, 4, "sec-websocket-key");
  r.version = field(L, 4, "sec-websocket-version");
  r.upgrade = field(L, 4, "upgrade");
  r.connection = field(L, 4, "connection");
  r.protocol = field(L, 4, "sec-websocket-protocol");
  r.extensions = field(L, 4, "sec-websocket-extensions");
  int status = ws_request_check(&r);
  if (status != 0) {
    lua_pushnil(L);
    lua_pushinteger(L, status);
    return 2;
  }
  struct ws_span list[MAX_SUBPROTOCOLS], protocol = { NULL, 0 };
  ws_pick_protocol(r.protocol, list, subprotocols(L, 5, list), &protocol);
  struct ws_deflate_terms terms;
  char extensions[WS_DEFLATE_ANSWER_MAX];
  bool deflate = lua_toboolean(L, 6) && ws_deflate_accept(r.extensions, &terms, extensions);
  size_t need = ws_switching(NULL, 0, r.key, protocol, deflate ? extensions : NULL);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, need + 1);
  ws_switching(out, need + 1, r.key, protocol, deflate ? extensions : NULL);
  luaL_pushresultsize(&b, need);
  if (deflate)
    push_terms(L, &terms);
  else
    lua_pushboolean(L, 0);
  if (protocol.p)
    lua_pushlstring(L, protocol.p, protocol.n);
  else
    lua_pushnil(L);
  return 3;
}

/* ---- the client's side ---- */

/* WebSocket._checkResponse(head, key, offeredDeflate): the client's
 * judgement of the server's whole answer head to our key: true, the
 * subprotocol (or nil) and the deflate terms (or nil); or nil and Qt's
 * error text. */
static int ws_checkResponse(lua_State *L) {
  size_t n;
  const char *head = luaL_checklstring(L, 1, &n);
  struct ws_span key = { NULL, 0 };
  key.p = luaL_checklstring(L, 2, &key.n);
  bool offered = lua_toboolean(L, 3);
  struct ws_request r;
  struct ws_deflate_terms t;
  const char *why = NULL;
  char text[160];
  text[0] = '\0';
  if (ws_request_parse(head, n, WS_HEAD_RESPONSE, &r) != 0) {
    const char *eol = memchr(head, '\r', n);
    int line = (int)(eol ? (size_t)(eol - head) : n);
    snprintf(text, sizeof text, "Invalid statusline in response: %.*s", line < 100 ? line : 100, head);
  } else if (!ws_response_check(&r, key, &why)) {
    if (r.status != 101)
      snprintf(text, sizeof text, "Handshake: %s %d %.*s", why, r.status, (int)(r.target.n < 100 ? r.target.n : 100),
               r.target.p ? r.target.p : "");
    else
      snprintf(text, sizeof text, "Handshake: %s", why);
  } else if (r.extensions.p && !offered) {
    snprintf(text, sizeof text, "Handshake: the server answered an extension we did not offer");
  } else if (r.extensions.p && ws_deflate_response(r.extensions, &t, &why) < 0) {
    snprintf(text, sizeof text, "Handshake: %s", why);
  }
  if (text[0]) {
    ws_request_free(&r);
    lua_pushnil(L);
    lua_pushstring(L, text);
    return 2;
  }
  lua_pushboolean(L, 1);
  if (r.protocol.p)
    lua_pushlstring(L, r.protocol.p, r.protocol.n);
  else
    lua_pushnil(L);
  if (r.extensions.p)
    push_terms(L, &t);
  else
    lua_pushnil(L);
  ws_request_free(&r);
  return 3;
}

void ws_handshake_register(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "_serverHandshake", ws_serverHandshake },
    { "_answerUpgrade", ws_answerUpgrade },
    { "_checkResponse", ws_checkResponse },
    { NULL, NULL },
  };
  luaL_setfuncs(L, fns, 0);
  lua_pushliteral(L, WS_DEFLATE_OFFER);
  lua_setfield(L, -2, "_deflateOffer");
}
