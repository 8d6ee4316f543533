/* A chunked request body's framing lines, checked before llhttp reads
 * them (RFC 9112 7.1). Debian's llhttp 8.1 refuses valid chunk extensions
 * (`5;a=1;b`, `5 ; a = b`: bad whitespace and quoted values) and accepts
 * malformed trailer sections (a bare LF at the end, `X-A : 1`, a folded
 * line), which would let a front end and us disagree on where a message
 * ends. So each chunk-size line is checked here; its extensions, which we
 * must ignore anyway, are overwritten in place with one extension name
 * llhttp reads (the bytes keep their count); and after the last chunk the
 * trailer section is checked as a head's fields are. */
#include "http_private.h"

#include <string.h>

#define CHUNK_LINE_MAX 4096   /* a size and its extensions */

static bool hexdig(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static const char *skip_bws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  return p;
}

/* quoted-string: DQUOTE *( qdtext / quoted-pair ) DQUOTE; p at the DQUOTE. */
static const char *quoted(const char *p, const char *end) {
  for (p++; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"')
      return p + 1;
    if (c == '\\') {
      if (++p == end || (unsigned char)*p < ' ' || *p == 127)
        return NULL;
    } else if ((c < ' ' && c != '\t') || c == 127) {
      return NULL;
    }
  }
  return NULL;
}

/* chunk-ext in [p, end): 1*( BWS ";" BWS name [ BWS "=" BWS value ] ),
 * then BWS. */
static bool extensions_ok(const char *p, const char *end) {
  for (int seen = 0;; seen++) {
    p = skip_bws(p, end);
    if (p == end)
      return seen > 0;
    if (*p != ';')
      return false;
    p = skip_bws(p + 1, end);
    const char *name = p;
    while (p < end && http_token_char((unsigned char)*p))
      p++;
    if (p == name)
      return false;
    const char *q = skip_bws(p, end);
    if (q < end && *q == '=') {
      p = skip_bws(q + 1, end);
      if (p < end && *p == '"') {
        if (!(p = quoted(p, end)))
          return false;
      } else {
        const char *v = p;
        while (p < end && http_token_char((unsigned char)*p))
          p++;
        if (p == v)
          return false;
      }
    }
  }
}

/* The trailer section at p: field lines, then an empty line, CRLF only,
 * no fold, no space before a colon. Its length, 0 while incomplete, -1
 * when malformed. */
static long trailers(const char *p, const char *end) {
  const char *start = p;
  for (;;) {
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf)
      return 0;
    if (lf == p || lf[-1] != '\r')
      return -1;   /* a bare LF */
    if (lf == p + 1)
      return (long)(lf + 1 - start);   /* the empty line: the end */
    if (*p == ' ' || *p == '\t')
      return -1;   /* obs-fold */
    const char *name = p;
    while (p < lf && http_token_char((unsigned char)*p))
      p++;
    if (p == name || *p != ':')
      return -1;
    for (p++; p < lf - 1; p++) {
      unsigned char c = (unsigned char)*p;
      if ((c < ' ' && c != '\t') || c == 127)
        return -1;
    }
    p = lf + 1;
  }
}

int http_chunk_line_check(char *p, size_t n, size_t trailer_max, bool *last) {
  const char *end = p + n;
  const char *lf = memchr(p, '\n', n < CHUNK_LINE_MAX ? n : CHUNK_LINE_MAX);
  if (!lf)
    return n >= CHUNK_LINE_MAX ? 400 : HTTP_CHUNK_MORE;
  if (lf == p || lf[-1] != '\r')
    return 400;
  const char *cr = lf - 1;
  char *q = p;
  bool zero = true;
  while (q < cr && hexdig((unsigned char)*q))
    zero = zero && *q == '0', q++;
  if (q == p || q - p > 16)
    return 400;   /* no size, or one past 64 bits */
  if (q < cr) {
    if (!extensions_ok(q, cr))
      return 400;
    /* Ignored (RFC 9112 7.1.1), and shown to llhttp as one name it reads
     * (";x..."; there are at least two bytes: a ";" and a name). */
    *q = ';';
    memset(q + 1, 'x', (size_t)(cr - q - 1));
  }
  *last = zero;
  if (!zero)
    return 0;
  long t = trailers(lf + 1, end);
  if (t < 0)
    return 400;
  if (t == 0)
    return (size_t)(end - (lf + 1)) > trailer_max ? 431 : HTTP_CHUNK_MORE;
  return 0;
}
