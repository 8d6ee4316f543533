/* The HTTP/2 client's connection: an nghttp2 client session over a
 * TcpSocket whose TLS handshake chose "h2" by ALPN, as a WebSocket is its
 * frames over a socket whose handshake is done. Redirects, sinks, time-outs
 * and the choice of connection stay in lua/luanet/http/client.lua; this
 * file only carries requests as streams of one connection.
 *
 *   local h2 = net._Http2Client()     -- no socket yet: requests queue
 *   local st = h2:request("GET", "https", "example.org", "/", headers, body)
 *   h2:attach(sock)                   -- ALPN said h2: preface, SETTINGS, requests go
 *   h2:abandon("why")                 -- it did not: the queued streams fail
 *   st:head()  -> status, headers     nil while it comes; nil, err, retry on failure
 *   st:read()  -> chunk | "" | nil    "" while more is to come; nil at the end;
 *                                     nil, err on failure
 *   st:wait(ms) -> boolean            until the stream changes or ms pass
 *   st:cancel()                       RST_STREAM(CANCEL)
 *   h2:usable() -> boolean            a new request may use this connection
 *
 * The waits are the library's (a task suspends, else the loop runs
 * nested). Nothing of Lua runs inside nghttp2's callbacks: they note what
 * came and end waits, whose tasks run once the loop's callbacks are done.
 *
 * Flow control: a stream's window (1 MiB) opens again as its reader takes
 * the bytes, so a slow sink holds only its own stream; the connection's
 * (16 MiB) at once. nghttp2 keeps the requests past the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS queued until a stream ends. */
#include "h2_client.h"
#include "h2_out.h"
#include "http_private.h"
#include "object.h"
#include "runtime.h"
#include "tcp_socket.h"
#include "wait.h"

#include <lauxlib.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LNET_HTTP2CLIENT "luanet.Http2Client"
#define LNET_HTTP2STREAM "luanet.Http2Stream"

/* What a response head may take (the fields, 32 bytes each more, as RFC
 * 9113 counts): past it the stream is reset, as HTTP/1.1's parser stops
 * at 64 KiB. */
#define MAX_RESPONSE_HEAD (64 * 1024)
#define STREAM_WINDOW (1024 * 1024)
#define CONNECTION_WINDOW (16 * 1024 * 1024)

struct h2_client;

struct h2_client_stream {
  struct lnet_object object;   /* user values: 1 signals (none), 2 the client, 3 the request body */
  struct h2_client *c;
  struct h2_client_stream *next;   /* the client's open streams */
  int32_t id;
  int ref;                   /* anchored while the session holds it */
  int status;                /* the final response's; 0 until its head came */
  struct buffer head;        /* its fields, "name\0value\0" each */
  struct buffer body;        /* bytes its reader has not taken */
  const char *send;          /* what is left of the request body (user value 3) */
  size_t send_left;
  bool head_done, ended, closed;
  bool retry;                /* the server never took it: another connection may */
  const char *failure;       /* why it failed (a static string), or NULL */
  uint32_t reset_code;       /* RST_STREAM's code, for failure's message */
  struct lnet_wait wait;
};

/* The socket's reader while attached; freed with the socket. */
struct h2_client_reader {
  struct socket_reader reader;   /* first */
  struct h2_client *c;       /* NULL once the client is collected */
  struct tcp_socket *sock;
};

struct h2_client {
  struct lnet_object object;   /* user values: 1 signals (none), 2 the socket */
  struct lnet_runtime *rt;
  nghttp2_session *ng;
  struct h2_client_reader *reader;
  struct tcp_socket *sock;
  struct h2_client_stream *open;
  int nopen;
  int ref;                   /* anchored while a stream is open */
  bool attached, reading;
  bool sock_closed;          /* the socket is closing: none of its functions may be called */
  bool dead;                 /* abandoned, closed or failed: no new stream */
  bool goaway;               /* the server sent GOAWAY */
  const char *failure;       /* why it died, for the streams still open */
  char abandoned[96];        /* abandon's reason, which failure may point at */
  struct buffer out;
};

static const struct lnet_class client_class, stream_class;

