/* One HTTP/1.x connection of net.HttpServer: llhttp runs over the socket's
 * read buffer in place (no copy, no readAll string), the head is indexed
 * once it is complete, and the handler gets req and res.
 *
 * Requests of a connection are answered in order (pipelining): once a
 * message is complete the parser stops until its response has finished,
 * and what follows waits in the read buffer. A handler that answers at
 * once is called from inside conn_feed, and the loop there goes on with
 * the next pipelined request; one that answers later calls
 * http_conn_finished from its own callback, which starts the loop again.
 *
 * Time-outs cost nothing per request: one ev_timer per connection, and a
 * phase change only moves `deadline`. The timer, when it fires early,
 * re-arms itself for what is left (libev's advice for idle time-outs). */
#include "http_private.h"
#include "h2_private.h"
#include "object.h"
#include "runtime.h"
#include "wait.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { PAUSE_NONE, PAUSE_HEADERS, PAUSE_MESSAGE, PAUSE_CHUNK };

static const struct http_exchange_ops conn_ops;   /* the exchange's, at the end */

/* Read-ahead past which a busy connection stops reading: a pipelining
 * client cannot make us buffer without end. */
#define READ_AHEAD_MAX (64 * 1024)

static struct http_conn *conn_of(llhttp_t *p) {
  return (struct http_conn *)((char *)p - offsetof(struct http_conn, parser));
}

static int on_headers_complete(llhttp_t *p) {
  struct http_conn *c = conn_of(p);
  if ((p->flags & F_CONTENT_LENGTH) && (p->flags & F_TRANSFER_ENCODING)) {
    c->error_status = 400;
    return HPE_USER;
  }
  c->paused = PAUSE_HEADERS;
  c->at_chunk_line = (p->flags & F_CHUNKED) != 0;   /* http_chunk.c checks each one first */
  return HPE_PAUSED;
}

static int on_chunk_header(llhttp_t *p) {
  conn_of(p)->last_chunk = p->content_length == 0;
  return 0;
}

/* After a chunk's data: stop, so that the next size line is checked
 * before llhttp reads it. */
static int on_chunk_complete(llhttp_t *p) {
  struct http_conn *c = conn_of(p);
  if (c->last_chunk)
    return 0;
  c->at_chunk_line = true;
  c->paused = PAUSE_CHUNK;
  return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *c = conn_of(p);
  if (!c->ex.body && !(c->ex.body = calloc(1, sizeof *c->ex.body))) {
    c->error_status = 503;
    return HPE_USER;
  }
  if (c->ex.body->len + len > c->ex.server->max_body && !c->ex.streaming) {
    c->error_status = 413;
    return HPE_USER;
  }
  if (!buffer_append(c->ex.body, at, len)) {
    c->error_status = 503;
    return HPE_USER;
  }
  return 0;
}

static size_t body_len(const struct http_conn *c) {
  return c->ex.body ? c->ex.body->len : 0;
}

static int on_message_complete(llhttp_t *p) {
  conn_of(p)->paused = PAUSE_MESSAGE;
  return HPE_PAUSED;
}

static const llhttp_settings_t *settings(void) {
  static llhttp_settings_t s;
  static bool ready;
  if (!ready) {   /* the same values every time: threads may race to set them */
    llhttp_settings_t t;
    llhttp_settings_init(&t);
    t.on_headers_complete = on_headers_complete;
    t.on_body = on_body;
    t.on_message_complete = on_message_complete;
    t.on_chunk_header = on_chunk_header;
    t.on_chunk_complete = on_chunk_complete;
    s = t;
    ready = true;
  }
  return &s;
}

/* ---- time-outs ---- */

