/* TcpSocket's inside, for its three files: tcp_socket.c (the socket, its
 * queue and the plain transport), tcp_socket_tls.c (QSslSocket's methods
 * and the TLS transport) and tcp_socket_fd.c (the descriptor transport,
 * for what setSocketDescriptor adopts that is not a socket). Nothing else
 * includes this. */
#ifndef LUANET_TCP_SOCKET_IMPL_H
#define LUANET_TCP_SOCKET_IMPL_H

#include "abstract_socket.h"
#include "buffer.h"
#include "object.h"
#include "runtime.h"
#include "net.h"
#include "socket_error.h"
#include "tcp_socket.h"
#include "wait.h"

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define WRITE_BYTES_PER_EVENT (4u << 20)
#define WRITE_CHUNK_MIN 16384
/* A queue that grows past this gets chunks of this size, mmap'd: a peer
 * that stops reading can make it hundreds of MB, and malloc's heap would
 * keep that memory after the connection ends (munmap gives it back). */
#define WRITE_CHUNK_BIG ((size_t)1 << 20)
#define DEFAULT_WRITE_LIMIT ((size_t)256 << 20)
#define WAIT_DEFAULT_MS 30000


enum {
  SIG_HOST_FOUND = 1, SIG_CONNECTED, SIG_DISCONNECTED, SIG_READY_READ,
  SIG_BYTES_WRITTEN, SIG_STATE_CHANGED, SIG_ERROR_OCCURRED, SIG_ABOUT_TO_CLOSE,
  SIG_ENCRYPTED, SIG_SSL_ERRORS,
};

enum wait_kind { WAIT_CONNECTED, WAIT_READY_READ, WAIT_BYTES_WRITTEN, WAIT_DISCONNECTED, WAIT_ENCRYPTED };

/* A queued write: bytes of our own, or a file range for sendfile. */
struct wchunk {
  struct wchunk *next;
  int file_fd;              /* -1 for bytes */
  bool mapped;              /* mmap'd (a big chunk): munmap gives it back */
  off_t file_off;
  size_t off, len, cap;     /* bytes: data[off..len); file: len bytes left */
  char data[];
};

struct socket_transport;

struct tcp_socket {
  struct abstract_socket base;   /* first: fd, state, error, anchors */
  const struct socket_transport *xprt;   /* how bytes cross fd: plain or TLS */
  ev_io rio, wio;
  bool close_when_flushed;  /* disconnectFromHost waits for the queue */
  bool written_observed;    /* a script touched bytesWritten */
  bool read_pending;        /* data came while readyRead slots were busy */
  bool weak;                /* unref(): reading alone does not keep the loop running */
  bool paused_by_writes;    /* reading stopped: more than write_high_water queued */
  bool rio_unrefd;          /* rio is active and out of the loop's count */
  bool restore_blocking;    /* setSocketDescriptor made a blocking fd non-blocking: undone at close */
  bool accepted;            /* a peer's connection to a server: counted in rt->accepted_sockets */
  struct buffer rb;
  struct wchunk *wq_head, *wq_tail;
  size_t wq_bytes;
  size_t read_limit;        /* 0: unlimited */
  size_t write_limit;
  size_t write_high_water;  /* setWriteHighWater: 0, no back-pressure on reading */
  float send_timeout;       /* seconds a queue may wait with nothing sent; 0: none */
  size_t sent_unreported;   /* sent by write() at once, for waitForBytesWritten */
  size_t charged;           /* buffer bytes counted in the service's memory_limit */
  struct socket_aux *aux;   /* connecting and waiting; NULL until needed */
  struct socket_reader *reader;   /* C code that reads in place of readyRead */
  struct socket_tls *tls;   /* encryption settings and session (tcp_socket_tls.c); NULL until used */
};

