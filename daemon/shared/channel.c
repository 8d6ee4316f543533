/* net.Channel: named channels in the process. A message published on one
 * reaches every Lua state that has a slot on its `message` signal (any
 * service, worker thread or generation), the publisher's own included, as
 * a copy of plain data (plain_value.h), in publish order.
 *
 *   local room = net.Channel("chat")
 *   room.message:connect(function(line) ... end)
 *   room:publish("hello")
 *
 * A state subscribes when a script first touches `message`: a subscriber
 * is a queue and an ev_async in that state's loop. publish encodes the
 * message once, and, under the channel's lock, appends a reference to it
 * to every subscriber's queue and wakes its loop; the subscriber's loop
 * takes the whole queue and emits `message` for each, on its next
 * iteration. So a publisher never waits for a reader, and a reader that
 * falls behind costs at most QUEUE_MAX messages (QUEUE_BYTES bytes): past
 * them its messages are dropped and counted, and its own loop logs the
 * count, at most once a second. Subscribing keeps no script running (as
 * an unref'd Node BroadcastChannel). A subscribed Channel stays alive (anchored) until
 * close() or its state ends. */
#include "channel.h"
#include "lua_args.h"
#include "object.h"
#include "plain_value.h"
#include "runtime.h"
#include "signals.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LNET_CHANNEL "luanet.Channel"
#define QUEUE_MAX 65536                  /* messages waiting for one state */
#define QUEUE_BYTES ((size_t)64 << 20)   /* and their bytes */

enum { SIG_MESSAGE = 1 };
/*** net.Channel: a named channel in the process. publish copies a message
 * (plain data, as SharedDict's values) to every Lua state that has
 * touched ch.message (any service, worker or generation, the publisher's
 * own included), where message is emitted on its loop's next iteration,
 * in publish order. Publishing never waits for a reader: one that falls
 * behind more than 65536 messages (64 MiB) loses the rest, counted in the
 * log. Subscribing keeps no script running.
 * @classmod Channel
 * @qt none (Node's BroadcastChannel)
 * @usage local room = net.Channel("chat")
 * room.message:connect(function(line) print(line) end)
 * room:publish("hello")
 */

/*** Emitted for each message published on the channel; touching it
 * subscribes this state.
 * @signal message
 * @param message a copy of what was published
 */
static const char *const signal_names[] = { "message", NULL };

/* A published message: its bytes, shared by every queue it is in. */
struct message {
  int refs;
  size_t len;
  char data[];
};

struct subscriber;

struct channel {
  char *name;
  pthread_mutex_t lock;      /* subscribers and their queues */
  struct subscriber *subs;
  int refs;                  /* handles; the registry holds none: an unused channel goes */
  struct channel *next;
};

struct subscriber {
  struct subscriber *next;   /* in the channel's list */
  struct channel *ch;
  struct lnet_runtime *rt;
  ev_async wake;             /* in rt's loop */
  struct message **queue;    /* a ring of cap, grown up to QUEUE_MAX */
  size_t head, count, cap, bytes;
  uint64_t dropped;          /* since the last log line */
  double logged_at;          /* when that line was written */
  ev_timer log_timer;        /* the next line, at most once a second */
  int ref;                   /* the Channel object, anchored while subscribed */
};

struct channel_handle {
  struct lnet_object obj;    /* first */
  struct channel *ch;        /* NULL once closed */
  struct subscriber *sub;    /* NULL until `message` is touched */
};

static const struct lnet_class channel_class;

/* ---- messages and channels ---- */

static void message_unref(struct message *m) {
  if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
    free(m);
}

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct channel *registry;

static struct channel *channel_open(const char *name) {
  pthread_mutex_lock(&registry_lock);
  struct channel *ch = registry;
  while (ch && strcmp(ch->name, name) != 0)
    ch = ch->next;
  if (!ch && (ch = calloc(1, sizeof *ch)) != NULL) {
    if (!(ch->name = strdup(name))) {
      free(ch);
      ch = NULL;
    } else {
      pthread_mutex_init(&ch->lock, NULL);
      ch->next = registry;
      registry = ch;
    }
  }
  if (ch)
    ch->refs++;
  pthread_mutex_unlock(&registry_lock);
  return ch;
}

static void channel_release(struct channel *ch) {
  pthread_mutex_lock(&registry_lock);
  bool last = --ch->refs == 0;
  if (last) {
    struct channel **p = &registry;
    while (*p != ch)
      p = &(*p)->next;
    *p = ch->next;
  }
  pthread_mutex_unlock(&registry_lock);
  if (last) {
    pthread_mutex_destroy(&ch->lock);
    free(ch->name);
    free(ch);
  }
}

/* ---- delivery, in the subscriber's loop ---- */

/* Messages dropped for sub (its queue was full) are logged by its own
 * loop, so that the line names the service that lost them: at once, or
 * when a second has passed since the last line. Called with the
 * channel's lock held. */
