/* net.TcpSocket: QTcpSocket on a non-blocking fd.
 *
 * Reading. One recv per readiness, then readyRead once. While the socket's
 * read buffer is empty it borrows the loop's scratch area, so the common
 * case — recv, emit, the slot reads everything — allocates nothing and an
 * idle connection holds no buffer; what a slot leaves unread is copied into
 * a block of the socket's own after the emit. readyRead is not emitted again
 * while one of its slots runs or is suspended (as in Qt): what arrives
 * meanwhile waits in the buffer and is reported when the last slot ends.
 * setReadBufferSize(n) stops the read watcher while n bytes wait.
 *
 * Writing. write() sends at once when nothing is queued and queues only the
 * rest, so an echo costs one recv and one send. Queued data (and sendFile
 * ranges) leave from the write watcher, at most WRITE_BYTES_PER_EVENT per
 * turn so that one fast peer cannot starve the others; bytesWritten reports
 * each turn. While bytesWritten has a slot, writes always go through the
 * queue, because Qt reports written bytes from the loop, never from write().
 * The queue is capped (setWriteBufferLimit): past it write() fails with
 * SocketResourceError instead of growing without end.
 *
 * Memory. An accepted connection that only reads and writes holds this
 * struct and nothing else; what connecting and waiting need (the addresses
 * to try, a timer, a waiting task) lives in a `struct socket_aux` made on
 * first use, so that 5,000 idle connections cost about 800 bytes each.
 *
 * Lifetime. An open socket is anchored in the registry, so an accepted
 * socket that no variable holds stays open until a side closes it. A close
 * emits first and unanchors last, so the object is alive for its slots.
 * Errors are Qt's: errorOccurred, error(), errorString(), false returns. */
#include "tcp_socket_impl.h"
#include "budget.h"
#include "buffer.h"
#include "dns.h"
#include "host_address.h"
#include "net.h"
#include "socket_error.h"
#include "object.h"
#include "runtime.h"
#include "task.h"
#include "signals.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/*** net.TcpSocket: a TCP connection, as Qt's QTcpSocket (and QSslSocket
 * for TLS). Reads are buffered: readyRead says that data came, and
 * read, readLine or readAll take it. Writes never block: write sends what
 * the kernel takes and queues the rest. An open socket keeps itself
 * alive until it closes, so an accepted socket that no variable holds
 * still serves. Failures are Qt's: the method returns false,
 * errorOccurred is emitted, and error() and errorString() say what it
 * was. AbstractSocket's methods (state, error, errorString, isValid) and
 * enums (SocketState, SocketError, SocketOption) are this class's too.
 * A to-be-closed variable (Lua's close attribute) closes it without a signal.
 * @classmod TcpSocket
 * @qt QTcpSocket
 * @see AbstractSocket
 * @usage local sock = net.TcpSocket()
 * sock.connected:connect(function() sock:write("hello\n") end)
 * sock.readyRead:connect(function()
 *   while sock:canReadLine() do print(sock:readLine()) end
 * end)
 * sock.errorOccurred:connect(function(err) print(err, sock:errorString()) end)
 * sock:connectToHost("127.0.0.1", 7000)
 */

/*** Emitted when connectToHost's name is resolved, before connecting.
 * @signal hostFound
 * @qt QAbstractSocket::hostFound
 */
/*** Emitted when the connection is made (ConnectedState).
 * @signal connected
 * @qt QAbstractSocket::connected
 */
/*** Emitted when the connection has closed (UnconnectedState), whichever
 * side closed it.
 * @signal disconnected
 * @qt QAbstractSocket::disconnected
 */
/*** Emitted when data has come (once per arrival, not per byte). It is not
 * emitted again while one of its slots runs or waits: what arrives
 * meanwhile is reported when the last slot ends.
 * @signal readyRead
 * @qt QIODevice::readyRead
 */
/*** Emitted when queued data has left for the peer.
 * @signal bytesWritten
 * @tparam integer bytes how many, since the last bytesWritten
 * @qt QIODevice::bytesWritten
 */
/*** Emitted when the state changes.
 * @signal stateChanged
 * @tparam string state the new SocketState
 * @qt QAbstractSocket::stateChanged
 */
/*** Emitted when an error happens; error() and errorString() say it too.
 * @signal errorOccurred
 * @tparam string error the SocketError
 * @qt QAbstractSocket::errorOccurred
 */
/*** Emitted by close and abort before the socket closes.
 * @signal aboutToClose
 * @qt QIODevice::aboutToClose
 */
/*** Emitted when the TLS handshake has succeeded; what is read and
 * written from then on is encrypted.
 * @signal encrypted
 * @qt QSslSocket::encrypted
 */
/*** Emitted when the TLS handshake found errors in the peer's
 * certificate. A slot that calls ignoreSslErrors lets the connection go
 * on; else it fails with SslHandshakeFailedError.
 * @signal sslErrors
 * @tparam {table,...} errors each { error = name, errorString = text, depth = n } (depth 0: the peer's own certificate)
 * @qt QSslSocket::sslErrors
 */
static const struct lnet_class tcp_socket_class;

static const char *const signal_names[] = {
  "hostFound", "connected", "disconnected", "readyRead", "bytesWritten",
  "stateChanged", "errorOccurred", "aboutToClose", "encrypted", "sslErrors", NULL,
};

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void wio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void wait_timed_out(struct lnet_wait *w);

struct tcp_socket *tcp_socket_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &tcp_socket_class);
}

/* ---- the plain transport: bytes in the clear ---- */

static ssize_t plain_read(struct tcp_socket *s, char *dst, size_t space, const char **why) {
  (void)why;
  return recv(s->base.fd, dst, space, 0);
}

static ssize_t plain_write(struct tcp_socket *s, const char *p, size_t n) {
  return send(s->base.fd, p, n, MSG_NOSIGNAL);
}

static ssize_t plain_writev(struct tcp_socket *s, const struct iovec *iov, int n) {
  if (n == 1)
    return send(s->base.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  return sendmsg(s->base.fd, &(struct msghdr){ .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n }, MSG_NOSIGNAL);
}

static ssize_t plain_write_file(struct tcp_socket *s, int fd, off_t *off, size_t n) {
  return sendfile(s->base.fd, fd, off, n);
}

static void plain_shutdown(struct tcp_socket *s) {
  (void)s;   /* TCP's FIN is close()'s */
}

const struct socket_transport tcp_plain_transport = {
  .read = plain_read, .write = plain_write, .writev = plain_writev, .write_file = plain_write_file,
  .shutdown = plain_shutdown,
};

static void tcp_socket_init(struct tcp_socket *s, struct lnet_runtime *rt) {
  abstract_socket_init(&s->base, &tcp_socket_class, rt);
  s->xprt = &tcp_plain_transport;
  s->write_limit = DEFAULT_WRITE_LIMIT;
  ev_init(&s->rio, rio_cb);
  ev_init(&s->wio, wio_cb);
}

/* The socket's aux part, made on first use; NULL when out of memory. */
/* A socket closed its fd: below max_connections, servers accept again,
 * through the hook TcpServer installs (it includes us, not the reverse). */
static void socket_closed(struct tcp_socket *s) {
  struct lnet_runtime *rt = s->base.rt;
  rt->open_sockets--;
  if (s->accepted) {
    s->accepted = false;
    rt->accepted_sockets--;
  }
  if (rt->max_connections && rt->open_sockets == rt->max_connections - 1 && rt->capacity_changed)
    rt->capacity_changed(rt);
}

static void send_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct socket_aux *aux_of(struct tcp_socket *s) {
  if (!s->aux && (s->aux = calloc(1, sizeof *s->aux))) {
    s->aux->s = s;
    s->aux->query_ref = LUA_NOREF;
    ev_init(&s->aux->defer, defer_cb);
    ev_init(&s->aux->send_timer, send_timer_cb);
    lnet_wait_init(&s->aux->wait, wait_timed_out);
  }
  return s->aux;
}

static void aux_free(struct tcp_socket *s) {
  if (!s->aux)
    return;
  if (s->base.rt->loop) {
    ev_timer_stop(s->base.rt->loop, &s->aux->defer);
    ev_timer_stop(s->base.rt->loop, &s->aux->wait.timer);
    ev_timer_stop(s->base.rt->loop, &s->aux->send_timer);
  }
  free(s->aux->targets);
  free(s->aux->peer_name);
  free(s->aux);
  s->aux = NULL;
}

/* ---- signals and state ---- */

/* Pushes the socket object; valid while it is anchored. */
static int push_self(lua_State *L, struct tcp_socket *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->base.ref);
  return lua_gettop(L);
}

static void emit0(struct tcp_socket *s, lua_State *L, int obj, int sig) {
  lnet_emit(s->base.rt, L, obj, sig, 0, NULL, NULL);
}

static void set_state(struct tcp_socket *s, lua_State *L, int obj, enum socket_state st) {
  abstract_socket_set_state(&s->base, L, obj, st, SIG_STATE_CHANGED);
}

