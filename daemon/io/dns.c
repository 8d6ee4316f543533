/* Name resolution on c-ares, driven by the runtime's libev loop.
 *
 * One channel per runtime, made on the first lookup, so a script that never
 * resolves a name pays nothing for it. c-ares tells us which of its sockets
 * to watch through ARES_OPT_SOCK_STATE_CB: one ev_io per fd, changed only
 * when the events change, dropped at (0, 0). One ev_timer, re-armed from
 * ares_timeout() after every ares_process_fd, makes c-ares retry and time
 * out (c-ares 1.18 has no ares_process_fds). Nothing here blocks.
 *
 * Those watchers do not keep the loop alive (ev_unref): c-ares keeps idle
 * sockets open, and a script must still end when nothing is left to wait
 * for. Each lookup in flight holds a reference on the loop instead.
 *
 * The hosts file comes first, read here rather than by c-ares: c-ares 1.18
 * reads /etc/hosts in ares_getaddrinfo whatever CARES_HOSTS says, and specs
 * (and users) need to point it elsewhere. CARES_HOSTS names the file, as it
 * does for c-ares' other calls; c-ares itself asks only DNS ("b"). Hosts
 * answers are not cached: the file is re-read from the page cache.
 *
 * Lookups of one name and family in flight at once share one c-ares query
 * (the first is the leader; the others wait in the inflight table and get
 * its answer), so a burst of 300 lookups of three names sends six
 * datagrams, not 600 that loopback's socket buffers would partly drop.
 *
 * A lookup is a DnsQuery userdata, anchored while c-ares holds a pointer to
 * it. Forward lookups use ares_getaddrinfo (A and AAAA, with TTLs, the hosts
 * file first); reverse lookups ares_gethostbyaddr (PTR). Answers are cached
 * in a registry table keyed by family and name until their smallest TTL
 * ends (c-ares 1.18 has no cache of its own): a name that does not exist is
 * cached for NEGATIVE_TTL seconds, and PTR answers are not cached. A query
 * answered from the cache still reports from the loop, never from inside
 * the call that started it.
 *
 * The result of a query is a table in the query's user value 2:
 * { error = "NoError" | "HostNotFound" | "UnknownError", errorString,
 *   addresses = { "1.2.3.4", "::1", ... }, name = canonical or PTR name }. */
#include "dns.h"
#include "host_address.h"
#include "net.h"
#include "object.h"
#include "runtime.h"
#include "task.h"
#include "wait.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define NEGATIVE_TTL 5.0
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_TRIES 2

struct dns_io {
  ev_io io;
  struct dns *dns;
};

struct dns {
  struct lnet_runtime *rt;
  ares_channel channel;
  bool channel_ok;
  ev_timer timer;
  struct dns_io **ios;       /* one per c-ares socket */
  int nios, cap;
  int cache_ref;             /* registry table: "4name" -> entry */
  int inflight_ref;          /* registry table: "4name" -> { followers } */
  bool cache_enabled;
  bool destroying;           /* the state is closing: touch no Lua */
  lua_Integer next_id;
  int timeout_ms, tries;
  char *servers;             /* "host:port,..." or NULL for resolv.conf */
};

enum query_kind { Q_FORWARD, Q_REVERSE };

struct dns_query {
  struct dns *dns;
  lua_Integer id;
  int ref;                   /* anchor while c-ares or the defer timer holds us */
  bool done, aborted;
  bool starting;             /* inside the c-ares call that starts it */
  enum query_kind kind;
  int family;                /* AF_UNSPEC, AF_INET, AF_INET6 */
  ev_timer defer;            /* reports a cached answer from the loop */
  struct lnet_wait wait;
  dns_done_fn c_done;        /* a C caller's hook (TcpSocket) */
  void *c_ud;
};

static void process_timer_rearm(struct dns *dns);

/* Watchers of ours that must not keep the loop alive. */
static void io_start_unref(struct ev_loop *loop, ev_io *w) {
  ev_io_start(loop, w);
  ev_unref(loop);
}

