/* net.WebSocket: Qt's QWebSocket over a TcpSocket whose handshake is done.
 * The handshake is made elsewhere (a WebSocketServer's in ws_handshake.c;
 * a client's and an HttpServer's upgrade in lua/luanet/ws/), which then
 * calls websocket_attach (ws:_attach from Lua); from there the frames are
 * read here, in place in the socket's read buffer (the WebSocket is the
 * socket's reader, so readyRead is not emitted), and written here.
 *
 *   ws.textMessageReceived:connect(function(msg) ws:sendTextMessage(msg) end)
 *   ws:sendBinaryMessage(data), ws:ping(payload), ws:close(1000, "bye")
 *
 * What the protocol asks of a receiver (RFC 6455 5 to 7) is checked as the
 * bytes come: masking by role, reserved bits and opcodes, fragmentation
 * with control frames between fragments, UTF-8 of text (closing with 1007
 * at the first bad byte, not at the message's end), close codes, and the
 * message and frame limits (1009). A ping is answered with a pong by
 * itself. The close handshake: whoever closes first sends a close frame;
 * the other echoes it; the server then closes the TCP connection, and a
 * client waits for it to (WS_CLOSE_WAIT seconds at most).
 *
 * Lifetime. The framing state (struct ws_conn) belongs to the socket: it
 * is the socket's reader and is freed with it. The WebSocket object is
 * anchored while connected, so that a WebSocket no variable holds keeps
 * receiving; the two point at each other and each forgets the other when
 * it goes. */
#include "websocket.h"
#include "abstract_socket.h"
#include "buffer.h"
#include "object.h"
#include "runtime.h"
#include "signals.h"
#include "socket_error.h"
#include "tcp_socket.h"
#include "utf8.h"
#include "ws_accept.h"
#include "ws_deflate.h"
#include "ws_frame.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LNET_WEBSOCKET "luanet.WebSocket"
#define WS_CLOSE_WAIT 5.0                          /* seconds for the peer's half of a close */
#define WS_DEFAULT_MAX_MESSAGE ((uint64_t)16 << 20)   /* 16 MiB, as a safe default */
#define WS_DEFAULT_OUT_FRAME ((size_t)512 << 10)      /* Qt's outgoing frame size */
/* Shorter messages go uncompressed even with permessage-deflate: zlib's
 * cost and overhead would outweigh what it saves. */
#define WS_DEFLATE_MIN 128

/*** net.WebSocket: a WebSocket (RFC 6455), client or server side, as
 * Qt's QWebSocket. A client calls open(url); a server's come from a
 * WebSocketServer's nextPendingConnection or an HttpServer handler's
 * req:upgradeToWebSocket(res). What the protocol asks of a receiver is
 * checked as bytes come; a peer that breaks it is closed with the code
 * RFC 6455 names (1002, 1007, 1009), which closeCode() gives. Pings are
 * answered by themselves. A connected WebSocket keeps itself alive.
 * state, error and errorString are AbstractSocket's; the CloseCode names
 * are constants of net.WebSocket (numbers).
 * @classmod WebSocket
 * @qt QWebSocket
 * @see AbstractSocket
 * @usage local ws = net.WebSocket()
 * ws.connected:connect(function() ws:sendTextMessage("hello") end)
 * ws.textMessageReceived:connect(function(msg) print(msg); ws:close() end)
 * ws:open("ws://127.0.0.1:8080/chat")
 */
enum {
  SIG_CONNECTED = 1, SIG_DISCONNECTED, SIG_STATE_CHANGED, SIG_TEXT_MESSAGE, SIG_BINARY_MESSAGE,
  SIG_TEXT_FRAME, SIG_BINARY_FRAME, SIG_PONG, SIG_BYTES_WRITTEN, SIG_ABOUT_TO_CLOSE,
  SIG_ERROR_OCCURRED, SIG_SSL_ERRORS,
};
/*** Emitted when the opening handshake has succeeded.
 * @signal connected
 * @qt QWebSocket::connected
 */
/*** Emitted when the connection has closed (after the close handshake,
 * or when it was lost or refused).
 * @signal disconnected
 * @qt QWebSocket::disconnected
 */
/*** Emitted when the state changes (ConnectingState, ConnectedState,
 * ClosingState, UnconnectedState).
 * @signal stateChanged
 * @tparam string state a SocketState name
 * @qt QWebSocket::stateChanged
 */
/*** Emitted for each whole text message.
 * @signal textMessageReceived
 * @tparam string message UTF-8
 * @qt QWebSocket::textMessageReceived
 */
/*** Emitted for each whole binary message.
 * @signal binaryMessageReceived
 * @tparam string message
 * @qt QWebSocket::binaryMessageReceived
 */
/*** Emitted for each frame of a text message, as it comes.
 * @signal textFrameReceived
 * @tparam string frame
 * @tparam boolean isLastFrame
 * @qt QWebSocket::textFrameReceived
 */
/*** Emitted for each frame of a binary message, as it comes.
 * @signal binaryFrameReceived
 * @tparam string frame
 * @tparam boolean isLastFrame
 * @qt QWebSocket::binaryFrameReceived
 */
/*** Emitted when a pong comes.
 * @signal pong
 * @tparam integer elapsed ms since the last ping
 * @tparam string payload
 * @qt QWebSocket::pong
 */
/*** Emitted when queued bytes have left (the TcpSocket's bytesWritten).
 * @signal bytesWritten
 * @tparam integer bytes
 * @qt QWebSocket::bytesWritten
 */
/*** Emitted when the close handshake starts, from either side.
 * @signal aboutToClose
 * @qt QWebSocket::aboutToClose
 */
/*** Emitted when an error happens (a refused connection or handshake, a
 * peer that broke the protocol); error() and errorString() say it too.
 * @signal errorOccurred
 * @tparam string error a SocketError name
 * @qt QWebSocket::error
 */
/*** Emitted for wss:// when the server's certificate has errors; a slot
 * that calls ignoreSslErrors lets the connection go on.
 * @signal sslErrors
 * @tparam {table,...} errors as TcpSocket's sslErrors
 * @qt QWebSocket::sslErrors
 */
static const char *const signal_names[] = {
  "connected", "disconnected", "stateChanged", "textMessageReceived", "binaryMessageReceived",
  "textFrameReceived", "binaryFrameReceived", "pong", "bytesWritten", "aboutToClose",
  "errorOccurred", "sslErrors", NULL,
};

