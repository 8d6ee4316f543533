/* net.UdpSocket: QUdpSocket on a non-blocking datagram socket.
 *
 * Reading. Datagrams stay in the kernel's queue until a script reads them:
 * the read watcher only learns that one is pending (a MSG_PEEK probe),
 * emits readyRead, and switches itself off, as Qt disables its read
 * notifier. readDatagram switches it on again, so a slot that reads
 * nothing does not make the loop spin on a readable fd, and readyRead is
 * not emitted again while one of its slots runs or is suspended (the
 * watcher is on only while none is). readDatagram receives straight into
 * the runtime's scratch area and makes one Lua string of it: nothing is
 * allocated in C per datagram.
 *
 * Errors. IP_RECVERR (and IPV6_RECVERR) queue the ICMP errors that answer
 * the datagrams we sent (port unreachable: ECONNREFUSED) on the socket's
 * error queue. epoll reports a queued error as EPOLLERR, which libev hands
 * to the read watcher as readable; the watcher drains the queue with
 * MSG_ERRQUEUE and reports each error the Qt way (errorOccurred, error()).
 * The kernel also leaves the error in sk_err, which the next send or recv
 * returns once: those calls retry, so an error that belongs to an earlier
 * datagram never fails this one, and the report comes from the queue.
 *
 * Addresses. bind() with no address takes Qt 5's Any: [::] with V6ONLY off
 * (0.0.0.0 on a host without IPv6). An IPv4 destination is sent from such
 * a socket as ::ffff:a.b.c.d, and a v4-mapped sender is reported as the
 * IPv4 address it is, so that it compares equal to "127.0.0.1".
 *
 * Lifetime. A bound socket is anchored in the registry (so a receiver that
 * no variable holds keeps receiving), and so is a socket whose readyRead
 * slot is suspended; close, abort, __close and __gc release both. */
#include "abstract_socket.h"
#include "host_address.h"
#include "object.h"
#include "runtime.h"
#include "signals.h"
#include "task.h"
#include "net.h"
#include "socket_error.h"
#include "socket_option.h"
#include "udp.h"
#include "udp_socket.h"
#include "wait.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*** net.UdpSocket: datagrams, as Qt's QUdpSocket. bind, then readyRead
 * says a datagram waits and readDatagram takes it; writeDatagram sends
 * one (an unbound socket binds to Any first). A bound socket keeps itself
 * alive; a to-be-closed variable closes it. The ICMP errors that answer what was sent
 * (port unreachable) are reported as errorOccurred(ConnectionRefusedError).
 * AbstractSocket's methods and enums are this class's too.
 * @classmod UdpSocket
 * @qt QUdpSocket
 * @see AbstractSocket
 * @usage local udp = net.UdpSocket()
 * udp.readyRead:connect(function()
 *   while udp:hasPendingDatagrams() do
 *     local data, host, port = udp:readDatagram()
 *     udp:writeDatagram(data, host, port)   -- echo
 *   end
 * end)
 * assert(udp:bind("127.0.0.1", 7000), udp:errorString())
 */

/*** Emitted when a datagram waits to be read; not again until a
 * readDatagram (or a waitForReadyRead), nor while a slot of it runs.
 * @signal readyRead
 * @qt QIODevice::readyRead
 */
/*** Emitted when writeDatagram has sent a datagram.
 * @signal bytesWritten
 * @tparam integer bytes its size
 * @qt QIODevice::bytesWritten
 */
/*** Emitted when the state changes (BoundState after bind; ClosingState,
 * UnconnectedState after close).
 * @signal stateChanged
 * @tparam string state the new SocketState
 * @qt QAbstractSocket::stateChanged
 */
/*** Emitted when an error happens; error() and errorString() say it too.
 * @signal errorOccurred
 * @tparam string error the SocketError
 * @qt QAbstractSocket::errorOccurred
 */
static const struct lnet_class udp_socket_class;

#define WAIT_DEFAULT_MS 30000
#define MAX_IPV4_DATAGRAM 65507   /* 65535 - 20 (IPv4 header) - 8 (UDP header) */
#define ERRORS_PER_EVENT 64       /* queued ICMP errors reported per turn */


enum { SIG_READY_READ = 1, SIG_BYTES_WRITTEN, SIG_STATE_CHANGED, SIG_ERROR_OCCURRED };
static const char *const signal_names[] = {
  "readyRead", "bytesWritten", "stateChanged", "errorOccurred", NULL,
};

