/* Byte buffers for socket reads and writes.
 *
 * A reader consumes from the head and the socket appends at the tail. When
 * the head has moved far enough that the data would fit in front, the data
 * is moved down instead of growing, so a steady stream keeps one block.
 * A buffer can borrow memory (the loop's scratch area) while it is empty:
 * the common read — recv, emit readyRead, the slot reads everything —
 * then touches no heap at all. */
#include "buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUFFER_MIN 512   /* an HTTP head fits; bulk reads ask for 16 KiB themselves */

static bool buffer_own(struct buffer *b, size_t cap) {
  char *mem = malloc(cap);
  if (!mem)
    return false;
  if (b->len)
    memcpy(mem, b->data + b->off, b->len);
  if (!b->borrowed)
    free(b->data);
  b->data = mem;
  b->off = 0;
  b->cap = cap;
  b->borrowed = false;
  return true;
}

char *buffer_reserve(struct buffer *b, size_t want) {
  if (b->cap - b->off - b->len >= want)
    return b->data + b->off + b->len;
  if (want > SIZE_MAX - b->len)
    return NULL;
  size_t need = b->len + want;
  if (!b->borrowed && need <= b->cap && b->off >= b->cap / 2) {
    /* Moving the data down is cheaper than a bigger block. */
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
    return b->data + b->len;
  }
  size_t cap = b->cap < BUFFER_MIN ? BUFFER_MIN : b->cap;
  while (cap < need) {
    if (cap > SIZE_MAX / 3 * 2)
      cap = need;
    else
      cap += cap / 2;
  }
  if (!b->borrowed && b->off == 0) {
    char *mem = realloc(b->data, cap);
    if (!mem)
      return NULL;
    b->data = mem;
    b->cap = cap;
  } else if (!buffer_own(b, cap)) {
    return NULL;
  }
  return b->data + b->off + b->len;
}

void buffer_consume(struct buffer *b, size_t n) {
  if (n >= b->len) {
    b->off = 0;
    b->len = 0;
  } else {
    b->off += n;
    b->len -= n;
  }
}

bool buffer_append(struct buffer *b, const char *p, size_t n) {
  if (n == 0)
    return true;
  char *dst = buffer_reserve(b, n);
  if (!dst)
    return false;
  memcpy(dst, p, n);
  b->len += n;
  return true;
}

void buffer_borrow(struct buffer *b, char *mem, size_t cap) {
  free(b->data);   /* empty by contract; an idle socket holds no block */
  b->data = mem;
  b->off = 0;
  b->len = 0;
  b->cap = cap;
  b->borrowed = true;
}

bool buffer_unborrow(struct buffer *b) {
  if (!b->borrowed)
    return true;
  if (b->len == 0) {
    b->data = NULL;
    b->off = b->cap = 0;
    b->borrowed = false;
    return true;
  }
  return buffer_own(b, b->len < BUFFER_MIN ? BUFFER_MIN : b->len);
}

void buffer_free(struct buffer *b) {
  if (!b->borrowed)
    free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
  b->borrowed = false;
}