void tcp_socket_emit_error(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e,
                           const char *text) {
  abstract_socket_emit_error(&s->base, L, obj, e, text, SIG_ERROR_OCCURRED);
}

void tcp_socket_wake(struct tcp_socket *s, enum wait_kind kind, bool result) {
  struct socket_aux *a = s->aux;
  if (a && a->wait.active && a->wait_kind == kind)
    lnet_wait_finish(s->base.rt, &a->wait, result);
}

/* The connection is gone: only waitForDisconnected succeeds. */
static void wake_all(struct tcp_socket *s) {
  struct socket_aux *a = s->aux;
  if (a && a->wait.active)
    lnet_wait_finish(s->base.rt, &a->wait, a->wait_kind == WAIT_DISCONNECTED);
}

/* ---- the service's memory_limit ---- */

/* The buffers' bytes count against the state's memory_limit (the borrowed
 * scratch area is the runtime's, not this socket's). */
static void charge_buffers(struct tcp_socket *s) {
  struct budget *b = s->base.rt->budget;
  if (!b)
    return;
  size_t now = s->base.fd >= 0 ? (s->rb.borrowed ? 0 : s->rb.cap) + s->wq_bytes : 0;
  budget_charge(b, (long long)now - (long long)s->charged);
  s->charged = now;
}

/* ---- closing ---- */

static void wchunk_free(struct wchunk *c);

static void write_queue_free(struct tcp_socket *s) {
  struct wchunk *c = s->wq_head;
  while (c) {
    struct wchunk *next = c->next;
    if (c->file_fd >= 0)
      close(c->file_fd);
    wchunk_free(c);
    c = next;
  }
  s->wq_head = s->wq_tail = NULL;
  s->wq_bytes = 0;
}

/* A name lookup in flight ends unheard when the socket stops connecting. */
static void abort_lookup(struct tcp_socket *s) {
  struct socket_aux *a = s->aux;
  if (!a || a->query_ref == LUA_NOREF)
    return;
  lua_State *L = s->base.rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->query_ref);
  dns_abort(luaL_checkudata(L, -1, LNET_DNSQUERY));
  lua_pop(L, 1);
  lnet_unanchor(L, &a->query_ref);
}

static void free_targets(struct tcp_socket *s) {
  if (!s->aux)
    return;
  free(s->aux->targets);
  s->aux->targets = NULL;
  s->aux->ntargets = s->aux->next_target = 0;
}

/* Stops the watchers and closes the fd; emits nothing. Idempotent. */
static void close_fd(struct tcp_socket *s) {
  struct ev_loop *loop = s->base.rt->loop;
  if (loop) {
    tcp_socket_read_stop(s);
    ev_io_stop(loop, &s->wio);
    if (s->aux) {
      ev_timer_stop(loop, &s->aux->defer);
      ev_timer_stop(loop, &s->aux->send_timer);
    }
  }
  bool was_open = s->base.fd >= 0;
  s->xprt->shutdown(s);   /* while the fd is there */
  tcp_fd_restore(s);
  if (was_open) {
    close(s->base.fd);
    s->base.fd = -1;
    socket_closed(s);
  }
  write_queue_free(s);
  free_targets(s);
  charge_buffers(s);
  abort_lookup(s);
  s->close_when_flushed = false;
  if (was_open && s->reader)
    s->reader->ops->closed(s->reader);
}

/* The end of a connection, with Qt's signals: stateChanged(Unconnected),
 * then disconnected when it had been connected. Waiters are released. */
static void finish_close(struct tcp_socket *s, lua_State *L, int obj) {
  bool was_connected = s->base.state == ST_CONNECTED || s->base.state == ST_CLOSING;
  close_fd(s);
  set_state(s, L, obj, ST_UNCONNECTED);
  if (was_connected)
    emit0(s, L, obj, SIG_DISCONNECTED);
  if (s->base.fd >= 0)   /* a slot connected it again */
    return;
  /* Release first, wake last: a woken task runs at once, and finds the
   * object already as collectable as it will be (obj holds it until we
   * return). */
  lnet_unanchor(L, &s->base.ref);
  wake_all(s);
}

/* The end of a connection on an error: errorOccurred, ClosingState, then
 * the close. With flush_first (the peer only half-closed), what is still
 * queued for it goes out first, as disconnectFromHost would send it. */
static void end_connection(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text,
                           bool flush_first) {
  tcp_socket_read_stop(s);
  ev_io_stop(s->base.rt->loop, &s->wio);
  tcp_socket_emit_error(s, L, obj, e, text);
  if (s->base.fd < 0)
    return;
  set_state(s, L, obj, ST_CLOSING);
  if (flush_first && s->wq_head && s->base.fd >= 0) {
    s->close_when_flushed = true;
    tcp_socket_start_writing(s);
    return;
  }
  finish_close(s, L, obj);
}

/* The end of a stream that cannot go on whole (bytes that could not be
 * held or queued, a peer that takes nothing): errorOccurred(e), what is queued is
 * dropped, and a reset (SO_LINGER 0) tells the peer that this is a
 * failure, not the clean end of a shorter stream. */
static void cut_connection(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text) {
  tcp_socket_emit_error(s, L, obj, e, text);
  if (s->base.fd < 0)
    return;   /* a slot closed it */
  struct linger reset = { 1, 0 };
  setsockopt(s->base.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  write_queue_free(s);
  if (s->base.state == ST_CONNECTED)
    s->base.state = ST_CLOSING;   /* as abort: no ClosingState of its own */
  finish_close(s, L, obj);
}

/* The peer closed or reset the connection, or a send failed. */
static void lost_connection(struct tcp_socket *s, lua_State *L, int obj, int err) {
  const char *text;
  enum socket_error e = err ? socket_error_from_errno(err, &text)
                            : (text = "The remote host closed the connection", SE_REMOTE_HOST_CLOSED);
  end_connection(s, L, obj, e, text, err == 0);
}

/* An error that ends the connection (a TLS failure). */
void tcp_socket_fail_close(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text) {
  end_connection(s, L, obj, e, text, false);
}

/* ---- reading ---- */

static void ready_read_done(struct lnet_runtime *rt, void *ud, enum task_status st);

/* Emits readyRead, then releases a waitForReadyRead. obj is the socket. */
static void emit_ready_read(struct tcp_socket *s, lua_State *L, int obj) {
  s->read_pending = false;
  unsigned long memory_errors = s->base.rt->memory_errors;
  abstract_socket_emit_busy(&s->base, L, obj, SIG_READY_READ, ready_read_done);
  if (s->base.rt->memory_errors != memory_errors && s->base.fd >= 0) {
    /* Its slot ran out of the service's memory_limit: this connection
     * goes, the service and its other connections stay. */
    lnet_log(s->base.rt, "error", "memory_limit reached in a readyRead slot: closing its connection");
    tcp_socket_emit_error(s, L, obj, SE_RESOURCE, "Out of resources (memory_limit)");
    if (s->base.fd >= 0)
      finish_close(s, L, obj);
  }
  tcp_socket_wake(s, WAIT_READY_READ, true);
}

/* A suspended readyRead slot ended: report what came in the meantime. */
static void ready_read_done(struct lnet_runtime *rt, void *ud, enum task_status st) {
  (void)st;
  struct tcp_socket *s = ud;   /* its base, the struct's first member */
  lua_State *L = rt->L;
  if (!abstract_socket_slot_done(&s->base, L))
    return;
  int obj = lua_gettop(L);
  if (s->read_pending && s->rb.len > 0)
    emit_ready_read(s, L, obj);
  lua_settop(L, obj - 1);
}

void tcp_socket_read_start(struct tcp_socket *s) {
  if (ev_is_active(&s->rio))
    return;
  ev_io_start(s->base.rt->loop, &s->rio);
  if (s->weak) {
    ev_unref(s->base.rt->loop);
    s->rio_unrefd = true;
  }
}

void tcp_socket_read_stop(struct tcp_socket *s) {
  struct ev_loop *loop = s->base.rt->loop;
  if (!loop)
    return;
  if (s->rio_unrefd) {   /* libev: ev_ref before stopping what was unref'd */
    ev_ref(loop);
    s->rio_unrefd = false;
  }
  ev_io_stop(loop, &s->rio);
}

static void resume_reading(struct tcp_socket *s) {
  if (s->base.fd >= 0 && s->base.state == ST_CONNECTED && !ev_is_active(&s->rio) && !s->paused_by_writes &&
      (s->read_limit == 0 || s->rb.len < s->read_limit))
    tcp_socket_read_start(s);
}

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct tcp_socket *s = (struct tcp_socket *)((char *)w - offsetof(struct tcp_socket, rio));
  struct lnet_runtime *rt = s->base.rt;
  if (s->xprt->readable) {
    int obj = push_self(rt->L, s);
    bool used = s->xprt->readable(s, rt->L, obj);
    lua_settop(rt->L, obj - 1);
    if (used)
      return;
  }
  size_t want = 16384;
  if (s->read_limit) {
    if (s->rb.len >= s->read_limit) {
      tcp_socket_read_stop(s);   /* back-pressure: the kernel holds the rest */
      return;
    }
    want = s->read_limit - s->rb.len;
    if (want < s->xprt->read_min)
      want = s->xprt->read_min;
  }
  bool can_emit = s->base.read_busy == 0;
  bool borrowed = false;
  char *dst;
  size_t space;
  if (can_emit && s->rb.len == 0 && !rt->scratch_busy) {
    buffer_borrow(&s->rb, rt->scratch, LNET_SCRATCH_SIZE);
    rt->scratch_busy = borrowed = true;
    dst = s->rb.data;
    space = LNET_SCRATCH_SIZE;
  } else {
    if (!(dst = buffer_reserve(&s->rb, want < 16384 ? want : 16384)))
      return;   /* no memory now: the fd stays readable, try next turn */
    space = s->rb.cap - s->rb.off - s->rb.len;
  }
  if (s->read_limit && space > want)
    space = want;
  const char *why = NULL;
  ssize_t n = s->xprt->read(s, dst, space, &why);
  int err = errno;
  lua_State *L = rt->L;
  int obj = push_self(L, s);
  if (n > 0) {
    buffer_commit(&s->rb, (size_t)n);
    rt->counters->bytes_in += (size_t)n;
    if (s->reader)
      s->reader->ops->readable(s->reader, L, obj);
    else if (can_emit)
      emit_ready_read(s, L, obj);
    else
      s->read_pending = true;
  } else if (n == 0) {
    lost_connection(s, L, obj, 0);
  } else if (why) {
    tcp_socket_fail_close(s, L, obj, SE_SSL_INTERNAL, why);
  } else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
    lost_connection(s, L, obj, err);
  }
  if (borrowed) {
    if (!buffer_unborrow(&s->rb)) {
      s->rb.borrowed = false;   /* the scratch is not ours to keep */
      s->rb.data = NULL;
      s->rb.len = s->rb.off = s->rb.cap = 0;
      if (s->base.fd >= 0)
        cut_connection(s, L, obj, SE_RESOURCE, "Out of resources");
    }
    rt->scratch_busy = false;
  }
  charge_buffers(s);
  if (s->base.fd >= 0 && budget_over(rt->budget))
    lua_gc(L, LUA_GCCOLLECT, 0);   /* garbage counts too: it may be all that is over */
  if (s->base.fd >= 0 && budget_over(rt->budget)) {
    lnet_log(rt, "error", "memory_limit reached holding %zu bytes read: closing the connection", s->rb.len);
    cut_connection(s, L, obj, SE_RESOURCE, "Out of resources (memory_limit)");
  }
  lua_settop(L, obj - 1);
}

