/* The request object of net.HttpServer (req): one userdata per request,
 * holding a copy of the head and an index of its fields, so that it stays
 * valid after the connection has moved on. Every field is made when a
 * handler first reads it: one that never looks at req.headers never pays
 * for a headers table.
 *
 *   req.method, req.target, req.path, req.query, req.version ("1.1", "2";
 *   also req.httpVersion, as Node names it),
 *   req.http11, req.keepAlive, req.headers (lower-case names), req.body,
 *   req.socket, req.peer; req:readSome() and req:waitBody(ms) under
 *   streamBody (lua/luanet/http/server.lua builds req:read() on them).
 *
 * Fields a handler sets (req.user = ...) live in user value 2, a table
 * made on first use; until then user value 2 holds just the body. */
#include "http_private.h"
#include "net.h"
#include "object.h"
#include "runtime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/*** A request of HttpServer (req): its fields are read as req.name, and a
 * handler may set fields of its own (req.user = ...). It stays valid
 * after its response is finished.
 * @classmod HttpRequest
 * @qt QHttpServerRequest (Qt 6)
 */

/*** The request's fields (read only; made when first read).
 * @table fields
 * @field method "GET", "POST"...
 * @field target the request target as sent ("/a/b?q=1")
 * @field path the target's path ("/a/b"; "/" for an absolute-form target without one)
 * @field query the text after "?", or nil
 * @field version "1.1", "1.0", or "2" for HTTP/2
 * @field httpVersion the same (Node's name)
 * @field http11 whether the version is 1.1 or later
 * @field keepAlive whether the connection stays open after the response
 * @field headers { lower-case name = value }, repeated names joined by ", "
 * @field body the body ("" when none); not with streamBody
 * @field socket the connection's TcpSocket
 * @field peer the client's address as text ("127.0.0.1")
 */
struct http_request {
  struct lnet_object obj;   /* first: its class */
  uint32_t exchange;
  struct http_exchange *ex;   /* valid while user value 1 (the socket) is held: always */
  uint32_t head_len;
  uint32_t target, target_len;
  uint32_t path;            /* path [? query], from the target's start */
  uint32_t authority, authority_len;   /* absolute-form: the Host the handler sees */
  uint16_t nfields;
  uint8_t method, major, minor;
  bool keep_alive;
  struct http_field fields[];   /* then the head's bytes */
};

static const char *head_of(const struct http_request *r) {
  return (const char *)&r->fields[r->nfields];
}

/* ---- indexing a head llhttp has accepted ---- */

static int refused(struct http_head *h, int status) {
  h->error = status;
  return -1;
}

/* One pass over the head. llhttp has checked its grammar (CRLF line ends,
 * token names); what it lets through, we check here: the target's bytes
 * and form (http_target.c), whitespace in a header name ("Host : a"), a
 * second Content-Length, Host or Transfer-Encoding, a Host that is not
 * one authority, a coding other than chunked alone, a folded line. */