static void io_stop_unref(struct ev_loop *loop, ev_io *w) {
  ev_ref(loop);
  ev_io_stop(loop, w);
}

/* ---- the channel on the loop ---- */

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  struct dns_io *dio = (struct dns_io *)w;
  struct dns *dns = dio->dns;
  int fd = w->fd;
  ares_process_fd(dns->channel, revents & EV_READ ? fd : ARES_SOCKET_BAD,
                  revents & EV_WRITE ? fd : ARES_SOCKET_BAD);
  process_timer_rearm(dns);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct dns *dns = (struct dns *)((char *)w - offsetof(struct dns, timer));
  ev_ref(loop);   /* libev stopped the expired timer: undo its ev_unref */
  ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  process_timer_rearm(dns);
}

static void process_timer_rearm(struct dns *dns) {
  struct ev_loop *loop = dns->rt->loop;
  struct timeval tv, *tvp = ares_timeout(dns->channel, NULL, &tv);
  if (ev_is_active(&dns->timer)) {
    ev_ref(loop);
    ev_timer_stop(loop, &dns->timer);
  }
  if (!tvp)
    return;
  ev_timer_set(&dns->timer, tvp->tv_sec + tvp->tv_usec / 1e6, 0.);
  ev_timer_start(loop, &dns->timer);
  ev_unref(loop);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable) {
  struct dns *dns = data;
  struct ev_loop *loop = dns->rt->loop;
  int events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  for (int i = 0; i < dns->nios; i++) {
    struct dns_io *dio = dns->ios[i];
    if (dio->io.fd != fd)
      continue;
    if (events == 0) {
      io_stop_unref(loop, &dio->io);
      free(dio);
      dns->ios[i] = dns->ios[--dns->nios];
    } else if (events != dio->io.events) {
      io_stop_unref(loop, &dio->io);
      ev_io_set(&dio->io, fd, events);
      io_start_unref(loop, &dio->io);
    }
    return;
  }
  if (events == 0)
    return;
  if (dns->nios == dns->cap) {
    int cap = dns->cap ? dns->cap * 2 : 8;
    struct dns_io **ios = realloc(dns->ios, (size_t)cap * sizeof *ios);
    if (!ios)
      return;   /* c-ares times the query out */
    dns->ios = ios;
    dns->cap = cap;
  }
  struct dns_io *dio = malloc(sizeof *dio);
  if (!dio)
    return;
  dio->dns = dns;
  ev_io_init(&dio->io, io_cb, fd, events);
  io_start_unref(loop, &dio->io);
  dns->ios[dns->nios++] = dio;
}

static bool channel_open(struct dns *dns) {
  if (dns->channel_ok)
    return true;
  struct ares_options opts;
  memset(&opts, 0, sizeof opts);
  opts.sock_state_cb = sock_state_cb;
  opts.sock_state_cb_data = dns;
  opts.timeout = dns->timeout_ms;
  opts.tries = dns->tries;
  opts.lookups = (char *)"b";   /* the hosts file is ours (hosts_lookup) */
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  if (ares_init_options(&dns->channel, &opts, mask) != ARES_SUCCESS)
    return false;
  if (dns->servers && ares_set_servers_ports_csv(dns->channel, dns->servers) != ARES_SUCCESS) {
    ares_destroy(dns->channel);
    return false;
  }
  dns->channel_ok = true;
  return true;
}

/* Ends the channel: c-ares calls every pending query back with
 * ARES_EDESTRUCTION, which reports it as an error. */
static void channel_close(struct dns *dns) {
  if (!dns->channel_ok)
    return;
  dns->channel_ok = false;
  ares_destroy(dns->channel);
  if (ev_is_active(&dns->timer)) {
    ev_ref(dns->rt->loop);
    ev_timer_stop(dns->rt->loop, &dns->timer);
  }
  for (int i = 0; i < dns->nios; i++) {
    io_stop_unref(dns->rt->loop, &dns->ios[i]->io);
    free(dns->ios[i]);
  }
  dns->nios = 0;
}