/*** How bind shares its address and port with other sockets (class
 * constants; combinable as "ShareAddress|ReuseAddressHint" or a list).
 * Qt's BindFlag values, so that a table of names ORs like Qt's flags.
 * @enum BindMode
 * @field DefaultForPlatform Qt: 0x0, the default
 * @field ShareAddress Qt: 0x1, SO_REUSEADDR (and SO_REUSEPORT): other sockets may bind the same address and port
 * @field DontShareAddress Qt: 0x2, no other socket may bind it
 * @field ReuseAddressHint Qt: 0x4, SO_REUSEADDR
 * @qt QAbstractSocket::BindFlag
 */
enum { BF_DEFAULT = 0, BF_SHARE = NET_UDP_SHARE, BF_DONT_SHARE = NET_UDP_DONT_SHARE, BF_REUSE_HINT = NET_UDP_REUSE_HINT };
static const char *const bind_flag_names[] = {
  "DefaultForPlatform", "ShareAddress", "DontShareAddress", "ReuseAddressHint", NULL,
};
static const unsigned bind_flag_values[] = { BF_DEFAULT, BF_SHARE, BF_DONT_SHARE, BF_REUSE_HINT };

struct udp_socket {
  struct abstract_socket base;   /* first: fd, state, error, anchors (ref: while bound) */
  ev_io rio;
  int family;               /* of fd: AF_INET or AF_INET6 */
  bool notify;              /* Qt's read notifier: off from readyRead to the next read */
  bool sent;                /* a datagram left: ICMP errors may come back */
  unsigned mcast_ifindex;   /* setMulticastInterface; 0: the kernel's choice */
  unsigned options_set;     /* bit i: option i was set, applied again at bind */
  int options[NOPTIONS];
  struct lnet_wait wait;    /* waitForReadyRead */
};

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void wait_timed_out(struct lnet_wait *w);

static struct udp_socket *udp_socket_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &udp_socket_class);
}

/* ---- signals, state, errors ---- */

/* [-0, +1, -] Pushes the socket object; valid while it is anchored (while
 * bound). Returns its stack index. */
static int push_self(lua_State *L, struct udp_socket *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->base.ref);
  return lua_gettop(L);
}

/* The read watcher runs while a waitForReadyRead waits, or while the
 * notifier is on and no readyRead slot is busy. */
static void update_watcher(struct udp_socket *s) {
  struct ev_loop *loop = s->base.rt->loop;
  if (!loop)
    return;
  bool want = s->base.fd >= 0 && (s->wait.active || (s->notify && s->base.read_busy == 0));
  if (want && !ev_is_active(&s->rio))
    ev_io_start(loop, &s->rio);
  else if (!want && ev_is_active(&s->rio))
    ev_io_stop(loop, &s->rio);
}

static void set_state(struct udp_socket *s, lua_State *L, int obj, enum socket_state st) {
  abstract_socket_set_state(&s->base, L, obj, st, SIG_STATE_CHANGED);
}

static void set_errno_error(struct udp_socket *s, int err) {
  const char *text;
  enum socket_error e = socket_error_from_errno(err, &text);
  abstract_socket_set_error(&s->base, e, text);
}

static void emit_error(struct udp_socket *s, lua_State *L, int obj, enum socket_error e, const char *text) {
  abstract_socket_emit_error(&s->base, L, obj, e, text, SIG_ERROR_OCCURRED);
}

/* Sets the error, emits errorOccurred and returns false to Lua (self is 1). */
static int fail(lua_State *L, struct udp_socket *s, enum socket_error e, const char *text) {
  emit_error(s, L, 1, e, text);
  lua_pushboolean(L, 0);
  return 1;
}

/* As fail, without errorOccurred: Qt reports these through the return
 * value and error() only (multicast membership, a call in the wrong state). */
static int fail_quietly(lua_State *L, struct udp_socket *s, enum socket_error e, const char *text) {
  abstract_socket_set_error(&s->base, e, text);
  lua_pushboolean(L, 0);
  return 1;
}

static const char NOT_PERMITTED[] = "Operation on socket is not permitted in this socket state";

static void wake(struct udp_socket *s, bool result) {
  if (s->wait.active)
    lnet_wait_finish(s->base.rt, &s->wait, result);
}

/* ---- reading ---- */

/* Reports what waits on the error queue; stops early if a slot closed us. */
static void report_queued_errors(struct udp_socket *s, lua_State *L, int obj) {
  for (int i = 0; i < ERRORS_PER_EVENT && s->base.fd >= 0; i++) {
    int err = net_udp_next_queued_error(s->base.fd);
    if (err < 0)
      break;
    if (err == 0)
      continue;
    const char *text;
    enum socket_error e = socket_error_from_errno(err, &text);
    emit_error(s, L, obj, e, text);
  }
}

