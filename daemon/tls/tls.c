/* TLS sessions on OpenSSL for non-blocking sockets (see tls.h).
 *
 * I/O goes through a BIO of our own that calls recv and send(MSG_NOSIGNAL)
 * on the fd: no SIGPIPE from OpenSSL's writes whatever the process does
 * with the signal, and EAGAIN becomes OpenSSL's WANT_READ/WANT_WRITE, which
 * tcp_socket.c turns into its watchers.
 *
 * Verification is Qt's: the chain is checked during the handshake, every
 * error is collected and the handshake goes on; the socket then reports
 * them (sslErrors) and fails the connection unless told to ignore them.
 * The host name check is OpenSSL's (SSL_set1_host), and SNI goes out with
 * it. A server context may hold several certificates: the SNI name picks
 * the one whose names match (from its subjectAltName, else its CN). */
#define LUANET_TLS_MODULE_BUILD
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_VERIFY_ERRORS 16
#define DEFAULT_HANDSHAKE_TIMEOUT 30.0
#define NO_PEER_CERTIFICATE (-1)   /* not an X509_V_ERR code */


struct sni_cert {
  SSL_CTX *ctx;
  char **names;              /* DNS names it answers for, lower case */
  int nnames;
};

struct tls_context {
  atomic_int refs;
  SSL_CTX *ctx;              /* the default (first) certificate's, or the client's */
  struct sni_cert *certs;    /* servers: every certificate, certs[0].ctx == ctx */
  int ncerts;
  unsigned char *alpn;       /* wire format */
  size_t alpn_len;
  double handshake_timeout;
};

struct verify_error {
  int code, depth;
};

struct tls {
  SSL *ssl;
  struct tls_context *ctx;  /* held: its callbacks (SNI, ALPN) take it as their argument */
  enum tls_verify verify;
  struct verify_error errors[MAX_VERIFY_ERRORS];
  int nerrors;
  char reason[256];
};

/* ---- once per process ---- */

static BIO_METHOD *socket_bio;
static int session_index = -1;   /* SSL ex_data: our struct tls */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *p, int n) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t k = send(fd, p, (size_t)n, MSG_NOSIGNAL);
  if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(b);
  return (int)k;
}

static int bio_read(BIO *b, char *p, int n) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t k = recv(fd, p, (size_t)n, 0);
  if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  return (int)k;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b, (void)num, (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void init(void) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
  socket_bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "luanet socket");
  BIO_meth_set_write(socket_bio, bio_write);
  BIO_meth_set_read(socket_bio, bio_read);
  BIO_meth_set_ctrl(socket_bio, bio_ctrl);
  BIO_meth_set_create(socket_bio, bio_create);
  session_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The reason of OpenSSL's newest queued error (the queue is cleared). */
static void take_reason(char *buf, size_t len, const char *fallback) {
  unsigned long e, last = 0;
  while ((e = ERR_get_error()) != 0)
    last = e;
  const char *reason = last ? ERR_reason_error_string(last) : NULL;
  if (reason)
    snprintf(buf, len, "%s", reason);   /* "certificate verify failed", not "error:0A000086:..." */
  else if (last)
    ERR_error_string_n(last, buf, len);
  else
    snprintf(buf, len, "%s", fallback);
}

/* ---- contexts ---- */

static void tls_context_unref(struct tls_context *c);

static int verify_cb(int ok, X509_STORE_CTX *store) {
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  struct tls *t = SSL_get_ex_data(ssl, session_index);
  int code = X509_STORE_CTX_get_error(store);
  if (!ok && t && t->nerrors < MAX_VERIFY_ERRORS) {
    int depth = X509_STORE_CTX_get_error_depth(store);
    bool seen = false;
    for (int i = 0; i < t->nerrors; i++)
      seen = seen || (t->errors[i].code == code && t->errors[i].depth == depth);
    if (!seen)
      t->errors[t->nerrors++] = (struct verify_error){ code, depth };
  }
  return 1;   /* go on: the socket decides once the handshake is done */
}

