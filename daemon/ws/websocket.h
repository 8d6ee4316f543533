/* net.WebSocket's C half (websocket.c): the class table for luanet.c, and
 * what the handshakes (ws_handshake.c, a WebSocketServer's; lua/luanet/ws/,
 * a client's and an HttpServer's upgrade) use to hand over a socket whose
 * handshake is done: from there its frames are read and written in C. */
#ifndef LUANET_WEBSOCKET_H
#define LUANET_WEBSOCKET_H

#include "ws_request.h"

#include <lua.h>
#include <stdbool.h>

/* What the handshake said, for requestUrl(), origin() and subprotocol(). */
struct websocket_info {
  struct ws_span url, origin, protocol;
};

/* [-0, +1, m] A new, unconnected WebSocket. */
void websocket_new(lua_State *L);
/* [-0, +0, e] The WebSocket at obj takes the TcpSocket at sock_obj, whose
 * handshake is done, as a server's or a client's end, with
 * permessage-deflate's terms (NULL: none): ConnectedState and `connected`.
 * Frames that came with the handshake are read from the loop, after the
 * caller's slots are connected. false when the socket has closed. */
bool websocket_attach(lua_State *L, int obj, int sock_obj, bool server, const struct ws_deflate_terms *terms,
                      const struct websocket_info *info);
/* [-0, +0, m] Adds the handshakes' functions to the class table on top
 * (ws_handshake.c). */
void ws_handshake_register(lua_State *L);

/* [-0, +1, m] The class table (net.WebSocket). */
int luaopen_luanet_websocket(lua_State *L);

#endif
