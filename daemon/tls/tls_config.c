/* Reading a TLS configuration table (tls_config.h). */
#include "tls_config.h"

#include <lauxlib.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  int min, max;
} protocols[] = {
  { "TlsV1_2OrLater", TLS1_2_VERSION, 0 }, { "SecureProtocols", TLS1_2_VERSION, 0 },
  { "TlsV1_3OrLater", TLS1_3_VERSION, 0 }, { "TlsV1_2", TLS1_2_VERSION, TLS1_2_VERSION },
  { "TlsV1_3", TLS1_3_VERSION, TLS1_3_VERSION },
};

static const char *const keys[] = {
  "caCertificates", "ca", "localCertificate", "cert", "privateKey", "key", "peerVerifyMode",
  "peerVerifyName", "protocol", "alpn", "handshakeTimeout", NULL,
};

/* The string field of the table at idx under `name` or `alias`: a copy,
 * NULL when absent; false when present and not a string. */
static bool string_field(lua_State *L, int idx, const char *name, const char *alias, char **out,
                         char *err, size_t err_len) {
  *out = NULL;
  for (int k = 0; k < 2; k++) {
    const char *key = k ? alias : name;
    if (!key)
      continue;
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TSTRING && !*out)
      *out = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (t != LUA_TNIL && t != LUA_TSTRING) {
      snprintf(err, err_len, "tls: %s must be a string", key);
      return false;
    }
  }
  return true;
}

static bool add_cert(struct tls_config *c, char *cert, char *key) {
  char **certs = realloc(c->certs, (size_t)(c->ncerts + 2) * sizeof *certs);
  if (certs)
    c->certs = certs;
  char **ks = certs ? realloc(c->keys, (size_t)(c->ncerts + 2) * sizeof *ks) : NULL;
  if (ks)
    c->keys = ks;
  if (!certs || !ks) {
    free(cert);
    free(key);
    return false;
  }
  c->certs[c->ncerts] = cert;
  c->keys[c->ncerts] = key ? key : strdup(cert);
  c->ncerts++;
  c->certs[c->ncerts] = c->keys[c->ncerts] = NULL;
  return true;
}

static bool read_pair(lua_State *L, int idx, struct tls_config *c, bool required, char *err, size_t err_len) {
  char *cert, *key;
  if (!string_field(L, idx, "localCertificate", "cert", &cert, err, err_len) ||
      !string_field(L, idx, "privateKey", "key", &key, err, err_len)) {
    return false;
  }
  if (!cert) {
    free(key);
    if (key || required) {
      snprintf(err, err_len, "tls: %s", key ? "a key without its certificate" : "each entry needs cert (and key)");
      return false;
    }
    return true;
  }
  if (!add_cert(c, cert, key)) {
    snprintf(err, err_len, "out of memory");
    return false;
  }
  return true;
}

bool tls_config_read(lua_State *L, int idx, struct tls_config *c, char *err, size_t err_len) {
  memset(c, 0, sizeof *c);
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) {
    snprintf(err, err_len, "tls: a table expected");
    return false;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {   /* unknown keys are errors, as in the config file */
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER)
      continue;
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    bool known = false;
    for (int i = 0; keys[i]; i++)
      known = known || strcmp(keys[i], key) == 0;
    if (!known) {
      lua_pop(L, 1);
      snprintf(err, err_len, "tls: unknown key %s", key);
      return false;
    }
  }
  bool ok = string_field(L, idx, "caCertificates", "ca", &c->ca_file, err, err_len) &&
            string_field(L, idx, "peerVerifyName", NULL, &c->verify_name, err, err_len) &&
            read_pair(L, idx, c, false, err, err_len);
  for (int i = 1; ok && lua_rawgeti(L, idx, i) == LUA_TTABLE; i++) {
    ok = read_pair(L, lua_gettop(L), c, true, err, err_len);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (ok && lua_getfield(L, idx, "peerVerifyMode") != LUA_TNIL) {
    const char *m = lua_tostring(L, -1);
    ok = false;
    for (int i = 0; m && tls_verify_names[i]; i++)
      if (strcmp(m, tls_verify_names[i]) == 0) {
        c->verify = i;
        c->has_verify = ok = true;
      }
    if (!ok)
      snprintf(err, err_len, "tls: peerVerifyMode must be VerifyNone, QueryPeer, VerifyPeer or AutoVerifyPeer");
  }
  lua_pop(L, 1);
  if (ok && lua_getfield(L, idx, "protocol") != LUA_TNIL) {
    const char *p = lua_tostring(L, -1);
    ok = false;
    for (size_t i = 0; p && i < sizeof protocols / sizeof protocols[0]; i++)
      if (strcmp(p, protocols[i].name) == 0) {
        c->min_version = protocols[i].min;
        c->max_version = protocols[i].max;
        ok = true;
      }
    if (!ok)
      snprintf(err, err_len, "tls: protocol must be TlsV1_2OrLater, TlsV1_3OrLater, TlsV1_2 or TlsV1_3");
  }
  lua_pop(L, 1);
  int t = ok ? lua_getfield(L, idx, "alpn") : LUA_TNIL;
  if (t == LUA_TSTRING) {
    c->alpn = strdup(lua_tostring(L, -1));
  } else if (t == LUA_TTABLE) {   /* { "h2", "http/1.1" } */
    luaL_Buffer b;
    lua_State *l = L;
    int list = lua_gettop(L);
    luaL_buffinit(l, &b);
    for (int i = 1; lua_rawgeti(L, list, i) == LUA_TSTRING; i++) {
      if (i > 1)
        luaL_addchar(&b, ',');
      luaL_addvalue(&b);
    }
    lua_pop(L, 1);
    luaL_pushresult(&b);
    c->alpn = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  } else if (t != LUA_TNIL) {
    snprintf(err, err_len, "tls: alpn must be a string or a list of strings");
    ok = false;
  }
  if (ok)
    lua_pop(L, 1);
  if (ok && lua_getfield(L, idx, "handshakeTimeout") != LUA_TNIL) {
    ok = lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0;
    c->handshake_timeout = ok ? lua_tonumber(L, -1) / 1000.0 : 0;
    if (!ok)
      snprintf(err, err_len, "tls: handshakeTimeout must be a positive number of ms");
  }
  lua_pop(L, 1);
  if (!ok)
    tls_config_free(c);
  return ok;
}

struct tls_context *tls_config_context(const struct tls_config *c, bool server, char *err, size_t err_len) {
  struct tls_options o = {
    .server = server, .ca_file = c->ca_file, .certs = (const char *const *)c->certs,
    .keys = (const char *const *)c->keys, .min_version = c->min_version, .max_version = c->max_version,
    .alpn = c->alpn, .handshake_timeout = c->handshake_timeout,
  };
  return tls_context_new(&o, err, err_len);
}

void tls_config_free(struct tls_config *c) {
  free(c->ca_file);
  for (int i = 0; i < c->ncerts; i++) {
    free(c->certs[i]);
    free(c->keys[i]);
  }
  free(c->certs);
  free(c->keys);
  free(c->verify_name);
  free(c->alpn);
  memset(c, 0, sizeof *c);
}
