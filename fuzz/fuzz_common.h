/* fuzz/fuzz_common.h: what the fuzz targets that drive luanetd over
 * sockets share (fuzz_http_server, fuzz_h2_server, fuzz_h2_client): a
 * growable byte string, and fail(), which says what went wrong, shows
 * the input and aborts, so that libFuzzer keeps it.
 *
 * A target defines FUZZ_NAME ("fuzz_h2_server") before including this;
 * one that shows its input otherwise than in hex also defines
 * FUZZ_SHOW_INPUT(p, n). Each target is one translation unit: everything
 * here is static. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bytes {
  char *p;
  size_t len, cap;
};

/* Appends p[0..n), keeping a NUL after the bytes. */
static inline void bytes_add(struct bytes *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
      abort();
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

/* The input being run, for fail(). */
static const uint8_t *cur_data;
static size_t cur_size;

static inline void dump_hex(const char *what, const void *v, size_t n) {
  const uint8_t *p = v;
  fprintf(stderr, "--- %s (%zu bytes)\n", what, n);
  for (size_t i = 0; i < n && i < 8192; i++)
    fprintf(stderr, "%02x%s", p[i], (i + 1) % 32 == 0 ? "\n" : "");
  fputc('\n', stderr);
}

#ifndef FUZZ_SHOW_INPUT
#define FUZZ_SHOW_INPUT(p, n) dump_hex("input", (p), (n))
#endif

__attribute__((noreturn, format(printf, 1, 2))) static inline void fail(const char *fmt, ...) {
  va_list ap;
  fputs(FUZZ_NAME ": ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (cur_data)
    FUZZ_SHOW_INPUT(cur_data, cur_size);
  abort();
}

#endif
