/* net.TcpSocket: QTcpSocket on a non-blocking fd and two ev_io watchers. */
#ifndef LUANET_TCP_SOCKET_H
#define LUANET_TCP_SOCKET_H

#include "runtime.h"

#include <sys/types.h>
#include <sys/uio.h>

struct buffer;
struct tcp_socket;

/* [-0, +1, m] A connected TcpSocket for an accepted fd, already reading. */
void tcp_socket_push_accepted(lua_State *L, struct lnet_runtime *rt, int fd);
/* Closes the socket at idx without signals (its server is going away). */
void tcp_socket_release(lua_State *L, int idx);
int luaopen_luanet_tcp_socket(lua_State *L);

/* ---- for C code that drives a socket itself (the HTTP server) ---- */

/* A reader takes readyRead's place: it is told of new bytes in the read
 * buffer and parses them there. It embeds a struct socket_reader, whose
 * ops are a shared constant table. */
struct socket_reader;
struct socket_reader_ops {
  /* New bytes are in tcp_socket_input(); obj is the socket on L's stack. */
  void (*readable)(struct socket_reader *r, lua_State *L, int obj);
  /* The fd closed, by either side. Called with no Lua; may call nothing
   * of the socket's. */
  void (*closed)(struct socket_reader *r);
  /* The socket is being collected: the reader's last call. */
  void (*release)(struct socket_reader *r);
};
struct socket_reader {
  const struct socket_reader_ops *ops;
};

/* The TcpSocket at idx, or NULL. */
struct tcp_socket *tcp_socket_test(lua_State *L, int idx);
/* [-0, +1, -] Pushes the socket while it is open (anchored); nil after. */
int tcp_socket_push(lua_State *L, struct tcp_socket *s);
void tcp_socket_set_reader(struct tcp_socket *s, struct socket_reader *r);
/* The reader installed, or NULL (a new reader that takes over releases it). */
struct socket_reader *tcp_socket_reader(const struct tcp_socket *s);
/* The read buffer: the reader consumes what it has parsed. */
struct buffer *tcp_socket_input(struct tcp_socket *s);
int tcp_socket_fd(const struct tcp_socket *s);
bool tcp_socket_is_open(const struct tcp_socket *s);
size_t tcp_socket_queued(const struct tcp_socket *s);
/* write() for C: iov's bytes go out at once as far as the kernel takes
 * them (one writev), the rest is queued. false (with errorOccurred
 * emitted on obj) when refused; then nothing was sent. */
bool tcp_socket_send(struct tcp_socket *s, lua_State *L, int obj, const struct iovec *iov, int n);
/* sendFile() for C: the queue takes fd (closing it when done). */
bool tcp_socket_send_file(struct tcp_socket *s, lua_State *L, int obj, int fd, off_t offset, size_t length);
/* disconnectFromHost() on the socket at obj: closes once the queue is sent. */
void tcp_socket_disconnect(lua_State *L, int obj);
void tcp_socket_pause_reading(struct tcp_socket *s);
struct tls_context;
/* A server's accepted socket (at obj) starts its TLS handshake with c. */
void tcp_socket_accept_encrypted(lua_State *L, int obj, struct tls_context *c);
void tcp_socket_resume_reading(struct tcp_socket *s);
/* A peer that takes none of the queued bytes for `seconds` is cut off
 * (reset, its queue freed, a log line), as nginx's send_timeout; 0: off.
 * Bytes that leave count as progress, more bytes queued do not. */
void tcp_socket_set_send_timeout(struct tcp_socket *s, double seconds);
/* setWriteHighWater() for C: past `bytes` queued the socket reads no more
 * from its peer, and reads again below half (0: off). */
void tcp_socket_set_write_high_water(struct tcp_socket *s, size_t bytes);
/* unref() and ref() for C: a weak socket's reading keeps no loop running. */
void tcp_socket_set_weak(struct tcp_socket *s, bool weak);

#endif
