/* net.HttpParser: HTTP/1.x requests or responses, parsed incrementally on
 * llhttp. The parser pulls: `p:execute(data, from)` runs llhttp over
 * data[from..] and stops at the first thing the caller must act on:
 *
 *   "headers", next   the head of a message is complete (method, target,
 *                     headers are readable); parsing resumes at `next`
 *   "message", next   the whole message is complete (its body is in
 *                     takeBody()); a pipelined next message starts at `next`
 *   "more", next      all of data was used: feed more
 *   "error", next, status, reason   malformed: status is what a server
 *                     answers (400, 431), and the connection goes
 *
 * llhttp pauses itself at those points (its callbacks return HPE_PAUSED),
 * so pipelined requests are handed out one at a time. What llhttp lets
 * through, we check: whitespace in a header name ("Host : a"), a second
 * Content-Length, Content-Length with Transfer-Encoding, and a request of
 * HTTP/1.1 without Host. The head (target, header names and values) is
 * kept in one buffer and indexed, so a message costs no allocation once
 * the buffers have grown to its size. */
#include "buffer.h"
#include "http_parser.h"
#include "http_private.h"
#include "object.h"

#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*** net.HttpParser: an incremental HTTP/1.x parser of requests or
 * responses (llhttp), for protocols built on TcpSocket; net.http's client
 * uses it. execute parses what came and stops where the caller must act;
 * header names are lower-case. Malformed input is a value ("error"),
 * never an error raised.
 * @classmod HttpParser
 * @qt none (Qt 5 parses HTTP inside QNetworkAccessManager)
 * @usage local p = net.HttpParser("response")
 * local what, next = p:execute(sock:readAll())
 * if what == "headers" then print(p:status(), p:headers()["content-type"]) end
 */
static const struct lnet_class http_parser_class;

#define DEFAULT_MAX_HEAD (16 * 1024)

struct field {
  uint32_t name, name_len, value, value_len;   /* offsets into head */
};

enum pause_reason { PAUSE_NONE, PAUSE_HEADERS, PAUSE_MESSAGE };

struct http_parser {
  struct lnet_object obj;   /* first: its class */
  llhttp_t p;
  struct buffer head;        /* target or reason, then names and values */
  uint32_t target, target_len;
  struct field *fields;
  int nfields, cap;
  bool in_value;             /* the last piece appended was a value */
  int content_lengths;       /* Content-Length fields seen */
  int64_t announced;         /* its Content-Length, or -1 */
  struct buffer body;
  size_t max_head;
  enum pause_reason paused;
  bool skip_body;            /* a response to HEAD */
  int error_status;          /* our own checks' answer: 400, 431 */
  const char *error_reason;
};

static struct http_parser *parser_of(llhttp_t *p) {
  return (struct http_parser *)((char *)p - offsetof(struct http_parser, p));
}

/* Our own refusal: llhttp stops with HPE_USER and we keep the reason. */
static int refuse(struct http_parser *hp, int status, const char *reason) {
  hp->error_status = status;
  hp->error_reason = reason;
  return HPE_USER;
}

static int append_head(struct http_parser *hp, const char *at, size_t len) {
  if (hp->head.len + len > hp->max_head)
    return refuse(hp, 431, "Request Header Fields Too Large");
  if (!buffer_append(&hp->head, at, len))
    return refuse(hp, 503, "out of memory");
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  struct http_parser *hp = parser_of(p);
  hp->head.off = hp->head.len = 0;
  hp->target = hp->target_len = 0;
  hp->nfields = 0;
  hp->in_value = false;
  hp->content_lengths = 0;
  hp->announced = -1;
  hp->body.off = hp->body.len = 0;
  return 0;
}