static int dns_gc(lua_State *L) {
  struct dns *dns = lua_touserdata(L, 1);
  dns->destroying = true;
  if (dns->channel_ok && dns->rt->loop)
    channel_close(dns);
  free(dns->ios);
  dns->ios = NULL;
  free(dns->servers);
  dns->servers = NULL;
  return 0;
}

static const char DNS_KEY = 'd';

/* The runtime's resolver, made on first use. */
static struct dns *dns_get(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &DNS_KEY);
  struct dns *dns = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (dns)
    return dns;
  static bool library_ready;
  if (!library_ready && ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS)
    library_ready = true;
  dns = lua_newuserdatauv(L, sizeof *dns, 0);
  memset(dns, 0, sizeof *dns);
  dns->rt = lnet_runtime(L);
  dns->cache_enabled = true;
  dns->timeout_ms = DEFAULT_TIMEOUT_MS;
  dns->tries = DEFAULT_TRIES;
  ev_init(&dns->timer, timer_cb);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, dns_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_newtable(L);
  dns->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  dns->inflight_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &DNS_KEY);
  return dns;
}

/* ---- queries ---- */

static struct dns_query *query_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, LNET_DNSQUERY);
}

/* [-0, +1, m] the result table of the query at idx */
static void push_result(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, 2);
}

static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Reports from the loop what is already known (a cached answer, an error
 * found before asking, an answer c-ares gave inside the call that asked). */
static void report_soon(struct dns_query *q) {
  ev_timer_set(&q->defer, 0., 0.);
  ev_timer_start(q->dns->rt->loop, &q->defer);
}

/* Reports a finished query: the C hook, the Lua callback (in a task), a
 * waiter. The query is on L's top. */
static void query_report(struct dns_query *q, lua_State *L) {
  if (q->starting) {   /* the caller has not even seen the query yet */
    report_soon(q);
    return;
  }
  int obj = lua_gettop(L);
  struct lnet_runtime *rt = q->dns->rt;
  q->done = true;
  lnet_unanchor(L, &q->ref);
  if (q->aborted)
    return;
  if (q->c_done)
    q->c_done(q->c_ud, L, obj);
  if (lua_getiuservalue(L, obj, 1) == LUA_TNIL) {
    lua_pop(L, 1);
  } else {
    lua_pushvalue(L, obj);
    task_call(rt, L, 1, NULL);
  }
  if (q->wait.active)
    lnet_wait_finish(rt, &q->wait, true);
}

/* Stores a result table { error, errorString, addresses, name } in the
 * query at obj. `addresses` is on the top (popped). */
static void set_result(lua_State *L, int obj, const char *error, const char *text, const char *name) {
  lua_createtable(L, 0, 4);
  lua_insert(L, -2);
  lua_setfield(L, -2, "addresses");
  lua_pushstring(L, error);
  lua_setfield(L, -2, "error");
  lua_pushstring(L, text);
  lua_setfield(L, -2, "errorString");
  lua_pushstring(L, name ? name : "");
  lua_setfield(L, -2, "name");
  lua_setiuservalue(L, obj, 2);
}

static const char *error_name(int status, const char **text) {
  switch (status) {
  case ARES_SUCCESS:
    *text = "";
    return "NoError";
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
  case ARES_ENONAME:
    *text = "Host not found";
    return "HostNotFound";
  case ARES_ETIMEOUT:
    *text = "Host lookup timed out";
    return "UnknownError";
  case ARES_ECONNREFUSED:
    *text = "The name server refused the connection";
    return "UnknownError";
  default:
    *text = ares_strerror(status);
    return "UnknownError";
  }
}

static const char *hosts_path(void) {
  const char *path = getenv("CARES_HOSTS");
  return path && *path ? path : "/etc/hosts";
}

/* Looks an address up in the hosts file: copies the first name given to
 * it into host (cap bytes). */