/* ---- streams ---- */

static void stream_wake(struct h2_client_stream *st) {
  lnet_wait_finish(st->c->rt, &st->wait, true);
}

/* The stream is over for the session: unlinked and unanchored (a task
 * that waits on it holds it on its stack). */
static void stream_closed(struct h2_client *c, struct h2_client_stream *st) {
  if (st->closed)
    return;
  st->closed = true;
  for (struct h2_client_stream **p = &c->open; *p; p = &(*p)->next) {
    if (*p == st) {
      *p = st->next;
      break;
    }
  }
  lnet_unanchor(c->rt->L, &st->ref);
  if (--c->nopen == 0) {
    lnet_unanchor(c->rt->L, &c->ref);
    if (c->reader && !c->sock_closed)
      tcp_socket_set_weak(c->sock, true);   /* an idle connection keeps no script running */
  }
  stream_wake(st);
}

static void stream_fail(struct h2_client *c, struct h2_client_stream *st, const char *why, bool retry) {
  if (!st->failure && !(st->ended && st->head_done)) {
    st->failure = why;
    st->retry = retry;
  }
  stream_closed(c, st);
}

/* The connection is gone, or never came: every open stream fails. */
static void client_die(struct h2_client *c, const char *why, bool retry) {
  if (!c->failure)
    c->failure = why;
  c->dead = true;
  while (c->open) {
    struct h2_client_stream *st = c->open;
    if (c->ng && st->id > 0)
      nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
    stream_fail(c, st, c->failure, retry);
  }
}

/* ---- nghttp2's callbacks ---- */

static struct h2_client_stream *stream_of(nghttp2_session *ng, int32_t id) {
  return nghttp2_session_get_stream_user_data(ng, id);
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)flags, (void)ud;
  struct h2_client_stream *st = stream_of(ng, frame->hd.stream_id);
  if (!st || st->head_done || frame->hd.type != NGHTTP2_HEADERS)
    return 0;   /* trailers: read and dropped, as HTTP/1.1's are */
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
    int status = 0;
    for (size_t i = 0; i < valuelen && i < 3; i++)
      status = status * 10 + (value[i] - '0');
    st->status = status;
    return 0;
  }
  if (st->head.len + namelen + valuelen + 32 > MAX_RESPONSE_HEAD) {
    st->failure = "the response head is too large";
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* the stream is reset */
  }
  if (!buffer_append(&st->head, (const char *)name, namelen) || !buffer_append(&st->head, "", 1) ||
      !buffer_append(&st->head, (const char *)value, valuelen) || !buffer_append(&st->head, "", 1)) {
    st->failure = "out of memory";
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  struct h2_client *c = ud;
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    c->goaway = true;   /* the streams it did not take are closed with REFUSED_STREAM */
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
    return 0;
  struct h2_client_stream *st = stream_of(ng, frame->hd.stream_id);
  if (!st)
    return 0;
  bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && !st->head_done) {
    if (st->status >= 100 && st->status < 200 && !end) {   /* 1xx: the final head follows */
      st->status = 0;
      buffer_consume(&st->head, st->head.len);
      return 0;
    }
    st->head_done = true;
  }
  if (end)
    st->ended = true;
  stream_wake(st);
  return 0;
}

