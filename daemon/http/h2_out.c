/* Frames out of an nghttp2 session (h2_out.h). */
#include "h2_out.h"
#include "buffer.h"
#include "tcp_socket.h"

/* Past this, the gathered frames go to the socket before more are made. */
#define OUT_CHUNK (64 * 1024)

bool h2_out_send(struct buffer *out, struct tcp_socket *s, lua_State *L, int obj) {
  if (out->len == 0)
    return true;
  struct iovec iov = { (void *)buffer_head(out), out->len };
  bool ok = tcp_socket_send(s, L, obj, &iov, 1);
  buffer_consume(out, out->len);
  return ok;
}

bool h2_out_flush(nghttp2_session *ng, struct buffer *out, struct tcp_socket *s, lua_State *L, int obj) {
  bool ok = true;
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(ng, &data);
    if (n < 0)
      ok = false;
    if (n <= 0)
      break;
    if (!buffer_append(out, (const char *)data, (size_t)n)) {
      ok = false;
      break;
    }
    if (out->len >= OUT_CHUNK)
      h2_out_send(out, s, L, obj);
  }
  h2_out_send(out, s, L, obj);
  return ok;
}
