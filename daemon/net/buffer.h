/* A byte buffer with a consumed head and a free tail: data arrives at the
 * tail (buffer_reserve + buffer_commit) and leaves from the head
 * (buffer_consume). Lua-free. */
#ifndef LUANET_BUFFER_H
#define LUANET_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

struct buffer {
  char *data;
  size_t off;       /* first unread byte */
  size_t len;       /* unread bytes from data + off */
  size_t cap;
  bool borrowed;    /* data is someone else's memory: never freed here */
};

/* Pointer to at least `want` free bytes at the tail, growing (x1.5) or
 * compacting as needed; NULL when memory runs out. */
char *buffer_reserve(struct buffer *b, size_t want);
static inline void buffer_commit(struct buffer *b, size_t n) { b->len += n; }
static inline const char *buffer_head(const struct buffer *b) { return b->data + b->off; }
void buffer_consume(struct buffer *b, size_t n);
/* Appends n bytes; false when memory runs out. */
bool buffer_append(struct buffer *b, const char *p, size_t n);
/* Lends `mem` to an empty buffer; buffer_unborrow later copies what is
 * left into memory of the buffer's own (false: out of memory). */
void buffer_borrow(struct buffer *b, char *mem, size_t cap);
bool buffer_unborrow(struct buffer *b);
void buffer_free(struct buffer *b);

#endif
