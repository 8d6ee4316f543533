/* fuzz/fuzz_h2_client.c: libFuzzer target for net._Http2Client, the HTTP/2
 * client's connection (daemon/http/h2_client.c on libnghttp2, with
 * h2_out.c), reading what a server sends over a real loopback socket, in
 * process.
 *
 * Per input: a net.TcpSocket connects to a listening socket of ours
 * (plain C, on 127.0.0.1), which accepts; a net._Http2Client makes its
 * requests and is attached to the socket (h2:attach, as after ALPN chose
 * h2; TLS is not what is fuzzed here):
 *   stream 1  GET /a, two header fields;
 *   stream 3  POST /b with an 11-byte body;
 *   stream 5  (mode bit 2) PUT /c with a 70000-byte body: past the initial
 *             window, so its end waits for the server's WINDOW_UPDATEs;
 *   then      (mode bit 4) GET /late, made before the last write, while
 *             the connection runs (or refused by a client no longer usable).
 * The input is what the server sends; our side of the connection sends it
 * in up to three writes (the first, with mode bit 1, before h2:attach, so
 * it waits in the socket's buffer), running the loop between them and
 * polling each stream: st:head() until it gives the response's head or a
 * failure, then st:read() until the body's end or a failure. Then our side
 * shuts down its sending side. Checked, else abort():
 *   - every stream ends (head and read give a result or a failure) within
 *     a bounded number of loop turns after our shutdown, and the client
 *     closes its socket;
 *   - head, read and request answer as documented: status an integer of
 *     up to three digits (nghttp2 takes any three: 000-099 too) and a final
 *     one (not 1xx), headers a table of lower-case
 *     string names and string values, chunks strings, failures a message
 *     and a boolean; a stream's end or failure stays what it was when
 *     asked again; a body as long as the content-length (but for 204 and
 *     304); h2:usable() false once the connection is gone;
 *   - what the client sent is HTTP/2: the preface, its SETTINGS (no push),
 *     then frames of known types within 16384 bytes, HEADERS only on the
 *     streams it opened, whose blocks decode (nghttp2's inflater) into the
 *     requests made (pseudo-headers first, then the fields, lower-case),
 *     DATA only on the streams with a body, the bytes a prefix of that
 *     body, and nothing on a stream after its END_STREAM;
 *   - once dropped, the client, its socket and its streams are collected.
 * Mode bit 3 cancels stream 3 after the first write (st:cancel()); mode
 * bit 5 has a task wait on stream 1 (st:wait) until it is over, which must
 * wake it (checked: the task ends within a bounded number of turns after
 * the streams did). request answers nil exactly when h2:usable() said no.
 *
 * Environment: FUZZ_H2_CLIENT_TRACE=1 prints what each input got;
 * FUZZ_H2_CLIENT_STATS=1 prints, at exit, how the streams ended. */
#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "luanet.h"

static lua_State *L;
static int api_ref = LUA_NOREF;   /* the harness's Lua functions (a table) */
static int listen_fd = -1;
static int listen_port;
static bool trace, stats;

#define MAX_TURNS 200
#define MAX_FRAME 16384
#define NREQUESTS 4
#define BIG_BODY 70000

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24

/* The harness's side in Lua: open, connected, begin, poll, cancel,
 * usable, drop, alive (see each). */