struct socket_aux {
  struct tcp_socket *s;
  ev_timer defer;           /* reports a connect failure from the loop */
  int defer_errno;          /* -1: host not found */
  uint8_t wait_kind;
  struct lnet_wait wait;
  struct net_addr *targets; /* addresses to try, in order */
  int ntargets, next_target;
  char *peer_name;
  int port;                 /* the port connectToHost was given */
  int query_ref;            /* the name lookup in flight, anchored */
  ev_timer send_timer;      /* send_timeout: fires while bytes wait to leave */
  uint64_t sent, sent_mark; /* bytes the queue has sent; at the timer's last look */
};

/* How a socket's bytes cross its fd: in the clear (tcp_socket.c) or
 * through a TLS session (tcp_socket_tls.c), as Redis's ConnectionType and
 * HAProxy's xprt_ops. The socket's own code calls through s->xprt and
 * never asks whether it is encrypted; the TLS code switches s->xprt when
 * encryption starts and ends. */
struct socket_transport {
  /* The fd is readable / writable: true when the transport used the event
   * itself (a handshake step), so the socket does nothing more with it. */
  bool (*readable)(struct tcp_socket *s, lua_State *L, int obj);
  bool (*writable)(struct tcp_socket *s, lua_State *L, int obj);
  /* connectToHost's connection is up (connectToHostEncrypted's handshake
   * starts here). */
  void (*connected)(struct tcp_socket *s, lua_State *L, int obj);
  /* recv(): > 0, 0 at the end, -1 with errno (EAGAIN: nothing now; the
   * transport's own failure sets *why to its text). */
  ssize_t (*read)(struct tcp_socket *s, char *dst, size_t space, const char **why);
  /* send() from the write queue: -1 with errno (EAGAIN: not now). */
  ssize_t (*write)(struct tcp_socket *s, const char *p, size_t n);
  /* write()'s first try, straight from the caller's bytes, before any is
   * queued (a transport that queues whole writes has none). */
  ssize_t (*writev)(struct tcp_socket *s, const struct iovec *iov, int n);
  /* sendfile(): n bytes of fd from *off, which moves by what was sent. */
  ssize_t (*write_file)(struct tcp_socket *s, int fd, off_t *off, size_t n);
  /* The fd is about to close: say goodbye (TLS's close_notify). */
  void (*shutdown)(struct tcp_socket *s);
  /* A read gets at least this much room: a TLS record (16 KiB at most) is
   * read whole, or its rest would wait in OpenSSL where no watcher sees it. */
  size_t read_min;
  /* A write goes whole into the queue before any of it is sent: a TLS
   * write that would block must be retried with the same bytes, and a
   * small write then makes one record. */
  bool queue_whole;
};

extern const struct socket_transport tcp_plain_transport;
extern const struct socket_transport tcp_fd_transport;

/* tcp_socket.c, for tcp_socket_tls.c */
struct tcp_socket *tcp_socket_check(lua_State *L, int idx);
void tcp_socket_emit_error(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text);
void tcp_socket_fail_close(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text);
void tcp_socket_wake(struct tcp_socket *s, enum wait_kind kind, bool result);
int tcp_socket_wait(lua_State *L, struct tcp_socket *s, enum wait_kind kind);
void tcp_socket_start_writing(struct tcp_socket *s);
/* The read watcher goes on and off through these two only: they keep the
 * loop's count right for a socket that unref() made weak. */
void tcp_socket_read_start(struct tcp_socket *s);
void tcp_socket_read_stop(struct tcp_socket *s);
int tcp_socket_connect_lua(lua_State *L);

/* tcp_socket_fd.c, for tcp_socket.c */
/* Makes fd fit to be s's connection: non-blocking, with the transport its
 * kind needs. false (errno set) when fd is no open descriptor. */
bool tcp_fd_adopt(struct tcp_socket *s, int fd);
/* s's fd is about to close: gives an adopted descriptor back as it came
 * (blocking again) and s the plain transport. Idempotent. */
void tcp_fd_restore(struct tcp_socket *s);

/* tcp_socket_tls.c, for tcp_socket.c */
extern const luaL_Reg tcp_socket_tls_methods[];
/* Frees s's TLS settings and session (from __gc); nothing when it has none. */
void tcp_tls_free(struct tcp_socket *s);

#endif
