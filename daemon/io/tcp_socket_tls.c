/* QSslSocket on TcpSocket: encryption is started on a socket (a client's
 * connectToHostEncrypted or startClientEncryption, a server's
 * startServerEncryption, or a TcpServer with setSslConfiguration for every
 * socket it accepts), and the socket then reads and writes plain text as
 * before: readyRead, write, sendFile, back-pressure and the write cap work
 * the same, with OpenSSL in between (tls.c). Qt's names throughout:
 *
 *   sock:connectToHostEncrypted(host, port, [verifyName])
 *   sock:startClientEncryption(), sock:startServerEncryption()
 *   sock:setSslConfiguration{ caCertificates = file, localCertificate = file,
 *     privateKey = file, peerVerifyMode = "VerifyPeer", peerVerifyName = name,
 *     protocol = "TlsV1_2OrLater", alpn = "http/1.1", handshakeTimeout = ms }
 *   sock:setPeerVerifyMode(mode), setPeerVerifyName(name), setCaCertificates(file),
 *   setLocalCertificate(file), setPrivateKey(file), ignoreSslErrors()
 *   sock:isEncrypted(), mode(), sslHandshakeErrors(), peerCertificate(),
 *   sessionProtocol(), sessionCipher(), negotiatedProtocol(), waitForEncrypted([ms])
 *   signals encrypted, sslErrors(errors)
 *
 * A client verifies by default (the system CA store, the host name, SNI).
 * Errors found in the chain are reported by sslErrors once the handshake
 * is done; a slot that calls ignoreSslErrors() lets the connection go on,
 * else it fails with SslHandshakeFailedError, as in Qt.
 *
 * The socket's code never looks at the session: once encryption starts,
 * the socket's transport (s->xprt) is this file's tls_transport, whose
 * read, write and shutdown go through OpenSSL and whose readable and
 * writable take the fd's events while the handshake runs. */
/*** TcpSocket's TLS (daemon/io/tcp_socket_tls.c).
 * @classmod TcpSocket
 */
#include "tcp_socket_impl.h"
#include "tls_config.h"
#include "runtime.h"
#include "signals.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** The side of a TLS connection, as mode() gives it.
 * @enum SslMode
 * @field UnencryptedMode Qt: 0, no TLS
 * @field SslClientMode Qt: 1
 * @field SslServerMode Qt: 2
 * @qt QSslSocket::SslMode
 */
/*** Whether and how the peer's certificate is checked (setPeerVerifyMode;
 * these names are defined in daemon/tls/tls_load.c).
 * @enum PeerVerifyMode
 * @field VerifyNone Qt: 0, no check
 * @field QueryPeer Qt: 1, asks for a certificate and does not check it
 * @field VerifyPeer Qt: 2, the certificate must be valid and name the host
 * @field AutoVerifyPeer Qt: 3, the default: VerifyPeer for a client, QueryPeer for a server
 * @qt QSslSocket::PeerVerifyMode
 */
/*** The TLS versions of setSslConfiguration's protocol and of
 * sessionProtocol (which also gives TlsV1_0, TlsV1_1 and UnknownProtocol).
 * @enum SslProtocol
 * @field TlsV1_2OrLater Qt: 10, the default
 * @field SecureProtocols Qt: 7, as TlsV1_2OrLater
 * @field TlsV1_3OrLater Qt: 16
 * @field TlsV1_2 Qt: 4
 * @field TlsV1_3 Qt: 15
 * @qt QSsl::SslProtocol
 */
static const char *const mode_names[] = { "UnencryptedMode", "SslClientMode", "SslServerMode" };

/* QSslSocket's state; its phase decides the socket's transport (set_phase). */
enum tls_phase { TLS_OFF, TLS_PENDING, TLS_HANDSHAKING, TLS_ENCRYPTED };
enum ssl_mode { SSL_MODE_UNENCRYPTED, SSL_MODE_CLIENT, SSL_MODE_SERVER };

struct socket_tls {
  struct tcp_socket *s;
  struct tls *session;
  struct tls_context *ctx;  /* setSslConfiguration's, a server's; NULL: made from the fields below */
  char *ca_file, *cert_file, *key_file, *verify_name;
  char *offer_alpn;         /* _offerAlpn's list for a client's session; NULL: the context's */
  uint8_t phase;            /* enum tls_phase */
  uint8_t mode;             /* enum ssl_mode */
  uint8_t verify;           /* enum tls_verify */
  bool ignore_errors;       /* ignoreSslErrors() */
  bool read_wants_write;    /* SSL_read needs the fd writable */
  bool write_wants_read;    /* SSL_write needs the fd readable */
  int nerrors;              /* sslHandshakeErrors() of the last handshake */
  char *error_text;         /* errorString() of a TLS failure: ours, as the session goes */
  ev_timer timer;           /* the handshake's time-out */
};

