#include "metrics_route.h"

#include <string.h>

bool metrics_head_complete(const char *buf, size_t len) {
  for (size_t i = 1; i < len; i++) {
    if (buf[i] == '\n' && (buf[i - 1] == '\n' || (i >= 3 && memcmp(buf + i - 3, "\r\n\r", 3) == 0)))
      return true;
  }
  return false;
}

/* tchar of RFC 9110 5.6.2: a method is a token. */
static bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool word_is(const char *p, size_t n, const char *word) {
  return n == strlen(word) && memcmp(p, word, n) == 0;
}

enum metrics_route metrics_route(const char *head, size_t len, bool *head_only) {
  *head_only = false;
  const char *end = memchr(head, '\n', len);
  if (!end)
    return METRICS_ROUTE_BAD_REQUEST;
  size_t line = (size_t)(end - head);
  if (line > 0 && head[line - 1] == '\r')
    line--;
  /* METHOD SP TARGET SP HTTP/1.x, single spaces */
  size_t m = 0;
  while (m < line && is_tchar(head[m]))
    m++;
  if (m == 0 || m >= line || head[m] != ' ')
    return METRICS_ROUTE_BAD_REQUEST;
  const char *target = head + m + 1;
  const char *sp = memchr(target, ' ', line - m - 1);
  if (!sp || sp == target)
    return METRICS_ROUTE_BAD_REQUEST;
  const char *version = sp + 1;
  size_t vlen = line - (size_t)(version - head);
  if (!(vlen == 8 && memcmp(version, "HTTP/1.", 7) == 0 && (version[7] == '0' || version[7] == '1')))
    return METRICS_ROUTE_BAD_REQUEST;
  size_t tlen = (size_t)(sp - target);
  for (size_t i = 0; i < tlen; i++)
    if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
      return METRICS_ROUTE_BAD_REQUEST;
  bool get = word_is(head, m, "GET");
  *head_only = word_is(head, m, "HEAD");
  if (!get && !*head_only)
    return METRICS_ROUTE_BAD_METHOD;
  const char *query = memchr(target, '?', tlen);
  size_t plen = query ? (size_t)(query - target) : tlen;
  return word_is(target, plen, "/metrics") ? METRICS_ROUTE_METRICS : METRICS_ROUTE_NOT_FOUND;
}
