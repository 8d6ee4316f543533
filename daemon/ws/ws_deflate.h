/* permessage-deflate (RFC 7692) for one WebSocket connection, on zlib
 * (ws_deflate.c): a message's payload compressed as one raw DEFLATE block
 * sequence without its final empty block's 4 bytes, and the reverse.
 * Without context takeover a direction's zlib stream lives only while a
 * message passes, so an idle connection holds no zlib state. */
#ifndef LUANET_WS_DEFLATE_H
#define LUANET_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"

struct z_stream_s;

struct ws_deflate {
  bool enabled;
  bool inflate_reset;        /* the peer compresses without context takeover */
  bool deflate_reset;        /* so do we */
  int deflate_bits;          /* our window (9..15): the peer's *_max_window_bits */
  struct z_stream_s *in, *out;   /* NULL while no message passes (or never made) */
};

/* Inflates p[0..n) of a compressed message into out; `last`: the
 * message's last frame (its 4 trailing bytes are put back). Output past
 * `limit` bytes of out fails (a zip bomb is refused as it inflates).
 * 0, or -1 with *why. */
int ws_inflate(struct ws_deflate *d, const uint8_t *p, size_t n, bool last, struct buffer *out, uint64_t limit,
               const char **why);
/* Deflates a whole message p[0..n) into out (empty first). 0, or -1. */
int ws_deflate_message(struct ws_deflate *d, const uint8_t *p, size_t n, struct buffer *out);
/* Frees both streams. */
void ws_deflate_free(struct ws_deflate *d);

#endif
