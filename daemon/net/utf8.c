/* The UTF-8 check of utf8.h: a table-free state machine over RFC 3629's
 * table of well-formed byte sequences, with ASCII runs taken eight bytes
 * at a time, since most text a server checks is mostly ASCII. */
#include "utf8.h"

#include <string.h>

/* The first byte of a character: how many continuation bytes follow and
 * the range of the next one (RFC 3629's table, which rules out overlong
 * forms, surrogates and code points past U+10FFFF). false: no first byte. */
static bool utf8_lead(struct utf8_check *u, uint8_t b) {
  u->lo = 0x80, u->hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf)
    u->need = 1;
  else if (b == 0xe0)
    u->need = 2, u->lo = 0xa0;
  else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
    u->need = 2;
  else if (b == 0xed)
    u->need = 2, u->hi = 0x9f;
  else if (b == 0xf0)
    u->need = 3, u->lo = 0x90;
  else if (b >= 0xf1 && b <= 0xf3)
    u->need = 3;
  else if (b == 0xf4)
    u->need = 3, u->hi = 0x8f;
  else
    return false;
  return true;
}

size_t utf8_span(struct utf8_check *u, const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (u->need == 0) {
      /* ASCII runs go eight bytes at a time. */
      while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v & 0x8080808080808080ull)
          break;
        i += 8;
      }
      if (i == n)
        break;
      uint8_t b = p[i];
      if (b >= 0x80 && !utf8_lead(u, b))
        return i;
      i++;
    } else {
      uint8_t b = p[i];
      if (b < u->lo || b > u->hi)
        return i;
      u->lo = 0x80, u->hi = 0xbf;
      u->need--;
      i++;
    }
  }
  return n;
}
