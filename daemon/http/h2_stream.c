/* One HTTP/2 stream of net.HttpServer as an exchange: req and res are the
 * objects HTTP/1.x makes, so a handler cannot tell the two apart.
 *
 * The request: its pseudo-headers and fields are written as an HTTP/1.1
 * head ("GET /path HTTP/2.0", a Host line from :authority, "name: value"
 * lines) and go through the same index and checks as HTTP/1.x's
 * (http_head_scan), into the same req object; req.version is "2".
 *
 * The response: the header lines the handler set (res:setHeader keeps
 * them as "Name: value" text) become HEADERS, names in lower case and
 * HTTP/1.1's connection-specific fields left out (RFC 9113 8.2.2); the
 * body goes through the stream's buffer to nghttp2's data source, which
 * the peer's flow-control window paces: a slow reader's streams wait, the
 * connection's others go on. A sendFile body leaves as DATA frames whose
 * bytes go from the file to the socket (NGHTTP2_DATA_FLAG_NO_COPY). */
#include "h2_private.h"
#include "runtime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct h2_stream *stream_of_exchange(struct http_exchange *ex) {
  return (struct h2_stream *)((char *)ex - offsetof(struct h2_stream, ex));
}

/* ---- the request ---- */

/* llhttp's number for a method name (its HTTP_METHOD_MAP), or -1. Made
 * from the map itself: llhttp_method_name aborts on a number not in it. */
static int method_id(const char *name, size_t n) {
  static const struct {
    const char *name;
    int id;
  } methods[] = {
#define METHOD(num, name, text) { #text, num },
    HTTP_METHOD_MAP(METHOD)
#undef METHOD
  };
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
    if (strlen(methods[i].name) == n && memcmp(methods[i].name, name, n) == 0)
      return methods[i].id;
  return -1;
}

static void answer_error(struct h2_stream *st, lua_State *L, int obj, int status);

/* The request's content-length, or -1 (nghttp2 has checked that it is a
 * number and that DATA will match it). */
static int64_t declared_length(const struct http_head *h, const struct buffer *head, const struct http_field *f) {
  const char *text = buffer_head(head);
  for (int i = 0; i < h->nfields && i < HTTP_FIELDS_ON_STACK; i++) {
    if (http_name_is(text + f[i].name, f[i].name_len, "content-length", 14)) {
      int64_t n = 0;
      for (uint32_t k = 0; k < f[i].value_len && n < INT64_MAX / 10; k++)
        n = n * 10 + (text[f[i].value + k] - '0');
      return n;
    }
  }
  return -1;
}

/* The head, as HTTP/1.1 writes it, into `head`. */
static bool write_head(struct h2_stream *st, struct buffer *head) {
  const char *pseudo = buffer_head(&st->pseudo);
  bool ok = buffer_append(head, pseudo + st->method_at, st->method_len) && buffer_append(head, " ", 1) &&
            buffer_append(head, pseudo + st->path_at, st->path_len) && buffer_append(head, " HTTP/2.0\r\n", 11);
  if (ok && st->authority_len > 0 && !st->has_host)
    ok = buffer_append(head, "host: ", 6) && buffer_append(head, pseudo + st->authority_at, st->authority_len) &&
         buffer_append(head, "\r\n", 2);
  if (ok && st->fields.len > 0)
    ok = buffer_append(head, buffer_head(&st->fields), st->fields.len);
  return ok && buffer_append(head, "\r\n", 2);
}

bool h2_stream_request(struct h2_stream *st, lua_State *L, int obj) {
  struct http_server *sv = st->ex.server;
  if (st->fields.len > sv->max_header) {
    answer_error(st, L, obj, 431);
    return false;
  }
  if (st->method_len == 0 || st->path_len == 0) {   /* CONNECT's form: we serve none */
    answer_error(st, L, obj, st->method_len ? 501 : 400);
    return false;
  }
  int method = method_id(buffer_head(&st->pseudo) + st->method_at, st->method_len);
  if (method < 0 || !((sv->methods >> method) & 1)) {
    answer_error(st, L, obj, 501);
    return false;
  }
  struct buffer head = { 0 };
  struct http_head h;
  struct http_field fields[HTTP_FIELDS_ON_STACK];
  if (!write_head(st, &head)) {
    buffer_free(&head);
    answer_error(st, L, obj, 503);
    return false;
  }
  if (http_head_scan(buffer_head(&head), head.len, fields, HTTP_FIELDS_ON_STACK, &h) < 0) {
    buffer_free(&head);
    answer_error(st, L, obj, h.error);
    return false;
  }
  struct http_exchange *ex = &st->ex;
  ex->head_request = method == HTTP_HEAD;
  ex->http11 = true;
  ex->keep_alive = true;
  ex->body_done = st->ended;
  if (h.expect == EXPECT_OTHER) {
    buffer_free(&head);
    answer_error(st, L, obj, 417);
    return false;
  }
  int64_t length = declared_length(&h, &head, fields);
  if (!ex->streaming && length > (int64_t)sv->max_body) {   /* as HTTP/1.1: refused before the body comes */
    buffer_free(&head);
    answer_error(st, L, obj, 413);
    return false;
  }
  http_request_push(L, ex, buffer_head(&head), head.len, &h, fields, obj, method, 2, 0);
  buffer_free(&head);
  buffer_free(&st->fields);
  buffer_free(&st->pseudo);
  return true;
}