/*** The close codes, by Qt's names: constants of net.WebSocket whose
 * values are the numbers (net.WebSocket.CloseCodeGoingAway == 1001);
 * close takes either. Qt's QWebSocketProtocol::CloseCode, by name.
 * @enum CloseCode
 * @field CloseCodeNormal 1000
 * @field CloseCodeGoingAway 1001
 * @field CloseCodeProtocolError 1002
 * @field CloseCodeDatatypeNotSupported 1003
 * @field CloseCodeReserved1004 1004
 * @field CloseCodeMissingStatusCode 1005 (never sent: a close without a code)
 * @field CloseCodeAbnormalDisconnection 1006 (never sent: the connection was lost)
 * @field CloseCodeWrongDatatype 1007 (text that is not UTF-8)
 * @field CloseCodePolicyViolated 1008
 * @field CloseCodeTooMuchData 1009 (a message or frame over the limits)
 * @field CloseCodeMissingExtension 1010
 * @field CloseCodeBadOperation 1011
 * @field CloseCodeTlsHandshakeFailed 1015 (never sent)
 * @qt QWebSocketProtocol::CloseCode
 */
static const struct {
  const char *name;
  unsigned code;
} close_codes[] = {
  { "CloseCodeNormal", 1000 }, { "CloseCodeGoingAway", 1001 }, { "CloseCodeProtocolError", 1002 },
  { "CloseCodeDatatypeNotSupported", 1003 }, { "CloseCodeReserved1004", 1004 },
  { "CloseCodeMissingStatusCode", 1005 }, { "CloseCodeAbnormalDisconnection", 1006 },
  { "CloseCodeWrongDatatype", 1007 }, { "CloseCodePolicyViolated", 1008 }, { "CloseCodeTooMuchData", 1009 },
  { "CloseCodeMissingExtension", 1010 }, { "CloseCodeBadOperation", 1011 },
  { "CloseCodeTlsHandshakeFailed", 1015 },
};

struct websocket;

/* The framing state, the socket's reader. */
struct ws_conn {
  struct socket_reader reader;   /* first */
  struct websocket *ws;      /* NULL once the WebSocket is collected */
  struct tcp_socket *sock;
  struct socket_reader *prev;   /* the reader before us (an upgraded HTTP connection): released with us */
  uint8_t msg_opcode;        /* TEXT or BINARY while a fragmented message comes; 0: none */
  bool msg_compressed;       /* the message coming has RSV1: permessage-deflate */
  struct ws_deflate deflate; /* negotiated by the handshake (lua/luanet/ws/) */
  struct utf8_check utf8;    /* of the text message coming */
  struct buffer msg;         /* a fragmented message's payload so far */
  uint64_t msg_len;          /* its length, checked against the limit before it is kept */
};

/* Automatic pings (setKeepAliveInterval): few WebSockets use them, and
 * an idle server holds thousands, so they live apart. */
struct ws_keepalive {
  struct websocket *ws;
  ev_timer timer;
  double interval;           /* seconds between pings; 0: none */
  bool awaiting_pong;        /* the last ping has had no pong yet */
};

struct websocket {
  /* first: state (Unconnected, Connected, Closing), error, and the anchor
   * (ref) while connected or closing, as a socket's; fd stays -1 */
  struct abstract_socket base;
  struct ws_conn *conn;      /* NULL before _attach and once the socket has gone */
  bool server;               /* frames in are masked, frames out are not */
  bool close_sent, close_received;
  bool disconnected;         /* `disconnected` emitted */
  bool written_wanted;       /* a script touched bytesWritten */
  bool written_forwarded;    /* and the socket's bytesWritten is forwarded to it */
  uint16_t close_code;       /* the peer's, or ours; 1006 for a connection lost */
  char *close_reason;
  uint64_t max_message, max_frame;
  uint64_t out_frame;
  double ping_at;            /* when the last ping left, for pong's elapsed time */
  bool input_waits;          /* frames that came with the handshake: read from the loop */
  bool closing_wait;         /* the timer runs for the close (arm_close_timer) */
  bool compressed;           /* permessage-deflate was agreed */
  char *info;                /* requestUrl, origin, subprotocol: three strings, each NUL-ended */
  ev_timer timer;            /* the close handshake's wait; `disconnected` and input_waits from the loop */
  struct ws_keepalive *keepalive;   /* setKeepAliveInterval's; NULL until it is called */
};

static const struct lnet_class websocket_class;

static struct websocket *ws_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &websocket_class);
}

/* [-0, +1, -] The WebSocket (anchored while it is connected). */
static int push_ws(lua_State *L, struct websocket *ws) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, ws->base.ref);
  return lua_gettop(L);
}

static void set_state(struct websocket *ws, lua_State *L, int obj, enum socket_state st) {
  abstract_socket_set_state(&ws->base, L, obj, st, SIG_STATE_CHANGED);
}

static void set_close(struct websocket *ws, unsigned code, const char *reason, size_t len) {
  ws->close_code = (uint16_t)code;
  free(ws->close_reason);
  ws->close_reason = NULL;
  if (len && (ws->close_reason = malloc(len + 1))) {
    memcpy(ws->close_reason, reason, len);
    ws->close_reason[len] = '\0';
  }
}

/* ---- random masks ---- */

/* Masking keys come from the kernel's random source, a pool at a time
 * (RFC 6455 5.3: unpredictable), as Node's ws does. */
static void random_mask(uint8_t mask[4]) {
  static _Thread_local uint8_t pool[256];
  static _Thread_local size_t left;
  if (left < 4) {
    if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool) {
      for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)rand();   /* getrandom cannot fail for 256 bytes; keep going if it did */
    }
    left = sizeof pool;
  }
  left -= 4;
  memcpy(mask, pool + left, 4);
}

/* ---- writing ---- */

/* One frame: header and payload in one send; a client's payload is
 * masked in a copy, a server's goes as it is. */