static void handshake_timed_out(struct ev_loop *loop, ev_timer *w, int revents);

/* The socket's TLS state, made on first use. */
static struct socket_tls *tls_of(struct tcp_socket *s) {
  if (!s->tls && (s->tls = calloc(1, sizeof *s->tls))) {
    s->tls->s = s;
    s->tls->verify = TLS_AUTO_VERIFY_PEER;
    ev_init(&s->tls->timer, handshake_timed_out);
  }
  return s->tls;
}

static struct socket_tls *checked_tls(lua_State *L, struct tcp_socket *s) {
  struct socket_tls *t = tls_of(s);
  if (!t)
    luaL_error(L, "not enough memory");
  return t;
}

static const struct socket_transport tls_transport;

/* The phase decides the transport: from PENDING to ENCRYPTED, bytes go
 * through the session (or wait for it), and in the clear once it is OFF. */
static void set_phase(struct tcp_socket *s, enum tls_phase phase) {
  s->tls->phase = (uint8_t)phase;
  s->xprt = phase == TLS_OFF ? &tcp_plain_transport : &tls_transport;
}

/* close_notify while the fd is there; the session ends with the connection. */
static void tcp_tls_close(struct tcp_socket *s) {
  struct socket_tls *t = s->tls;
  if (s->base.rt->loop)
    ev_timer_stop(s->base.rt->loop, &t->timer);
  if (t->session) {
    if (t->phase == TLS_ENCRYPTED && s->base.fd >= 0)
      tls_shutdown(t->session);
    tls_free(t->session);
    t->session = NULL;
  }
  if (t->phase != TLS_OFF)
    set_phase(s, TLS_OFF);
}

void tcp_tls_free(struct tcp_socket *s) {
  struct socket_tls *t = s->tls;
  if (!t)
    return;
  tcp_tls_close(s);
  tls_context_unref(t->ctx);
  free(t->ca_file);
  free(t->cert_file);
  free(t->key_file);
  free(t->verify_name);
  free(t->offer_alpn);
  free(t->error_text);
  free(t);
  s->tls = NULL;
}

/* ---- the handshake ---- */

/* A failure's text, kept by the socket: errorString() reads it after the
 * session that gave it is gone. */
static const char *keep_text(struct socket_tls *t, const char *prefix, const char *why) {
  size_t n = strlen(prefix) + strlen(why) + 1;
  char *text = malloc(n);
  if (!text)
    return "TLS error (and no memory to say more)";
  snprintf(text, n, "%s%s", prefix, why);
  free(t->error_text);
  t->error_text = text;
  return text;
}

static void handshake_failed(struct tcp_socket *s, lua_State *L, int obj, const char *why) {
  const char *text = keep_text(s->tls, "Error during SSL handshake: ", why);
  tcp_socket_wake(s, WAIT_ENCRYPTED, false);
  tcp_socket_fail_close(s, L, obj, SE_SSL_HANDSHAKE_FAILED, text);
}

static void handshake_timed_out(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct socket_tls *t = (struct socket_tls *)((char *)w - offsetof(struct socket_tls, timer));
  lua_State *L = t->s->base.rt->L;
  int obj = tcp_socket_push(L, t->s);
  if (t->phase == TLS_HANDSHAKING)
    handshake_failed(t->s, L, obj, "the handshake timed out");
  lua_settop(L, obj - 1);
}

