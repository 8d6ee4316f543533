/* The handshake's keys (RFC 6455 4.1, 4.2.2): a client's random key, and
 * the server's accept value, base64 of the SHA-1 of the key and the
 * protocol's GUID (ws_accept.c). */
#ifndef LUANET_WS_ACCEPT_H
#define LUANET_WS_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#define WS_ACCEPT_LEN 28   /* base64 of 20 bytes */
#define WS_KEY_LEN 24      /* base64 of 16 bytes */

/* Writes the accept value of key[0..n) and a NUL into out. */
void ws_accept(const char *key, size_t n, char out[WS_ACCEPT_LEN + 1]);
/* A client's Sec-WebSocket-Key: 16 random bytes, base64. false when the
 * kernel's random source failed. */
bool ws_new_key(char out[WS_KEY_LEN + 1]);

#endif