static bool hosts_reverse(const char *address, char *host, size_t cap) {
  struct net_addr want;
  FILE *f = net_addr_parse(address, 0, &want) ? fopen(hosts_path(), "re") : NULL;
  if (!f)
    return false;
  char line[1024], a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];
  net_addr_format((struct sockaddr *)&want.ss, b);
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "#")] = '\0';
    char *save, *addr_text = strtok_r(line, " \t\r\n", &save);
    char *first = addr_text ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    struct net_addr addr;
    if (first && net_addr_parse(addr_text, 0, &addr) &&
        strcmp(net_addr_format((struct sockaddr *)&addr.ss, a), b) == 0) {
      snprintf(host, cap, "%s", first);
      found = true;
    }
  }
  fclose(f);
  return found;
}

/* [-0, +1|0, m] Looks a name up in the hosts file: pushes the list of its
 * addresses of `family`, or nothing when the file has none. Lines are
 * "ADDR NAME [ALIAS...] [# comment]"; names match without case. */
static bool hosts_forward(lua_State *L, const char *name, int family) {
  FILE *f = fopen(hosts_path(), "re");
  if (!f)
    return false;
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "#")] = '\0';
    char *save, *addr_text = strtok_r(line, " \t\r\n", &save);
    struct net_addr addr;
    if (!addr_text || !net_addr_parse(addr_text, 0, &addr) ||
        (family != AF_UNSPEC && addr.ss.ss_family != family))
      continue;
    for (char *alias; (alias = strtok_r(NULL, " \t\r\n", &save));) {
      if (strcasecmp(alias, name) != 0)
        continue;
      char text[NET_ADDRSTRLEN];
      if (n == 0)
        lua_newtable(L);
      lua_pushstring(L, net_addr_format((struct sockaddr *)&addr.ss, text));
      lua_rawseti(L, -2, ++n);
      break;
    }
  }
  fclose(f);
  return n > 0;
}

static void cache_key(lua_State *L, int family, const char *name) {
  lua_pushfstring(L, "%d %s", family, name);
}

/* [-1, +0, m] Caches the result table on the top under family/name. */
static void cache_store(struct dns *dns, lua_State *L, int family, const char *name, double ttl) {
  if (!dns->cache_enabled || ttl <= 0) {
    lua_pop(L, 1);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, dns->cache_ref);
  cache_key(L, family, name);
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, ev_now(dns->rt->loop) + ttl);
  lua_setfield(L, -2, "expires");
  lua_pushvalue(L, -4);
  lua_setfield(L, -2, "result");
  lua_rawset(L, -3);
  lua_pop(L, 2);
}

/* [-0, +1|0, m] Pushes a cached result table, if one is still fresh. */
static bool cache_find(struct dns *dns, lua_State *L, int family, const char *name) {
  if (!dns->cache_enabled)
    return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, dns->cache_ref);
  cache_key(L, family, name);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) != LUA_TTABLE) {
    lua_pop(L, 3);
    return false;
  }
  lua_getfield(L, -1, "expires");
  double expires = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (expires <= ev_now(dns->rt->loop)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);   /* drop the stale entry */
    lua_pop(L, 1);
    return false;
  }
  lua_getfield(L, -1, "result");
  lua_replace(L, -4);
  lua_pop(L, 2);
  return true;
}

/* The state is closing (ares_destroy from __gc): touch no Lua. */
static bool closing(struct dns_query *q) {
  return q->dns->destroying;
}

/* The leader of a name's lookups (at obj) has its answer: every follower
 * gets the same result and reports. */
static void answer_followers(struct dns *dns, lua_State *L, int obj, int family, const char *name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, dns->inflight_ref);
  cache_key(L, family, name);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) != LUA_TTABLE) {
    lua_pop(L, 3);
    return;
  }
  lua_insert(L, -3);   /* followers, inflight, key */
  lua_pushnil(L);
  lua_rawset(L, -3);   /* the name is no longer in flight */
  lua_pop(L, 1);
  int followers = lua_gettop(L);
  for (lua_Integer i = 1; lua_rawgeti(L, followers, i) == LUA_TUSERDATA; i++) {
    struct dns_query *f = lua_touserdata(L, -1);
    push_result(L, obj);
    lua_setiuservalue(L, -2, 2);
    query_report(f, L);   /* with f on the top */
    lua_settop(L, followers);
  }
  lua_settop(L, followers - 1);
}