static const char SETUP[] =
    "local net = ...\n"
    "local cur, failure\n"
    "local live = setmetatable({}, { __mode = 'k' })   -- what must be collected\n"
    "local function fail(msg) failure = failure or msg end\n"
    "local big = ('0123456789abcdef'):rep(" "4375" ")   -- 70000 bytes\n"
    "local requests = {\n"
    "  { 'GET', 'http', 'fuzz.test', '/a', { Accept = '*/*', ['X-N'] = 1 } },\n"
    "  { 'POST', 'http', 'fuzz.test', '/b', { ['content-type'] = 'text/plain' }, 'hello world' },\n"
    "  { 'PUT', 'http', 'fuzz.test:8080', '/c?x=1', nil, big },\n"
    "  { 'GET', 'http', 'fuzz.test', '/late', { ['cache-control'] = 'no-cache' } },\n"
    "}\n"
    "local api = {}\n"
    /* open(port): a socket connecting to ours. */
    "function api.open(port)\n"
    "  failure = nil\n"
    "  local sock = net.TcpSocket()\n"
    "  live[sock] = 'the socket'\n"
    "  cur = { sock = sock, streams = {}, order = {}, waiting = false }\n"
    "  sock:connectToHost('127.0.0.1', port)\n"
    "end\n"
    "function api.connected() return cur.sock:state() == 'ConnectedState' end\n"
    /* Request i of the list above; cur.order keeps the indices of those
     * nghttp2 took, whose stream ids are 1, 3, 5... in that order. */
    "local function make_request(i)\n"
    "  local r = requests[i]\n"
    "  local usable = cur.h2:usable()\n"
    "  local st, err = cur.h2:request(table.unpack(r, 1, 6))\n"
    "  local s = { st = st, head = nil, body = {}, done = false }\n"
    "  if st then\n"
    "    live[st] = 'stream ' .. i\n"
    "    cur.order[#cur.order + 1] = i\n"
    "    if not usable then fail('request ' .. i .. ' taken by a client not usable') end\n"
    "  else\n"
    "    if type(err) ~= 'string' then fail('request gave nil without a reason') end\n"
    "    if usable then fail('request ' .. i .. ' refused by a usable client: ' .. err) end\n"
    "    s.done, s.failed = true, err\n"
    "  end\n"
    "  cur.streams[i] = s\n"
    "end\n"
    "local function make_requests(n)\n"
    "  for i = 1, n do make_request(i) end\n"
    "end\n"
    /* late(): request 4, made while the connection runs. */
    "function api.late() make_request(4) end\n"
    /* order(): the request indices in stream id order, as a string. */
    "function api.order() return table.concat(cur.order) end\n"
    /* waiter(): a task waits on stream 1 (st:wait) until the stream is
     * over; it must be woken then (waiting() false). */
    "function api.waiter()\n"
    "  local s = cur.streams[1]\n"
    "  if not (s and s.st) then return end\n"
    "  cur.waiting = true\n"
    "  local c = cur\n"
    "  net.spawn(function()\n"
    "    for _ = 1, 100000 do\n"
    "      if s.done then break end\n"
    "      local r = s.st:wait(60000)\n"
    "      if r ~= true then fail('st:wait gave ' .. tostring(r)) end\n"
    "      net.sleep(0)   -- the poll takes what woke it\n"
    "    end\n"
    "    c.waiting = false\n"
    "  end)\n"
    "end\n"
    "function api.waiting() return cur.waiting end\n"
    /* begin(n, before): the client, its n requests made before attach or
     * after it; attach's answer. */
    "function api.begin(n, before)\n"
    "  local h2 = net._Http2Client()\n"
    "  live[h2] = 'the client'\n"
    "  cur.h2 = h2\n"
    "  if before then make_requests(n) end\n"
    "  local ok = h2:attach(cur.sock)\n"
    "  if type(ok) ~= 'boolean' then fail('attach gave ' .. tostring(ok)) end\n"
    "  if not h2:attached() then fail('not attached after attach') end\n"
    "  if not before then make_requests(n) end\n"
    "  return ok\n"
    "end\n"
    "local function check_headers(h)\n"
    "  if type(h) ~= 'table' then fail('head gave headers ' .. type(h)); return end\n"
    "  for k, v in pairs(h) do\n"
    "    if type(k) ~= 'string' or type(v) ~= 'string' then fail('a header not a string pair'); return end\n"
    "    if k:find('%u') or k:sub(1, 1) == ':' or k == '' then fail('header name ' .. k) end\n"
    "  end\n"
    "end\n"
    /* One stream's progress; true once it is over. */
    "local function step(i, s)\n"
    "  local st = s.st\n"
    "  if not s.head then\n"
    "    local status, h, retry = st:head()\n"
    "    if status == nil and h == nil then return false end\n"
    "    if status == nil then\n"
    "      if type(h) ~= 'string' or type(retry) ~= 'boolean' then fail('head failed without a reason') end\n"
    "      s.failed = h\n"
    "      return true\n"
    "    end\n"
    "    if math.type(status) ~= 'integer' or status < 0 or status > 999 or status // 100 == 1 then\n"
    "      fail('stream ' .. i .. ': status ' .. tostring(status))\n"
    "    end\n"
    "    check_headers(h)\n"
    "    s.head, s.headers = status, h\n"
    "  end\n"
    "  for _ = 1, 100 do\n"
    "    local chunk, why, retry = st:read()\n"
    "    if chunk == nil then\n"
    "      if why ~= nil then\n"
    "        if type(why) ~= 'string' or type(retry) ~= 'boolean' then fail('read failed without a reason') end\n"
    "        s.failed = why\n"
    "        return true\n"
    "      end\n"
    "      local body = table.concat(s.body)\n"
    "      local cl = s.headers['content-length']\n"
    "      if cl and s.head ~= 204 and s.head ~= 304 and tonumber(cl) ~= #body then\n"
    "        fail(('stream %d: content-length %s, %d bytes came'):format(i, cl, #body))\n"
    "      end\n"
    "      s.ended = true\n"
    "      return true\n"
    "    end\n"
    "    if type(chunk) ~= 'string' then fail('read gave ' .. type(chunk)) return true end\n"
    "    if chunk == '' then return false end\n"
    "    s.body[#s.body + 1] = chunk\n"
    "  end\n"
    "  return false\n"
    "end\n"
    /* An ended stream asked again answers alike. */
    "local function again(i, s)\n"
    "  local st = s.st\n"
    "  if not st then return end\n"
    "  local status, h = st:head()\n"
    "  if s.ended then\n"
    "    if status ~= s.head then fail('stream ' .. i .. ': head changed after the end') end\n"
    "    local chunk, why = st:read()\n"
    "    if chunk ~= nil or why ~= nil then\n"
    "      fail('stream ' .. i .. ': read after the end gave ' .. tostring(chunk) .. ', ' .. tostring(why))\n"
    "    end\n"
    "  elseif status ~= nil or type(h) ~= 'string' then\n"
    "    fail('stream ' .. i .. ': head after a failure gave ' .. tostring(status))\n"
    "  elseif s.head then\n"
    "    local chunk, why = st:read()\n"
    "    if chunk ~= nil or type(why) ~= 'string' then\n"
    "      fail('stream ' .. i .. ': read after a failure gave ' .. tostring(chunk))\n"
    "    end\n"
    "  end\n"
    "end\n"
    /* poll(): the streams not over yet; each over is asked again. */
    "function api.poll()\n"
    "  local left = 0\n"
    "  for i, s in pairs(cur.streams) do\n"
    "    if not s.done then\n"
    "      s.done = step(i, s)\n"
    "      if s.done then again(i, s) end\n"
    "    end\n"
    "    if not s.done then left = left + 1 end\n"
    "  end\n"
    "  return left, failure\n"
    "end\n"
    "function api.cancel(i)\n"
    "  local s = cur.streams[i]\n"
    "  if s and s.st then s.st:cancel() end\n"
    "end\n"
    /* usable(): h2:usable(), and the socket's state. */
    "function api.usable() return cur.h2:usable(), cur.sock:state() end\n"
    /* result(i): how stream i ended: 'ended', 'failed' or 'open', status, body. */
    "function api.result(i)\n"
    "  local s = cur.streams[i]\n"
    "  if not s then return 'none' end\n"
    "  return s.ended and 'ended' or s.failed and 'failed' or 'open', s.head, table.concat(s.body), s.failed\n"
    "end\n"
    "function api.drop() cur = nil end\n"
    /* alive(): what of the last input is still there, or nil. */
    "function api.alive()\n"
    "  for _, what in pairs(live) do return what end\n"
    "end\n"
    "return api\n";