static void set_deadline(struct http_conn *c, double seconds) {
  struct ev_loop *loop = c->ex.server->rt->loop;
  ev_tstamp now = ev_now(loop);
  c->deadline = now + seconds;
  if (ev_is_active(&c->timer)) {
    if (ev_timer_remaining(loop, &c->timer) <= seconds)
      return;   /* fires first and re-arms for the rest */
    ev_timer_stop(loop, &c->timer);
  }
  ev_timer_set(&c->timer, seconds, 0.);
  ev_timer_start(loop, &c->timer);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct http_conn *c = (struct http_conn *)((char *)w - offsetof(struct http_conn, timer));
  if (c->phase == PHASE_HANDLING || c->phase == PHASE_CLOSED || c->deadline == 0)
    return;
  ev_tstamp left = c->deadline - ev_now(loop);
  if (left > 0.001) {
    ev_timer_set(w, left, 0.);
    ev_timer_start(loop, w);
    return;
  }
  lua_State *L = c->ex.server->rt->L;
  int obj = tcp_socket_push(L, c->ex.sock);
  if (c->phase == PHASE_H2) {     /* HTTP/2: idle with no stream open for keepAliveTimeout */
    if (h2_session_idle(c->h2)) {
      h2_session_goaway(c->h2, L, obj);
      if (c->phase != PHASE_CLOSED) {
        c->phase = PHASE_CLOSED;
        tcp_socket_disconnect(L, obj);
      }
    } else {
      set_deadline(c, c->ex.server->keep_alive_timeout);
    }
  } else if (c->phase == PHASE_IDLE) {   /* idle keep-alive, or a client that never spoke */
    c->phase = PHASE_CLOSED;
    tcp_socket_disconnect(L, obj);
  } else {                        /* a request begun and not complete: slowloris */
    http_conn_refuse(c, L, obj, 408);
  }
  lua_settop(L, obj - 1);
}

/* ---- the server's own answers ---- */

void http_conn_refuse(struct http_conn *c, lua_State *L, int obj, int status) {
  if (c->phase == PHASE_CLOSED)
    return;
  bool answer = !(c->phase == PHASE_HANDLING && c->ex.head_sent);
  bool head = c->parser.method == HTTP_HEAD && c->phase != PHASE_HEAD;   /* a HEAD: no body */
  c->phase = PHASE_CLOSED;
  if (answer) {
    char msg[64];
    const char *reason = http_reason(status);
    http_server_date(c->ex.server);
    int body_len = snprintf(msg, sizeof msg, "%d %s\n", status, reason);
    char text[256];
    int head_len = head   /* no body, and no length: the close ends it */
                       ? snprintf(text, sizeof text, "HTTP/1.1 %d %s\r\nConnection: close\r\n%.*s\r\n", status,
                                  reason, (int)c->ex.server->date_len, c->ex.server->date)
                       : snprintf(text, sizeof text,
                                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                                  "Connection: close\r\n%.*s\r\n",
                                  status, reason, body_len, (int)c->ex.server->date_len, c->ex.server->date);
    struct iovec iov[2] = { { text, (size_t)head_len }, { msg, (size_t)body_len } };
    tcp_socket_send(c->ex.sock, L, obj, iov, head ? 1 : 2);
  }
  tcp_socket_disconnect(L, obj);
}

/* ---- handing a request out ---- */

/* Emits request(req, res); req is at req_idx. */
static void dispatch(struct http_conn *c, lua_State *L, int obj, int req_idx) {
  c->phase = PHASE_HANDLING;
  c->deadline = 0;
  http_dispatch(&c->ex, L, obj, req_idx);
}

/* The head is complete at the read buffer's head (len bytes): checks that
 * answer before the body, then the request object, on L's top. false when
 * the connection was refused. */
static bool begin_request(struct http_conn *c, lua_State *L, int obj, size_t len) {
  struct buffer *rb = tcp_socket_input(c->ex.sock);
  struct http_head h;
  struct http_field fields[HTTP_FIELDS_ON_STACK];
  if (http_head_scan(buffer_head(rb), len, fields, HTTP_FIELDS_ON_STACK, &h) < 0) {
    http_conn_refuse(c, L, obj, h.error);
    return false;
  }
  llhttp_t *p = &c->parser;
  int status = 0;
  if (p->http_major != 1)
    status = 505;   /* "HTTP/2.0 GET": this server speaks HTTP/1.x here */
  else if (p->http_minor >= 1 && !h.has_host)
    status = 400;   /* RFC 9112 3.2: MUST */
  else if (h.has_te && p->http_minor == 0)
    status = 400;   /* RFC 9112 6.1: chunked in HTTP/1.0 is faulty framing */
  else if (p->method >= 64 || !((c->ex.server->methods >> p->method) & 1))
    status = 501;   /* a method nobody said it serves (RFC 9110 9.1) */
  if (status) {
    http_conn_refuse(c, L, obj, status);
    return false;
  }
  if (!c->ex.server->stream_body && (p->flags & F_CONTENT_LENGTH) && p->content_length > c->ex.server->max_body) {
    http_conn_refuse(c, L, obj, 413);
    return false;
  }
  c->ex.number++;
  c->ex.head_request = p->method == HTTP_HEAD;
  c->ex.http11 = p->http_major == 1 && p->http_minor >= 1;
  c->ex.keep_alive = llhttp_should_keep_alive(p);
  c->ex.body_done = false;
  c->ex.streaming = c->ex.server->stream_body;
  http_exchange_free_body(&c->ex);
  http1_request_push(L, &c->ex, buffer_head(rb), len, &h, fields, obj);
  if (h.expect == EXPECT_OTHER) {
    lua_pop(L, 1);
    http_conn_refuse(c, L, obj, 417);
    return false;
  }
  bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
  if (h.expect == EXPECT_CONTINUE && c->ex.http11 && has_body && rb->len == len) {
    struct iovec iov = { "HTTP/1.1 100 Continue\r\n\r\n", 25 };
    tcp_socket_send(c->ex.sock, L, obj, &iov, 1);
  }
  return true;
}