/* Joins a lookup of the same name in flight, if there is one: the query at
 * obj becomes its follower. Otherwise the query at obj leads. */
static bool follow_inflight(struct dns *dns, lua_State *L, int obj, int family, const char *name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, dns->inflight_ref);
  cache_key(L, family, name);
  lua_pushvalue(L, -1);
  bool joined = lua_rawget(L, -3) == LUA_TTABLE;
  if (joined) {
    lua_pushvalue(L, obj);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 3);
    return true;
  }
  lua_pop(L, 1);
  lua_newtable(L);   /* no followers yet: mark the name as in flight */
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return false;
}

static void addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  struct dns_query *q = arg;
  if (closing(q)) {
    if (res)
      ares_freeaddrinfo(res);
    return;
  }
  ev_unref(q->dns->rt->loop);   /* taken when the lookup started */
  lua_State *L = q->dns->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, q->ref);
  int obj = lua_gettop(L);
  const char *text;
  const char *err = error_name(status, &text);
  lua_newtable(L);
  double ttl = NEGATIVE_TTL;
  int n = 0;
  if (status == ARES_SUCCESS && res) {
    ttl = -1;
    for (struct ares_addrinfo_node *node = res->nodes; node; node = node->ai_next) {
      char buf[NET_ADDRSTRLEN];
      lua_pushstring(L, net_addr_format(node->ai_addr, buf));
      lua_rawseti(L, -2, ++n);
      if (ttl < 0 || node->ai_ttl < ttl)
        ttl = node->ai_ttl;
    }
    if (n == 0) {
      err = error_name(ARES_ENODATA, &text);
      ttl = NEGATIVE_TTL;
    }
  }
  bool cacheable = status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA;
  lua_getiuservalue(L, obj, 3);   /* the name asked for */
  const char *name = lua_tostring(L, -1);   /* the user value keeps it */
  lua_pop(L, 1);
  set_result(L, obj, err, text, res && res->cnames ? res->cnames->name : name);
  if (cacheable) {
    push_result(L, obj);
    cache_store(q->dns, L, q->family, name, ttl);
  }
  answer_followers(q->dns, L, obj, q->family, name);
  if (res)
    ares_freeaddrinfo(res);
  query_report(q, L);
  lua_settop(L, obj - 1);
}

static void hostent_cb(void *arg, int status, int timeouts, struct hostent *host) {
  (void)timeouts;
  struct dns_query *q = arg;
  if (closing(q))
    return;
  ev_unref(q->dns->rt->loop);   /* taken when the lookup started */
  lua_State *L = q->dns->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, q->ref);
  int obj = lua_gettop(L);
  lua_getiuservalue(L, obj, 3);   /* the address asked about */
  const char *addr = lua_tostring(L, -1);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushstring(L, addr);
  lua_rawseti(L, -2, 1);
  /* As Qt: an address without a PTR name is its own host name. */
  set_result(L, obj, "NoError", "", status == ARES_SUCCESS && host ? host->h_name : addr);
  query_report(q, L);
  lua_settop(L, obj - 1);
}

static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct dns_query *q = (struct dns_query *)((char *)w - offsetof(struct dns_query, defer));
  lua_State *L = q->dns->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, q->ref);
  int obj = lua_gettop(L);
  query_report(q, L);
  lua_settop(L, obj - 1);
}


static void query_timed_out(struct lnet_wait *w) {
  struct dns_query *q = (struct dns_query *)((char *)w - offsetof(struct dns_query, wait));
  q->aborted = true;   /* a late answer must not report again */
}

/* Ends the query at obj with an error found before asking anyone,
 * reported from the loop. */
