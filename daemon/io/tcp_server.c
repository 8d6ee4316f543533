/* net.TcpServer: QTcpServer on a listening fd and one ev_io.
 *
 * Each readable turn accepts up to ACCEPTS_PER_EVENT connections; each
 * becomes a connected TcpSocket, queued for nextPendingConnection(), and
 * newConnection is emitted once per connection, as Qt does. The queue (user
 * value 2, an array from pending_head to pending_tail) holds at most
 * maxPendingConnections sockets: when it is full the server stops accepting
 * and the kernel's backlog holds the rest, until a script takes one.
 * When accept() meets EMFILE the listener pauses for ACCEPT_RETRY_SECONDS
 * instead of spinning on a readable fd it cannot accept from. */
#include "host_address.h"
#include "object.h"
#include "runtime.h"
#include "signals.h"
#include "net.h"
#include "socket_error.h"
#include "tcp_server.h"
#include "tls_config.h"
#include "tcp_socket.h"
#include "wait.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/*** net.TcpServer: a listening TCP socket, as Qt's QTcpServer. Each
 * connection it accepts is a connected TcpSocket, queued until
 * nextPendingConnection takes it; newConnection is emitted once per
 * connection. A listening server keeps itself alive; a to-be-closed variable closes it.
 * @classmod TcpServer
 * @qt QTcpServer
 * @usage local server = net.TcpServer()
 * server.newConnection:connect(function()
 *   local sock = server:nextPendingConnection()
 *   sock.readyRead:connect(function() sock:write(sock:readAll()) end)
 * end)
 * assert(server:listen("127.0.0.1", 7000), server:errorString())
 */

/*** Emitted once for each connection accepted (and queued).
 * @signal newConnection
 * @qt QTcpServer::newConnection
 */
/*** Emitted when accepting fails for lack of descriptors or memory
 * (SocketResourceError); the server tries again 100 ms later.
 * @signal acceptError
 * @tparam string error the SocketError
 * @qt QTcpServer::acceptError
 */
static const struct lnet_class tcp_server_class;

#define ACCEPTS_PER_EVENT 64
#define ACCEPT_RETRY_SECONDS 0.1
#define DEFAULT_MAX_PENDING 30
#define LISTEN_BACKLOG 511

enum { SIG_NEW_CONNECTION = 1, SIG_ACCEPT_ERROR };
static const char *const signal_names[] = { "newConnection", "acceptError", NULL };

struct tcp_server {
  struct lnet_object obj;   /* first: its class */
  struct lnet_runtime *rt;
  ev_io io;
  ev_timer retry;            /* resumes accepting after EMFILE */
  int fd;
  int ref;                   /* anchor while listening */
  int max_pending;
  lua_Integer pending_head, pending_tail;
  bool paused;               /* pauseAccepting() */
  bool held;                 /* the daemon's: a reload not yet switched to */
  enum socket_error error;
  const char *error_string;
  struct lnet_wait wait;
  struct tcp_server *next_listening;   /* rt->listening: servers with an fd */
  struct tls_context *tls;   /* setSslConfiguration: accepted sockets are encrypted */
};

static struct tcp_server *tcp_server_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &tcp_server_class);
}

static int pending_count(struct tcp_server *sv) {
  return (int)(sv->pending_tail - sv->pending_head);
}

/* The service holds max_connections: new ones wait in the backlog. */
static bool at_capacity(const struct lnet_runtime *rt) {
  return rt->max_connections && rt->open_sockets >= rt->max_connections;
}

