/* RFC 6455's framing (section 5) as plain functions over bytes: what the
 * WebSocket class runs on every message, so each is one pass with no
 * allocation. See ws_frame.h. */
#include "ws_frame.h"

#include <string.h>

enum ws_parse ws_frame_parse_header(const uint8_t *p, size_t n, struct ws_frame_header *h, const char **why) {
  if (n < 2)
    return WS_PARSE_MORE;
  h->fin = p[0] & 0x80;
  h->rsv = (p[0] >> 4) & 0x7;
  h->opcode = p[0] & 0x0f;
  h->masked = p[1] & 0x80;
  uint64_t len = p[1] & 0x7f;
  size_t size = 2;
  bool control = h->opcode & 0x8;
  if ((h->opcode > WS_OP_BINARY && h->opcode < WS_OP_CLOSE) || h->opcode > WS_OP_PONG) {
    *why = "reserved opcode";
    return WS_PARSE_ERROR;
  }
  if (control && !h->fin) {
    *why = "fragmented control frame";
    return WS_PARSE_ERROR;
  }
  if (control && len > WS_CONTROL_MAX) {
    *why = "control frame longer than 125 bytes";
    return WS_PARSE_ERROR;
  }
  if (len == 126) {
    if (n < 4)
      return WS_PARSE_MORE;
    len = (uint64_t)p[2] << 8 | p[3];
    size = 4;
  } else if (len == 127) {
    if (n < 10)
      return WS_PARSE_MORE;
    len = 0;
    for (int i = 2; i < 10; i++)
      len = len << 8 | p[i];
    if (len >> 63) {
      *why = "payload length with its most significant bit set";
      return WS_PARSE_ERROR;
    }
    size = 10;
  }
  if (h->masked) {
    if (n < size + 4)
      return WS_PARSE_MORE;
    memcpy(h->mask, p + size, 4);
    size += 4;
  }
  h->length = len;
  h->size = size;
  return WS_PARSE_DONE;
}

size_t ws_frame_encode_header(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode, uint64_t length,
                              const uint8_t *mask) {
  out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0f));
  uint8_t mask_bit = mask ? 0x80 : 0;
  size_t size;
  if (length < 126) {
    out[1] = mask_bit | (uint8_t)length;
    size = 2;
  } else if (length <= 0xffff) {
    out[1] = mask_bit | 126;
    out[2] = (uint8_t)(length >> 8);
    out[3] = (uint8_t)length;
    size = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; i++)
      out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
    size = 10;
  }
  if (mask) {
    memcpy(out + size, mask, 4);
    size += 4;
  }
  return size;
}

void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset) {
  uint8_t m[8];
  for (int i = 0; i < 8; i++)
    m[i] = mask[(offset + (uint64_t)i) & 3];
  size_t i = 0;
  /* Eight bytes at a time: the mask repeats every 4, so the rotated
   * pattern of 8 bytes lines up with every 8-byte block. */
  uint64_t word;
  memcpy(&word, m, 8);
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    v ^= word;
    memcpy(p + i, &v, 8);
  }
  for (; i < n; i++)
    p[i] ^= m[i & 7];
}

bool ws_close_code_valid(unsigned code) {
  if (code >= 3000 && code <= 4999)
    return true;   /* registered with IANA (3000-3999) or private (4000-4999) */
  switch (code) {
  case 1000: case 1001: case 1002: case 1003: case 1007: case 1008:
  case 1009: case 1010: case 1011: case 1012: case 1013: case 1014:
    return true;
  default:
    return false;
  }
}
