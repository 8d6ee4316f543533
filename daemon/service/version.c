/* `luanetd --version`: our version and those of the libraries this binary
 * runs with, as they report themselves at run time where they can (a
 * shared libev or c-ares may be newer than the headers we built with). */
#include "version.h"
#include "tls.h"

#include <ares.h>
#include <ev.h>
#include <llhttp.h>
#include <lua.h>

#ifndef LUANET_VERSION
#error "build with -DLUANET_VERSION=\"X.Y.Z\""
#endif

const char *version_string(void) {
  return LUANET_VERSION;
}

void version_print(FILE *out) {
  fprintf(out, "luanetd %s\n", LUANET_VERSION);
  fprintf(out, "%s\n", LUA_RELEASE);   /* linked in statically: the build's */
  fprintf(out, "libev %d.%d\n", ev_version_major(), ev_version_minor());
  fprintf(out, "c-ares %s\n", ares_version(NULL));
  fprintf(out, "llhttp %d.%d.%d\n", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
  char err[512];
  if (tls_load(err, sizeof err))
    fprintf(out, "%s\n", tls_loaded->library_version());
  else
    fprintf(out, "OpenSSL: not available (%s)\n", err);
}