static int on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                              void *ud) {
  (void)flags, (void)ud;
  struct h2_client_stream *st = stream_of(ng, id);
  nghttp2_session_consume_connection(ng, len);
  if (!st || st->closed) {
    return 0;
  }
  if (!buffer_append(&st->body, (const char *)data, len)) {
    st->failure = "out of memory";
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  stream_wake(st);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud) {
  struct h2_client *c = ud;
  struct h2_client_stream *st = stream_of(ng, id);
  if (!st)
    return 0;
  nghttp2_session_set_stream_user_data(ng, id, NULL);
  if (code == NGHTTP2_REFUSED_STREAM) {
    stream_fail(c, st, c->goaway ? "the server went away (GOAWAY) before taking the stream"
                                 : "the server refused the stream (REFUSED_STREAM)", true);
  } else if (!st->ended || !st->head_done) {
    st->reset_code = code;
    stream_fail(c, st, "the server reset the stream", false);
  } else {
    stream_closed(c, st);
  }
  return 0;
}

/* The request body, from the string the stream holds. */
static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *source, void *ud) {
  (void)ng, (void)id, (void)ud;
  struct h2_client_stream *st = source->ptr;
  size_t n = st->send_left < length ? st->send_left : length;
  memcpy(buf, st->send, n);
  st->send += n;
  st->send_left -= n;
  if (st->send_left == 0)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static nghttp2_session *session_new(struct h2_client *c) {
  nghttp2_session_callbacks *cb;
  nghttp2_option *opt;
  if (nghttp2_session_callbacks_new(&cb) != 0)
    return NULL;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return NULL;
  }
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  /* A stream's window opens as its reader takes the bytes (st:read). */
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session *ng = NULL;
  if (nghttp2_session_client_new2(&ng, cb, c, opt) != 0)
    ng = NULL;
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (!ng)
    return NULL;
  nghttp2_settings_entry settings[] = {
    { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
    { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
    { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_RESPONSE_HEAD },
  };
  if (nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof *settings) != 0 ||
      nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW) != 0) {
    nghttp2_session_del(ng);
    return NULL;
  }
  return ng;
}

/* ---- the connection ---- */

static void client_close_socket(struct h2_client *c, lua_State *L, int obj) {
  if (!c->reader || !tcp_socket_is_open(c->sock))
    return;
  tcp_socket_disconnect(L, obj);
}

/* What the session has to send goes out (not while it reads: the read's
 * end flushes). obj: the socket. */
static void client_flush(struct h2_client *c, lua_State *L, int obj) {
  if (c->reading || !c->attached || !c->reader || c->dead)
    return;
  bool ok = h2_out_flush(c->ng, &c->out, c->sock, L, obj);
  if (c->nopen == 0)
    buffer_free(&c->out);   /* an idle connection keeps no block */
  if (!ok) {
    client_die(c, "HTTP/2 session failed", false);
    client_close_socket(c, L, obj);
  } else if ((c->goaway && c->nopen == 0) ||
             (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng))) {
    /* the server said GOAWAY and nothing of ours is left on it */
    client_die(c, "the server ended the connection (GOAWAY)", true);
    client_close_socket(c, L, obj);
  }
}

/* Pushes the socket and flushes: for the methods, which have the client,
 * not the socket, on their stack. */
static void client_flush_now(struct h2_client *c, lua_State *L, int self) {
  if (!c->attached || !c->reader)
    return;
  lua_getiuservalue(L, self, 2);
  client_flush(c, L, lua_gettop(L));
  lua_pop(L, 1);
}

static void reader_readable(struct socket_reader *r, lua_State *L, int obj) {
  struct h2_client_reader *cr = (struct h2_client_reader *)r;
  struct h2_client *c = cr->c;
  struct buffer *in = tcp_socket_input(cr->sock);
  if (!c || c->dead) {   /* nobody reads what comes now */
    buffer_consume(in, in->len);
    return;
  }
  c->reading = true;
  ssize_t n = nghttp2_session_mem_recv(c->ng, (const uint8_t *)buffer_head(in), in->len);
  c->reading = false;
  buffer_consume(in, in->len);
  if (n < 0) {   /* the server broke the protocol: nghttp2 queued GOAWAY */
    h2_out_flush(c->ng, &c->out, c->sock, L, obj);
    client_die(c, "the server broke HTTP/2's rules", false);
    client_close_socket(c, L, obj);
    return;
  }
  client_flush(c, L, obj);
}

static void reader_closed(struct socket_reader *r) {
  struct h2_client *c = ((struct h2_client_reader *)r)->c;
  if (c) {
    c->sock_closed = true;
    client_die(c, "the connection closed", false);
  }
}

static void reader_release(struct socket_reader *r) {
  struct h2_client *c = ((struct h2_client_reader *)r)->c;
  if (c) {
    c->sock_closed = true;
    client_die(c, "the connection closed", false);
    c->reader = NULL;
    c->sock = NULL;
  }
  free(r);
}

