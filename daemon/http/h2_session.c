/* One HTTP/2 connection of net.HttpServer: an nghttp2 server session over
 * the socket of an http_conn. Bytes in are read from the socket's buffer
 * in place (nghttp2_session_mem_recv); bytes out are gathered from
 * nghttp2_session_mem_send and leave with one tcp_socket_send per turn.
 *
 * Nothing of Lua runs inside nghttp2's callbacks: they only note what
 * came, and the requests whose headers (or bodies) are complete are
 * handed to the handlers once mem_recv has returned, in the order they
 * came. A handler may answer at once or later; either way its stream's
 * frames are made by the next flush, which is never inside mem_recv.
 *
 * What nghttp2 checks itself, we rely on: the preface, frame sizes and
 * order, HPACK, flow control, pseudo-headers and the fields HTTP/2 forbids
 * (connection-specific ones), content-length against DATA, the number of
 * concurrent streams we advertise, floods of SETTINGS, PING and other
 * frames that make it answer (max_outbound_ack), CONTINUATION floods
 * (max_continuations) and streams opened and reset without end
 * (stream_reset_rate_limit, CVE-2023-44487). The limits of the server
 * (maxHeader, maxBody, time-outs) are ours, per stream; so are the glitch
 * budget (frames that cost work and carry nothing, resets the client's
 * frames make us send: MadeYouReset) and the bound on request bodies
 * held per connection (BODY_HOLD). */
#include "h2_private.h"
#include "h2_out.h"
#include "net.h"
#include "runtime.h"
#include "wait.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

struct h2_session {
  struct http_conn *c;
  nghttp2_session *ng;
  struct h2_stream *open;    /* streams the client opened, not yet closed */
  struct h2_stream *free;    /* closed ones, kept for reuse: req and res may hold them */
  struct h2_stream *ready, **ready_tail;   /* requests to hand out, in order */
  int nopen;
  struct buffer out;         /* frames made, not yet given to the socket */
  bool reading;              /* inside mem_recv: no mem_send */
  bool handing_out;          /* handlers run: their frames leave together, after */
  bool flushing;
  bool goaway;               /* GOAWAY sent: no new stream */
  bool calm_down;            /* cut off for its glitches (ENHANCE_YOUR_CALM) */
  uint8_t settings_seen;     /* SETTINGS frames (not ACKs) that came, up to 2 */
  float glitch_tokens;       /* the glitch bucket (below) */
  ev_tstamp glitch_at;       /* when it was last filled */
  size_t body_held;          /* buffered request bodies not yet handed to Lua */
  int32_t max_client_id;     /* the highest stream id the client has opened */
  int32_t unfinished[8];     /* streams that closed before the client ended them: its
                                trailers may still come (RFC 9113 5.1) */
  uint8_t unfinished_next;
  uint32_t peer_initial_window;   /* the client's SETTINGS_INITIAL_WINDOW_SIZE */
  int32_t window_before;     /* the largest stream send window as its SETTINGS began */
  lua_State *L;              /* while flushing: for send_data_callback */
  int obj;
  ev_timer tick;             /* the streams' time-outs, once a second while any is open */
};

/* Glitches: frames that make the server work but carry no request
 * forward: invalid frames nghttp2 answers with a stream error (each such
 * RST_STREAM it sends is MadeYouReset's lever, CVE-2025-8671, which the
 * reset rate limit on the client's own RST_STREAMs does not see), empty
 * DATA frames that do not end a stream, PRIORITY frames, PINGs, SETTINGS
 * after the first. A token bucket as nghttp2 1.67's glitch limit (not in
 * Debian's 1.52): a burst of 1000, then 100 a second; past it GOAWAY
 * (ENHANCE_YOUR_CALM) and the connection goes. */
#define GLITCH_BURST 1000.0f
#define GLITCH_RATE 100.0f

/* Buffered request bodies a connection may hold before Lua has them (at
 * most maxBody each, 100 streams): past this, a stream's window is given
 * back only as bodies are handed out or dropped, so one connection cannot
 * make the server hold 100 x maxBody. Each stream's own window (64 KiB)
 * still lets it begin. */
