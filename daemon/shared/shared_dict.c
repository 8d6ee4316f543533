/* The store behind net.SharedDict: see shared_dict.h.
 *
 * A dict is a chained hash of entries, each one malloc'd block (its
 * links, key and value), on a list in order of use for eviction. The
 * bytes charged for an entry are its block plus a bucket pointer, so the
 * declared size bounds what the dict really holds. Expired entries are
 * not looked for: they are removed when touched, and eviction takes them
 * first from the least recently used end. */
#include "shared_dict.h"
#include "plain_value.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sd_entry {
  struct sd_entry *hnext;        /* in its bucket */
  struct sd_entry *prev, *next;  /* in order of use: after `lru` the most recent */
  uint64_t hash;
  double expires;                /* monotonic seconds; 0: never */
  uint32_t klen, vlen;
  char data[];                   /* the key, then the value */
};

struct shared_dict {
  char *name;
  pthread_mutex_t lock;
  size_t capacity, used;
  struct sd_entry **buckets;
  size_t nbuckets, count;
  unsigned long long evictions;  /* live entries that went to make room */
  int refs;                      /* handles, and the registry while declared */
  bool dropped;
  struct shared_dict *next;      /* in the registry */
  /* Last: a struct with a flexible array member anywhere else is a GNU
   * extension that clang's -Werror refuses (fuzz/build.sh). */
  struct sd_entry lru;           /* the list's head and tail */
};

/* Evictions look at this many entries from the cold end for expired ones
 * before they take live ones (ngx does the same). */
#define EXPIRED_SCAN 30

const char *sd_result_text(enum sd_result r) {
  static const char *const text[] = { "ok", "exists", "not found", "no memory", "not a number",
                                      "the dict was removed from the config" };
  return text[r];
}

/* The coarse clock: a read of the kernel's tick (a few ms), about a fifth
 * of CLOCK_MONOTONIC's cost, which was a fifth of an incr's; times to
 * live are milliseconds and need no finer grain. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a: keys are short and chosen by scripts, not by peers. */
static uint64_t hash_of(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
  return h;
}

static size_t cost(size_t klen, size_t vlen) {
  return sizeof(struct sd_entry) + klen + vlen + sizeof(struct sd_entry *);
}

static bool expired(const struct sd_entry *e, double t) {
  return e->expires != 0 && e->expires <= t;
}

/* ---- entries ---- */

static void lru_unlink(struct sd_entry *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
}

static void lru_push_front(struct shared_dict *d, struct sd_entry *e) {
  e->prev = &d->lru;
  e->next = d->lru.next;
  d->lru.next->prev = e;
  d->lru.next = e;
}

static struct sd_entry **slot_of(struct shared_dict *d, const char *k, size_t n, uint64_t h) {
  struct sd_entry **p = &d->buckets[h & (d->nbuckets - 1)];
  while (*p && !((*p)->hash == h && (*p)->klen == n && memcmp((*p)->data, k, n) == 0))
    p = &(*p)->hnext;
  return p;
}

static void remove_entry(struct shared_dict *d, struct sd_entry **slot) {
  struct sd_entry *e = *slot;
  *slot = e->hnext;
  lru_unlink(e);
  d->used -= cost(e->klen, e->vlen);
  d->count--;
  free(e);
}

static void remove_found(struct shared_dict *d, struct sd_entry *e) {
  remove_entry(d, slot_of(d, e->data, e->klen, e->hash));
}

/* The live entry of key (moved to the front), or NULL; an expired one
 * found on the way is removed. */
static struct sd_entry *find(struct shared_dict *d, const char *k, size_t n, double t) {
  uint64_t h = hash_of(k, n);
  struct sd_entry **slot = slot_of(d, k, n, h);
  if (!*slot)
    return NULL;
  if (expired(*slot, t)) {
    remove_entry(d, slot);
    return NULL;
  }
  lru_unlink(*slot);
  lru_push_front(d, *slot);
  return *slot;
}

/* Doubles the buckets when entries outnumber them; a failure only makes
 * chains longer. */