/* After a feed: the time-out of the phase the connection is in, and
 * back-pressure on a client that sends ahead. */
static void after_feed(struct http_conn *c) {
  struct http_server *sv = c->ex.server;
  if (c->phase == PHASE_CLOSED)
    return;
  /* headerTimeout: from a head's first byte to its end, and between the
   * reads of a body */
  if ((c->phase == PHASE_HEAD && c->head_new) || c->phase == PHASE_BODY)
    set_deadline(c, sv->header_timeout);
  c->head_new = false;
  size_t held = tcp_socket_input(c->ex.sock)->len + body_len(c);
  if (c->phase == PHASE_HANDLING && held >= READ_AHEAD_MAX) {
    tcp_socket_pause_reading(c->ex.sock);
    c->reading_paused = true;
  }
}

static void parser_reset(struct http_conn *c) {
  llhttp_init(&c->parser, HTTP_REQUEST, settings());
  /* Any HTTP/d.d gets through llhttp, so that begin_request can answer
   * 1.2 as 1.1 (RFC 9110 6.2) and 2.0 or 3.0 with 505. */
  c->parser.lenient_flags |= LENIENT_VERSION;
}

/* llhttp refuses a method it does not know at its first byte, but whether
 * that is a bad request (400) or a method we do not implement (501)
 * shows only at the space after it. What the bytes at p[0..n) are: */
enum method_shape { METHOD_NOT, METHOD_SO_FAR, METHOD_TOKEN };
#define METHOD_MAX 24   /* longer than any method: not one */

static enum method_shape method_shape(const char *p, size_t n) {
  for (size_t i = 0; i < n && i <= METHOD_MAX; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == ' ')
      return i > 0 ? METHOD_TOKEN : METHOD_NOT;
    if (!http_token_char(c))
      return METHOD_NOT;
  }
  return n <= METHOD_MAX ? METHOD_SO_FAR : METHOD_NOT;
}

/* The status for what llhttp refused in the bytes at p[0..n): 501 for a
 * token followed by a space, as a request line's method is; the rest is a
 * bad request ("NONSENSE\r\n"). llhttp takes any HTTP/d.d here
 * (LENIENT_VERSION), so a version it refuses is malformed (400), whichever
 * bytes have come yet; begin_request answers a well-formed one it does
 * not speak with 505. */
static int parse_error_status(llhttp_errno_t err, const char *p, size_t n) {
  return err == HPE_INVALID_METHOD && method_shape(p, n) == METHOD_TOKEN ? 501 : 400;
}

/* Whether a connection's first line, complete at p[0..n), has words but
 * no HTTP version at its end ("INVALID CONNECTION PREFACE"). With a method
 * we do not know either, it is not HTTP/1.x: an HTTP/2 client whose
 * preface is wrong, or another protocol. An HTTP/1.1 answer would put text
 * before what such a client reads as frames, so the connection closes
 * without one, as RFC 9113 3.4 has an HTTP/2 server do with a preface it
 * does not know. */
