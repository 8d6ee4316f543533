/* RFC 7692's permessage-deflate on zlib: see ws_deflate.h. zlib does the
 * DEFLATE itself (raw streams: negative window bits); what is ours is the
 * message framing (7.2.1: a sync flush, its trailing 00 00 ff ff cut;
 * 7.2.2: put back before inflating; 7.2.3.4: a stream a BFINAL block
 * ended goes on as a new one), the size limit checked as the output
 * grows, and when the streams are made and dropped. */
#include "ws_deflate.h"

#include <stdlib.h>
#include <zlib.h>

static const uint8_t TRAILER[4] = { 0x00, 0x00, 0xff, 0xff };

static z_stream *new_stream(bool deflating, int bits) {
  z_stream *z = calloc(1, sizeof *z);
  if (!z)
    return NULL;
  int r = deflating ? deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY)
                    : inflateInit2(z, -15);   /* a 32 KiB window takes any peer's */
  if (r != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

static void drop(z_stream **z, bool deflating) {
  if (!*z)
    return;
  if (deflating)
    deflateEnd(*z);
  else
    inflateEnd(*z);
  free(*z);
  *z = NULL;
}

/* Runs inflate over p[0..n) into out, growing it, up to limit bytes. */
static int inflate_into(z_stream *z, const uint8_t *p, size_t n, struct buffer *out, uint64_t limit, const char **why) {
  z->next_in = (Bytef *)p;
  z->avail_in = (uInt)n;
  while (z->avail_in > 0) {
    char *dst = buffer_reserve(out, 16384);
    if (!dst) {
      *why = "no memory to inflate the message";
      return -1;
    }
    size_t room = out->cap - out->off - out->len;
    z->next_out = (Bytef *)dst;
    z->avail_out = (uInt)room;
    int r = inflate(z, Z_SYNC_FLUSH);
    buffer_commit(out, room - z->avail_out);
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
      *why = "invalid compressed data";
      return -1;
    }
    if (out->len > limit) {
      *why = "message too big";
      return -2;
    }
    /* A block with BFINAL set ended the peer's DEFLATE stream (RFC 7692
     * 7.2.3.4 allows one): what follows, the empty block that ends the
     * message or the next message, is a new stream, which a finished zlib
     * stream would not read (it returns Z_STREAM_END again, output none).
     * The new one starts with an empty window, as any stream does (RFC
     * 1951): keeping the old one as a preset dictionary would cost two
     * 32 KiB copies per block, and 2-byte final blocks are cheap to send. */
    if (r == Z_STREAM_END && inflateReset(z) != Z_OK) {
      *why = "invalid compressed data";
      return -1;
    }
    if (r == Z_BUF_ERROR && z->avail_out > 0)
      break;   /* no progress possible: the input is used up */
  }
  return 0;
}

int ws_inflate(struct ws_deflate *d, const uint8_t *p, size_t n, bool last, struct buffer *out, uint64_t limit,
               const char **why) {
  if (!d->in && !(d->in = new_stream(false, 15))) {
    *why = "no memory for zlib";
    return -1;
  }
  int r = inflate_into(d->in, p, n, out, limit, why);
  if (r == 0 && last)
    r = inflate_into(d->in, TRAILER, sizeof TRAILER, out, limit, why);
  if (r != 0 || (last && d->inflate_reset))
    drop(&d->in, false);
  return r;
}

int ws_deflate_message(struct ws_deflate *d, const uint8_t *p, size_t n, struct buffer *out) {
  if (!d->out && !(d->out = new_stream(true, d->deflate_bits)))
    return -1;
  z_stream *z = d->out;
  z->next_in = (Bytef *)p;
  z->avail_in = (uInt)n;
  int r;
  do {
    char *dst = buffer_reserve(out, n / 2 + 64);
    if (!dst) {
      drop(&d->out, true);
      return -1;
    }
    size_t room = out->cap - out->off - out->len;
    z->next_out = (Bytef *)dst;
    z->avail_out = (uInt)room;
    r = deflate(z, Z_SYNC_FLUSH);
    buffer_commit(out, room - z->avail_out);
  } while (r == Z_OK && (z->avail_in > 0 || z->avail_out == 0));
  if (r != Z_OK && r != Z_BUF_ERROR) {
    drop(&d->out, true);
    return -1;
  }
  if (out->len >= 4)
    out->len -= 4;   /* the sync flush's 00 00 ff ff (7.2.1) */
  if (d->deflate_reset)
    drop(&d->out, true);
  return 0;
}

void ws_deflate_free(struct ws_deflate *d) {
  drop(&d->in, false);
  drop(&d->out, true);
}
