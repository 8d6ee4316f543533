/* SHA-1 (FIPS 180-4) and base64 for one purpose, the handshake's accept
 * value: 60 bytes hashed once per connection. Written here rather than
 * taken from OpenSSL, which the daemon loads only for TLS (tls_load.c). */
#include "ws_accept.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static uint32_t rol(uint32_t x, int n) {
  return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 80; i++)
    w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5a827999;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ed9eba1;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
    else
      f = b ^ c ^ d, k = 0xca62c1d6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* SHA-1 of p[0..n) into out. */
static void sha1(const uint8_t *p, size_t n, uint8_t out[20]) {
  uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    sha1_block(h, p + i);
  uint8_t tail[128] = { 0 };
  size_t rest = n - i;
  memcpy(tail, p + i, rest);
  tail[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  uint64_t bits = (uint64_t)n * 8;
  for (int k = 0; k < 8; k++)
    tail[blocks * 64 - 1 - (size_t)k] = (uint8_t)(bits >> (8 * k));
  for (size_t b = 0; b < blocks; b++)
    sha1_block(h, tail + 64 * b);
  for (int k = 0; k < 5; k++) {
    out[4 * k] = (uint8_t)(h[k] >> 24);
    out[4 * k + 1] = (uint8_t)(h[k] >> 16);
    out[4 * k + 2] = (uint8_t)(h[k] >> 8);
    out[4 * k + 3] = (uint8_t)h[k];
  }
}

/* Base64 (RFC 4648) of p[0..n) and a NUL into out (4 * ceil(n / 3) + 1 bytes). */
static void base64(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *out++ = digits[v >> 18 & 63], *out++ = digits[v >> 12 & 63];
    *out++ = digits[v >> 6 & 63], *out++ = digits[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    *out++ = digits[v >> 18 & 63], *out++ = digits[v >> 12 & 63];
    *out++ = i + 1 < n ? digits[v >> 6 & 63] : '=';
    *out++ = '=';
  }
  *out = '\0';
}

void ws_accept(const char *key, size_t n, char out[WS_ACCEPT_LEN + 1]) {
  uint8_t text[256 + sizeof GUID];
  if (n > 256)
    n = 256;   /* a real key is 24 bytes; the caller has refused longer ones */
  memcpy(text, key, n);
  memcpy(text + n, GUID, sizeof GUID - 1);
  uint8_t digest[20];
  sha1(text, n + sizeof GUID - 1, digest);
  base64(digest, sizeof digest, out);
}

bool ws_new_key(char out[WS_KEY_LEN + 1]) {
  uint8_t nonce[16];
  if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
    return false;
  base64(nonce, sizeof nonce, out);
  return true;
}
