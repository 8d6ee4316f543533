/* Plain Lua data as bytes: see plain_value.h.
 *
 *   nil 'z', false 'f', true 't', net.json.null '0', net.json.emptyArray 'a'
 *   integer 'i' + 8 bytes, float 'd' + 8 bytes (host order: the bytes
 *   never leave the process)
 *   string 's' + 4-byte length + bytes
 *   table 'T' + key, value, key, value ... + 'e' */
#include "plain_value.h"
#include "json_value.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plain_bytes_free(struct plain_bytes *b) {
  if (!b->borrowed)
    free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->borrowed = false;
}

static bool put(struct plain_bytes *b, const void *p, size_t n) {
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2)
        return false;
      cap *= 2;
    }
    char *d = b->borrowed ? malloc(cap) : realloc(b->data, cap);
    if (!d)
      return false;
    if (b->borrowed && b->len)
      memcpy(d, b->data, b->len);
    b->borrowed = false;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return true;
}

static bool put_tag(struct plain_bytes *b, char tag) {
  return put(b, &tag, 1);
}

size_t plain_integer_bytes(int64_t i, char out[PLAIN_NUMBER_SIZE]) {
  out[0] = 'i';
  memcpy(out + 1, &i, 8);
  return PLAIN_NUMBER_SIZE;
}

size_t plain_float_bytes(double d, char out[PLAIN_NUMBER_SIZE]) {
  out[0] = 'd';
  memcpy(out + 1, &d, 8);
  return PLAIN_NUMBER_SIZE;
}

enum plain_number plain_number_of(const char *p, size_t n, int64_t *i, double *d) {
  if (n != PLAIN_NUMBER_SIZE)
    return PLAIN_NOT_NUMBER;
  if (p[0] == 'i') {
    memcpy(i, p + 1, 8);
    return PLAIN_INTEGER;
  }
  if (p[0] == 'd') {
    memcpy(d, p + 1, 8);
    return PLAIN_FLOAT;
  }
  return PLAIN_NOT_NUMBER;
}

/* ---- encoding ---- */

struct encoder {
  lua_State *L;
  struct plain_bytes *out;
  const void *path[PLAIN_MAX_DEPTH];   /* the tables being encoded: a cycle is refused */
  char *err;
  size_t errlen;
};

static bool refuse(struct encoder *e, const char *where, const char *why) {
  snprintf(e->err, e->errlen, "%s: %s", where, why);
  return false;
}

static bool encode_value(struct encoder *e, int idx, const char *where, int depth);

/* "where.key" or "where[3]" for a key of a table at `where`. */
static void sub_path(lua_State *L, int key, const char *where, char *out, size_t n) {
  if (lua_type(L, key) == LUA_TSTRING)
    snprintf(out, n, "%s.%s", where, lua_tostring(L, key));
  else if (lua_type(L, key) == LUA_TNUMBER && lua_isinteger(L, key))
    snprintf(out, n, "%s[%lld]", where, (long long)lua_tointeger(L, key));
  else if (lua_type(L, key) == LUA_TNUMBER)
    snprintf(out, n, "%s[%g]", where, (double)lua_tonumber(L, key));
  else
    snprintf(out, n, "%s[%s]", where, lua_toboolean(L, key) ? "true" : "false");
}

static bool encode_table(struct encoder *e, int idx, const char *where, int depth) {
  lua_State *L = e->L;
  if (depth >= PLAIN_MAX_DEPTH)
    return refuse(e, where, "nested too deep (plain data only)");
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    return refuse(e, where, "a table with a metatable (plain data only)");
  }
  const void *self = lua_topointer(L, idx);
  for (int i = 0; i < depth; i++) {
    if (e->path[i] == self)
      return refuse(e, where, "a table that contains itself (plain data only)");
  }
  e->path[depth] = self;
  if (!lua_checkstack(L, 4) || !put_tag(e->out, 'T'))
    return refuse(e, where, "out of memory");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int key = lua_gettop(L) - 1;
    char sub[256];
    int kt = lua_type(L, key);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
      lua_pop(L, 2);
      snprintf(sub, sizeof sub, "%s[?]", where);
      return refuse(e, sub, "a key that is not a string, number or boolean (plain data only)");
    }
    sub_path(L, key, where, sub, sizeof sub);
    if (!encode_value(e, key, sub, depth + 1) || !encode_value(e, key + 1, sub, depth + 1)) {
      lua_pop(L, 2);
      return false;
    }
    lua_pop(L, 1);
  }
  return put_tag(e->out, 'e') || refuse(e, where, "out of memory");
}