/* The DNS names a certificate answers for: its subjectAltName's, else its CN. */
static void cert_names(X509 *x, struct sni_cert *sc) {
  GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  int n = sans ? sk_GENERAL_NAME_num(sans) : 0;
  sc->names = calloc((size_t)n + 1, sizeof *sc->names);
  for (int i = 0; sc->names && i < n; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS)
      sc->names[sc->nnames++] = strdup((const char *)ASN1_STRING_get0_data(g->d.dNSName));
  }
  GENERAL_NAMES_free(sans);
  if (sc->names && sc->nnames == 0) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0)
      sc->names[sc->nnames++] = strdup(cn);
  }
}

static bool name_matches(const char *pattern, const char *name) {
  if (strcasecmp(pattern, name) == 0)
    return true;
  if (pattern[0] != '*' || pattern[1] != '.')
    return false;
  const char *dot = strchr(name, '.');   /* "*.example.com" covers one label */
  return dot && dot != name && strcasecmp(pattern + 1, dot) == 0;
}

static int servername_cb(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  struct tls_context *c = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || c->ncerts < 2)
    return SSL_TLSEXT_ERR_OK;
  for (int i = 0; i < c->ncerts; i++)
    for (int k = 0; k < c->certs[i].nnames; k++)
      if (c->certs[i].names[k] && name_matches(c->certs[i].names[k], name)) {
        if (c->certs[i].ctx != SSL_get_SSL_CTX(ssl))
          SSL_set_SSL_CTX(ssl, c->certs[i].ctx);
        return SSL_TLSEXT_ERR_OK;
      }
  return SSL_TLSEXT_ERR_OK;   /* no match: the default certificate */
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  struct tls_context *c = arg;
  unsigned char *chosen;
  if (SSL_select_next_proto(&chosen, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

/* "http/1.1,h2" -> ALPN wire format; false when a name is empty or long. */
static bool alpn_wire(const char *list, unsigned char **out, size_t *len) {
  size_t n = strlen(list);
  unsigned char *w = malloc(n + 1);
  if (!w)
    return false;
  size_t k = 0;
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (l == 0 || l > 255) {
      free(w);
      return false;
    }
    w[k++] = (unsigned char)l;
    memcpy(w + k, p, l);
    k += l;
    p += l + (end ? 1 : 0);
  }
  *out = w;
  *len = k;
  return true;
}

static SSL_CTX *new_ctx(const struct tls_options *o, char *err, size_t err_len) {
  SSL_CTX *ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
  if (!ctx) {
    take_reason(err, err_len, "SSL_CTX_new failed");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, o->min_version ? o->min_version : TLS1_2_VERSION);
  if (o->max_version)
    SSL_CTX_set_max_proto_version(ctx, o->max_version);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  /* Whole records in one recv where the kernel has them (nginx does the
   * same); tcp_socket_tls.c drains what OpenSSL then holds. */
  SSL_CTX_set_read_ahead(ctx, 1);
  /* A server sends the chain its files give: no lookup in the system
   * store per handshake, and that store is not loaded at all unless
   * clients are verified against it. */
  if (o->server)
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  bool trusted = o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) == 1
                 : o->server ? true
                             : SSL_CTX_set_default_verify_paths(ctx) == 1;
  if (!trusted) {
    take_reason(err, err_len, "cannot load the CA certificates");
    if (o->ca_file) {
      char why[200];
      snprintf(why, sizeof why, "%s", err);
      snprintf(err, err_len, "%s: %s", o->ca_file, why);
    }
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);   /* per session (tls_new) */
  return ctx;
}

static bool load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t err_len) {
  char why[200];
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    take_reason(why, sizeof why, "cannot load");
    snprintf(err, err_len, "%s: %s", cert, why);
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1) {
    take_reason(why, sizeof why, "cannot load");
    snprintf(err, err_len, "%s: %s", key ? key : cert, why);
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(err, err_len, "%s: the private key does not match the certificate %s", key ? key : cert, cert);
    ERR_clear_error();
    return false;
  }
  return true;
}