static void ready_read_done(struct lnet_runtime *rt, void *ud, enum task_status st);

/* Emits readyRead with the notifier off, then releases a waiter that was
 * waiting before the emit (one that a slot started waits for the next). */
static void emit_ready_read(struct udp_socket *s, lua_State *L, int obj) {
  bool waiting = s->wait.active;
  s->notify = false;
  abstract_socket_emit_busy(&s->base, L, obj, SIG_READY_READ, ready_read_done);
  if (waiting)
    wake(s, true);
}

/* The last suspended readyRead slot ended: if it read, listen again. */
static void ready_read_done(struct lnet_runtime *rt, void *ud, enum task_status st) {
  (void)st;
  struct udp_socket *s = ud;   /* its base, the struct's first member */
  if (!abstract_socket_slot_done(&s->base, rt->L))
    return;
  update_watcher(s);
  lua_pop(rt->L, 1);
}

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct udp_socket *s = (struct udp_socket *)((char *)w - offsetof(struct udp_socket, rio));
  lua_State *L = s->base.rt->L;
  int obj = push_self(L, s);
  /* A sender looks at its error queue first, so that an error is not held
   * back behind datagrams that keep coming. */
  if (s->sent)
    report_queued_errors(s, L, obj);
  if (s->base.fd >= 0) {
    if (net_udp_pending_size(s->base.fd) < 0) {
      if (!s->sent)   /* readable with nothing queued: an error woke us */
        report_queued_errors(s, L, obj);
    } else if (s->notify && s->base.read_busy == 0) {
      emit_ready_read(s, L, obj);
    } else {
      wake(s, true);   /* a wait inside a busy slot: no readyRead now */
    }
  }
  update_watcher(s);
  lua_settop(L, obj - 1);
}

/*** The next datagram, its sender's address and port; nil
 * when no datagram is pending. A datagram longer than maxSize is cut to
 * it, and the rest is lost, as in Qt.
 * @function readDatagram
 * @tparam[opt] integer maxSize
 * @treturn string data
 * @treturn HostAddress sender (an IPv4-mapped address as the IPv4 address it is)
 * @treturn integer sender's port
 * @qt QUdpSocket::readDatagram
 */
static int udp_socket_readDatagram(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  lua_Integer max = -1;
  if (!lua_isnoneornil(L, 2)) {
    max = luaL_checkinteger(L, 2);
    luaL_argcheck(L, max >= 0, 2, "size must not be negative");
  }
  lua_settop(L, 1);
  if (s->base.fd < 0 || s->base.state != ST_BOUND)
    return 0;   /* Qt warns and returns -1; error() stays as it was */
  struct lnet_runtime *rt = s->base.rt;
  s->notify = true;   /* a read turns Qt's notifier back on */
  struct sockaddr_storage from;
  memset(&from, 0, sizeof from);
  ssize_t n;
  if (rt->scratch && !rt->scratch_busy) {
    /* The scratch (64 KiB) holds any datagram but an IPv6 jumbogram. */
    size_t cap = max >= 0 && (size_t)max < LNET_SCRATCH_SIZE ? (size_t)max : LNET_SCRATCH_SIZE;
    n = net_udp_recv(s->base.fd, rt->scratch, cap, &from);
    if (n >= 0)
      lua_pushlstring(L, rt->scratch, (size_t)n);
  } else {
    /* A TcpSocket's readyRead slot has the scratch: size a buffer once. */
    ssize_t size = net_udp_pending_size(s->base.fd);
    if (size < 0) {
      n = -1;
      errno = EAGAIN;
    } else {
      size_t cap = max >= 0 && max < size ? (size_t)max : (size_t)size;
      luaL_Buffer b;
      char *p = luaL_buffinitsize(L, &b, cap);
      n = net_udp_recv(s->base.fd, p, cap, &from);
      luaL_pushresultsize(&b, n > 0 ? (size_t)n : 0);
      if (n < 0)
        lua_pop(L, 1);
    }
  }
  update_watcher(s);
  if (n > 0)
    rt->counters->bytes_in += (size_t)n;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      emit_error(s, L, 1, SE_TEMPORARY, "No datagram available for reading");
    else
      emit_error(s, L, 1, SE_NETWORK, "Unable to receive a message");
    return 0;
  }
  net_addr_unmap_v4(&from);
  host_address_push(L, (struct sockaddr *)&from);
  lua_pushinteger(L, net_addr_port((struct sockaddr *)&from));
  return 3;
}

