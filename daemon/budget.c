#include "budget.h"

#include <stdlib.h>

static void count(struct budget *b, size_t osize, size_t nsize) {
  b->used = b->used - osize + nsize;
  if (b->used > b->peak)
    b->peak = b->used;
}

void *budget_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct budget *b = ud;
  if (!ptr)
    osize = 0;   /* then osize is the kind of object, not a size */
  if (nsize == 0) {
    free(ptr);
    count(b, osize, 0);
    return NULL;
  }
  if (nsize > osize && b->limit && b->protected_depth > 0 && b->used - osize + nsize > b->limit) {
    b->refused++;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (!p && nsize <= osize)
    return ptr;   /* a shrink that realloc refused: keep the larger block */
  if (p)
    count(b, osize, nsize);
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
