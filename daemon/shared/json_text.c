/* JSON's numbers and strings, read and written (json_text.h). Each
 * string is read twice: once to check it and count its bytes, once to
 * unescape it into space of exactly that size; a string without escapes
 * (most of them) skips the second pass, its bytes being its value.
 *
 * Why not Debian's lua-cjson: 2.1.0 (2012) reads every number with
 * strtod as a float, so 1 becomes 1.0 in Lua 5.4 and integers past 2^53
 * lose digits that no wrapper can restore (the text is gone), and it
 * passes invalid UTF-8 through. */
#include "json_text.h"
#include "utf8.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static size_t fail(struct json_error *e, size_t at, const char *what) {
  e->at = at;
  e->what = what;
  return 0;
}

/* The C library reads and writes floats with the locale's decimal point,
 * which a script may have changed (os.setlocale); JSON's is always '.'. */
static char locale_point(void) {
  const char *point = localeconv()->decimal_point;
  return point && point[0] ? point[0] : '.';
}

/* strtod over a copy of p[0..n) (p is not NUL-terminated at the number's
 * end), its '.' made the locale's. */
static double read_double(const char *p, size_t n, bool *ok) {
  char small[64];
  char *copy = n < sizeof small ? small : malloc(n + 1);
  if (!copy) {
    *ok = false;
    return 0;
  }
  memcpy(copy, p, n);
  copy[n] = '\0';
  char point = locale_point();
  if (point != '.') {
    char *dot = memchr(copy, '.', n);
    if (dot)
      *dot = point;
  }
  char *end;
  double d = strtod(copy, &end);
  *ok = end == copy + n;
  if (copy != small)
    free(copy);
  return d;
}

size_t json_text_number(const char *p, size_t n, struct json_number *out, struct json_error *e) {
  size_t i = 0;
  bool negative = p[0] == '-';
  if (negative)
    i++;
  if (i < n && p[i] == '0') {
    i++;
  } else if (i < n && p[i] >= '1' && p[i] <= '9') {
    while (i < n && is_digit(p[i]))
      i++;
  } else {
    return fail(e, i, "invalid number");
  }
  size_t int_end = i;
  if (i < n && p[i] == '.') {
    i++;
    if (i >= n || !is_digit(p[i]))
      return fail(e, i, "invalid number");
    while (i < n && is_digit(p[i]))
      i++;
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-'))
      i++;
    if (i >= n || !is_digit(p[i]))
      return fail(e, i, "invalid number");
    while (i < n && is_digit(p[i]))
      i++;
  }
  /* A number must end where a delimiter comes: "01", "1-2", "0x1f" and
   * "1e5e" are one bad number each, not a number and then garbage. */
  if (i < n && (is_digit(p[i]) || p[i] == '.' || p[i] == '+' || p[i] == '-' ||
                (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
    return fail(e, i, "invalid number");

  if (i == int_end) {
    /* An integer: exact while it fits, as Lua 5.4 keeps integers. */
    unsigned long long limit = negative ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    unsigned long long v = 0;
    size_t k = negative ? 1 : 0;
    for (; k < i; k++) {
      unsigned digit = (unsigned)(p[k] - '0');
      if (v > (limit - digit) / 10)
        break;
      v = v * 10 + digit;
    }
    if (k == i) {
      out->integer = true;
      /* -2^63 is not -(2^63) in long long: go through the unsigned. */
      out->i = negative ? (long long)(0 - v) : (long long)v;
      return i;
    }
  }
  bool ok;
  out->integer = false;
  out->d = read_double(p, i, &ok);
  if (!ok)
    return fail(e, 0, "number not readable");
  if (isinf(out->d))
    return fail(e, 0, "number out of range");
  return i;
}

/* The value of 4 hex digits at p[at..], or -1 with *bad the offset of the
 * first that is not one (the text's end counts as not one). */
static long hex4(const char *p, size_t n, size_t at, size_t *bad) {
  long v = 0;
  for (size_t k = at; k < at + 4; k++) {
    char c = k < n ? p[k] : 0;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) {
      *bad = k < n ? k : n;
      return -1;
    }
    v = v << 4 | d;
  }
  return v;
}

static size_t utf8_size(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* A "\u" escape at p[at] (the backslash), with its low half when it is
 * a high surrogate: the code point and the escape's length, or 0 and *e. */
static size_t u_escape(const char *p, size_t n, size_t at, uint32_t *cp, struct json_error *e) {
  size_t bad;
  long hi = hex4(p, n, at + 2, &bad);
  if (hi < 0)
    return fail(e, bad, "invalid \\u escape");
  if (hi >= 0xdc00 && hi <= 0xdfff)
    return fail(e, at, "lone surrogate in \\u escape");
  if (hi < 0xd800 || hi > 0xdbff) {
    *cp = (uint32_t)hi;
    return 6;
  }
  if (at + 7 >= n || p[at + 6] != '\\' || p[at + 7] != 'u')
    return fail(e, at, "lone surrogate in \\u escape");
  long lo = hex4(p, n, at + 8, &bad);
  if (lo < 0)
    return fail(e, bad, "invalid \\u escape");
  if (lo < 0xdc00 || lo > 0xdfff)
    return fail(e, at, "lone surrogate in \\u escape");
  *cp = 0x10000 + ((uint32_t)(hi - 0xd800) << 10 | (uint32_t)(lo - 0xdc00));
  return 12;
}

/* The byte a one-letter escape stands for; 0: no such escape. */
static char simple_escape(char c) {
  switch (c) {
  case '"': return '"';
  case '\\': return '\\';
  case '/': return '/';
  case 'b': return '\b';
  case 'f': return '\f';
  case 'n': return '\n';
  case 'r': return '\r';
  case 't': return '\t';
  default: return 0;
  }
}

size_t json_text_string(const char *p, size_t n, size_t *size, struct json_error *e) {
  const uint8_t *u = (const uint8_t *)p;
  size_t i = 1, out = 0;
  for (;;) {
    size_t run = i;
    while (i < n && u[i] != '"' && u[i] != '\\' && u[i] >= 0x20 && u[i] < 0x80)
      i++;
    out += i - run;
    if (i >= n)
      return fail(e, n, "unterminated string");
    if (u[i] == '"') {
      *size = out;
      return i + 1;
    }
    if (u[i] < 0x20)
      return fail(e, i, "control character in string");
    if (u[i] >= 0x80) {
      /* The whole run of non-ASCII bytes at once: a character's bytes
       * are all >= 0x80, so one that is cut short ends the run. */
      size_t end = i;
      while (end < n && u[end] >= 0x80)
        end++;
      struct utf8_check check = { 0 };
      size_t good = utf8_span(&check, u + i, end - i);
      if (good < end - i)
        return fail(e, i + good, "invalid UTF-8");
      if (!utf8_complete(&check))
        return fail(e, end, "invalid UTF-8");
      out += end - i;
      i = end;
      continue;
    }
    /* A backslash. */
    if (i + 1 >= n)
      return fail(e, n, "unterminated string");
    if (p[i + 1] == 'u') {
      uint32_t cp;
      size_t len = u_escape(p, n, i, &cp, e);
      if (!len)
        return 0;
      out += utf8_size(cp);
      i += len;
    } else if (simple_escape(p[i + 1])) {
      out++;
      i += 2;
    } else {
      return fail(e, i + 1, "invalid escape");
    }
  }
}

static char *put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xc0 | cp >> 6);
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xe0 | cp >> 12);
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (char)(0xf0 | cp >> 18);
    *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  }
  return o;
}