/*** Whether a datagram waits to be read.
 * @function hasPendingDatagrams
 * @treturn boolean
 * @qt QUdpSocket::hasPendingDatagrams
 */
static int udp_socket_hasPendingDatagrams(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  lua_pushboolean(L, s->base.fd >= 0 && net_udp_pending_size(s->base.fd) >= 0);
  return 1;
}

/*** The size of the next datagram.
 * @function pendingDatagramSize
 * @treturn integer bytes, -1 when none waits
 * @qt QUdpSocket::pendingDatagramSize
 */
static int udp_socket_pendingDatagramSize(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  lua_pushinteger(L, s->base.fd >= 0 ? (lua_Integer)net_udp_pending_size(s->base.fd) : -1);
  return 1;
}

/* ---- binding and closing ---- */

/* The bind mode argument: nil, a BindFlag name, names joined with "|"
 * ("ShareAddress|ReuseAddressHint"), or a table of names. */
static unsigned check_flag(lua_State *L, int arg, const char *name, size_t len) {
  for (int i = 0; bind_flag_names[i]; i++)
    if (strlen(bind_flag_names[i]) == len && memcmp(bind_flag_names[i], name, len) == 0)
      return bind_flag_values[i];
  return (unsigned)luaL_argerror(L, arg, lua_pushfstring(L, "invalid bind flag '%s'",
                                                         lua_pushlstring(L, name, len)));
}

static unsigned check_flags_string(lua_State *L, int arg, const char *text) {
  unsigned flags = 0;
  for (;;) {
    text += strspn(text, " ");
    size_t len = strcspn(text, "|");
    size_t end = len;
    while (end > 0 && text[end - 1] == ' ')
      end--;
    flags |= check_flag(L, arg, text, end);
    if (text[len] == '\0')
      return flags;
    text += len + 1;
  }
}

static unsigned check_bind_mode(lua_State *L, int arg) {
  switch (lua_type(L, arg)) {
  case LUA_TNONE:
  case LUA_TNIL:
    return BF_DEFAULT;
  case LUA_TSTRING:
    return check_flags_string(L, arg, lua_tostring(L, arg));
  case LUA_TTABLE: {
    unsigned flags = 0;
    lua_Integer n = luaL_len(L, arg);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, arg, i);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, arg, "bind flags must be strings");
      flags |= check_flags_string(L, arg, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    return flags;
  }
  default:
    return (unsigned)luaL_typeerror(L, arg, "string or table");
  }
}

static void check_address_arg(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TSTRING && !luaL_testudata(L, arg, LNET_HOSTADDRESS))
    luaL_typeerror(L, arg, "string or HostAddress");
}

/* Applies what was set before the socket existed. */
static void apply_options(struct udp_socket *s) {
  for (int i = 0; i < NOPTIONS; i++)
    if (s->options_set & (1u << i))
      net_set_option(s->base.fd, s->family, i, s->options[i]);
  if (s->mcast_ifindex)
    net_udp_set_multicast_if(s->base.fd, s->family, s->mcast_ifindex);
}

/* The socket (at index 1) takes a bound fd: BoundState, reading. */
static void take_bound_fd(lua_State *L, struct udp_socket *s, int fd, int family) {
  s->base.fd = fd;
  s->family = family;
  s->sent = false;
  s->notify = true;
  apply_options(s);
  if (s->base.ref == LUA_NOREF)
    s->base.ref = lnet_anchor(L, 1);
  ev_io_set(&s->rio, fd, EV_READ);
  update_watcher(s);
  set_state(s, L, 1, ST_BOUND);
}

/* Binds (the object is at stack index 1): BoundState and stateChanged, or
 * false with errorOccurred as Qt's bind. `any` is Qt's dual-stack Any. */
static bool do_bind(lua_State *L, struct udp_socket *s, struct net_addr *addr, bool any,
                    unsigned flags) {
  int fd = net_udp_open(addr, any, flags);
  if (fd < 0 && any && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
    net_addr_any(AF_INET, net_addr_port((struct sockaddr *)&addr->ss), addr);   /* no IPv6 */
    fd = net_udp_open(addr, false, flags);
  }
  if (fd < 0) {
    const char *text;
    enum socket_error e = socket_error_from_errno(errno, &text);
    emit_error(s, L, 1, e, text);
    return false;
  }
  take_bound_fd(L, s, fd, addr->ss.ss_family);
  return true;
}