static bool send_frame(struct websocket *ws, lua_State *L, uint8_t opcode, bool fin, uint8_t rsv, const char *p,
                       size_t n) {
  if (!ws->conn || !tcp_socket_is_open(ws->conn->sock))
    return false;
  uint8_t head[WS_HEADER_MAX], mask[4];
  char *masked = NULL;
  if (!ws->server) {
    random_mask(mask);
    if (n) {
      if (!(masked = malloc(n)))
        return false;
      memcpy(masked, p, n);
      ws_mask((uint8_t *)masked, n, mask, 0);
      p = masked;
    }
  }
  size_t hs = ws_frame_encode_header(head, fin, rsv, opcode, n, ws->server ? NULL : mask);
  struct iovec iov[2] = { { head, hs }, { (void *)p, n } };
  int obj = tcp_socket_push(L, ws->conn->sock);
  bool ok = tcp_socket_send(ws->conn->sock, L, obj, iov, n ? 2 : 1);
  lua_settop(L, obj - 1);
  free(masked);
  return ok;
}

/* A message in frames of at most out_frame bytes; compressed (RSV1 on
 * its first frame) when permessage-deflate was negotiated. */
static bool send_message(struct websocket *ws, lua_State *L, uint8_t opcode, const char *p, size_t n) {
  struct buffer packed = { 0 };
  uint8_t rsv = 0;
  if (ws->conn && ws->conn->deflate.enabled && n >= WS_DEFLATE_MIN) {
    if (ws_deflate_message(&ws->conn->deflate, (const uint8_t *)p, n, &packed) < 0) {
      buffer_free(&packed);
      return false;
    }
    p = buffer_head(&packed), n = packed.len, rsv = WS_RSV1;
  }
  size_t step = ws->out_frame && ws->out_frame < n ? (size_t)ws->out_frame : n;
  size_t off = 0;
  bool ok = true;
  do {
    size_t k = n - off < step ? n - off : step;
    if (!(ok = send_frame(ws, L, off == 0 ? opcode : WS_OP_CONTINUATION, off + k == n, off == 0 ? rsv : 0,
                          p + off, k)))
      break;
    off += k;
  } while (off < n);
  buffer_free(&packed);
  return ok;
}

static void send_close(struct websocket *ws, lua_State *L, unsigned code, const char *reason, size_t len) {
  if (ws->close_sent)
    return;
  ws->close_sent = true;
  char payload[WS_CONTROL_MAX];
  size_t n = 0;
  if (code) {
    payload[0] = (char)(code >> 8);
    payload[1] = (char)code;
    if (len > WS_CONTROL_MAX - 2)
      len = WS_CONTROL_MAX - 2;
    if (len)
      memcpy(payload + 2, reason, len);
    n = 2 + len;
  }
  send_frame(ws, L, WS_OP_CLOSE, true, 0, payload, n);
}

/* The timer's other use than input_waits: the close handshake's wait
 * (seconds), or 0 for `disconnected` from the loop. */
static void arm_close_timer(struct websocket *ws, double seconds) {
  struct ev_loop *loop = ws->base.rt->loop;
  ev_timer_stop(loop, &ws->timer);
  ev_timer_set(&ws->timer, seconds, 0.);
  ev_timer_start(loop, &ws->timer);
  ws->closing_wait = true;
}

/* Cuts the TCP connection at once (abort(): a reset, the queue dropped). */
static void abort_tcp(struct websocket *ws, lua_State *L) {
  if (!ws->conn)
    return;
  int s = tcp_socket_push(L, ws->conn->sock);
  if (!lua_isnil(L, s)) {
    lua_getfield(L, s, "abort");
    lua_pushvalue(L, s);
    lua_call(L, 1, 0);
  }
  lua_settop(L, s - 1);
}

/* The TCP connection goes: at once for a server (once its queue is sent),
 * and for a client after the server's close or the wait. */
static void drop_tcp(struct websocket *ws, lua_State *L) {
  if (!ws->conn)
    return;
  int obj = tcp_socket_push(L, ws->conn->sock);
  if (!lua_isnil(L, obj))
    tcp_socket_disconnect(L, obj);
  lua_settop(L, obj - 1);
}

/* Starts our half of the close handshake (a close(), a protocol error). */
static void begin_close(struct websocket *ws, lua_State *L, int obj, unsigned code, const char *reason,
                        size_t len) {
  if (ws->base.state != ST_CONNECTED)
    return;
  set_close(ws, code, reason, len);
  lnet_emit(ws->base.rt, L, obj, SIG_ABOUT_TO_CLOSE, 0, NULL, NULL);
  set_state(ws, L, obj, ST_CLOSING);
  send_close(ws, L, code, reason, len);
  arm_close_timer(ws, WS_CLOSE_WAIT);
}

/* The peer broke the protocol: close with `code`, errorOccurred first. */
static void fail(struct websocket *ws, lua_State *L, int obj, unsigned code, const char *why) {
  abstract_socket_emit_error(&ws->base, L, obj, SE_UNKNOWN, why, SIG_ERROR_OCCURRED);
  begin_close(ws, L, obj, code, why, strlen(why));
  if (ws->server)
    drop_tcp(ws, L);   /* a server does not wait for a broken peer's close */
}

/* ---- reading ---- */

static void emit_data(struct websocket *ws, lua_State *L, int obj, int sig, const char *p, size_t n, int nextra) {
  if (!lnet_has_slots(L, obj, sig)) {
    lua_pop(L, nextra);
    return;
  }
  lua_pushlstring(L, p, n);
  if (nextra)
    lua_insert(L, -1 - nextra);
  lnet_emit(ws->base.rt, L, obj, sig, 1 + nextra, NULL, NULL);
}

