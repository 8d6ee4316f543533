/* A service's memory_limit: a counting allocator for its Lua state, with
 * its sockets' buffers charged to the same count.
 *
 * An allocation past the limit fails only while Lua runs in a protected
 * call (a task, or the daemon's pcall around loading and stopping code):
 * there Lua raises "not enough memory" in that callback and the daemon
 * goes on. Anywhere else (the C side pushing an accepted socket, say) a
 * failure would be a panic, so it succeeds and is counted, and the next
 * callback meets the limit. A shrink never fails. */
#ifndef LUANET_BUDGET_H
#define LUANET_BUDGET_H

#include "block_cache.h"

#include <stdbool.h>
#include <stddef.h>

struct budget {
  size_t used;               /* Lua's bytes and the sockets' buffers */
  size_t limit;              /* 0: no limit */
  size_t peak;
  unsigned long refused;     /* allocations that failed at the limit */
  int protected_depth;       /* > 0 while Lua runs in a protected call */
  struct block_cache cache;  /* the state's freed small blocks */
  bool owned;                /* made by state_new, freed by state_close */
};

/* A lua_Alloc; ud is the struct budget. Every Lua state of the daemon
 * uses it (with no limit outside services), for its block cache. */
void *budget_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* Counts bytes held outside Lua (delta may be negative). */
void budget_charge(struct budget *b, long long delta);
/* Whether `more` bytes would go past the limit. */
static inline bool budget_would_exceed(const struct budget *b, size_t more) {
  return b && b->limit && b->used + more > b->limit;
}
static inline bool budget_over(const struct budget *b) {
  return b && b->limit && b->used > b->limit;
}

#endif
