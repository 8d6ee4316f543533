/* daemon/http's inside: the structs and functions its files share.
 * Only files of daemon/http include this (tools/include-graph.py fails a
 * *_private.h included from another folder); the rest of the daemon sees
 * the classes through http_server.h and http_parser.h.
 *
 *   http_server.c    the server object: options, serve/listen, closeIdle
 *   http_conn.c      one connection: llhttp over the socket's read buffer,
 *                    time-outs, dispatch, the server's own refusals
 *   http_request.c   the request object (req) handed to the handler
 *   http_response.c  the response object (res) and its framing
 *   http_target.c    the request-target, Host and Transfer-Encoding checks
 *   http_chunk.c     the chunk-size lines and trailers of a chunked body
 *   http_parser.c    net.HttpParser; lends its headers table builder
 *
 * The hot path — a keep-alive request whose head arrives in one read and
 * whose handler answers at once — parses in the borrowed read scratch,
 * makes two small userdata (req and res), keeps the response's headers in
 * a borrowed buffer, and sends the response with one writev. */
#ifndef LUANET_HTTP_PRIVATE_H
#define LUANET_HTTP_PRIVATE_H

#include "buffer.h"
#include "object.h"
#include "runtime.h"
#include "tcp_socket.h"
#include "wait.h"

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <strings.h>

#define LNET_HTTPSERVER   "luanet.HttpServer"
#define LNET_HTTPREQUEST  "luanet.HttpRequest"
#define LNET_HTTPRESPONSE "luanet.HttpResponse"

struct http_conn;
struct http_server;
struct http_exchange;
struct h2_session;

/* One request and its response: what req and res see. A connection of
 * HTTP/1.x has one at a time (struct http_conn's ex); req and res hold
 * the exchange and its number, so a stale one (kept past its response) is
 * told apart from the request the exchange carries now. */
/* What a response does that depends on its connection: HTTP/1.x frames
 * it on the socket (http_conn.c's table, whose send is http_response.c's
 * http1_send_body); each returns false when the peer is gone. sock_obj
 * is the socket on L's stack. */
struct http_exchange_ops {
  /* Whether the exchange still awaits its response (not refused, not
   * closed). */
  bool (*open)(const struct http_exchange *ex);
  /* Sends the head (unless it went) and data[0..len) of the body;
   * known_length: the body's whole length for a head that goes now (-1:
   * not known yet); last: the body ends with data. */
  bool (*send)(struct http_exchange *ex, lua_State *L, int sock_obj, const char *data, size_t len,
               int64_t known_length, bool last);
  /* length bytes of fd from offset, after the head; fd is the callee's. */
  bool (*send_file)(struct http_exchange *ex, lua_State *L, int sock_obj, int fd, off_t offset, size_t length);
  /* The response is complete. */
  void (*finished)(struct http_exchange *ex, lua_State *L, int sock_obj);
  /* A response the server makes itself (a failed handler, no memory). */
  void (*refuse)(struct http_exchange *ex, lua_State *L, int sock_obj, int status);
  /* res:_upgrade(): the connection leaves HTTP; NULL where it cannot. */
  bool (*upgrade)(struct http_exchange *ex);
  /* req:readSome() of a streamed body (req:waitBody is alike for both:
   * http_exchange_wait_body). */
  int (*read_body)(struct http_exchange *ex, lua_State *L, uint32_t number);
};

struct http_exchange {
  const struct http_exchange_ops *ops;
  struct http_server *server;
  struct tcp_socket *sock;
  struct buffer *body;       /* request body bytes not yet handed to Lua; NULL: none */
  struct lnet_wait *body_wait;   /* a task in req:waitBody() */
  struct buffer *headers;    /* the response's "Name: value\r\n" lines the
                                handler set: the server's head_buf while the
                                handler runs, else one of its own; NULL: none */
  int64_t bytes;             /* response body bytes sent, for the access log */
  uint32_t number;           /* counts requests: stale req/res objects are told apart */
  int status;                /* the response's */
  int req_ref;               /* the request, while the access log needs it */
  /* The request. */
  bool head_request, http11, keep_alive;
  bool streaming;            /* req:read() gets the body (streamBody) */
  bool body_done;            /* the message's end was parsed */
  /* The response (http_response.c). */
  bool res_done, head_sent, chunked, bodyless, close_after;
  bool has_length, has_date, has_connection, has_te;   /* headers the handler set */
};