/*** Binds the socket: BoundState and stateChanged, then it receives.
 * Without an address it is Any ([::] taking IPv4 too). Called as
 * bind([address], [port], [mode]) or bind(port, [mode]).
 * @function bind
 * @tparam[opt] string|HostAddress address an address literal, a HostAddress, or "Any", "LocalHost"...
 * @tparam[opt=0] integer port 0: one the system picks (localPort says which)
 * @tparam[opt] string|table mode BindMode names
 * @treturn boolean true, or false
 * with error()/errorString() and errorOccurred (false without it, with
 * OperationError, on a socket already bound)
 * @qt QAbstractSocket::bind
 */
static int udp_socket_bind(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  int addr_arg = 0, port_arg = 2, mode_arg = 3;
  if (lua_type(L, 2) != LUA_TNUMBER) {
    if (!lua_isnoneornil(L, 2)) {
      check_address_arg(L, 2);
      addr_arg = 2;
    }
    port_arg = 3, mode_arg = 4;
  }
  lua_Integer port = luaL_optinteger(L, port_arg, 0);
  luaL_argcheck(L, port >= 0 && port <= 65535, port_arg, "port out of range");
  unsigned flags = check_bind_mode(L, mode_arg);
  struct net_addr addr;
  bool any = true;
  if (addr_arg) {
    enum host_address_kind kind = host_address_get(L, addr_arg, (int)port, &addr);
    if (kind == HA_NULL)
      return luaL_argerror(L, addr_arg, "not an IP address");
    any = kind == HA_ANY;
  } else {
    net_addr_any(AF_INET6, (int)port, &addr);
  }
  lua_settop(L, 1);
  if (s->base.fd >= 0 || s->base.state != ST_UNCONNECTED)
    return fail_quietly(L, s, SE_OPERATION, NOT_PERMITTED);
  lua_pushboolean(L, do_bind(L, s, &addr, any, flags));
  return 1;
}

/* Stops the watcher and closes the fd; emits nothing. Idempotent. */
static void close_fd(struct udp_socket *s) {
  if (s->base.rt->loop)
    ev_io_stop(s->base.rt->loop, &s->rio);
  if (s->base.fd >= 0) {
    close(s->base.fd);
    s->base.fd = -1;
  }
}

/* The end of a bound socket: a waiter learns of it, the anchor goes, and
 * stateChanged(UnconnectedState) comes last (obj, at index 1, holds us). */
static void finish_close(lua_State *L, struct udp_socket *s) {
  close_fd(s);
  lnet_unanchor(L, &s->base.ref);
  wake(s, false);
  set_state(s, L, 1, ST_UNCONNECTED);
}

/*** Closes the socket: ClosingState, then UnconnectedState, as PyQt5 shows.
 * @function close
 * @qt QAbstractSocket::close
 */
static int udp_socket_close(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  lua_settop(L, 1);
  if (s->base.state == ST_UNCONNECTED && s->base.fd < 0)
    return 0;
  set_state(s, L, 1, ST_CLOSING);
  if (s->base.state == ST_CLOSING)   /* a slot may have aborted us already */
    finish_close(L, s);
  return 0;
}

/*** Closes the socket, straight to UnconnectedState.
 * @function abort
 * @qt QAbstractSocket::abort
 */
static int udp_socket_abort(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  lua_settop(L, 1);
  if (s->base.state != ST_UNCONNECTED || s->base.fd >= 0)
    finish_close(L, s);
  return 0;
}

/* Releases everything and emits nothing. Idempotent. */
static void release(lua_State *L, struct udp_socket *s) {
  close_fd(s);
  s->base.state = ST_UNCONNECTED;
  lnet_unanchor(L, &s->base.ref);
}

/* __gc: nothing can wait on a collected socket (a waiting task holds it),
 * and at lua_close no task may be resumed. */
static int udp_socket_gc(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  if (s->base.rt->loop)
    ev_timer_stop(s->base.rt->loop, &s->wait.timer);
  s->wait.active = false;
  release(L, s);
  return 0;
}

/* __close: silent as __gc, but a task waiting on the socket learns of it. */
static int udp_socket_close_scope(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  release(L, s);
  wake(s, false);
  return 0;
}

/* ---- writing ---- */

/*** Sends one datagram. An unbound
 * socket binds to Any first, as Qt's does.
 * @function writeDatagram
 * @tparam string data at most 65,507 bytes to an IPv4 address
 * @tparam string|HostAddress host an address (no host name)
 * @tparam integer port
 * @treturn integer|boolean the bytes sent, or false (DatagramTooLargeError, TemporaryError, NetworkError...) with errorOccurred
 * @qt QUdpSocket::writeDatagram
 */
