/* net.HttpServer: the server object. It takes the connections of a
 * TcpServer (serve) or of one it opens (listen), gives each to
 * http_conn.c, and emits `request(req, res)` for every request.
 *
 *   local server = net.HttpServer{ maxBody = 1 << 20 }
 *   server.request:connect(function(req, res) res:finish("hi") end)
 *   server:listen("127.0.0.1", 8080)      -- or server:serve(tcpServer)
 *
 * Options: maxHeader (bytes of request line and headers, 431 past it),
 * maxBody (bytes of a buffered body, 413), headerTimeout (ms from a
 * request's first byte to its last header, 408), keepAliveTimeout (ms an
 * idle connection stays open), sendTimeout (ms a response may wait with
 * nothing of it read: nginx's send_timeout, 60 s), accessLog
 * (function(line), one common-log line per response), streamBody (request
 * is emitted at the head and the body is read with req:read()), methods (more than RFC 9110's and
 * PATCH: { "PROPFIND", "CONNECT" }; the others get 501). */
#include "http_private.h"
#include "http_server.h"
#include "tcp_server.h"
#include "signals.h"
#include "object.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/*** net.HttpServer: an HTTP/1.1 server, shaped as Node's http.Server.
 * request(req, res) is emitted for each request, in a task: a handler may
 * wait (a database call, a file) without holding up other connections.
 * Requests of one connection are answered in order (pipelining);
 * keep-alive, HEAD, Expect: 100-continue and HTTP/1.0 are handled. A
 * malformed request gets 400, a head not complete in time 408, a body
 * over maxBody 413, a head over maxHeader 431, a method not served 501;
 * a handler that raises before finishing gets 500 sent for it. There is
 * no tostring of its own. net.HttpServer.REASONS maps a status to its
 * reason phrase ([404] = "Not Found").
 * @classmod HttpServer
 * @qt QHttpServer (Qt 6)
 * @see HttpRequest
 * @see HttpResponse
 * @usage local server = net.HttpServer{ maxBody = 1 << 20 }
 * server.request:connect(function(req, res)
 *   res:setHeader("Content-Type", "text/plain")
 *   res:finish("Hello, " .. req.path .. "\n")
 * end)
 * assert(server:listen("127.0.0.1", 8080))   -- or server:serve(tcpServer)
 */

/*** Emitted for each request, in a task of its own; the handler answers
 * with res (finish, or sendFile), now or later.
 * @signal request
 * @tparam HttpRequest req
 * @tparam HttpResponse res
 */
static const struct lnet_class http_server_class;

enum { SIG_REQUEST = 1 };

#define CLOSE_GRACE 1.0   /* seconds closeIdle gives a connection's next request */
static const char *const signal_names[] = { "request", NULL };

static struct http_server *server_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &http_server_class);
}

void http_server_date(struct http_server *sv) {
  ev_tstamp now = ev_now(sv->rt->loop);
  time_t second = (time_t)now;
  if ((ev_tstamp)second == sv->date_second)
    return;
  struct tm tm;
  gmtime_r(&second, &tm);
  sv->date_len = strftime(sv->date, sizeof sv->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  sv->date_second = (ev_tstamp)second;
}

/* The server stays alive while it serves or has connections. */
static void release_if_done(struct http_server *sv) {
  if (sv->tcp_ref == LUA_NOREF && sv->nconns == 0) {
    lnet_unanchor(sv->rt->L, &sv->ref);
    lnet_unanchor(sv->rt->L, &sv->slots_ref);   /* its slots may hold the server */
  }
}

void http_server_link(struct http_server *sv, struct http_conn *c) {
  c->next = sv->conns;
  c->prev = NULL;
  if (sv->conns)
    sv->conns->prev = c;
  sv->conns = c;
  sv->nconns++;
  c->linked = true;
}

void http_server_unlink(struct http_server *sv, struct http_conn *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    sv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  c->linked = false;
  sv->nconns--;
  release_if_done(sv);
}

/* The slot on the TcpServer's newConnection: upvalue 1 is the server. */
static int accept_pending(lua_State *L) {
  struct http_server *sv = lua_touserdata(L, lua_upvalueindex(1));
  if (sv->tcp_ref == LUA_NOREF)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sv->tcp_ref);
  int tcp = lua_gettop(L);
  for (;;) {
    lua_getfield(L, tcp, "nextPendingConnection");
    lua_pushvalue(L, tcp);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1))
      break;
    http_conn_start(sv, L, lua_gettop(L));
    lua_pop(L, 1);
  }
  return 0;
}

/*** Answers the connections of a listening TcpServer (a
 * daemon listener, say). Raises when already serving.
 * @function serve
 * @tparam TcpServer tcpServer
 * @treturn boolean true
 */