static bool no_http_version(const char *p, size_t n) {
  const char *end = memchr(p, '\n', n);
  if (!end)
    return false;
  if (end > p && end[-1] == '\r')
    end--;
  const char *word = end;
  while (word > p && word[-1] != ' ')
    word--;
  return word > p && (end - word < 5 || memcmp(word, "HTTP/", 5) != 0);
}

/* Before a request line, empty lines are ignored, as RFC 9112 2.2 asks of
 * a server (a client may send one after a POST's body): CRLF, and a bare
 * LF as llhttp and nginx skip it too, so that the answer does not depend
 * on which of us sees it first. Consumes them from rb; true when it did,
 * so that the caller looks again. A CR not followed by LF is llhttp's to
 * refuse. */
static bool skip_empty_lines(struct buffer *rb, size_t *avail) {
  size_t n = 0;
  const char *p = buffer_head(rb);
  for (;;) {
    if (n + 1 < *avail && p[n] == '\r' && p[n + 1] == '\n')
      n += 2;
    else if (n < *avail && p[n] == '\n')
      n++;   /* a bare LF, as llhttp itself skips it (and nginx) */
    else
      break;
  }
  if (n == 0)
    return false;
  buffer_consume(rb, n);
  *avail -= n;
  return true;
}

/* A request line without a version ("GET /\r\n", HTTP/0.9) makes llhttp
 * wait for fields that never come; once the first line is whole, it must
 * end in " HTTP/d.d". Looked at once per head, and only while llhttp is
 * still waiting for its end (a head that came whole had its version). */
static bool request_line_ok(struct http_conn *c, const char *p, size_t n) {
  const char *lf = memchr(p, '\n', n);
  if (!lf)
    return true;   /* not whole yet */
  c->line_checked = true;
  return lf - p >= 11 && lf[-1] == '\r' && lf[-10] == ' ' && memcmp(lf - 9, "HTTP/", 5) == 0;
}

/* Runs llhttp over what is unparsed, handing out requests, until the data
 * runs out, a handler keeps its request, or the connection ends. */
static void conn_feed(struct http_conn *c, lua_State *L, int obj);

/* An HTTP/2 connection's bytes; a client that stays idle for
 * keepAliveTimeout (no stream open) is told GOAWAY and closed. */
static void h2_feed(struct http_conn *c, lua_State *L, int obj) {
  set_deadline(c, c->ex.server->keep_alive_timeout);
  h2_session_feed(c->h2, L, obj);
}

static void h2_readable(struct socket_reader *r, lua_State *L, int obj) {
  h2_feed((struct http_conn *)r, L, obj);
}

static void conn_closed(struct socket_reader *r);
static void conn_release(struct socket_reader *r);

/* The connection's first bytes were HTTP/2's preface (h2c with prior
 * knowledge): the session takes it from here, its bytes going to h2_feed
 * from the socket (so conn_feed never has to ask). */
static void start_h2(struct http_conn *c, lua_State *L, int obj) {
  if (!(c->h2 = h2_session_new(c))) {
    c->phase = PHASE_CLOSED;
    tcp_socket_disconnect(L, obj);
    return;
  }
  static const struct socket_reader_ops h2_reader_ops = { h2_readable, conn_closed, conn_release };
  c->reader.ops = &h2_reader_ops;
  c->phase = PHASE_H2;
  /* A client that sends (PINGs, SETTINGS, requests) without reading what
   * they make us answer is read no more past this, so it cannot grow our
   * queue; the send time-out then cuts it off. */
  tcp_socket_set_write_high_water(c->ex.sock, H2_WRITE_HIGH_WATER);
  h2_feed(c, L, obj);
}