void json_text_unescape(char *out, const char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    const char *slash = memchr(p + i, '\\', len - i);
    size_t run = (slash ? (size_t)(slash - p) : len) - i;
    memcpy(out, p + i, run);
    out += run;
    i += run;
    if (i >= len)
      break;
    if (p[i + 1] == 'u') {
      /* Checked already: the error cannot happen here. */
      uint32_t cp = 0;
      struct json_error unused;
      i += u_escape(p, len, i, &cp, &unused);
      out = put_utf8(out, cp);
    } else {
      *out++ = simple_escape(p[i + 1]);
      i += 2;
    }
  }
}

/* How a byte is written in a JSON string: 1 as itself, 2 as a
 * one-letter escape, 6 as \u00XX. */
static size_t escape_width(uint8_t c) {
  if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
    return 2;
  return c < 0x20 ? 6 : 1;
}

size_t json_text_escaped_size(const char *s, size_t n) {
  size_t size = 0;
  for (size_t i = 0; i < n; i++)
    size += escape_width((uint8_t)s[i]);
  return size;
}

char *json_text_escape(char *out, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (i < n && escape_width((uint8_t)s[i]) == 1)
      i++;
    memcpy(out, s + run, i - run);
    out += i - run;
    if (i >= n)
      break;
    uint8_t c = (uint8_t)s[i++];
    *out++ = '\\';
    switch (c) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '\b': *out++ = 'b'; break;
    case '\f': *out++ = 'f'; break;
    case '\n': *out++ = 'n'; break;
    case '\r': *out++ = 'r'; break;
    case '\t': *out++ = 't'; break;
    default:
      memcpy(out, "u00", 3);
      out[3] = hex[c >> 4];
      out[4] = hex[c & 0xf];
      out += 5;
    }
  }
  return out;
}

size_t json_text_double(char *out, double d) {
  if (!isfinite(d))
    return 0;
  int len = 0;
  for (int precision = 14; precision <= 17; precision++) {
    len = snprintf(out, JSON_DOUBLE_MAX, "%.*g", precision, d);
    if (strtod(out, NULL) == d)
      break;
  }
  char point = locale_point();
  bool marked = false;   /* has a '.' or an exponent */
  for (int k = 0; k < len; k++) {
    if (out[k] == point)
      out[k] = '.';
    if (out[k] == '.' || out[k] == 'e')
      marked = true;
  }
  if (!marked) {
    memcpy(out + len, ".0", 3);
    len += 2;
  }
  return (size_t)len;
}