int http_head_scan(const char *head, size_t len, struct http_field *out, int max, struct http_head *h) {
  memset(h, 0, sizeof *h);
  const char *end = head + len;
  if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
    return refused(h, 400);   /* a head ended by a bare LF ("\r\n\n") */
  const char *eol = memchr(head, '\r', len);   /* llhttp accepted CRLF line ends only */
  if (!eol || eol + 1 >= end || eol[1] != '\n')
    return refused(h, 400);
  const char *sp1 = memchr(head, ' ', (size_t)(eol - head));
  if (!sp1)
    return refused(h, 400);
  const char *sp2 = eol - 1;   /* the last space: before the version */
  while (sp2 > sp1 && *sp2 != ' ')
    sp2--;
  if (sp2 <= sp1 + 1 || eol - sp2 != 9)
    return refused(h, 400);   /* no target, or more than " HTTP/d.d" after it (a bare LF) */
  h->target = (uint32_t)(sp1 + 1 - head);
  h->target_len = (uint32_t)(sp2 - (sp1 + 1));
  int status = http_target_parse(sp1 + 1, h->target_len, head, (size_t)(sp1 - head), &h->form);
  if (status)
    return refused(h, status);
  const char *p = eol;
  int n = 0, lengths = 0;
  for (p += 2; p + 1 < end && !(p[0] == '\r' && p[1] == '\n');) {
    if (*p == ' ' || *p == '\t')
      return refused(h, 400);   /* obs-fold (RFC 9112 5.2 lets us refuse it) */
    const char *name = p;
    while (p < end && *p != ':') {
      if (*p == ' ' || *p == '\t' || *p == '\r')
        return refused(h, 400);
      p++;
    }
    size_t name_len = (size_t)(p - name);
    if (p == end || name_len == 0)
      return refused(h, 400);
    p++;
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    const char *v = p;
    p = memchr(p, '\r', (size_t)(end - p));
    if (!p || p + 1 >= end || p[1] != '\n')
      return refused(h, 400);
    const char *v_end = p;
    while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
      v_end--;
    size_t v_len = (size_t)(v_end - v);
    p += 2;
    switch (name_len) {   /* the names we look at, by length first */
    case 4:
      if (http_name_is(name, 4, "host", 4)) {   /* exactly one, one authority (RFC 9112 3.2) */
        if (h->has_host || !http_authority_valid(v, v_len) || (v_len == 0 && h->form.kind == TARGET_ORIGIN))
          return refused(h, 400);
        h->has_host = true;
      }
      break;
    case 6:
      if (http_name_is(name, 6, "expect", 6))
        h->expect = http_name_is(v, v_len, "100-continue", 12) ? EXPECT_CONTINUE : EXPECT_OTHER;
      break;
    case 14:
      if (http_name_is(name, 14, "content-length", 14) && ++lengths > 1)
        return refused(h, 400);
      break;
    case 17:
      if (http_name_is(name, 17, "transfer-encoding", 17)) {
        int coding = h->has_te ? 400 : http_transfer_coding(v, v_len);
        if (coding)
          return refused(h, coding);
        h->has_te = true;
      }
      break;
    }
    if (n < max)
      out[n] = (struct http_field){ (uint32_t)(name - head), (uint32_t)name_len, (uint32_t)(v - head),
                                    (uint32_t)v_len };
    n++;
  }
  if (n > UINT16_MAX)
    return refused(h, 431);
  h->nfields = n;
  return n;
}

/* ---- the object ---- */

/* Only a tag: the metatable is http_register_object's. */
static const struct lnet_class http_request_class = { .id = LNET_ID_HTTPREQUEST, .name = LNET_HTTPREQUEST };

static struct http_request *request_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &http_request_class);
}

/* http_request_push's body, in both of its callers (always_inline:
 * HTTP/1.x's every request saves the three arguments that would go on
 * the stack). */
static inline __attribute__((always_inline)) void request_push(lua_State *L, struct http_exchange *ex,
                                                               const char *head, size_t len,
                                                               const struct http_head *h,
                                                               const struct http_field *fields, int sock_obj,
                                                               int method, int major, int minor) {
  size_t size = sizeof(struct http_request) + (size_t)h->nfields * sizeof(struct http_field) + len;
  struct http_request *r = lua_newuserdatauv(L, size, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ex->server->request_mt_ref);
  lua_setmetatable(L, -2);
  r->obj.class_id = LNET_ID_HTTPREQUEST;
  r->ex = ex;
  r->exchange = ex->number;
  r->head_len = (uint32_t)len;
  r->target = h->target;
  r->target_len = h->target_len;
  r->path = h->form.path;
  r->authority = h->form.kind == TARGET_ABSOLUTE ? h->form.authority : 0;
  r->authority_len = h->form.kind == TARGET_ABSOLUTE ? h->form.authority_len : 0;
  r->nfields = (uint16_t)h->nfields;
  r->method = (uint8_t)method;
  r->major = (uint8_t)major;
  r->minor = (uint8_t)minor;
  r->keep_alive = ex->keep_alive;
  if (h->nfields <= HTTP_FIELDS_ON_STACK) {
    memcpy(r->fields, fields, (size_t)h->nfields * sizeof *fields);
  } else {   /* more than the caller had room for: index again, into the object */
    struct http_head again;
    http_head_scan(head, len, r->fields, r->nfields, &again);
  }
  memcpy((char *)head_of(r), head, len);
  lua_pushvalue(L, sock_obj);
  lua_setiuservalue(L, -2, 1);
}

void http_request_push(lua_State *L, struct http_exchange *ex, const char *head, size_t len,
                       const struct http_head *h, const struct http_field *fields, int sock_obj, int method,
                       int major, int minor) {
  request_push(L, ex, head, len, h, fields, sock_obj, method, major, minor);
}

