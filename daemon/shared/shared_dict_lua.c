/* net.SharedDict: a dict of shared_dict.c seen from a Lua state. Values
 * go in and out as plain_value.h's bytes, copied: a table read from the
 * dict is a new table, as service.state's are after a reload.
 *
 *   local hits = net.SharedDict("counters")
 *   hits:incr("/index.html", 1, 0)
 *
 * Under the daemon only the dicts the config declares exist (`shared =
 * { counters = "1M" }`); elsewhere net.SharedDict(name, size) makes one
 * for the process. Results are ngx.shared.DICT's: true, or false (nil
 * for a read) and the reason ("exists", "not found", "no memory", "not
 * a number"); a set that had to evict live entries says "evicted" as its
 * second result; a value that is not plain data gives false and where it
 * is not ("value.list[2]: a function (plain data only)"). A key that is
 * not a string is a programming error and raises. */
#include "shared_dict_lua.h"
#include "shared_dict.h"
#include "lua_args.h"
#include "object.h"
#include "plain_value.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define LNET_SHAREDDICT "luanet.SharedDict"
#define KEYS_DEFAULT 1024   /* keys() without max, as ngx */

struct dict_handle {
  struct lnet_object obj;    /* first */
  struct shared_dict *d;     /* NULL once collected */
};

/*** net.SharedDict: a key-value store shared by every worker and every
 * generation of the daemon (ngx.shared.DICT's model). Values are plain
 * data, copied in and out: nil, booleans, numbers, strings,
 * net.json.null and emptyArray, and tables of those without metatables
 * or cycles. The least recently used entries go when the dict is full.
 * Results are ngx's: true, or false (nil for a read) and the reason
 * ("exists", "not found", "no memory", "not a number"); a value that is
 * not plain data gives false and where it is not. A key that is not a
 * string raises.
 * @classmod SharedDict
 * @qt none (nginx's ngx.shared.DICT)
 * @usage local hits = net.SharedDict("counters")   -- shared = { counters = "1M" } in the config
 * hits:incr("/index.html", 1, 0)
 */
static const struct lnet_class shared_dict_class;

static struct shared_dict *check_dict(lua_State *L) {
  struct dict_handle *h = lnet_checkself(L, 1, &shared_dict_class);
  luaL_argcheck(L, h->d != NULL, 1, "SharedDict closed");
  return h->d;
}

/* Pushes false (nil for reads) and the reason; 2 results. */
static int failure(lua_State *L, enum sd_result r, bool read) {
  if (r == SD_DROPPED)
    return luaL_error(L, "SharedDict: %s", sd_result_text(r));
  if (read)
    lua_pushnil(L);
  else
    lua_pushboolean(L, 0);
  lua_pushstring(L, sd_result_text(r));
  return 2;
}

/* A ttl argument in ms (nil: none) as seconds. */
static double opt_ttl(lua_State *L, int idx) {
  lua_Number ms = luaL_optnumber(L, idx, 0);
  luaL_argcheck(L, ms >= 0, idx, "ttl must not be negative");
  return ms / 1000.0;
}

static int store(lua_State *L, enum sd_mode mode) {
  struct shared_dict *d = check_dict(L);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  double ttl = opt_ttl(L, 4);
  if (lua_isnoneornil(L, 3) && mode == SD_SET) {   /* set(key, nil): delete, as ngx */
    enum sd_result r = shared_dict_delete(d, key, klen);
    if (r == SD_DROPPED)
      return failure(L, r, false);
    lua_pushboolean(L, 1);
    return 1;
  }
  char small[256];
  struct plain_bytes b = PLAIN_BYTES_ON(small);
  char err[300];
  if (!plain_encode(L, 3, "value", &b, err, sizeof err)) {
    plain_bytes_free(&b);
    lua_pushboolean(L, 0);
    lua_pushstring(L, err);
    return 2;
  }
  bool evicted;
  enum sd_result r = shared_dict_store(d, key, klen, b.data, b.len, ttl, mode, &evicted);
  plain_bytes_free(&b);
  if (r != SD_OK)
    return failure(L, r, false);
  lua_pushboolean(L, 1);
  if (!evicted)
    return 1;
  lua_pushliteral(L, "evicted");
  return 2;
}

/*** Stores a value, evicting the least recently used entries if it must;
 * set(key, nil) deletes.
 * @function set
 * @tparam string key
 * @param value plain data
 * @tparam[opt] number ttlMs time to live (0 or nil: none)
 * @treturn boolean true (and "evicted" when live entries made room), or false and why
 */
/*** As set, without evicting live entries: false and "no memory" when full.
 * @function safeSet
 * @tparam string key
 * @param value
 * @tparam[opt] number ttlMs
 * @treturn boolean
 */
