/* UTF-8 checked as bytes come (utf8.c): RFC 3629 strictly, so overlong
 * forms, surrogates (U+D800..U+DFFF) and code points past U+10FFFF are
 * refused at their first byte that cannot be. A WebSocket text message
 * is fed frame by frame (daemon/ws), a JSON string in one piece
 * (daemon/shared); the state carries a character split between feeds. */
#ifndef LUANET_UTF8_H
#define LUANET_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zeroed: at the start of a text. */
struct utf8_check {
  uint8_t need;              /* continuation bytes the character still needs */
  uint8_t lo, hi;            /* the range its next byte must be in */
};

/* How many bytes of p[0..n) valid UTF-8 text can have, from the state
 * *u: n when all of them (a character may still be unfinished), else the
 * offset of the first byte that cannot be there, which is what an error
 * message names. */
size_t utf8_span(struct utf8_check *u, const uint8_t *p, size_t n);

/* false at the first byte no valid UTF-8 text can have there (an
 * overlong form, a surrogate, past U+10FFFF, a stray continuation). */
static inline bool utf8_feed(struct utf8_check *u, const uint8_t *p, size_t n) {
  return utf8_span(u, p, n) == n;
}

/* Whether the text fed so far ends at a character's end. */
static inline bool utf8_complete(const struct utf8_check *u) {
  return u->need == 0;
}

/* Whether p[0..n) is valid UTF-8 text, whole. */
static inline bool utf8_valid(const uint8_t *p, size_t n) {
  struct utf8_check u = { 0 };
  return utf8_feed(&u, p, n) && utf8_complete(&u);
}

#endif