static void log_drops(struct subscriber *sub) {
  if (sub->dropped == 0 || ev_is_active(&sub->log_timer))
    return;
  double now = ev_now(sub->rt->loop);
  if (now - sub->logged_at < 1.0) {
    ev_timer_set(&sub->log_timer, 1.0 - (now - sub->logged_at), 0.);
    ev_timer_start(sub->rt->loop, &sub->log_timer);
    return;
  }
  lnet_log(sub->rt, "warn", "Channel %s: %llu message(s) dropped: this state reads slower than the channel is written",
           sub->ch->name, (unsigned long long)sub->dropped);
  sub->dropped = 0;
  sub->logged_at = now;
}

static void log_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  struct subscriber *sub = (struct subscriber *)((char *)w - offsetof(struct subscriber, log_timer));
  pthread_mutex_lock(&sub->ch->lock);
  log_drops(sub);
  pthread_mutex_unlock(&sub->ch->lock);
}

static void deliver_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop, (void)revents;
  struct subscriber *sub = (struct subscriber *)((char *)w - offsetof(struct subscriber, wake));
  struct channel *ch = sub->ch;
  /* Take the whole queue: publishers go on filling a new one. */
  struct message *small[64], **taken = small;
  pthread_mutex_lock(&ch->lock);
  size_t n = sub->count;
  if (n > 64 && !(taken = malloc(n * sizeof *taken)))
    n = 64, taken = small;
  for (size_t i = 0; i < n; i++)
    taken[i] = sub->queue[(sub->head + i) % sub->cap];
  sub->head = (sub->head + n) % sub->cap;
  sub->count -= n;
  for (size_t i = 0; i < n; i++)
    sub->bytes -= taken[i]->len;
  bool more = sub->count > 0;
  log_drops(sub);
  pthread_mutex_unlock(&ch->lock);
  lua_State *L = sub->rt->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sub->ref);   /* holds the handle while slots run */
  struct channel_handle *h = lua_touserdata(L, top + 1);
  for (size_t i = 0; i < n; i++) {
    /* A slot may close the Channel: then sub is gone, and so is the rest. */
    if (h->sub == sub && plain_decode(L, taken[i]->data, taken[i]->len))
      lnet_emit(h->sub->rt, L, top + 1, SIG_MESSAGE, 1, NULL, NULL);
    lua_settop(L, top + 1);
    message_unref(taken[i]);
  }
  if (taken != small)
    free(taken);
  if (more && h->sub == sub)
    ev_async_send(sub->rt->loop, &sub->wake);
  lua_settop(L, top);
}

/* Room for one more message in sub's ring: doubles it up to QUEUE_MAX. */
static bool ring_room(struct subscriber *sub) {
  if (sub->count < sub->cap)
    return true;
  if (sub->cap == QUEUE_MAX)
    return false;
  size_t cap = sub->cap * 2;
  struct message **q = malloc(cap * sizeof *q);
  if (!q)
    return false;
  for (size_t i = 0; i < sub->count; i++)
    q[i] = sub->queue[(sub->head + i) % sub->cap];
  free(sub->queue);
  sub->queue = q;
  sub->head = 0;
  sub->cap = cap;
  return true;
}

static void subscribe(lua_State *L, int obj, struct channel_handle *h) {
  struct subscriber *sub = calloc(1, sizeof *sub);
  if (sub && !(sub->queue = malloc((sub->cap = 64) * sizeof *sub->queue))) {
    free(sub);
    sub = NULL;
  }
  if (!sub) {
    luaL_error(L, "Channel %s: out of memory", h->ch->name);
    return;
  }
  sub->ch = h->ch;
  sub->rt = lnet_runtime(L);
  ev_async_init(&sub->wake, deliver_cb);
  ev_async_start(sub->rt->loop, &sub->wake);
  ev_unref(sub->rt->loop);   /* as a Node BroadcastChannel's unref(): listening alone keeps no script running */
  ev_init(&sub->log_timer, log_timer_cb);
  lua_pushvalue(L, obj);
  sub->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  pthread_mutex_lock(&h->ch->lock);
  sub->next = h->ch->subs;
  h->ch->subs = sub;
  pthread_mutex_unlock(&h->ch->lock);
  h->sub = sub;
}

static void unsubscribe(lua_State *L, struct channel_handle *h) {
  struct subscriber *sub = h->sub;
  if (!sub)
    return;
  h->sub = NULL;
  struct channel *ch = h->ch;
  pthread_mutex_lock(&ch->lock);
  struct subscriber **p = &ch->subs;
  while (*p != sub)
    p = &(*p)->next;
  *p = sub->next;
  pthread_mutex_unlock(&ch->lock);
  for (size_t i = 0; i < sub->count; i++)
    message_unref(sub->queue[(sub->head + i) % sub->cap]);
  if (sub->rt->loop) {
    ev_ref(sub->rt->loop);
    ev_async_stop(sub->rt->loop, &sub->wake);
    ev_timer_stop(sub->rt->loop, &sub->log_timer);
  }
  if (L)
    lnet_unanchor(L, &sub->ref);
  free(sub->queue);
  free(sub);
}