/* The handshake is done: Qt's verification step, then `encrypted`. */
static void handshake_done(struct tcp_socket *s, lua_State *L, int obj) {
  struct socket_tls *t = s->tls;
  ev_timer_stop(s->base.rt->loop, &t->timer);
  t->nerrors = tls_verify_error_count(t->session);
  if (t->nerrors > 0 && !t->ignore_errors) {
    if (lnet_has_slots(L, obj, SIG_SSL_ERRORS)) {
      tls_push_errors(L, t->session);
      lnet_emit(s->base.rt, L, obj, SIG_SSL_ERRORS, 1, NULL, NULL);
    }
    if (s->base.fd < 0 || !s->tls || !t->session)
      return;   /* a slot closed it */
    if (!t->ignore_errors) {
      handshake_failed(s, L, obj, tls_first_error_string(t->session));
      return;
    }
  }
  set_phase(s, TLS_ENCRYPTED);
  tcp_socket_read_start(s);
  if (tls_has_pending(t->session))   /* data that came with the handshake's last flight */
    ev_feed_event(s->base.rt->loop, &s->rio, EV_READ);
  if (s->wq_head)
    tcp_socket_start_writing(s);   /* what was written before */
  lnet_emit(s->base.rt, L, obj, SIG_ENCRYPTED, 0, NULL, NULL);
  tcp_socket_wake(s, WAIT_ENCRYPTED, true);
}

static void tcp_tls_step(struct tcp_socket *s, lua_State *L, int obj) {
  struct socket_tls *t = s->tls;
  switch (tls_handshake(t->session)) {
  case TLS_IO_DONE:
    ev_io_stop(s->base.rt->loop, &s->wio);
    handshake_done(s, L, obj);
    break;
  case TLS_IO_WANT_READ:
    ev_io_stop(s->base.rt->loop, &s->wio);
    tcp_socket_read_start(s);
    break;
  case TLS_IO_WANT_WRITE:
    ev_io_start(s->base.rt->loop, &s->wio);
    break;
  case TLS_IO_CLOSED:
  case TLS_IO_ERROR:
    handshake_failed(s, L, obj, tls_error(t->session));
    break;
  }
}

/* The context a handshake of s uses: its own, one made from its settings,
 * or the shared client default. */
static struct tls_context *context_for(struct socket_tls *t, char *err, size_t err_len) {
  if (t->ctx)
    return tls_context_ref(t->ctx);
  if (!t->ca_file && !t->cert_file && t->mode == SSL_MODE_CLIENT) {
    struct tls_context *c = tls_default_client(err, err_len);
    return c ? tls_context_ref(c) : NULL;
  }
  const char *certs[] = { t->cert_file, NULL };
  const char *keys[] = { t->key_file ? t->key_file : t->cert_file, NULL };
  struct tls_options o = { .server = t->mode == SSL_MODE_SERVER, .ca_file = t->ca_file,
                           .certs = t->cert_file ? certs : NULL, .keys = keys };
  return tls_context_new(&o, err, err_len);
}

/* Starts the handshake of s (connected) in its mode; false when it could
 * not start (the error is emitted, the connection closed). */