static struct tls_context *tls_context_new(const struct tls_options *o, char *err, size_t err_len) {
  pthread_once(&init_once, init);
  struct tls_context *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  atomic_init(&c->refs, 1);
  c->handshake_timeout = o->handshake_timeout > 0 ? o->handshake_timeout : DEFAULT_HANDSHAKE_TIMEOUT;
  if (o->alpn && !alpn_wire(o->alpn, &c->alpn, &c->alpn_len)) {
    snprintf(err, err_len, "bad ALPN protocol list: %s", o->alpn);
    tls_context_unref(c);
    return NULL;
  }
  int n = 0;
  while (o->certs && o->certs[n])
    n++;
  if (o->server && n == 0) {
    snprintf(err, err_len, "a TLS server needs a certificate and its key");
    tls_context_unref(c);
    return NULL;
  }
  c->certs = calloc((size_t)(n ? n : 1), sizeof *c->certs);
  if (!c->certs) {
    snprintf(err, err_len, "out of memory");
    tls_context_unref(c);
    return NULL;
  }
  for (int i = 0; i < (n ? n : 1); i++) {
    SSL_CTX *ctx = new_ctx(o, err, err_len);
    if (!ctx) {
      tls_context_unref(c);
      return NULL;
    }
    c->certs[c->ncerts++].ctx = ctx;
    if (n && !load_pair(ctx, o->certs[i], o->keys ? o->keys[i] : NULL, err, err_len)) {
      tls_context_unref(c);
      return NULL;
    }
    if (n)
      cert_names(SSL_CTX_get0_certificate(ctx), &c->certs[i]);
    if (o->server) {
      SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
      SSL_CTX_set_tlsext_servername_arg(ctx, c);
      if (c->alpn)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, c);
    } else if (c->alpn) {
      SSL_CTX_set_alpn_protos(ctx, c->alpn, (unsigned)c->alpn_len);
    }
  }
  c->ctx = c->certs[0].ctx;
  return c;
}

/* A server's context without an ALPN list of its own takes `list` (an
 * HttpServer offers "h2,http/1.1"); one that has a list keeps it. */
static void tls_context_offer_alpn(struct tls_context *c, const char *list) {
  if (c->alpn || !alpn_wire(list, &c->alpn, &c->alpn_len))
    return;
  for (int i = 0; i < c->ncerts; i++)
    SSL_CTX_set_alpn_select_cb(c->certs[i].ctx, alpn_select_cb, c);
}

/* A client session offers `list` (net.http's "h2,http/1.1") by ALPN,
 * in place of its context's: the shared default context stays one. */
static bool tls_session_offer_alpn(struct tls *t, const char *list) {
  unsigned char *wire;
  size_t len;
  if (!alpn_wire(list, &wire, &len))
    return false;
  bool ok = SSL_set_alpn_protos(t->ssl, wire, (unsigned)len) == 0;   /* 0 is success here */
  free(wire);
  return ok;
}

static struct tls_context *tls_context_ref(struct tls_context *c) {
  atomic_fetch_add(&c->refs, 1);
  return c;
}

static void tls_context_unref(struct tls_context *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  for (int i = 0; i < c->ncerts; i++) {
    SSL_CTX_free(c->certs[i].ctx);
    for (int k = 0; k < c->certs[i].nnames; k++)
      free(c->certs[i].names[k]);
    free(c->certs[i].names);
  }
  free(c->certs);
  free(c->alpn);
  free(c);
}

static double tls_context_handshake_timeout(const struct tls_context *c) {
  return c->handshake_timeout;
}

static struct tls_context *default_client;
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;

static struct tls_context *tls_default_client(char *err, size_t err_len) {
  pthread_mutex_lock(&default_lock);
  if (!default_client) {
    struct tls_options o = { 0 };
    default_client = tls_context_new(&o, err, err_len);
  }
  struct tls_context *c = default_client;
  pthread_mutex_unlock(&default_lock);
  return c;
}

/* ---- sessions ---- */

