/* Free lists for the small blocks a Lua state allocates and frees by the
 * thousand: a string per message read, freed in batches by the collector.
 * glibc's per-thread cache keeps 7 blocks of a size, so a batch of frees
 * overflowed it and most of the next allocations took malloc's slow path
 * (about 200 instructions per block, a twentieth of an echoed message).
 *
 * Lua tells its allocator the size of every block it frees, so the lists
 * need no header: a free block's first word links the next. Class k holds
 * blocks of 16k + 24 bytes, what glibc hands out for a request of that
 * size (chunks are 16-byte multiples with an 8-byte header), so the cache
 * costs no memory per block; blocks over BLOCK_SMALL_MAX go straight to
 * malloc. A cache holds at most BLOCK_CACHE_BYTES and belongs to one Lua
 * state (one thread at a time). Under AddressSanitizer it keeps nothing,
 * so that a use after free still lands on freed memory. */
#ifndef LUANET_BLOCK_CACHE_H
#define LUANET_BLOCK_CACHE_H

#include <stddef.h>
#include <stdlib.h>

#define BLOCK_CLASSES 32
#define BLOCK_SMALL_MAX block_class_size(BLOCK_CLASSES - 1)   /* 520 */
#define BLOCK_CACHE_BYTES (64 * 1024)

struct block_cache {
  void *free[BLOCK_CLASSES];   /* class k holds blocks of block_class_size(k) bytes */
  size_t bytes;                /* held in the lists */
};

#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_CACHE_LIMIT 0
#else
#define BLOCK_CACHE_LIMIT BLOCK_CACHE_BYTES
#endif

static inline size_t block_class_size(size_t k) {
  return 16 * k + 24;
}

/* The class of a request of n bytes (0 < n <= BLOCK_SMALL_MAX). */
static inline size_t block_class(size_t n) {
  return n <= 24 ? 0 : (n + 7) / 16 - 1;
}

/* Inline: Lua allocates a few blocks per message, and a call to take or
 * give one is a good part of its cost. */
static inline void *block_take(struct block_cache *c, size_t n) {
  if (n > BLOCK_SMALL_MAX)
    return malloc(n);
  size_t k = block_class(n);
  void *p = c->free[k];
  if (!p)
    return malloc(block_class_size(k));
  c->free[k] = *(void **)p;
  c->bytes -= block_class_size(k);
  return p;
}

static inline void block_give(struct block_cache *c, void *p, size_t n) {
  if (n > BLOCK_SMALL_MAX) {
    free(p);
    return;
  }
  size_t k = block_class(n), size = block_class_size(k);
  if (c->bytes + size <= BLOCK_CACHE_LIMIT) {
    *(void **)p = c->free[k];
    c->free[k] = p;
    c->bytes += size;
    return;
  }
  free(p);
}

/* A block of osize bytes (ptr not NULL) made nsize (not 0) bytes; NULL
 * when malloc fails, and then ptr is untouched. */
void *block_resize(struct block_cache *c, void *ptr, size_t osize, size_t nsize);
/* Gives every cached block back to malloc (after lua_close). */
void block_cache_drain(struct block_cache *c);

#endif
