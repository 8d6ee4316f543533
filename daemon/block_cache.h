/* Free lists for the small blocks a Lua state allocates and frees by the
 * thousand: a string per message read, freed in batches by the collector.
 * glibc's per-thread cache keeps 7 blocks of a size, so a batch of frees
 * overflowed it and most of the next allocations took malloc's slow path
 * (about 200 instructions per block, a twentieth of an echoed message).
 *
 * Lua tells its allocator the size of every block it frees, so the lists
 * need no header: a free block's first word links the next. Sizes round up
 * to 16 bytes; blocks over BLOCK_SMALL_MAX go straight to malloc. A cache
 * holds at most BLOCK_CACHE_BYTES and belongs to one Lua state (one thread
 * at a time). Under AddressSanitizer it keeps nothing, so that a use after
 * free still lands on freed memory. */
#ifndef LUANET_BLOCK_CACHE_H
#define LUANET_BLOCK_CACHE_H

#include <stddef.h>
#include <stdlib.h>

#define BLOCK_GRAIN 16
#define BLOCK_CLASSES 32
#define BLOCK_SMALL_MAX (BLOCK_GRAIN * BLOCK_CLASSES)
#define BLOCK_CACHE_BYTES (256 * 1024)

struct block_cache {
  void *free[BLOCK_CLASSES];   /* class k holds blocks of (k + 1) * BLOCK_GRAIN bytes */
  size_t bytes;                /* held in the lists */
};

#if defined(__SANITIZE_ADDRESS__)
#define BLOCK_CACHE_LIMIT 0
#else
#define BLOCK_CACHE_LIMIT BLOCK_CACHE_BYTES
#endif

/* Inline: Lua allocates a few blocks per message, and a call to take or
 * give one is a good part of its cost. */
static inline void *block_take(struct block_cache *c, size_t n) {
  if (n > BLOCK_SMALL_MAX)
    return malloc(n);
  size_t k = (n - 1) / BLOCK_GRAIN;
  void *p = c->free[k];
  if (!p)
    return malloc((k + 1) * BLOCK_GRAIN);
  c->free[k] = *(void **)p;
  c->bytes -= (k + 1) * BLOCK_GRAIN;
  return p;
}

static inline void block_give(struct block_cache *c, void *p, size_t n) {
  size_t k = (n - 1) / BLOCK_GRAIN, size = (k + 1) * BLOCK_GRAIN;
  if (n <= BLOCK_SMALL_MAX && c->bytes + size <= BLOCK_CACHE_LIMIT) {
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