static struct dns_query *fail_soon(lua_State *L, int obj, struct dns_query *q, const char *error,
                                   const char *text) {
  lua_newtable(L);
  set_result(L, obj, error, text, NULL);
  report_soon(q);
  return q;
}

/* [-0, +1, m] Starts a lookup of `name` (an address: a reverse lookup).
 * family is AF_UNSPEC, AF_INET or AF_INET6. */
struct dns_query *dns_lookup(lua_State *L, const char *name, int family, dns_done_fn done, void *ud) {
  struct dns *dns = dns_get(L);
  struct dns_query *q = lua_newuserdatauv(L, sizeof *q, 3);
  memset(q, 0, sizeof *q);
  luaL_setmetatable(L, LNET_DNSQUERY);
  int obj = lua_gettop(L);
  q->dns = dns;
  q->id = ++dns->next_id;
  q->family = family;
  q->c_done = done;
  q->c_ud = ud;
  q->ref = lnet_anchor(L, obj);
  ev_init(&q->defer, defer_cb);
  lnet_wait_init(&q->wait, query_timed_out);
  lua_pushstring(L, name);
  lua_setiuservalue(L, obj, 3);

  struct net_addr addr;
  if (net_addr_parse(name, 0, &addr)) {   /* an address: PTR, as Qt does */
    q->kind = Q_REVERSE;
    char host[256];
    if (hosts_reverse(name, host, sizeof host)) {
      lua_newtable(L);
      lua_pushstring(L, name);
      lua_rawseti(L, -2, 1);
      set_result(L, obj, "NoError", "", host);
      report_soon(q);
      return q;
    }
    if (!channel_open(dns))
      return fail_soon(L, obj, q, "UnknownError", "The resolver could not be set up");
    const void *raw = addr.ss.ss_family == AF_INET
                          ? (const void *)&((struct sockaddr_in *)&addr.ss)->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)&addr.ss)->sin6_addr;
    int len = addr.ss.ss_family == AF_INET ? 4 : 16;
    ev_ref(dns->rt->loop);   /* a lookup in flight keeps the loop alive */
    q->starting = true;
    ares_gethostbyaddr(dns->channel, raw, len, addr.ss.ss_family, hostent_cb, q);
    q->starting = false;
    process_timer_rearm(dns);
    return q;
  }
  q->kind = Q_FORWARD;
  if (name[0] == '\0')
    return fail_soon(L, obj, q, "HostNotFound", "No host name given");
  if (hosts_forward(L, name, family)) {
    set_result(L, obj, "NoError", "", name);
    report_soon(q);
    return q;
  }
  if (cache_find(dns, L, family, name)) {
    lua_setiuservalue(L, obj, 2);
    report_soon(q);
    return q;
  }
  if (!channel_open(dns))
    return fail_soon(L, obj, q, "UnknownError", "The resolver could not be set up");
  if (follow_inflight(dns, L, obj, family, name))
    return q;   /* the leader's answer will be ours; the leader holds the loop */
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;   /* one node per address, not per type */
  hints.ai_flags = ARES_AI_CANONNAME;
  ev_ref(dns->rt->loop);   /* a lookup in flight keeps the loop alive */
  q->starting = true;
  ares_getaddrinfo(dns->channel, name, NULL, &hints, addrinfo_cb, q);
  q->starting = false;
  process_timer_rearm(dns);
  return q;
}

void dns_abort(struct dns_query *q) {
  q->aborted = true;
}

/* ---- Lua: the primitives lua/luanet/hostinfo.lua builds HostInfo on ---- */

static int family_arg(lua_State *L, int idx) {
  static const char *const names[] = { "any", "A", "AAAA", NULL };
  static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6 };
  return families[luaL_checkoption(L, idx, "any", names)];
}

/* dns.lookup(name, [family], [callback]) -> query; callback(query) runs in
 * a task when the answer is in. */