/* ---- the response ---- */

/* Fields of HTTP/1.1's connection that HTTP/2 must not carry. */
static bool connection_specific(const char *name, size_t n) {
  static const char *const names[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                       "upgrade" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (http_name_is(name, n, names[i], strlen(names[i])))
      return true;
  return false;
}

/* The most fields a head carries besides the handler's: :status,
 * content-length, date. */
#define EXTRA_FIELDS 3
/* A response head of up to this many fields and bytes is made on the
 * stack: no allocation per response. */
#define HEAD_FIELDS_ON_STACK 24
#define HEAD_BYTES_ON_STACK 1024

/* Submits the response's HEADERS, from the handler's header lines, with
 * the body to come from the stream's data source (or none). */
static bool submit_head(struct h2_stream *st, int64_t known_length, bool no_body) {
  struct http_exchange *ex = &st->ex;
  struct http_server *sv = ex->server;
  size_t nlines = 0;
  const char *h = ex->headers ? buffer_head(ex->headers) : "";
  size_t hlen = ex->headers ? ex->headers->len : 0;
  for (size_t i = 0; i < hlen; i++)
    nlines += h[i] == '\n';
  /* The usual few fields fit on the stack; more take the heap. */
  nghttp2_nv nv_stack[HEAD_FIELDS_ON_STACK];
  char names_stack[HEAD_BYTES_ON_STACK];
  bool small = nlines + EXTRA_FIELDS <= HEAD_FIELDS_ON_STACK && hlen + 1 <= HEAD_BYTES_ON_STACK;
  nghttp2_nv *nv = small ? nv_stack : malloc((nlines + EXTRA_FIELDS) * sizeof *nv);
  char *names = small ? names_stack : malloc(hlen + 1);   /* the names in lower case */
  if (!nv || !names) {
    if (!small) {
      free(nv);
      free(names);
    }
    return false;
  }
  char status[4] = { (char)('0' + ex->status / 100), (char)('0' + ex->status / 10 % 10),
                     (char)('0' + ex->status % 10), 0 };
  size_t n = 0;
  nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE };
  for (size_t i = 0; i < hlen;) {
    const char *eol = memchr(h + i, '\n', hlen - i);
    size_t end = eol ? (size_t)(eol - h) : hlen;
    const char *colon = memchr(h + i, ':', end - i);
    if (colon) {
      size_t name_len = (size_t)(colon - (h + i));
      const char *v = colon + 1;
      while (v < h + end && *v == ' ')
        v++;
      size_t v_len = (size_t)(h + end - v);
      if (v_len > 0 && v[v_len - 1] == '\r')
        v_len--;
      if (!connection_specific(h + i, name_len)) {
        for (size_t k = 0; k < name_len; k++)
          names[i + k] = (char)tolower((unsigned char)h[i + k]);
        nv[n++] = (nghttp2_nv){ (uint8_t *)names + i, (uint8_t *)v, name_len, v_len, NGHTTP2_NV_FLAG_NONE };
      }
    }
    i = end + 1;
  }
  char length[24];
  if (known_length >= 0 && !ex->has_length && !(ex->bodyless && !ex->head_request)) {
    int k = snprintf(length, sizeof length, "%lld", (long long)known_length);
    nv[n++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)length, 14, (size_t)k, NGHTTP2_NV_FLAG_NONE };
  }
  if (!ex->has_date) {
    http_server_date(sv);   /* "Date: ...\r\n" */
    nv[n++] = (nghttp2_nv){ (uint8_t *)"date", (uint8_t *)sv->date + 6, 4, sv->date_len - 8, NGHTTP2_NV_FLAG_NONE };
  }
  nghttp2_data_provider body = { .source.ptr = st, .read_callback = h2_stream_read };
  int rv = nghttp2_submit_response(h2_session_ng(st->h), st->id, nv, n, no_body ? NULL : &body);
  if (!small) {
    free(nv);
    free(names);
  }
  if (rv != 0)
    return false;
  st->submitted = true;
  ex->head_sent = true;
  return true;
}

ssize_t h2_stream_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                       nghttp2_data_source *source, void *ud) {
  (void)ng, (void)id, (void)ud;
  struct h2_stream *st = source->ptr;
  if (st->out.len > 0) {
    size_t n = st->out.len < length ? st->out.len : length;
    st->stalled_since = 0;
    memcpy(buf, buffer_head(&st->out), n);
    buffer_consume(&st->out, n);
    if (st->out.len == 0 && st->out_end && st->file_left == 0)
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
  }
  if (st->file_left > 0) {
    size_t n = st->file_left < length ? st->file_left : length;
    st->stalled_since = 0;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == st->file_left)
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
  }
  if (st->out_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  st->deferred = true;   /* res:write() resumes it */
  return NGHTTP2_ERR_DEFERRED;
}