static int on_target(llhttp_t *p, const char *at, size_t len) {
  struct http_parser *hp = parser_of(p);
  hp->target_len += (uint32_t)len;
  return append_head(hp, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct http_parser *hp = parser_of(p);
  if (hp->nfields == 0 || hp->in_value) {   /* a new field */
    if (hp->nfields == hp->cap) {
      int cap = hp->cap ? hp->cap * 2 : 16;
      struct field *f = realloc(hp->fields, (size_t)cap * sizeof *f);
      if (!f)
        return refuse(hp, 503, "out of memory");
      hp->fields = f;
      hp->cap = cap;
    }
    hp->fields[hp->nfields++] = (struct field){ (uint32_t)hp->head.len, 0, 0, 0 };
    hp->in_value = false;
  }
  if (memchr(at, ' ', len) || memchr(at, '\t', len))
    return refuse(hp, 400, "whitespace in a header name");
  hp->fields[hp->nfields - 1].name_len += (uint32_t)len;
  return append_head(hp, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct http_parser *hp = parser_of(p);
  struct field *f = &hp->fields[hp->nfields - 1];
  if (!hp->in_value) {
    f->value = (uint32_t)hp->head.len;
    hp->in_value = true;
  }
  f->value_len += (uint32_t)len;
  return append_head(hp, at, len);
}

static bool field_is(const struct http_parser *hp, const struct field *f, const char *name) {
  size_t n = strlen(name);
  return f->name_len == n && strncasecmp(hp->head.data + f->name, name, n) == 0;
}

static int on_header_value_complete(llhttp_t *p) {
  struct http_parser *hp = parser_of(p);
  if (hp->nfields > 0 && field_is(hp, &hp->fields[hp->nfields - 1], "content-length") &&
      ++hp->content_lengths > 1)
    return refuse(hp, 400, "more than one Content-Length");
  return 0;
}

static const struct field *find_field(const struct http_parser *hp, const char *name) {
  for (int i = 0; i < hp->nfields; i++)
    if (field_is(hp, &hp->fields[i], name))
      return &hp->fields[i];
  return NULL;
}

static int on_headers_complete(llhttp_t *p) {
  struct http_parser *hp = parser_of(p);
  if ((p->flags & F_CONTENT_LENGTH) && (p->flags & F_TRANSFER_ENCODING))
    return refuse(hp, 400, "Content-Length with Transfer-Encoding");
  if (p->type == HTTP_REQUEST && p->http_major == 1 && p->http_minor == 1 && !find_field(hp, "host"))
    return refuse(hp, 400, "no Host header");
  hp->announced = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
  hp->paused = PAUSE_HEADERS;
  /* A response to HEAD: its Content-Length announces no body. llhttp takes
   * 1 as "no body" and cannot pause here too: the caller gets "message"
   * at once, with the head readable. */
  return hp->skip_body ? 1 : HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct http_parser *hp = parser_of(p);
  if (!buffer_append(&hp->body, at, len))
    return refuse(hp, 503, "out of memory");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  parser_of(p)->paused = PAUSE_MESSAGE;
  return HPE_PAUSED;
}

static const llhttp_settings_t *settings(void) {
  static llhttp_settings_t s;
  static bool ready;
  if (!ready) {
    llhttp_settings_init(&s);
    s.on_message_begin = on_message_begin;
    s.on_url = on_target;
    s.on_status = on_target;
    s.on_header_field = on_header_field;
    s.on_header_value = on_header_value;
    s.on_header_value_complete = on_header_value_complete;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    ready = true;
  }
  return &s;
}

static struct http_parser *http_parser_check(lua_State *L) {
  return lnet_checkself(L, 1, &http_parser_class);
}

/*** Parses data from byte `from` on, up to the first thing to act on.
 * @function execute
 * @tparam string data
 * @tparam[opt=1] integer from
 * @treturn string what: "headers" (the head is complete: method, target, headers are readable), "message" (the whole message is; takeBody has its body), "more" (all of data was used: feed more) or "error" (malformed: the connection must go)
 * @treturn integer next where to resume (a pipelined message starts there)
 * @treturn[opt] integer status with "error": what a server answers (400, 431...)
 * @treturn[opt] string reason with "error"
 */
static int http_parser_execute(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer from = luaL_optinteger(L, 3, 1);
  luaL_argcheck(L, from >= 1 && (size_t)from <= len + 1, 3, "out of range");
  const char *start = data + from - 1;
  size_t n = len - (size_t)(from - 1);
  hp->paused = PAUSE_NONE;
  hp->error_status = 0;
  llhttp_errno_t err = llhttp_execute(&hp->p, start, n);
  if (err == HPE_OK) {
    lua_pushliteral(L, "more");
    lua_pushinteger(L, (lua_Integer)len + 1);
    return 2;
  }
  if (err == HPE_PAUSED) {
    size_t used = (size_t)(llhttp_get_error_pos(&hp->p) - start);
    llhttp_resume(&hp->p);
    lua_pushstring(L, hp->paused == PAUSE_MESSAGE ? "message" : "headers");
    lua_pushinteger(L, from + (lua_Integer)used);
    return 2;
  }
  size_t used = llhttp_get_error_pos(&hp->p) ? (size_t)(llhttp_get_error_pos(&hp->p) - start) : 0;
  lua_pushliteral(L, "error");
  lua_pushinteger(L, from + (lua_Integer)used);
  if (hp->error_status) {   /* our own check (llhttp may call it a callback error) */
    lua_pushinteger(L, hp->error_status);
    lua_pushstring(L, hp->error_reason);
  } else {
    lua_pushinteger(L, 400);
    lua_pushstring(L, llhttp_get_error_reason(&hp->p));
  }
  return 4;
}

/*** Tells the parser the peer closed; true when that ended a message (a response
 * whose body runs to the end of the connection).
 * @function finish
 * @treturn boolean
 */
static int http_parser_finish(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  hp->paused = PAUSE_NONE;
  llhttp_errno_t err = llhttp_finish(&hp->p);
  lua_pushboolean(L, (err == HPE_OK || err == HPE_PAUSED) && hp->paused == PAUSE_MESSAGE);
  return 1;
}

/*** A request's method ("GET").
 * @function method
 * @treturn string
 */
static int http_parser_method(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  lua_pushstring(L, llhttp_method_name((llhttp_method_t)hp->p.method));
  return 1;
}

/*** A request's target ("/index.html?q=1"); reason() for a response.
 * @function target
 * @treturn string
 */
/*** A response's reason phrase ("OK"): the same span as target.
 * @function reason
 * @treturn string
 */
static int http_parser_target(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  lua_pushlstring(L, hp->head.data ? hp->head.data + hp->target : "", hp->target_len);
  return 1;
}

/*** The message's HTTP version.
 * @function version
 * @treturn integer major
 * @treturn integer minor
 */
static int http_parser_version(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  lua_pushinteger(L, hp->p.http_major);
  lua_pushinteger(L, hp->p.http_minor);
  return 2;
}

/*** A response's status code.
 * @function status
 * @treturn integer
 */
static int http_parser_status(lua_State *L) {
  lua_pushinteger(L, http_parser_check(L)->p.status_code);
  return 1;
}

/*** The head's fields: { lower-case name = value }, repeated names joined by ", "
 * (as Node does), and the count of fields.
 * @function headers
 * @treturn table
 * @treturn integer the count of fields
 */
void http_headers_add(lua_State *L, const char *name, size_t name_len, const char *value, size_t value_len) {
  char lower[256];
  size_t n = name_len < sizeof lower ? name_len : sizeof lower - 1;
  for (size_t k = 0; k < n; k++)
    lower[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
  lua_pushlstring(L, lower, n);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) {
    lua_pushliteral(L, ", ");
    lua_pushlstring(L, value, value_len);
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushlstring(L, value, value_len);
  }
  lua_rawset(L, -3);
}

static int http_parser_headers(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  lua_createtable(L, 0, hp->nfields);
  const char *head = hp->head.data ? hp->head.data : "";   /* fields may all be empty: no buffer then */
  for (int i = 0; i < hp->nfields; i++) {
    const struct field *f = &hp->fields[i];
    /* A value ends at its last non-blank byte (llhttp keeps trailing OWS). */
    size_t vlen = f->value_len;
    const char *v = head + f->value;
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
      vlen--;
    http_headers_add(L, head + f->name, f->name_len, v, vlen);
  }
  lua_pushinteger(L, hp->nfields);
  return 2;
}

/*** Whether the connection may carry another message after this one.
 * @function keepAlive
 * @treturn boolean
 */
static int http_parser_keepAlive(lua_State *L) {
  lua_pushboolean(L, llhttp_should_keep_alive(&http_parser_check(L)->p));
  return 1;
}

/*** The announced Content-Length.
 * @function contentLength
 * @treturn integer|nil nil when none was announced, or the body is chunked
 */
static int http_parser_contentLength(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  if (hp->announced >= 0)
    lua_pushinteger(L, (lua_Integer)hp->announced);
  else
    lua_pushnil(L);
  return 1;
}

/*** Whether the body is chunked.
 * @function chunked
 * @treturn boolean
 */
static int http_parser_chunked(lua_State *L) {
  lua_pushboolean(L, (http_parser_check(L)->p.flags & F_CHUNKED) != 0);
  return 1;
}

/*** How many body bytes wait for takeBody.
 * @function bodySize
 * @treturn integer
 */
static int http_parser_bodySize(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)http_parser_check(L)->body.len);
  return 1;
}