/* ---- statistics (FUZZ_H2_CLIENT_STATS) ---- */

static struct {
  unsigned long inputs, ended, failed, statuses[10], bytes;
} st_total;

static void print_stats(void) {
  fprintf(stderr, "fuzz_h2_client stats: %lu inputs; streams: %lu ended (%lu body bytes), %lu failed; statuses:",
          st_total.inputs, st_total.ended, st_total.bytes, st_total.failed);
  for (int i = 0; i < 10; i++)
    if (st_total.statuses[i])
      fprintf(stderr, " %dxx: %lu", i, st_total.statuses[i]);
  fputc('\n', stderr);
}

static bool env_flag(const char *name) {
  const char *e = getenv(name);
  return e && *e && strcmp(e, "0") != 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  trace = env_flag("FUZZ_H2_CLIENT_TRACE");
  stats = env_flag("FUZZ_H2_CLIENT_STATS");
  if (stats)
    atexit(print_stats);
  listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(listen_fd, 16) < 0 ||
      getsockname(listen_fd, (struct sockaddr *)&a, &alen) < 0) {
    perror("fuzz_h2_client: listen");
    abort();
  }
  listen_port = ntohs(a.sin_port);

  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "luanet.core", luaopen_luanet_core, 0);
  if (luaL_loadstring(L, SETUP) != LUA_OK) {
    fprintf(stderr, "fuzz_h2_client: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_h2_client: %s\n", lua_tostring(L, -1));
    abort();
  }
  api_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