static void maybe_grow(struct shared_dict *d) {
  if (d->count < d->nbuckets)
    return;
  size_t n = d->nbuckets * 2;
  struct sd_entry **b = calloc(n, sizeof *b);
  if (!b)
    return;
  for (size_t i = 0; i < d->nbuckets; i++) {
    for (struct sd_entry *e = d->buckets[i], *next; e; e = next) {
      next = e->hnext;
      e->hnext = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  }
  free(d->buckets);
  d->buckets = b;
  d->nbuckets = n;
}

/* Makes room for `need` more bytes: expired entries from the cold end
 * first, then (if `live`) the least recently used. *evicted: live ones
 * went. */
static bool make_room(struct shared_dict *d, size_t need, bool live, double t, const struct sd_entry *keep,
                      bool *evicted) {
  int scanned = 0;
  for (struct sd_entry *e = d->lru.prev; d->used + need > d->capacity && e != &d->lru && scanned < EXPIRED_SCAN;
       scanned++) {
    struct sd_entry *prev = e->prev;
    if (e != keep && expired(e, t))
      remove_found(d, e);
    e = prev;
  }
  while (live && d->used + need > d->capacity && d->lru.prev != &d->lru) {
    struct sd_entry *e = d->lru.prev;
    if (e == keep) {
      if (e->prev == &d->lru)
        break;
      e = e->prev;
    }
    remove_found(d, e);
    d->evictions++;
    *evicted = true;
  }
  return d->used + need <= d->capacity;
}

/* ---- the registry ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_dict *registry;
static bool configured;   /* by the daemon: only declared dicts exist */

static struct shared_dict *dict_new(const char *name, size_t capacity) {
  struct shared_dict *d = calloc(1, sizeof *d);
  if (!d || !(d->name = strdup(name)) || !(d->buckets = calloc(d->nbuckets = 16, sizeof *d->buckets))) {
    if (d)
      free(d->name);
    free(d);
    return NULL;
  }
  pthread_mutex_init(&d->lock, NULL);
  d->capacity = capacity;
  d->lru.prev = d->lru.next = &d->lru;
  d->refs = 1;   /* the registry's */
  return d;
}

static void dict_free(struct shared_dict *d) {
  while (d->lru.next != &d->lru)
    remove_found(d, d->lru.next);
  pthread_mutex_destroy(&d->lock);
  free(d->buckets);
  free(d->name);
  free(d);
}

static struct shared_dict *registry_find(const char *name) {
  for (struct shared_dict *d = registry; d; d = d->next) {
    if (strcmp(d->name, name) == 0)
      return d;
  }
  return NULL;
}

struct shared_dict *shared_dict_open(const char *name, size_t size, const char **why) {
  pthread_mutex_lock(&registry_lock);
  struct shared_dict *d = registry_find(name);
  if (!d && configured)
    *why = "not declared in the config's `shared` setting";
  else if (!d && size == 0)
    *why = "no such dict, and no size to make it with";
  else if (!d && (d = dict_new(name, size)) != NULL) {
    d->next = registry;
    registry = d;
  } else if (!d) {
    *why = "out of memory";
  }
  if (d)
    __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&registry_lock);
  return d;
}

void shared_dict_release(struct shared_dict *d) {
  if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
    dict_free(d);
}

bool shared_dict_configure(const char *const *names, const size_t *sizes, int n, const char **why) {
  pthread_mutex_lock(&registry_lock);
  configured = true;
  bool ok = true;
  for (int i = 0; i < n; i++) {
    struct shared_dict *d = registry_find(names[i]);
    if (d) {
      pthread_mutex_lock(&d->lock);
      d->capacity = sizes[i];
      bool evicted = false;
      make_room(d, 0, true, now(), NULL, &evicted);
      pthread_mutex_unlock(&d->lock);
    } else if ((d = dict_new(names[i], sizes[i])) != NULL) {
      d->next = registry;
      registry = d;
    } else {
      *why = "out of memory for a shared dict";
      ok = false;
    }
  }
  for (struct shared_dict **p = &registry; *p;) {
    struct shared_dict *d = *p;
    bool declared = false;
    for (int i = 0; i < n && !declared; i++)
      declared = strcmp(names[i], d->name) == 0;
    if (declared) {
      p = &d->next;
      continue;
    }
    *p = d->next;
    pthread_mutex_lock(&d->lock);
    d->dropped = true;
    pthread_mutex_unlock(&d->lock);
    shared_dict_release(d);   /* the registry's reference */
  }
  pthread_mutex_unlock(&registry_lock);
  return ok;
}

/* ---- one dict's operations (each under its lock) ---- */

static struct sd_entry *entry_new(const char *k, size_t klen, const char *v, size_t vlen, uint64_t h, double expires) {
  struct sd_entry *e = malloc(sizeof *e + klen + vlen);
  if (!e)
    return NULL;
  e->hash = h;
  e->expires = expires;
  e->klen = (uint32_t)klen;
  e->vlen = (uint32_t)vlen;
  memcpy(e->data, k, klen);
  memcpy(e->data + klen, v, vlen);
  return e;
}

/* Puts value under key in place of what is there (the caller judged the
 * mode): the new entry is made before the old goes, so a failure leaves
 * the old one. */
