#include "budget.h"

#include <stdlib.h>

void *budget_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct budget *b = ud;
  if (!ptr)
    osize = 0;   /* then osize is the kind of object, not a size */
  if (nsize == 0) {
    if (ptr)
      block_give(&b->cache, ptr, osize);
    b->used -= osize;
    return NULL;
  }
  if (nsize > osize && b->limit && b->protected_depth > 0 && b->used - osize + nsize > b->limit) {
    b->refused++;
    return NULL;
  }
  void *p = ptr ? block_resize(&b->cache, ptr, osize, nsize) : block_take(&b->cache, nsize);
  if (!p)
    return nsize <= osize ? ptr : NULL;   /* a shrink that failed keeps the larger block */
  b->used = b->used - osize + nsize;
  if (b->used > b->peak)
    b->peak = b->used;
  return p;
}

void budget_charge(struct budget *b, long long delta) {
  if (!b)
    return;
  long long used = (long long)b->used + delta;
  b->used = used < 0 ? 0 : (size_t)used;
  if (b->used > b->peak)
    b->peak = b->used;
}