/* A control frame's payload p[0..n), unmasked. */
static void control_frame(struct websocket *ws, lua_State *L, int obj, uint8_t opcode, const char *p, size_t n) {
  if (opcode == WS_OP_PING) {
    if (ws->base.state == ST_CONNECTED)
      send_frame(ws, L, WS_OP_PONG, true, 0, p, n);
    return;
  }
  if (opcode == WS_OP_PONG) {
    if (ws->keepalive)
      ws->keepalive->awaiting_pong = false;
    if (lnet_has_slots(L, obj, SIG_PONG)) {
      lua_pushinteger(L, ws->ping_at > 0 ? (lua_Integer)((ev_now(ws->base.rt->loop) - ws->ping_at) * 1000) : 0);
      lua_pushlstring(L, p, n);
      lnet_emit(ws->base.rt, L, obj, SIG_PONG, 2, NULL, NULL);
    }
    return;
  }
  /* close */
  unsigned code = 1005;   /* CloseCodeMissingStatusCode: none was sent */
  if (n == 1)
    return fail(ws, L, obj, 1002, "close frame with a one-byte payload");
  if (n >= 2) {
    code = (unsigned)(uint8_t)p[0] << 8 | (uint8_t)p[1];
    if (!ws_close_code_valid(code))
      return fail(ws, L, obj, 1002, "close frame with an invalid close code");
    if (!utf8_valid((const uint8_t *)p + 2, n - 2))
      return fail(ws, L, obj, 1007, "close reason is not UTF-8");
  }
  ws->close_received = true;
  if (!ws->close_sent) {
    set_close(ws, code, n > 2 ? p + 2 : "", n > 2 ? n - 2 : 0);
    lnet_emit(ws->base.rt, L, obj, SIG_ABOUT_TO_CLOSE, 0, NULL, NULL);
    set_state(ws, L, obj, ST_CLOSING);
    send_close(ws, L, code == 1005 ? 0 : code, "", 0);   /* echo the code (RFC 6455 5.5.1) */
  }
  if (ws->server) {
    drop_tcp(ws, L);
  } else {
    arm_close_timer(ws, WS_CLOSE_WAIT);   /* the server closes the TCP connection */
  }
}

/* A data frame's payload p[0..n), unmasked, checked as UTF-8 if text. */
static void data_frame(struct websocket *ws, lua_State *L, int obj, const struct ws_frame_header *h, char *p, size_t n) {
  struct ws_conn *c = ws->conn;
  uint8_t opcode = h->opcode == WS_OP_CONTINUATION ? c->msg_opcode : h->opcode;
  bool text = opcode == WS_OP_TEXT;
  if (c->msg_compressed) {
    /* Inflated into the message buffer as it comes; the frame's share is
     * what this frame added, and the limit holds for the inflated size. */
    size_t before = c->msg.len;
    const char *why = "";
    int r = ws_inflate(&c->deflate, (const uint8_t *)p, n, h->fin, &c->msg, ws->max_message, &why);
    if (r < 0)
      return fail(ws, L, obj, r == -2 ? 1009 : 1007, why);
    p = (char *)buffer_head(&c->msg) + before;
    n = c->msg.len - before;
  }
  if (text && (!utf8_feed(&c->utf8, (uint8_t *)p, n) || (h->fin && !utf8_complete(&c->utf8))))
    return fail(ws, L, obj, 1007, "text message that is not UTF-8");
  if (lnet_has_slots(L, obj, text ? SIG_TEXT_FRAME : SIG_BINARY_FRAME)) {
    lua_pushboolean(L, h->fin);
    emit_data(ws, L, obj, text ? SIG_TEXT_FRAME : SIG_BINARY_FRAME, p, n, 1);
    if (ws->base.state != ST_CONNECTED || !ws->conn)
      return;
  }
  int sig = text ? SIG_TEXT_MESSAGE : SIG_BINARY_MESSAGE;
  if (h->fin && c->msg_opcode == 0 && !c->msg_compressed) {   /* a whole message in one frame: no copy */
    emit_data(ws, L, obj, sig, p, n, 0);
    return;
  }
  if (!c->msg_compressed && !buffer_append(&c->msg, p, n))
    return fail(ws, L, obj, 1011, "no memory for the message");
  c->msg_opcode = opcode;
  if (!h->fin)
    return;
  c->msg_opcode = 0;
  emit_data(ws, L, obj, sig, buffer_head(&c->msg), c->msg.len, 0);
  if (ws->conn)
    buffer_free(&ws->conn->msg);   /* an idle connection keeps no message block (inflating reserves 16 KiB) */
}

/* Judges a frame's header before its payload is waited for. */
static bool frame_allowed(struct websocket *ws, lua_State *L, int obj, const struct ws_frame_header *h) {
  struct ws_conn *c = ws->conn;
  bool data_start = h->opcode == WS_OP_TEXT || h->opcode == WS_OP_BINARY;
  if ((h->rsv & ~WS_RSV1) || ((h->rsv & WS_RSV1) && !(c->deflate.enabled && data_start))) {
    fail(ws, L, obj, 1002, "reserved bits set without an extension that defines them");
    return false;
  }
  if (h->masked != ws->server) {
    fail(ws, L, obj, 1002, ws->server ? "unmasked frame from a client" : "masked frame from a server");
    return false;
  }
  if (h->opcode & 0x8)
    return true;
  if (data_start && c->msg_opcode == 0) {   /* a new message */
    c->msg_len = 0;
    c->msg_compressed = h->rsv & WS_RSV1;
    memset(&c->utf8, 0, sizeof c->utf8);
  }
  if (h->opcode == WS_OP_CONTINUATION ? c->msg_opcode == 0 : c->msg_opcode != 0) {
    fail(ws, L, obj, 1002, c->msg_opcode ? "new message inside a fragmented one" : "continuation without a message");
    return false;
  }
  if (h->length > ws->max_frame || c->msg_len + h->length > ws->max_message) {
    fail(ws, L, obj, 1009, "message too big");
    return false;
  }
  return true;
}

/* Reads every whole frame in the socket's buffer. A frame is handled once
 * all of it has come, so the limits bound what waits in the buffer. */
static void ws_readable(struct socket_reader *r, lua_State *L, int sock_obj) {
  (void)sock_obj;
  struct ws_conn *c = (struct ws_conn *)r;
  struct websocket *ws = c->ws;
  if (!ws) {
    buffer_consume(tcp_socket_input(c->sock), tcp_socket_input(c->sock)->len);
    return;
  }
  int obj = push_ws(L, ws);
  struct buffer *in = tcp_socket_input(c->sock);
  while (ws->conn && !ws->close_received && in->len > 0) {
    struct ws_frame_header h;
    const char *why = "";
    enum ws_parse pr = ws_frame_parse_header((const uint8_t *)buffer_head(in), in->len, &h, &why);
    if (pr == WS_PARSE_MORE)
      break;
    if (pr == WS_PARSE_ERROR) {
      fail(ws, L, obj, 1002, why);
      break;
    }
    if (!frame_allowed(ws, L, obj, &h))
      break;
    if (in->len - h.size < h.length)
      break;   /* the rest of the frame is still coming */
    char *p = (char *)buffer_head(in) + h.size;
    size_t n = (size_t)h.length;
    if (h.masked)
      ws_mask((uint8_t *)p, n, h.mask, 0);
    if (!(h.opcode & 0x8))
      c->msg_len += n;
    if (h.opcode & 0x8)
      control_frame(ws, L, obj, h.opcode, p, n);
    else
      data_frame(ws, L, obj, &h, p, n);
    if (!ws->conn || in->len < h.size + n)
      break;   /* a slot closed the socket, and its buffer with it */
    buffer_consume(in, h.size + n);
  }
  if (ws->conn && (ws->close_received || ws->base.state == ST_UNCONNECTED))
    buffer_consume(in, in->len);   /* nothing after a close counts */
  lua_settop(L, obj - 1);
}