/* Called after a script took data out of the buffer. */
static void after_read(struct tcp_socket *s) {
  if (s->read_limit)
    resume_reading(s);
}

/* ---- writing ---- */

static struct wchunk *wchunk_new(size_t cap) {
  struct wchunk *c;
  bool mapped = cap >= WRITE_CHUNK_BIG;
  if (mapped) {
    void *p = mmap(NULL, sizeof *c + cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c = p == MAP_FAILED ? NULL : p;
  } else {
    c = malloc(sizeof *c + cap);
  }
  if (c) {
    c->next = NULL;
    c->file_fd = -1;
    c->mapped = mapped;
    c->file_off = 0;
    c->off = c->len = 0;
    c->cap = cap;
  }
  return c;
}

static void wchunk_free(struct wchunk *c) {
  if (c->mapped)
    munmap(c, sizeof *c + c->cap);
  else
    free(c);
}

static void wq_push(struct tcp_socket *s, struct wchunk *c) {
  if (s->wq_tail)
    s->wq_tail->next = c;
  else
    s->wq_head = c;
  s->wq_tail = c;
}

/* Appends bytes to the queue, filling the last chunk first. */
static bool wq_append(struct tcp_socket *s, const char *p, size_t n) {
  struct wchunk *t = s->wq_tail;
  if (t && t->file_fd < 0 && t->cap > t->len) {
    size_t k = t->cap - t->len < n ? t->cap - t->len : n;
    memcpy(t->data + t->len, p, k);
    t->len += k;
    s->wq_bytes += k;
    p += k;
    n -= k;
  }
  if (n == 0)
    return true;
  /* Small queues in small chunks; a long one in WRITE_CHUNK_BIG ones. */
  size_t cap = s->wq_bytes >= WRITE_CHUNK_BIG ? WRITE_CHUNK_BIG : WRITE_CHUNK_MIN;
  struct wchunk *c = wchunk_new(n > cap ? n : cap);
  if (!c)
    return false;
  memcpy(c->data, p, n);
  c->len = n;
  wq_push(s, c);
  s->wq_bytes += n;
  return true;
}

void tcp_socket_start_writing(struct tcp_socket *s) {
  if (s->base.fd >= 0 && s->base.state != ST_CONNECTING && s->base.state != ST_HOSTLOOKUP) {
    ev_io_start(s->base.rt->loop, &s->wio);
    if (s->send_timeout > 0 && aux_of(s) && !ev_is_active(&s->aux->send_timer)) {
      s->aux->sent_mark = s->aux->sent;
      ev_timer_set(&s->aux->send_timer, s->send_timeout, s->send_timeout);
      ev_timer_start(s->base.rt->loop, &s->aux->send_timer);
    }
  }
}

/* send_timeout: every period while bytes are queued, something must have
 * left since the last look; else the peer is not reading and its queue
 * would be held for ever. */
static void send_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct socket_aux *a = (struct socket_aux *)((char *)w - offsetof(struct socket_aux, send_timer));
  struct tcp_socket *s = a->s;
  if (!s->wq_head || s->base.fd < 0) {
    ev_timer_stop(loop, w);
    return;
  }
  if (a->sent != a->sent_mark) {
    a->sent_mark = a->sent;
    return;
  }
  lua_State *L = s->base.rt->L;
  int obj = push_self(L, s);
  lnet_log(s->base.rt, "warn", "TcpSocket: the peer took nothing of %zu queued bytes for %g s (send_timeout): "
           "closing the connection", s->wq_bytes, (double)s->send_timeout);
  cut_connection(s, L, obj, SE_TIMEOUT, "Socket operation timed out (send_timeout)");
  lua_settop(L, obj - 1);
}

void tcp_socket_set_send_timeout(struct tcp_socket *s, double seconds) {
  s->send_timeout = (float)seconds;
}

/* Sends from the queue until it is empty, the kernel is full or the
 * per-turn cap is reached. Returns bytes sent, or -1 with errno. */
static ssize_t flush_queue(struct tcp_socket *s) {
  size_t total = 0;
  while (s->wq_head && total < WRITE_BYTES_PER_EVENT) {
    struct wchunk *c = s->wq_head;
    ssize_t n;
    if (c->file_fd >= 0) {
      size_t k = c->len < WRITE_BYTES_PER_EVENT - total ? c->len : WRITE_BYTES_PER_EVENT - total;
      n = s->xprt->write_file(s, c->file_fd, &c->file_off, k);
      if (n == 0) {          /* the file is shorter than promised */
        s->wq_bytes -= c->len;
        c->len = 0;
      } else if (n > 0) {
        c->len -= (size_t)n;
      }
    } else {
      n = s->xprt->write(s, c->data + c->off, c->len - c->off);
      if (n > 0)
        c->off += (size_t)n;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        break;
      return -1;
    }
    total += (size_t)n;
    s->wq_bytes -= (size_t)n;
    if (s->aux)
      s->aux->sent += (uint64_t)n;
    bool done = c->file_fd >= 0 ? c->len == 0 : c->off == c->len;
    if (!done)
      continue;
    s->wq_head = c->next;
    if (!s->wq_head)
      s->wq_tail = NULL;
    if (c->file_fd >= 0)
      close(c->file_fd);
    wchunk_free(c);
  }
  s->base.rt->counters->bytes_out += total;
  return (ssize_t)total;
}

static void connect_succeeded(struct tcp_socket *s, lua_State *L, int obj);
static void connect_next(struct tcp_socket *s, lua_State *L, int obj, int last_errno);

/* setWriteHighWater: past the mark, the socket reads no more, so a peer
 * that sends faster than it reads is slowed by TCP's own flow control
 * instead of growing our queue; below half the mark it reads again. Only
 * the queueing path checks, so a write the kernel takes at once costs
 * nothing. */
static void pause_if_high(struct tcp_socket *s) {
  if (s->write_high_water && s->wq_bytes > s->write_high_water && !s->paused_by_writes) {
    s->paused_by_writes = true;
    tcp_socket_read_stop(s);
  }
}

static void resume_if_low(struct tcp_socket *s) {
  if (s->paused_by_writes && s->wq_bytes <= s->write_high_water / 2) {
    s->paused_by_writes = false;
    resume_reading(s);
  }
}

/* Sends what the queue holds (as much as the kernel takes this turn) and
 * reports it: bytesWritten, a waitForBytesWritten, the close that
 * disconnectFromHost put off. Returns the bytes sent. */
