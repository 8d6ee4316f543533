/* RFC 6455's opening handshake as a server judges it, and the
 * permessage-deflate terms (RFC 7692) both sides agree on, without Lua or
 * sockets (ws_request.c), so fuzz_ws_handshake runs it on any bytes.
 *
 * A request comes either as raw bytes (a WebSocketServer's connection:
 * ws_request_parse, on llhttp) or as fields an HttpServer already parsed
 * (req:upgradeToWebSocket fills the spans itself); both are judged by
 * ws_request_check, so the two doors accept the same requests. */
#ifndef LUANET_WS_REQUEST_H
#define LUANET_WS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes owned by someone else; p NULL: absent. */
struct ws_span {
  const char *p;
  size_t n;
};

/* A handshake's head: a client's request or a server's answer, with the
 * fields either side judges. */
struct ws_request {
  bool get;                  /* a request's method is GET */
  bool http11;               /* HTTP/1.1 */
  int status;                /* an answer's status code */
  struct ws_span target;     /* a request's target; an answer's reason phrase */
  struct ws_span host, origin, key, version, accept;
  struct ws_span upgrade, connection, protocol, extensions;   /* comma lists */
  char *joined;              /* repeated fields' values, joined with ", " (ws_request_parse) */
  size_t joined_len, joined_cap;
};

#define WS_MAX_HEAD 16384    /* bytes of a handshake's head; past it: 431 */

enum ws_head_kind { WS_HEAD_REQUEST, WS_HEAD_RESPONSE };

/* Parses a whole head (first line to the empty line, n bytes). 0, or 400
 * for a head no peer may send (a malformed line, a second Host). The
 * spans point into head and r->joined: ws_request_free releases the
 * latter. */
int ws_request_parse(const char *head, size_t n, enum ws_head_kind kind, struct ws_request *r);
void ws_request_free(struct ws_request *r);

/* 0 for a valid WebSocket handshake; 400 when it is not one; 426 when it
 * is one of a version we do not speak (answered with
 * "Sec-WebSocket-Version: 13"). */
int ws_request_check(const struct ws_request *r);

/* The client's judgement of the server's answer to our `key` (RFC 6455
 * 4.1): true, or false and *why (Qt's words; for a status other than 101
 * the caller says which). */
bool ws_response_check(const struct ws_request *r, struct ws_span key, const char **why);

/* Whether the comma list holds `token`, in any case. */
bool ws_has_token(struct ws_span list, const char *token);

/* The first of the offered subprotocols that is one of the n supported
 * ones, into *out; false when none is. */
bool ws_pick_protocol(struct ws_span offered, const struct ws_span *supported, size_t n, struct ws_span *out);

/* What permessage-deflate's parameters make of one connection's zlib
 * streams (ws_deflate.h). */
struct ws_deflate_terms {
  bool inflate_reset;        /* the peer compresses without context takeover */
  bool deflate_reset;        /* so do we */
  int deflate_bits;          /* our window: 9..15 */
};

#define WS_DEFLATE_ANSWER_MAX 128
/* What a client offers. */
#define WS_DEFLATE_OFFER "permessage-deflate; client_max_window_bits"

/* The server's side: the first offer in the client's field it can take.
 * Writes the field to answer with into answer (NUL-terminated) and the
 * terms; false when it takes none. An offer it cannot read is declined
 * alone: the next may still be taken. */
bool ws_deflate_accept(struct ws_span offers, struct ws_deflate_terms *t, char answer[WS_DEFLATE_ANSWER_MAX]);

/* The client's side, the server's answer to WS_DEFLATE_OFFER: 1 with the
 * terms; -1 with *why when the answer is not one we may accept (the
 * connection must fail). */
int ws_deflate_response(struct ws_span value, struct ws_deflate_terms *t, const char **why);

/* The server's 101 answer to a valid request, with the subprotocol and
 * the extensions field agreed (p NULL / NULL: none). As snprintf: returns
 * its length, and writes it (NUL-terminated) only if it fits in cap. */
size_t ws_switching(char *out, size_t cap, struct ws_span key, struct ws_span protocol, const char *extensions);

#endif