void http1_request_push(lua_State *L, struct http_exchange *ex, const char *head, size_t len,
                        const struct http_head *h, const struct http_field *fields, int sock_obj) {
  const llhttp_t *p = &http_conn_of(ex)->parser;
  request_push(L, ex, head, len, h, fields, sock_obj, p->method, p->http_major, p->http_minor);
}

void http_request_set_body(lua_State *L, int req) {
  lua_setiuservalue(L, req, 2);
}

/* User value 2 as a table (made now, taking the body along), on the top. */
static void push_extras(lua_State *L, int req) {
  if (lua_getiuservalue(L, req, 2) == LUA_TTABLE)
    return;
  lua_createtable(L, 0, 2);
  if (lua_type(L, -2) == LUA_TSTRING) {
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "body");
  }
  lua_remove(L, -2);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, req, 2);
}

/* req.headers: lower-case name -> value, repeated names joined by ", "
 * (as Node does). */
static void push_headers(lua_State *L, const struct http_request *r) {
  const char *head = head_of(r);
  lua_createtable(L, 0, r->nfields);
  for (int i = 0; i < r->nfields; i++) {
    const struct http_field *f = &r->fields[i];
    http_headers_add(L, head + f->name, f->name_len, head + f->value, f->value_len);
  }
  if (r->authority_len) {   /* absolute-form: the target's authority is the Host (RFC 9112 3.2.2) */
    lua_pushlstring(L, head + r->target + r->authority, r->authority_len);
    lua_setfield(L, -2, "host");
  }
}

/* path [? query]: the target without absolute-form's scheme and authority. */
static const char *path_of(const struct http_request *r) {
  return head_of(r) + r->target + r->path;
}

static size_t path_span(const struct http_request *r) {
  return r->target_len - r->path;
}

static size_t path_len(const struct http_request *r) {
  const char *q = memchr(path_of(r), '?', path_span(r));
  return q ? (size_t)(q - path_of(r)) : path_span(r);
}

static void push_peer(lua_State *L, struct http_exchange *ex) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char buf[NET_ADDRSTRLEN];
  int fd = tcp_socket_fd(ex->sock);
  if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
    lua_pushstring(L, net_addr_format((struct sockaddr *)&ss, buf));
  else
    lua_pushliteral(L, "-");
}

/* "1.1", "1.0", or "2" for HTTP/2 (which has no minor version). */
static void push_version(lua_State *L, const struct http_request *r) {
  if (r->major == 2)
    lua_pushliteral(L, "2");
  else
    lua_pushfstring(L, "%d.%d", r->major, r->minor);
}

/* Pushes field `key` of the request, or nothing (returns false). */
static bool push_field(lua_State *L, int idx, struct http_request *r, const char *key) {
  const char *head = head_of(r);
  switch (key[0]) {
  case 'm':
    if (strcmp(key, "method") != 0)
      return false;
    lua_pushstring(L, llhttp_method_name((llhttp_method_t)r->method));
    return true;
  case 't':
    if (strcmp(key, "target") != 0)
      return false;
    lua_pushlstring(L, head + r->target, r->target_len);
    return true;
  case 'p':
    if (strcmp(key, "path") == 0) {
      size_t n = path_len(r);
      if (n == 0)
        lua_pushliteral(L, "/");   /* "http://host" and "http://host?q" ask for "/" */
      else
        lua_pushlstring(L, path_of(r), n);
      return true;
    }
    if (strcmp(key, "peer") == 0) {
      push_peer(L, r->ex);
      return true;
    }
    return false;
  case 'q': {
    if (strcmp(key, "query") != 0)
      return false;
    size_t n = path_len(r);
    if (n + 1 >= path_span(r))
      lua_pushnil(L);   /* none, or an empty one */
    else
      lua_pushlstring(L, path_of(r) + n + 1, path_span(r) - n - 1);
    return true;
  }
  case 'v':
    if (strcmp(key, "version") != 0)
      return false;
    push_version(L, r);
    return true;
  case 'h':
    if (strcmp(key, "http11") == 0) {
      lua_pushboolean(L, r->major == 1 && r->minor >= 1);
      return true;
    }
    if (strcmp(key, "httpVersion") == 0) {   /* Node's name */
      push_version(L, r);
      return true;
    }
    if (strcmp(key, "headers") != 0)
      return false;
    push_extras(L, idx);
    if (lua_getfield(L, -1, "headers") == LUA_TNIL) {
      lua_pop(L, 1);
      push_headers(L, r);
      lua_pushvalue(L, -1);
      lua_setfield(L, -3, "headers");
    }
    return true;
  case 'k':
    if (strcmp(key, "keepAlive") != 0)
      return false;
    lua_pushboolean(L, r->keep_alive);
    return true;
  case 's':
    if (strcmp(key, "socket") != 0)
      return false;
    lua_getiuservalue(L, idx, 1);
    return true;
  case 'b':
    if (strcmp(key, "body") != 0)
      return false;
    if (lua_getiuservalue(L, idx, 2) == LUA_TTABLE) {
      lua_getfield(L, -1, "body");
      lua_remove(L, -2);
    }
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushliteral(L, "");
    }
    return true;
  default:
    return false;
  }
}