static int dns_lookup_lua(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int family = family_arg(L, 2);
  bool has_callback = !lua_isnoneornil(L, 3);
  if (has_callback)
    lnet_check_callable(L, 3);
  lua_settop(L, 3);
  dns_lookup(L, name, family, NULL, NULL);
  if (has_callback) {
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, -2, 1);
  }
  return 1;
}

/* query:wait([ms]) -> true once answered, false at the time-out */
static int query_wait(lua_State *L) {
  struct dns_query *q = query_check(L, 1);
  if (q->done) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return lnet_wait(L, q->dns->rt, &q->wait, luaL_optnumber(L, 2, -1));
}

static int query_result(lua_State *L) {
  query_check(L, 1);
  push_result(L, 1);
  return 1;
}

static int query_id(lua_State *L) {
  lua_pushinteger(L, query_check(L, 1)->id);
  return 1;
}

static int query_abort(lua_State *L) {
  struct dns_query *q = query_check(L, 1);
  dns_abort(q);
  if (q->wait.active)
    lnet_wait_finish(q->dns->rt, &q->wait, false);
  return 0;
}

static int query_gc(lua_State *L) {
  struct dns_query *q = query_check(L, 1);
  if (q->dns && q->dns->rt->loop)
    ev_timer_stop(q->dns->rt->loop, &q->defer);
  return 0;
}

/* dns.setServers("host:port,...", timeout_ms, tries): nil servers go back
 * to /etc/resolv.conf. A channel with lookups in flight is replaced; those
 * lookups end with an error. */
static int dns_setServers(lua_State *L) {
  struct dns *dns = dns_get(L);
  const char *csv = luaL_optstring(L, 1, NULL);
  lua_Integer timeout = luaL_optinteger(L, 2, DEFAULT_TIMEOUT_MS);
  lua_Integer tries = luaL_optinteger(L, 3, DEFAULT_TRIES);
  luaL_argcheck(L, timeout > 0 && timeout < 3600000, 2, "time-out out of range");
  luaL_argcheck(L, tries > 0 && tries < 100, 3, "tries out of range");
  if (csv) {   /* validate before the old channel goes */
    ares_channel probe;
    struct ares_options opts;
    memset(&opts, 0, sizeof opts);
    if (ares_init_options(&probe, &opts, 0) != ARES_SUCCESS)
      return luaL_error(L, "the resolver could not be set up");
    int rc = ares_set_servers_ports_csv(probe, csv);
    ares_destroy(probe);
    if (rc != ARES_SUCCESS)
      return luaL_argerror(L, 1, "not a list of name servers (\"ADDR[:PORT],...\")");
  }
  free(dns->servers);
  dns->servers = csv ? strdup(csv) : NULL;
  dns->timeout_ms = (int)timeout;
  dns->tries = (int)tries;
  channel_close(dns);
  return 0;
}

static int dns_setCacheEnabled(lua_State *L) {
  struct dns *dns = dns_get(L);
  dns->cache_enabled = lua_toboolean(L, 1);
  return 0;
}

static int dns_flushCache(lua_State *L) {
  struct dns *dns = dns_get(L);
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, dns->cache_ref);
  return 0;
}

static int dns_localHostName(lua_State *L) {
  char name[256];
  if (gethostname(name, sizeof name) < 0)
    return luaL_error(L, "gethostname: %s", strerror(errno));
  name[sizeof name - 1] = '\0';
  lua_pushstring(L, name);
  return 1;
}

int luaopen_luanet_dns(lua_State *L) {
  static const luaL_Reg query_methods[] = {
    { "wait", query_wait },
    { "result", query_result },
    { "id", query_id },
    { "abort", query_abort },
    { NULL, NULL },
  };
  static const luaL_Reg funcs[] = {
    { "lookup", dns_lookup_lua },
    { "setServers", dns_setServers },
    { "setCacheEnabled", dns_setCacheEnabled },
    { "flushCache", dns_flushCache },
    { "localHostName", dns_localHostName },
    { NULL, NULL },
  };
  luaL_newmetatable(L, LNET_DNSQUERY);
  luaL_newlib(L, query_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, query_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
