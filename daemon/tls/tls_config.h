/* A TLS configuration as Lua gives it (setSslConfiguration, a config
 * file's `tls = {...}`), read into C and made into a context. */
#ifndef LUANET_TLS_CONFIG_H
#define LUANET_TLS_CONFIG_H

#include "tls.h"

#include <lua.h>
#include <stdbool.h>

struct tls_config {
  char *ca_file;
  char **certs, **keys;     /* NULL-terminated, one key per certificate */
  int ncerts;
  bool has_verify;
  int verify;               /* enum tls_verify */
  char *verify_name;
  int min_version, max_version;
  char *alpn;
  double handshake_timeout; /* seconds; 0: the default */
};

/* Reads the table at idx:
 *   caCertificates (or ca)       a PEM file of CAs to trust
 *   localCertificate (or cert)   a PEM certificate chain
 *   privateKey (or key)          its key (default: in the cert file)
 *   { cert = ..., key = ... }, ... in the array part: more certificates,
 *                                chosen by SNI (a server)
 *   peerVerifyMode, peerVerifyName, protocol ("TlsV1_2OrLater",
 *   "TlsV1_3OrLater", "TlsV1_2", "TlsV1_3"), alpn ("http/1.1" or a list),
 *   handshakeTimeout (ms)
 * false with a message on a bad key or value. */
bool tls_config_read(lua_State *L, int idx, struct tls_config *c, char *err, size_t err_len);
struct tls_context *tls_config_context(const struct tls_config *c, bool server, char *err, size_t err_len);
void tls_config_free(struct tls_config *c);

#endif