static enum sd_result put(struct shared_dict *d, const char *k, size_t klen, const char *v, size_t vlen,
                          double expires, bool live, double t, bool *evicted) {
  if (klen > UINT32_MAX || vlen > UINT32_MAX || cost(klen, vlen) > d->capacity)
    return SD_NO_MEMORY;
  uint64_t h = hash_of(k, klen);
  struct sd_entry **slot = slot_of(d, k, klen, h);
  struct sd_entry *old = *slot;
  if (old && old->vlen == vlen) {   /* same size (a number, a flag): in place, no allocation */
    memcpy(old->data + klen, v, vlen);
    old->expires = expires;
    lru_unlink(old);
    lru_push_front(d, old);
    return SD_OK;
  }
  size_t freed = old ? cost(old->klen, old->vlen) : 0;
  size_t need = cost(klen, vlen);
  if (need > freed && !make_room(d, need - freed, live, t, old, evicted))
    return SD_NO_MEMORY;
  struct sd_entry *e = entry_new(k, klen, v, vlen, h, expires);
  if (!e)
    return SD_NO_MEMORY;
  slot = slot_of(d, k, klen, h);   /* make_room may have changed the chain */
  if (*slot)
    remove_entry(d, slot);
  e->hnext = d->buckets[h & (d->nbuckets - 1)];
  d->buckets[h & (d->nbuckets - 1)] = e;
  lru_push_front(d, e);
  d->used += need;
  d->count++;
  maybe_grow(d);
  return SD_OK;
}

static bool lock(struct shared_dict *d) {
  pthread_mutex_lock(&d->lock);
  if (!d->dropped)
    return true;
  pthread_mutex_unlock(&d->lock);
  return false;
}

enum sd_result shared_dict_store(struct shared_dict *d, const char *key, size_t klen, const char *value, size_t vlen,
                                 double ttl, enum sd_mode mode, bool *evicted) {
  *evicted = false;
  if (!lock(d))
    return SD_DROPPED;
  double t = now();
  enum sd_result r = SD_OK;
  if (mode == SD_ADD || mode == SD_REPLACE) {
    bool present = find(d, key, klen, t) != NULL;
    if (mode == SD_ADD && present)
      r = SD_EXISTS;
    else if (mode == SD_REPLACE && !present)
      r = SD_NOT_FOUND;
  }
  if (r == SD_OK)
    r = put(d, key, klen, value, vlen, ttl > 0 ? t + ttl : 0, mode != SD_SAFE_SET, t, evicted);
  pthread_mutex_unlock(&d->lock);
  return r;
}

enum sd_result shared_dict_fetch(struct shared_dict *d, const char *key, size_t klen, char *buf, size_t cap,
                                 char **out, size_t *len) {
  if (!lock(d))
    return SD_DROPPED;
  enum sd_result r = SD_NOT_FOUND;
  struct sd_entry *e = find(d, key, klen, now());
  if (e) {
    *out = e->vlen <= cap ? buf : malloc(e->vlen);
    r = *out ? SD_OK : SD_NO_MEMORY;
    if (r == SD_OK) {
      memcpy(*out, e->data + e->klen, e->vlen);
      *len = e->vlen;
    }
  }
  pthread_mutex_unlock(&d->lock);
  return r;
}

/* a + b as Lua adds them: integers wrap, a float makes a float. */
static size_t add_numbers(const char *a, const char *b, char *out) {
  int64_t ai = 0, bi = 0;
  double ad = 0, bd = 0;
  enum plain_number ta = plain_number_of(a, PLAIN_NUMBER_SIZE, &ai, &ad);
  enum plain_number tb = plain_number_of(b, PLAIN_NUMBER_SIZE, &bi, &bd);
  if (ta == PLAIN_INTEGER && tb == PLAIN_INTEGER)
    return plain_integer_bytes((int64_t)((uint64_t)ai + (uint64_t)bi), out);
  return plain_float_bytes((ta == PLAIN_INTEGER ? (double)ai : ad) + (tb == PLAIN_INTEGER ? (double)bi : bd), out);
}

enum sd_result shared_dict_incr(struct shared_dict *d, const char *key, size_t klen, const char *delta,
                                const char *init, double init_ttl, char *result, bool *evicted) {
  *evicted = false;
  if (!lock(d))
    return SD_DROPPED;
  double t = now();
  enum sd_result r = SD_OK;
  struct sd_entry *e = find(d, key, klen, t);
  int64_t i;
  double x;
  if (e && plain_number_of(e->data + e->klen, e->vlen, &i, &x) == PLAIN_NOT_NUMBER) {
    r = SD_NOT_NUMBER;
  } else if (e) {
    /* In place: a number's bytes are always PLAIN_NUMBER_SIZE long. */
    add_numbers(e->data + e->klen, delta, result);
    memcpy(e->data + e->klen, result, PLAIN_NUMBER_SIZE);
  } else if (!init) {
    r = SD_NOT_FOUND;
  } else {
    add_numbers(init, delta, result);
    r = put(d, key, klen, result, PLAIN_NUMBER_SIZE, init_ttl > 0 ? t + init_ttl : 0, true, t, evicted);
  }
  pthread_mutex_unlock(&d->lock);
  return r;
}