static int udp_socket_writeDatagram(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  check_address_arg(L, 3);
  lua_Integer port = luaL_checkinteger(L, 4);
  luaL_argcheck(L, port >= 0 && port <= 65535, 4, "port out of range");
  struct net_addr to;
  if (host_address_get(L, 3, (int)port, &to) == HA_NULL)
    return luaL_argerror(L, 3, "not an IP address");
  lua_settop(L, 4);
  struct net_addr probe = to;
  net_addr_unmap_v4(&probe.ss);
  /* IPv4 cannot carry more; IPv6 can (65,527), and the kernel says so. */
  if (probe.ss.ss_family == AF_INET && len > MAX_IPV4_DATAGRAM)
    return fail(L, s, SE_DATAGRAM_TOO_LARGE, "Datagram was too large to send");
  if (s->base.fd < 0) {
    if (s->base.state != ST_UNCONNECTED)
      return fail(L, s, SE_OPERATION, NOT_PERMITTED);
    struct net_addr any;
    net_addr_any(AF_INET6, 0, &any);
    if (!do_bind(L, s, &any, true, BF_DEFAULT))
      return lua_pushboolean(L, 0), 1;
    if (s->base.fd < 0)   /* a stateChanged slot closed it */
      return fail(L, s, SE_OPERATION, NOT_PERMITTED);
  }
  net_addr_fit_family(&to, s->family);
  ssize_t n = net_udp_send(s->base.fd, data, len, &to);
  if (n > 0)
    s->base.rt->counters->bytes_out += (size_t)n;
  if (n < 0) {
    switch (errno) {
    case EMSGSIZE:
      return fail(L, s, SE_DATAGRAM_TOO_LARGE, "Datagram was too large to send");
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ENOBUFS:
      return fail(L, s, SE_TEMPORARY, "Unable to send a datagram");
    case ECONNREFUSED:
      return fail(L, s, SE_CONNECTION_REFUSED, "Connection refused");
    default:
      return fail(L, s, SE_NETWORK, "Unable to send a datagram");
    }
  }
  if (!s->sent) {
    s->sent = true;
    update_watcher(s);
  }
  if (lnet_has_slots(L, 1, SIG_BYTES_WRITTEN)) {
    lua_pushinteger(L, n);
    lnet_emit(s->base.rt, L, 1, SIG_BYTES_WRITTEN, 1, NULL, NULL);
  }
  lua_pushinteger(L, n);
  return 1;
}

/* ---- multicast ---- */