/* Accepting runs while listening, not paused, not full, under capacity. */
static void update_accepting(struct tcp_server *sv) {
  bool want = sv->fd >= 0 && !sv->paused && !sv->held && !ev_is_active(&sv->retry) &&
              pending_count(sv) < sv->max_pending && !at_capacity(sv->rt);
  if (want && !ev_is_active(&sv->io))
    ev_io_start(sv->rt->loop, &sv->io);
  else if (!want && ev_is_active(&sv->io))
    ev_io_stop(sv->rt->loop, &sv->io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct tcp_server *sv = (struct tcp_server *)((char *)w - offsetof(struct tcp_server, io));
  struct lnet_runtime *rt = sv->rt;
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sv->ref);
  int obj = lua_gettop(L);
  for (int i = 0; i < ACCEPTS_PER_EVENT && sv->fd >= 0 && pending_count(sv) < sv->max_pending &&
                  !at_capacity(rt); i++) {
    int fd = net_accept(sv->fd);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ev_timer_set(&sv->retry, ACCEPT_RETRY_SECONDS, 0.);
        ev_timer_start(rt->loop, &sv->retry);
        sv->error = SE_RESOURCE;
        sv->error_string = "Too many open files";
        lua_pushstring(L, socket_error_name(SE_RESOURCE));
        lnet_emit(rt, L, obj, SIG_ACCEPT_ERROR, 1, NULL, NULL);
      }
      break;
    }
    lua_getiuservalue(L, obj, 2);
    tcp_socket_push_accepted(L, rt, fd);
    if (sv->tls)
      tcp_socket_accept_encrypted(L, lua_gettop(L), sv->tls);
    lua_rawseti(L, -2, sv->pending_tail++);
    lua_pop(L, 1);
    lnet_emit(rt, L, obj, SIG_NEW_CONNECTION, 0, NULL, NULL);
    if (sv->wait.active)
      lnet_wait_finish(rt, &sv->wait, true);
  }
  update_accepting(sv);
  lua_settop(L, obj - 1);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  update_accepting((struct tcp_server *)((char *)w - offsetof(struct tcp_server, retry)));
}

/* rt's capacity_changed hook: a socket closed below max_connections. */
static void capacity_changed(struct lnet_runtime *rt) {
  for (struct tcp_server *sv = rt->listening; sv; sv = sv->next_listening)
    update_accepting(sv);
}

static void link_listening(struct tcp_server *sv) {
  sv->next_listening = sv->rt->listening;
  sv->rt->listening = sv;
  sv->rt->capacity_changed = capacity_changed;   /* the sockets, below us, call it */
}

static void unlink_listening(struct tcp_server *sv) {
  for (struct tcp_server **p = &sv->rt->listening; *p; p = &(*p)->next_listening) {
    if (*p == sv) {
      *p = sv->next_listening;
      break;
    }
  }
}

static void stop_listening(lua_State *L, struct tcp_server *sv) {
  if (sv->rt->loop) {
    ev_io_stop(sv->rt->loop, &sv->io);
    ev_timer_stop(sv->rt->loop, &sv->retry);
  }
  if (sv->fd >= 0) {
    close(sv->fd);
    sv->fd = -1;
    unlink_listening(sv);
  }
  lnet_unanchor(L, &sv->ref);
}

/*** Listens on address and port. Without an address it is every address,
 * IPv6 and IPv4 (IPv4 alone on a host without IPv6). Raises when already
 * listening or when address is no IP address.
 * @function listen
 * @tparam[opt] string|HostAddress address an address literal, a HostAddress, or "Any", "LocalHost"...
 * @tparam[opt=0] integer port 0: one the system picks (serverPort says which)
 * @treturn boolean true, or false with serverError() and errorString() (AddressInUseError...)
 * @qt QTcpServer::listen
 */
static int tcp_server_listen(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  lua_Integer port = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, port >= 0 && port <= 65535, 3, "port out of range");
  if (sv->fd >= 0)
    return luaL_error(L, "TcpServer:listen(): already listening");
  struct net_addr addr;
  enum host_address_kind kind = HA_ANY;
  if (lua_isnoneornil(L, 2))
    net_addr_any(AF_INET6, (int)port, &addr);
  else if ((kind = host_address_get(L, 2, (int)port, &addr)) == HA_NULL)
    return luaL_argerror(L, 2, "not an IP address");
  int fd = net_tcp_listen(&addr, LISTEN_BACKLOG, kind == HA_ANY);
  if (fd < 0 && kind == HA_ANY && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
    net_addr_any(AF_INET, (int)port, &addr);   /* a host without IPv6 */
    fd = net_tcp_listen(&addr, LISTEN_BACKLOG, false);
  }
  if (fd < 0) {
    sv->error = socket_error_from_errno(errno, &sv->error_string);
    lua_pushboolean(L, 0);
    return 1;
  }
  sv->fd = fd;
  link_listening(sv);
  sv->error = SE_UNKNOWN;
  sv->error_string = NULL;
  ev_io_set(&sv->io, fd, EV_READ);
  sv->ref = lnet_anchor(L, 1);
  update_accepting(sv);
  lua_pushboolean(L, 1);
  return 1;
}