/* ---- Lua: the client ---- */

static struct h2_client *client_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &client_class);
}

static int client_new(lua_State *L) {
  struct h2_client *c = lnet_newobject(L, sizeof *c, &client_class, 2);
  c->rt = lnet_runtime(L);
  c->ref = LUA_NOREF;
  if (!(c->ng = session_new(c)))
    return luaL_error(L, "Http2Client: out of memory");
  return 1;
}

/* Names HTTP/2 forbids (RFC 9113 8.2.2), and Host, which :authority is. */
static bool header_dropped(const char *name, size_t n, const char *value) {
  static const char *const names[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                       "upgrade", "host" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
      return true;
  return n == 2 && memcmp(name, "te", 2) == 0 && strcmp(value, "trailers") != 0;
}

/* h2:request(method, scheme, authority, path, headers, body): a stream, or
 * nil and why (a bad header; a connection that can take no more). headers:
 * { name = value }, any case; body: a string or nil. */
static int client_request(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  size_t lens[4];
  const char *pseudo[4];
  for (int i = 0; i < 4; i++)
    pseudo[i] = luaL_checklstring(L, 2 + i, &lens[i]);
  bool has_headers = !lua_isnoneornil(L, 6);
  if (has_headers)
    luaL_checktype(L, 6, LUA_TTABLE);
  size_t body_len = 0;
  const char *body = luaL_optlstring(L, 7, NULL, &body_len);
  lua_settop(L, 7);
  if (c->dead || c->goaway) {
    lua_pushnil(L);
    lua_pushstring(L, c->failure ? c->failure : "the connection is going away");
    return 2;
  }
  /* The fields: the four pseudo-headers, then the table's with lower-case
   * names. The names made and the values turned into strings are kept in
   * a table on the stack until nghttp2 has copied them. */
  size_t count = 4;
  if (has_headers) {
    for (lua_pushnil(L); lua_next(L, 6); lua_pop(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_argerror(L, 6, "header names must be strings");
      count++;
    }
  }
  nghttp2_nv *nv = lua_newuserdatauv(L, count * sizeof *nv, 0);
  static const char *const pseudo_names[] = { ":method", ":scheme", ":authority", ":path" };
  for (int i = 0; i < 4; i++)
    nv[i] = (nghttp2_nv){ (uint8_t *)pseudo_names[i], (uint8_t *)pseudo[i], strlen(pseudo_names[i]), lens[i],
                          NGHTTP2_NV_FLAG_NONE };
  size_t k = 4;
  lua_newtable(L);
  int kept = lua_gettop(L);
  int nkept = 0;
  if (has_headers) {
    for (lua_pushnil(L); lua_next(L, 6); lua_pop(L, 1)) {
      size_t n, vn;
      const char *name = lua_tolstring(L, -2, &n);
      const char *value = luaL_tolstring(L, -1, &vn);
      lua_rawseti(L, kept, ++nkept);
      char *low = lua_newuserdatauv(L, n + 1, 0);
      lua_rawseti(L, kept, ++nkept);
      for (size_t i = 0; i < n; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
      low[n] = '\0';
      if (!nghttp2_check_header_name((const uint8_t *)low, n) ||
          !nghttp2_check_header_value((const uint8_t *)value, vn)) {
        lua_pushnil(L);
        lua_pushfstring(L, "bad header field: %s", name);
        return 2;
      }
      if (!header_dropped(low, n, value))
        nv[k++] = (nghttp2_nv){ (uint8_t *)low, (uint8_t *)value, n, vn, NGHTTP2_NV_FLAG_NONE };
    }
  }
  struct h2_client_stream *st = lnet_newobject(L, sizeof *st, &stream_class, 3);
  int st_idx = lua_gettop(L);
  st->c = c;
  st->ref = LUA_NOREF;
  lnet_wait_init(&st->wait, NULL);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, st_idx, 2);   /* the client lives as long as its streams */
  nghttp2_data_provider provider = { .source.ptr = st, .read_callback = read_body };
  if (body) {
    lua_pushvalue(L, 7);
    lua_setiuservalue(L, st_idx, 3);
    st->send = body;
    st->send_left = body_len;
  }
  int32_t id = nghttp2_submit_request(c->ng, NULL, nv, k, body ? &provider : NULL, st);
  if (id < 0) {
    lua_pushnil(L);
    lua_pushstring(L, nghttp2_strerror(id));
    return 2;
  }
  st->id = id;
  st->next = c->open;
  c->open = st;
  st->ref = lnet_anchor(L, st_idx);
  if (c->nopen++ == 0) {
    c->ref = lnet_anchor(L, 1);
    if (c->reader)
      tcp_socket_set_weak(c->sock, false);
  }
  client_flush_now(c, L, 1);
  lua_pushvalue(L, st_idx);
  return 1;
}

/* h2:attach(sock): the connected socket, whose ALPN chose h2, carries the
 * session from now on. */
static int client_attach(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  struct tcp_socket *s = tcp_socket_test(L, 2);
  luaL_argcheck(L, s != NULL, 2, "TcpSocket expected");
  if (c->attached)
    return luaL_error(L, "Http2Client: already attached");
  if (c->dead || !tcp_socket_is_open(s)) {
    client_die(c, "the connection closed", true);
    lua_pushboolean(L, 0);
    return 1;
  }
  struct h2_client_reader *r = calloc(1, sizeof *r);
  if (!r)
    return luaL_error(L, "Http2Client: out of memory");
  static const struct socket_reader_ops ops = { reader_readable, reader_closed, reader_release };
  r->reader.ops = &ops;
  r->c = c;
  r->sock = s;
  struct socket_reader *prev = tcp_socket_reader(s);
  if (prev)
    prev->ops->release(prev);
  c->reader = r;
  c->sock = s;
  c->attached = true;
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 1, 2);
  tcp_socket_set_reader(s, &r->reader);
  tcp_socket_set_weak(s, c->nopen == 0);
  if (tcp_socket_input(s)->len > 0)
    reader_readable(&r->reader, L, 2);   /* the server's SETTINGS came with the handshake */
  client_flush(c, L, 2);
  lua_pushboolean(L, !c->dead);
  return 1;
}

/* h2:abandon(why): the connection will not speak HTTP/2 (ALPN chose
 * another protocol, or the connect failed): its streams fail with why,
 * to be retried another way. */
static int client_abandon(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  snprintf(c->abandoned, sizeof c->abandoned, "%s", luaL_optstring(L, 2, "abandoned"));
  client_die(c, c->abandoned, true);
  return 0;
}

static int client_usable(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  lua_pushboolean(L, !c->dead && !c->goaway);
  return 1;
}

static int client_attached(lua_State *L) {
  lua_pushboolean(L, client_check(L, 1)->attached);
  return 1;
}

static int client_gc(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  if (c->reader) {
    c->reader->c = NULL;
    lua_getiuservalue(L, 1, 2);
    if (tcp_socket_test(L, -1))
      tcp_socket_release(L, lua_gettop(L));
    lua_pop(L, 1);
    c->reader = NULL;
  }
  if (c->ng)
    nghttp2_session_del(c->ng);
  c->ng = NULL;
  buffer_free(&c->out);
  return 0;
}

static int client_tostring(lua_State *L) {
  struct h2_client *c = client_check(L, 1);
  lua_pushfstring(L, LNET_HTTP2CLIENT " (%s, %d streams)",
                  c->dead ? "closed" : c->goaway ? "going away" : c->attached ? "connected" : "connecting", c->nopen);
  return 1;
}

/* ---- Lua: a stream ---- */

static struct h2_client_stream *stream_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &stream_class);
}