static ssize_t write_some(struct tcp_socket *s, lua_State *L, int obj) {
  ssize_t n = flush_queue(s);
  charge_buffers(s);
  if (n < 0) {
    lost_connection(s, L, obj, errno);
    return 0;
  }
  if (!s->wq_head)
    ev_io_stop(s->base.rt->loop, &s->wio);
  resume_if_low(s);
  if (n > 0 && lnet_has_slots(L, obj, SIG_BYTES_WRITTEN)) {
    lua_pushinteger(L, n);
    lnet_emit(s->base.rt, L, obj, SIG_BYTES_WRITTEN, 1, NULL, NULL);
  }
  if (s->base.fd >= 0 && !s->wq_head && s->close_when_flushed)
    finish_close(s, L, obj);
  else if (n > 0)
    tcp_socket_wake(s, WAIT_BYTES_WRITTEN, true);
  return n;
}

static void wio_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct tcp_socket *s = (struct tcp_socket *)((char *)w - offsetof(struct tcp_socket, wio));
  lua_State *L = s->base.rt->L;
  int obj = push_self(L, s);
  if (s->xprt->writable && s->xprt->writable(s, L, obj)) {
    lua_settop(L, obj - 1);
    return;
  }
  if (s->base.state == ST_CONNECTING) {
    int err = net_connect_result(s->base.fd);
    if (err == 0)
      connect_succeeded(s, L, obj);
    else
      connect_next(s, L, obj, err);
    lua_settop(L, obj - 1);
    return;
  }
  write_some(s, L, obj);
  lua_settop(L, obj - 1);
}

/* ---- connecting ---- */

static void connect_succeeded(struct tcp_socket *s, lua_State *L, int obj) {
  ev_io_stop(s->base.rt->loop, &s->wio);
  free_targets(s);
  set_state(s, L, obj, ST_CONNECTED);
  if (s->base.fd < 0)
    return;
  tcp_socket_read_start(s);
  if (s->wq_head)
    ev_io_start(s->base.rt->loop, &s->wio);
  emit0(s, L, obj, SIG_CONNECTED);
  tcp_socket_wake(s, WAIT_CONNECTED, s->base.state == ST_CONNECTED);
  if (s->xprt->connected && s->base.state == ST_CONNECTED && s->base.fd >= 0)
    s->xprt->connected(s, L, obj);
}

/* No address could be reached: Qt's order is stateChanged(Unconnected),
 * then errorOccurred. */
static void connect_failed(struct tcp_socket *s, lua_State *L, int obj, enum socket_error e,
                           const char *text) {
  close_fd(s);
  set_state(s, L, obj, ST_UNCONNECTED);
  tcp_socket_emit_error(s, L, obj, e, text);
  if (s->base.fd >= 0)
    return;
  lnet_unanchor(L, &s->base.ref);
  wake_all(s);
}

/* Starts a connect to the next address that takes one: 0, or the errno
 * of the last that failed at once (last_errno when none is left). */
static int start_next_connect(struct tcp_socket *s, int last_errno) {
  struct socket_aux *a = s->aux;
  while (a->next_target < a->ntargets) {
    int fd;
    if (net_tcp_connect(&a->targets[a->next_target++], &fd) == 0) {
      s->base.fd = fd;
      s->base.rt->open_sockets++;
      ev_io_set(&s->rio, fd, EV_READ);
      ev_io_set(&s->wio, fd, EV_WRITE);
      ev_io_start(s->base.rt->loop, &s->wio);
      return 0;
    }
    last_errno = errno;
  }
  return last_errno ? last_errno : ECONNREFUSED;
}

/* Tries the next address; when none is left, reports last_errno. */
static void connect_next(struct tcp_socket *s, lua_State *L, int obj, int last_errno) {
  if (s->base.fd >= 0) {
    ev_io_stop(s->base.rt->loop, &s->wio);
    close(s->base.fd);
    s->base.fd = -1;
    socket_closed(s);
  }
  if ((last_errno = start_next_connect(s, last_errno)) == 0)
    return;
  const char *text;
  enum socket_error e = socket_error_from_errno(last_errno, &text);
  connect_failed(s, L, obj, e, text);
}

/* A failure known inside connectToHost is reported from the loop, as Qt
 * does, so that slots connected after the call still see it. */
static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct tcp_socket *s = ((struct socket_aux *)((char *)w - offsetof(struct socket_aux, defer)))->s;
  lua_State *L = s->base.rt->L;
  int obj = push_self(L, s);
  if (s->aux->defer_errno == -1) {
    connect_failed(s, L, obj, SE_HOST_NOT_FOUND, "Host not found");
  } else {
    connect_next(s, L, obj, s->aux->defer_errno);
  }
  lua_settop(L, obj - 1);
}

/* Starts connecting to the first of the addresses now in aux->targets:
 * Qt's ConnectingState, then hostFound. */
static void start_connecting(struct tcp_socket *s, lua_State *L, int obj) {
  set_state(s, L, obj, ST_CONNECTING);
  if (s->base.state == ST_CONNECTING)
    emit0(s, L, obj, SIG_HOST_FOUND);
  if (s->base.state != ST_CONNECTING)   /* a slot aborted us */
    return;
  int err = start_next_connect(s, 0);
  if (err)
    connect_next(s, L, obj, err);
}

/* The name lookup of connectToHost has its answer (dns.c calls this with
 * the query at qobj). */
static void resolved(void *ud, lua_State *L, int qobj) {
  struct tcp_socket *s = ud;
  struct socket_aux *a = s->aux;
  lnet_unanchor(L, &a->query_ref);
  int obj = push_self(L, s);
  lua_getiuservalue(L, qobj, 2);
  lua_getfield(L, -1, "addresses");
  int n = (int)lua_rawlen(L, -1);
  free_targets(s);
  a->targets = n ? calloc((size_t)n, sizeof *a->targets) : NULL;
  for (int i = 1; a->targets && i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (net_addr_parse(lua_tostring(L, -1), a->port, &a->targets[a->ntargets]))
      a->ntargets++;
    lua_pop(L, 1);
  }
  if (a->ntargets == 0)
    connect_failed(s, L, obj, SE_HOST_NOT_FOUND, "Host not found");
  else
    start_connecting(s, L, obj);
  lua_settop(L, obj - 1);
}

/* Resolves what needs no lookup: literals and "localhost". Other names go
 * to the resolver (dns.c). */
static int resolve_now(lua_State *L, int idx, int port, struct net_addr **out) {
  struct net_addr addr;
  enum host_address_kind kind = host_address_get(L, idx, port, &addr);
  if (kind == HA_ANY) {
    kind = HA_IPV6;
    net_addr_parse("::1", port, &addr);
  }
  if (kind != HA_NULL) {
    *out = malloc(sizeof **out);
    if (!*out)
      return 0;
    **out = addr;
    return 1;
  }
  if (lua_type(L, idx) == LUA_TSTRING && strcasecmp(lua_tostring(L, idx), "localhost") == 0) {
    *out = malloc(2 * sizeof **out);
    if (!*out)
      return 0;
    net_addr_parse("127.0.0.1", port, &(*out)[0]);
    net_addr_parse("::1", port, &(*out)[1]);
    return 2;
  }
  *out = NULL;
  return 0;
}

/*** Connects to host (a name, an IPv4 or IPv6 literal, or a HostAddress)
 * and port: HostLookupState, then ConnectingState and hostFound, then
 * connected; every address of the name is tried in turn. A failure is
 * reported from the loop (errorOccurred, with HostNotFoundError,
 * ConnectionRefusedError...), so slots connected after the call see it.
 * @function connectToHost
 * @tparam string|HostAddress host
 * @tparam integer port
 * @treturn boolean true when started; false (OperationError) on a socket that is not unconnected
 * @qt QAbstractSocket::connectToHost
 */
