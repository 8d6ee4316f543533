/* fuzz_ws_handshake: the WebSocket opening handshake (daemon/ws/ws_request.c
 * on llhttp, with ws_accept.c) on arbitrary bytes, without Lua or sockets.
 * The input is read three ways at once, so one corpus serves all of them:
 * as a client's request head (what a WebSocketServer reads from anyone),
 * as a server's answer head (what a client reads), and as one
 * Sec-WebSocket-Extensions value. Checked, else abort():
 *   - ws_request_parse gives 0 or 400; on 0 every span lies in the input or
 *     in r.joined, an absent span is empty, and joined_len <= joined_cap;
 *   - ws_request_check gives 0, 400 or 426; 0 means GET, HTTP/1.1, a Host,
 *     a key of 24 base64 characters ending "==", a non-empty target and
 *     version "13"; 426 means all of that but the version;
 *   - for a valid request, ws_switching keeps snprintf's contract (the
 *     same length at any cap, nothing written at cap 0, never past cap);
 *     its answer starts with the 101 status line, holds one empty line, at
 *     its end, the accept value of the request's key (28 characters), the
 *     subprotocol ws_pick_protocol chose and the extensions answer
 *     ws_deflate_accept gave; and our own client accepts it:
 *     ws_response_check true, ws_deflate_response 1 with the mirrored terms;
 *   - as an answer, ws_response_check with a fixed key is true only for
 *     101, and false always comes with a why;
 *   - as an extensions value: ws_deflate_accept false, or true with a
 *     NUL-terminated answer starting "permessage-deflate" that says what
 *     the terms are (window bits 9..15), and that our client takes back;
 *     ws_deflate_response 1 with window bits 9..15, or -1 with a why;
 *   - ws_has_token agrees with a plain splitter written here, and runs on
 *     copies of its span in buffers of exactly the span's size, so that
 *     ASan sees any byte it reads past either end. */
#include "ws_accept.h"
#include "ws_request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what) {
  fprintf(stderr, "fuzz_ws_handshake: invariant broken: %s\n", what);
  abort();
}

/* The subprotocols a server here supports; ws_pick_protocol's answer must
 * be one of these very spans. */
static const struct ws_span SUPPORTED[] = { { "chat", 4 }, { "superchat", 9 } };
#define NSUPPORTED (sizeof SUPPORTED / sizeof *SUPPORTED)

/* RFC 6455 1.3's example key and its accept value: the answers seeded in
 * fuzz/run.sh carry the latter, so ws_response_check can say true. */
