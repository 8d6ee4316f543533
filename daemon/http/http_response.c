/* The response object of net.HttpServer (res) and its framing.
 *
 *   res.statusCode (read and set), res.headersSent, res.finished, res.socket;
 *   res:setHeader(name, value), res:getHeader(name), res:removeHeader(name),
 *   res:writeHead(status, [headers]), res:write(data), res:finish([data]),
 *   res:sendFile(path, [offset], [length]).
 *
 * The userdata holds only its connection and the number of its exchange;
 * the response's state lives in the connection, which answers one request
 * at a time, so a res kept past its finish() is told apart and refused.
 * The header lines a handler sets go straight into the text that is sent
 * ("Name: value\r\n"), in a buffer borrowed from the server while the
 * handler runs; the head then leaves with the body in one writev, and a
 * Content-Length body is never copied. */
#include "http_private.h"
#include "object.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/*** A response of HttpServer (res). Headers are set until the head is
 * sent (by writeHead's first write, write, finish or sendFile); the body
 * goes with a Content-Length when finish or sendFile knows it, else
 * chunked (HTTP/1.1) or until the close. A res used after its finish
 * raises.
 * @classmod HttpResponse
 * @qt QHttpServerResponder (Qt 6)
 */

/*** The response's fields.
 * @table fields
 * @field statusCode the status (200 by default); may be set before the head is sent
 * @field headersSent whether the head has been sent
 * @field finished whether the response is complete
 * @field socket the connection's TcpSocket
 */
struct http_response {
  struct lnet_object obj;   /* first: its class */
  uint32_t exchange;
  struct http_exchange *ex;   /* valid while user value 1 (the socket) is held: always */
};

static const struct { int status; const char *reason; } reasons[] = {
  { 100, "Continue" }, { 101, "Switching Protocols" }, { 200, "OK" }, { 201, "Created" },
  { 202, "Accepted" }, { 204, "No Content" }, { 206, "Partial Content" },
  { 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
  { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" }, { 400, "Bad Request" },
  { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
  { 405, "Method Not Allowed" }, { 408, "Request Timeout" }, { 409, "Conflict" },
  { 411, "Length Required" }, { 412, "Precondition Failed" }, { 413, "Content Too Large" },
  { 414, "URI Too Long" }, { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
  { 417, "Expectation Failed" }, { 426, "Upgrade Required" }, { 428, "Precondition Required" },
  { 429, "Too Many Requests" },
  { 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
  { 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
  { 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

const char *http_reason(int status) {
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (reasons[i].status == status)
      return reasons[i].reason;
  return "Unknown";
}

/* net.http.REASONS: status -> reason phrase, for the client and scripts. */
void http_reasons_push(lua_State *L) {
  lua_createtable(L, 0, (int)(sizeof reasons / sizeof reasons[0]));
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
    lua_pushstring(L, reasons[i].reason);
    lua_rawseti(L, -2, reasons[i].status);
  }
}

/* ---- the response's life in its connection ---- */

void http_response_begin(struct http_exchange *ex) {
  struct http_server *sv = ex->server;
  ex->status = 200;
  ex->res_done = ex->head_sent = ex->chunked = ex->bodyless = ex->close_after = false;
  ex->has_length = ex->has_date = ex->has_connection = ex->has_te = false;
  ex->bytes = 0;
  http_response_free_headers(ex);
  if (!sv->head_buf_busy) {
    sv->head_buf.off = sv->head_buf.len = 0;
    sv->head_buf_busy = true;
    ex->headers = &sv->head_buf;
  }
}

void http_response_free_headers(struct http_exchange *ex) {
  if (!ex->headers)
    return;
  if (ex->headers == &ex->server->head_buf) {
    ex->server->head_buf_busy = false;
  } else {
    buffer_free(ex->headers);
    free(ex->headers);
  }
  ex->headers = NULL;
}

/* A buffer of the connection's own for the headers, keeping what the
 * shared one held; NULL when memory ran out. */
static struct buffer *own_headers(struct http_exchange *ex) {
  struct buffer *own = calloc(1, sizeof *own);
  if (!own)
    return NULL;
  if (ex->headers && ex->headers->len > 0 && !buffer_append(own, buffer_head(ex->headers), ex->headers->len)) {
    free(own);
    return NULL;
  }
  return own;
}

/* The handler's synchronous part is over: the server's buffer goes back,
 * with what a response still in progress had set copied out. */
void http_response_settle(struct http_exchange *ex) {
  if (ex->headers != &ex->server->head_buf)
    return;
  struct buffer *own = NULL;
  bool in_progress = !ex->res_done && !ex->head_sent && ex->ops->open(ex);
  if (in_progress && ex->headers->len > 0 && !(own = own_headers(ex))) {
    http_response_free_headers(ex);
    lua_State *L = ex->server->rt->L;   /* out of memory: this response cannot go on */
    int obj = tcp_socket_push(L, ex->sock);
    ex->ops->refuse(ex, L, obj, 503);
    lua_settop(L, obj - 1);
    return;
  }
  http_response_free_headers(ex);
  ex->headers = own;
}

/* The headers' buffer, made when the response has none yet. */
static struct buffer *headers_of(struct http_exchange *ex) {
  if (!ex->headers)
    ex->headers = own_headers(ex);
  return ex->headers;
}

/* ---- header lines ---- */

/* The line of header `name` in ex->headers: its start and length (with
 * CRLF); false when there is none. */
static bool find_line(const struct http_exchange *ex, const char *name, size_t name_len, size_t *at, size_t *len) {
  if (!ex->headers || ex->headers->len == 0)
    return false;
  const char *h = buffer_head(ex->headers);
  size_t n = ex->headers->len, i = 0;
  while (i < n) {
    const char *eol = memchr(h + i, '\n', n - i);
    size_t line_end = eol ? (size_t)(eol - h) + 1 : n;
    const char *colon = memchr(h + i, ':', line_end - i);
    if (colon && http_name_is(h + i, (size_t)(colon - (h + i)), name, name_len)) {
      *at = i;
      *len = line_end - i;
      return true;
    }
    i = line_end;
  }
  return false;
}

static void remove_line(struct http_exchange *ex, size_t at, size_t len) {
  char *h = ex->headers->data + ex->headers->off;
  memmove(h + at, h + at + len, ex->headers->len - at - len);
  ex->headers->len -= len;
}

/* What the framing must know of a header the handler set or removed. */
static void note_header(struct http_exchange *ex, const char *name, size_t n, const char *value, bool set) {
  switch (n) {   /* by length first: most names are none of these */
  case 4:
    if (http_name_is(name, n, "date", 4))
      ex->has_date = set;
    break;
  case 10:
    if (http_name_is(name, n, "connection", 10)) {
      ex->has_connection = set;
      if (set && value && strcasestr(value, "close"))
        ex->close_after = true;
    }
    break;
  case 14:
    if (http_name_is(name, n, "content-length", 14))
      ex->has_length = set;
    break;
  case 17:
    if (http_name_is(name, n, "transfer-encoding", 17))
      ex->has_te = set;
    break;
  }
}

static bool append(struct http_exchange *ex, const char *p, size_t n) {
  struct buffer *b = headers_of(ex);
  return b && buffer_append(b, p, n);
}

/* Decimal digits of v into buf (24 bytes), returning their count. */
static size_t format_u64(char *buf, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  return n;
}

static bool append_length(struct http_exchange *ex, uint64_t length) {
  char line[48] = "Content-Length: ";
  size_t n = 16 + format_u64(line + 16, length);
  line[n++] = '\r';
  line[n++] = '\n';
  return append(ex, line, n);
}

/* Decides the framing for a body of known_length bytes (-1: not known
 * yet), completes the header lines and writes the status line into line
 * (64 bytes). Returns its length, 0 when memory ran out. */
static size_t frame_head(struct http_exchange *ex, char *line, int64_t known_length) {
  struct http_server *sv = ex->server;
  int status = ex->status;
  ex->bodyless = ex->head_request || status == 204 || status == 304 || (status >= 100 && status < 200);
  bool ok = true;
  if (!ex->has_length && !ex->has_te) {
    if (ex->head_request && known_length >= 0) {
      ok = append_length(ex, (uint64_t)known_length);   /* what a GET would have had */
    } else if (!ex->bodyless) {
      if (known_length >= 0)
        ok = append_length(ex, (uint64_t)known_length);
      else if (ex->http11)
        ex->chunked = ok = append(ex, "Transfer-Encoding: chunked\r\n", 28);
      else
        ex->close_after = true;   /* HTTP/1.0: the body ends with the connection */
    }
  } else if (ex->has_te && !ex->bodyless) {
    ex->chunked = true;   /* the handler named the coding; we do the chunking */
  }
  if (ex->close_after || !ex->keep_alive || sv->closing) {
    ex->close_after = true;
    if (!ex->has_connection)
      ok = ok && append(ex, "Connection: close\r\n", 19);
  } else if (!ex->http11 && !ex->has_connection) {
    ok = ok && append(ex, "Connection: keep-alive\r\n", 24);
  }
  if (!ex->has_date) {
    http_server_date(sv);
    ok = ok && append(ex, sv->date, sv->date_len);
  }
  ok = ok && append(ex, "\r\n", 2);
  if (!ok)
    return 0;
  ex->head_sent = true;
  const char *reason = http_reason(status);
  size_t reason_len = strlen(reason);
  memcpy(line, "HTTP/1.1 ", 9);
  line[9] = (char)('0' + status / 100);
  line[10] = (char)('0' + status / 10 % 10);
  line[11] = (char)('0' + status % 10);
  line[12] = ' ';
  memcpy(line + 13, reason, reason_len);   /* the longest is 31 bytes */
  memcpy(line + 13 + reason_len, "\r\n", 2);
  return 15 + reason_len;
}

/* ---- the object ---- */

/* Only a tag: the metatable is http_register_object's. */
static const struct lnet_class http_response_class = { .id = LNET_ID_HTTPRESPONSE, .name = LNET_HTTPRESPONSE };

static struct http_response *response_check(lua_State *L) {
  return lnet_checkself(L, 1, &http_response_class);
}

/* The connection of a response still in progress; raises for one that
 * has finished. */
static struct http_exchange *live(lua_State *L, const char *what) {
  struct http_response *r = response_check(L);
  struct http_exchange *ex = r->ex;
  if (r->exchange != ex->number || ex->res_done)
    luaL_error(L, "HttpResponse:%s() after finish()", what);
  return ex;
}

static struct http_exchange *before_head(lua_State *L, const char *what) {
  struct http_exchange *ex = live(L, what);
  if (ex->head_sent)
    luaL_error(L, "HttpResponse:%s() after the head was sent", what);
  return ex;
}

void http_response_push(lua_State *L, struct http_exchange *ex, int sock_obj) {
  struct http_response *r = lua_newuserdatauv(L, sizeof *r, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ex->server->response_mt_ref);
  lua_setmetatable(L, -2);
  r->obj.class_id = LNET_ID_HTTPRESPONSE;
  r->ex = ex;
  r->exchange = ex->number;
  lua_pushvalue(L, sock_obj);
  lua_setiuservalue(L, -2, 1);
}

/* The scans below look at every byte with no early exit, which the
 * compiler turns into a few instructions a byte: every setHeader runs them. */
static bool is_token(const char *s, size_t n) {
  bool ok = true;
  for (size_t i = 0; i < n; i++)
    ok &= http_token_char((unsigned char)s[i]);
  return ok;
}

/* No header injection: no CR, LF, NUL or other CTL but HTAB. */
static bool is_field_value(const char *s, size_t n) {
  static const uint64_t ctl[2] = { 0xfffffdffu, 0x8000000000000000u };   /* 0-31 but 9, and 127 */
  uint64_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    bad |= ch < 128 ? ctl[ch >> 6] >> (ch & 63) : 0;
  }
  return !(bad & 1);
}

/* A string or number argument as it is (no __tostring lookup), anything
 * else through tostring(). */
static const char *to_text(lua_State *L, int idx, size_t *len) {
  int t = lua_type(L, idx);
  return t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tolstring(L, idx, len) : luaL_tolstring(L, idx, len);
}

/*** Sets a header, replacing one of that name (any case). A name that
 * is no token, or a value with a control character, raises.
 * @function setHeader
 * @tparam string name
 * @tparam string|number value
 * @qt QHttpServerResponder::writeHeader
 */
static int response_setHeader(lua_State *L) {
  struct http_exchange *ex = before_head(L, "setHeader");
  size_t n, vn;
  const char *name = luaL_checklstring(L, 2, &n);
  const char *value = to_text(L, 3, &vn);
  luaL_argcheck(L, n > 0, 2, "empty header name");
  luaL_argcheck(L, is_token(name, n), 2, "not a header name");
  luaL_argcheck(L, is_field_value(value, vn), 3, "control character in a header value");
  size_t at, len;
  if (find_line(ex, name, n, &at, &len))
    remove_line(ex, at, len);
  struct buffer *b = headers_of(ex);
  char *dst = b ? buffer_reserve(b, n + vn + 4) : NULL;
  if (!dst)
    return luaL_error(L, "not enough memory");
  memcpy(dst, name, n);
  memcpy(dst + n, ": ", 2);
  memcpy(dst + n + 2, value, vn);
  memcpy(dst + n + 2 + vn, "\r\n", 2);
  buffer_commit(b, n + vn + 4);
  note_header(ex, name, n, value, true);
  return 0;
}

/*** A header set so far.
 * @function getHeader
 * @tparam string name any case
 * @treturn string|nil
 */
static int response_getHeader(lua_State *L) {
  struct http_exchange *ex = live(L, "getHeader");
  size_t n, at, len;
  const char *name = luaL_checklstring(L, 2, &n);
  if (ex->head_sent || !find_line(ex, name, n, &at, &len)) {
    lua_pushnil(L);
    return 1;
  }
  const char *line = buffer_head(ex->headers) + at;
  const char *v = line + n + 1, *end = line + len - 2;
  while (v < end && *v == ' ')
    v++;
  lua_pushlstring(L, v, (size_t)(end - v));
  return 1;
}

/*** Removes a header set so far.
 * @function removeHeader
 * @tparam string name any case
 */
static int response_removeHeader(lua_State *L) {
  struct http_exchange *ex = before_head(L, "removeHeader");
  size_t n, at, len;
  const char *name = luaL_checklstring(L, 2, &n);
  if (find_line(ex, name, n, &at, &len)) {
    remove_line(ex, at, len);
    note_header(ex, name, n, NULL, false);
  }
  return 0;
}

static int check_status(lua_State *L, int idx) {
  lua_Integer status = luaL_checkinteger(L, idx);
  luaL_argcheck(L, status >= 100 && status <= 999, idx, "not an HTTP status");
  return (int)status;
}

/*** Sets the status and headers; the head leaves with the first body bytes.
 * @function writeHead
 * @tparam integer status 100 to 999
 * @tparam[opt] table headers { name = value }
 * @treturn HttpResponse res
 * @qt QHttpServerResponder::writeStatusLine
 */
static int response_writeHead(lua_State *L) {
  struct http_exchange *ex = before_head(L, "writeHead");
  ex->status = check_status(L, 2);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pushcfunction(L, response_setHeader);
      lua_pushvalue(L, 1);
      lua_pushvalue(L, -4);
      lua_pushvalue(L, -4);
      lua_call(L, 3, 0);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 1);
  return 1;
}

/* HTTP/1.x's ops->send: the head (when not sent yet) and `data` framed as
 * the response needs: a chunk, or plain bytes; `last` adds the chunked
 * end. On a closed connection nothing leaves (false). */
bool http1_send_body(struct http_exchange *ex, lua_State *L, int obj, const char *data, size_t len,
                     int64_t known_length, bool last) {
  char line[64], prefix[24];
  struct iovec iov[6];
  int n = 0;
  if (!ex->head_sent) {
    size_t line_len = frame_head(ex, line, known_length);
    if (line_len == 0) {
      luaL_error(L, "not enough memory");
      return false;
    }
    iov[n++] = (struct iovec){ line, line_len };
    iov[n++] = (struct iovec){ (void *)buffer_head(ex->headers), ex->headers->len };
  }
  if (ex->bodyless)
    len = 0;
  if (len > 0 && ex->chunked) {
    size_t k = 0;
    for (int shift = (int)(sizeof len * 8) - 4; shift >= 0; shift -= 4)
      if (k > 0 || (len >> shift & 15) != 0 || shift == 0)
        prefix[k++] = "0123456789abcdef"[len >> shift & 15];
    prefix[k++] = '\r';
    prefix[k++] = '\n';
    iov[n++] = (struct iovec){ prefix, k };
    iov[n++] = (struct iovec){ (void *)data, len };
    iov[n++] = (struct iovec){ "\r\n", 2 };
  } else if (len > 0) {
    iov[n++] = (struct iovec){ (void *)data, len };
  }
  if (last && ex->chunked && !ex->bodyless)
    iov[n++] = (struct iovec){ "0\r\n\r\n", 5 };
  ex->bytes += (int64_t)len;
  if (n == 0)
    return true;
  if (http_conn_of(ex)->phase == PHASE_CLOSED)
    return false;
  bool ok = tcp_socket_send(ex->sock, L, obj, iov, n);
  if (ex->head_sent && ex->headers != &ex->server->head_buf)
    http_response_free_headers(ex);   /* sent: an idle connection keeps no block */
  return ok;
}

/* Pushes res's user value, its socket: the socket's index, or 0 when the
 * value is no userdata (debug.setuservalue). A method pushes it once, for
 * the send and the finish, and leaves it below its return value. */
static int push_socket(lua_State *L) {
  return lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA ? lua_gettop(L) : 0;
}

/* The response's head and body, as its connection frames them; obj:
 * push_socket's. */
static bool send_body(lua_State *L, struct http_exchange *ex, int obj, const char *data, size_t len,
                      int64_t known_length, bool last) {
  return obj && ex->ops->send(ex, L, obj, data, len, known_length, last);
}

/* The response is complete: the connection goes on. obj: push_socket's
 * (0: the value pushed, as it was before). */
static void response_done(lua_State *L, struct http_exchange *ex, int obj) {
  ex->ops->finished(ex, L, obj ? obj : lua_gettop(L));
}

/*** Sends body bytes (the head first, when not sent): true, or false when the connection is gone. Without a
 * Content-Length the body goes chunked (HTTP/1.1) or to the close.
 * Back-pressure (lua/luanet/http/server.lua wraps this): past 1 MiB
 * queued, a handler waits until the peer has taken the queue below 256
 * KiB, so a response streamed to a slow client holds bounded memory.
 * @function write
 * @tparam string data
 * @treturn boolean
 * @qt QHttpServerResponder::write
 */
static int response_write(lua_State *L) {
  struct http_exchange *ex = live(L, "write");
  size_t len;
  const char *data = to_text(L, 2, &len);
  lua_pushboolean(L, send_body(L, ex, push_socket(L), data, len, -1, false));
  return 1;
}

/*** The end of the response, with its last data; true, or false when the
 * connection was gone.
 * @function finish
 * @tparam[opt] string data
 * @treturn boolean
 * @qt QHttpServerResponder::write
 */
/* res:_upgrade(): the connection leaves HTTP for another protocol (the
 * WebSocket handshake of lua/luanet/ws/): nothing of the response has
 * been sent and the request has all come. Returns the socket, whose
 * reader is then the new protocol's to install. */
static int response_upgrade(lua_State *L) {
  struct http_exchange *ex = before_head(L, "upgrade");
  if (!ex->ops->upgrade || !ex->ops->upgrade(ex))
    return luaL_error(L, "HttpResponse:upgrade(): the request is not complete");
  lua_getiuservalue(L, 1, 1);
  return 1;
}

static int response_finish(lua_State *L) {
  struct http_exchange *ex = live(L, "finish");
  size_t len = 0;
  const char *data = lua_isnoneornil(L, 2) ? "" : to_text(L, 2, &len);
  int obj = push_socket(L);
  bool ok = send_body(L, ex, obj, data, len, (int64_t)len, true);
  response_done(L, ex, obj);
  lua_pushboolean(L, ok);
  return 1;
}

/*** The body from a file through
 * sendfile(2), never read into Lua. nil and the error when the file
 * cannot be opened (nothing was sent: the handler can answer otherwise).
 * It finishes the response.
 * @function sendFile
 * @tparam string path
 * @tparam[opt=0] integer offset
 * @tparam[opt] integer length to the end of the file by default
 * @treturn boolean true, false when the connection failed, or nil and the error
 */
static int response_sendFile(lua_State *L) {
  struct http_exchange *ex = before_head(L, "sendFile");
  const char *path = luaL_checkstring(L, 2);
  lua_Integer offset = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, offset >= 0, 3, "offset must not be negative");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    return 2;
  }
  lua_Integer length = luaL_optinteger(L, 4, (lua_Integer)st.st_size - offset);
  if (length < 0)
    length = 0;
  lua_settop(L, 1);
  int obj = push_socket(L);
  bool ok = send_body(L, ex, obj, "", 0, (int64_t)length, false);
  if (ok && !ex->bodyless && length > 0) {
    ok = ex->ops->send_file(ex, L, obj, fd, (off_t)offset, (size_t)length);
    ex->bytes = length;
    if (!ok)
      ex->close_after = true;   /* the head promised bytes that cannot come */
  } else {
    close(fd);
  }
  response_done(L, ex, obj);
  lua_pushboolean(L, ok);
  return 1;
}

/* res.statusCode, res.headersSent, res.finished; methods first. */
static int response_index(lua_State *L) {
  lua_pushvalue(L, 2);   /* a method: the common case, checked first and cheaply */
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  struct http_response *r = response_check(L);
  const char *key = lua_tostring(L, 2);
  struct http_exchange *ex = r->ex;
  bool current = r->exchange == ex->number;
  if (key && strcmp(key, "statusCode") == 0)
    lua_pushinteger(L, current ? ex->status : 0);
  else if (key && strcmp(key, "headersSent") == 0)
    lua_pushboolean(L, !current || ex->head_sent);
  else if (key && strcmp(key, "finished") == 0)
    lua_pushboolean(L, !current || ex->res_done);
  else if (key && strcmp(key, "socket") == 0)
    lua_getiuservalue(L, 1, 1);
  else
    lua_pushnil(L);
  return 1;
}

static int response_newindex(lua_State *L) {
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "statusCode") != 0)
    return luaL_error(L, "HttpResponse has no field '%s' to set", key);
  struct http_exchange *ex = before_head(L, "statusCode");
  ex->status = check_status(L, 3);
  return 0;
}

int luaopen_luanet_http_response(lua_State *L) {
  static const luaL_Reg methods[] = {
    { "setHeader", response_setHeader },
    { "getHeader", response_getHeader },
    { "removeHeader", response_removeHeader },
    { "writeHead", response_writeHead },
    { "write", response_write },
    { "finish", response_finish },
    { "_upgrade", response_upgrade },
    { "sendFile", response_sendFile },
    { NULL, NULL },
  };
  http_register_object(L, LNET_HTTPRESPONSE, methods, response_index, response_newindex);
  return 1;
}
