/* JSON's text without Lua (json_text.c): the scanning of one number or
 * one string as RFC 8259 writes them, and the writing of a string and a
 * float back. The decoder and encoder (json_decode.c, json_encode.c)
 * build Lua values on these; the structure ({ } [ ] , :) is theirs. */
#ifndef LUANET_JSON_TEXT_H
#define LUANET_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Arrays and objects nested deeper than this are an error both ways,
 * counted as brackets in the text: [[1]] is 2. */
#define JSON_MAX_DEPTH 200

/* Where scanning failed: the offset of the offending byte from the p
 * that was passed in (n when the text ended too soon), and what was
 * wrong there. */
struct json_error {
  size_t at;
  const char *what;
};

struct json_number {
  bool integer;       /* no fraction, no exponent, and it fits in a long long */
  long long i;
  double d;
};

/* Reads the number starting at p[0] (a '-', a digit, or what a number
 * can be mistaken for: '+', '.'), p[0..n) being what is left of the text.
 * Returns its length, or 0 with *e set: text that is not JSON's grammar
 * (leading zeros, "+1", ".5", "1.", "0x1f", a number run into letters),
 * or a magnitude past a double's range. */
size_t json_text_number(const char *p, size_t n, struct json_number *out, struct json_error *e);

/* Checks the string whose opening quote is p[0]: UTF-8 (RFC 3629, so no
 * overlong forms or encoded surrogates), escapes ("\u" surrogates only in
 * pairs), no raw control characters. Returns its length through the
 * closing quote and sets *size to the bytes it decodes to, or returns 0
 * with *e set. *size is the length between the quotes exactly when the
 * string has no escape: then those bytes are the value. */
size_t json_text_string(const char *p, size_t n, size_t *size, struct json_error *e);

/* Writes the value of a string checked by json_text_string: p[0..len)
 * is what lies between its quotes, out has room for its *size bytes. */
void json_text_unescape(char *out, const char *p, size_t len);

/* The length of s[0..n) written as a JSON string, quotes left out; and
 * the writing itself into out, which returns the end. '"', '\\' and the
 * control characters are escaped; '/' and the rest go as they are. */
size_t json_text_escaped_size(const char *s, size_t n);
char *json_text_escape(char *out, const char *s, size_t n);

/* The shortest text (of %.14g to %.17g) that strtod reads back as d,
 * with a '.' or an exponent so that it reads back as a float, whatever
 * the locale's decimal point; out has JSON_DOUBLE_MAX bytes. Returns its
 * length, 0 for NaN and the infinities, which JSON cannot write. */
#define JSON_DOUBLE_MAX 32
size_t json_text_double(char *out, double d);

#endif