static void ws_closed(struct socket_reader *r) {
  struct ws_conn *c = (struct ws_conn *)r;
  struct websocket *ws = c->ws;
  if (!ws)
    return;
  /* No Lua here (the socket is closing): `disconnected` comes from the loop. */
  arm_close_timer(ws, 0.);
  if (!ws->close_received && !ws->close_sent)
    ws->close_code = 1006;   /* CloseCodeAbnormalDisconnection */
}

static void ws_release(struct socket_reader *r) {
  struct ws_conn *c = (struct ws_conn *)r;
  if (c->ws)
    c->ws->conn = NULL;
  if (c->prev)
    c->prev->ops->release(c->prev);
  buffer_free(&c->msg);
  ws_deflate_free(&c->deflate);
  free(c);
}

/* setKeepAliveInterval: a ping every interval; a peer that has not
 * answered the last one by the next is gone (its connection is cut, and
 * the close code is 1006, as for any connection lost). */
static void keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct ws_keepalive *k = (struct ws_keepalive *)((char *)w - offsetof(struct ws_keepalive, timer));
  struct websocket *ws = k->ws;
  if (ws->base.state != ST_CONNECTED || !ws->conn) {
    ev_timer_stop(loop, w);
    return;
  }
  lua_State *L = ws->base.rt->L;
  int top = lua_gettop(L);
  if (k->awaiting_pong) {
    ev_timer_stop(loop, w);
    abort_tcp(ws, L);
  } else {
    k->awaiting_pong = true;
    ws->ping_at = ev_now(loop);
    send_frame(ws, L, WS_OP_PING, true, 0, "", 0);
  }
  lua_settop(L, top);
}

static void keepalive_arm(struct websocket *ws) {
  struct ws_keepalive *k = ws->keepalive;
  if (!k)
    return;
  struct ev_loop *loop = ws->base.rt->loop;
  ev_timer_stop(loop, &k->timer);
  k->awaiting_pong = false;
  if (k->interval > 0 && ws->base.state == ST_CONNECTED) {
    ev_timer_set(&k->timer, k->interval, k->interval);
    ev_timer_start(loop, &k->timer);
  }
}

static void keepalive_stop(struct websocket *ws) {
  if (ws->keepalive && ws->base.rt->loop)
    ev_timer_stop(ws->base.rt->loop, &ws->keepalive->timer);
}

/* The close handshake's wait ran out, or the socket closed. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct websocket *ws = (struct websocket *)((char *)w - offsetof(struct websocket, timer));
  lua_State *L = ws->base.rt->L;
  int obj = push_ws(L, ws);
  if (ws->input_waits) {
    ws->input_waits = false;
    if (ws->conn) {
      int s = tcp_socket_push(L, ws->conn->sock);
      ws_readable(&ws->conn->reader, L, s);
    }
    if (!ws->closing_wait) {
      lua_settop(L, obj - 1);
      return;
    }
  }
  if (ws->conn && tcp_socket_is_open(ws->conn->sock))
    abort_tcp(ws, L);   /* the peer did not finish the close: cut */
  if (!ws->disconnected) {
    ws->disconnected = true;
    keepalive_stop(ws);
    if (ws->close_code == 0)
      ws->close_code = 1006;
    set_state(ws, L, obj, ST_UNCONNECTED);
    lnet_emit(ws->base.rt, L, obj, SIG_DISCONNECTED, 0, NULL, NULL);
    lnet_unanchor(L, &ws->base.ref);
  }
  lua_settop(L, obj - 1);
}

/* ---- bytesWritten ---- */

/* The socket's bytesWritten, as ours: upvalue 1 is the WebSocket. */
static int forward_bytes_written(lua_State *L) {
  struct websocket *ws = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lnet_emit(ws->base.rt, L, lua_gettop(L) - 1, SIG_BYTES_WRITTEN, 1, NULL, NULL);
  return 0;
}

/* Only a WebSocket whose bytesWritten a script touched pays for it: a
 * socket that reports bytesWritten queues every write for its watcher. */
static void forward_written(lua_State *L, struct websocket *ws, int obj) {
  if (!ws->written_wanted || ws->written_forwarded || !ws->conn)
    return;
  ws->written_forwarded = true;
  int s = tcp_socket_push(L, ws->conn->sock);
  lua_pushvalue(L, obj);
  lnet_connect(L, s, "bytesWritten", forward_bytes_written, 1);
  lua_settop(L, s - 1);
}

static void ws_signal_touched(void *obj, int id) {
  if (id == SIG_BYTES_WRITTEN)
    ((struct websocket *)obj)->written_wanted = true;
}

/* ---- Lua methods ---- */

/* requestUrl, origin and subprotocol, kept in one allocation: most
 * WebSockets never ask for them, and thousands may be idle. */
static bool set_info(struct websocket *ws, const struct websocket_info *info) {
  const struct ws_span *parts[] = { &info->url, &info->origin, &info->protocol };
  size_t total = 0;
  for (int i = 0; i < 3; i++)
    total += parts[i]->n + 1;
  char *p = malloc(total);
  if (!p)
    return false;
  free(ws->info);
  ws->info = p;
  for (int i = 0; i < 3; i++) {
    if (parts[i]->n)
      memcpy(p, parts[i]->p, parts[i]->n);
    p += parts[i]->n;
    *p++ = '\0';
  }
  return true;
}

/* The i-th string of ws->info (0: url, 1: origin, 2: subprotocol). */
static const char *info_part(const struct websocket *ws, int i) {
  const char *p = ws->info;
  if (!p)
    return "";
  while (i-- > 0)
    p += strlen(p) + 1;
  return p;
}