int tcp_socket_connect_lua(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (!lua_isstring(L, 2) && !luaL_testudata(L, 2, LNET_HOSTADDRESS))
    luaL_typeerror(L, 2, "string or HostAddress");
  lua_Integer port = luaL_checkinteger(L, 3);
  luaL_argcheck(L, port >= 0 && port <= 65535, 3, "port out of range");
  lua_settop(L, 3);
  if (s->base.state != ST_UNCONNECTED || s->base.fd >= 0) {
    abstract_socket_set_error(&s->base, SE_OPERATION, "Operation on socket is not permitted in this socket state");
    lua_pushboolean(L, 0);
    return 1;
  }
  struct socket_aux *a = aux_of(s);
  if (!a) {
    abstract_socket_set_error(&s->base, SE_RESOURCE, "Out of resources");
    lua_pushboolean(L, 0);
    return 1;
  }
  buffer_free(&s->rb);
  write_queue_free(s);
  free_targets(s);
  free(a->peer_name);
  const char *name = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  a->peer_name = name ? strdup(name) : NULL;
  a->ntargets = resolve_now(L, 2, (int)port, &a->targets);
  a->next_target = 0;
  a->port = (int)port;
  s->base.error = SE_UNKNOWN;
  s->base.error_string = NULL;
  if (s->base.ref == LUA_NOREF)
    s->base.ref = lnet_anchor(L, 1);
  set_state(s, L, 1, ST_HOSTLOOKUP);
  if (a->ntargets == 0 && name) {   /* a host name: ask the resolver */
    dns_lookup(L, name, AF_UNSPEC, resolved, s);
    a->query_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushboolean(L, 1);
    return 1;
  }
  if (a->ntargets == 0) {
    a->defer_errno = -1;
    ev_timer_set(&a->defer, 0., 0.);
    ev_timer_start(s->base.rt->loop, &a->defer);
    lua_pushboolean(L, 1);
    return 1;
  }
  /* Qt's order: ConnectingState, then hostFound. */
  set_state(s, L, 1, ST_CONNECTING);
  if (s->base.state == ST_CONNECTING)
    emit0(s, L, 1, SIG_HOST_FOUND);
  if (s->base.state != ST_CONNECTING)   /* a slot aborted us */
    return lua_pushboolean(L, 1), 1;
  int err = start_next_connect(s, 0);
  if (err) {   /* every address failed at once: report it from the loop */
    a->defer_errno = err;
    ev_timer_set(&a->defer, 0., 0.);
    ev_timer_start(s->base.rt->loop, &a->defer);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- Lua methods: closing ---- */

/* disconnectFromHost on the socket at obj: closes once the queue is sent. */
static void disconnect(struct tcp_socket *s, lua_State *L, int obj) {
  if (s->base.state == ST_UNCONNECTED)
    return;
  if (s->base.state != ST_CONNECTED && s->base.state != ST_CLOSING) {
    finish_close(s, L, obj);   /* still looking up or connecting: give up */
    return;
  }
  tcp_socket_read_stop(s);
  set_state(s, L, obj, ST_CLOSING);
  if (s->base.fd < 0)
    return;
  if (s->wq_head) {
    s->close_when_flushed = true;   /* wio_cb closes once the queue is sent */
    tcp_socket_start_writing(s);
    return;
  }
  finish_close(s, L, obj);
}

/*** Closes the connection once everything queued is sent: ClosingState,
 * then UnconnectedState and disconnected. While connecting it gives up at
 * once.
 * @function disconnectFromHost
 * @qt QAbstractSocket::disconnectFromHost
 */
static int tcp_socket_disconnectFromHost(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_settop(L, 1);
  disconnect(s, L, 1);
  return 0;
}

/*** Closes the connection at once: aboutToClose, then disconnected; what
 * was queued and what was unread are dropped.
 * @function abort
 * @qt QAbstractSocket::abort
 */
static int tcp_socket_abort(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_settop(L, 1);
  if (s->base.state != ST_UNCONNECTED)
    emit0(s, L, 1, SIG_ABOUT_TO_CLOSE);
  write_queue_free(s);
  if (s->base.state != ST_UNCONNECTED || s->base.fd >= 0) {
    if (s->base.state == ST_CONNECTED)
      s->base.state = ST_CLOSING;   /* abort does not announce ClosingState */
    finish_close(s, L, 1);
  }
  buffer_free(&s->rb);
  return 0;
}

/*** aboutToClose, then disconnectFromHost; the unread data goes, as
 * QIODevice::close() drops its buffer.
 * @function close
 * @qt QAbstractSocket::close
 */
static int tcp_socket_close(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_settop(L, 1);
  if (s->base.state != ST_UNCONNECTED)
    emit0(s, L, 1, SIG_ABOUT_TO_CLOSE);
  tcp_socket_disconnectFromHost(L);
  if (s->rb.borrowed)
    s->rb.len = 0;   /* the scratch goes back with the emit in progress */
  else
    buffer_free(&s->rb);
  return 0;
}

/* Releases everything and emits nothing. Idempotent. */
static void release(lua_State *L, struct tcp_socket *s) {
  close_fd(s);
  if (!s->rb.borrowed)
    buffer_free(&s->rb);
  s->base.state = ST_UNCONNECTED;
  lnet_unanchor(L, &s->base.ref);
}

/* __gc: nothing can wait on a collected socket (a waiting task holds it),
 * and at lua_close no task may be resumed. */
static int tcp_socket_gc(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->aux)
    s->aux->wait.active = false;
  release(L, s);
  aux_free(s);
  tcp_tls_free(s);
  if (s->reader) {
    s->reader->ops->release(s->reader);
    s->reader = NULL;
  }
  return 0;
}

/* __close: silent as __gc, but a task waiting on the socket learns of it. */
static int tcp_socket_close_scope(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  release(L, s);
  wake_all(s);
  return 0;
}

void tcp_socket_release(lua_State *L, int idx) {
  struct tcp_socket *s = tcp_socket_check(L, idx);
  release(L, s);
  wake_all(s);
}

/* ---- Lua methods: reading ---- */

/*** How many bytes are buffered, ready to read.
 * @function bytesAvailable
 * @treturn integer
 * @qt QAbstractSocket::bytesAvailable
 */
static int tcp_socket_bytesAvailable(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tcp_socket_check(L, 1)->rb.len);
  return 1;
}

static size_t checkcount(lua_State *L, int idx) {
  lua_Integer n = luaL_checkinteger(L, idx);
  luaL_argcheck(L, n >= 0, idx, "size must not be negative");
  return (size_t)n;
}

/*** Up to n bytes of what is buffered; "" when nothing is.
 * @function read
 * @tparam integer n
 * @treturn string
 * @qt QIODevice::read
 */
static int tcp_socket_read(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  size_t n = checkcount(L, 2);
  if (n > s->rb.len)
    n = s->rb.len;
  lua_pushlstring(L, buffer_head(&s->rb), n);
  buffer_consume(&s->rb, n);
  after_read(s);
  return 1;
}

/*** Everything buffered; "" when nothing is.
 * @function readAll
 * @treturn string
 * @qt QIODevice::readAll
 */
static int tcp_socket_readAll(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushlstring(L, buffer_head(&s->rb), s->rb.len);
  buffer_consume(&s->rb, s->rb.len);
  after_read(s);
  return 1;
}

/*** Up to n bytes of what is buffered, leaving them there.
 * @function peek
 * @tparam integer n
 * @treturn string
 * @qt QIODevice::peek
 */
static int tcp_socket_peek(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  size_t n = checkcount(L, 2);
  lua_pushlstring(L, buffer_head(&s->rb), n < s->rb.len ? n : s->rb.len);
  return 1;
}

/*** A line with its "\n", or what is there when no line is
 * complete (as Qt); max bounds the length, and 0 means no bound.
 * @function readLine
 * @tparam[opt=0] integer max
 * @treturn string
 * @qt QIODevice::readLine
 */
static int tcp_socket_readLine(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  size_t limit = lua_isnoneornil(L, 2) ? 0 : checkcount(L, 2);
  if (limit == 0 || limit > s->rb.len)   /* 0: no limit, as in Qt */
    limit = s->rb.len;
  const char *head = buffer_head(&s->rb);
  const char *nl = limit ? memchr(head, '\n', limit) : NULL;
  size_t n = nl ? (size_t)(nl - head) + 1 : limit;
  lua_pushlstring(L, head, n);
  buffer_consume(&s->rb, n);
  after_read(s);
  return 1;
}

/*** Whether a whole line (up to "\n") is buffered.
 * @function canReadLine
 * @treturn boolean
 * @qt QAbstractSocket::canReadLine
 */
static int tcp_socket_canReadLine(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushboolean(L, s->rb.len && memchr(buffer_head(&s->rb), '\n', s->rb.len) != NULL);
  return 1;
}

/*** Whether nothing is buffered.
 * @function atEnd
 * @treturn boolean
 * @qt QAbstractSocket::atEnd
 */
static int tcp_socket_atEnd(lua_State *L) {
  lua_pushboolean(L, tcp_socket_check(L, 1)->rb.len == 0);
  return 1;
}

/*** Bounds the read buffer: while n bytes wait unread, the socket reads no
 * more from the peer (TCP's flow control slows it). 0: no bound, the
 * default.
 * @function setReadBufferSize
 * @tparam integer n bytes
 * @qt QAbstractSocket::setReadBufferSize
 */
static int tcp_socket_setReadBufferSize(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  s->read_limit = checkcount(L, 2);
  resume_reading(s);
  return 0;
}

/*** The bound setReadBufferSize set.
 * @function readBufferSize
 * @treturn integer bytes, 0 when there is none
 * @qt QAbstractSocket::readBufferSize
 */
static int tcp_socket_readBufferSize(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tcp_socket_check(L, 1)->read_limit);
  return 1;
}

/* ---- Lua methods: writing ---- */

static int fail(lua_State *L, struct tcp_socket *s, enum socket_error e, const char *text) {
  tcp_socket_emit_error(s, L, 1, e, text);
  lua_pushboolean(L, 0);
  return 1;
}

static bool can_write(struct tcp_socket *s) {
  return s->base.fd >= 0 && (s->base.state == ST_CONNECTED || s->base.state == ST_CONNECTING ||
                        s->base.state == ST_HOSTLOOKUP);
}

