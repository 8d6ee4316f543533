/* What a request's target, Host and Transfer-Encoding may be (RFC 9112
 * 3.2, 6.1; RFC 3986 for the characters). llhttp lets through bytes that
 * no URI has (raw UTF-8, a backslash, a quote) and does not look at Host
 * or at the codings; these checks refuse what the RFCs say a server MUST
 * refuse, so that a handler, a proxy behind us or a log never sees a
 * target or an authority that another parser would read differently.
 * Each is one pass over its bytes with a table, off the hot path's
 * allocations. */
#include "http_private.h"

#include <string.h>

enum {
  C_PCHAR = 1,   /* unreserved, sub-delims, ":" "@": in a path segment */
  C_PATH = 2,    /* "/" and "?" too: the rest of an origin-form target */
  C_HOST = 4,    /* a reg-name (unreserved, sub-delims but ","), an IPv4 */
  C_HEX = 8,
  C_LENIENT = 16,   /* "{" "}" "|" "^" "`": not in RFC 3986, but sent raw by
                       real clients in queries; harmless to a parser */
};

static unsigned char classes[256];

static void mark(const char *chars, unsigned char cls) {
  for (; *chars; chars++)
    classes[(unsigned char)*chars] |= cls;
}

/* Filled by the first HttpServer made (before any request is parsed);
 * every thread writes the same values, so a race is harmless. */
void http_target_init(void) {
  static bool ready;
  if (ready)
    return;
  const char *alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  mark(alnum, C_PCHAR | C_PATH | C_HOST);
  mark("-._~", C_PCHAR | C_PATH | C_HOST);
  mark("!$&'()*+;=", C_PCHAR | C_PATH | C_HOST);
  mark(",:@", C_PCHAR | C_PATH);
  mark("/?", C_PATH);
  mark("0123456789abcdefABCDEF", C_HEX);
  mark("{}|^`", C_LENIENT);
  ready = true;
}

static bool pct_ok(const char *p, const char *end) {
  return end - p >= 3 && (classes[(unsigned char)p[1]] & C_HEX) && (classes[(unsigned char)p[2]] & C_HEX);
}

/* path-abempty [ "?" query ] of an origin-form or absolute-form target:
 * every byte a URI may hold, every "%" an escape. *end is the space after
 * the target, which no class holds: the tight loop needs no bound. */
static bool path_ok(const char *p, const char *end) {
  for (;;) {
    while (classes[(unsigned char)*p] & (C_PATH | C_LENIENT))
      p++;
    if (p > end)
      return false;   /* not reached: *end stops the loop */
    if (p == end)
      return true;
    if (*p != '%' || !pct_ok(p, end))
      return false;
    p += 3;
  }
}

bool http_authority_valid(const char *s, size_t n) {
  const char *p = s, *end = s + n;
  if (p < end && *p == '[') {   /* IP-literal: an IPv6 address (or IPvFuture) */
    const char *close = memchr(p, ']', n);
    if (!close || close == p + 1)
      return false;
    for (p++; p < close; p++)
      if (!(classes[(unsigned char)*p] & C_HEX) && *p != ':' && *p != '.')
        return false;
    p++;
  } else {
    if (p < end && *p == ':')
      return false;   /* ":80": a port with no host */
    for (;;) {   /* a name or an IPv4: *end (CR, space, "/", "?") is no host byte */
      while (classes[(unsigned char)*p] & C_HOST)
        p++;
      if (p > end)
        return false;   /* not reached */
      if (p == end || *p == ':')
        break;
      if (*p != '%' || !pct_ok(p, end))
        return false;   /* "@" (userinfo), "/" (a path), a space, a "," (two hosts) */
      p += 3;
    }
  }
  if (p == end)
    return true;
  if (*p != ':' || end - p > 6)
    return false;   /* a port has at most 5 digits */
  for (p++; p < end; p++)
    if ((unsigned char)(*p - '0') > 9)
      return false;
  return true;
}

int http_target_parse(const char *t, size_t n, const char *method, size_t method_len, struct http_target *out) {
  const char *end = t + n;
  out->authority = out->authority_len = out->path = 0;
  bool connect = method_len == 7 && memcmp(method, "CONNECT", 7) == 0;
  if (n > 0 && t[0] == '/' && !connect) {   /* origin-form: nearly every request */
    out->kind = TARGET_ORIGIN;
    return path_ok(t, end) ? 0 : 400;
  }
  if (connect) {   /* authority-form, and only for CONNECT */
    if (!http_authority_valid(t, n) || !memchr(t, ':', n))
      return 400;
    out->kind = TARGET_AUTHORITY;
    out->authority_len = (uint32_t)n;
    return 0;   /* req.path is the whole target, as Node's req.url */
  }
  if (n == 1 && t[0] == '*') {   /* asterisk-form: OPTIONS only */
    if (!(method_len == 7 && memcmp(method, "OPTIONS", 7) == 0))
      return 400;
    out->kind = TARGET_ASTERISK;
    return 0;
  }
  /* absolute-form: http(s)://authority path-abempty [? query] */
  size_t scheme = n > 7 && strncasecmp(t, "http://", 7) == 0 ? 7 : n > 8 && strncasecmp(t, "https://", 8) == 0 ? 8 : 0;
  if (!scheme)
    return 400;
  const char *a = t + scheme, *a_end = a;
  while (a_end < end && *a_end != '/' && *a_end != '?')
    a_end++;
  if (a_end == a || !http_authority_valid(a, (size_t)(a_end - a)) || !path_ok(a_end, end))
    return 400;
  out->kind = TARGET_ABSOLUTE;
  out->authority = (uint32_t)(a - t);
  out->authority_len = (uint32_t)(a_end - a);
  out->path = (uint32_t)(a_end - t);
  return 0;
}

int http_transfer_coding(const char *v, size_t n) {
  /* The codings, last one first: it must be chunked (else the body's end
   * cannot be known: 400), and nothing may come before it, as we decode
   * no other coding (501, as nginx answers). */
  const char *p = v + n;
  while (p > v && (p[-1] == ' ' || p[-1] == '\t'))
    p--;
  const char *last = p;
  while (last > v && last[-1] != ',')
    last--;
  const char *word = last;
  while (word < p && (*word == ' ' || *word == '\t'))
    word++;
  if (!(p - word == 7 && strncasecmp(word, "chunked", 7) == 0))
    return 400;
  for (const char *q = v; q < last; q++)
    if (*q != ' ' && *q != '\t' && *q != ',')
      return 501;
  return last > v ? 400 : 0;   /* "chunked" after empty list members: malformed */
}
