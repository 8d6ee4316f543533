/* Lua values to JSON text (json_encode.h). The value is walked by
 * recursion bounded by JSON_MAX_DEPTH (a table deeper than that is an
 * error, so the C stack holds at most 200 frames), and the text grows in
 * a userdata that doubles when full, so its memory is the Lua state's:
 * counted against the service's limit, and collected if a memory error
 * raises midway.
 *
 * Only plain data encodes: a table whose keys are exactly 1..n is an
 * array, a table of string keys an object, an empty table {}; json.null
 * and json.emptyArray (json_value.h) are null and []. Anything else (mixed
 * or sparse keys, a metatable, a cycle, a function) is an error naming
 * where it was found: "json: value.users[3].name: invalid UTF-8". */
#include "json_encode.h"
#include "json_text.h"
#include "json_value.h"
#include "utf8.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One level of the walk: the table there (to find cycles) and which of
 * its children is being written, for error messages. */
struct step {
  const void *table;
  int key;                   /* stack index of the child's key (a string); 0: an array */
  lua_Integer index;         /* else the child's index */
};

struct encoder {
  lua_State *L;
  int box;                   /* stack index of the userdata that holds out */
  char *out;
  size_t len, cap;
  bool indent, sort;
  struct step path[JSON_MAX_DEPTH];
};

/* Room for `more` bytes at out + len: a userdata twice as large replaces
 * the old one, which the collector takes. */
static char *reserve(struct encoder *e, size_t more) {
  if (more > e->cap - e->len) {
    if (more > SIZE_MAX / 4 - e->len)
      luaL_error(e->L, "json: text too large");
    size_t cap = e->cap * 2 > e->len + more ? e->cap * 2 : e->len + more;
    char *bigger = lua_newuserdatauv(e->L, cap, 0);
    memcpy(bigger, e->out, e->len);
    lua_replace(e->L, e->box);
    e->out = bigger;
    e->cap = cap;
  }
  return e->out + e->len;
}

static void put(struct encoder *e, const char *s, size_t n) {
  memcpy(reserve(e, n), s, n);
  e->len += n;
}

#define PUT(e, literal) put((e), literal, sizeof literal - 1)

/* With indent: a new line, two spaces a level. */
static void newline(struct encoder *e, int level) {
  if (!e->indent)
    return;
  char *o = reserve(e, 1 + 2 * (size_t)level);
  *o = '\n';
  memset(o + 1, ' ', 2 * (size_t)level);
  e->len += 1 + 2 * (size_t)level;
}

/* A key in an error's path: .name when it reads as one, else ["..."]
 * with what is not printable as \xHH, cut after 40 bytes. */
static void add_key(luaL_Buffer *b, lua_State *L, int idx) {
  size_t n;
  const char *s = lua_tolstring(L, idx, &n);
  bool name = n > 0 && n <= 64 && !(s[0] >= '0' && s[0] <= '9');
  for (size_t k = 0; k < n && name; k++)
    name = (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_';
  if (name) {
    luaL_addchar(b, '.');
    luaL_addlstring(b, s, n);
    return;
  }
  bool valid = utf8_valid((const uint8_t *)s, n);
  size_t shown = n > 40 ? 40 : n;
  while (valid && shown < n && shown > 0 && ((uint8_t)s[shown] & 0xc0) == 0x80)
    shown--;   /* not in the middle of a character */
  luaL_addstring(b, "[\"");
  for (size_t k = 0; k < shown; k++) {
    uint8_t c = (uint8_t)s[k];
    if (c == '"' || c == '\\') {
      luaL_addchar(b, '\\');
      luaL_addchar(b, (char)c);
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !valid)) {
      char hex[5];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      luaL_addstring(b, hex);
    } else {
      luaL_addchar(b, (char)c);
    }
  }
  luaL_addstring(b, shown < n ? "...\"]" : "\"]");
}

/* [-0, +1] "json: PATH: what detail" for the value `level` steps down
 * the path; returns false, for the callers to return at once. */