/*** Stops listening; the connections already accepted stay
 * pending, as in Qt, and a waitForNewConnection learns it is over.
 * @function close
 * @qt QTcpServer::close
 */
static int tcp_server_close(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  stop_listening(L, sv);
  lnet_wait_finish(sv->rt, &sv->wait, false);
  return 0;
}

/*** Whether the server listens.
 * @function isListening
 * @treturn boolean
 * @qt QTcpServer::isListening
 */
static int tcp_server_isListening(lua_State *L) {
  lua_pushboolean(L, tcp_server_check(L, 1)->fd >= 0);
  return 1;
}

/*** Takes the oldest accepted connection from the queue.
 * @function nextPendingConnection
 * @treturn TcpSocket|nil nil when none is pending
 * @qt QTcpServer::nextPendingConnection
 */
static int tcp_server_nextPendingConnection(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  if (pending_count(sv) == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_getiuservalue(L, 1, 2);
  lua_rawgeti(L, -1, sv->pending_head);
  lua_pushnil(L);
  lua_rawseti(L, -3, sv->pending_head++);
  if (pending_count(sv) == 0)
    sv->pending_head = sv->pending_tail = 1;   /* keep the keys small */
  update_accepting(sv);
  return 1;
}

/*** Whether accepted connections wait in the queue.
 * @function hasPendingConnections
 * @treturn boolean
 * @qt QTcpServer::hasPendingConnections
 */
static int tcp_server_hasPendingConnections(lua_State *L) {
  lua_pushboolean(L, pending_count(tcp_server_check(L, 1)) > 0);
  return 1;
}

/*** Bounds the queue: while it is full the server accepts no more, and
 * the kernel's backlog holds the rest. 30 by default.
 * @function setMaxPendingConnections
 * @tparam integer n 1 to 2^20
 * @qt QTcpServer::setMaxPendingConnections
 */
static int tcp_server_setMaxPendingConnections(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 1 && n <= 1 << 20, 2, "out of range");
  sv->max_pending = (int)n;
  update_accepting(sv);
  return 0;
}

/*** The bound of the queue.
 * @function maxPendingConnections
 * @treturn integer
 * @qt QTcpServer::maxPendingConnections
 */
static int tcp_server_maxPendingConnections(lua_State *L) {
  lua_pushinteger(L, tcp_server_check(L, 1)->max_pending);
  return 1;
}

/*** Stops accepting (the kernel's backlog holds new connections) until resumeAccepting.
 * @function pauseAccepting
 * @qt QTcpServer::pauseAccepting
 */
static int tcp_server_pauseAccepting(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  sv->paused = true;
  update_accepting(sv);
  return 0;
}

/*** Accepts again after pauseAccepting.
 * @function resumeAccepting
 * @qt QTcpServer::resumeAccepting
 */
static int tcp_server_resumeAccepting(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  sv->paused = false;
  update_accepting(sv);
  return 0;
}

/*** The address the server listens on; the null address when it does not.
 * @function serverAddress
 * @treturn HostAddress
 * @qt QTcpServer::serverAddress
 */
static int tcp_server_serverAddress(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (sv->fd < 0 || getsockname(sv->fd, (struct sockaddr *)&ss, &len) < 0)
    ss.ss_family = AF_UNSPEC;
  host_address_push(L, (struct sockaddr *)&ss);
  return 1;
}

/*** The port the server listens on; 0 when it does not.
 * @function serverPort
 * @treturn integer
 * @qt QTcpServer::serverPort
 */