/*** As set, only when the key is absent: else false and "exists".
 * @function add
 * @tparam string key
 * @param value
 * @tparam[opt] number ttlMs
 * @treturn boolean
 */
/*** As set, only when the key is present: else false and "not found".
 * @function replace
 * @tparam string key
 * @param value
 * @tparam[opt] number ttlMs
 * @treturn boolean
 */
static int shared_dict_set(lua_State *L) { return store(L, SD_SET); }
static int shared_dict_safeSet(lua_State *L) { return store(L, SD_SAFE_SET); }
static int shared_dict_add(lua_State *L) { return store(L, SD_ADD); }
static int shared_dict_replace(lua_State *L) { return store(L, SD_REPLACE); }

/*** A copy of the value.
 * @function get
 * @tparam string key
 * @return the value, or nil
 */
static int shared_dict_get(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  size_t klen, len;
  const char *key = luaL_checklstring(L, 2, &klen);
  char small[256], *bytes;
  enum sd_result r = shared_dict_fetch(d, key, klen, small, sizeof small, &bytes, &len);
  if (r == SD_NOT_FOUND)
    return 0;   /* nil */
  if (r != SD_OK)
    return failure(L, r, true);
  /* The copy was made under the lock, where no Lua may run; decoding a
   * big one can raise only when memory runs out, which then loses it. */
  bool ok = plain_decode(L, bytes, len);
  if (bytes != small)
    free(bytes);
  if (!ok)
    return luaL_error(L, "SharedDict: a stored value is damaged");
  return 1;
}

static void number_arg(lua_State *L, int idx, char out[PLAIN_NUMBER_SIZE]) {
  luaL_checknumber(L, idx);
  if (lua_isinteger(L, idx))
    plain_integer_bytes(lua_tointeger(L, idx), out);
  else
    plain_float_bytes(lua_tonumber(L, idx), out);
}

/*** Adds delta to a number, atomically across workers.
 * @function incr
 * @tparam string key
 * @tparam number delta
 * @tparam[opt] number init the value of an absent key before the add (without it: nil and "not found")
 * @tparam[opt] number ttlMs for an entry init made
 * @treturn number the new value, or nil and "not found" or "not a number"
 */
static int shared_dict_incr_lua(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  char delta[PLAIN_NUMBER_SIZE], init[PLAIN_NUMBER_SIZE], result[PLAIN_NUMBER_SIZE];
  number_arg(L, 3, delta);
  bool has_init = !lua_isnoneornil(L, 4);
  if (has_init)
    number_arg(L, 4, init);
  bool evicted;
  enum sd_result r = shared_dict_incr(d, key, klen, delta, has_init ? init : NULL, opt_ttl(L, 5), result, &evicted);
  if (r != SD_OK)
    return failure(L, r, true);
  plain_decode(L, result, PLAIN_NUMBER_SIZE);
  return 1;
}

/*** Removes an entry.
 * @function delete
 * @tparam string key
 * @treturn boolean whether there was one
 */
static int shared_dict_delete_lua(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  enum sd_result r = shared_dict_delete(d, key, klen);
  if (r == SD_DROPPED)
    return failure(L, r, false);
  lua_pushboolean(L, r == SD_OK);
  return 1;
}

/*** The time an entry has left.
 * @function ttl
 * @tparam string key
 * @treturn number ms left (0: no time to live), or nil and "not found"
 */
static int shared_dict_ttl_lua(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  double ttl;
  enum sd_result r = shared_dict_ttl(d, key, klen, &ttl);
  if (r != SD_OK)
    return failure(L, r, true);
  lua_pushinteger(L, (lua_Integer)(ttl * 1000.0 + 0.5));
  return 1;
}

/*** A new time to live (0: none) for a live entry.
 * @function expire
 * @tparam string key
 * @tparam number ttlMs
 * @treturn boolean true, or false and "not found"
 */
static int shared_dict_expire_lua(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  luaL_checknumber(L, 3);
  enum sd_result r = shared_dict_expire(d, key, klen, opt_ttl(L, 3));
  if (r != SD_OK)
    return failure(L, r, false);
  lua_pushboolean(L, 1);
  return 1;
}

struct key_list {
  lua_State *L;
  lua_Integer n;
};

static void add_key(void *ud, const char *k, size_t n) {
  struct key_list *kl = ud;
  lua_pushlstring(kl->L, k, n);
  lua_rawseti(kl->L, -2, ++kl->n);
}

/*** The live keys, most recently used first.
 * @function keys
 * @tparam[opt=1024] integer max 0: all
 * @treturn {string,...}
 */