/* nil, the failure's message, whether another connection may carry it. */
static int push_failure(lua_State *L, struct h2_client_stream *st) {
  lua_pushnil(L);
  if (st->reset_code)
    lua_pushfstring(L, "%s (%s)", st->failure, nghttp2_http2_strerror(st->reset_code));
  else
    lua_pushstring(L, st->failure);
  lua_pushboolean(L, st->retry);
  return 3;
}

/* st:head() -> status, headers ({ lower-case name = value }, repeated
 * names joined by ", " as HttpParser's); nil while it comes; nil, why,
 * retry once the stream has failed. */
static int stream_head(lua_State *L) {
  struct h2_client_stream *st = stream_check(L, 1);
  if (st->failure)
    return push_failure(L, st);
  if (!st->head_done) {
    if (st->closed) {
      st->failure = "the stream ended without a response";
      return push_failure(L, st);
    }
    return 0;
  }
  lua_pushinteger(L, st->status);
  lua_newtable(L);
  const char *p = st->head.len ? buffer_head(&st->head) : NULL, *end = p ? p + st->head.len : NULL;
  while (p < end) {
    size_t n = strlen(p);
    const char *v = p + n + 1;
    size_t vn = strlen(v);
    http_headers_add(L, p, n, v, vn);
    p = v + vn + 1;
  }
  return 2;
}