static void serve(lua_State *L, struct http_server *sv, int tcp) {
  luaL_checkudata(L, tcp, LNET_TCPSERVER);
  if (sv->tcp_ref != LUA_NOREF)
    luaL_error(L, "HttpServer:serve(): already serving");
  /* HTTP/2 by ALPN unless the TLS configuration chose otherwise (a
   * daemon's tls:// listener, a script's setSslConfiguration). */
  tcp_server_offer_alpn(L, tcp, "h2,http/1.1");
  sv->tcp_ref = lnet_anchor(L, tcp);
  if (sv->ref == LUA_NOREF)
    sv->ref = lnet_anchor(L, 1);
  lua_pushlightuserdata(L, sv);
  lnet_connect(L, tcp, "newConnection", accept_pending, 1);
  lua_pushlightuserdata(L, sv);   /* connections already waiting */
  lua_pushcclosure(L, accept_pending, 1);
  lua_call(L, 0, 0);
}

static int server_serve(lua_State *L) {
  serve(L, server_check(L, 1), 2);
  lua_pushboolean(L, 1);
  return 1;
}

/*** Listens on a TcpServer of its own (closed by close).
 * @function listen
 * @tparam[opt] string|HostAddress host as TcpServer:listen's address
 * @tparam[opt=0] integer port
 * @treturn boolean true, or false and the error string ("The bound address is already in use")
 */
static int server_listen(lua_State *L) {
  struct http_server *sv = server_check(L, 1);
  lua_settop(L, 3);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "luanet.core");
  lua_getfield(L, -1, "TcpServer");
  lua_call(L, 0, 1);
  int tcp = lua_gettop(L);
  lua_getfield(L, tcp, "listen");
  lua_pushvalue(L, tcp);
  lua_pushvalue(L, 2);
  if (lua_isnil(L, 3))
    lua_pushinteger(L, 0);
  else
    lua_pushvalue(L, 3);
  lua_call(L, 3, 1);
  if (!lua_toboolean(L, -1)) {
    lua_getfield(L, tcp, "errorString");
    lua_pushvalue(L, tcp);
    lua_call(L, 1, 1);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  serve(L, sv, tcp);
  sv->owns_tcp = true;
  lua_pushboolean(L, 1);
  return 1;
}

/* The served TcpServer's method `name`, called with no arguments. */
static int delegate(lua_State *L, const char *name) {
  struct http_server *sv = server_check(L, 1);
  if (sv->tcp_ref == LUA_NOREF)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sv->tcp_ref);
  lua_getfield(L, -1, name);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  return 1;
}

/*** The port of the TcpServer served.
 * @function serverPort
 * @treturn integer|nil nil when serving none
 */
/*** The address of the TcpServer served.
 * @function serverAddress
 * @treturn HostAddress|nil nil when serving none
 */
static int server_serverPort(lua_State *L) { return delegate(L, "serverPort"); }
static int server_serverAddress(lua_State *L) { return delegate(L, "serverAddress"); }

/*** For a service's `stopping`: every response from now on says
 * Connection: close, and a connection idle for the next second (or the
 * keep-alive time-out, when shorter) closes. A client's request already on
 * its way is answered, not cut off: a reload under load fails nothing.
 * @function closeIdle
 */
static int server_closeIdle(lua_State *L) {
  struct http_server *sv = server_check(L, 1);
  sv->closing = true;
  double grace = sv->keep_alive_timeout < CLOSE_GRACE ? sv->keep_alive_timeout : CLOSE_GRACE;
  for (struct http_conn *c = sv->conns; c; c = c->next)
    http_conn_close_idle(c, grace);
  return 0;
}

/*** Stops listening (a TcpServer of listen() closes), then as
 * closeIdle: idle connections close after the grace, busy ones after their
 * response.
 * @function close
 */
static int server_close(lua_State *L) {
  struct http_server *sv = server_check(L, 1);
  if (sv->tcp_ref != LUA_NOREF) {
    if (sv->owns_tcp) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, sv->tcp_ref);
      lua_getfield(L, -1, "close");
      lua_insert(L, -2);
      lua_call(L, 1, 0);
    }
    lnet_unanchor(L, &sv->tcp_ref);
  }
  server_closeIdle(L);
  release_if_done(sv);
  return 0;
}

/*** How many connections are open.
 * @function connectionCount
 * @treturn integer
 */
static int server_connectionCount(lua_State *L) {
  lua_pushinteger(L, server_check(L, 1)->nconns);
  return 1;
}

static int server_gc(lua_State *L) {
  struct http_server *sv = server_check(L, 1);
  buffer_free(&sv->head_buf);
  lnet_unanchor(L, &sv->log_ref);
  lnet_unanchor(L, &sv->slots_ref);
  lnet_unanchor(L, &sv->request_mt_ref);
  lnet_unanchor(L, &sv->response_mt_ref);
  return 0;
}