/*** The body bytes parsed since the last take.
 * @function takeBody
 * @treturn string
 */
static int http_parser_takeBody(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  lua_pushlstring(L, hp->body.data ? buffer_head(&hp->body) : "", hp->body.len);
  hp->body.off = hp->body.len = 0;
  return 1;
}

/*** skipBody(true): the next response answers a HEAD (it has no body).
 * @function skipBody
 * @tparam boolean skip
 */
static int http_parser_skipBody(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  hp->skip_body = lua_toboolean(L, 2);
  return 0;
}

static int http_parser_gc(lua_State *L) {
  struct http_parser *hp = http_parser_check(L);
  buffer_free(&hp->head);
  buffer_free(&hp->body);
  free(hp->fields);
  hp->fields = NULL;
  hp->nfields = hp->cap = 0;
  return 0;
}

/*** A new parser of requests or of responses.
 * @function net.HttpParser
 * @tparam string kind "request" or "response"
 * @tparam[opt=16384] integer maxHead the bytes a head may have (past it: "error", 431)
 * @treturn HttpParser
 */
static int http_parser_new(lua_State *L) {
  static const char *const kinds[] = { "request", "response", NULL };
  int kind = luaL_checkoption(L, 1, NULL, kinds);
  lua_Integer max_head = luaL_optinteger(L, 2, DEFAULT_MAX_HEAD);
  luaL_argcheck(L, max_head > 0 && max_head <= 1 << 24, 2, "out of range");
  struct http_parser *hp = lnet_newobject(L, sizeof *hp, &http_parser_class, 0);
  llhttp_init(&hp->p, kind == 0 ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  hp->max_head = (size_t)max_head;
  return 1;
}

static const luaL_Reg http_parser_methods[] = {
  { "execute", http_parser_execute },
  { "finish", http_parser_finish },
  { "method", http_parser_method },
  { "target", http_parser_target },
  { "reason", http_parser_target },
  { "version", http_parser_version },
  { "status", http_parser_status },
  { "headers", http_parser_headers },
  { "keepAlive", http_parser_keepAlive },
  { "contentLength", http_parser_contentLength },
  { "chunked", http_parser_chunked },
  { "bodySize", http_parser_bodySize },
  { "takeBody", http_parser_takeBody },
  { "skipBody", http_parser_skipBody },
  { NULL, NULL },
};

static const struct lnet_class http_parser_class = {
  .id = LNET_ID_HTTPPARSER, .name = LNET_HTTPPARSER, .methods = http_parser_methods, .gc = http_parser_gc, .construct = http_parser_new,
};

int luaopen_luanet_http_parser(lua_State *L) {
  lnet_class_register(L, &http_parser_class);
  return 1;
}