static bool tcp_tls_begin(struct tcp_socket *s, lua_State *L, int obj) {
  struct socket_tls *t = s->tls;
  char err[300];
  struct tls_context *c = context_for(t, err, sizeof err);
  if (!c) {
    set_phase(s, TLS_OFF);
    handshake_failed(s, L, obj, err);
    return false;
  }
  const char *name = t->verify_name;
  if (!name && s->aux && s->aux->peer_name && *s->aux->peer_name)
    name = s->aux->peer_name;   /* the host connectToHost was given */
  bool server = t->mode == SSL_MODE_SERVER;
  t->session = tls_new(c, s->base.fd, server, server ? NULL : name, (enum tls_verify)t->verify);
  double timeout = tls_context_handshake_timeout(c);
  tls_context_unref(c);   /* the session holds its own reference */
  if (t->session && !server && t->offer_alpn && !tls_session_offer_alpn(t->session, t->offer_alpn)) {
    tls_free(t->session);
    t->session = NULL;
  }
  if (!t->session) {
    set_phase(s, TLS_OFF);
    handshake_failed(s, L, obj, "cannot make a TLS session");
    return false;
  }
  /* The handshake's last flight and the first small write would
   * otherwise wait on Nagle and a delayed ACK (40 ms). */
  int one = 1;
  setsockopt(s->base.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_phase(s, TLS_HANDSHAKING);
  t->nerrors = 0;
  ev_timer_set(&t->timer, timeout, 0.);
  ev_timer_start(s->base.rt->loop, &t->timer);
  tcp_tls_step(s, L, obj);   /* a client's hello goes out now */
  return true;
}

/* ---- reading and writing through the session ---- */

/* The transport's read: > 0, 0 at the end, -1 with errno (EAGAIN: nothing
 * now; EPROTO: a TLS error, its text in *why). */
static ssize_t tls_transport_read(struct tcp_socket *s, char *dst, size_t space, const char **why) {
  struct socket_tls *t = s->tls;
  size_t total = 0;
  /* Records are read whole (16 KiB at most each, and read-ahead takes
   * what the kernel has in one recv). Once OpenSSL holds nothing more,
   * the fd's readiness tells the truth again, so no recv that would
   * return EAGAIN is made; when our buffer fills first, the loop comes
   * back for the rest. */
  while (space - total >= 16384 || total == 0) {
    enum tls_io io;
    size_t n = tls_read(t->session, dst + total, space - total, &io);
    if (n > 0) {
      total += n;
      if (!tls_has_pending(t->session))
        break;
      continue;
    }
    if (io == TLS_IO_WANT_WRITE) {
      t->read_wants_write = true;
      tcp_socket_start_writing(s);
    }
    if (total > 0)
      break;
    if (io == TLS_IO_CLOSED)
      return 0;
    if (io == TLS_IO_ERROR) {
      *why = keep_text(t, "", tls_error(t->session));
      errno = EPROTO;
      return -1;
    }
    errno = EAGAIN;
    return -1;
  }
  if (tls_has_pending(t->session))
    ev_feed_event(s->base.rt->loop, &s->rio, EV_READ);
  return (ssize_t)total;
}

/* The transport's write: as tls_write, -1 with errno. Nothing goes out
 * before the handshake has finished. */
static ssize_t tls_transport_write(struct tcp_socket *s, const char *p, size_t n) {
  struct socket_tls *t = s->tls;
  if (t->phase != TLS_ENCRYPTED) {
    errno = EAGAIN;
    return -1;
  }
  enum tls_io io;
  size_t k = tls_write(t->session, p, n, &io);
  if (k > 0)
    return (ssize_t)k;
  if (io == TLS_IO_WANT_READ)
    t->write_wants_read = true;
  errno = io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE ? EAGAIN : EPIPE;
  return -1;
}

/* A file range: read here, encrypted, sent (no sendfile through TLS). */
static ssize_t tls_transport_write_file(struct tcp_socket *s, int fd, off_t *off, size_t n) {
  char buf[16384];
  ssize_t r = pread(fd, buf, n < sizeof buf ? n : sizeof buf, *off);
  if (r <= 0)
    return r;
  ssize_t k = tls_transport_write(s, buf, (size_t)r);
  if (k > 0)
    *off += k;
  return k;
}

/* The handshake reads for itself; once encrypted, a write that wanted
 * the fd readable goes on. */
static bool tls_transport_readable(struct tcp_socket *s, lua_State *L, int obj) {
  struct socket_tls *t = s->tls;
  if (t->phase != TLS_ENCRYPTED) {
    tcp_tls_step(s, L, obj);
    return true;
  }
  if (t->write_wants_read) {
    t->write_wants_read = false;
    tcp_socket_start_writing(s);
  }
  return false;
}

/* The handshake writes for itself, and nothing of ours goes out before
 * it; a connect still in progress is the socket's business. */
static bool tls_transport_writable(struct tcp_socket *s, lua_State *L, int obj) {
  struct socket_tls *t = s->tls;
  if ((t->phase == TLS_HANDSHAKING || t->phase == TLS_PENDING) && s->base.state != ST_CONNECTING) {
    if (t->phase == TLS_HANDSHAKING)
      tcp_tls_step(s, L, obj);
    else
      ev_io_stop(s->base.rt->loop, &s->wio);
    return true;
  }
  if (t->read_wants_write) {
    t->read_wants_write = false;
    ev_feed_event(s->base.rt->loop, &s->rio, EV_READ);
  }
  return false;
}

/* connectToHostEncrypted: the handshake starts once connected. */
static void tls_transport_connected(struct tcp_socket *s, lua_State *L, int obj) {
  if (s->tls->phase == TLS_PENDING)
    tcp_tls_begin(s, L, obj);
}

static const struct socket_transport tls_transport = {
  .readable = tls_transport_readable,
  .writable = tls_transport_writable,
  .connected = tls_transport_connected,
  .read = tls_transport_read,
  .write = tls_transport_write,
  .write_file = tls_transport_write_file,
  .shutdown = tcp_tls_close,
  .read_min = 16384,
  .queue_whole = true,
};

/* ---- Lua methods ---- */

static void set_string(char **field, const char *v) {
  free(*field);
  *field = v ? strdup(v) : NULL;
}

/* Starts encryption in `mode` on a connected socket. */
static int start_encryption(lua_State *L, enum ssl_mode mode) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_settop(L, 1);
  struct socket_tls *t = checked_tls(L, s);
  if (t->phase != TLS_OFF)
    return luaL_error(L, "encryption has already started on this socket");
  if (s->base.fd < 0 || s->base.state != ST_CONNECTED) {
    tcp_socket_emit_error(s, L, 1, SE_OPERATION, "Socket is not connected");
    lua_pushboolean(L, 0);
    return 1;
  }
  if (s->xprt == &tcp_fd_transport) {   /* a pipe or a file: TLS needs both ways of one connection */
    tcp_socket_emit_error(s, L, 1, SE_UNSUPPORTED_OPERATION, "Unsupported socket operation");
    lua_pushboolean(L, 0);
    return 1;
  }
  t->mode = (uint8_t)mode;
  lua_pushboolean(L, tcp_tls_begin(s, L, 1));
  return 1;
}

