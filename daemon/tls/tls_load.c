/* The core's side of TLS: luanet/tls.so (daemon/tls/tls.c on OpenSSL) is
 * loaded with dlopen by the first context made, so a process that makes
 * no TLS object maps no libssl or libcrypto (1.7 MB of RSS and a few ms of
 * start-up that an echo server need not pay). Its one symbol is the table
 * of its functions, struct tls_api. */
#include "tls.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#ifndef LUANET_TLS_MODULE
#error "build with -DLUANET_TLS_MODULE=\"/path/to/luanet/tls.so\""
#endif

const char *const tls_verify_names[] = { "VerifyNone", "QueryPeer", "VerifyPeer", "AutoVerifyPeer", NULL };

const struct tls_api *tls_loaded;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void) {
  void *h = dlopen(LUANET_TLS_MODULE, RTLD_NOW | RTLD_LOCAL);
  const struct tls_api *api = h ? dlsym(h, "luanet_tls_api") : NULL;
  if (!api) {
    snprintf(load_error, sizeof load_error, "TLS is not available: %s", dlerror());
    return;
  }
  tls_loaded = api;
}

bool tls_load(char *err, size_t err_len) {
  pthread_once(&once, load);   /* workers may race to their first context */
  if (!tls_loaded)
    snprintf(err, err_len, "%s", load_error);
  return tls_loaded != NULL;
}

struct tls_context *tls_context_new(const struct tls_options *o, char *err, size_t err_len) {
  return tls_load(err, err_len) ? tls_loaded->context_new(o, err, err_len) : NULL;
}

struct tls_context *tls_default_client(char *err, size_t err_len) {
  return tls_load(err, err_len) ? tls_loaded->default_client(err, err_len) : NULL;
}

void tls_context_unref(struct tls_context *c) {
  if (c && tls_loaded)
    tls_loaded->context_unref(c);
}