enum sd_result shared_dict_delete(struct shared_dict *d, const char *key, size_t klen) {
  if (!lock(d))
    return SD_DROPPED;
  struct sd_entry **slot = slot_of(d, key, klen, hash_of(key, klen));
  enum sd_result r = *slot ? SD_OK : SD_NOT_FOUND;
  if (*slot)
    remove_entry(d, slot);
  pthread_mutex_unlock(&d->lock);
  return r;
}

enum sd_result shared_dict_ttl(struct shared_dict *d, const char *key, size_t klen, double *ttl) {
  if (!lock(d))
    return SD_DROPPED;
  double t = now();
  struct sd_entry *e = find(d, key, klen, t);
  if (e)
    *ttl = e->expires == 0 ? 0 : e->expires - t;
  pthread_mutex_unlock(&d->lock);
  return e ? SD_OK : SD_NOT_FOUND;
}

enum sd_result shared_dict_expire(struct shared_dict *d, const char *key, size_t klen, double ttl) {
  if (!lock(d))
    return SD_DROPPED;
  double t = now();
  struct sd_entry *e = find(d, key, klen, t);
  if (e)
    e->expires = ttl > 0 ? t + ttl : 0;
  pthread_mutex_unlock(&d->lock);
  return e ? SD_OK : SD_NOT_FOUND;
}

enum sd_result shared_dict_keys(struct shared_dict *d, size_t max, void (*fn)(void *ud, const char *k, size_t n),
                                void *ud) {
  if (!lock(d))
    return SD_DROPPED;
  double t = now();
  size_t bytes = 0, n = 0;
  for (struct sd_entry *e = d->lru.next; e != &d->lru && (max == 0 || n < max); e = e->next) {
    if (!expired(e, t))
      bytes += sizeof(uint32_t) + e->klen, n++;
  }
  char *block = malloc(bytes ? bytes : 1), *p = block;
  n = 0;
  for (struct sd_entry *e = d->lru.next; block && e != &d->lru && (max == 0 || n < max); e = e->next) {
    if (expired(e, t))
      continue;
    memcpy(p, &e->klen, sizeof(uint32_t));
    memcpy(p + sizeof(uint32_t), e->data, e->klen);
    p += sizeof(uint32_t) + e->klen;
    n++;
  }
  pthread_mutex_unlock(&d->lock);
  if (!block)
    return SD_NO_MEMORY;
  for (const char *q = block; q < p;) {
    uint32_t len;
    memcpy(&len, q, sizeof len);
    fn(ud, q + sizeof len, len);
    q += sizeof len + len;
  }
  free(block);
  return SD_OK;
}

void shared_dict_flush_all(struct shared_dict *d) {
  pthread_mutex_lock(&d->lock);
  while (d->lru.next != &d->lru)
    remove_found(d, d->lru.next);
  pthread_mutex_unlock(&d->lock);
}

size_t shared_dict_count(struct shared_dict *d) {
  pthread_mutex_lock(&d->lock);
  double t = now();
  size_t n = 0;
  for (struct sd_entry *e = d->lru.next; e != &d->lru; e = e->next)
    n += !expired(e, t);
  pthread_mutex_unlock(&d->lock);
  return n;
}

size_t shared_dict_capacity(const struct shared_dict *d) {
  return d->capacity;
}

size_t shared_dict_free_space(struct shared_dict *d) {
  pthread_mutex_lock(&d->lock);
  size_t free_bytes = d->capacity > d->used ? d->capacity - d->used : 0;
  pthread_mutex_unlock(&d->lock);
  return free_bytes;
}

const char *shared_dict_name(const struct shared_dict *d) {
  return d->name;
}

void shared_dict_stats(struct shared_dict *d, struct sd_stats *out) {
  pthread_mutex_lock(&d->lock);
  out->capacity = d->capacity;
  out->used = d->used;
  out->entries = d->count;
  out->evictions = d->evictions;
  pthread_mutex_unlock(&d->lock);
}

void shared_dict_each(void (*fn)(void *ud, struct shared_dict *d), void *ud) {
  pthread_mutex_lock(&registry_lock);
  for (struct shared_dict *d = registry; d; d = d->next)
    fn(ud, d);
  pthread_mutex_unlock(&registry_lock);
}