/* req.key: a method, a field of the request, or one a handler set. */
static int request_index(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, 2);   /* a method first */
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lua_pop(L, 1);
  struct http_request *r = request_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (lua_getiuservalue(L, 1, 2) == LUA_TTABLE) {   /* set by a handler: these come first */
      lua_pushvalue(L, 2);
      if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    }
    lua_settop(L, 2);
    if (push_field(L, 1, r, lua_tostring(L, 2)))
      return 1;
  }
  lua_pushnil(L);
  return 1;
}

static int request_newindex(lua_State *L) {
  request_check(L, 1);
  lua_settop(L, 3);
  push_extras(L, 1);
  lua_insert(L, 2);
  lua_rawset(L, 2);
  return 0;
}

/*** With streamBody: the body bytes that came, nil at its end, false
 * when none are there yet (req:read waits for them).
 * @function readSome
 * @treturn string|nil|boolean
 */
static int request_readSome(lua_State *L) {
  struct http_request *r = request_check(L, 1);
  return r->ex->ops->read_body(r->ex, L, r->exchange);
}

/*** With streamBody: waits (this task) until body bytes, or its end, come.
 * @function waitBody
 * @tparam[opt] number ms no limit by default
 * @treturn boolean false when ms passed first
 */
static int request_waitBody(lua_State *L) {
  struct http_request *r = request_check(L, 1);
  return http_exchange_wait_body(r->ex, L, lnet_opt_ms(L, 2, -1));
}

static int request_tostring(lua_State *L) {
  struct http_request *r = request_check(L, 1);
  const char *target = lua_pushlstring(L, head_of(r) + r->target, r->target_len);
  lua_pushfstring(L, LNET_HTTPREQUEST " (%s %s)", llhttp_method_name((llhttp_method_t)r->method), target);
  return 1;
}

/* The access log's line, in the common log format, to accessLog(line). */
void http_request_log(lua_State *L, struct http_exchange *ex) {
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ex->server->log_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ex->req_ref);
  struct http_request *r = lua_touserdata(L, -1);
  if (!r || !lua_isfunction(L, top + 1)) {
    lua_settop(L, top);
    return;
  }
  char when[64];
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", localtime_r(&now, &tm));
  char bytes[24] = "-";
  if (ex->bytes > 0)
    snprintf(bytes, sizeof bytes, "%lld", (long long)ex->bytes);
  push_peer(L, ex);
  const char *peer = lua_tostring(L, -1);
  const char *target = lua_pushlstring(L, head_of(r) + r->target, r->target_len);
  lua_pushfstring(L, "%s - - [%s] \"%s %s HTTP/%d.%d\" %d %s", peer, when,
                  llhttp_method_name((llhttp_method_t)r->method), target, r->major, r->minor, ex->status, bytes);
  lua_copy(L, -1, top + 2);
  lua_settop(L, top + 2);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lnet_log(ex->server->rt, "error", "accessLog: %s", lua_tostring(L, -1));
  }
  lua_settop(L, top);
}

int luaopen_luanet_http_request(lua_State *L) {
  static const luaL_Reg methods[] = {
    { "readSome", request_readSome },
    { "waitBody", request_waitBody },
    { NULL, NULL },
  };
  http_register_object(L, LNET_HTTPREQUEST, methods, request_index, request_newindex);
  luaL_getmetatable(L, LNET_HTTPREQUEST);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, request_tostring, 1);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  return 1;
}