/* An option in milliseconds, as seconds (libev's unit); def is in ms too. */
static double ms_option(lua_State *L, const char *name, double def_ms) {
  if (lua_getfield(L, 1, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return def_ms / 1000.0;
  }
  lua_Number ms = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  if (ms <= 0)
    luaL_error(L, "HttpServer: %s must be positive", name);
  return ms / 1000.0;
}

/* The methods a server serves: those of RFC 9110 and PATCH by default;
 * `methods = { "PROPFIND", "CONNECT", ... }` adds others llhttp knows.
 * The rest get 501 before any handler runs, as RFC 9110 9.1 advises:
 * nginx answers 405 or 400 and Node hands any method to the handler;
 * 501 says "not implemented here" and keeps CONNECT and TRACE (a proxy's
 * and a debugging method) away from handlers that do not expect them. */
static uint64_t methods_option(lua_State *L) {
  uint64_t mask = 0;
  static const llhttp_method_t standard[] = { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE,
                                              HTTP_OPTIONS, HTTP_PATCH };
  for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
    mask |= (uint64_t)1 << standard[i];
  if (lua_getfield(L, 1, "methods") == LUA_TNIL) {
    lua_pop(L, 1);
    return mask;
  }
  luaL_checktype(L, -1, LUA_TTABLE);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
    const char *name = luaL_checkstring(L, -1);
    int id = -1;
#define METHOD_ID(num, NAME, string) if (id < 0 && strcmp(#string, name) == 0) id = num;
    HTTP_METHOD_MAP(METHOD_ID)
#undef METHOD_ID
    if (id < 0 || id >= 64)
      luaL_error(L, "HttpServer: methods: %s is not a method the parser knows", name);
    mask |= (uint64_t)1 << id;
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return mask;
}

static size_t size_option(lua_State *L, const char *name, size_t def) {
  if (lua_getfield(L, 1, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  lua_Integer n = luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  if (n < 0)
    luaL_error(L, "HttpServer: %s must not be negative", name);
  return (size_t)n;
}

/*** A new server; it answers once it serves a TcpServer (serve, listen).
 * An unknown option raises.
 * @function net.HttpServer
 * @tparam[opt] table options maxHeader (bytes of request line and headers, 16384), maxBody (bytes of a buffered body, 1 MiB), headerTimeout (ms from a request's first byte to its last header, 10000), keepAliveTimeout (ms an idle connection stays open, 5000), sendTimeout (ms a response may wait with nothing of it read, 60000), accessLog (function(line): one common-log line per response), streamBody (true: request is emitted at the head, and the body is read with req:read()), methods (more than GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH: { "PROPFIND" }; the others get 501)
 * @treturn HttpServer
 */
static int server_new(lua_State *L) {
  static const char *const known[] = { "maxHeader", "maxBody", "headerTimeout", "keepAliveTimeout",
                                       "accessLog", "streamBody", "methods", "sendTimeout", NULL };
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_newtable(L);
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    bool ok = false;
    for (int i = 0; known[i]; i++)
      ok = ok || strcmp(known[i], key) == 0;
    if (!ok)
      return luaL_error(L, "HttpServer: unknown option %s", key);
  }
  http_target_init();
  struct http_server *sv = lnet_newobject(L, sizeof *sv, &http_server_class, 1);
  sv->rt = lnet_runtime(L);
  sv->ref = sv->tcp_ref = sv->log_ref = sv->slots_ref = LUA_NOREF;
  sv->request_mt_ref = sv->response_mt_ref = LUA_NOREF;
  sv->max_header = size_option(L, "maxHeader", 16 * 1024);
  sv->max_body = size_option(L, "maxBody", 1024 * 1024);
  sv->header_timeout = ms_option(L, "headerTimeout", 10000);
  sv->keep_alive_timeout = ms_option(L, "keepAliveTimeout", 5000);
  sv->methods = methods_option(L);
  sv->send_timeout = ms_option(L, "sendTimeout", 60000);
  lua_getfield(L, 1, "streamBody");
  sv->stream_body = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "accessLog") != LUA_TNIL) {
    lnet_check_callable(L, -1);
    sv->log_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  luaL_getmetatable(L, LNET_HTTPREQUEST);
  sv->request_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_getmetatable(L, LNET_HTTPRESPONSE);
  sv->response_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

void http_register_object(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction index,
                          lua_CFunction newindex) {
  luaL_newmetatable(L, name);
  int mt = lua_gettop(L);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  int m = lua_gettop(L);
  lua_pushvalue(L, m);
  lua_pushcclosure(L, index, 1);
  lua_setfield(L, mt, "__index");
  lua_pushcfunction(L, newindex);
  lua_setfield(L, mt, "__newindex");
  lua_remove(L, mt);
}

static const luaL_Reg http_server_methods[] = {
  { "serve", server_serve },
  { "listen", server_listen },
  { "close", server_close },
  { "closeIdle", server_closeIdle },
  { "serverPort", server_serverPort },
  { "serverAddress", server_serverAddress },
  { "connectionCount", server_connectionCount },
  { NULL, NULL },
};

static const struct lnet_class http_server_class = {
  .id = LNET_ID_HTTPSERVER, .name = LNET_HTTPSERVER, .methods = http_server_methods, .gc = server_gc, .signals = signal_names,
  .construct = server_new,
};

int luaopen_luanet_http_server(lua_State *L) {
  lnet_class_register(L, &http_server_class);
  luaopen_luanet_http_request(L);
  lua_setfield(L, -2, "Request");    /* methods tables, for lua/luanet/http/server.lua */
  luaopen_luanet_http_response(L);
  lua_setfield(L, -2, "Response");
  http_reasons_push(L);
  lua_setfield(L, -2, "REASONS");
  return 1;
}