static struct tls *tls_new(struct tls_context *c, int fd, bool server, const char *peer_name, enum tls_verify verify) {
  struct tls *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->ssl = SSL_new(c->ctx);
  BIO *bio = t->ssl ? BIO_new(socket_bio) : NULL;
  if (!bio) {
    if (t->ssl)
      SSL_free(t->ssl);
    free(t);
    ERR_clear_error();
    return NULL;
  }
  t->ctx = tls_context_ref(c);
  BIO_set_data(bio, (void *)(intptr_t)fd);
  SSL_set_bio(t->ssl, bio, bio);
  SSL_set_ex_data(t->ssl, session_index, t);
  if (verify == TLS_AUTO_VERIFY_PEER)   /* Qt's meaning, but a server asks nothing by default, as nginx */
    verify = server ? TLS_VERIFY_NONE : TLS_VERIFY_PEER;
  t->verify = verify;
  SSL_set_verify(t->ssl, verify == TLS_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                 verify == TLS_VERIFY_NONE ? NULL : verify_cb);
  if (server) {
    SSL_set_accept_state(t->ssl);
  } else {
    SSL_set_connect_state(t->ssl);
    if (peer_name && *peer_name) {
      struct in6_addr a6;
      bool literal = strchr(peer_name, ':') || inet_pton(AF_INET, peer_name, &a6) == 1;
      if (!literal)
        SSL_set_tlsext_host_name(t->ssl, peer_name);   /* SNI is for names only */
      if (verify == TLS_VERIFY_PEER) {
        if (literal)
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), peer_name);
        else
          SSL_set1_host(t->ssl, peer_name);
        SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      }
    }
  }
  return t;
}

static void tls_free(struct tls *t) {
  if (!t)
    return;
  SSL_free(t->ssl);
  tls_context_unref(t->ctx);
  free(t);
}

/* Maps an SSL_* result to what the caller waits for. */
static enum tls_io io_of(struct tls *t, int r) {
  int e = SSL_get_error(t->ssl, r);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    return TLS_IO_WANT_READ;
  case SSL_ERROR_WANT_WRITE:
    return TLS_IO_WANT_WRITE;
  case SSL_ERROR_ZERO_RETURN:
    return TLS_IO_CLOSED;
  case SSL_ERROR_SYSCALL:
    if (ERR_peek_error() == 0) {
      if (errno == 0 || r == 0) {
        snprintf(t->reason, sizeof t->reason, "the peer closed the connection");
        return TLS_IO_CLOSED;
      }
      snprintf(t->reason, sizeof t->reason, "%s", strerror(errno));
      return TLS_IO_ERROR;
    }
    /* fall through */
  default:
    take_reason(t->reason, sizeof t->reason, "TLS error");
    return TLS_IO_ERROR;
  }
}

static enum tls_io tls_handshake(struct tls *t) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(t->ssl);
  return r == 1 ? TLS_IO_DONE : io_of(t, r);
}

/* No ERR_clear_error before a read or write: the queue is emptied
 * wherever an error is taken (take_reason), so it is empty here, and
 * clearing costs a thread-local lookup per call. */
static size_t tls_read(struct tls *t, char *buf, size_t n, enum tls_io *io) {
  errno = 0;
  size_t got = 0;
  int r = SSL_read_ex(t->ssl, buf, n, &got);
  *io = r == 1 ? TLS_IO_DONE : io_of(t, r);
  return r == 1 ? got : 0;
}

static size_t tls_write(struct tls *t, const char *buf, size_t n, enum tls_io *io) {
  errno = 0;
  size_t done = 0;
  int r = SSL_write_ex(t->ssl, buf, n, &done);
  *io = r == 1 ? TLS_IO_DONE : io_of(t, r);
  return r == 1 ? done : 0;
}

static bool tls_has_pending(const struct tls *t) {
  return SSL_has_pending(t->ssl) == 1;
}