/*** Starts a client's TLS handshake on a connected socket; encrypted
 * follows (or errorOccurred with SslHandshakeFailedError). Raises when
 * encryption has already started.
 * @function startClientEncryption
 * @treturn boolean false when the socket is not connected (OperationError) or is not a network socket
 * @qt QSslSocket::startClientEncryption
 */
static int tls_startClientEncryption(lua_State *L) {
  return start_encryption(L, SSL_MODE_CLIENT);
}

/*** Starts a server's TLS handshake on a connected socket, with the
 * certificate and key set before (setSslConfiguration, setLocalCertificate).
 * @function startServerEncryption
 * @treturn boolean as startClientEncryption
 * @qt QSslSocket::startServerEncryption
 */
static int tls_startServerEncryption(lua_State *L) {
  return start_encryption(L, SSL_MODE_SERVER);
}

/*** connectToHost, then
 * the handshake once connected. The certificate must name verifyName
 * (host by default); the name is sent as SNI.
 * @function connectToHostEncrypted
 * @tparam string|HostAddress host
 * @tparam integer port
 * @tparam[opt] string verifyName
 * @treturn boolean as connectToHost
 * @qt QSslSocket::connectToHostEncrypted
 */
static int tls_connectToHostEncrypted(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  struct socket_tls *t = checked_tls(L, s);
  if (t->phase != TLS_OFF)
    return luaL_error(L, "encryption has already started on this socket");
  if (!lua_isnoneornil(L, 4))
    set_string(&t->verify_name, luaL_checkstring(L, 4));
  lua_settop(L, 3);
  t->mode = SSL_MODE_CLIENT;
  set_phase(s, TLS_PENDING);
  int r = tcp_socket_connect_lua(L);
  if (s->base.state == ST_UNCONNECTED && s->base.fd < 0 && t->phase == TLS_PENDING)
    set_phase(s, TLS_OFF);   /* the connect was refused at once */
  return r;
}

/* sock:_offerAlpn(list): the protocols a client's next handshake offers
 * ("h2,http/1.1"), without a context of its own: the HTTP client's
 * connections keep the shared default one (the system's CAs, read once). */
static int tls_offerAlpn(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  set_string(&checked_tls(L, s)->offer_alpn, luaL_optstring(L, 2, NULL));
  return 0;
}

/*** Sets how the peer's certificate is checked.
 * @function setPeerVerifyMode
 * @tparam string mode a PeerVerifyMode name
 * @qt QSslSocket::setPeerVerifyMode
 */
static int tls_setPeerVerifyMode(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  checked_tls(L, s)->verify = (uint8_t)luaL_checkoption(L, 2, NULL, tls_verify_names);
  return 0;
}

/*** How the peer's certificate is checked.
 * @function peerVerifyMode
 * @treturn string a PeerVerifyMode name
 * @qt QSslSocket::peerVerifyMode
 */
static int tls_peerVerifyMode(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushstring(L, tls_verify_names[s->tls ? s->tls->verify : TLS_AUTO_VERIFY_PEER]);
  return 1;
}

/*** The name the peer's certificate must have (the host given to connect by default).
 * @function setPeerVerifyName
 * @tparam[opt] string name nil: the default
 * @qt QSslSocket::setPeerVerifyName
 */
static int tls_setPeerVerifyName(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  set_string(&checked_tls(L, s)->verify_name, luaL_optstring(L, 2, NULL));
  return 0;
}

