/* luanetd's version (CMake's project version) and its libraries'. */
#ifndef LUANET_VERSION_H
#define LUANET_VERSION_H

#include <stdio.h>

/* "luanetd X.Y.Z", then one line each for Lua, libev, c-ares, llhttp and
 * OpenSSL (the TLS module is loaded to ask it). */
void version_print(FILE *out);
/* "0.9.0" */
const char *version_string(void);

#endif