#define FUZZ_NAME "fuzz_h2_client"
#include "fuzz_common.h"

/* ---- the harness's Lua ---- */

/* Calls api[name](args...), nres results left on the stack. */
static void api_call(const char *name, int nargs, int nres) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, api_ref);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, -1 - nargs);
  lua_call(L, nargs, nres);
}

static void pump(void) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_getfield(L, -1, "luanet.core");
  lua_getfield(L, -1, "processEvents");
  lua_call(L, 0, 0);
  lua_pop(L, 3);
}

/* The streams not over yet; a failure of the Lua checks aborts. */
static int poll_streams(void) {
  api_call("poll", 0, 2);
  int left = (int)lua_tointeger(L, -2);
  if (lua_isstring(L, -1))
    fail("%s", lua_tostring(L, -1));
  lua_pop(L, 2);
  return left;
}

/* ---- the server's side ---- */

struct server_side {
  int fd;
  struct bytes in;   /* what the client sent */
  bool eof;
};

static void drain(struct server_side *s) {
  char buf[65536];
  for (;;) {
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      bytes_add(&s->in, buf, (size_t)n);
      continue;
    }
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      s->eof = true;
      return;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return;
  }
}

/* One turn: the loop, our reads, the streams' polls. */
static int turn(struct server_side *s) {
  pump();
  drain(s);
  return poll_streams();
}

static void send_piece(struct server_side *s, const uint8_t *p, size_t n) {
  int stuck = 0;
  while (n > 0 && !s->eof) {
    ssize_t k = send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= (size_t)k;
      stuck = 0;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      turn(s);
      if (++stuck > MAX_TURNS)
        fail("the client takes no more of the server's bytes (%zu left)", n);
      if (stuck > 8)
        poll(&(struct pollfd){ s->fd, POLLOUT, 0 }, 1, 1);
      continue;
    }
    return;   /* the client closed */
  }
}

/* ---- reading the client's frames ---- */

struct request_check {
  const char *nv[12];   /* name, value pairs expected, in order, NULL-ended */
  const char *body;
  size_t body_len;
};

static char big_body[BIG_BODY];

static const struct request_check expected[NREQUESTS] = {
  { { ":method", "GET", ":scheme", "http", ":authority", "fuzz.test", ":path", "/a", NULL }, NULL, 0 },
  { { ":method", "POST", ":scheme", "http", ":authority", "fuzz.test", ":path", "/b", "content-type", "text/plain", NULL },
    "hello world", 11 },
  { { ":method", "PUT", ":scheme", "http", ":authority", "fuzz.test:8080", ":path", "/c?x=1", NULL }, big_body,
    BIG_BODY },
  { { ":method", "GET", ":scheme", "http", ":authority", "fuzz.test", ":path", "/late", "cache-control", "no-cache",
      NULL }, NULL, 0 },
};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* order: the indices (1-4) of the requests nghttp2 took, in stream id
 * order (stream 1, 3, 5...). */