/*** The name setPeerVerifyName set; "" when none.
 * @function peerVerifyName
 * @treturn string
 * @qt QSslSocket::peerVerifyName
 */
static int tls_peerVerifyName(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushstring(L, s->tls && s->tls->verify_name ? s->tls->verify_name : "");
  return 1;
}

static int set_file(lua_State *L, size_t field_offset) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  struct socket_tls *t = checked_tls(L, s);
  set_string((char **)((char *)t + field_offset), luaL_optstring(L, 2, NULL));
  tls_context_unref(t->ctx);   /* a setting made now overrides a configuration */
  t->ctx = NULL;
  return 0;
}

/*** The CA certificates (a PEM file) that verify the peer, instead of
 * the system's store. Overrides setSslConfiguration's.
 * @function setCaCertificates
 * @tparam[opt] string file nil: the default
 * @qt QSslConfiguration::setCaCertificates
 */
static int tls_setCaCertificates(lua_State *L) {
  return set_file(L, offsetof(struct socket_tls, ca_file));
}
/*** This side's certificate (a PEM file, with its chain).
 * @function setLocalCertificate
 * @tparam[opt] string file
 * @qt QSslSocket::setLocalCertificate
 */
static int tls_setLocalCertificate(lua_State *L) {
  return set_file(L, offsetof(struct socket_tls, cert_file));
}
/*** This side's private key (a PEM file).
 * @function setPrivateKey
 * @tparam[opt] string file
 * @qt QSslSocket::setPrivateKey
 */
static int tls_setPrivateKey(lua_State *L) {
  return set_file(L, offsetof(struct socket_tls, key_file));
}

/*** Sets the whole TLS configuration at once; the files are read now.
 * A wrong option raises.
 * @function setSslConfiguration
 * @tparam table options caCertificates (or ca), localCertificate (or cert), privateKey (or key): PEM files; peerVerifyMode, peerVerifyName, protocol (an SslProtocol name), alpn (a protocol name or a list), handshakeTimeout (ms)
 * @treturn boolean true, or false and the error (a file that cannot be read, a key that does not match)
 * @qt QSslSocket::setSslConfiguration
 */
static int tls_setSslConfiguration(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  struct socket_tls *t = checked_tls(L, s);
  struct tls_config cfg;
  char err[300];
  if (!tls_config_read(L, 2, &cfg, err, sizeof err))
    return luaL_argerror(L, 2, err);
  struct tls_context *c = tls_config_context(&cfg, false, err, sizeof err);
  if (!c) {
    tls_config_free(&cfg);
    lua_pushboolean(L, 0);
    lua_pushstring(L, err);
    return 2;
  }
  if (cfg.has_verify)
    t->verify = (uint8_t)cfg.verify;
  if (cfg.verify_name)
    set_string(&t->verify_name, cfg.verify_name);
  tls_config_free(&cfg);
  tls_context_unref(t->ctx);
  t->ctx = c;
  lua_pushboolean(L, 1);
  return 1;
}

/*** Lets the handshake go on despite the certificate's errors; called
 * before it, or from an sslErrors slot.
 * @function ignoreSslErrors
 * @qt QSslSocket::ignoreSslErrors
 */
static int tls_ignoreSslErrors(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  checked_tls(L, s)->ignore_errors = true;
  return 0;
}

/*** The certificate's errors found by the last handshake.
 * @function sslHandshakeErrors
 * @treturn {table,...} as sslErrors gives them; empty when none
 * @qt QSslSocket::sslHandshakeErrors
 */
static int tls_sslHandshakeErrors(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->tls && s->tls->session)
    tls_push_errors(L, s->tls->session);
  else
    lua_newtable(L);
  return 1;
}

/*** Whether the handshake has succeeded and the connection is encrypted.
 * @function isEncrypted
 * @treturn boolean
 * @qt QSslSocket::isEncrypted
 */
static int tls_isEncrypted(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushboolean(L, s->tls && s->tls->phase == TLS_ENCRYPTED);
  return 1;
}

/*** Which side of TLS the socket is.
 * @function mode
 * @treturn string an SslMode name
 * @qt QSslSocket::mode
 */
static int tls_mode(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushstring(L, mode_names[s->tls && s->tls->phase != TLS_OFF ? s->tls->mode : SSL_MODE_UNENCRYPTED]);
  return 1;
}

