/* TcpSocket's inside, for its two files: tcp_socket.c (plain sockets,
 * and the TLS session's place in reading and writing) and
 * tcp_socket_tls.c (QSslSocket's methods). Nothing else includes this. */
#ifndef LUANET_TCP_SOCKET_IMPL_H
#define LUANET_TCP_SOCKET_IMPL_H

#include "buffer.h"
#include "object.h"
#include "runtime.h"
#include "net.h"
#include "socket_error.h"
#include "tcp_socket.h"
#include "tls.h"

#include <stdint.h>
#include <sys/types.h>

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

struct tcp_socket {
  struct lnet_object obj;   /* first: its class */
  int fd;
  struct lnet_runtime *rt;
  ev_io rio, wio;
  int ref;                  /* anchor while the fd is open */
  int busy_ref;             /* anchor while a readyRead slot is suspended */
  uint8_t state;
  uint8_t error;
  bool close_when_flushed;  /* disconnectFromHost waits for the queue */
  bool written_observed;    /* a script touched bytesWritten */
  bool read_pending;        /* data came while readyRead slots were busy */
  bool weak;                /* unref(): reading alone does not keep the loop running */
  bool paused_by_writes;    /* reading stopped: more than write_high_water queued */
  bool rio_unrefd;          /* rio is active and out of the loop's count */
  uint16_t read_busy;       /* readyRead slots running or suspended */
  const char *error_string;
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
  struct socket_tls *tls;   /* encryption (tcp_socket_tls.c); NULL until used */
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

/* Encryption: QSslSocket's state (tcp_socket_tls.c). */
enum tls_phase { TLS_OFF, TLS_PENDING, TLS_HANDSHAKING, TLS_ENCRYPTED };
enum ssl_mode { SSL_MODE_UNENCRYPTED, SSL_MODE_CLIENT, SSL_MODE_SERVER };

struct socket_tls {
  struct tcp_socket *s;
  struct tls *session;
  struct tls_context *ctx;  /* setSslConfiguration's, a server's; NULL: made from the fields below */
  char *ca_file, *cert_file, *key_file, *verify_name;
  uint8_t phase;            /* enum tls_phase */
  uint8_t mode;             /* enum ssl_mode */
  uint8_t verify;           /* enum tls_verify */
  bool ignore_errors;       /* ignoreSslErrors() */
  bool read_wants_write;    /* SSL_read needs the fd writable */
  bool write_wants_read;    /* SSL_write needs the fd readable */
  int nerrors;              /* sslHandshakeErrors() of the last handshake */
  char *error_text;         /* errorString() of a TLS failure: ours, as the session goes */
  ev_timer timer;           /* the handshake's time-out */
};

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

/* tcp_socket_tls.c, for tcp_socket.c */
extern const luaL_Reg tcp_socket_tls_methods[];
/* Starts the handshake of s (connected) in its mode; false when it could
 * not start (the error is emitted, the connection closed). */
bool tcp_tls_begin(struct tcp_socket *s, lua_State *L, int obj);
/* The fd is ready while a handshake runs. */
void tcp_tls_step(struct tcp_socket *s, lua_State *L, int obj);
/* recv() for an encrypted socket: > 0, 0 at the end, -1 with errno
 * (EAGAIN: nothing now; EPROTO: a TLS error, its text in *why). */
ssize_t tcp_tls_recv(struct tcp_socket *s, char *dst, size_t space, const char **why);
/* send() for an encrypted socket: as tls_write, -1 with errno. */
ssize_t tcp_tls_send(struct tcp_socket *s, const char *p, size_t n);
void tcp_tls_close(struct tcp_socket *s);
void tcp_tls_free(struct tcp_socket *s);

#endif
