/* HTTP/2 in net.HttpServer, on libnghttp2 (framing, HPACK, flow control,
 * the protocol's own checks). Only files of daemon/http include this.
 *
 *   h2_session.c   one connection's nghttp2 session: the bytes in from the
 *                  socket's read buffer, the bytes out to its write queue,
 *                  the streams' requests handed to the handlers, GOAWAY
 *   h2_stream.c    one stream as an exchange (struct http_exchange): its
 *                  request head written as HTTP/1.1's text, so req is the
 *                  same object, and its response as HEADERS and DATA
 *
 * An HTTP/1.x connection (struct http_conn) becomes HTTP/2 when its first
 * bytes are the client's preface (h2c with prior knowledge) or when TLS's
 * ALPN chose "h2"; the conn stays the server's connection (its list, its
 * timer, closeIdle) and hands its bytes to the session. */
#ifndef LUANET_H2_PRIVATE_H
#define LUANET_H2_PRIVATE_H

#include "http_private.h"

#include <nghttp2/nghttp2.h>

/* The client's connection preface (RFC 9113 3.4). */
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
/* Its first line: no HTTP/1.x request starts so, so a connection that
 * does speaks HTTP/2 (and a wrong rest of the preface is nghttp2's to
 * refuse, with GOAWAY). */
#define H2_PREFACE_LINE 16

/* Concurrent streams a client may open (SETTINGS_MAX_CONCURRENT_STREAMS). */
#define H2_MAX_STREAMS 100
/* The connection's receive window (each stream's stays at 64 KiB). */
#define H2_CONNECTION_WINDOW (1024 * 1024)
/* Bytes queued for the client past which its connection is read no more. */
#define H2_WRITE_HIGH_WATER (1024 * 1024)

struct h2_session;

struct h2_stream {
  struct http_exchange ex;   /* what req and res hold */
  struct h2_session *h;
  int32_t id;
  struct h2_stream *next;    /* in the session's open list, or its free list */
  struct h2_stream *ready_next;   /* in the list of requests to hand out */
  bool queued;               /* in that list */
  /* The request as it comes. */
  struct buffer fields;      /* "name: value\r\n" lines of its regular fields */
  struct buffer pseudo;      /* :method, :path, :authority, :scheme values, NUL-separated */
  uint32_t method_at, method_len, path_at, path_len, authority_at, authority_len;
  bool has_host;
  ev_tstamp began;           /* its HEADERS began */
  ev_tstamp last_in;         /* the last of its request's frames came */
  ev_tstamp stalled_since;   /* its response waits on the peer's window; 0: not */
  bool headers_done;         /* END_HEADERS came */
  bool ended;                /* END_STREAM came: the body is whole */
  bool dispatched;           /* the handlers have the request */
  bool too_large;            /* its body passed maxBody: 413 */
  size_t held;               /* its buffered body bytes, counted in the session's body_held */
  uint32_t owed;             /* received bytes whose window waits for body_held to fall */
  bool closed;               /* the stream is over (either side, or the connection) */
  int pending_req;           /* the request while its body comes (a registry ref) */
  /* The response. */
  bool submitted;            /* HEADERS went to nghttp2 */
  bool deferred;             /* the data source has nothing now */
  bool out_end;              /* the body's end is in `out` (or the file) */
  struct buffer out;         /* body bytes nghttp2 has not taken yet */
  int file_fd;               /* sendFile: the rest of a file range, or -1 */
  off_t file_off;
  size_t file_left;
};

/* h2_session.c */
/* Whether p[0..n) is the start of the preface's first line, or all of
 * that line. */
bool h2_is_preface(const char *p, size_t n);
/* The session of conn c, its SETTINGS queued; NULL when memory ran out. */
struct h2_session *h2_session_new(struct http_conn *c);
/* Reads what the socket's buffer holds, hands out complete requests and
 * sends what the session has to send. obj: the socket. */
void h2_session_feed(struct h2_session *h, lua_State *L, int obj);
/* Sends what the session has queued (not while it reads). */
void h2_session_flush(struct h2_session *h, lua_State *L, int obj);
/* closeIdle, a reload's stopping, shutdown: GOAWAY, open streams finish,
 * then the connection closes. */
void h2_session_goaway(struct h2_session *h, lua_State *L, int obj);
/* Whether no stream is open (the idle time-out may close it). */
bool h2_session_idle(const struct h2_session *h);
/* The socket closed: every stream is over. */
void h2_session_closed(struct h2_session *h);
void h2_session_free(struct h2_session *h);
struct http_conn *h2_session_conn(const struct h2_session *h);
nghttp2_session *h2_session_ng(const struct h2_session *h);

/* h2_stream.c */
extern const struct http_exchange_ops h2_stream_ops;
/* The data source of a stream's response body. */
ssize_t h2_stream_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                       nghttp2_data_source *source, void *ud);
/* The request of a stream whose headers are complete, on L's top; false
 * after answering it with an error status (or resetting it). */
bool h2_stream_request(struct h2_stream *st, lua_State *L, int obj);

#endif