static void tls_shutdown(struct tls *t) {
  if (SSL_is_init_finished(t->ssl) && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
    SSL_shutdown(t->ssl);
  ERR_clear_error();
}

static const char *tls_error(const struct tls *t) {
  return t->reason[0] ? t->reason : "TLS error";
}

/* ---- what a session tells ---- */

static const struct {
  int code;
  const char *name, *text;
} qt_errors[] = {
  { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, "UnableToGetIssuerCertificate", "The issuer certificate could not be found" },
  { X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, "UnableToDecryptCertificateSignature", "The certificate signature could not be decrypted" },
  { X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY, "UnableToDecodeIssuerPublicKey", "The public key in the certificate could not be read" },
  { X509_V_ERR_CERT_SIGNATURE_FAILURE, "CertificateSignatureFailed", "The signature of the certificate is invalid" },
  { X509_V_ERR_CERT_NOT_YET_VALID, "CertificateNotYetValid", "The certificate is not yet valid" },
  { X509_V_ERR_CERT_HAS_EXPIRED, "CertificateExpired", "The certificate has expired" },
  { X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, "InvalidNotBeforeField", "The certificate's notBefore field contains an invalid time" },
  { X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, "InvalidNotAfterField", "The certificate's notAfter field contains an invalid time" },
  { X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "SelfSignedCertificate", "The certificate is self-signed, and untrusted" },
  { X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, "SelfSignedCertificateInChain", "The root certificate of the certificate chain is self-signed, and untrusted" },
  { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "UnableToGetLocalIssuerCertificate", "The issuer certificate of a locally looked up certificate could not be found" },
  { X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, "UnableToVerifyFirstCertificate", "No certificates could be verified" },
  { X509_V_ERR_CERT_REVOKED, "CertificateRevoked", "The certificate has been revoked" },
  { X509_V_ERR_INVALID_CA, "InvalidCaCertificate", "One of the CA certificates is invalid" },
  { X509_V_ERR_PATH_LENGTH_EXCEEDED, "PathLengthExceeded", "The basicConstraints path length parameter has been exceeded" },
  { X509_V_ERR_INVALID_PURPOSE, "InvalidPurpose", "The supplied certificate is unsuitable for this purpose" },
  { X509_V_ERR_CERT_UNTRUSTED, "CertificateUntrusted", "The root CA certificate is not trusted for this purpose" },
  { X509_V_ERR_CERT_REJECTED, "CertificateRejected", "The root CA certificate is marked to reject the specified purpose" },
  { X509_V_ERR_SUBJECT_ISSUER_MISMATCH, "SubjectIssuerMismatch", "The current candidate issuer certificate was rejected because its subject name did not match the issuer name of the current certificate" },
  { X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH, "AuthorityIssuerSerialNumberMismatch", "The current candidate issuer certificate was rejected because its issuer name and serial number was present and did not match the authority key identifier of the current certificate" },
  { X509_V_ERR_HOSTNAME_MISMATCH, "HostNameMismatch", "The host name did not match any of the valid hosts for this certificate" },
  { X509_V_ERR_IP_ADDRESS_MISMATCH, "HostNameMismatch", "The host name did not match any of the valid hosts for this certificate" },
};

static void describe(int code, const char **name, const char **text) {
  if (code == NO_PEER_CERTIFICATE) {
    *name = "NoPeerCertificate";
    *text = "The peer did not present any certificate";
    return;
  }
  for (size_t i = 0; i < sizeof qt_errors / sizeof qt_errors[0]; i++)
    if (qt_errors[i].code == code) {
      *name = qt_errors[i].name;
      *text = qt_errors[i].text;
      return;
    }
  *name = "UnspecifiedError";
  *text = X509_verify_cert_error_string(code);
}

static int tls_verify_error_count(struct tls *t) {
  /* A peer asked for a certificate that sent none: NoPeerCertificate. */
  if (t->verify == TLS_VERIFY_PEER && t->nerrors == 0 && !SSL_get0_peer_certificate(t->ssl))
    t->errors[t->nerrors++] = (struct verify_error){ NO_PEER_CERTIFICATE, 0 };
  return t->nerrors;
}

static void tls_push_errors(lua_State *L, const struct tls *t) {
  lua_createtable(L, t->nerrors, 0);
  for (int i = 0; i < t->nerrors; i++) {
    const char *name, *text;
    describe(t->errors[i].code, &name, &text);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "error");
    lua_pushstring(L, text);
    lua_setfield(L, -2, "errorString");
    lua_pushinteger(L, t->errors[i].depth);
    lua_setfield(L, -2, "depth");
    lua_rawseti(L, -2, i + 1);
  }
}

static const char *tls_first_error_string(const struct tls *t) {
  const char *name, *text;
  if (t->nerrors == 0)
    return "No error";
  describe(t->errors[0].code, &name, &text);
  return text;
}

