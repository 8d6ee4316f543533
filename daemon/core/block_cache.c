#include "block_cache.h"

#include <stdbool.h>
#include <string.h>

static bool same_class(size_t a, size_t b) {
  return a <= BLOCK_SMALL_MAX && b <= BLOCK_SMALL_MAX && block_class(a) == block_class(b);
}

void *block_resize(struct block_cache *c, void *ptr, size_t osize, size_t nsize) {
  if (osize > BLOCK_SMALL_MAX && nsize > BLOCK_SMALL_MAX)
    return realloc(ptr, nsize);
  if (same_class(osize, nsize))
    return ptr;
  void *p = block_take(c, nsize);
  if (!p)
    return NULL;
  memcpy(p, ptr, osize < nsize ? osize : nsize);
  block_give(c, ptr, osize);
  return p;
}

void block_cache_drain(struct block_cache *c) {
  for (size_t k = 0; k < BLOCK_CLASSES; k++) {
    while (c->free[k]) {
      void *p = c->free[k];
      c->free[k] = *(void **)p;
      free(p);
    }
  }
  c->bytes = 0;
}