/* A write that cannot be queued (over the cap or the memory_limit, or no
 * memory) breaks the stream: whatever is written next would reach the
 * peer with a hole where these bytes were. So the connection is cut, and
 * the log says why. */
static void refuse_write(struct tcp_socket *s, lua_State *L, int obj, const char *text) {
  lnet_log(s->base.rt, "error", "TcpSocket: %s with %zu bytes queued: closing the connection, as the stream "
           "cannot go on without them", text, s->wq_bytes);
  cut_connection(s, L, obj, SE_RESOURCE, text);
}

/* write() on a transport that queues whole writes (TLS): into the queue,
 * then as much out as the transport takes; before a handshake has
 * finished, it takes nothing and everything waits. */
static bool send_queued(struct tcp_socket *s, lua_State *L, int obj, const struct iovec *iov, int n) {
  for (int i = 0; i < n; i++) {
    if (!wq_append(s, iov[i].iov_base, iov[i].iov_len)) {
      refuse_write(s, L, obj, "Out of resources");
      return false;
    }
  }
  if (s->base.state == ST_CONNECTED && !(s->written_observed && lnet_has_slots(L, obj, SIG_BYTES_WRITTEN))) {
    ssize_t k = flush_queue(s);   /* errors surface from the write watcher */
    if (k > 0)
      s->sent_unreported += (size_t)k;
  }
  charge_buffers(s);
  if (s->wq_head)
    tcp_socket_start_writing(s);
  pause_if_high(s);
  return true;
}

/* The common part of write() and tcp_socket_send: the bytes of iov go out
 * at once when nothing is queued, and only the rest is queued. On refusal
 * (not connected, over the write cap or the memory_limit) nothing is sent,
 * errorOccurred is emitted and the result is false. */
static bool send_iov(struct tcp_socket *s, lua_State *L, int obj, const struct iovec *iov, int n) {
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += iov[i].iov_len;
  if (!can_write(s)) {
    tcp_socket_emit_error(s, L, obj, SE_OPERATION, "Socket is not connected");
    return false;
  }
  /* The cap holds for the whole write, before any of it is sent, so a
   * refused write has sent nothing. */
  if (len > s->write_limit - (s->wq_bytes < s->write_limit ? s->wq_bytes : s->write_limit)) {
    refuse_write(s, L, obj, "Write buffer limit reached");
    return false;
  }
  /* Behind a queue all of it waits: the service's memory_limit must have
   * room. (Into an empty queue goes only what the kernel did not take.) */
  if (s->wq_head && budget_would_exceed(s->base.rt->budget, len)) {
    refuse_write(s, L, obj, "Out of resources (memory_limit)");
    return false;
  }
  size_t done = 0;
  if (s->xprt->queue_whole)
    return send_queued(s, L, obj, iov, n);
  if (!s->wq_head && s->base.state == ST_CONNECTED &&
      !(s->written_observed && lnet_has_slots(L, obj, SIG_BYTES_WRITTEN))) {
    ssize_t k = s->xprt->writev(s, iov, n);
    if (k > 0) {
      done = (size_t)k;
      s->sent_unreported += done;
      s->base.rt->counters->bytes_out += done;
    }
    /* Errors other than EAGAIN surface from the write watcher, which
     * reports them with the full close sequence. */
  }
  if (done < len) {
    for (int i = 0; i < n; i++) {
      size_t skip = done < iov[i].iov_len ? done : iov[i].iov_len;
      done -= skip;
      if (skip < iov[i].iov_len && !wq_append(s, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip)) {
        refuse_write(s, L, obj, "Out of resources");
        return false;
      }
    }
    charge_buffers(s);
    tcp_socket_start_writing(s);
    pause_if_high(s);
  }
  return true;
}

/*** Sends data: what the kernel takes now goes at once, the rest is
 * queued and sent from the loop (bytesWritten reports it).
 * @function write
 * @tparam string data
 * @treturn integer|boolean #data, or false (not connected: OperationError; the queue past setWriteBufferLimit: SocketResourceError, and the connection is cut)
 * @qt QIODevice::write
 */
static int tcp_socket_write(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  struct iovec iov;
  iov.iov_base = (void *)luaL_checklstring(L, 2, &iov.iov_len);
  if (!send_iov(s, L, 1, &iov, 1)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)iov.iov_len);
  return 1;
}

/* Queues length bytes of the open file fd from offset for sendfile(2);
 * the queue owns fd from here on (closed when sent, or at once on
 * refusal). */
static bool queue_file(struct tcp_socket *s, lua_State *L, int obj, int fd, off_t offset, size_t length) {
  if (!can_write(s)) {
    close(fd);
    tcp_socket_emit_error(s, L, obj, SE_OPERATION, "Socket is not connected");
    return false;
  }
  struct wchunk *c = wchunk_new(0);
  if (!c) {
    close(fd);
    refuse_write(s, L, obj, "Out of resources");
    return false;
  }
  c->file_fd = fd;
  c->file_off = offset;
  c->len = length;
  wq_push(s, c);
  s->wq_bytes += c->len;
  tcp_socket_start_writing(s);
  pause_if_high(s);
  return true;
}

/*** Queues a file range for
 * sendfile(2); a path is opened now and closed when sent. The kernel
 * copies the file to the socket (through TLS, it is read and encrypted).
 * @function sendFile
 * @tparam string|integer file a path, or a descriptor (duplicated: the caller keeps its own)
 * @tparam[opt=0] integer offset
 * @tparam[opt] integer length to the end of the file by default
 * @treturn integer|boolean the length queued, or false (error() and errorString() say why)
 */
static int tcp_socket_sendFile(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_Integer offset = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, offset >= 0, 3, "offset must not be negative");
  int fd;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    fd = fcntl((int)luaL_checkinteger(L, 2), F_DUPFD_CLOEXEC, 0);
  } else {
    fd = open(luaL_checkstring(L, 2), O_RDONLY | O_CLOEXEC);
  }
  if (!can_write(s)) {
    if (fd >= 0)
      close(fd);
    return fail(L, s, SE_OPERATION, "Socket is not connected");
  }
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    const char *msg = strerror(errno);
    if (fd >= 0)
      close(fd);
    abstract_socket_set_error(&s->base, SE_UNKNOWN, msg);
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_Integer length = luaL_optinteger(L, 4, (lua_Integer)st.st_size - offset);
  if (length < 0)
    length = 0;
  if (!queue_file(s, L, 1, fd, (off_t)offset, (size_t)length)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushinteger(L, length);
  return 1;
}

/*** Sends what the kernel takes now, emitting bytesWritten as Qt's
 * flush does; true when something was sent.
 * @function flush
 * @treturn boolean
 * @qt QAbstractSocket::flush
 */
static int tcp_socket_flush(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_settop(L, 1);
  if (s->base.fd < 0 || (s->base.state != ST_CONNECTED && s->base.state != ST_CLOSING) || !s->wq_head) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, write_some(s, L, 1) > 0);
  return 1;
}

/*** How many bytes wait in the queue to be sent.
 * @function bytesToWrite
 * @treturn integer
 * @qt QAbstractSocket::bytesToWrite
 */
static int tcp_socket_bytesToWrite(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tcp_socket_check(L, 1)->wq_bytes);
  return 1;
}

/* setWriteHighWater, for C too: while more than `bytes` wait to be sent,
 * the socket reads no more from its peer (0: off, the default). An echo
 * or a proxy that writes what it reads is then as fast as its reader. It
 * reads again once the queue is below half the mark. */
void tcp_socket_set_write_high_water(struct tcp_socket *s, size_t bytes) {
  s->write_high_water = bytes;
  if (s->write_high_water == 0 || s->wq_bytes <= s->write_high_water / 2) {
    s->paused_by_writes = false;
    resume_reading(s);
  } else {
    pause_if_high(s);
  }
}

/*** While more than this waits to be sent, the socket reads no more from
 * its peer (0: off, the default). An echo or a proxy that writes what it
 * reads is then as fast as its reader. It reads again once the queue is
 * below half the mark.
 * @function setWriteHighWater
 * @tparam integer bytes 0: off
 */
static int tcp_socket_setWriteHighWater(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  tcp_socket_set_write_high_water(s, checkcount(L, 2));
  return 0;
}

/*** The mark setWriteHighWater set.
 * @function writeHighWater
 * @treturn integer bytes, 0 when off
 */
static int tcp_socket_writeHighWater(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tcp_socket_check(L, 1)->write_high_water);
  return 1;
}

/*** Caps the queue of unsent bytes: a write past it fails with
 * SocketResourceError and cuts the connection, instead of letting a peer
 * that reads nothing grow it without end. 256 MiB by default.
 * @function setWriteBufferLimit
 * @tparam integer bytes
 */
static int tcp_socket_setWriteBufferLimit(lua_State *L) {
  tcp_socket_check(L, 1)->write_limit = checkcount(L, 2);
  return 0;
}

/*** The cap of the queue of unsent bytes.
 * @function writeBufferLimit
 * @treturn integer bytes
 */
