/* fuzz_ws_frame: the WebSocket frame codec (daemon/ws/ws_frame.c) and the
 * UTF-8 check its text messages go through (daemon/net/utf8.c) on
 * arbitrary bytes. The input's first byte picks split points; the rest is
 * read as a stream of frames. Checked, besides memory safety:
 *   - a header parsed from a prefix is MORE or the same as from the whole;
 *   - encoding a parsed header and parsing it again gives the same frame;
 *   - unmasking in two pieces equals unmasking at once, and twice is none;
 *   - the incremental UTF-8 check agrees with a plain decoder written
 *     here, whole and split at any point. */
#include "utf8.h"
#include "ws_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what) {
  fprintf(stderr, "fuzz_ws_frame: invariant broken: %s\n", what);
  abort();
}

/* RFC 3629 by decoding: the code point of each sequence, checked. */
static bool plain_utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    int len;
    uint32_t cp, min;
    if (b < 0x80) { i++; continue; }
    else if ((b & 0xe0) == 0xc0) len = 2, cp = b & 0x1f, min = 0x80;
    else if ((b & 0xf0) == 0xe0) len = 3, cp = b & 0x0f, min = 0x800;
    else if ((b & 0xf8) == 0xf0) len = 4, cp = b & 0x07, min = 0x10000;
    else return false;
    if (i + (size_t)len > n)
      return false;
    for (int k = 1; k < len; k++) {
      if ((p[i + (size_t)k] & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (p[i + (size_t)k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += (size_t)len;
  }
  return true;
}

/* A prefix's error must be the whole's: an incomplete text is no error. */
static void check_utf8(const uint8_t *p, size_t n, size_t split) {
  bool plain = plain_utf8_valid(p, n);
  bool ok = utf8_valid(p, n);
  if (ok != plain)
    fail(plain ? "valid UTF-8 refused" : "invalid UTF-8 accepted");
  if (split > n)
    split = n;
  struct utf8_check parts = { 0 };
  bool first = utf8_feed(&parts, p, split);
  bool second = first && utf8_feed(&parts, p + split, n - split);
  if ((second && utf8_complete(&parts)) != ok)
    fail("UTF-8 split in two judged differently");
}

static void check_frames(const uint8_t *p, size_t n, size_t split) {
  while (n > 0) {
    struct ws_frame_header h, again;
    const char *why = NULL;
    enum ws_parse r = ws_frame_parse_header(p, n, &h, &why);
    if (r == WS_PARSE_ERROR && !why)
      fail("an error without a reason");
    for (size_t k = 0; k < n && k < WS_HEADER_MAX; k++) {
      enum ws_parse rk = ws_frame_parse_header(p, k, &again, &why);
      if (rk == WS_PARSE_DONE && (r != WS_PARSE_DONE || again.size != h.size || again.length != h.length))
        fail("a prefix parsed to another header");
      if (rk == WS_PARSE_ERROR && r != WS_PARSE_ERROR)
        fail("a prefix is an error and the whole is not");
    }
    if (r != WS_PARSE_DONE)
      return;
    uint8_t out[WS_HEADER_MAX];
    size_t size = ws_frame_encode_header(out, h.fin, h.rsv, h.opcode, h.length, h.masked ? h.mask : NULL);
    if (ws_frame_parse_header(out, size, &again, &why) != WS_PARSE_DONE || again.fin != h.fin ||
        again.rsv != h.rsv || again.opcode != h.opcode || again.masked != h.masked ||
        again.length != h.length || (h.masked && memcmp(again.mask, h.mask, 4)) || again.size != size)
      fail("an encoded header does not parse back to itself");
    if (size > h.size)
      fail("our encoding is longer than the peer's");
    p += h.size, n -= h.size;
    size_t len = h.length < n ? (size_t)h.length : n;
    uint8_t *a = malloc(len + 1), *b = malloc(len + 1);
    memcpy(a, p, len);
    memcpy(b, p, len);
    ws_mask(a, len, h.mask, 0);
    size_t cut = split % (len + 1);
    ws_mask(b, cut, h.mask, 0);
    ws_mask(b + cut, len - cut, h.mask, cut);
    if (memcmp(a, b, len))
      fail("unmasking in two pieces differs");
    ws_mask(a, len, h.mask, 0);
    if (memcmp(a, p, len))
      fail("masking twice is not the identity");
    check_utf8(b, len, cut);
    free(a);
    free(b);
    p += len, n -= len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t split = data[0];
  check_utf8(data + 1, size - 1, split);
  check_frames(data + 1, size - 1, split);
  return 0;
}
