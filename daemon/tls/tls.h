/* TLS on OpenSSL for TcpSocket (and so for everything built on it): the
 * OpenSSL side only: contexts, sessions over a non-blocking fd, and what a
 * session tells (peer certificate, verification errors, protocol, cipher).
 * tcp_socket.c drives a session from its watchers. OpenSSL lives in a
 * module of its own, luanet/tls.so, loaded by the first context made: a
 * process that makes none maps no libssl or libcrypto at all. */
#ifndef LUANET_TLS_H
#define LUANET_TLS_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* QSslSocket::PeerVerifyMode */
enum tls_verify { TLS_VERIFY_NONE, TLS_QUERY_PEER, TLS_VERIFY_PEER, TLS_AUTO_VERIFY_PEER };
extern const char *const tls_verify_names[];   /* NULL-terminated, in that order */

struct tls_context;   /* an SSL_CTX and what we set on it; refcounted */
struct tls;           /* one session */

/* What a context is made from: every field optional. */
struct tls_options {
  bool server;
  const char *ca_file;          /* PEM bundle to trust; NULL: the system store */
  const char *const *certs;     /* NULL-terminated cert chain files, with keys[i] */
  const char *const *keys;
  int min_version, max_version; /* TLS1_2_VERSION ...; 0: TLS 1.2 up */
  const char *alpn;             /* comma-separated protocols ("http/1.1") */
  double handshake_timeout;     /* seconds; 0: 30 */
};

enum tls_io { TLS_IO_DONE, TLS_IO_WANT_READ, TLS_IO_WANT_WRITE, TLS_IO_CLOSED, TLS_IO_ERROR };

/* The module's functions (daemon/tls/tls.c, built as luanet/tls.so and
 * loaded by the first context made: the core itself links no OpenSSL).
 *   context_new      the context, or NULL with a message in err
 *   default_client   the shared client context (system CAs, TLS 1.2 up)
 *   session_new      a session on fd (a client's with SNI and the host
 *                    check for peer_name, which may be NULL or an address)
 *   session_offer_alpn  a client session's own ALPN list ("h2,http/1.1")
 *   handshake        one step of it
 *   read, write      > 0 bytes, or 0 with *io saying why not
 *   has_pending      OpenSSL holds bytes already read from the fd
 *   shutdown         close_notify, once, without waiting for the peer's
 *   error            OpenSSL's reason for the last TLS_IO_ERROR
 *   error_count      the verification errors collected in the handshake
 *   push_errors      [-0, +1, m] them as { error, errorString, depth }
 *   push_peer_certificate, push_cipher, push_alpn  [-0, +1, m]
 *   protocol         QSsl::SslProtocol's name of the session ("TlsV1_3") */
struct tls_api {
  struct tls_context *(*context_new)(const struct tls_options *o, char *err, size_t err_len);
  struct tls_context *(*default_client)(char *err, size_t err_len);
  struct tls_context *(*context_ref)(struct tls_context *c);
  void (*context_unref)(struct tls_context *c);
  double (*context_handshake_timeout)(const struct tls_context *c);
  void (*context_offer_alpn)(struct tls_context *c, const char *list);
  struct tls *(*session_new)(struct tls_context *c, int fd, bool server, const char *peer_name, enum tls_verify verify);
  void (*session_free)(struct tls *t);
  bool (*session_offer_alpn)(struct tls *t, const char *list);
  enum tls_io (*handshake)(struct tls *t);
  size_t (*read)(struct tls *t, char *buf, size_t n, enum tls_io *io);
  size_t (*write)(struct tls *t, const char *buf, size_t n, enum tls_io *io);
  bool (*has_pending)(const struct tls *t);
  void (*shutdown)(struct tls *t);
  const char *(*error)(const struct tls *t);
  int (*error_count)(struct tls *t);
  void (*push_errors)(lua_State *L, const struct tls *t);
  const char *(*first_error_string)(const struct tls *t);
  void (*push_peer_certificate)(lua_State *L, const struct tls *t);
  const char *(*protocol)(const struct tls *t);
  void (*push_cipher)(lua_State *L, const struct tls *t);
  void (*push_alpn)(lua_State *L, const struct tls *t);
  const char *(*library_version)(void);   /* "OpenSSL 3.0.x ..." as it runs */
};

#ifndef LUANET_TLS_MODULE_BUILD
/* ---- the core's side (tls_load.c) ---- */

/* The loaded module's functions: set once a context has been made, which
 * every session needs first. */
extern const struct tls_api *tls_loaded;
/* Loads luanet/tls.so (once); false with why in err. */
bool tls_load(char *err, size_t err_len);
/* These load the module as needed (NULL with err when it will not load). */
struct tls_context *tls_context_new(const struct tls_options *o, char *err, size_t err_len);
struct tls_context *tls_default_client(char *err, size_t err_len);
/* NULL is fine, and so is a process that never loaded the module. */
void tls_context_unref(struct tls_context *c);
#define tls_context_ref(c) (tls_loaded->context_ref(c))
#define tls_context_handshake_timeout(c) (tls_loaded->context_handshake_timeout(c))
#define tls_context_offer_alpn(c, list) (tls_loaded->context_offer_alpn((c), (list)))
#define tls_new(c, fd, server, name, verify) (tls_loaded->session_new((c), (fd), (server), (name), (verify)))
#define tls_free(t) (tls_loaded->session_free(t))
#define tls_session_offer_alpn(t, list) (tls_loaded->session_offer_alpn((t), (list)))
#define tls_handshake(t) (tls_loaded->handshake(t))
#define tls_read(t, buf, n, io) (tls_loaded->read((t), (buf), (n), (io)))
#define tls_write(t, buf, n, io) (tls_loaded->write((t), (buf), (n), (io)))
#define tls_has_pending(t) (tls_loaded->has_pending(t))
#define tls_shutdown(t) (tls_loaded->shutdown(t))
#define tls_error(t) (tls_loaded->error(t))
#define tls_verify_error_count(t) (tls_loaded->error_count(t))
#define tls_push_errors(L, t) (tls_loaded->push_errors((L), (t)))
#define tls_first_error_string(t) (tls_loaded->first_error_string(t))
#define tls_push_peer_certificate(L, t) (tls_loaded->push_peer_certificate((L), (t)))
#define tls_protocol(t) (tls_loaded->protocol(t))
#define tls_push_cipher(L, t) (tls_loaded->push_cipher((L), (t)))
#define tls_push_alpn(L, t) (tls_loaded->push_alpn((L), (t)))
#endif

#endif