bool websocket_attach(lua_State *L, int obj, int sock_obj, bool server, const struct ws_deflate_terms *terms,
                      const struct websocket_info *info) {
  struct websocket *ws = ws_check(L, obj);
  struct tcp_socket *s = tcp_socket_test(L, sock_obj);
  luaL_argcheck(L, s != NULL, sock_obj, "TcpSocket expected");
  obj = lua_absindex(L, obj);
  if (ws->conn || ws->base.state != ST_UNCONNECTED)
    return luaL_error(L, "WebSocket: already connected");
  if (!tcp_socket_is_open(s))
    return false;
  struct ws_conn *c = calloc(1, sizeof *c);
  if (!c || !set_info(ws, info)) {
    free(c);
    return luaL_error(L, "WebSocket: out of memory");
  }
  static const struct socket_reader_ops ops = { ws_readable, ws_closed, ws_release };
  c->reader.ops = &ops;
  c->ws = ws;
  c->sock = s;
  c->prev = tcp_socket_reader(s);
  if (terms) {
    c->deflate.enabled = true;
    c->deflate.inflate_reset = terms->inflate_reset;
    c->deflate.deflate_reset = terms->deflate_reset;
    c->deflate.deflate_bits = terms->deflate_bits < 9 ? 9 : terms->deflate_bits > 15 ? 15 : terms->deflate_bits;
  }
  ws->conn = c;
  ws->compressed = terms != NULL;
  ws->server = server;
  ws->close_sent = ws->close_received = ws->disconnected = ws->closing_wait = false;
  ws->close_code = 0;
  ws->base.error = SE_UNKNOWN;
  ws->base.error_string = NULL;
  lua_pushvalue(L, sock_obj);
  lua_setiuservalue(L, obj, 2);   /* the socket lives as long as its WebSocket */
  lua_pushvalue(L, obj);
  ws->base.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  tcp_socket_set_reader(s, &c->reader);
  set_state(ws, L, obj, ST_CONNECTED);
  keepalive_arm(ws);
  forward_written(L, ws, obj);
  lnet_emit(ws->base.rt, L, obj, SIG_CONNECTED, 0, NULL, NULL);
  if (ws->conn && tcp_socket_input(s)->len > 0) {
    /* Frames that came with the handshake: read from the loop, once the
     * caller (newConnection's slots, an HttpServer handler) has connected
     * its slots to the WebSocket it is about to be given. */
    ws->input_waits = true;
    ev_timer_set(&ws->timer, 0., 0.);
    ev_timer_start(ws->base.rt->loop, &ws->timer);
  }
  return true;
}

/* The terms table Lua's half passes ({ inflateReset, deflateReset,
 * deflateBits }), or NULL when idx holds none. */
static const struct ws_deflate_terms *terms_arg(lua_State *L, int idx, struct ws_deflate_terms *t) {
  if (!lua_istable(L, idx))
    return NULL;
  lua_getfield(L, idx, "inflateReset");
  t->inflate_reset = lua_toboolean(L, -1);
  lua_getfield(L, idx, "deflateReset");
  t->deflate_reset = lua_toboolean(L, -1);
  lua_getfield(L, idx, "deflateBits");
  t->deflate_bits = (int)luaL_optinteger(L, -1, 15);
  lua_pop(L, 3);
  return t;
}

static struct ws_span opt_span(lua_State *L, int idx) {
  struct ws_span s = { NULL, 0 };
  s.p = luaL_optlstring(L, idx, "", &s.n);
  return s;
}

/* ws:_attach(sock, role [, terms [, url, origin, protocol]]): the
 * handshake is done (lua/luanet/ws/: a client's, an HttpServer's
 * upgrade); frames from here on. terms: permessage-deflate's. */
static int ws_attach(lua_State *L) {
  const char *role = luaL_checkstring(L, 3);
  struct ws_deflate_terms t;
  struct websocket_info info = { opt_span(L, 5), opt_span(L, 6), opt_span(L, 7) };
  lua_pushboolean(L, websocket_attach(L, 1, 2, strcmp(role, "server") == 0, terms_arg(L, 4, &t), &info));
  return 1;
}