static bool fail(struct encoder *e, int level, const char *what, const char *detail) {
  lua_State *L = e->L;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "json: value");
  for (int k = 0; k < level; k++) {
    if (e->path[k].key) {
      add_key(&b, L, e->path[k].key);
    } else {
      char index[32];
      snprintf(index, sizeof index, "[" LUA_INTEGER_FMT "]", (LUAI_UACINT)e->path[k].index);
      luaL_addstring(&b, index);
    }
  }
  luaL_addstring(&b, ": ");
  luaL_addstring(&b, what);
  if (detail)
    luaL_addstring(&b, detail);
  luaL_pushresult(&b);
  return false;
}

static bool encode_value(struct encoder *e, int idx, int level);

static bool encode_string(struct encoder *e, int idx, int level, const char *invalid) {
  size_t n;
  const char *s = lua_tolstring(e->L, idx, &n);
  if (!utf8_valid((const uint8_t *)s, n))
    return fail(e, level, invalid, NULL);
  size_t size = json_text_escaped_size(s, n);
  char *o = reserve(e, size + 2);
  *o++ = '"';
  o = json_text_escape(o, s, n);
  *o = '"';
  e->len += size + 2;
  return true;
}

/* An object's member: the key at stack index `key`, its value above it. */
static bool encode_member(struct encoder *e, int key, int level, bool first) {
  if (!first)
    PUT(e, ",");
  newline(e, level + 1);
  e->path[level].key = key;
  if (!encode_string(e, key, level + 1, "invalid UTF-8 in the key"))
    return false;
  if (e->indent)
    PUT(e, ": ");
  else
    PUT(e, ":");
  return encode_value(e, key + 1, level + 1);
}

struct sorted_key {
  const char *s;
  size_t n;
  lua_Integer at;            /* its index in the table of keys that anchors it */
};

/* Byte order, a prefix first: what sortKeys promises. */
static int compare_keys(const void *a, const void *b) {
  const struct sorted_key *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The members in byte order of their keys: the keys are gathered in a
 * table (which keeps them alive) and sorted as pointers. */
static bool encode_sorted_members(struct encoder *e, int idx, int level, size_t count) {
  lua_State *L = e->L;
  lua_createtable(L, count < INT32_MAX ? (int)count : 0, 0);
  int keys = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  struct sorted_key *order = lua_newuserdatauv(L, (size_t)n * sizeof *order, 0);
  for (lua_Integer k = 0; k < n; k++) {
    lua_rawgeti(L, keys, k + 1);
    order[k].s = lua_tolstring(L, -1, &order[k].n);
    order[k].at = k + 1;
    lua_pop(L, 1);
  }
  qsort(order, (size_t)n, sizeof *order, compare_keys);
  for (lua_Integer k = 0; k < n; k++) {
    lua_rawgeti(L, keys, order[k].at);
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);
    if (!encode_member(e, lua_gettop(L) - 1, level, k == 0))
      return false;
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
  return true;
}

static bool encode_object(struct encoder *e, int idx, int level, size_t count) {
  lua_State *L = e->L;
  PUT(e, "{");
  if (e->sort) {
    if (!encode_sorted_members(e, idx, level, count))
      return false;
  } else {
    bool first = true;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (!encode_member(e, lua_gettop(L) - 1, level, first))
        return false;
      first = false;
      lua_pop(L, 1);
    }
  }
  newline(e, level);
  PUT(e, "}");
  return true;
}

static bool encode_array(struct encoder *e, int idx, int level, lua_Integer n) {
  lua_State *L = e->L;
  PUT(e, "[");
  e->path[level].key = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1)
      PUT(e, ",");
    newline(e, level + 1);
    e->path[level].index = i;
    lua_rawgeti(L, idx, i);
    if (!encode_value(e, lua_gettop(L), level + 1))
      return false;
    lua_pop(L, 1);
  }
  newline(e, level);
  PUT(e, "]");
  return true;
}

/* A table at `level` (the tables around it): an array, an object, {}, or
 * an error naming it. */