#define BODY_HOLD(sv) (4 * (sv)->max_body)

/* SETTINGS_MAX_FRAME_SIZE: the protocol's default, which we never raise. */
#define H2_MAX_FRAME_SIZE 16384

bool h2_is_preface(const char *p, size_t n) {
  return memcmp(p, H2_PREFACE, n < H2_PREFACE_LINE ? n : H2_PREFACE_LINE) == 0;
}

struct http_conn *h2_session_conn(const struct h2_session *h) {
  return h->c;
}

nghttp2_session *h2_session_ng(const struct h2_session *h) {
  return h->ng;
}

/* ---- streams ---- */

static void stream_free_buffers(struct h2_stream *st);

static struct h2_stream *stream_take(struct h2_session *h, int32_t id) {
  struct h2_stream *st = h->free;
  uint32_t number = 0;
  if (st) {
    h->free = st->next;
    number = st->ex.number;
    stream_free_buffers(st);   /* a handler may have set headers on it after it closed */
  } else if (!(st = calloc(1, sizeof *st))) {
    return NULL;
  }
  struct http_conn *c = h->c;
  struct lnet_wait *body_wait = st->ex.body_wait;   /* made once, kept for reuse */
  memset(st, 0, sizeof *st);
  st->ex.body_wait = body_wait;
  st->ex.ops = &h2_stream_ops;
  st->ex.server = c->ex.server;
  st->ex.sock = c->ex.sock;
  st->ex.number = number + 1;   /* a req or res of the stream's last use is stale */
  st->ex.req_ref = LUA_NOREF;
  st->ex.streaming = c->ex.server->stream_body;
  st->h = h;
  st->id = id;
  st->pending_req = LUA_NOREF;
  st->file_fd = -1;
  st->began = st->last_in = ev_now(c->ex.server->rt->loop);
  st->next = h->open;
  h->open = st;
  if (h->nopen++ == 0)
    ev_timer_again(c->ex.server->rt->loop, &h->tick);
  return st;
}

static void stream_free_buffers(struct h2_stream *st) {
  buffer_free(&st->fields);
  buffer_free(&st->pseudo);
  buffer_free(&st->out);
  http_exchange_free_body(&st->ex);
  http_response_free_headers(&st->ex);
  if (st->file_fd >= 0)
    close(st->file_fd);
  st->file_fd = -1;
}

static void ready_remove(struct h2_session *h, struct h2_stream *st);

/* A buffered body leaves (to Lua, or with its stream): the streams whose
 * windows waited on the connection's bodies may go on. */
static void body_released(struct h2_session *h, struct h2_stream *st) {
  if (st->held == 0)
    return;
  h->body_held -= st->held;
  st->held = 0;
  for (struct h2_stream *o = h->open; o && h->body_held <= BODY_HOLD(h->c->ex.server); o = o->next) {
    if (o->owed > 0 && o != st) {
      nghttp2_session_consume_stream(h->ng, o->id, o->owed);
      o->owed = 0;
    }
  }
}

/* The stream is over: what waits on it wakes, its memory goes, and the
 * struct waits for reuse (a stale req or res still points at it). */
static void stream_close(struct h2_session *h, struct h2_stream *st) {
  if (st->closed)
    return;
  st->closed = true;
  if (!st->ended) {
    h->unfinished[h->unfinished_next] = st->id;
    h->unfinished_next = (uint8_t)((h->unfinished_next + 1) % (sizeof h->unfinished / sizeof *h->unfinished));
  }
  ready_remove(h, st);
  lua_State *L = h->c->ex.server->rt->L;
  lnet_unanchor(L, &st->pending_req);
  lnet_unanchor(L, &st->ex.req_ref);   /* a response never finished is not logged */
  if (st->ex.body_wait)
    lnet_wait_finish(h->c->ex.server->rt, st->ex.body_wait, false);
  body_released(h, st);
  stream_free_buffers(st);
  for (struct h2_stream **p = &h->open; *p; p = &(*p)->next) {
    if (*p == st) {
      *p = st->next;
      if (--h->nopen == 0)
        ev_timer_stop(h->c->ex.server->rt->loop, &h->tick);
      break;
    }
  }
  st->next = h->free;
  h->free = st;
}