static void walk(const struct server_side *s, const char *order) {
  int nstreams = (int)strlen(order);
  const uint8_t *d = (const uint8_t *)s->in.p;
  size_t n = s->in.len, pos = PREFACE_LEN;
  unsigned type = 0;
  int32_t id = 0;
  int index = 0;
#define BAD(fmt, ...)                                                                               \
  do {                                                                                              \
    dump_hex("the client sent", d, n);                                                              \
    fail("client frame %d at byte %zu (type %u, stream %d): " fmt, index, pos, type, id, ##__VA_ARGS__); \
  } while (0)
  if (n == 0)
    return;   /* it died before it spoke (attach on an input that killed it) */
  if (n < PREFACE_LEN || memcmp(d, PREFACE, PREFACE_LEN) != 0)
    BAD("the client's bytes do not start with the preface");
  nghttp2_hd_inflater *inflater;
  if (nghttp2_hd_inflate_new(&inflater) != 0)
    abort();
  struct bytes block = { 0 };
  int32_t block_stream = 0;
  bool block_end = false;
  size_t sent[NREQUESTS] = { 0 };   /* DATA bytes per stream */
  bool opened[NREQUESTS] = { 0 }, ended[NREQUESTS] = { 0 };
  while (pos < n) {
    type = 0;
    id = 0;
    if (n - pos < 9)
      break;   /* cut by the close (the client aborts on a protocol error) */
    const uint8_t *h = d + pos;
    uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
    type = h[3];
    uint8_t flags = h[4];
    id = (int32_t)(be32(h + 5) & 0x7fffffff);
    if (h[5] & 0x80)
      BAD("the reserved bit set");
    if (len > MAX_FRAME)
      BAD("length %u", len);
    if (n - pos - 9 < len)
      break;
    const uint8_t *p = h + 9;
    index++;
    if (index == 1) {
      if (type != NGHTTP2_SETTINGS || (flags & NGHTTP2_FLAG_ACK))
        BAD("the client's first frame is not its SETTINGS");
      bool no_push = false;
      for (uint32_t i = 0; i + 6 <= len; i += 6)
        if ((p[i] << 8 | p[i + 1]) == NGHTTP2_SETTINGS_ENABLE_PUSH)
          no_push = be32(p + i + 2) == 0;
      if (!no_push)
        BAD("the client's SETTINGS do not refuse push");
    }
    if (block_stream && (type != NGHTTP2_CONTINUATION || id != block_stream))
      BAD("a header block interrupted");
    int slot = id >= 1 && id % 2 == 1 && id <= 2 * nstreams - 1 ? (id - 1) / 2 : -1;
    int k = slot < 0 ? -1 : order[slot] - '1';   /* the request's index in expected */
    switch (type) {
    case NGHTTP2_HEADERS: {
      if (k < 0 || k >= NREQUESTS)
        BAD("HEADERS on a stream the client did not open");
      if (opened[k])
        BAD("a second HEADERS (the client sends no trailers)");
      opened[k] = true;
      const uint8_t *q = p;
      size_t qn = len;
      if (flags & NGHTTP2_FLAG_PADDED)
        BAD("padded HEADERS (the client pads nothing)");
      if (flags & NGHTTP2_FLAG_PRIORITY) {
        if (qn < 5)
          BAD("bad priority");
        q += 5;
        qn -= 5;
      }
      block.len = 0;
      bytes_add(&block, q, qn);
      block_end = flags & NGHTTP2_FLAG_END_STREAM;
      if (!(flags & NGHTTP2_FLAG_END_HEADERS)) {
        block_stream = id;
        break;
      }
      goto decode;
    }
    case NGHTTP2_CONTINUATION:
      if (!block_stream)
        BAD("CONTINUATION without its HEADERS");
      bytes_add(&block, p, len);
      if (!(flags & NGHTTP2_FLAG_END_HEADERS))
        break;
      block_stream = 0;
    decode: {
      const uint8_t *in = (const uint8_t *)block.p;
      size_t left = block.len;
      int field = 0;
      bool regular = false;
      for (;;) {
        nghttp2_nv nv;
        int iflags = 0;
        ssize_t r = nghttp2_hd_inflate_hd2(inflater, &nv, &iflags, in, left, 1);
        if (r < 0)
          BAD("the header block does not decode (%s)", nghttp2_strerror((int)r));
        in += r;
        left -= (size_t)r;
        if (iflags & NGHTTP2_HD_INFLATE_EMIT) {
          for (size_t i = 0; i < nv.namelen; i++)
            if (nv.name[i] >= 'A' && nv.name[i] <= 'Z')
              BAD("an upper-case name");
          if (nv.namelen && nv.name[0] == ':') {
            if (regular)
              BAD("a pseudo-header after a field");
          } else {
            regular = true;
          }
          const char *const *e = expected[k].nv;
          bool found = false;
          for (int i = 0; e[i]; i += 2)
            if (strlen(e[i]) == nv.namelen && memcmp(e[i], nv.name, nv.namelen) == 0) {
              if (strlen(e[i + 1]) != nv.valuelen || memcmp(e[i + 1], nv.value, nv.valuelen) != 0)
                BAD("%s is not %s", e[i], e[i + 1]);
              found = true;
            }
          if (!found && !(nv.namelen == 6 && memcmp(nv.name, "accept", 6) == 0) &&
              !(nv.namelen == 3 && memcmp(nv.name, "x-n", 3) == 0))
            BAD("an unexpected field %.*s", (int)nv.namelen, nv.name);
          field++;
        }
        if (iflags & NGHTTP2_HD_INFLATE_FINAL) {
          nghttp2_hd_inflate_end_headers(inflater);
          break;
        }
        if (!(iflags & NGHTTP2_HD_INFLATE_EMIT) && left == 0)
          BAD("the header block ends inside a field");
      }
      if (field < 4)
        BAD("%d fields: the four pseudo-headers must be there", field);
      if (block_end != (expected[k].body == NULL))
        BAD("END_STREAM on the HEADERS of a request %s a body", block_end ? "with" : "without");
      ended[k] = block_end;
      break;
    }
    case NGHTTP2_DATA: {
      if (k < 0 || k >= NREQUESTS || !opened[k] || ended[k] || !expected[k].body)
        BAD("DATA on a stream not open for a body");
      const uint8_t *q = p;
      size_t qn = len;
      if (flags & NGHTTP2_FLAG_PADDED)
        BAD("padded DATA (the client pads nothing)");
      if (sent[k] + qn > expected[k].body_len || memcmp(expected[k].body + sent[k], q, qn) != 0)
        BAD("DATA not the request's body (at %zu)", sent[k]);
      sent[k] += qn;
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        if (sent[k] != expected[k].body_len)
          BAD("END_STREAM after %zu of the body's %zu bytes", sent[k], expected[k].body_len);
        ended[k] = true;
      }
      break;
    }
    case NGHTTP2_RST_STREAM:
      if (len != 4 || id == 0)
        BAD("bad RST_STREAM");
      break;
    case NGHTTP2_SETTINGS:
      if (id != 0 || ((flags & NGHTTP2_FLAG_ACK) ? len != 0 : len % 6 != 0))
        BAD("bad SETTINGS");
      break;
    case NGHTTP2_PING:
      if (id != 0 || len != 8 || !(flags & NGHTTP2_FLAG_ACK))
        BAD("bad PING (the client only answers them)");
      break;
    case NGHTTP2_GOAWAY:
      if (id != 0 || len < 8)
        BAD("bad GOAWAY");
      break;
    case NGHTTP2_WINDOW_UPDATE:
      if (len != 4 || (be32(p) & 0x7fffffff) == 0)
        BAD("bad WINDOW_UPDATE");
      break;
    default:
      BAD("a frame the client must not send");
    }
    pos += 9 + len;
  }
#undef BAD
  free(block.p);
  nghttp2_hd_inflate_del(inflater);
}