static int tcp_server_serverPort(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (sv->fd < 0 || getsockname(sv->fd, (struct sockaddr *)&ss, &len) < 0)
    lua_pushinteger(L, 0);
  else
    lua_pushinteger(L, net_addr_port((struct sockaddr *)&ss));
  return 1;
}

/*** The last error, "UnknownSocketError" before any.
 * @function serverError
 * @treturn string a SocketError name
 * @qt QTcpServer::serverError
 */
static int tcp_server_serverError(lua_State *L) {
  lua_pushstring(L, socket_error_name(tcp_server_check(L, 1)->error));
  return 1;
}

/*** The last error's text; "" before any.
 * @function errorString
 * @treturn string
 * @qt QTcpServer::errorString
 */
static int tcp_server_errorString(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  lua_pushstring(L, sv->error_string ? sv->error_string : "");
  return 1;
}

static void wait_timed_out(struct lnet_wait *w) {
  struct tcp_server *sv = (struct tcp_server *)((char *)w - offsetof(struct tcp_server, wait));
  sv->error = SE_TIMEOUT;
  sv->error_string = "Network operation timed out";
}

/*** Waits until a connection is pending: in a task only the task waits,
 * elsewhere the loop runs nested. Past ms, SocketTimeoutError.
 * @function waitForNewConnection
 * @tparam[opt=0] number ms ms < 0: no limit
 * @treturn boolean whether a connection is pending
 * @qt QTcpServer::waitForNewConnection
 */
static int tcp_server_waitForNewConnection(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  if (pending_count(sv) > 0 || sv->fd < 0) {
    lua_pushboolean(L, pending_count(sv) > 0);
    return 1;
  }
  return lnet_wait(L, sv->rt, &sv->wait, lnet_opt_ms(L, 2, 0));
}

/* The connections nobody took go with the server (Qt deletes them as its
 * children); each holds an anchor of its own. */
static void release_pending(lua_State *L, struct tcp_server *sv) {
  lua_getiuservalue(L, 1, 2);
  for (; sv->pending_head < sv->pending_tail; sv->pending_head++) {
    lua_rawgeti(L, -1, sv->pending_head);
    tcp_socket_release(L, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, sv->pending_head);
  }
  lua_pop(L, 1);
}

/* __gc: no task can be waiting (it would hold the server), and at
 * lua_close none may be resumed. */
/*** The sockets accepted from now on are
 * encrypted (a server certificate is required); nil turns it off. Those
 * already accepted keep what they had: a reload of certificates drops no
 * connection. true, or false and the error.
 * @function setSslConfiguration
 * @tparam table|nil options as TcpSocket:setSslConfiguration's, localCertificate and privateKey required
 * @treturn boolean true, or false and the error
 * @qt QSslServer::setSslConfiguration
 */
static int tcp_server_setSslConfiguration(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  struct tls_context *c = NULL;
  if (!lua_isnoneornil(L, 2)) {
    struct tls_config cfg;
    char err[300];
    if (!tls_config_read(L, 2, &cfg, err, sizeof err))
      return luaL_argerror(L, 2, err);
    c = tls_config_context(&cfg, true, err, sizeof err);
    tls_config_free(&cfg);
    if (!c) {
      lua_pushboolean(L, 0);
      lua_pushstring(L, err);
      return 2;
    }
  }
  tls_context_unref(sv->tls);
  sv->tls = c;
  lua_pushboolean(L, 1);
  return 1;
}

/*** Whether accepted sockets are encrypted (setSslConfiguration).
 * @function isEncrypted
 * @treturn boolean
 */
static int tcp_server_isEncrypted(lua_State *L) {
  lua_pushboolean(L, tcp_server_check(L, 1)->tls != NULL);
  return 1;
}

static int tcp_server_gc(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  tls_context_unref(sv->tls);
  sv->tls = NULL;
  stop_listening(L, sv);
  if (sv->rt->loop)
    ev_timer_stop(sv->rt->loop, &sv->wait.timer);
  sv->wait.active = false;
  release_pending(L, sv);
  return 0;
}