/* st:read() -> the body bytes that came ("" when none yet, more to come),
 * nil at its end, nil and why when the stream failed. */
static int stream_read(lua_State *L) {
  struct h2_client_stream *st = stream_check(L, 1);
  if (st->body.len > 0) {
    size_t n = st->body.len;
    lua_pushlstring(L, buffer_head(&st->body), n);
    buffer_consume(&st->body, n);
    if (!st->closed && !st->c->dead) {   /* the stream's window opens again */
      nghttp2_session_consume_stream(st->c->ng, st->id, n);
      lua_getiuservalue(L, 1, 2);
      client_flush_now(st->c, L, lua_gettop(L));
      lua_pop(L, 1);
    }
    return 1;
  }
  if (st->failure)
    return push_failure(L, st);
  if (st->ended)
    return 0;
  if (st->closed) {
    st->failure = "the stream ended before its body did";
    return push_failure(L, st);
  }
  lua_pushliteral(L, "");
  return 1;
}

/* st:wait(ms): until the stream changes (head, bytes, end, failure). */
static int stream_wait(lua_State *L) {
  struct h2_client_stream *st = stream_check(L, 1);
  double ms = luaL_optnumber(L, 2, 30000);
  if (st->closed || st->body.len > 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return lnet_wait(L, st->c->rt, &st->wait, ms);
}

/* st:cancel(): RST_STREAM(CANCEL); the stream is over. */
static int stream_cancel(lua_State *L) {
  struct h2_client_stream *st = stream_check(L, 1);
  struct h2_client *c = st->c;
  if (st->closed)
    return 0;
  if (!st->failure)
    st->failure = "cancelled";
  if (!c->dead) {   /* a request not sent yet is dropped from nghttp2's queue */
    nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
    nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    lua_getiuservalue(L, 1, 2);
    client_flush_now(c, L, lua_gettop(L));
    lua_pop(L, 1);
  }
  stream_closed(c, st);
  return 0;
}

static int stream_gc(lua_State *L) {
  struct h2_client_stream *st = stream_check(L, 1);
  buffer_free(&st->head);
  buffer_free(&st->body);
  return 0;
}

static const luaL_Reg client_methods[] = {
  { "request", client_request },
  { "attach", client_attach },
  { "abandon", client_abandon },
  { "usable", client_usable },
  { "attached", client_attached },
  { NULL, NULL },
};

static const luaL_Reg stream_methods[] = {
  { "head", stream_head },
  { "read", stream_read },
  { "wait", stream_wait },
  { "cancel", stream_cancel },
  { NULL, NULL },
};

static const struct lnet_class client_class = {
  .id = LNET_ID_HTTP2CLIENT, .name = LNET_HTTP2CLIENT, .methods = client_methods, .gc = client_gc,
  .tostring = client_tostring, .construct = client_new,
};

static const struct lnet_class stream_class = {
  .id = LNET_ID_HTTP2STREAM, .name = LNET_HTTP2STREAM, .methods = stream_methods, .gc = stream_gc,
};

int luaopen_luanet_http2_client(lua_State *L) {
  lnet_class_register(L, &stream_class);
  lua_pop(L, 1);
  lnet_class_register(L, &client_class);
  return 1;
}
