/* The opening handshake as a server judges it, and permessage-deflate's
 * terms: see ws_request.h. The head is parsed by llhttp, as every HTTP/1.1
 * head in the daemon is, so a handshake is held to the same grammar as a
 * request to an HttpServer; what is ours is RFC 6455 4.2.1's judgement of
 * the fields and RFC 7692 7.1's parameters. */
#include "ws_request.h"
#include "ws_accept.h"

#include <llhttp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parsing a head ---- */

/* The fields a server reads; the others are passed over. */
static const struct {
  const char *name;
  size_t offset;             /* of its span in struct ws_request */
} FIELDS[] = {
  { "host", offsetof(struct ws_request, host) },
  { "origin", offsetof(struct ws_request, origin) },
  { "sec-websocket-key", offsetof(struct ws_request, key) },
  { "sec-websocket-version", offsetof(struct ws_request, version) },
  { "sec-websocket-accept", offsetof(struct ws_request, accept) },
  { "upgrade", offsetof(struct ws_request, upgrade) },
  { "connection", offsetof(struct ws_request, connection) },
  { "sec-websocket-protocol", offsetof(struct ws_request, protocol) },
  { "sec-websocket-extensions", offsetof(struct ws_request, extensions) },
};
#define NFIELDS (sizeof FIELDS / sizeof *FIELDS)
#define HOST 0
/* Lines of the fields above a head may have: a field may repeat (its
 * values are joined, RFC 9110 5.3), but not without end. */
#define MAX_LINES 64

struct line {
  uint8_t field;
  uint32_t off, len;         /* the value, in the head */
};

struct parse {
  llhttp_t p;                /* first */
  const char *head;
  int field;                 /* of the line whose value comes next; -1: one we pass over */
  struct line lines[MAX_LINES];
  int nlines;
  struct ws_span target;
  bool complete, bad;
};

static struct ws_span *span_of(struct ws_request *r, int field) {
  return (struct ws_span *)((char *)r + FIELDS[field].offset);
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct parse *st = (struct parse *)p;
  st->target = (struct ws_span){ at, len };
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct parse *st = (struct parse *)p;
  st->field = -1;
  for (size_t i = 0; i < NFIELDS; i++) {
    if (strlen(FIELDS[i].name) == len && strncasecmp(FIELDS[i].name, at, len) == 0)
      st->field = (int)i;
  }
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct parse *st = (struct parse *)p;
  if (st->field < 0)
    return 0;
  if (st->nlines == MAX_LINES) {
    st->bad = true;
    return HPE_USER;
  }
  while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t'))
    len--;
  st->lines[st->nlines++] = (struct line){ (uint8_t)st->field, (uint32_t)(at - st->head), (uint32_t)len };
  return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len) {
  return on_url(p, at, len);   /* the reason phrase, where a request has its target */
}

static int on_headers_complete(llhttp_t *p) {
  ((struct parse *)p)->complete = true;
  return HPE_PAUSED;   /* the head is all we read: what follows is frames */
}

/* llhttp_settings_init only zeroes the struct: a constant does the same. */
static const llhttp_settings_t SETTINGS = {
  .on_url = on_url,
  .on_status = on_status,
  .on_header_field = on_header_field,
  .on_header_value = on_header_value,
  .on_headers_complete = on_headers_complete,
};

/* Each field's span: its one line in the head, or its lines joined with
 * ", " in r->joined (sized once: the values and their separators). */
static int collect(struct parse *st, struct ws_request *r) {
  size_t total = 0;
  int count[NFIELDS] = { 0 };
  for (int i = 0; i < st->nlines; i++) {
    count[st->lines[i].field]++;
    total += st->lines[i].len + 2;
  }
  if (count[HOST] > 1)
    return 400;   /* two hosts: which one is meant? (RFC 9112 3.2) */
  for (size_t f = 0; f < NFIELDS; f++) {
    struct ws_span *s = span_of(r, (int)f);
    for (int i = 0; i < st->nlines; i++) {
      const struct line *l = &st->lines[i];
      if (l->field != f)
        continue;
      if (count[f] == 1) {
        *s = (struct ws_span){ st->head + l->off, l->len };
        break;
      }
      if (!r->joined && !(r->joined = malloc(r->joined_cap = total)))
        return 400;
      if (!s->p)
        s->p = r->joined + r->joined_len;
      else
        memcpy(r->joined + r->joined_len, ", ", 2), r->joined_len += 2, s->n += 2;
      memcpy(r->joined + r->joined_len, st->head + l->off, l->len);
      r->joined_len += l->len;
      s->n += l->len;
    }
  }
  return 0;
}

int ws_request_parse(const char *head, size_t n, enum ws_head_kind kind, struct ws_request *r) {
  memset(r, 0, sizeof *r);
  struct parse st = { .head = head, .field = -1 };
  llhttp_init(&st.p, kind == WS_HEAD_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &SETTINGS);
  llhttp_errno_t err = llhttp_execute(&st.p, head, n);
  if (!st.complete || st.bad || (err != HPE_OK && err != HPE_PAUSED))
    return 400;
  r->get = kind == WS_HEAD_REQUEST && llhttp_get_method(&st.p) == HTTP_GET;
  r->status = kind == WS_HEAD_RESPONSE ? llhttp_get_status_code(&st.p) : 0;
  r->http11 = llhttp_get_http_major(&st.p) == 1 && llhttp_get_http_minor(&st.p) == 1;
  r->target = st.target;
  return collect(&st, r);
}