static int send_lua(lua_State *L, uint8_t opcode) {
  struct websocket *ws = ws_check(L, 1);
  size_t n;
  const char *p = luaL_checklstring(L, 2, &n);
  forward_written(L, ws, 1);
  if (ws->base.state != ST_CONNECTED || !send_message(ws, L, opcode, p, n)) {
    ws->base.error = SE_OPERATION;
    ws->base.error_string = ws->base.state == ST_CONNECTED ? "The message could not be queued" : "The WebSocket is not connected";
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/*** Sends a text message (in frames of outgoingFrameSize; compressed when
 * permessage-deflate was agreed).
 * @function sendTextMessage
 * @tparam string message UTF-8 (not checked)
 * @treturn integer|boolean #message, or false (OperationError: not connected, or the message could not be queued)
 * @qt QWebSocket::sendTextMessage
 */
static int ws_sendTextMessage(lua_State *L) {
  return send_lua(L, WS_OP_TEXT);
}

/*** Sends a binary message.
 * @function sendBinaryMessage
 * @tparam string message
 * @treturn integer|boolean as sendTextMessage
 * @qt QWebSocket::sendBinaryMessage
 */
static int ws_sendBinaryMessage(lua_State *L) {
  return send_lua(L, WS_OP_BINARY);
}

/*** Sends a ping; pong follows with the elapsed time.
 * @function ping
 * @tparam[opt=""] string payload at most 125 bytes
 * @treturn boolean false when not connected
 * @qt QWebSocket::ping
 */
static int ws_ping(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  size_t n;
  const char *p = luaL_optlstring(L, 2, "", &n);
  luaL_argcheck(L, n <= WS_CONTROL_MAX, 2, "a ping's payload is at most 125 bytes");
  ws->ping_at = ev_now(ws->base.rt->loop);
  lua_pushboolean(L, ws->base.state == ST_CONNECTED && send_frame(ws, L, WS_OP_PING, true, 0, p, n));
  return 1;
}

/*** Starts the close handshake: aboutToClose, ClosingState, then
 * disconnected when it is done.
 * @function close
 * @tparam[opt=1000] integer|string code a number or a CloseCode name; one that may not be sent raises
 * @tparam[opt=""] string reason at most 123 bytes
 * @qt QWebSocket::close
 */
static int ws_close(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  unsigned code = 1000;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *name = lua_tostring(L, 2);
    size_t i = 0;
    while (i < sizeof close_codes / sizeof *close_codes && strcmp(close_codes[i].name, name))
      i++;
    luaL_argcheck(L, i < sizeof close_codes / sizeof *close_codes, 2, "unknown CloseCode");
    code = close_codes[i].code;
  } else if (!lua_isnoneornil(L, 2)) {
    code = (unsigned)luaL_checkinteger(L, 2);
  }
  luaL_argcheck(L, ws_close_code_valid(code), 2, "not a close code that may be sent");
  size_t len;
  const char *reason = luaL_optlstring(L, 3, "", &len);
  luaL_argcheck(L, len <= WS_CONTROL_MAX - 2, 3, "a close reason is at most 123 bytes");
  begin_close(ws, L, 1, code, reason, len);
  return 0;
}

/*** Drops the connection at once, without a close handshake.
 * @function abort
 * @qt QWebSocket::abort
 */
static int ws_abort(lua_State *L) {
  abort_tcp(ws_check(L, 1), L);
  return 0;
}

/*** The close code: the peer's, ours, or the one the protocol's checks
 * closed with; 1006 when the connection was lost; 1000 before any.
 * @function closeCode
 * @treturn integer
 * @qt QWebSocket::closeCode
 */
static int ws_closeCode(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_pushinteger(L, ws->close_code ? ws->close_code : 1000);
  return 1;
}

/*** The close reason that came with closeCode; "" when none.
 * @function closeReason
 * @treturn string
 * @qt QWebSocket::closeReason
 */
static int ws_closeReason(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_pushstring(L, ws->close_reason ? ws->close_reason : "");
  return 1;
}

/*** Whether the WebSocket is connected.
 * @function isValid
 * @treturn boolean
 * @qt QWebSocket::isValid
 */
static int ws_isValid(lua_State *L) {
  lua_pushboolean(L, ws_check(L, 1)->base.state == ST_CONNECTED);
  return 1;
}

/* ws:_setError(name, text): the Lua half's failures (a handshake refused). */
static int ws_setError(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  int e = luaL_checkoption(L, 2, NULL, socket_error_names);
  const char *text = luaL_checkstring(L, 3);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, 1, 3);   /* keeps the text alive */
  abstract_socket_emit_error(&ws->base, L, 1, (enum socket_error)e, text, SIG_ERROR_OCCURRED);
  return 0;
}

/* The three sizes a script may set: upvalue 1 says which (setX and X
 * share one C function each). */
enum ws_size { MAX_MESSAGE, MAX_FRAME, OUT_FRAME };

static uint64_t *size_field(struct websocket *ws, enum ws_size which) {
  return which == MAX_MESSAGE ? &ws->max_message : which == MAX_FRAME ? &ws->max_frame : &ws->out_frame;
}

static int ws_set_size(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  enum ws_size which = (enum ws_size)lua_tointeger(L, lua_upvalueindex(1));
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, which == OUT_FRAME ? n > 0 : n >= 0, 2, "size out of range");
  *size_field(ws, which) = (uint64_t)n;
  return 0;
}

static int ws_get_size(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_pushinteger(L, (lua_Integer)*size_field(ws, (enum ws_size)lua_tointeger(L, lua_upvalueindex(1))));
  return 1;
}

/*** Automatic pings every ms (0, the default: none); a peer that has not
 * answered the last ping by the next one is dropped.
 * @function setKeepAliveInterval
 * @tparam number ms
 */
static int ws_setKeepAliveInterval(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_Number ms = luaL_checknumber(L, 2);
  luaL_argcheck(L, ms >= 0, 2, "interval must not be negative");
  if (!ws->keepalive) {
    if (ms == 0)
      return 0;
    if (!(ws->keepalive = calloc(1, sizeof *ws->keepalive)))
      return luaL_error(L, "WebSocket: out of memory");
    ws->keepalive->ws = ws;
    ev_init(&ws->keepalive->timer, keepalive_cb);
  }
  ws->keepalive->interval = ms / 1000.0;
  keepalive_arm(ws);
  return 0;
}

/*** The automatic pings' interval.
 * @function keepAliveInterval
 * @treturn number ms, 0 when none
 */
static int ws_keepAliveInterval(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_pushnumber(L, ws->keepalive ? ws->keepalive->interval * 1000.0 : 0);
  return 1;
}

/* requestUrl(), origin(), subprotocol(): what the handshake said; "" before. */
static int ws_info_part(lua_State *L) {
  lua_pushstring(L, info_part(ws_check(L, 1), (int)lua_tointeger(L, lua_upvalueindex(1))));
  return 1;
}

/* ws:_setInfo(url, origin): a client's, from open() on. */
static int ws_setInfo(lua_State *L) {
  struct websocket_info info = { opt_span(L, 2), opt_span(L, 3), { "", 0 } };
  if (!set_info(ws_check(L, 1), &info))
    return luaL_error(L, "WebSocket: out of memory");
  return 0;
}

/*** Whether permessage-deflate (RFC 7692) was agreed for this connection.
 * @function isCompressed
 * @treturn boolean
 */
static int ws_isCompressed(lua_State *L) {
  lua_pushboolean(L, ws_check(L, 1)->compressed);
  return 1;
}

/*** The TcpSocket under it, or nil.
 * @function socket
 * @treturn TcpSocket|nil
 */
static int ws_socket(lua_State *L) {
  ws_check(L, 1);
  lua_getiuservalue(L, 1, 2);
  return 1;
}

static int ws_gc(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  if (ws->base.rt->loop)
    ev_timer_stop(ws->base.rt->loop, &ws->timer);
  keepalive_stop(ws);
  free(ws->keepalive);
  ws->keepalive = NULL;
  if (ws->conn)
    ws->conn->ws = NULL;
  ws->conn = NULL;
  free(ws->close_reason);
  ws->close_reason = NULL;
  free(ws->info);
  ws->info = NULL;
  return 0;
}

static int ws_tostring(lua_State *L) {
  struct websocket *ws = ws_check(L, 1);
  lua_pushfstring(L, LNET_WEBSOCKET " (%s%s)", socket_state_names[ws->base.state], ws->server ? ", server side" : "");
  return 1;
}