static int tcp_socket_writeBufferLimit(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tcp_socket_check(L, 1)->write_limit);
  return 1;
}

/* ---- Lua methods: waits ---- */

static void wait_timed_out(struct lnet_wait *w) {
  struct socket_aux *a = (struct socket_aux *)((char *)w - offsetof(struct socket_aux, wait));
  struct tcp_socket *s = a->s;
  abstract_socket_set_error(&s->base, SE_TIMEOUT, "Network operation timed out");
  if (a->wait_kind == WAIT_CONNECTED && s->base.state != ST_CONNECTED) {
    /* Qt gives up the attempt; the waiter learns of it, not the slots. */
    close_fd(s);
    s->base.state = ST_UNCONNECTED;
    lnet_unanchor(s->base.rt->L, &s->base.ref);
  }
}

int tcp_socket_wait(lua_State *L, struct tcp_socket *s, enum wait_kind kind) {
  double ms = lnet_opt_ms(L, 2, WAIT_DEFAULT_MS);
  struct socket_aux *a = aux_of(s);
  if (!a)
    return luaL_error(L, "not enough memory");
  if (a->wait.active)   /* before wait_kind changes under the waiter */
    return luaL_error(L, "another task is already waiting on this object");
  a->wait_kind = (uint8_t)kind;
  return lnet_wait(L, s->base.rt, &a->wait, ms);
}

/*** Waits until the socket is connected. In a task only the task waits;
 * elsewhere the loop runs nested until then. Only one task may wait on a
 * socket at a time (another raises).
 * @function waitForConnected
 * @tparam[opt=30000] number ms the time-out; past it, SocketTimeoutError and the attempt is given up
 * @treturn boolean whether it is connected
 * @qt QAbstractSocket::waitForConnected
 */
static int tcp_socket_waitForConnected(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->base.state == ST_CONNECTED || s->base.state == ST_UNCONNECTED) {
    lua_pushboolean(L, s->base.state == ST_CONNECTED);
    return 1;
  }
  return tcp_socket_wait(L, s, WAIT_CONNECTED);
}

/*** Waits until new data is buffered (as waitForConnected waits).
 * @function waitForReadyRead
 * @tparam[opt=30000] number ms
 * @treturn boolean false on a time-out (SocketTimeoutError), a close, or a socket not connected or connecting
 * @qt QAbstractSocket::waitForReadyRead
 */
static int tcp_socket_waitForReadyRead(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->base.fd < 0 || (s->base.state != ST_CONNECTED && s->base.state != ST_CONNECTING &&
                    s->base.state != ST_HOSTLOOKUP)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return tcp_socket_wait(L, s, WAIT_READY_READ);
}

/*** Waits until some queued data has been sent (as waitForConnected
 * waits); true at once when a write went out whole.
 * @function waitForBytesWritten
 * @tparam[opt=30000] number ms
 * @treturn boolean false when nothing is queued, or on a time-out or a close
 * @qt QAbstractSocket::waitForBytesWritten
 */
static int tcp_socket_waitForBytesWritten(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->sent_unreported > 0 && !s->wq_head) {
    s->sent_unreported = 0;   /* write() already handed it to the kernel */
    lua_pushboolean(L, 1);
    return 1;
  }
  if (!s->wq_head || s->base.fd < 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  s->sent_unreported = 0;
  return tcp_socket_wait(L, s, WAIT_BYTES_WRITTEN);
}

/*** Waits until the connection has closed (as waitForConnected waits).
 * @function waitForDisconnected
 * @tparam[opt=30000] number ms
 * @treturn boolean false on a time-out, or when it was not connected
 * @qt QAbstractSocket::waitForDisconnected
 */
static int tcp_socket_waitForDisconnected(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->base.state == ST_UNCONNECTED) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return tcp_socket_wait(L, s, WAIT_DISCONNECTED);
}

/* ---- Lua methods: state and addresses ---- */

/*** Whether the socket is open: not unconnected, or with data left to read.
 * @function isOpen
 * @treturn boolean
 * @qt QIODevice::isOpen
 */
static int tcp_socket_isOpen(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushboolean(L, s->base.state != ST_UNCONNECTED || s->rb.len > 0);
  return 1;
}

static int push_address(lua_State *L, struct tcp_socket *s, bool peer, bool want_port) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int r = s->base.fd < 0 || s->base.state != ST_CONNECTED ? -1
          : peer ? getpeername(s->base.fd, (struct sockaddr *)&ss, &len)
                 : getsockname(s->base.fd, (struct sockaddr *)&ss, &len);
  if (want_port) {
    lua_pushinteger(L, r < 0 ? 0 : net_addr_port((struct sockaddr *)&ss));
  } else {
    if (r < 0)
      ss.ss_family = AF_UNSPEC;   /* the null address */
    host_address_push(L, (struct sockaddr *)&ss);
  }
  return 1;
}

/*** The peer's address; the null address when not connected.
 * @function peerAddress
 * @treturn HostAddress
 * @qt QAbstractSocket::peerAddress
 */
static int tcp_socket_peerAddress(lua_State *L) {
  return push_address(L, tcp_socket_check(L, 1), true, false);
}
/*** The peer's port; 0 when not connected.
 * @function peerPort
 * @treturn integer
 * @qt QAbstractSocket::peerPort
 */
static int tcp_socket_peerPort(lua_State *L) {
  return push_address(L, tcp_socket_check(L, 1), true, true);
}
/*** The local address of the connection; the null address when not connected.
 * @function localAddress
 * @treturn HostAddress
 * @qt QAbstractSocket::localAddress
 */
static int tcp_socket_localAddress(lua_State *L) {
  return push_address(L, tcp_socket_check(L, 1), false, false);
}
/*** The local port of the connection; 0 when not connected.
 * @function localPort
 * @treturn integer
 * @qt QAbstractSocket::localPort
 */
static int tcp_socket_localPort(lua_State *L) {
  return push_address(L, tcp_socket_check(L, 1), false, true);
}

/*** The host name given to connectToHost; "" for an accepted socket or an address.
 * @function peerName
 * @treturn string
 * @qt QAbstractSocket::peerName
 */
static int tcp_socket_peerName(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_pushstring(L, s->aux && s->aux->peer_name ? s->aux->peer_name : "");
  return 1;
}

/* ---- socket options ---- */

static const int option_levels[] = { IPPROTO_TCP, SOL_SOCKET, IPPROTO_IP, IPPROTO_IP, IPPROTO_IP, SOL_SOCKET, SOL_SOCKET };
static const int option_names_os[] = { TCP_NODELAY, SO_KEEPALIVE, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_TOS, SO_SNDBUF, SO_RCVBUF };

/*** Sets a socket option on the open descriptor.
 * @function setSocketOption
 * @tparam string option a SocketOption name
 * @tparam integer|boolean value
 * @treturn boolean false when the socket is not open or the system refused
 * @qt QAbstractSocket::setSocketOption
 */
static int tcp_socket_setSocketOption(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  int opt = luaL_checkoption(L, 2, NULL, socket_option_names);
  int value = lnet_check_option_value(L, 3);
  bool ok = s->base.fd >= 0 &&
            setsockopt(s->base.fd, option_levels[opt], option_names_os[opt], &value, sizeof value) == 0;
  lua_pushboolean(L, ok);
  return 1;
}

/*** A socket option's value.
 * @function socketOption
 * @tparam string option a SocketOption name
 * @treturn integer|nil nil when the socket is not open
 * @qt QAbstractSocket::socketOption
 */
static int tcp_socket_socketOption(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  int opt = luaL_checkoption(L, 2, NULL, socket_option_names);
  int value = 0;
  socklen_t len = sizeof value;
  if (s->base.fd < 0 || getsockopt(s->base.fd, option_levels[opt], option_names_os[opt], &value, &len) < 0)
    return 0;
  lua_pushinteger(L, value);
  return 1;
}

/* ---- construction ---- */

static int tcp_socket_tostring(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  if (s->base.fd < 0) {
    lua_pushfstring(L, LNET_TCPSOCKET " (%s)", s->rb.len ? "closed, data buffered" : "closed");
    return 1;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char buf[NET_ADDRSTRLEN] = "";
  if (getpeername(s->base.fd, (struct sockaddr *)&ss, &len) < 0) {   /* not a socket: stdin */
    lua_pushfstring(L, LNET_TCPSOCKET " (%s fd %d)", socket_state_names[s->base.state], s->base.fd);
    return 1;
  }
  net_addr_format((struct sockaddr *)&ss, buf);
  lua_pushfstring(L, LNET_TCPSOCKET " (%s %s:%d)", socket_state_names[s->base.state], buf,
                  net_addr_port((struct sockaddr *)&ss));
  return 1;
}

static void tcp_socket_signal_touched(void *obj, int id) {
  if (id == SIG_BYTES_WRITTEN)
    ((struct tcp_socket *)obj)->written_observed = true;
}

/*** A new socket, unconnected.
 * @function net.TcpSocket
 * @treturn TcpSocket
 * @qt QTcpSocket::QTcpSocket
 */
static int tcp_socket_new(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  struct tcp_socket *s = lnet_newobject(L, sizeof *s, &tcp_socket_class, 1);
  tcp_socket_init(s, rt);
  return 1;
}

/* The socket at idx owns the connected fd from now on, and reads it;
 * the caller sets the state (and announces it or not). */
static void start_connected(struct tcp_socket *s, lua_State *L, int idx, int fd) {
  s->base.fd = fd;
  s->base.rt->open_sockets++;
  if (s->base.ref == LUA_NOREF)
    s->base.ref = lnet_anchor(L, idx);
  ev_io_set(&s->rio, fd, EV_READ);
  ev_io_set(&s->wio, fd, EV_WRITE);
  tcp_socket_read_start(s);
}

void tcp_socket_push_accepted(lua_State *L, struct lnet_runtime *rt, int fd) {
  struct tcp_socket *s = lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->socket_mt_ref);
  lua_setmetatable(L, -2);
  tcp_socket_init(s, rt);
  start_connected(s, L, -1, fd);
  s->accepted = true;
  rt->accepted_sockets++;
  rt->counters->accepted++;
  s->base.state = ST_CONNECTED;   /* nobody can be listening yet */
}