static void conn_feed(struct http_conn *c, lua_State *L, int obj) {
  if (c->feeding)
    return;   /* the loop below is on the stack: it goes on by itself */
  c->feeding = true;
  struct buffer *rb = tcp_socket_input(c->ex.sock);
  bool step = false;   /* after a head, one empty execute ends a body-less message */
  int req = 0;         /* the request being received, on the stack */
  while (c->phase != PHASE_CLOSED) {
    if (c->phase == PHASE_HANDLING && !(c->ex.streaming && !c->ex.body_done))
      break;
    if (c->phase == PHASE_HANDLING && body_len(c) >= READ_AHEAD_MAX)
      break;   /* the handler reads slower than the body comes */
    size_t avail = rb->len - c->parsed;
    if (avail == 0 && !step)
      break;
    if (c->phase == PHASE_IDLE) {
      c->phase = PHASE_HEAD;
      c->head_new = true;
      c->line_checked = false;
    }
    const char *start = rb->data ? buffer_head(rb) + c->parsed : "";
    /* A head's first bytes. (Before any request, the phase here is
     * PHASE_HEAD: the preface is looked for only there.) */
    if (c->phase == PHASE_HEAD && c->parsed == 0) {
      if (start[0] == 'P' && c->ex.number == 0 && h2_is_preface(start, avail)) {
        if (avail >= H2_PREFACE_LINE)
          start_h2(c, L, obj);
        c->feeding = false;
        return;   /* HTTP/2 from here; or the rest of its preface is still coming */
      }
      if (avail > c->ex.server->max_header + 1)
        avail = c->ex.server->max_header + 1;   /* past the limit is 431, whatever follows */
      if (avail == 1 && start[0] == '\r')
        break;   /* an empty line's CR, or not: its LF will tell */
      if (avail && (start[0] == '\r' || start[0] == '\n') && skip_empty_lines(rb, &avail)) {
        if (avail == 0 && c->head_new)   /* only empty lines: still idle */
          c->phase = PHASE_IDLE, c->head_new = false;
        continue;
      }
    } else if (c->phase == PHASE_HEAD && avail > c->ex.server->max_header + 1 - c->parsed) {
      avail = c->ex.server->max_header + 1 - c->parsed;
    }
    if (c->at_chunk_line && c->phase != PHASE_HEAD) {
      bool last = false;
      int r = http_chunk_line_check((char *)start, avail, c->ex.server->max_header, &last);
      if (r == HTTP_CHUNK_MORE)
        break;   /* the rest of the line comes */
      if (r) {
        http_conn_refuse(c, L, obj, r);
        break;
      }
      c->at_chunk_line = false;
    }
    c->paused = PAUSE_NONE;
    c->error_status = 0;
    llhttp_errno_t err = llhttp_execute(&c->parser, start, avail);
    size_t used = avail;
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
      used = (size_t)(llhttp_get_error_pos(&c->parser) - start);
      /* An Upgrade we do not take is ignored (RFC 9110 7.8): the
       * connection goes on as HTTP/1.1 with its next request. */
      if (err == HPE_PAUSED_UPGRADE)
        llhttp_resume_after_upgrade(&c->parser);
      else
        llhttp_resume(&c->parser);
    } else if (err != HPE_OK) {
      /* A method is judged from the head's first byte, however the bytes
       * came: llhttp may have taken "G" of "G T" in an earlier read. */
      const char *head = c->phase == PHASE_HEAD ? buffer_head(rb) : start;
      size_t head_len = c->phase == PHASE_HEAD ? c->parsed + avail : avail;
      if (err == HPE_INVALID_METHOD && c->phase == PHASE_HEAD && method_shape(head, head_len) == METHOD_SO_FAR) {
        parser_reset(c);   /* read it again, whole, when the rest has come */
        c->parsed = 0;
        break;
      }
      int status = c->error_status ? c->error_status : parse_error_status(err, head, head_len);
      if (status == 501 && c->ex.number == 0 && c->phase == PHASE_HEAD) {
        if (!memchr(head, '\n', head_len) && head_len <= c->ex.server->max_header) {
          parser_reset(c);   /* judged on the whole line, however the bytes come */
          c->parsed = 0;
          break;
        }
        if (no_http_version(head, head_len)) {
          c->phase = PHASE_CLOSED;
          tcp_socket_disconnect(L, obj);
          break;
        }
      }
      http_conn_refuse(c, L, obj, status);
      break;
    }
    step = false;
    if (c->phase == PHASE_HEAD) {
      c->parsed += (uint32_t)used;
      if (c->paused != PAUSE_HEADERS && !c->line_checked && !request_line_ok(c, buffer_head(rb), c->parsed)) {
        http_conn_refuse(c, L, obj, 400);
        break;
      }
      if (c->parsed > c->ex.server->max_header) {   /* complete or not */
        http_conn_refuse(c, L, obj, 431);
        break;
      }
      if (c->paused != PAUSE_HEADERS)
        continue;
      size_t len = c->parsed;
      if (!begin_request(c, L, obj, len))
        break;
      req = lua_gettop(L);
      buffer_consume(rb, len);
      c->parsed = 0;
      c->phase = PHASE_BODY;
      step = true;
      if (c->ex.streaming) {
        dispatch(c, L, obj, req);
        lua_settop(L, req - 1);
        req = 0;
      }
      continue;
    }
    buffer_consume(rb, used);   /* body bytes: in c->ex.body now */
    if (c->paused == PAUSE_MESSAGE) {
      c->ex.body_done = true;
      if (c->ex.streaming) {
        if (c->ex.body_wait)
          lnet_wait_finish(c->ex.server->rt, c->ex.body_wait, true);
        continue;
      }
      if (!req) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->pending_req);
        req = lua_gettop(L);
        lnet_unanchor(L, &c->pending_req);
      }
      if (c->ex.body) {   /* none (a GET): req.body reads "" with no string made */
        lua_pushlstring(L, buffer_head(c->ex.body), c->ex.body->len);
        http_request_set_body(L, req);
        http_exchange_free_body(&c->ex);
      }
      dispatch(c, L, obj, req);
      lua_settop(L, req - 1);
      req = 0;
    } else if (c->ex.streaming && body_len(c) > 0 && c->ex.body_wait) {
      lnet_wait_finish(c->ex.server->rt, c->ex.body_wait, true);
    }
  }
  if (req) {   /* its body is still coming: the request waits in the registry */
    if (c->phase == PHASE_BODY) {
      lua_pushvalue(L, req);
      c->pending_req = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_settop(L, req - 1);
  }
  c->feeding = false;
  after_feed(c);
}