struct http_server {
  struct lnet_object obj;   /* first: its class */
  struct lnet_runtime *rt;
  int ref;                   /* anchor while it serves a TcpServer or has connections */
  int slots_ref;             /* its slot table (user value), once a request found it */
  int tcp_ref;               /* the TcpServer it serves */
  bool owns_tcp;             /* made by listen(): close() closes it */
  int log_ref;               /* accessLog(line), or LUA_NOREF */
  int request_mt_ref, response_mt_ref;   /* the metatables, without a lookup by name */
  size_t max_header, max_body;
  double header_timeout, keep_alive_timeout;   /* seconds */
  double send_timeout;       /* seconds a response may wait with nothing read */
  bool stream_body;          /* handlers read bodies with req:read() */
  uint64_t methods;          /* llhttp method ids served (bit i); others get 501 */
  bool closing;              /* closeIdle(): every response says Connection: close */
  struct http_conn *conns;   /* open connections, a list */
  int nconns;
  struct buffer head_buf;    /* lent to one response's headers at a time */
  bool head_buf_busy;
  ev_tstamp date_second;     /* the second `date` was made for */
  char date[48];             /* "Date: ...\r\n" */
  size_t date_len;
};

enum conn_phase {
  PHASE_IDLE,        /* between requests: the keep-alive time-out runs */
  PHASE_HEAD,        /* a head has begun: the header time-out runs */
  PHASE_BODY,        /* a head is in, its body is coming */
  PHASE_HANDLING,    /* the handler has the request; its response is not finished */
  PHASE_H2,          /* HTTP/2: the session (h2_session.c) has the connection */
  PHASE_CLOSED,
};

struct http_conn {
  struct socket_reader reader;   /* first: the socket's reader is the connection */
  struct http_conn *prev, *next;
  llhttp_t parser;
  ev_timer timer;
  ev_tstamp deadline;        /* when the running time-out ends */
  uint32_t parsed;           /* bytes at the read buffer's head llhttp has seen (a partial head) */
  uint8_t phase;
  uint8_t paused;            /* why llhttp stopped (http_conn.c) */
  bool feeding;              /* conn_feed is on the stack */
  bool head_new;             /* a head began in this feed */
  bool line_checked;         /* its request line was seen whole */
  bool reading_paused;       /* back-pressure on a client that sends ahead */
  bool linked;               /* in the server's list */
  bool at_chunk_line;        /* llhttp is to read a chunk-size line next */
  bool last_chunk;           /* the chunk being read is the last (size 0) */
  int error_status;          /* our own checks' answer (400, 413, 431) */
  int pending_req;           /* a request whose body is coming, anchored */
  struct http_exchange ex;   /* the request in progress and its response */
  struct h2_session *h2;     /* once the connection speaks HTTP/2 */
};

/* The HTTP/1.x connection whose exchange ex is (one with HTTP/1.x's ops:
 * http1_send_body, http_conn_finished). */
static inline struct http_conn *http_conn_of(struct http_exchange *ex) {
  return (struct http_conn *)((char *)ex - offsetof(struct http_conn, ex));
}

/* A head's field: offsets into the head. */
struct http_field {
  uint32_t name, name_len, value, value_len;
};

enum { EXPECT_NONE, EXPECT_CONTINUE, EXPECT_OTHER };

enum http_target_kind { TARGET_ORIGIN, TARGET_ABSOLUTE, TARGET_AUTHORITY, TARGET_ASTERISK };

/* A request-target's parts, as offsets into it. */
struct http_target {
  enum http_target_kind kind;
  uint32_t authority, authority_len;   /* absolute-form's (or CONNECT's) */
  uint32_t path;             /* where path [? query] begins */
};

struct http_head {
  uint32_t target, target_len;
  struct http_target form;
  int nfields;
  bool has_host;
  bool has_te;               /* a Transfer-Encoding field (valid: chunked) */
  int expect;                /* EXPECT_* */
  int error;                 /* the status to refuse with */
};

/* RFC 9110 tchar: visible ASCII but the separators "(),/:;<=>?@[\]{}
 * (header names, methods, chunk extensions). */
static inline bool http_token_char(unsigned char ch) {
  static const uint64_t bits[2] = { 0x03ff6cfa00000000u, 0x57ffffffc7fffffeu };
  return ch < 128 && (bits[ch >> 6] >> (ch & 63) & 1);
}

/* http_chunk.c */
#define HTTP_CHUNK_MORE 1
/* The chunk-size line at p[0..n) (and after a last chunk, the trailer
 * section, at most trailer_max bytes): 0 when it is well formed (its
 * extensions overwritten in place for llhttp; *last set for a size of
 * 0), HTTP_CHUNK_MORE while it is incomplete, or the status to refuse
 * with. */
int http_chunk_line_check(char *p, size_t n, size_t trailer_max, bool *last);

/* http_target.c */
/* Its character table; called when a server is made. */
void http_target_init(void);
/* uri-host [ ":" port ]: no userinfo, path, space or list. s[n] must be
 * readable and no host byte (the CR or space after it in a head). */
bool http_authority_valid(const char *s, size_t n);
/* Parses target t[0..n) for `method` (t[n] is the space after it): 0 with
 * its form in out, or the status to refuse with (400). */
int http_target_parse(const char *t, size_t n, const char *method, size_t method_len, struct http_target *out);
/* A request's Transfer-Encoding value: 0 when it is exactly chunked, else
 * 400 (chunked not last, or empty) or 501 (codings we do not decode). */