static int tcp_server_close_scope(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  lua_settop(L, 1);
  tcp_server_close(L);
  release_pending(L, sv);
  return 0;
}

static int tcp_server_tostring(lua_State *L) {
  struct tcp_server *sv = tcp_server_check(L, 1);
  if (sv->fd < 0) {
    lua_pushliteral(L, LNET_TCPSERVER " (not listening)");
    return 1;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char buf[NET_ADDRSTRLEN] = "";
  int port = 0;
  if (getsockname(sv->fd, (struct sockaddr *)&ss, &len) == 0) {
    net_addr_format((struct sockaddr *)&ss, buf);
    port = net_addr_port((struct sockaddr *)&ss);
  }
  lua_pushfstring(L, LNET_TCPSERVER " (listening %s:%d)", buf, port);
  return 1;
}

/*** A new server, not listening.
 * @function net.TcpServer
 * @treturn TcpServer
 * @qt QTcpServer::QTcpServer
 */
static int tcp_server_new(lua_State *L) {
  struct lnet_runtime *rt = lnet_runtime(L);
  struct tcp_server *sv = lnet_newobject(L, sizeof *sv, &tcp_server_class, 2);
  sv->rt = rt;
  sv->fd = -1;
  sv->ref = LUA_NOREF;
  sv->max_pending = DEFAULT_MAX_PENDING;
  sv->pending_head = sv->pending_tail = 1;
  ev_init(&sv->io, accept_cb);
  ev_init(&sv->retry, retry_cb);
  lnet_wait_init(&sv->wait, wait_timed_out);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 2);
  return 1;
}

void tcp_server_hold(lua_State *L, int idx, bool held) {
  struct tcp_server *sv = tcp_server_check(L, idx);
  sv->held = held;
  update_accepting(sv);
}

void tcp_server_push_listening(lua_State *L, int fd) {
  lua_pushcfunction(L, tcp_server_new);
  lua_call(L, 0, 1);
  struct tcp_server *sv = lua_touserdata(L, -1);
  sv->fd = fd;
  link_listening(sv);
  ev_io_set(&sv->io, fd, EV_READ);
  sv->ref = lnet_anchor(L, -1);
  update_accepting(sv);
}

static const luaL_Reg tcp_server_methods[] = {
  { "listen", tcp_server_listen },
  { "close", tcp_server_close },
  { "setSslConfiguration", tcp_server_setSslConfiguration },
  { "isEncrypted", tcp_server_isEncrypted },
  { "isListening", tcp_server_isListening },
  { "nextPendingConnection", tcp_server_nextPendingConnection },
  { "hasPendingConnections", tcp_server_hasPendingConnections },
  { "setMaxPendingConnections", tcp_server_setMaxPendingConnections },
  { "maxPendingConnections", tcp_server_maxPendingConnections },
  { "pauseAccepting", tcp_server_pauseAccepting },
  { "resumeAccepting", tcp_server_resumeAccepting },
  { "serverAddress", tcp_server_serverAddress },
  { "serverPort", tcp_server_serverPort },
  { "serverError", tcp_server_serverError },
  { "errorString", tcp_server_errorString },
  { "waitForNewConnection", tcp_server_waitForNewConnection },
  { NULL, NULL },
};

static const struct lnet_class tcp_server_class = {
  .id = LNET_ID_TCPSERVER, .name = LNET_TCPSERVER, .methods = tcp_server_methods, .gc = tcp_server_gc, .close = tcp_server_close_scope, .tostring = tcp_server_tostring, .signals = signal_names,
  .construct = tcp_server_new,
};

int luaopen_luanet_tcp_server(lua_State *L) {
  lnet_class_register(L, &tcp_server_class);
  return 1;
}

void tcp_server_offer_alpn(lua_State *L, int idx, const char *list) {
  struct tcp_server *sv = luaL_checkudata(L, idx, LNET_TCPSERVER);
  if (sv->tls)
    tls_context_offer_alpn(sv->tls, list);
}