static void more_data(struct h2_stream *st) {
  if (st->deferred) {
    st->deferred = false;
    nghttp2_session_resume_data(h2_session_ng(st->h), st->id);
  }
}

/* A response of the server's own: "404 Not Found\n", text/plain. */
static void answer_error(struct h2_stream *st, lua_State *L, int obj, int status) {
  struct http_exchange *ex = &st->ex;
  if (st->closed || ex->head_sent) {
    if (!st->closed)
      nghttp2_submit_rst_stream(h2_session_ng(st->h), NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  } else {
    http_response_free_headers(ex);
    ex->status = status;
    ex->has_length = ex->has_date = false;
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
    bool ok = (ex->headers = calloc(1, sizeof *ex->headers)) != NULL &&
              buffer_append(ex->headers, "Content-Type: text/plain\r\n", 26) &&
              buffer_append(&st->out, body, (size_t)n);
    st->out_end = true;
    if (!ok || !submit_head(st, n, ex->head_request))
      nghttp2_submit_rst_stream(h2_session_ng(st->h), NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
  }
  ex->res_done = true;
  st->dispatched = true;
  h2_session_flush(st->h, L, obj);
}

/* ---- the exchange's ops ---- */

static bool stream_open(const struct http_exchange *ex) {
  const struct h2_stream *st = stream_of_exchange((struct http_exchange *)ex);
  return !st->closed && !ex->res_done;
}

static bool stream_send(struct http_exchange *ex, lua_State *L, int obj, const char *data, size_t len,
                        int64_t known_length, bool last) {
  struct h2_stream *st = stream_of_exchange(ex);
  if (!ex->head_sent) {
    int status = ex->status;
    ex->bodyless = ex->head_request || status == 204 || status == 304 || (status >= 100 && status < 200);
    if (!st->closed && !submit_head(st, known_length, ex->bodyless || (last && len == 0))) {
      luaL_error(L, "not enough memory");
      return false;
    }
    ex->head_sent = true;
  }
  if (ex->bodyless)
    len = 0;
  ex->bytes += (int64_t)len;
  if (st->closed)
    return false;
  if (len > 0 && !buffer_append(&st->out, data, len)) {
    luaL_error(L, "not enough memory");
    return false;
  }
  if (last)
    st->out_end = true;
  more_data(st);
  h2_session_flush(st->h, L, obj);
  return true;
}

static bool stream_send_file(struct http_exchange *ex, lua_State *L, int obj, int fd, off_t offset, size_t length) {
  struct h2_stream *st = stream_of_exchange(ex);
  if (st->closed) {
    close(fd);
    return false;
  }
  st->file_fd = fd;
  st->file_off = offset;
  st->file_left = length;
  st->out_end = true;
  more_data(st);
  h2_session_flush(st->h, L, obj);
  return true;
}

static void stream_finished(struct http_exchange *ex, lua_State *L, int obj) {
  struct h2_stream *st = stream_of_exchange(ex);
  ex->res_done = true;
  if (ex->req_ref != LUA_NOREF) {
    http_request_log(L, ex);
    lnet_unanchor(L, &ex->req_ref);
  }
  if (!st->closed) {
    st->out_end = true;
    more_data(st);
    h2_session_flush(st->h, L, obj);
  }
}

static void stream_refuse(struct http_exchange *ex, lua_State *L, int obj, int status) {
  answer_error(stream_of_exchange(ex), L, obj, status);
}

static int stream_read_body(struct http_exchange *ex, lua_State *L, uint32_t number) {
  struct h2_stream *st = stream_of_exchange(ex);
  if (ex->number != number || !ex->streaming)
    return luaL_error(L, "HttpRequest:read(): not a streamed request, or one that is over");
  if (ex->body && ex->body->len > 0) {
    size_t n = ex->body->len;
    lua_pushlstring(L, buffer_head(ex->body), n);
    buffer_consume(ex->body, n);
    if (!st->closed) {   /* the client may send as much again */
      nghttp2_session_consume(h2_session_ng(st->h), st->id, n);
      int obj = tcp_socket_push(L, ex->sock);
      h2_session_flush(st->h, L, obj);
      lua_pop(L, 1);
    }
    return 1;
  }
  if (st->ended) {
    lua_pushnil(L);
    return 1;
  }
  if (st->closed) {
    lua_pushnil(L);
    lua_pushliteral(L, "stream closed");
    return 2;
  }
  lua_pushboolean(L, 0);
  return 1;
}

const struct http_exchange_ops h2_stream_ops = {
  .open = stream_open,
  .send = stream_send,
  .send_file = stream_send_file,
  .finished = stream_finished,
  .refuse = stream_refuse,
  .upgrade = NULL,
  .read_body = stream_read_body,
};