int http_transfer_coding(const char *v, size_t n);

/* http_conn.c */
void http_conn_start(struct http_server *sv, lua_State *L, int sock_obj);
/* The response finished: the connection goes on to the next request, or
 * closes. obj: the socket. HTTP/1.x's ops->finished itself, with no
 * wrapper: every request calls it. */
void http_conn_finished(struct http_exchange *ex, lua_State *L, int obj);
/* Closes an idle connection after `grace` seconds unless a request comes
 * first; a busy one closes after its response. */
void http_conn_close_idle(struct http_conn *c, double grace);
/* A response the server makes itself (a limit, a malformed request, a
 * failed handler), then the close. */
void http_conn_refuse(struct http_conn *c, lua_State *L, int obj, int status);

/* Frees the body bytes the exchange holds (inline: every HTTP/1.x request
 * begins with it). */
static inline void http_exchange_free_body(struct http_exchange *ex) {
  if (ex->body) {
    buffer_free(ex->body);
    free(ex->body);
    ex->body = NULL;
  }
}

/* http_exchange.c */
/* req:waitBody(ms): suspends until body bytes (or its end) come. */
int http_exchange_wait_body(struct http_exchange *ex, lua_State *L, double ms);

/* http_dispatch.c */
/* Emits the server's request signal with req (at req_idx) and a new res
 * for ex; obj: the socket. The caller has marked the exchange as handled. */
void http_dispatch(struct http_exchange *ex, lua_State *L, int obj, int req_idx);

/* http_request.c */
/* Indexes a head llhttp accepted (out may be NULL: count and check
 * only); the field count, or -1 with h->error the status to refuse with. */
int http_head_scan(const char *head, size_t len, struct http_field *out, int max, struct http_head *h);
/* [-0, +1, m] The request of head[0..len), indexed by http_head_scan
 * into fields (HTTP_FIELDS_ON_STACK of them; more are indexed again); it
 * holds the socket at sock_obj. */
#define HTTP_FIELDS_ON_STACK 32
void http_request_push(lua_State *L, struct http_exchange *ex, const char *head, size_t len,
                       const struct http_head *h, const struct http_field *fields, int sock_obj, int method,
                       int major, int minor);
/* The same for an HTTP/1.x connection's exchange: the method and version
 * are its parser's. */
void http1_request_push(lua_State *L, struct http_exchange *ex, const char *head, size_t len,
                        const struct http_head *h, const struct http_field *fields, int sock_obj);
/* [-1, +0, -] Sets req.body (the string on top) of the request at req. */
void http_request_set_body(lua_State *L, int req);
/* The access log's line for c's finished response, to accessLog. */
void http_request_log(lua_State *L, struct http_exchange *ex);
int luaopen_luanet_http_request(lua_State *L);

/* http_response.c */
const char *http_reason(int status);
void http_reasons_push(lua_State *L);
void http_response_push(lua_State *L, struct http_exchange *ex, int sock_obj);
/* Before the handler runs: a fresh response, its header buffer borrowed. */
void http_response_begin(struct http_exchange *ex);
/* After the handler's synchronous part: the borrowed buffer goes back. */
void http_response_settle(struct http_exchange *ex);
void http_response_free_headers(struct http_exchange *ex);
/* HTTP/1.x's framing, its ops->send itself (no wrapper: every request
 * calls it): the head (unless sent) and data as the response needs it
 * (plain, chunked, nothing for HEAD); nothing is sent on a closed
 * connection (false). obj: the socket. */
bool http1_send_body(struct http_exchange *ex, lua_State *L, int obj, const char *data, size_t len,
                     int64_t known_length, bool last);
int luaopen_luanet_http_response(lua_State *L);

/* http_server.c */
/* Makes sv->date current ("Date: ...\r\n"), once a second. */
void http_server_date(struct http_server *sv);
void http_server_link(struct http_server *sv, struct http_conn *c);
void http_server_unlink(struct http_server *sv, struct http_conn *c);
/* [-0, +1, m] Registers the metatable `name` of req or res: methods,
 * __index(obj, key) with the methods table as upvalue 1, __newindex.
 * Pushes the methods table (lua/luanet/http/server.lua adds to it). */
void http_register_object(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction index,
                          lua_CFunction newindex);

/* http_parser.c */
/* [-0, +0, m] Adds a field to the headers table on the top: its name in
 * lower case (at most 255 bytes) as the key; a repeated name's values are
 * joined by ", ", as Node does. req.headers and HttpParser:headers(). */
void http_headers_add(lua_State *L, const char *name, size_t name_len, const char *value, size_t value_len);

/* Whether the n bytes at p are `name` (name_len bytes), in any case. */
static inline bool http_name_is(const char *p, size_t n, const char *name, size_t name_len) {
  return n == name_len && strncasecmp(p, name, n) == 0;
}

#endif