static void push_name(lua_State *L, X509_NAME *n) {
  BIO *b = BIO_new(BIO_s_mem());
  if (!b) {
    lua_pushliteral(L, "");
    return;
  }
  X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char *p;
  long len = BIO_get_mem_data(b, &p);
  lua_pushlstring(L, p, (size_t)len);
  BIO_free(b);
}

static void push_time(lua_State *L, const ASN1_TIME *at) {
  struct tm tm;
  if (at && ASN1_TIME_to_tm(at, &tm) == 1)
    lua_pushinteger(L, (lua_Integer)timegm(&tm));
  else
    lua_pushnil(L);
}

static void tls_push_peer_certificate(lua_State *L, const struct tls *t) {
  X509 *x = SSL_get1_peer_certificate(t->ssl);
  if (!x) {
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, 0, 7);
  push_name(L, X509_get_subject_name(x));
  lua_setfield(L, -2, "subject");
  push_name(L, X509_get_issuer_name(x));
  lua_setfield(L, -2, "issuer");
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0) {
    lua_pushstring(L, cn);
    lua_setfield(L, -2, "commonName");
  }
  push_time(L, X509_get0_notBefore(x));
  lua_setfield(L, -2, "notBefore");
  push_time(L, X509_get0_notAfter(x));
  lua_setfield(L, -2, "notAfter");
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  lua_pushstring(L, hex ? hex : "");
  lua_setfield(L, -2, "serialNumber");
  OPENSSL_free(hex);
  BN_free(bn);
  struct sni_cert names = { 0 };
  cert_names(x, &names);
  lua_createtable(L, names.nnames, 0);
  for (int i = 0; i < names.nnames; i++) {
    lua_pushstring(L, names.names[i]);
    lua_rawseti(L, -2, i + 1);
    free(names.names[i]);
  }
  free(names.names);
  lua_setfield(L, -2, "names");
  X509_free(x);
}

static const char *tls_protocol(const struct tls *t) {
  switch (SSL_version(t->ssl)) {
  case TLS1_3_VERSION:
    return "TlsV1_3";
  case TLS1_2_VERSION:
    return "TlsV1_2";
  case TLS1_1_VERSION:
    return "TlsV1_1";
  case TLS1_VERSION:
    return "TlsV1_0";
  default:
    return "UnknownProtocol";
  }
}

static void tls_push_cipher(lua_State *L, const struct tls *t) {
  const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
  if (!c) {
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, SSL_CIPHER_get_name(c));
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, SSL_CIPHER_get_bits(c, NULL));
  lua_setfield(L, -2, "bits");
  lua_pushstring(L, tls_protocol(t));
  lua_setfield(L, -2, "protocol");
}

static void tls_push_alpn(lua_State *L, const struct tls *t) {
  const unsigned char *p;
  unsigned int len;
  SSL_get0_alpn_selected(t->ssl, &p, &len);
  if (len)
    lua_pushlstring(L, (const char *)p, len);
  else
    lua_pushnil(L);
}

/* The table the core loads (tls_load.c): the only symbol of this module. */
static const char *tls_library_version(void) {
  return OpenSSL_version(OPENSSL_VERSION);
}

__attribute__((visibility("default"))) const struct tls_api luanet_tls_api = {
  .context_new = tls_context_new,
  .default_client = tls_default_client,
  .context_ref = tls_context_ref,
  .context_unref = tls_context_unref,
  .context_handshake_timeout = tls_context_handshake_timeout,
  .context_offer_alpn = tls_context_offer_alpn,
  .session_new = tls_new,
  .session_free = tls_free,
  .session_offer_alpn = tls_session_offer_alpn,
  .handshake = tls_handshake,
  .read = tls_read,
  .write = tls_write,
  .has_pending = tls_has_pending,
  .shutdown = tls_shutdown,
  .error = tls_error,
  .error_count = tls_verify_error_count,
  .push_errors = tls_push_errors,
  .first_error_string = tls_first_error_string,
  .push_peer_certificate = tls_push_peer_certificate,
  .protocol = tls_protocol,
  .push_cipher = tls_push_cipher,
  .push_alpn = tls_push_alpn,
  .library_version = tls_library_version,
};
