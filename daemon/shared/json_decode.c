/* JSON text to Lua values (json_decode.h). The text's structure is read
 * in a loop with its open arrays and objects on an explicit stack, one
 * frame each, bounded by JSON_MAX_DEPTH: hostile nesting costs neither C
 * stack nor more than three Lua stack slots a level. Numbers and strings
 * are json_text.c's. The tables being filled sit on the Lua stack, so a
 * memory error that raises midway leaves nothing to free.
 *
 * A 10 MB text takes one pass: strings without escapes are pushed from
 * the text as they are, the others unescaped into a buffer of their exact
 * size, never built up piece by piece. Duplicate keys in an object: the
 * last one wins, as in most decoders (RFC 8259 leaves it open). */
#include "json_decode.h"
#include "json_text.h"
#include "json_value.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

struct frame {
  bool object;
  lua_Integer n;             /* an array's elements so far */
};

struct decoder {
  lua_State *L;
  const char *p;
  size_t n;
  size_t i;                  /* the next byte to read */
};

static void skip_space(struct decoder *d) {
  while (d->i < d->n && (d->p[d->i] == ' ' || d->p[d->i] == '\n' || d->p[d->i] == '\r' || d->p[d->i] == '\t'))
    d->i++;
}

/* [-?, +2] Drops what was built, leaves nil and "json: what at byte N"
 * (N the 1-based offset of byte `at`; found: say which byte is there). */
static int fail(struct decoder *d, size_t at, const char *what, bool found) {
  lua_State *L = d->L;
  lua_settop(L, 1);
  lua_pushnil(L);
  if (!found) {
    lua_pushfstring(L, "json: %s at byte %I", what, (lua_Integer)at + 1);
  } else if (at >= d->n) {
    lua_pushfstring(L, "json: %s, found the end at byte %I", what, (lua_Integer)at + 1);
  } else {
    unsigned char c = (unsigned char)d->p[at];
    char shown[8];
    if (c > 0x20 && c < 0x7f)
      shown[0] = '\'', shown[1] = (char)c, shown[2] = '\'', shown[3] = '\0';
    else
      snprintf(shown, sizeof shown, "0x%02x", c);
    lua_pushfstring(L, "json: %s, found %s at byte %I", what, shown, (lua_Integer)at + 1);
  }
  return 2;
}

/* [-0, +1] The string whose opening quote is at d->i; false: an error
 * pushed as fail() does. */
static bool push_string(struct decoder *d) {
  struct json_error e;
  size_t size;
  size_t len = json_text_string(d->p + d->i, d->n - d->i, &size, &e);
  if (!len) {
    fail(d, d->i + e.at, e.what, false);
    return false;
  }
  const char *body = d->p + d->i + 1;
  if (size == len - 2) {
    lua_pushlstring(d->L, body, size);   /* no escapes: the text is the value */
  } else {
    luaL_Buffer b;
    json_text_unescape(luaL_buffinitsize(d->L, &b, size), body, len - 2);
    luaL_pushresultsize(&b, size);
  }
  d->i += len;
  return true;
}

/* [-0, +1] true, false or null at d->i. */
static bool push_literal(struct decoder *d) {
  static const char *const words[] = { "true", "false", "null" };
  const char *word = words[d->p[d->i] == 't' ? 0 : d->p[d->i] == 'f' ? 1 : 2];
  for (size_t k = 0; word[k]; k++) {
    if (d->i + k >= d->n || d->p[d->i + k] != word[k]) {
      fail(d, d->i + k, "invalid literal", true);
      return false;
    }
  }
  d->i += strlen(word);
  if (word[0] == 'n')
    lua_pushlightuserdata(d->L, NULL);
  else
    lua_pushboolean(d->L, word[0] == 't');
  return true;
}

static bool push_number(struct decoder *d) {
  struct json_number num;
  struct json_error e;
  size_t len = json_text_number(d->p + d->i, d->n - d->i, &num, &e);
  if (!len) {
    fail(d, d->i + e.at, e.what, false);
    return false;
  }
  if (num.integer)
    lua_pushinteger(d->L, (lua_Integer)num.i);
  else
    lua_pushnumber(d->L, (lua_Number)num.d);
  d->i += len;
  return true;
}

int json_decode(lua_State *L) {
  struct decoder d = { L, NULL, 0, 0 };
  d.p = luaL_checklstring(L, 1, &d.n);
  lua_settop(L, 1);
  struct frame frames[JSON_MAX_DEPTH];
  int depth = 0;
  /* VALUE: a value comes next; KEY: an object's key; AFTER: a value was
   * pushed, to be stored in its array or object, if any. */
  enum { VALUE, KEY, AFTER } want = VALUE;
  skip_space(&d);
  for (;;) {
    if (want == VALUE) {
      char c = d.i < d.n ? d.p[d.i] : '\0';
      if (d.i >= d.n) {
        return fail(&d, d.i, "expected a value", true);
      } else if (c == '{' || c == '[') {
        bool object = c == '{';
        if (depth == JSON_MAX_DEPTH)
          return fail(&d, d.i, "nesting deeper than 200", false);
        if (!lua_checkstack(L, 4))
          return fail(&d, d.i, "nesting too deep for the Lua stack", false);
        d.i++;
        skip_space(&d);
        if (d.i < d.n && d.p[d.i] == (object ? '}' : ']')) {
          d.i++;
          if (object)
            lua_createtable(L, 0, 0);
          else
            lua_pushlightuserdata(L, LNET_JSON_EMPTY_ARRAY);
          want = AFTER;
          continue;
        }
        lua_newtable(L);
        frames[depth++] = (struct frame){ object, 0 };
        want = object ? KEY : VALUE;
        continue;
      } else if (c == '"') {
        if (!push_string(&d))
          return 2;
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (!push_literal(&d))
          return 2;
      } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
        if (!push_number(&d))
          return 2;
      } else {
        return fail(&d, d.i, "expected a value", true);
      }
      want = AFTER;
    } else if (want == KEY) {
      if (d.i >= d.n || d.p[d.i] != '"')
        return fail(&d, d.i, "expected a string key", true);
      if (!push_string(&d))
        return 2;
      skip_space(&d);
      if (d.i >= d.n || d.p[d.i] != ':')
        return fail(&d, d.i, "expected ':'", true);
      d.i++;
      skip_space(&d);
      want = VALUE;
    } else {
      if (depth == 0)
        break;
      struct frame *f = &frames[depth - 1];
      if (f->object)
        lua_rawset(L, -3);   /* the last of duplicate keys wins */
      else
        lua_rawseti(L, -2, ++f->n);
      skip_space(&d);
      char close = f->object ? '}' : ']';
      if (d.i < d.n && d.p[d.i] == ',') {
        d.i++;
        skip_space(&d);
        want = f->object ? KEY : VALUE;
      } else if (d.i < d.n && d.p[d.i] == close) {
        d.i++;
        depth--;   /* the table is now the value pushed */
      } else {
        return fail(&d, d.i, f->object ? "expected ',' or '}'" : "expected ',' or ']'", true);
      }
    }
  }
  skip_space(&d);
  if (d.i < d.n)
    return fail(&d, d.i, "expected the end", true);
  return 1;
}
