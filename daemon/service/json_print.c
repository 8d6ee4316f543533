#include "json_print.h"
#include "json_text.h"
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Escapes p[0..n), which is valid UTF-8, in pieces of a stack buffer. */
static void print_valid(FILE *out, const char *p, size_t n) {
  char buf[6 * 256];   /* \u00XX: six bytes per input byte at most */
  while (n > 0) {
    size_t take = n < 256 ? n : 256;
    char *end = json_text_escape(buf, p, take);
    fwrite(buf, 1, (size_t)(end - buf), out);
    p += take, n -= take;
  }
}

/* The start of the last character of p[0..n): its lead byte (n > 0). */
static size_t last_lead(const uint8_t *p, size_t n) {
  size_t i = n - 1;
  while (i > 0 && (p[i] & 0xc0) == 0x80)
    i--;
  return i;
}

void json_print_string(FILE *out, const char *s, size_t n) {
  fputc('"', out);
  const uint8_t *p = (const uint8_t *)s;
  while (n > 0) {
    struct utf8_check u = { 0 };
    size_t good = utf8_span(&u, p, n);
    /* A character the bad byte (or the end) cut short goes as a whole. */
    if (good > 0 && (good < n || !utf8_complete(&u))) {
      size_t lead = last_lead(p, good);
      if (!utf8_valid(p + lead, good - lead))
        good = lead;
    }
    print_valid(out, (const char *)p, good);
    p += good, n -= good;
    if (n > 0) {
      fputs("\xef\xbf\xbd", out);   /* U+FFFD for the byte that cannot be there */
      p++, n--;
    }
  }
  fputc('"', out);
}

void json_print_cstring(FILE *out, const char *s) {
  if (s)
    json_print_string(out, s, strlen(s));
  else
    fputs("null", out);
}