static bool encode_table(struct encoder *e, int idx, int level) {
  lua_State *L = e->L;
  if (level >= JSON_MAX_DEPTH)
    return fail(e, level, "nested deeper than 200", NULL);
  if (lua_getmetatable(L, idx))
    return fail(e, level, "cannot encode a table with a metatable", NULL);
  const void *self = lua_topointer(L, idx);
  for (int k = 0; k < level; k++)
    if (e->path[k].table == self)
      return fail(e, level, "cannot encode a table that contains itself", NULL);
  /* Per level at most: key, value, keys and their order (sortKeys), a key
   * and a value again, and the buffer's and an error's userdata. */
  if (!lua_checkstack(L, 8))
    return fail(e, level, "nested too deep for the Lua stack", NULL);
  e->path[level].table = self;

  size_t count = 0, strings = 0, positive = 0;
  lua_Integer max = 0;
  int other = LUA_TNONE;     /* the type of a key that is neither */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    if (lua_type(L, -2) == LUA_TSTRING) {
      strings++;
    } else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
      positive++;
      if (lua_tointeger(L, -2) > max)
        max = lua_tointeger(L, -2);
    } else if (other == LUA_TNONE || other == LUA_TNUMBER) {
      other = lua_type(L, -2);
    }
    lua_pop(L, 1);
  }
  if (count == 0) {
    PUT(e, "{}");
    return true;
  }
  if (strings == count)
    return encode_object(e, idx, level, count);
  if (positive == count && (size_t)max == count)   /* count distinct keys in 1..count */
    return encode_array(e, idx, level, max);
  if (other != LUA_TNONE && other != LUA_TNUMBER)
    return fail(e, level, "cannot encode a table with a key that is a ", lua_typename(L, other));
  if (strings)
    return fail(e, level, "cannot encode a table with both string and number keys", NULL);
  return fail(e, level, "cannot encode a table whose keys are not 1..n", NULL);
}

static bool encode_value(struct encoder *e, int idx, int level) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    PUT(e, "null");
    return true;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx))
      PUT(e, "true");
    else
      PUT(e, "false");
    return true;
  case LUA_TNUMBER: {
    char text[JSON_DOUBLE_MAX];
    size_t n;
    if (lua_isinteger(L, idx)) {
      n = (size_t)snprintf(text, sizeof text, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    } else {
      n = json_text_double(text, (double)lua_tonumber(L, idx));
      if (!n)
        return fail(e, level, "cannot encode NaN or infinity", NULL);
    }
    put(e, text, n);
    return true;
  }
  case LUA_TSTRING:
    return encode_string(e, idx, level, "invalid UTF-8");
  case LUA_TLIGHTUSERDATA:
    if (lnet_json_is_null(L, idx)) {
      PUT(e, "null");
      return true;
    }
    if (lnet_json_is_empty_array(L, idx)) {
      if (level >= JSON_MAX_DEPTH)
        return fail(e, level, "nested deeper than 200", NULL);
      PUT(e, "[]");
      return true;
    }
    return fail(e, level, "cannot encode a light userdata other than json.null and json.emptyArray", NULL);
  case LUA_TTABLE:
    return encode_table(e, idx, level);
  default:
    return fail(e, level, "cannot encode a ", luaL_typename(L, idx));
  }
}

/* encode's second argument: { indent = bool, sortKeys = bool }. A
 * misspelt option raises, as a programming error does. */
static void read_options(lua_State *L, int idx, struct encoder *e) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    bool *flag = !name ? NULL : strcmp(name, "indent") == 0 ? &e->indent : strcmp(name, "sortKeys") == 0 ? &e->sort : NULL;
    if (!flag)
      luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", name ? name : luaL_tolstring(L, -2, NULL)));
    if (!lua_isboolean(L, -1))
      luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a boolean", name));
    *flag = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
}

int json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  struct encoder e = { .L = L };
  if (!lua_isnoneornil(L, 2))
    read_options(L, 2, &e);
  lua_settop(L, 2);
  e.cap = 256;
  e.out = lua_newuserdatauv(L, e.cap, 0);
  e.box = lua_gettop(L);
  if (!encode_value(&e, 1, 0)) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushlstring(L, e.out, e.len);
  return 1;
}