static void ready_add(struct h2_session *h, struct h2_stream *st) {
  if (st->queued)
    return;
  st->queued = true;
  st->ready_next = NULL;
  *h->ready_tail = st;
  h->ready_tail = &st->ready_next;
}

/* A closed stream leaves the list before its struct can be reused. */
static void ready_remove(struct h2_session *h, struct h2_stream *st) {
  if (!st->queued)
    return;
  st->queued = false;
  struct h2_stream **p = &h->ready;
  while (*p != st)
    p = &(*p)->ready_next;
  *p = st->ready_next;
  if (h->ready_tail == &st->ready_next)
    h->ready_tail = p;
}

/* ---- nghttp2's callbacks: note what came ---- */


static struct h2_stream *stream_of(nghttp2_session *ng, int32_t id) {
  return nghttp2_session_get_stream_user_data(ng, id);
}

/* One glitch; false once the connection has spent its bucket, and then
 * GOAWAY(ENHANCE_YOUR_CALM) is queued, once, with a log line. */
static bool glitch(struct h2_session *h) {
  ev_tstamp now = ev_now(h->c->ex.server->rt->loop);
  h->glitch_tokens += (float)(now - h->glitch_at) * GLITCH_RATE;
  if (h->glitch_tokens > GLITCH_BURST)
    h->glitch_tokens = GLITCH_BURST;
  h->peer_initial_window = NGHTTP2_INITIAL_WINDOW_SIZE;
  h->glitch_at = now;
  if (h->glitch_tokens >= 1.0f) {
    h->glitch_tokens -= 1.0f;
    return true;
  }
  if (!h->calm_down) {
    h->calm_down = true;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char peer[NET_ADDRSTRLEN] = "?";
    if (getpeername(tcp_socket_fd(h->c->ex.sock), (struct sockaddr *)&ss, &len) == 0)
      net_addr_format((struct sockaddr *)&ss, peer);
    lnet_log(h->c->ex.server->rt, "warn", "HttpServer: HTTP/2 client %s cut off: more than %d invalid or idle "
             "frames (resets it caused, empty DATA, PRIORITY, PING, SETTINGS) at over %d a second",
             peer, (int)GLITCH_BURST, (int)GLITCH_RATE);
    nghttp2_session_terminate_session(h->ng, NGHTTP2_ENHANCE_YOUR_CALM);
  }
  return false;
}

static int on_invalid_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, int error, void *ud) {
  (void)ng, (void)frame, (void)error;
  glitch(ud);
  return 0;
}

static bool unfinished(const struct h2_session *h, int32_t id) {
  for (size_t i = 0; i < sizeof h->unfinished / sizeof *h->unfinished; i++)
    if (h->unfinished[i] == id)
      return true;
  return false;
}

/* What nghttp2 1.52 leaves to its user, checked as each frame begins:
 * a CONTINUATION past SETTINGS_MAX_FRAME_SIZE (it checks only the first
 * frame of a header block), HEADERS on a stream id below one the client
 * already opened that was never a stream (RFC 9113 5.1.1: a connection
 * error; nghttp2 ignores it, since it cannot tell it from trailers of a
 * stream it reset), and the send windows as a SETTINGS frame begins (for
 * on_frame_recv's check of INITIAL_WINDOW_SIZE). */
