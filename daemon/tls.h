/* TLS on OpenSSL for TcpSocket (and so for everything built on it): the
 * OpenSSL side only: contexts, sessions over a non-blocking fd, and what a
 * session tells (peer certificate, verification errors, protocol, cipher).
 * tcp_socket.c drives a session from its watchers. OpenSSL is initialised
 * by the first context made: a process that makes none pays nothing. */
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

/* The context, or NULL with a message in err (err_len bytes). */
struct tls_context *tls_context_new(const struct tls_options *o, char *err, size_t err_len);
struct tls_context *tls_context_ref(struct tls_context *c);
void tls_context_unref(struct tls_context *c);
/* The shared client context of a thread's runtimes: system CAs, TLS 1.2 up. */
struct tls_context *tls_default_client(char *err, size_t err_len);
double tls_context_handshake_timeout(const struct tls_context *c);

enum tls_io { TLS_IO_DONE, TLS_IO_WANT_READ, TLS_IO_WANT_WRITE, TLS_IO_CLOSED, TLS_IO_ERROR };

/* A session on fd (client: with SNI and the host check for peer_name, which
 * may be NULL or an address). NULL when OpenSSL cannot make one. */
struct tls *tls_new(struct tls_context *c, int fd, bool server, const char *peer_name, enum tls_verify verify);
void tls_free(struct tls *t);
/* One step of the handshake. */
enum tls_io tls_handshake(struct tls *t);
/* Decrypted bytes into buf: > 0, or 0 with *io saying why not. */
size_t tls_read(struct tls *t, char *buf, size_t n, enum tls_io *io);
/* Bytes out: > 0 (maybe fewer than n), or 0 with *io saying why not. */
size_t tls_write(struct tls *t, const char *buf, size_t n, enum tls_io *io);
/* Whether OpenSSL holds bytes already read from the fd (read-ahead). */
bool tls_has_pending(const struct tls *t);
/* Sends close_notify (once, without waiting for the peer's). */
void tls_shutdown(struct tls *t);
/* OpenSSL's reason for the last TLS_IO_ERROR. */
const char *tls_error(const struct tls *t);

/* Verification: errors found in the peer's certificate chain (collected
 * during the handshake, which goes on), for sslErrors. */
int tls_verify_error_count(struct tls *t);
/* [-0, +1, m] The errors as a list of { error = QSslError name, errorString,
 * depth }. */
void tls_push_errors(lua_State *L, const struct tls *t);
const char *tls_first_error_string(const struct tls *t);
/* [-0, +1, m] The peer's certificate as a table, or nil. */
void tls_push_peer_certificate(lua_State *L, const struct tls *t);
/* QSsl::SslProtocol name of the session ("TlsV1_3"), its cipher, ALPN. */
const char *tls_protocol(const struct tls *t);
void tls_push_cipher(lua_State *L, const struct tls *t);
void tls_push_alpn(lua_State *L, const struct tls *t);

#endif
