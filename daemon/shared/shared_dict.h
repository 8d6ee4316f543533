/* The store behind net.SharedDict (shared_dict.c): named dictionaries of
 * plain values (plain_value.h's bytes) in the process's memory, not in a
 * Lua state, so that every worker thread, every generation and every
 * service reads and writes the same entries, and they outlive reloads.
 * Lua-free; each dict has its own lock, held only while bytes are copied.
 *
 * A dict charges its entries (key, value and a fixed overhead) to the
 * capacity it was declared with, never to a service's memory_limit. Full,
 * it evicts the least recently used entries (SD_SET) or refuses
 * (SD_SAFE_SET). An entry may expire (ttl): it then costs nothing until it
 * is touched or evicted. */
#ifndef LUANET_SHARED_DICT_H
#define LUANET_SHARED_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shared_dict;

enum sd_result { SD_OK, SD_EXISTS, SD_NOT_FOUND, SD_NO_MEMORY, SD_NOT_NUMBER, SD_DROPPED };
/* The reason a result gives a script ("exists", "not found", ...). */
const char *sd_result_text(enum sd_result r);

/* ---- the process's dicts, by name ---- */

/* The dict `name`, with a reference for the caller; NULL and *why when
 * there is none. Outside the daemon (no shared_dict_configure yet) a dict
 * is made on first use with `size` bytes (0: refused, the size is needed);
 * under the daemon only the declared ones exist. */
struct shared_dict *shared_dict_open(const char *name, size_t size, const char **why);
void shared_dict_release(struct shared_dict *d);
/* The daemon's config (`shared = { name = size }`), at start and at each
 * reload: new dicts are made, a changed size keeps the entries that fit
 * (the least recently used go first), and a dict no longer declared is
 * dropped (handles still held fail with SD_DROPPED). false with *why
 * when memory ran out. */
bool shared_dict_configure(const char *const *names, const size_t *sizes, int n, const char **why);

/* ---- one dict ---- */

enum sd_mode { SD_SET, SD_SAFE_SET, SD_ADD, SD_REPLACE };

/* Stores value[0..vlen) under key; ttl seconds (0: none). *evicted: live
 * entries had to go to make room. */
enum sd_result shared_dict_store(struct shared_dict *d, const char *key, size_t klen, const char *value, size_t vlen,
                                 double ttl, enum sd_mode mode, bool *evicted);
/* Copies the value of key (*len bytes) to *out: buf when it fits in cap
 * bytes, else memory malloc'd for it (the caller frees *out when it is
 * not buf). SD_OK, SD_NOT_FOUND (or expired), or SD_NO_MEMORY. */
enum sd_result shared_dict_fetch(struct shared_dict *d, const char *key, size_t klen, char *buf, size_t cap,
                                 char **out, size_t *len);
/* incr: the value (a number) plus delta, stored and returned in *result
 * (plain_value.h number bytes, PLAIN_NUMBER_SIZE). An absent key starts
 * from init (NULL: SD_NOT_FOUND) with init_ttl. */
enum sd_result shared_dict_incr(struct shared_dict *d, const char *key, size_t klen, const char *delta,
                                const char *init, double init_ttl, char *result, bool *evicted);
enum sd_result shared_dict_delete(struct shared_dict *d, const char *key, size_t klen);
/* Seconds left (*ttl, 0: none) of a live entry. */
enum sd_result shared_dict_ttl(struct shared_dict *d, const char *key, size_t klen, double *ttl);
enum sd_result shared_dict_expire(struct shared_dict *d, const char *key, size_t klen, double ttl);
/* Calls fn for the keys of live entries, most recently used first, at
 * most max (0: all); the keys are copied into one malloc'd block first,
 * so fn runs without the lock. */
enum sd_result shared_dict_keys(struct shared_dict *d, size_t max, void (*fn)(void *ud, const char *k, size_t n),
                                void *ud);
void shared_dict_flush_all(struct shared_dict *d);
/* Live entries, declared bytes, bytes not charged. */
size_t shared_dict_count(struct shared_dict *d);
size_t shared_dict_capacity(const struct shared_dict *d);
size_t shared_dict_free_space(struct shared_dict *d);
const char *shared_dict_name(const struct shared_dict *d);

/* What a dict holds, for metrics: bytes charged and entries (expired ones
 * not yet swept count), and live entries evicted since it was made. */
struct sd_stats {
  size_t capacity, used, entries;
  unsigned long long evictions;
};
void shared_dict_stats(struct shared_dict *d, struct sd_stats *out);
/* Calls fn for each declared dict, under the registry's lock: fn must not
 * open or release a dict. */
void shared_dict_each(void (*fn)(void *ud, struct shared_dict *d), void *ud);

#endif
