/* RFC 6455 frames without Lua or sockets (ws_frame.c): a frame's header
 * read from bytes that may not all have come, masking, close codes, and
 * the header of a frame we send. The UTF-8 check that text messages need
 * is daemon/net/utf8.h's, shared with JSON. */
#ifndef LUANET_WS_FRAME_H
#define LUANET_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
  WS_OP_CONTINUATION = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
  WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa,
};

#define WS_RSV1 0x4          /* permessage-deflate: the message is compressed */
#define WS_CONTROL_MAX 125   /* a control frame's payload */
#define WS_HEADER_MAX 14     /* 2 + 8 (length) + 4 (mask) */

struct ws_frame_header {
  bool fin;
  uint8_t rsv;               /* RSV1..RSV3 as WS_RSV1, 0x2, 0x1 */
  uint8_t opcode;
  bool masked;
  uint8_t mask[4];
  uint64_t length;           /* of the payload */
  size_t size;               /* of the header itself */
};

enum ws_parse { WS_PARSE_ERROR = -1, WS_PARSE_MORE = 0, WS_PARSE_DONE = 1 };

/* Reads the header at p[0..n). DONE with *h filled; MORE when p holds
 * only part of it; ERROR with *why when no peer may send it (a reserved
 * opcode, a control frame that is fragmented or longer than 125 bytes, a
 * 64-bit length with its top bit set): the connection closes with 1002.
 * Reserved bits and masking are the caller's to judge, as they depend on
 * what was negotiated and on which side we are. */
enum ws_parse ws_frame_parse_header(const uint8_t *p, size_t n, struct ws_frame_header *h, const char **why);

/* Writes a header into out (WS_HEADER_MAX bytes) in the minimal length
 * encoding; mask NULL: unmasked. Returns its size. */
size_t ws_frame_encode_header(uint8_t *out, bool fin, uint8_t rsv, uint8_t opcode, uint64_t length,
                              const uint8_t *mask);

/* XORs p[0..n) with mask, starting at byte `offset` of the payload (so a
 * payload may be unmasked piece by piece as it arrives). */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Whether `code` may be sent in a close frame (RFC 6455 7.4.1; 7.4.2 keeps
 * 1005, 1006 and 1015 for reporting, never for the wire). */
bool ws_close_code_valid(unsigned code);

#endif