void websocket_new(lua_State *L) {
  struct websocket *ws = lnet_newobject(L, sizeof *ws, &websocket_class, 3);
  abstract_socket_init(&ws->base, &websocket_class, lnet_runtime(L));
  ws->max_message = ws->max_frame = WS_DEFAULT_MAX_MESSAGE;
  ws->out_frame = WS_DEFAULT_OUT_FRAME;
  ev_init(&ws->timer, timer_cb);
}

/*** A new WebSocket, unconnected (for open).
 * @function net.WebSocket
 * @treturn WebSocket
 * @qt QWebSocket::QWebSocket
 */
static int ws_new(lua_State *L) {
  websocket_new(L);
  return 1;
}

/* WebSocket._acceptKey(key): Sec-WebSocket-Accept for a client's key. */
static int ws_acceptKey(lua_State *L) {
  size_t n;
  const char *key = luaL_checklstring(L, 1, &n);
  luaL_argcheck(L, n <= 256, 1, "key too long");
  char out[WS_ACCEPT_LEN + 1];
  ws_accept(key, n, out);
  lua_pushstring(L, out);
  return 1;
}

static const luaL_Reg ws_methods[] = {
  { "_attach", ws_attach },
  { "_setError", ws_setError },
  { "_setInfo", ws_setInfo },
  { "sendTextMessage", ws_sendTextMessage },
  { "sendBinaryMessage", ws_sendBinaryMessage },
  { "ping", ws_ping },
  { "close", ws_close },
  { "abort", ws_abort },
  { "closeCode", ws_closeCode },
  { "closeReason", ws_closeReason },
  { "isValid", ws_isValid },
  { "isCompressed", ws_isCompressed },
  { "socket", ws_socket },
  { "setKeepAliveInterval", ws_setKeepAliveInterval },
  { "keepAliveInterval", ws_keepAliveInterval },
  { NULL, NULL },
};

/* WebSocket._newKey(): a client's Sec-WebSocket-Key. */
static int ws_newKey(lua_State *L) {
  char key[WS_KEY_LEN + 1];
  if (!ws_new_key(key))
    return luaL_error(L, "WebSocket: no random bytes from the kernel");
  lua_pushstring(L, key);
  return 1;
}

static const luaL_Reg ws_statics[] = {
  { "_acceptKey", ws_acceptKey },
  { "_newKey", ws_newKey },
  { NULL, NULL },
};

static const struct lnet_class websocket_class = {
  .id = LNET_ID_WEBSOCKET, .name = LNET_WEBSOCKET, .methods = ws_methods,
  .base_methods = abstract_socket_methods, .gc = ws_gc,
  .tostring = ws_tostring, .signals = signal_names, .signal_touched = ws_signal_touched, .statics = ws_statics,
  .construct = ws_new,
};

int luaopen_luanet_websocket(lua_State *L) {
  lnet_class_register(L, &websocket_class);
  static const struct {
    const char *set, *get;
    enum ws_size which;
  } sizes[] = {
    /*** Bounds a message that comes (16 MiB by default; Qt's is 2 GiB): past
     * it the connection closes with 1009.
     * @function setMaxAllowedIncomingMessageSize
     * @tparam integer bytes
     * @qt QWebSocket::setMaxAllowedIncomingMessageSize
     */
    /*** The bound of a message that comes.
     * @function maxAllowedIncomingMessageSize
     * @treturn integer bytes
     * @qt QWebSocket::maxAllowedIncomingMessageSize
     */
    /*** Bounds a frame that comes (16 MiB by default): past it, 1009.
     * @function setMaxAllowedIncomingFrameSize
     * @tparam integer bytes
     * @qt QWebSocket::setMaxAllowedIncomingFrameSize
     */
    /*** The bound of a frame that comes.
     * @function maxAllowedIncomingFrameSize
     * @treturn integer bytes
     * @qt QWebSocket::maxAllowedIncomingFrameSize
     */
    /*** The size of the frames a message is sent in (512 KiB by default, as Qt's).
     * @function setOutgoingFrameSize
     * @tparam integer bytes > 0
     * @qt QWebSocket::setOutgoingFrameSize
     */
    /*** The size of the frames a message is sent in.
     * @function outgoingFrameSize
     * @treturn integer bytes
     * @qt QWebSocket::outgoingFrameSize
     */
    { "setMaxAllowedIncomingMessageSize", "maxAllowedIncomingMessageSize", MAX_MESSAGE },
    { "setMaxAllowedIncomingFrameSize", "maxAllowedIncomingFrameSize", MAX_FRAME },
    { "setOutgoingFrameSize", "outgoingFrameSize", OUT_FRAME },
  };
  for (size_t i = 0; i < sizeof close_codes / sizeof *close_codes; i++) {
    lua_pushinteger(L, close_codes[i].code);
    lua_setfield(L, -2, close_codes[i].name);
  }
  ws_handshake_register(L);
  /* Lua's half (lua/luanet/ws/) adds open() and friends to the methods. */
  luaL_getmetatable(L, LNET_WEBSOCKET);
  lua_getfield(L, -1, "__index");
  lua_getupvalue(L, -1, 1);
  /*** The URL of the handshake (a client's open's; a server's request target); "" before.
   * @function requestUrl
   * @treturn string
   * @qt QWebSocket::requestUrl
   */
  /*** The Origin header of the handshake; "" when none.
   * @function origin
   * @treturn string
   * @qt QWebSocket::origin
   */
  /*** The subprotocol the handshake agreed on; "" when none.
   * @function subprotocol
   * @treturn string
   * @qt QWebSocket::subprotocol
   */
  static const char *const info_names[] = { "requestUrl", "origin", "subprotocol" };
  for (int i = 0; i < 3; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, ws_info_part, 1);
    lua_setfield(L, -2, info_names[i]);
  }
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    lua_pushinteger(L, sizes[i].which);
    lua_pushcclosure(L, ws_set_size, 1);
    lua_setfield(L, -2, sizes[i].set);
    lua_pushinteger(L, sizes[i].which);
    lua_pushcclosure(L, ws_get_size, 1);
    lua_setfield(L, -2, sizes[i].get);
  }
  lua_setfield(L, -4, "_methods");
  lua_pop(L, 2);
  return 1;
}