static const struct ws_span KEY = { "dGhlIHNhbXBsZSBub25jZQ==", 24 };
static const char KEY_ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static bool is_key(struct ws_span k) {
  if (!k.p || k.n != 24 || k.p[22] != '=' || k.p[23] != '=')
    return false;
  for (size_t i = 0; i < 22; i++) {
    char c = k.p[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return false;
  }
  return true;
}

static bool span_eq(struct ws_span s, const char *word) {
  return s.p && s.n == strlen(word) && memcmp(s.p, word, s.n) == 0;
}

/* Inside [base, base + n]: compared as integers, since the span may point
 * into another object (comparing such pointers is undefined in C). */
static bool within(struct ws_span s, const void *base, size_t n) {
  uintptr_t p = (uintptr_t)s.p, b = (uintptr_t)base;
  return base && p >= b && p - b <= n && s.n <= n - (p - b);
}

static void check_spans(const struct ws_request *r, const char *head, size_t n) {
  const struct ws_span spans[] = { r->target, r->host, r->origin, r->key, r->version, r->accept,
                                   r->upgrade, r->connection, r->protocol, r->extensions };
  if (r->joined_len > r->joined_cap || (!r->joined && r->joined_cap))
    fail("joined_len past joined_cap, or a capacity without a buffer");
  for (size_t i = 0; i < sizeof spans / sizeof *spans; i++) {
    if (!spans[i].p) {
      if (spans[i].n)
        fail("an absent span with a length");
    } else if (!within(spans[i], head, n) && !within(spans[i], r->joined, r->joined_len)) {
      fail("a span outside both the head and r.joined");
    }
  }
}

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ws_has_token as RFC 9110 5.6.1 puts it, done the plain way: each
 * comma-separated item, without its spaces and tabs, compared to a
 * non-empty token in any case. */
static bool plain_has_token(struct ws_span list, const char *token) {
  size_t tn = strlen(token), i = 0;
  while (list.p && i < list.n) {
    size_t end = i;
    while (end < list.n && list.p[end] != ',')
      end++;
    size_t a = i, b = end;
    while (a < b && (list.p[a] == ' ' || list.p[a] == '\t'))
      a++;
    while (b > a && (list.p[b - 1] == ' ' || list.p[b - 1] == '\t'))
      b--;
    if (b - a == tn) {
      size_t k = 0;
      while (k < tn && lower(list.p[a + k]) == lower(token[k]))
        k++;
      if (k == tn)
        return true;
    }
    i = end + 1;
  }
  return false;
}

/* ws_has_token on a copy of the span that fills its heap block exactly: a
 * span inside the head has readable bytes around it, which would hide a
 * read past its ends from ASan. */
static bool has_token(struct ws_span list, const char *token) {
  struct ws_span copy = { NULL, 0 };
  if (list.p) {
    char *p = malloc(list.n ? list.n : 1);
    if (!p)
      abort();
    memcpy(p, list.p, list.n);
    /* An empty list gets a block of 1 byte; shift past it so that its end
     * is the block's end and reading even one byte is reported. */
    copy = (struct ws_span){ list.n ? p : p + 1, list.n };
  }
  bool got = ws_has_token(copy, token);
  if (got != plain_has_token(list, token))
    fail("ws_has_token disagrees with a plain splitter");
  if (copy.p)
    free((char *)copy.p - (copy.n ? 0 : 1));
  return got;
}

static void check_tokens(struct ws_span list) {
  has_token(list, "websocket");
  has_token(list, "upgrade");
  has_token(list, "permessage-deflate");
}

/* The terms an accepted offer gave, against the answer that says them,
 * then the answer as our client reads it: what the server does is what
 * the client expects, mirrored. */
static void check_accepted(const char answer[WS_DEFLATE_ANSWER_MAX], struct ws_deflate_terms t) {
  if (!memchr(answer, '\0', WS_DEFLATE_ANSWER_MAX))
    fail("a deflate answer without its NUL");
  if (strncmp(answer, "permessage-deflate", 18) != 0)
    fail("a deflate answer that is not permessage-deflate");
  if (t.deflate_bits < 9 || t.deflate_bits > 15)
    fail("accepted terms with window bits outside 9..15");
  if ((strstr(answer, "; server_no_context_takeover") != NULL) != t.deflate_reset ||
      (strstr(answer, "; client_no_context_takeover") != NULL) != t.inflate_reset)
    fail("a deflate answer whose context takeover is not the terms'");
  const char *bits = strstr(answer, "; server_max_window_bits=");
  if (bits ? atoi(bits + 25) != t.deflate_bits : t.deflate_bits != 15)
    fail("a deflate answer whose window bits are not the terms'");
  struct ws_deflate_terms c = { .deflate_bits = -1 };
  const char *why = NULL;
  if (ws_deflate_response((struct ws_span){ answer, strlen(answer) }, &c, &why) != 1)
    fail("our client refuses our server's deflate answer");
  if (c.inflate_reset != t.deflate_reset || c.deflate_reset != t.inflate_reset || c.deflate_bits != 15)
    fail("our client reads other terms from our server's deflate answer");
}

/* The input as one Sec-WebSocket-Extensions value, both sides' way. */
static void check_extensions(struct ws_span value) {
  struct ws_deflate_terms t = { .deflate_bits = -1 };
  char answer[WS_DEFLATE_ANSWER_MAX];
  memset(answer, 0xaa, sizeof answer);   /* no NUL but the one it writes */
  if (ws_deflate_accept(value, &t, answer))
    check_accepted(answer, t);
  t = (struct ws_deflate_terms){ .deflate_bits = -1 };
  const char *why = NULL;
  int got = ws_deflate_response(value, &t, &why);
  if (got == 1) {
    if (t.deflate_bits < 9 || t.deflate_bits > 15)
      fail("response terms with window bits outside 9..15");
  } else if (got != -1 || !why) {
    fail("ws_deflate_response neither 1 nor -1 with a why");
  }
}

/* Our 101 to a valid request, read back by our own client. */
static void check_switching(const struct ws_request *r) {
  struct ws_span proto = { NULL, 0 };
  if (ws_pick_protocol(r->protocol, SUPPORTED, NSUPPORTED, &proto)) {
    bool ours = false;
    for (size_t i = 0; i < NSUPPORTED; i++)
      ours |= proto.p == SUPPORTED[i].p && proto.n == SUPPORTED[i].n;
    if (!ours || !has_token(r->protocol, proto.p))
      fail("a picked subprotocol neither supported nor offered");
  }
  struct ws_deflate_terms t = { .deflate_bits = -1 };
  char answer[WS_DEFLATE_ANSWER_MAX];
  memset(answer, 0xaa, sizeof answer);
  bool deflate = ws_deflate_accept(r->extensions, &t, answer);
  if (deflate)
    check_accepted(answer, t);
  const char *ext = deflate ? answer : NULL;

  char guard = 'x';
  size_t len = ws_switching(&guard, 0, r->key, proto, ext);
  if (guard != 'x')
    fail("ws_switching wrote at cap 0");
  if (len < 4)
    fail("ws_switching measured no answer");
  /* One byte short, in a block of exactly that size: snprintf truncates,
   * NUL-terminated, and ASan sees a write past cap. */
  char *out = malloc(len);
  if (!out)
    abort();
  if (ws_switching(out, len, r->key, proto, ext) != len || out[len - 1] != '\0')
    fail("ws_switching at a cap too small broke snprintf's contract");
  free(out);
  out = malloc(len + 1);
  if (!out)
    abort();
  if (ws_switching(out, len + 1, r->key, proto, ext) != len || out[len] != '\0' || strlen(out) != len)
    fail("ws_switching at the exact size wrote another length");

  static const char STATUS[] = "HTTP/1.1 101 Switching Protocols\r\n";
  if (strncmp(out, STATUS, sizeof STATUS - 1) != 0)
    fail("a 101 answer without its status line");
  const char *end = strstr(out, "\r\n\r\n");
  if (!end || end != out + len - 4)
    fail("a 101 answer whose one empty line is not at its end");
  char accept[WS_ACCEPT_LEN + 1];
  ws_accept(r->key.p, r->key.n, accept);
  const char *a = strstr(out, "\r\nSec-WebSocket-Accept: ");
  if (!a || strncmp(a + 24, accept, WS_ACCEPT_LEN) != 0 || strncmp(a + 24 + WS_ACCEPT_LEN, "\r\n", 2) != 0)
    fail("a 101 answer without the key's 28-character accept value");
  if (proto.p) {
    char line[64];
    snprintf(line, sizeof line, "\r\nSec-WebSocket-Protocol: %.*s\r\n", (int)proto.n, proto.p);
    if (!strstr(out, line))
      fail("a 101 answer without the picked subprotocol");
  } else if (strstr(out, "Sec-WebSocket-Protocol")) {
    fail("a 101 answer with a subprotocol none was picked for");
  }
  if (deflate) {
    char line[WS_DEFLATE_ANSWER_MAX + 64];
    snprintf(line, sizeof line, "\r\nSec-WebSocket-Extensions: %s\r\n", answer);
    if (!strstr(out, line))
      fail("a 101 answer without the deflate answer");
  } else if (strstr(out, "Sec-WebSocket-Extensions")) {
    fail("a 101 answer with extensions none were accepted for");
  }

  /* What our server writes, our client must take. */
  struct ws_request back;
  const char *why = NULL;
  if (ws_request_parse(out, len, WS_HEAD_RESPONSE, &back) != 0)
    fail("our 101 answer does not parse as an answer");
  check_spans(&back, out, len);
  if (back.status != 101 || !ws_response_check(&back, r->key, &why))
    fail("our client refuses our server's 101 answer");
  if (proto.p ? !(back.protocol.n == proto.n && memcmp(back.protocol.p, proto.p, proto.n) == 0) : back.protocol.p != NULL)
    fail("our client reads another subprotocol from our 101 answer");
  struct ws_deflate_terms c = { .deflate_bits = -1 };
  if (deflate != (back.extensions.p != NULL))
    fail("our client reads other extensions from our 101 answer");
  if (deflate && (ws_deflate_response(back.extensions, &c, &why) != 1 || c.inflate_reset != t.deflate_reset ||
                  c.deflate_reset != t.inflate_reset))
    fail("our client reads other deflate terms from our 101 answer");
  ws_request_free(&back);
  free(out);
}

static void check_request(const char *head, size_t n) {
  struct ws_request r;
  int got = ws_request_parse(head, n, WS_HEAD_REQUEST, &r);
  if (got != 0 && got != 400)
    fail("ws_request_parse neither 0 nor 400");
  if (got == 0) {
    check_spans(&r, head, n);
    check_tokens(r.upgrade);
    check_tokens(r.connection);
    int status = ws_request_check(&r);
    if (status != 0 && status != 400 && status != 426)
      fail("ws_request_check neither 0, 400 nor 426");
    if (status != 400) {
      if (!r.get || !r.http11 || !r.host.p || !r.target.p || r.target.n == 0 || !is_key(r.key))
        fail("a handshake without GET, HTTP/1.1, a Host, a target or a key");
      if ((status == 0) != span_eq(r.version, "13"))
        fail("a version judged other than \"13\" is");
    }
    if (status == 0)
      check_switching(&r);
  }
  ws_request_free(&r);
  if (r.joined || r.joined_len || r.joined_cap)
    fail("ws_request_free left r.joined behind");
}

static void check_response(const char *head, size_t n) {
  struct ws_request r;
  int got = ws_request_parse(head, n, WS_HEAD_RESPONSE, &r);
  if (got != 0 && got != 400)
    fail("ws_request_parse of an answer neither 0 nor 400");
  if (got == 0) {
    check_spans(&r, head, n);
    check_tokens(r.upgrade);
    check_tokens(r.connection);
    const char *why = NULL;
    if (ws_response_check(&r, KEY, &why)) {
      if (r.status != 101 || !span_eq(r.accept, KEY_ACCEPT))
        fail("an answer taken without status 101 and the key's accept value");
    } else if (!why) {
      fail("an answer refused without a why");
    }
    if (r.extensions.p)
      check_extensions(r.extensions);
  }
  ws_request_free(&r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* The checks above trust ws_accept: hold it to RFC 6455 1.3's example. */
  char accept[WS_ACCEPT_LEN + 1];
  ws_accept(KEY.p, KEY.n, accept);
  if (strcmp(accept, KEY_ACCEPT) != 0)
    fail("ws_accept does not give RFC 6455's example accept value");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *head = (const char *)data;
  check_request(head, size);
  check_response(head, size);
  struct ws_span whole = { head, size };
  check_extensions(whole);
  check_tokens(whole);
  struct ws_span proto;
  if (ws_pick_protocol(whole, SUPPORTED, NSUPPORTED, &proto) && !has_token(whole, proto.p))
    fail("a subprotocol picked that the list does not hold");
  return 0;
}