/* The client may send again: what after_feed paused, reading resumes. */
static void resume_reading(struct http_conn *c) {
  if (c->reading_paused) {
    c->reading_paused = false;
    tcp_socket_resume_reading(c->ex.sock);
  }
}

/* ---- the socket's reader ---- */

static void conn_readable(struct socket_reader *r, lua_State *L, int obj) {
  conn_feed((struct http_conn *)r, L, obj);
}

static void wake_body_reader(struct http_conn *c) {
  if (c->ex.body_wait)
    lnet_wait_finish(c->ex.server->rt, c->ex.body_wait, false);
}

static void conn_closed(struct socket_reader *r) {
  struct http_conn *c = (struct http_conn *)r;
  struct http_server *sv = c->ex.server;
  c->phase = PHASE_CLOSED;
  ev_timer_stop(sv->rt->loop, &c->timer);
  if (c->h2)
    h2_session_closed(c->h2);
  wake_body_reader(c);
  lnet_unanchor(sv->rt->L, &c->pending_req);
  lnet_unanchor(sv->rt->L, &c->ex.req_ref);   /* a response never finished is not logged */
  if (c->linked)
    http_server_unlink(sv, c);
}

static void conn_upgraded(struct http_conn *c) {
  c->ex.res_done = c->ex.head_sent = true;   /* res says "after finish()" from here on */
  conn_closed(&c->reader);
}

static void conn_release(struct socket_reader *r) {
  struct http_conn *c = (struct http_conn *)r;
  if (c->h2)
    h2_session_free(c->h2);
  free(c->ex.body_wait);
  http_exchange_free_body(&c->ex);
  http_response_free_headers(&c->ex);
  free(c);
}

void http_conn_start(struct http_server *sv, lua_State *L, int sock_obj) {
  struct tcp_socket *s = tcp_socket_test(L, sock_obj);
  if (!s || !tcp_socket_is_open(s))
    return;
  struct http_conn *c = calloc(1, sizeof *c);
  if (!c) {
    tcp_socket_disconnect(L, sock_obj);
    return;
  }
  static const struct socket_reader_ops ops = { conn_readable, conn_closed, conn_release };
  c->reader.ops = &ops;
  c->ex.ops = &conn_ops;
  c->ex.server = sv;   /* the connection's server and socket: its exchange's */
  c->ex.sock = s;
  c->pending_req = c->ex.req_ref = LUA_NOREF;
  parser_reset(c);
  ev_init(&c->timer, timer_cb);
  tcp_socket_set_reader(s, &c->reader);
  tcp_socket_set_send_timeout(s, sv->send_timeout);
  http_server_link(sv, c);
  c->phase = PHASE_IDLE;
  set_deadline(c, sv->header_timeout);   /* a client that never speaks goes */
  if (tcp_socket_input(s)->len > 0)
    conn_feed(c, L, sock_obj);
}