static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud) {
  struct h2_session *h = ud;
  if (hd->length > H2_MAX_FRAME_SIZE) {
    nghttp2_session_terminate_session(ng, NGHTTP2_FRAME_SIZE_ERROR);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (hd->type == NGHTTP2_HEADERS && (hd->stream_id & 1)) {
    if (hd->stream_id > h->max_client_id) {
      h->max_client_id = hd->stream_id;
    } else if (!nghttp2_session_find_stream(ng, hd->stream_id) && !unfinished(h, hd->stream_id)) {
      nghttp2_session_terminate_session(ng, NGHTTP2_PROTOCOL_ERROR);
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  } else if (hd->type == NGHTTP2_SETTINGS && !(hd->flags & NGHTTP2_FLAG_ACK)) {
    h->window_before = 0;
    for (struct h2_stream *st = h->open; st; st = st->next) {
      int32_t w = nghttp2_session_get_stream_remote_window_size(ng, st->id);
      if (w > h->window_before)
        h->window_before = w;
    }
  }
  return 0;
}

/* RFC 9113 6.9.2: an INITIAL_WINDOW_SIZE that would take a stream's send
 * window past 2^31-1 is a connection error FLOW_CONTROL_ERROR; nghttp2
 * 1.52 resets the stream instead. */
static void check_initial_window(struct h2_session *h, const nghttp2_settings *settings) {
  for (size_t i = 0; i < settings->niv; i++) {
    if (settings->iv[i].settings_id != NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
      continue;
    int64_t delta = (int64_t)settings->iv[i].value - h->peer_initial_window;
    h->peer_initial_window = settings->iv[i].value;
    if (h->window_before + delta > NGHTTP2_MAX_WINDOW_SIZE)
      nghttp2_session_terminate_session(h->ng, NGHTTP2_FLOW_CONTROL_ERROR);
  }
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  struct h2_session *h = ud;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  struct h2_stream *st = stream_take(h, frame->hd.stream_id);
  if (!st)
    return NGHTTP2_ERR_CALLBACK_FAILURE;   /* no memory: the connection goes */
  nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
  return 0;
}

/* A pseudo-header's value, kept NUL-separated in st->pseudo. */
static bool keep_pseudo(struct h2_stream *st, const uint8_t *value, size_t len, uint32_t *at, uint32_t *n) {
  *at = (uint32_t)st->pseudo.len;
  *n = (uint32_t)len;
  return buffer_append(&st->pseudo, (const char *)value, len) && buffer_append(&st->pseudo, "", 1);
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud) {
  (void)flags, (void)ud;
  struct h2_stream *st = stream_of(ng, frame->hd.stream_id);
  if (!st || st->headers_done)
    return 0;   /* trailers: read and dropped, as HTTP/1.1's are */
  size_t max = st->ex.server->max_header;
  if (st->fields.len + st->pseudo.len + namelen + valuelen + 4 > max) {
    st->fields.len = max + 1;   /* too large: 431 once the headers end, nothing more kept */
    return 0;
  }
  bool ok = true;
  if (namelen > 0 && name[0] == ':') {
    if (namelen == 7 && memcmp(name, ":method", 7) == 0)
      ok = keep_pseudo(st, value, valuelen, &st->method_at, &st->method_len);
    else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
      ok = keep_pseudo(st, value, valuelen, &st->path_at, &st->path_len);
    else if (namelen == 10 && memcmp(name, ":authority", 10) == 0)
      ok = keep_pseudo(st, value, valuelen, &st->authority_at, &st->authority_len);
  } else {
    if (namelen == 4 && memcmp(name, "host", 4) == 0)
      st->has_host = true;
    char *dst = buffer_reserve(&st->fields, namelen + valuelen + 4);
    if ((ok = dst != NULL)) {
      memcpy(dst, name, namelen);
      memcpy(dst + namelen, ": ", 2);
      memcpy(dst + namelen + 2, value, valuelen);
      memcpy(dst + namelen + 2 + valuelen, "\r\n", 2);
      buffer_commit(&st->fields, namelen + valuelen + 4);
    }
  }
  return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* no memory: that stream is reset */
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  struct h2_session *h = ud;
  uint8_t type = frame->hd.type;
  bool ack = frame->hd.flags & NGHTTP2_FLAG_ACK;
  if (type == NGHTTP2_SETTINGS && !ack)
    check_initial_window(h, &frame->settings);
  if (type == NGHTTP2_PRIORITY || (type == NGHTTP2_PING && !ack) ||
      (type == NGHTTP2_SETTINGS && !ack && h->settings_seen++ > 0) ||
      (type == NGHTTP2_DATA && frame->hd.length == 0 && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))) {
    glitch(h);
    return 0;
  }
  if (type != NGHTTP2_HEADERS && type != NGHTTP2_DATA)
    return 0;
  struct h2_stream *st = stream_of(ng, frame->hd.stream_id);
  if (!st || st->closed)
    return 0;
  bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  st->last_in = ev_now(h->c->ex.server->rt->loop);
  if (frame->hd.type == NGHTTP2_HEADERS && !st->headers_done) {
    st->headers_done = true;
    st->ended = end;
    ready_add(h, st);   /* handed out now, or once its body is whole */
    return 0;
  }
  if (!end)
    return 0;
  st->ended = true;   /* after DATA, or trailers */
  st->ex.body_done = true;
  if (st->dispatched && st->ex.body_wait)
    lnet_wait_finish(h->c->ex.server->rt, st->ex.body_wait, true);
  else if (!st->dispatched && st->pending_req != LUA_NOREF)
    ready_add(h, st);
  return 0;
}

static int on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                              void *ud) {
  (void)flags;
  struct h2_stream *st = stream_of(ng, id);
  if (!st || st->closed || st->ex.res_done) {
    nghttp2_session_consume(ng, id, len);   /* nobody reads it: the window opens again */
    return 0;
  }
  struct http_exchange *ex = &st->ex;
  if (!ex->body && !(ex->body = calloc(1, sizeof *ex->body)))
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (!ex->streaming && ex->body->len + len > ex->server->max_body) {
    nghttp2_session_consume(ng, id, len);
    if (!st->too_large) {   /* answered 413 once the read is over (hand_out) */
      st->too_large = true;
      ready_add(ud, st);
    }
    return 0;
  }
  if (!buffer_append(ex->body, (const char *)data, len))
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  st->last_in = ev_now(ex->server->rt->loop);
  if (!ex->streaming) {   /* kept until the request is whole: maxBody bounds it, BODY_HOLD all of them */
    struct h2_session *h = ud;
    h->body_held += len;
    st->held += len;
    nghttp2_session_consume_connection(ng, len);
    if (h->body_held <= BODY_HOLD(ex->server))
      nghttp2_session_consume_stream(ng, id, len);
    else
      st->owed += len;
  } else if (st->dispatched && ex->body_wait)
    lnet_wait_finish(ex->server->rt, ex->body_wait, true);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *ud) {
  (void)error_code;
  struct h2_stream *st = stream_of(ng, id);
  if (st)
    stream_close(ud, st);
  return 0;
}

/* A response that ended before its request did (an answer that needs no
 * more of the body: 413, 408, a handler that did not read it): the rest
 * of the request is not wanted, RST_STREAM(NO_ERROR) says so (RFC 9113
 * 8.1), once the response's last frame has gone. */
static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud) {
  if (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code != NGHTTP2_NO_ERROR &&
      frame->rst_stream.error_code != NGHTTP2_CANCEL) {
    glitch(ud);   /* a reset the client's frames caused (ours, for time-outs, are NO_ERROR or CANCEL) */
    return 0;
  }
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
      (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS))
    return 0;
  struct h2_stream *st = stream_of(ng, frame->hd.stream_id);
  if (st && !st->ended && !st->closed)
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
  return 0;
}