static bool encode_value(struct encoder *e, int idx, const char *where, int depth) {
  lua_State *L = e->L;
  struct plain_bytes *out = e->out;
  char num[PLAIN_NUMBER_SIZE];
  bool ok = true;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    ok = put_tag(out, 'z');
    break;
  case LUA_TBOOLEAN:
    ok = put_tag(out, lua_toboolean(L, idx) ? 't' : 'f');
    break;
  case LUA_TNUMBER:
    ok = put(out, num, lua_isinteger(L, idx) ? plain_integer_bytes(lua_tointeger(L, idx), num)
                                            : plain_float_bytes(lua_tonumber(L, idx), num));
    break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (n > UINT32_MAX)
      return refuse(e, where, "a string past 4 GiB");
    uint32_t len = (uint32_t)n;
    ok = put_tag(out, 's') && put(out, &len, 4) && put(out, s, n);
    break;
  }
  case LUA_TLIGHTUSERDATA: {
    void *p = lua_touserdata(L, idx);
    if (p == NULL)
      ok = put_tag(out, '0');
    else if (p == LNET_JSON_EMPTY_ARRAY)
      ok = put_tag(out, 'a');
    else
      return refuse(e, where, "a light userdata (plain data only)");
    break;
  }
  case LUA_TTABLE:
    return encode_table(e, lua_absindex(L, idx), where, depth);
  default: {
    char why[64];
    snprintf(why, sizeof why, "a %s (plain data only)", luaL_typename(L, idx));
    return refuse(e, where, why);
  }
  }
  return ok || refuse(e, where, "out of memory");
}

bool plain_encode(lua_State *L, int idx, const char *root, struct plain_bytes *out, char *err, size_t errlen) {
  struct encoder e = { .L = L, .out = out, .err = err, .errlen = errlen };
  size_t len = out->len;
  int top = lua_gettop(L);
  bool ok = encode_value(&e, lua_absindex(L, idx), root, 0);
  lua_settop(L, top);
  if (!ok)
    out->len = len;
  return ok;
}

/* ---- decoding ---- */

struct decoder {
  lua_State *L;
  const char *p, *end;
};

static bool decode_value(struct decoder *d, int depth);

static bool take(struct decoder *d, void *dst, size_t n) {
  if ((size_t)(d->end - d->p) < n)
    return false;
  memcpy(dst, d->p, n);
  d->p += n;
  return true;
}

static bool decode_table(struct decoder *d, int depth) {
  lua_State *L = d->L;
  if (depth >= PLAIN_MAX_DEPTH || !lua_checkstack(L, 4))
    return false;
  lua_newtable(L);
  while (d->p < d->end && *d->p != 'e') {
    if (!decode_value(d, depth + 1) || lua_isnil(L, -1) || !decode_value(d, depth + 1))
      return false;   /* plain_decode drops what was pushed */
    lua_rawset(L, -3);
  }
  if (d->p == d->end)
    return false;
  d->p++;
  return true;
}

static bool decode_value(struct decoder *d, int depth) {
  lua_State *L = d->L;
  char tag;
  if (!take(d, &tag, 1))
    return false;
  switch (tag) {
  case 'z': lua_pushnil(L); return true;
  case 'f': lua_pushboolean(L, 0); return true;
  case 't': lua_pushboolean(L, 1); return true;
  case '0': lua_pushlightuserdata(L, NULL); return true;
  case 'a': lua_pushlightuserdata(L, LNET_JSON_EMPTY_ARRAY); return true;
  case 'i': {
    int64_t i;
    if (!take(d, &i, 8))
      return false;
    lua_pushinteger(L, (lua_Integer)i);
    return true;
  }
  case 'd': {
    double x;
    if (!take(d, &x, 8))
      return false;
    lua_pushnumber(L, (lua_Number)x);
    return true;
  }
  case 's': {
    uint32_t n;
    if (!take(d, &n, 4) || (size_t)(d->end - d->p) < n)
      return false;
    lua_pushlstring(L, d->p, n);
    d->p += n;
    return true;
  }
  case 'T':
    return decode_table(d, depth);
  default:
    return false;
  }
}

bool plain_decode(lua_State *L, const char *p, size_t n) {
  struct decoder d = { L, p, p + n };
  int top = lua_gettop(L);
  if (!decode_value(&d, 0) || d.p != d.end) {
    lua_settop(L, top);
    return false;
  }
  return true;
}