void http_conn_finished(struct http_exchange *ex, lua_State *L, int obj) {
  struct http_conn *c = http_conn_of(ex);
  struct http_server *sv = c->ex.server;
  c->ex.res_done = true;
  if (c->ex.req_ref != LUA_NOREF) {
    http_request_log(L, &c->ex);
    lnet_unanchor(L, &c->ex.req_ref);
  }
  if (c->phase == PHASE_CLOSED)
    return;
  if (c->ex.close_after || !c->ex.body_done) {   /* a body the handler left unread: no next request */
    c->phase = PHASE_CLOSED;
    tcp_socket_disconnect(L, obj);
    return;
  }
  c->phase = PHASE_IDLE;
  set_deadline(c, sv->keep_alive_timeout);
  resume_reading(c);
  if (tcp_socket_input(c->ex.sock)->len > 0)
    conn_feed(c, L, obj);
}

void http_conn_close_idle(struct http_conn *c, double grace) {
  if (c->phase == PHASE_H2) {   /* GOAWAY: open streams finish, new ones are refused */
    lua_State *L = c->ex.server->rt->L;
    int obj = tcp_socket_push(L, c->ex.sock);
    h2_session_goaway(c->h2, L, obj);
    lua_settop(L, obj - 1);
    return;
  }
  /* A request may be on its way: it is answered (with Connection: close)
   * if it comes within the grace, and the timer closes the connection if
   * none does. Closing at once would lose it. A busy connection's
   * response says Connection: close. */
  if (c->phase == PHASE_IDLE && (c->deadline == 0 || c->deadline > ev_now(c->ex.server->rt->loop) + grace))
    set_deadline(c, grace);
}

/* req:readSome(): the body bytes that came, nil at its end, false when
 * none are there yet. */
static int conn_read_body(struct http_exchange *ex, lua_State *L, uint32_t exchange) {
  struct http_conn *c = http_conn_of(ex);
  if (c->ex.number != exchange || !c->ex.streaming)
    return luaL_error(L, "HttpRequest:read(): not a streamed request, or one that is over");
  if (body_len(c) > 0) {
    lua_pushlstring(L, buffer_head(c->ex.body), c->ex.body->len);
    http_exchange_free_body(&c->ex);
    if (c->phase != PHASE_CLOSED && !c->ex.body_done) {
      int obj = tcp_socket_push(L, c->ex.sock);
      conn_feed(c, L, obj);   /* what waited in the read buffer */
      lua_settop(L, obj - 1);
      resume_reading(c);
    }
    return 1;
  }
  if (c->ex.body_done) {
    lua_pushnil(L);
    return 1;
  }
  if (c->phase == PHASE_CLOSED) {
    lua_pushnil(L);
    lua_pushliteral(L, "connection closed");
    return 2;
  }
  lua_pushboolean(L, 0);
  return 1;
}

/* ---- the exchange's ops: HTTP/1.x on this connection ---- */

static bool conn_open(const struct http_exchange *ex) {
  return http_conn_of((struct http_exchange *)ex)->phase == PHASE_HANDLING;
}

static bool conn_send_file(struct http_exchange *ex, lua_State *L, int obj, int fd, off_t offset, size_t length) {
  return tcp_socket_send_file(ex->sock, L, obj, fd, offset, length);
}

static void conn_refuse(struct http_exchange *ex, lua_State *L, int obj, int status) {
  http_conn_refuse(http_conn_of(ex), L, obj, status);
}

/* The connection leaves HTTP (a WebSocket took it) once the request has
 * all come: as if it had closed, with the socket left open to its new
 * reader; the conn is freed with the socket, through that reader's
 * release. */
static bool conn_upgrade(struct http_exchange *ex) {
  struct http_conn *c = http_conn_of(ex);
  if (c->phase != PHASE_HANDLING || !ex->body_done || ex->streaming)
    return false;
  conn_upgraded(c);
  return true;
}

static const struct http_exchange_ops conn_ops = {
  .open = conn_open,
  .send = http1_send_body,
  .send_file = conn_send_file,
  .finished = http_conn_finished,
  .refuse = conn_refuse,
  .upgrade = conn_upgrade,
  .read_body = conn_read_body,
};