/* A DATA frame of a file range (NGHTTP2_DATA_FLAG_NO_COPY): what was
 * gathered goes first, then the frame's header, then the bytes through
 * sendfile(2) (or TLS), never through memory of ours. */
static int send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                     nghttp2_data_source *source, void *ud) {
  (void)ng, (void)frame;
  struct h2_session *h = ud;
  struct h2_stream *st = source->ptr;
  if (!buffer_append(&h->out, (const char *)framehd, 9))
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  int fd = h2_out_send(&h->out, h->c->ex.sock, h->L, h->obj) ? dup(st->file_fd) : -1;
  bool ok = fd >= 0 && tcp_socket_send_file(h->c->ex.sock, h->L, h->obj, fd, st->file_off, length);
  st->file_off += (off_t)length;
  st->file_left -= length;
  if (st->file_left == 0) {
    close(st->file_fd);
    st->file_fd = -1;
  }
  return ok ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static nghttp2_session_callbacks *callbacks(void) {
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0)
    return NULL;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_send_data_callback(cb, send_data);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame_recv);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
  return cb;
}

/* ---- time-outs, per stream ---- */

/* Whether the stream's response has bytes that wait on the peer's
 * flow-control window (its stream's or the connection's). */
static bool window_stalled(struct h2_session *h, struct h2_stream *st) {
  bool pending = st->out.len > 0 || st->file_left > 0;
  return pending && st->submitted &&
         (nghttp2_session_get_stream_remote_window_size(h->ng, st->id) <= 0 ||
          nghttp2_session_get_remote_window_size(h->ng) <= 0);
}