void ws_request_free(struct ws_request *r) {
  free(r->joined);
  r->joined = NULL;
  r->joined_len = r->joined_cap = 0;
}

/* ---- judging it ---- */

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

static struct ws_span trim(const char *p, size_t n) {
  while (n > 0 && is_space(*p))
    p++, n--;
  while (n > 0 && is_space(p[n - 1]))
    n--;
  return (struct ws_span){ p, n };
}

/* The next item of a list separated by `sep`, trimmed, from *rest (which
 * moves past it); false at the list's end. */
static bool next_item(struct ws_span *rest, char sep, struct ws_span *item) {
  if (!rest->p || rest->n == 0)
    return false;
  const char *end = memchr(rest->p, sep, rest->n);
  size_t len = end ? (size_t)(end - rest->p) : rest->n;
  *item = trim(rest->p, len);
  if (end) {
    rest->p = end + 1;
    rest->n -= len + 1;
  } else {
    rest->p += len;
    rest->n = 0;
  }
  return true;
}

static bool span_is(struct ws_span s, const char *word) {
  return s.p && s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

bool ws_has_token(struct ws_span list, const char *token) {
  struct ws_span item;
  while (next_item(&list, ',', &item)) {
    if (span_is(item, token))
      return true;
  }
  return false;
}

/* 16 bytes in base64: 22 characters, then "==" (RFC 6455 4.1). */
static bool valid_key(struct ws_span k) {
  if (!k.p || k.n != 24 || k.p[22] != '=' || k.p[23] != '=')
    return false;
  for (size_t i = 0; i < 22; i++) {
    char c = k.p[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  }
  return true;
}

int ws_request_check(const struct ws_request *r) {
  if (!r->get || !r->http11 || !r->host.p || !r->target.p || r->target.n == 0)
    return 400;
  if (!ws_has_token(r->upgrade, "websocket") || !ws_has_token(r->connection, "upgrade") || !valid_key(r->key))
    return 400;   /* not a WebSocket handshake at all */
  if (!(r->version.p && r->version.n == 2 && memcmp(r->version.p, "13", 2) == 0))
    return 426;   /* one, of a version we do not speak */
  return 0;
}

bool ws_response_check(const struct ws_request *r, struct ws_span key, const char **why) {
  char accept[WS_ACCEPT_LEN + 1];
  ws_accept(key.p, key.n, accept);
  if (r->status != 101)
    *why = "Server returned error";
  else if (!ws_has_token(r->upgrade, "websocket") || !ws_has_token(r->connection, "upgrade"))
    *why = "Invalid response: no Upgrade: websocket";
  else if (!(r->accept.p && r->accept.n == WS_ACCEPT_LEN && memcmp(r->accept.p, accept, WS_ACCEPT_LEN) == 0))
    *why = "Invalid Sec-WebSocket-Accept";
  else
    return true;
  return false;
}

bool ws_pick_protocol(struct ws_span offered, const struct ws_span *supported, size_t n, struct ws_span *out) {
  struct ws_span name;
  while (next_item(&offered, ',', &name)) {
    for (size_t i = 0; i < n; i++) {
      if (name.n > 0 && supported[i].n == name.n && memcmp(supported[i].p, name.p, name.n) == 0) {
        *out = supported[i];
        return true;
      }
    }
  }
  return false;
}

/* ---- permessage-deflate's parameters (RFC 7692 7.1) ---- */

#define MAX_PARAMS 8

struct offer {
  struct ws_span name;
  struct {
    struct ws_span name, value;   /* value.p NULL: given without a value */
  } params[MAX_PARAMS];
  int n;
};

static bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_token(struct ws_span s) {
  if (s.n == 0)
    return false;
  for (size_t i = 0; i < s.n; i++) {
    if (!is_token_char(s.p[i]))
      return false;
  }
  return true;
}

/* One extension of the field (name; param; param=value; param="value"):
 * false when it cannot be read or names a parameter twice. */
static bool parse_offer(struct ws_span item, struct offer *o) {
  o->n = 0;
  if (!next_item(&item, ';', &o->name) || !is_token(o->name))
    return false;
  struct ws_span part;
  while (next_item(&item, ';', &part)) {
    if (o->n == MAX_PARAMS)
      return false;
    const char *eq = memchr(part.p, '=', part.n);
    struct ws_span name = part, value = { NULL, 0 };
    if (eq) {
      name = trim(part.p, (size_t)(eq - part.p));
      value = trim(eq + 1, part.n - (size_t)(eq - part.p) - 1);
      if (value.n >= 2 && value.p[0] == '"' && value.p[value.n - 1] == '"')
        value = (struct ws_span){ value.p + 1, value.n - 2 };
    }
    if (!is_token(name))
      return false;
    for (int i = 0; i < o->n; i++) {
      if (o->params[i].name.n == name.n && strncasecmp(o->params[i].name.p, name.p, name.n) == 0)
        return false;
    }
    o->params[o->n].name = name;
    o->params[o->n].value = value;
    o->n++;
  }
  return true;
}

/* A *_max_window_bits value: 8 to 15 in decimal digits without a leading
 * zero (7.1.2.1); 0 otherwise. */
static int window_bits(struct ws_span v) {
  if (!v.p || v.n < 1 || v.n > 2 || v.p[0] < '1' || v.p[0] > '9' || (v.n == 2 && (v.p[1] < '0' || v.p[1] > '9')))
    return 0;
  int n = v.n == 1 ? v.p[0] - '0' : (v.p[0] - '0') * 10 + v.p[1] - '0';
  return n >= 8 && n <= 15 ? n : 0;
}

enum param { NO_SERVER_TAKEOVER, NO_CLIENT_TAKEOVER, SERVER_BITS, CLIENT_BITS, UNKNOWN };

static enum param param_kind(struct ws_span name) {
  static const char *const names[] = { "server_no_context_takeover", "client_no_context_takeover",
                                       "server_max_window_bits", "client_max_window_bits" };
  for (int i = 0; i < UNKNOWN; i++) {
    if (span_is(name, names[i]))
      return (enum param)i;
  }
  return UNKNOWN;
}

bool ws_deflate_accept(struct ws_span offers, struct ws_deflate_terms *t, char answer[WS_DEFLATE_ANSWER_MAX]) {
  struct ws_span item;
  struct offer o;
  while (next_item(&offers, ',', &item)) {
    if (!parse_offer(item, &o) || !span_is(o.name, "permessage-deflate"))
      continue;
    bool ok = true, no_server = false, no_client = false;
    int bits = 0;
    for (int i = 0; i < o.n && ok; i++) {
      struct ws_span v = o.params[i].value;
      switch (param_kind(o.params[i].name)) {
      case NO_SERVER_TAKEOVER: ok = !v.p, no_server = true; break;
      case NO_CLIENT_TAKEOVER: ok = !v.p, no_client = true; break;
      case SERVER_BITS: bits = window_bits(v), ok = bits > 8; break;   /* zlib has no 8-bit window */
      case CLIENT_BITS: ok = !v.p || window_bits(v) > 0; break;        /* we inflate with any window */
      default: ok = false;
      }
    }
    if (!ok)
      continue;
    int len = snprintf(answer, WS_DEFLATE_ANSWER_MAX, "permessage-deflate%s%s", no_server ? "; server_no_context_takeover" : "",
                       no_client ? "; client_no_context_takeover" : "");
    if (bits)
      snprintf(answer + len, (size_t)(WS_DEFLATE_ANSWER_MAX - len), "; server_max_window_bits=%d", bits);
    *t = (struct ws_deflate_terms){ .inflate_reset = no_client, .deflate_reset = no_server, .deflate_bits = bits ? bits : 15 };
    return true;
  }
  return false;
}

int ws_deflate_response(struct ws_span value, struct ws_deflate_terms *t, const char **why) {
  struct ws_span item, second;
  struct offer o;
  struct ws_span rest = value;
  if (!next_item(&rest, ',', &item) || next_item(&rest, ',', &second) || !parse_offer(item, &o)
      || !span_is(o.name, "permessage-deflate")) {
    *why = "the server answered an extension we did not offer";
    return -1;
  }
  *t = (struct ws_deflate_terms){ .deflate_bits = 15 };
  for (int i = 0; i < o.n; i++) {
    struct ws_span v = o.params[i].value;
    bool ok;
    switch (param_kind(o.params[i].name)) {
    case NO_SERVER_TAKEOVER: ok = !v.p, t->inflate_reset = true; break;
    case NO_CLIENT_TAKEOVER: ok = !v.p, t->deflate_reset = true; break;
    case SERVER_BITS: ok = window_bits(v) > 0; break;   /* we inflate with a 32 KiB window: any fits */
    case CLIENT_BITS: ok = window_bits(v) > 8, t->deflate_bits = window_bits(v); break;
    default: ok = false;
    }
    if (!ok) {
      *why = "the server's permessage-deflate terms are not valid";
      return -1;
    }
  }
  return 1;
}

size_t ws_switching(char *out, size_t cap, struct ws_span key, struct ws_span protocol, const char *extensions) {
  char accept[WS_ACCEPT_LEN + 1];
  ws_accept(key.p, key.n, accept);
  int n = snprintf(out, cap,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n%s%.*s%s%s%s%s\r\n",
                   accept, protocol.p ? "Sec-WebSocket-Protocol: " : "", (int)protocol.n, protocol.p ? protocol.p : "",
                   protocol.p ? "\r\n" : "", extensions ? "Sec-WebSocket-Extensions: " : "",
                   extensions ? extensions : "", extensions ? "\r\n" : "");
  return n < 0 ? 0 : (size_t)n;
}