/* The session of an encrypted socket, or NULL (the method returns nil). */
static struct tls *session_of(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  return s->tls && s->tls->phase == TLS_ENCRYPTED ? s->tls->session : NULL;
}

/*** The peer's certificate, on an encrypted socket.
 * @function peerCertificate
 * @treturn table|nil { subject =, issuer =, commonName =, notBefore =, notAfter =, serialNumber = (hex), names = { DNS names } }; nil when there is none
 * @qt QSslSocket::peerCertificate
 */
static int tls_peerCertificate(lua_State *L) {
  struct tls *t = session_of(L);
  if (!t)
    return 0;
  tls_push_peer_certificate(L, t);
  return 1;
}

/*** The TLS version of the session.
 * @function sessionProtocol
 * @treturn string an SslProtocol name: "TlsV1_3", "TlsV1_2"...; "UnknownProtocol" when not encrypted
 * @qt QSslSocket::sessionProtocol
 */
static int tls_sessionProtocol(lua_State *L) {
  struct tls *t = session_of(L);
  lua_pushstring(L, t ? tls_protocol(t) : "UnknownProtocol");
  return 1;
}

/*** The session's cipher, on an encrypted socket.
 * @function sessionCipher
 * @treturn table|nil { name =, bits =, protocol = }
 * @qt QSslSocket::sessionCipher
 */
static int tls_sessionCipher(lua_State *L) {
  struct tls *t = session_of(L);
  if (!t)
    return 0;
  tls_push_cipher(L, t);
  return 1;
}

/*** The application protocol ALPN chose ("h2", "http/1.1"), on an encrypted socket.
 * @function negotiatedProtocol
 * @treturn string|nil nil when none was chosen
 * @qt QSslConfiguration::nextNegotiatedProtocol
 */
static int tls_negotiatedProtocol(lua_State *L) {
  struct tls *t = session_of(L);
  if (!t)
    return 0;
  tls_push_alpn(L, t);
  return 1;
}

/*** Waits until the handshake has succeeded (as waitForConnected waits).
 * @function waitForEncrypted
 * @tparam[opt=30000] number ms
 * @treturn boolean false when no handshake started, or it failed or timed out
 * @qt QSslSocket::waitForEncrypted
 */
static int tls_waitForEncrypted(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->tls && s->tls->phase == TLS_ENCRYPTED) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (!s->tls || s->tls->phase == TLS_OFF) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return tcp_socket_wait(L, s, WAIT_ENCRYPTED);
}

const luaL_Reg tcp_socket_tls_methods[] = {
  { "connectToHostEncrypted", tls_connectToHostEncrypted },
  { "_offerAlpn", tls_offerAlpn },
  { "startClientEncryption", tls_startClientEncryption },
  { "startServerEncryption", tls_startServerEncryption },
  { "setSslConfiguration", tls_setSslConfiguration },
  { "setPeerVerifyMode", tls_setPeerVerifyMode },
  { "peerVerifyMode", tls_peerVerifyMode },
  { "setPeerVerifyName", tls_setPeerVerifyName },
  { "peerVerifyName", tls_peerVerifyName },
  { "setCaCertificates", tls_setCaCertificates },
  { "setLocalCertificate", tls_setLocalCertificate },
  { "setPrivateKey", tls_setPrivateKey },
  { "ignoreSslErrors", tls_ignoreSslErrors },
  { "sslHandshakeErrors", tls_sslHandshakeErrors },
  { "isEncrypted", tls_isEncrypted },
  { "mode", tls_mode },
  { "peerCertificate", tls_peerCertificate },
  { "sessionProtocol", tls_sessionProtocol },
  { "sessionCipher", tls_sessionCipher },
  { "negotiatedProtocol", tls_negotiatedProtocol },
  { "waitForEncrypted", tls_waitForEncrypted },
  { NULL, NULL },
};

/* A TcpServer with a configuration starts every accepted socket's
 * handshake (tcp_server.c). */
void tcp_socket_accept_encrypted(lua_State *L, int obj, struct tls_context *c) {
  struct tcp_socket *s = tcp_socket_test(L, obj);
  struct socket_tls *t = s ? tls_of(s) : NULL;
  if (!t) {
    tcp_socket_disconnect(L, obj);
    return;
  }
  t->ctx = tls_context_ref(c);
  t->mode = SSL_MODE_SERVER;
  tcp_tls_begin(s, L, obj);
}