/* ---- the Lua class ---- */

static struct channel_handle *check_channel(lua_State *L) {
  struct channel_handle *h = lnet_checkself(L, 1, &channel_class);
  luaL_argcheck(L, h->ch != NULL, 1, "Channel closed");
  return h;
}

/*** Publishes a message to every subscribed state.
 * @function publish
 * @param message plain data
 * @treturn boolean true, or false and why (msg is not plain data)
 */
static int channel_publish(lua_State *L) {
  struct channel_handle *h = check_channel(L);
  luaL_checkany(L, 2);
  struct plain_bytes b = { 0 };
  char err[300];
  if (!plain_encode(L, 2, "value", &b, err, sizeof err)) {
    plain_bytes_free(&b);
    lua_pushboolean(L, 0);
    lua_pushstring(L, err);
    return 2;
  }
  struct message *m = malloc(sizeof *m + b.len);
  if (!m) {
    plain_bytes_free(&b);
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "no memory");
    return 2;
  }
  m->refs = 1;   /* ours, until every queue has taken it */
  m->len = b.len;
  memcpy(m->data, b.data, b.len);
  plain_bytes_free(&b);
  struct channel *ch = h->ch;
  pthread_mutex_lock(&ch->lock);
  for (struct subscriber *sub = ch->subs; sub; sub = sub->next) {
    if (sub->bytes + m->len > QUEUE_BYTES || !ring_room(sub)) {
      if (sub->dropped++ == 0)
        ev_async_send(sub->rt->loop, &sub->wake);   /* its loop logs the loss */
      continue;
    }
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    sub->queue[(sub->head + sub->count) % sub->cap] = m;
    sub->count++;
    sub->bytes += m->len;
    ev_async_send(sub->rt->loop, &sub->wake);
  }
  pthread_mutex_unlock(&ch->lock);
  message_unref(m);
  lua_pushboolean(L, 1);
  return 1;
}

/*** The channel's name.
 * @function name
 * @treturn string
 */
static int channel_name(lua_State *L) {
  lua_pushstring(L, check_channel(L)->ch->name);
  return 1;
}

/*** No more messages for this state from this Channel.
 * @function close
 */
static int channel_close(lua_State *L) {
  struct channel_handle *h = lnet_checkself(L, 1, &channel_class);
  unsubscribe(L, h);
  if (h->ch)
    channel_release(h->ch);
  h->ch = NULL;
  return 0;
}

static int channel__gc(lua_State *L) {
  struct channel_handle *h = lnet_checkself(L, 1, &channel_class);
  /* A subscribed Channel is anchored: collected, it is either not
   * subscribed or its state is closing (no loop to stop then). */
  unsubscribe(NULL, h);
  if (h->ch)
    channel_release(h->ch);
  h->ch = NULL;
  return 0;
}

static int channel__tostring(lua_State *L) {
  struct channel_handle *h = lnet_checkself(L, 1, &channel_class);
  if (h->ch)
    lua_pushfstring(L, LNET_CHANNEL " (%s%s)", h->ch->name, h->sub ? ", subscribed" : "");
  else
    lua_pushliteral(L, LNET_CHANNEL " (closed)");
  return 1;
}

/*** The channel of that name (made on first use).
 * @function net.Channel
 * @tparam string name
 * @treturn Channel
 */
static int channel_new(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  struct channel_handle *h = lnet_newobject(L, sizeof *h, &channel_class, 1);
  if (!(h->ch = channel_open(name)))
    return luaL_error(L, "Channel %s: out of memory", name);
  return 1;
}

static const luaL_Reg methods[] = {
  { "publish", channel_publish },
  { "name", channel_name },
  { "close", channel_close },
  { NULL, NULL },
};

static const struct lnet_class channel_class = {
  .id = LNET_ID_CHANNEL, .name = LNET_CHANNEL, .methods = methods, .signals = signal_names,
  .gc = channel__gc, .close = channel_close,
  .tostring = channel__tostring, .construct = channel_new,
};

/* ch.message, first touched: the state subscribes. The class's __index
 * (object.c) makes the signal handle; this wrapper runs first so that
 * subscribing can use L. */
static int channel_index(lua_State *L) {
  struct channel_handle *h = lnet_checkself(L, 1, &channel_class);
  if (h->ch && !h->sub && lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "message") == 0)
    subscribe(L, 1, h);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

int luaopen_luanet_channel(lua_State *L) {
  lnet_class_register(L, &channel_class);
  luaL_getmetatable(L, LNET_CHANNEL);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, channel_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  return 1;
}