/* ---- one input ---- */

static int accept_client(void) {
  for (int i = 0; i < MAX_TURNS; i++) {
    pump();
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      /* Each write leaves at once: Nagle would hold a piece until the
       * client's delayed ACK, and the loop's turns would pass without it. */
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
      return fd;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      fail("accept: %s", strerror(errno));
    poll(&(struct pollfd){ listen_fd, POLLIN, 0 }, 1, 1);
  }
  fail("the client's connect never came");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3 || size > 100000)
    return 0;
  if (!big_body[0])
    for (size_t i = 0; i < BIG_BODY; i++)
      big_body[i] = "0123456789abcdef"[i % 16];
  cur_data = data;
  cur_size = size;
  int mode = data[0];
  bool early = mode & 2, cancel = mode & 8, late = mode & 16, waiter = mode & 32;
  int nstreams = mode & 4 ? 3 : 2;
  const uint8_t *stream = data + 3;
  size_t n = size - 3;
  size_t cut1 = (n * data[1] + 127) / 255, cut2 = (n * data[2] + 127) / 255;
  if (cut1 > cut2) {
    size_t t = cut1;
    cut1 = cut2;
    cut2 = t;
  }
  int top = lua_gettop(L);

  lua_pushinteger(L, listen_port);
  api_call("open", 1, 0);
  struct server_side s = { .fd = accept_client() };
  for (int i = 0;; i++) {
    api_call("connected", 0, 1);
    bool up = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (up)
      break;
    if (i > MAX_TURNS)
      fail("the client's socket never connected");
    pump();
  }
  const size_t cuts[4] = { 0, cut1, cut2, n };
  int piece = 0;
  if (early) {   /* the first piece waits in the socket's buffer for attach */
    send_piece(&s, stream, cut1);
    for (int i = 0; i < 4; i++)
      pump();
    piece = 1;
  }
  lua_pushinteger(L, nstreams);
  lua_pushboolean(L, mode & 1);
  api_call("begin", 2, 1);
  lua_pop(L, 1);
  if (waiter)
    api_call("waiter", 0, 0);
  for (; piece < 3; piece++) {
    turn(&s);
    if (piece == 1 && cancel) {
      lua_pushinteger(L, 2);
      api_call("cancel", 1, 0);
    }
    if (piece == 2 && late)
      api_call("late", 0, 0);
    send_piece(&s, stream + cuts[piece], cuts[piece + 1] - cuts[piece]);
  }
  for (int i = 0; i < 8; i++)
    turn(&s);
  /* The server says no more: the streams still open must end. */
  shutdown(s.fd, SHUT_WR);
  int turns = 0, left = 1;
  while ((left > 0 || !s.eof) && turns < MAX_TURNS) {
    turns++;
    size_t before = s.in.len;
    left = turn(&s);
    if (s.in.len == before && turns > 8)
      poll(&(struct pollfd){ s.fd, POLLIN, 0 }, 1, 1);
  }
  if (left > 0)
    fail("%d stream(s) still open %d turns after the server's shutdown", left, MAX_TURNS);
  if (!s.eof)
    fail("the client did not close its socket %d turns after the server's shutdown", MAX_TURNS);
  /* A task waiting on a stream (st:wait) is woken by its end. */
  bool waiting = true;
  for (int i = 0; i < MAX_TURNS && waiting; i++) {
    api_call("waiting", 0, 1);
    waiting = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (waiting)
      pump();
  }
  if (waiting)
    fail("a task waiting on stream 1 (st:wait) was not woken by its end");
  api_call("usable", 0, 2);
  if (lua_toboolean(L, -2))
    fail("h2:usable() after the connection closed (socket %s)", lua_tostring(L, -1));
  lua_pop(L, 2);
  api_call("order", 0, 1);
  char order[NREQUESTS + 1];
  snprintf(order, sizeof order, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  walk(&s, order);
  if (trace || stats) {
    for (int i = 1; i <= NREQUESTS; i++) {
      lua_pushinteger(L, i);
      api_call("result", 1, 4);
      const char *how = lua_tostring(L, -4);
      int status = (int)lua_tointeger(L, -3);
      size_t blen = 0;
      lua_tolstring(L, -2, &blen);
      if (trace)
        fprintf(stderr, "  request %d: %s %d, %zu bytes%s%s\n", i, how, status, blen,
                lua_isstring(L, -1) ? ": " : "", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
      if (stats && strcmp(how, "none") != 0) {
        st_total.ended += strcmp(how, "ended") == 0;
        st_total.failed += strcmp(how, "failed") == 0;
        if (status >= 100 && status < 1000)
          st_total.statuses[status / 100]++;
        st_total.bytes += blen;
      }
      lua_pop(L, 4);
    }
    if (trace)
      fprintf(stderr, "mode %d, cuts %zu %zu of %zu: %d turn(s) after the shutdown, streams for requests %s, "
              "the client sent %zu bytes\n", mode, cut1, cut2, n, turns, order, s.in.len);
    st_total.inputs++;
  }
  struct linger lg = { 1, 0 };
  setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(s.fd);
  free(s.in.p);
  /* Dropped, everything of this input goes. */
  api_call("drop", 0, 0);
  lua_settop(L, top);
  char still[64] = "";
  for (int i = 0; i < 8; i++) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    api_call("alive", 0, 1);
    snprintf(still, sizeof still, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    if (!still[0])
      break;
    pump();
  }
  if (still[0])
    fail("%s of the last input was never collected", still);
  cur_data = NULL;
  return 0;
}