static int membership(lua_State *L, bool join) {
  struct udp_socket *s = udp_socket_check(L, 1);
  check_address_arg(L, 2);
  const char *iface = luaL_optstring(L, 3, NULL);
  struct net_addr group;
  enum host_address_kind kind = host_address_get(L, 2, 0, &group);
  if (kind == HA_NULL)
    return luaL_argerror(L, 2, "not an IP address");
  lua_settop(L, 1);
  if (s->base.fd < 0 || s->base.state != ST_BOUND)
    return fail_quietly(L, s, SE_OPERATION, NOT_PERMITTED);
  unsigned ifindex = 0;
  if (iface && *iface && (ifindex = if_nametoindex(iface)) == 0) {
    set_errno_error(s, errno);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (kind == HA_ANY || net_udp_membership(s->base.fd, s->family, &group, ifindex, join) < 0) {
    set_errno_error(s, kind == HA_ANY ? EINVAL : errno);
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/*** Joins a multicast group, on a bound socket.
 * @function joinMulticastGroup
 * @tparam string|HostAddress group
 * @tparam[opt] string interface an interface's name ("eth0"); the kernel chooses by default
 * @treturn boolean true, or false with error() and errorString()
 * @qt QUdpSocket::joinMulticastGroup
 */
static int udp_socket_joinMulticastGroup(lua_State *L) {
  return membership(L, true);
}

/*** Leaves a multicast group.
 * @function leaveMulticastGroup
 * @tparam string|HostAddress group
 * @tparam[opt] string interface
 * @treturn boolean true, or false with error() and errorString()
 * @qt QUdpSocket::leaveMulticastGroup
 */
static int udp_socket_leaveMulticastGroup(lua_State *L) {
  return membership(L, false);
}

/*** Where multicast leaves from; "" or nil
 * gives the choice back to the kernel. Kept for a socket bound later.
 * False for a name that is no interface.
 * @function setMulticastInterface
 * @tparam[opt] string name an interface's name
 * @treturn boolean
 * @qt QUdpSocket::setMulticastInterface
 */
static int udp_socket_setMulticastInterface(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  const char *name = luaL_optstring(L, 2, "");
  unsigned ifindex = *name ? if_nametoindex(name) : 0;
  if (*name && ifindex == 0) {
    set_errno_error(s, errno);
    lua_pushboolean(L, 0);
    return 1;
  }
  s->mcast_ifindex = ifindex;
  bool ok = s->base.fd < 0 || net_udp_set_multicast_if(s->base.fd, s->family, ifindex) == 0;
  if (!ok)
    set_errno_error(s, errno);
  lua_pushboolean(L, ok);
  return 1;
}

/*** The interface multicast leaves from.
 * @function multicastInterface
 * @treturn string|nil its name, or nil when none is set
 * @qt QUdpSocket::multicastInterface
 */
static int udp_socket_multicastInterface(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  char name[IF_NAMESIZE];
  if (!s->mcast_ifindex || !if_indextoname(s->mcast_ifindex, name))
    return 0;
  lua_pushstring(L, name);
  return 1;
}

/* ---- socket options ---- */

/*** Sets a socket option; value an integer or a boolean. Before
 * bind the option is kept and set when the socket is made.
 * @function setSocketOption
 * @tparam string option a SocketOption name
 * @tparam integer|boolean value
 * @treturn boolean false when the system refused
 * @qt QAbstractSocket::setSocketOption
 */
static int udp_socket_setSocketOption(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  int opt = luaL_checkoption(L, 2, NULL, socket_option_names);
  int value = lnet_check_option_value(L, 3);
  bool ok = s->base.fd < 0 || net_set_option(s->base.fd, s->family, opt, value) == 0;
  if (ok) {
    s->options[opt] = value;
    s->options_set |= 1u << opt;
  }
  lua_pushboolean(L, ok);
  return 1;
}

/*** A socket option's value (before bind, the one set).
 * @function socketOption
 * @tparam string option a SocketOption name
 * @treturn integer|nil nil when it cannot be read
 * @qt QAbstractSocket::socketOption
 */
static int udp_socket_socketOption(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  int opt = luaL_checkoption(L, 2, NULL, socket_option_names);
  int value;
  if (s->base.fd >= 0) {
    if (net_get_option(s->base.fd, s->family, opt, &value) < 0)
      return 0;
  } else if (s->options_set & (1u << opt)) {
    value = s->options[opt];
  } else {
    return 0;
  }
  lua_pushinteger(L, value);
  return 1;
}

/* ---- waiting ---- */

static void wait_timed_out(struct lnet_wait *w) {
  struct udp_socket *s = (struct udp_socket *)((char *)w - offsetof(struct udp_socket, wait));
  abstract_socket_set_error(&s->base, SE_TIMEOUT, "Network operation timed out");
}

/*** True at once when a datagram is pending, else
 * when readyRead comes; false on time-out (SocketTimeoutError) or close.
 * Suspends a task; runs the loop nested elsewhere.
 * @function waitForReadyRead
 * @tparam[opt=30000] number ms
 * @treturn boolean
 * @qt QAbstractSocket::waitForReadyRead
 */
static int udp_socket_waitForReadyRead(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  double ms = lnet_opt_ms(L, 2, WAIT_DEFAULT_MS);
  lua_settop(L, 1);
  if (s->base.fd < 0 || s->base.state != ST_BOUND) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (net_udp_pending_size(s->base.fd) >= 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (s->wait.active)
    return luaL_error(L, "another task is already waiting on this object");
  s->notify = true;   /* as Qt's, this wait emits readyRead */
  if (s->base.rt->loop)
    ev_io_start(s->base.rt->loop, &s->rio);   /* even inside a busy readyRead slot */
  return lnet_wait(L, s->base.rt, &s->wait, ms);
}

/* ---- state and addresses ---- */

static bool local_name(struct udp_socket *s, struct sockaddr_storage *ss) {
  socklen_t len = sizeof *ss;
  memset(ss, 0, sizeof *ss);
  if (s->base.fd < 0 || getsockname(s->base.fd, (struct sockaddr *)ss, &len) < 0) {
    ss->ss_family = AF_UNSPEC;   /* the null address */
    return false;
  }
  net_addr_unmap_v4(ss);
  return true;
}

/*** The address the socket is bound to; the null address when unbound.
 * @function localAddress
 * @treturn HostAddress
 * @qt QAbstractSocket::localAddress
 */
static int udp_socket_localAddress(lua_State *L) {
  struct sockaddr_storage ss;
  local_name(udp_socket_check(L, 1), &ss);
  host_address_push(L, (struct sockaddr *)&ss);
  return 1;
}

/*** The port the socket is bound to; 0 when unbound.
 * @function localPort
 * @treturn integer
 * @qt QAbstractSocket::localPort
 */
static int udp_socket_localPort(lua_State *L) {
  struct sockaddr_storage ss;
  local_name(udp_socket_check(L, 1), &ss);
  lua_pushinteger(L, net_addr_port((struct sockaddr *)&ss));
  return 1;
}

static int udp_socket_tostring(lua_State *L) {
  struct udp_socket *s = udp_socket_check(L, 1);
  struct sockaddr_storage ss;
  if (!local_name(s, &ss)) {
    lua_pushfstring(L, LNET_UDPSOCKET " (%s)", s->base.fd < 0 ? "closed" : socket_state_names[s->base.state]);
    return 1;
  }
  char buf[NET_ADDRSTRLEN];
  net_addr_format((struct sockaddr *)&ss, buf);
  lua_pushfstring(L, ss.ss_family == AF_INET6 ? LNET_UDPSOCKET " (%s [%s]:%d)"
                                              : LNET_UDPSOCKET " (%s %s:%d)",
                  socket_state_names[s->base.state], buf, net_addr_port((struct sockaddr *)&ss));
  return 1;
}

/* ---- construction ---- */

/* A readyRead slot connected after an emit that nobody heard would wait
 * for a read that nobody makes: the first touch of the signal turns the
 * notifier back on. */
static void udp_socket_signal_touched(void *obj, int id) {
  struct udp_socket *s = obj;
  if (id == SIG_READY_READ && !s->notify) {
    s->notify = true;
    update_watcher(s);
  }
}

/* adopt_call(socket, fd, family): the daemon's bound listener. */
static int adopt_call(lua_State *L) {
  struct udp_socket *s = lua_touserdata(L, 1);
  take_bound_fd(L, s, (int)lua_tointeger(L, 2), (int)lua_tointeger(L, 3));
  return 0;
}

/*** A new socket: unbound, as QUdpSocket(); the fd comes with bind.
 * @function net.UdpSocket
 * @treturn UdpSocket
 * @qt QUdpSocket::QUdpSocket
 */
static int udp_socket_new(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  struct udp_socket *s = lnet_newobject(L, sizeof *s, &udp_socket_class, 1);
  abstract_socket_init(&s->base, &udp_socket_class, rt);
  ev_init(&s->rio, rio_cb);
  lnet_wait_init(&s->wait, wait_timed_out);
  return 1;
}

void udp_socket_push_bound(lua_State *L, int fd) {
  int top = lua_gettop(L);
  lua_pushcfunction(L, udp_socket_new);
  lua_call(L, 0, 1);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int family = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : AF_INET;
  net_udp_prepare(fd, family);
  /* take_bound_fd works on the object at index 1: run it in a call. */
  lua_pushcfunction(L, adopt_call);
  lua_pushvalue(L, -2);
  lua_pushinteger(L, fd);
  lua_pushinteger(L, family);
  lua_call(L, 3, 0);
  lua_settop(L, top + 1);
}

static const luaL_Reg udp_socket_methods[] = {
  { "bind", udp_socket_bind },
  { "writeDatagram", udp_socket_writeDatagram },
  { "readDatagram", udp_socket_readDatagram },
  { "hasPendingDatagrams", udp_socket_hasPendingDatagrams },
  { "pendingDatagramSize", udp_socket_pendingDatagramSize },
  { "joinMulticastGroup", udp_socket_joinMulticastGroup },
  { "leaveMulticastGroup", udp_socket_leaveMulticastGroup },
  { "setMulticastInterface", udp_socket_setMulticastInterface },
  { "multicastInterface", udp_socket_multicastInterface },
  { "setSocketOption", udp_socket_setSocketOption },
  { "socketOption", udp_socket_socketOption },
  { "waitForReadyRead", udp_socket_waitForReadyRead },
  { "localAddress", udp_socket_localAddress },
  { "localPort", udp_socket_localPort },
  { "close", udp_socket_close },
  { "abort", udp_socket_abort },
  { NULL, NULL },
};

static const struct lnet_class udp_socket_class = {
  .id = LNET_ID_UDPSOCKET, .name = LNET_UDPSOCKET, .methods = udp_socket_methods, .base_methods = abstract_socket_methods,
  .gc = udp_socket_gc, .close = udp_socket_close_scope, .tostring = udp_socket_tostring, .signals = signal_names,
  .signal_touched = udp_socket_signal_touched, .constants = bind_flag_names, .construct = udp_socket_new,
};

int luaopen_luanet_udp_socket(lua_State *L) {
  lnet_class_register(L, &udp_socket_class);
  socket_set_constants(L);
  return 1;
}
