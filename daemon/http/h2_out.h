/* Frames out of an nghttp2 session, the server's (h2_session.c) and the
 * client's (h2_client.c) alike: nghttp2_session_mem_send hands one frame
 * at a time and reuses its memory for the next, so the frames are copied
 * into a buffer and given to the socket together, one write per turn. */
#ifndef LUANET_H2_OUT_H
#define LUANET_H2_OUT_H

#include <lua.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>

struct buffer;
struct tcp_socket;

/* What out holds goes to the socket at obj (one write, the rest queued);
 * false when the socket refused it. out is empty after. */
bool h2_out_send(struct buffer *out, struct tcp_socket *s, lua_State *L, int obj);
/* Every frame the session has ready, gathered in out and sent in writes
 * of up to 64 KiB. false when nghttp2 failed (the connection must go).
 * A DATA frame with NGHTTP2_DATA_FLAG_NO_COPY reaches the session's
 * send_data callback meanwhile, which may call h2_out_send itself. */
bool h2_out_flush(nghttp2_session *ng, struct buffer *out, struct tcp_socket *s, lua_State *L, int obj);

#endif