/*** Adopts an open descriptor as Qt's does: the
 * socket is in ConnectedState at once (stateChanged), reads it, and owns
 * it from here on (close() closes it). A socket keeps the plain
 * transport; anything else (a pipe, a tty, a file: a script's stdin) gets
 * the descriptor transport (tcp_socket_fd.c), its end of input being the
 * peer's close. false with Qt's UnsupportedSocketOperationError "Invalid
 * socket descriptor" for a descriptor that is not open, and with
 * OperationError on a socket that is not unconnected (where Qt would drop
 * its connection without a word, as connectToHost here refuses).
 * @function setSocketDescriptor
 * @tparam integer fd
 * @treturn boolean
 * @qt QAbstractSocket::setSocketDescriptor
 * @usage local input = net.TcpSocket()   -- a script's stdin
 * input.readyRead:connect(function() io.write(input:readAll()) end)
 * input:setSocketDescriptor(0)
 */
static int tcp_socket_setSocketDescriptor(lua_State *L) {
  struct tcp_socket *s = tcp_socket_check(L, 1);
  lua_Integer fd = luaL_checkinteger(L, 2);
  lua_settop(L, 1);
  if (s->base.state != ST_UNCONNECTED || s->base.fd >= 0) {
    abstract_socket_set_error(&s->base, SE_OPERATION, "Operation on socket is not permitted in this socket state");
    lua_pushboolean(L, 0);
    return 1;
  }
  if (fd < 0 || fd > INT_MAX || !tcp_fd_adopt(s, (int)fd)) {
    abstract_socket_set_error(&s->base, SE_UNSUPPORTED_OPERATION, "Invalid socket descriptor");
    lua_pushboolean(L, 0);
    return 1;
  }
  buffer_free(&s->rb);   /* what a previous connection left */
  write_queue_free(s);
  if (s->aux) {
    free(s->aux->peer_name);
    s->aux->peer_name = NULL;
  }
  s->base.error = SE_UNKNOWN;
  s->base.error_string = NULL;
  start_connected(s, L, 1, (int)fd);
  set_state(s, L, 1, ST_CONNECTED);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- the C side's API (tcp_socket.h) ---- */

struct tcp_socket *tcp_socket_test(lua_State *L, int idx) {
  return lnet_testself(L, idx, &tcp_socket_class);
}

int tcp_socket_push(lua_State *L, struct tcp_socket *s) {
  return push_self(L, s);
}

void tcp_socket_set_reader(struct tcp_socket *s, struct socket_reader *r) {
  s->reader = r;
}

struct socket_reader *tcp_socket_reader(const struct tcp_socket *s) {
  return s->reader;
}

struct buffer *tcp_socket_input(struct tcp_socket *s) {
  return &s->rb;
}

int tcp_socket_fd(const struct tcp_socket *s) {
  return s->base.fd;
}

bool tcp_socket_is_open(const struct tcp_socket *s) {
  return s->base.fd >= 0 && s->base.state == ST_CONNECTED;
}

size_t tcp_socket_queued(const struct tcp_socket *s) {
  return s->wq_bytes;
}

bool tcp_socket_send(struct tcp_socket *s, lua_State *L, int obj, const struct iovec *iov, int n) {
  return send_iov(s, L, obj, iov, n);
}

bool tcp_socket_send_file(struct tcp_socket *s, lua_State *L, int obj, int fd, off_t offset, size_t length) {
  return queue_file(s, L, obj, fd, offset, length);
}

void tcp_socket_disconnect(lua_State *L, int obj) {
  struct tcp_socket *s = tcp_socket_test(L, obj);
  if (s)
    disconnect(s, L, lua_absindex(L, obj));
}

void tcp_socket_pause_reading(struct tcp_socket *s) {
  tcp_socket_read_stop(s);
}

void tcp_socket_resume_reading(struct tcp_socket *s) {
  resume_reading(s);
}

/*** As Node's socket.unref(): an unref'd socket still
 * reads and emits, but waiting to read does not keep `luanetd script.lua`
 * (or net.exec) running; the HTTP client's idle keep-alive connections are
 * unref'd. A pending write or connect still keeps the loop.
 * @function unref
 */
static void set_weak(struct tcp_socket *s, bool weak) {
  if (s->weak == weak)
    return;
  /* Restarted under the new flag: read_start and read_stop keep the
   * loop's count. */
  bool reading = ev_is_active(&s->rio);
  if (reading)
    tcp_socket_read_stop(s);
  s->weak = weak;
  if (reading)
    tcp_socket_read_start(s);
}

void tcp_socket_set_weak(struct tcp_socket *s, bool weak) {
  set_weak(s, weak);
}

static int tcp_socket_unref(lua_State *L) {
  set_weak(tcp_socket_check(L, 1), true);
  return 0;
}

/*** Undoes unref: waiting to read keeps the loop running again.
 * @function ref
 */
static int tcp_socket_ref(lua_State *L) {
  set_weak(tcp_socket_check(L, 1), false);
  return 0;
}

static const luaL_Reg tcp_socket_methods[] = {
  { "connectToHost", tcp_socket_connect_lua },
  { "setSocketDescriptor", tcp_socket_setSocketDescriptor },
  { "disconnectFromHost", tcp_socket_disconnectFromHost },
  { "abort", tcp_socket_abort },
  { "close", tcp_socket_close },
  { "isOpen", tcp_socket_isOpen },
  { "peerAddress", tcp_socket_peerAddress },
  { "peerPort", tcp_socket_peerPort },
  { "peerName", tcp_socket_peerName },
  { "localAddress", tcp_socket_localAddress },
  { "localPort", tcp_socket_localPort },
  { "read", tcp_socket_read },
  { "readAll", tcp_socket_readAll },
  { "readLine", tcp_socket_readLine },
  { "canReadLine", tcp_socket_canReadLine },
  { "peek", tcp_socket_peek },
  { "atEnd", tcp_socket_atEnd },
  { "bytesAvailable", tcp_socket_bytesAvailable },
  { "write", tcp_socket_write },
  { "sendFile", tcp_socket_sendFile },
  { "flush", tcp_socket_flush },
  { "bytesToWrite", tcp_socket_bytesToWrite },
  { "setReadBufferSize", tcp_socket_setReadBufferSize },
  { "readBufferSize", tcp_socket_readBufferSize },
  { "setWriteBufferLimit", tcp_socket_setWriteBufferLimit },
  { "writeBufferLimit", tcp_socket_writeBufferLimit },
  { "setWriteHighWater", tcp_socket_setWriteHighWater },
  { "writeHighWater", tcp_socket_writeHighWater },
  { "setSocketOption", tcp_socket_setSocketOption },
  { "socketOption", tcp_socket_socketOption },
  { "waitForConnected", tcp_socket_waitForConnected },
  { "waitForReadyRead", tcp_socket_waitForReadyRead },
  { "waitForBytesWritten", tcp_socket_waitForBytesWritten },
  { "waitForDisconnected", tcp_socket_waitForDisconnected },
  { "unref", tcp_socket_unref },
  { "ref", tcp_socket_ref },
  { NULL, NULL },
};

static const struct lnet_class tcp_socket_class = {
  .id = LNET_ID_TCPSOCKET, .name = LNET_TCPSOCKET, .methods = tcp_socket_methods, .base_methods = abstract_socket_methods, .more_methods = tcp_socket_tls_methods,
  .gc = tcp_socket_gc, .close = tcp_socket_close_scope, .tostring = tcp_socket_tostring, .signals = signal_names,
  .signal_touched = tcp_socket_signal_touched,
  .constants = NULL, .construct = tcp_socket_new,
};

int luaopen_luanet_tcp_socket(lua_State *L) {
  lnet_class_register(L, &tcp_socket_class);
  socket_set_constants(L);
  struct lnet_runtime *rt = lnet_runtime(L);
  luaL_getmetatable(L, LNET_TCPSOCKET);
  rt->socket_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}