/* The server's time-outs, applied to each stream as HTTP/1.1 applies
 * them to each request: headerTimeout from a stream's HEADERS to their
 * end (a header block left open blocks the whole connection, which then
 * goes) and between the frames of a body the handler waits for (408);
 * sendTimeout for a response that waits on a window the client never
 * opens (a zero-window stall: that stream is reset, the others go on). */
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct h2_session *h = (struct h2_session *)((char *)w - offsetof(struct h2_session, tick));
  struct http_server *sv = h->c->ex.server;
  ev_tstamp now = ev_now(loop);
  lua_State *L = sv->rt->L;
  int obj = tcp_socket_push(L, h->c->ex.sock);
  bool stuck = false;
  for (struct h2_stream *st = h->open, *next; st; st = next) {
    next = st->next;
    if (!st->headers_done) {
      stuck |= now - st->began > sv->header_timeout;
    } else if (!st->ended && !st->dispatched && now - st->last_in > sv->header_timeout) {
      st->ex.ops->refuse(&st->ex, L, obj, 408);   /* then reset, as its response ended first */
    } else if (window_stalled(h, st)) {
      if (st->stalled_since == 0) {
        st->stalled_since = now;
      } else if (sv->send_timeout > 0 && now - st->stalled_since > sv->send_timeout) {
        lnet_log(sv->rt, "warn", "HttpServer: HTTP/2 stream %d waited %g s on the client's window "
                 "(sendTimeout): reset", st->id, (double)sv->send_timeout);
        nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
      }
    } else {
      st->stalled_since = 0;
    }
  }
  if (stuck) {   /* a header block left open: nothing else can come on this connection */
    nghttp2_session_terminate_session(h->ng, NGHTTP2_PROTOCOL_ERROR);
  }
  h2_session_flush(h, L, obj);
  if (stuck && h->c->phase != PHASE_CLOSED) {
    h->c->phase = PHASE_CLOSED;
    tcp_socket_disconnect(L, obj);
  }
  lua_settop(L, obj - 1);
}

/* ---- the session ---- */

struct h2_session *h2_session_new(struct http_conn *c) {
  struct h2_session *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  h->c = c;
  h->ready_tail = &h->ready;
  h->glitch_tokens = GLITCH_BURST;
  h->peer_initial_window = NGHTTP2_INITIAL_WINDOW_SIZE;
  h->glitch_at = ev_now(c->ex.server->rt->loop);
  ev_init(&h->tick, tick_cb);
  h->tick.repeat = 1.0;
  nghttp2_session_callbacks *cb = callbacks();
  nghttp2_option *opt = NULL;
  if (!cb || nghttp2_option_new(&opt) != 0) {
    if (cb)
      nghttp2_session_callbacks_del(cb);
    free(h);
    return NULL;
  }
  /* The window of a streamed body opens as the handler reads it. */
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_settings(opt, 32);
  int rv = nghttp2_session_server_new2(&h->ng, cb, h, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) {
    free(h);
    return NULL;
  }
  nghttp2_settings_entry settings[] = {
    { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
    { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->ex.server->max_header },
  };
  nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof *settings);
  /* The connection's window: 64 KiB (the protocol's default) would let a
   * client upload 64 KiB per round trip over all its streams. */
  nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0, H2_CONNECTION_WINDOW);
  return h;
}