static int shared_dict_keys_lua(lua_State *L) {
  struct shared_dict *d = check_dict(L);
  lua_Integer max = luaL_optinteger(L, 2, KEYS_DEFAULT);
  luaL_argcheck(L, max >= 0, 2, "max must not be negative");
  lua_newtable(L);
  struct key_list kl = { L, 0 };
  enum sd_result r = shared_dict_keys(d, (size_t)max, add_key, &kl);
  if (r != SD_OK)
    return failure(L, r, true);
  return 1;
}

/*** Removes every entry.
 * @function flushAll
 */
static int shared_dict_flushAll(lua_State *L) {
  shared_dict_flush_all(check_dict(L));
  return 0;
}

/*** How many entries there are.
 * @function count
 * @treturn integer
 */
static int shared_dict_count_lua(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)shared_dict_count(check_dict(L)));
  return 1;
}

/*** The dict's size.
 * @function capacity
 * @treturn integer bytes
 */
static int shared_dict_capacity_lua(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)shared_dict_capacity(check_dict(L)));
  return 1;
}

/*** The bytes not in use.
 * @function freeSpace
 * @treturn integer bytes
 */
static int shared_dict_freeSpace(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)shared_dict_free_space(check_dict(L)));
  return 1;
}

/*** The dict's name.
 * @function name
 * @treturn string
 */
static int shared_dict_name_lua(lua_State *L) {
  lua_pushstring(L, shared_dict_name(check_dict(L)));
  return 1;
}

static int shared_dict__gc(lua_State *L) {
  struct dict_handle *h = lnet_checkself(L, 1, &shared_dict_class);
  if (h->d)
    shared_dict_release(h->d);
  h->d = NULL;
  return 0;
}

static int shared_dict__tostring(lua_State *L) {
  struct dict_handle *h = lnet_checkself(L, 1, &shared_dict_class);
  if (h->d)
    lua_pushfstring(L, LNET_SHAREDDICT " (%s)", shared_dict_name(h->d));
  else
    lua_pushliteral(L, LNET_SHAREDDICT " (closed)");
  return 1;
}

/*** The dict of that name. Under the daemon the config declares each
 * (shared = { name = "16M" }) and an undeclared name raises; alone
 * (luanetd script.lua, a stock lua5.4) a size makes one for the process.
 * @function net.SharedDict
 * @tparam string name
 * @tparam[opt] number|string size bytes, or "16M", "512K"
 * @treturn SharedDict
 */
static int shared_dict_new(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  size_t size = 0;
  if (lua_type(L, 2) == LUA_TSTRING) {
    char *end;
    double n = strtod(lua_tostring(L, 2), &end);
    double unit = (*end == 'K' || *end == 'k') ? 1024 : (*end == 'M' || *end == 'm') ? 1024 * 1024
                : (*end == 'G' || *end == 'g') ? 1024.0 * 1024 * 1024 : 1;
    luaL_argcheck(L, n > 0 && (unit == 1 ? *end == '\0' : end[1] == '\0'), 2, "a size like \"16M\", \"512K\" or bytes");
    size = (size_t)(n * unit);
  } else if (!lua_isnoneornil(L, 2)) {
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n > 0, 2, "a size must be positive");
    size = (size_t)n;
  }
  struct dict_handle *h = lnet_newobject(L, sizeof *h, &shared_dict_class, 0);
  const char *why = NULL;
  if (!(h->d = shared_dict_open(name, size, &why)))
    return luaL_error(L, "SharedDict %s: %s%s", name, why,
                      size == 0 ? " (under the daemon, declare it: shared = { name = \"1M\" })" : "");
  return 1;
}

static const luaL_Reg methods[] = {
  { "get", shared_dict_get },
  { "set", shared_dict_set },
  { "safeSet", shared_dict_safeSet },
  { "add", shared_dict_add },
  { "replace", shared_dict_replace },
  { "incr", shared_dict_incr_lua },
  { "delete", shared_dict_delete_lua },
  { "ttl", shared_dict_ttl_lua },
  { "expire", shared_dict_expire_lua },
  { "keys", shared_dict_keys_lua },
  { "flushAll", shared_dict_flushAll },
  { "count", shared_dict_count_lua },
  { "capacity", shared_dict_capacity_lua },
  { "freeSpace", shared_dict_freeSpace },
  { "name", shared_dict_name_lua },
  { NULL, NULL },
};

static const struct lnet_class shared_dict_class = {
  .id = LNET_ID_SHAREDDICT, .name = LNET_SHAREDDICT, .methods = methods,
  .gc = shared_dict__gc, .close = shared_dict__gc, .tostring = shared_dict__tostring, .construct = shared_dict_new,
};

int luaopen_luanet_shared_dict(lua_State *L) {
  lnet_class_register(L, &shared_dict_class);
  return 1;
}