/* The requests whose headers (or, unless streamed, bodies) came. */
static void hand_out(struct h2_session *h, lua_State *L, int obj) {
  while (h->ready) {
    struct h2_stream *st = h->ready;
    h->ready = st->ready_next;
    if (!h->ready)
      h->ready_tail = &h->ready;
    st->queued = false;
    if (st->closed || st->dispatched)
      continue;
    if (st->too_large) {
      lnet_unanchor(L, &st->pending_req);
      st->ex.ops->refuse(&st->ex, L, obj, 413);   /* the rest of its body is not read */
      continue;
    }
    int req;
    if (st->pending_req != LUA_NOREF) {   /* its body came whole */
      lua_rawgeti(L, LUA_REGISTRYINDEX, st->pending_req);
      lnet_unanchor(L, &st->pending_req);
    } else if (!h2_stream_request(st, L, obj)) {
      continue;   /* answered with an error status */
    }
    req = lua_gettop(L);
    if (!st->ex.streaming && !st->ended) {   /* the body is still coming */
      st->pending_req = luaL_ref(L, LUA_REGISTRYINDEX);
      continue;
    }
    if (!st->ex.streaming && st->ex.body) {
      lua_pushlstring(L, buffer_head(st->ex.body), st->ex.body->len);
      http_request_set_body(L, req);
      http_exchange_free_body(&st->ex);
      body_released(h, st);
    }
    st->ex.body_done = st->ended;
    st->dispatched = true;
    http_dispatch(&st->ex, L, obj, req);
    lua_settop(L, req - 1);
  }
}



void h2_session_flush(struct h2_session *h, lua_State *L, int obj) {
  if (h->reading || h->handing_out || h->flushing || h->c->phase == PHASE_CLOSED)
    return;
  h->flushing = true;
  h->L = L;
  h->obj = obj;
  bool failed = !h2_out_flush(h->ng, &h->out, h->c->ex.sock, L, obj);
  if (h->nopen == 0)
    buffer_free(&h->out);   /* an idle connection keeps no block */
  h->flushing = false;
  if (failed || (!nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng))) {
    h->c->phase = PHASE_CLOSED;   /* GOAWAY went and every stream is done, or a fatal error */
    tcp_socket_disconnect(L, obj);
  }
}

void h2_session_feed(struct h2_session *h, lua_State *L, int obj) {
  struct buffer *rb = tcp_socket_input(h->c->ex.sock);
  if (rb->len > 0) {
    h->reading = true;
    ssize_t n = nghttp2_session_mem_recv(h->ng, (const uint8_t *)buffer_head(rb), rb->len);
    h->reading = false;
    if (n < 0) {   /* a protocol error that ends the connection: nghttp2 queued GOAWAY */
      buffer_consume(rb, rb->len);
      h2_session_flush(h, L, obj);
      if (h->c->phase != PHASE_CLOSED) {
        h->c->phase = PHASE_CLOSED;
        tcp_socket_disconnect(L, obj);
      }
      return;
    }
    buffer_consume(rb, (size_t)n);
  }
  /* The handlers that answer at once add their frames to one flush: one
   * write (one TLS record) for all the responses of a read. */
  h->handing_out = true;
  hand_out(h, L, obj);
  h->handing_out = false;
  h2_session_flush(h, L, obj);
}

void h2_session_goaway(struct h2_session *h, lua_State *L, int obj) {
  if (h->goaway)
    return;
  h->goaway = true;
  nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ng),
                        NGHTTP2_NO_ERROR, NULL, 0);
  h2_session_flush(h, L, obj);
}

bool h2_session_idle(const struct h2_session *h) {
  return h->nopen == 0;
}

void h2_session_closed(struct h2_session *h) {
  while (h->open)
    stream_close(h, h->open);
  ev_timer_stop(h->c->ex.server->rt->loop, &h->tick);
}

void h2_session_free(struct h2_session *h) {
  h2_session_closed(h);
  while (h->free) {
    struct h2_stream *st = h->free;
    h->free = st->next;
    stream_free_buffers(st);
    free(st->ex.body_wait);
    free(st);
  }
  nghttp2_session_del(h->ng);
  buffer_free(&h->out);
  free(h);
}
