/* fuzz/fuzz_h2_server.c: libFuzzer target for net.HttpServer's HTTP/2
 * (daemon/http/h2_session.c, h2_stream.c, h2_out.c on libnghttp2, with
 * http_conn.c's switch to HTTP/2 on the client's preface: h2c with prior
 * knowledge), driven over real loopback sockets, in process.
 *
 * Two servers, made once, alike but for streamBody: net.HttpServer{
 * maxHeader = 2048, maxBody = 4096, time-outs of a minute } on
 * 127.0.0.1:0, whose handler sets X-Call (its call's number) and X-Method,
 * and answers with a body made from the request ("METHOD path query
 * nheaders #body"), by the path's first two bytes:
 *   /w  res:writeHead(200, headers), the body in two res:write calls,
 *       then res:finish();
 *   /f  res:sendFile of a small file made at start-up;
 *   /d  later: after a turn of the loop (net.sleep(0)) res:setHeader and
 *       res:write, after another turn res:finish (the stream may be gone
 *       meanwhile);
 *   /n  res:writeHead(204), res:finish() (a bodiless status);
 *   else res:finish(body).
 * On the streamBody server, /w and /s read the request's body with
 * req:readSome()/req:waitBody() (as req:read does) before answering;
 * elsewhere req.body is the body. Each call notes the body it sent, the
 * status, and whether its first send said the stream was open.
 *
 * Input: byte 0 the mode: bit 0 the streamBody server, bit 1 raw (only the
 * preface's first line, "PRI * HTTP/2.0\r\n", comes from us, so the rest of
 * the magic and the first SETTINGS are the input's), bit 2 the loop runs a
 * few turns between the writes (else one); bytes 1 and 2 two split points
 * (scaled to the stream's length); the rest is what the client sends,
 * after the preface and an empty SETTINGS (not in raw mode). A plain C
 * client socket sends it in up to three writes, running the server's loop
 * between them, lets the loop settle, shuts down its sending side and
 * reads until the server closes. Checked, else abort():
 *   - the server closes within a bounded number of loop turns after the
 *     client's shutdown, then holds no connection, and every handler call
 *     has returned (a streamed body's wait ends when its stream does);
 *   - what the server sent is HTTP/2 frames: SETTINGS first; known types
 *     only (no PUSH_PROMISE, no PRIORITY); lengths within 16384 and as
 *     each type wants; stream 0 for SETTINGS, PING (ACKs only) and GOAWAY,
 *     odd stream ids for HEADERS, DATA, RST_STREAM; CONTINUATION only
 *     right after its HEADERS; no frame cut off (unless the connection was
 *     reset); header blocks that decode (HPACK, nghttp2's inflater) into a
 *     response: :status first, lower-case names, no connection-specific
 *     field; one response per stream; DATA only after its HEADERS and
 *     before the stream's END_STREAM;
 *   - a response with X-Call is that call's, once: its status, and, once
 *     it ended, its body (none for HEAD or 204) and content-length match
 *     what the handler sent; a response without is the server's own (400,
 *     408, 413, 417, 431, 501, 503; never 500: the handler does not fail)
 *     with its "NNN Reason\n" body (or none, for a HEAD) and that length;
 *   - every handler call whose first send found its stream open got its
 *     response's HEADERS, unless the server reset that stream first (a
 *     stream error nghttp2 found meanwhile: counted, as the call's stream
 *     is not known here) or ended the connection with a GOAWAY carrying
 *     an error (or the connection was reset);
 *   - the handler's own checks (req.version "2", no req.body when the
 *     body is streamed, no error from the API but that of a stream over).
 *
 * Environment: FUZZ_H2_SERVER_TRACE=1 prints what each input got;
 * FUZZ_H2_SERVER_STATS=1 prints, at exit, how deep the inputs went
 * (handler calls, responses complete, the server's own statuses, GOAWAYs,
 * resets). */
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
static int pump_ref = LUA_NOREF;     /* net.processEvents */
static int state_ref = LUA_NOREF;    /* state(): calls, failure, connections, running */
static int reset_ref = LUA_NOREF;    /* reset(): a new input */
static int record_ref = LUA_NOREF;   /* record(i): ok, body, status, len, head, done */
static struct sockaddr_in server_addr[2];   /* buffered, streamBody */
static char file_path[] = "/tmp/fuzz_h2_server.XXXXXX";
static char file_body[300];   /* the file /f sends */
static size_t file_len;
static bool trace, stats;

/* The turns the loop gets to close a connection after the client's
 * shutdown; past them the server hangs. */
#define MAX_TURNS 200
/* The largest frame the server may send: SETTINGS_MAX_FRAME_SIZE's
 * initial value, and nghttp2's own size for DATA. Our header blocks are
 * far smaller. */
#define MAX_FRAME 16384

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24
#define PREFACE_LINE 16
static const uint8_t EMPTY_SETTINGS[9] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };

static const char SETUP[] =
    "local net, file_path, file_body = ...\n"
    "local calls, failure, running = 0, nil, 0\n"
    "local log = {}\n"
    "local function fail(msg) failure = failure or msg end\n"
    /* What the API may raise once a handler's stream is over (and its
     * struct serves another stream): the stale req and res refuse. */
    "local function gone(err)\n"
    "  return type(err) == 'string' and (err:find('after finish()', 1, true) or\n"
    "    err:find('one that is over', 1, true) or err:find('already waiting', 1, true)) ~= nil\n"
    "end\n"
    "local function handler(stream)\n"
    "  return function(req, res)\n"
    "    calls = calls + 1\n"
    "    local id = calls\n"
    "    local rec = { ok = false, body = '', len = -1, status = 200, head = req.method == 'HEAD', done = false }\n"
    "    log[id] = rec\n"
    "    running = running + 1\n"
    "    local ok, err = pcall(function()\n"
    "      local method, path, query = req.method, req.path, req.query\n"
    "      if req.version ~= '2' then fail('req.version is ' .. tostring(req.version)) end\n"
    "      local n = 0\n"
    "      for _ in pairs(req.headers) do n = n + 1 end\n"
    "      local kind = path:sub(1, 2)\n"
    "      local body = req.body\n"
    "      if stream and #body > 0 then fail('req.body under streamBody') end\n"
    "      if stream and (kind == '/s' or kind == '/w') then\n"
    "        local parts = {}\n"
    "        while true do\n"
    "          local data = req:readSome()\n"
    "          if data == false then\n"
    "            req:waitBody()\n"
    "          elseif data == nil then\n"
    "            break\n"
    "          else\n"
    "            if type(data) ~= 'string' or #data == 0 then fail('readSome gave ' .. tostring(data)) end\n"
    "            parts[#parts + 1] = data\n"
    "          end\n"
    "        end\n"
    "        body = table.concat(parts)\n"
    "      end\n"
    "      local text = ('%s %s %s %d %d\\n'):format(method, path, query or '-', n, #body)\n"
    "      res:setHeader('X-Call', tostring(id))\n"
    "      res:setHeader('X-Method', method)\n"
    "      if kind == '/w' then\n"
    "        res:writeHead(200, { ['X-Writes'] = '2' })\n"
    "        rec.body = text .. 'second write\\n'\n"
    "        rec.ok = res:write(text)\n"
    "        res:write('second write\\n')\n"
    "        res:finish()\n"
    "      elseif kind == '/f' then\n"
    "        rec.body, rec.len = file_body, #file_body\n"
    "        local r, e = res:sendFile(file_path)\n"
    "        if r == nil then fail('sendFile: ' .. tostring(e)) end\n"
    "        rec.ok = r\n"
    "      elseif kind == '/d' then\n"
    "        net.sleep(0)\n"
    "        res:setHeader('X-Late', '1')\n"
    "        rec.body = text .. 'late\\n'\n"
    "        rec.ok = res:write(text)\n"
    "        net.sleep(0)\n"
    "        res:finish('late\\n')\n"
    "      elseif kind == '/n' then\n"
    "        rec.status = 204\n"
    "        res:writeHead(204)\n"
    "        rec.ok = res:finish()\n"
    "      else\n"
    "        rec.body, rec.len = text, #text\n"
    "        rec.ok = res:finish(text)\n"
    "      end\n"
    "    end)\n"
    "    if not ok and not gone(err) then fail('handler: ' .. tostring(err)) end\n"
    "    if rec.head or rec.status == 204 then rec.body = '' end\n"
    "    rec.done = true\n"
    "    running = running - 1\n"
    "  end\n"
    "end\n"
    "local servers, ports = {}, {}\n"
    "for i, stream in ipairs({ false, true }) do\n"
    "  local server = net.HttpServer{ maxHeader = 2048, maxBody = 4096, headerTimeout = 60000,\n"
    "                                 keepAliveTimeout = 60000, sendTimeout = 60000, streamBody = stream }\n"
    "  server.request:connect(handler(stream))\n"
    "  local ok, err = server:listen('127.0.0.1', 0)\n"
    "  assert(ok, err)\n"
    "  servers[i], ports[i] = server, server:serverPort()\n"
    "end\n"
    "local function state()\n"
    "  return calls, failure, servers[1]:connectionCount() + servers[2]:connectionCount(), running\n"
    "end\n"
    "local function reset() calls, failure, log = 0, nil, {} end\n"
    "local function record(i)\n"
    "  local r = log[i]\n"
    "  return r.ok, r.body, r.status, r.len, r.head, r.done\n"
    "end\n"
    "return ports[1], ports[2], net.processEvents, state, reset, record, servers\n";

/* ---- statistics (FUZZ_H2_SERVER_STATS) ---- */

static struct {
  unsigned long inputs, calls, headers_seen, complete, own[600], goaway_error, goaway_ok, server_resets, conn_resets;
} st_total;

static void print_stats(void) {
  fprintf(stderr,
          "fuzz_h2_server stats: %lu inputs, %lu handler calls, %lu responses (HEADERS) of them, "
          "%lu complete responses; GOAWAY %lu with an error, %lu without; %lu RST_STREAM; %lu connection resets\n",
          st_total.inputs, st_total.calls, st_total.headers_seen, st_total.complete, st_total.goaway_error,
          st_total.goaway_ok, st_total.server_resets, st_total.conn_resets);
  fprintf(stderr, "  the server's own statuses:");
  for (int i = 0; i < 600; i++)
    if (st_total.own[i])
      fprintf(stderr, " %d: %lu", i, st_total.own[i]);
  fputc('\n', stderr);
}

static void remove_file(void) {
  unlink(file_path);
}

static bool env_flag(const char *name) {
  const char *e = getenv(name);
  return e && *e && strcmp(e, "0") != 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  int fd = mkstemp(file_path);
  if (fd < 0) {
    perror("fuzz_h2_server: mkstemp");
    abort();
  }
  atexit(remove_file);
  trace = env_flag("FUZZ_H2_SERVER_TRACE");
  stats = env_flag("FUZZ_H2_SERVER_STATS");
  if (stats)
    atexit(print_stats);
  for (size_t i = 0; i < sizeof file_body; i++)
    file_body[i] = (char)('a' + i % 26);
  file_body[sizeof file_body - 1] = '\n';
  file_len = sizeof file_body;
  if (write(fd, file_body, file_len) != (ssize_t)file_len) {
    perror("fuzz_h2_server: write");
    abort();
  }
  close(fd);

  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "luanet.core", luaopen_luanet_core, 0);
  if (luaL_loadstring(L, SETUP) != LUA_OK) {
    fprintf(stderr, "fuzz_h2_server: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_insert(L, -2);
  lua_pushstring(L, file_path);
  lua_pushlstring(L, file_body, file_len);
  if (lua_pcall(L, 3, 7, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_h2_server: %s\n", lua_tostring(L, -1));
    abort();
  }
  luaL_ref(L, LUA_REGISTRYINDEX);   /* the servers: kept for good */
  record_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  reset_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  pump_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  for (int i = 1; i >= 0; i--) {
    int port = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    server_addr[i].sin_family = AF_INET;
    server_addr[i].sin_port = htons((uint16_t)port);
    server_addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return 0;
}

/* ---- the loop and the server's state ---- */

static void pump(void) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, pump_ref);
  lua_call(L, 0, 0);
}

static void reset_state(void) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, reset_ref);
  lua_call(L, 0, 0);
}

struct server_state {
  long calls, conns, running;
  char failure[512];
};

static void server_state(struct server_state *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, state_ref);
  lua_call(L, 0, 4);
  s->calls = (long)lua_tointeger(L, -4);
  s->failure[0] = 0;
  if (lua_isstring(L, -3))
    snprintf(s->failure, sizeof s->failure, "%s", lua_tostring(L, -3));
  s->conns = (long)lua_tointeger(L, -2);
  s->running = (long)lua_tointeger(L, -1);
  lua_pop(L, 4);
}

#define FUZZ_NAME "fuzz_h2_server"
#include "fuzz_common.h"

/* ---- the client ---- */

struct feeding {
  struct bytes in;     /* what the server sent */
  bool eof, reset;
  int turns;           /* loop turns after the shutdown */
};

/* Reads what has come; true once the server closed (or reset). */
static bool drain(int fd, struct feeding *f) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      bytes_add(&f->in, buf, (size_t)n);
      continue;
    }
    if (n == 0) {
      f->eof = true;
      return true;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return false;
    f->reset = true;   /* ECONNRESET: what had come was read first */
    f->eof = true;
    return true;
  }
}

/* Sends p[0..n), running the loop while the kernel is full; false when
 * the server closed first. */
static bool send_all(int fd, struct feeding *f, const uint8_t *p, size_t n) {
  int stuck = 0;
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= (size_t)k;
      stuck = 0;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pump();
      if (drain(fd, f))
        return false;
      if (++stuck > MAX_TURNS)
        fail("the server takes no more of the client's bytes (%zu left)", n);
      if (stuck > 8)
        poll(&(struct pollfd){ fd, POLLOUT, 0 }, 1, 1);
      continue;
    }
    return false;   /* EPIPE, ECONNRESET: it closed */
  }
  return true;
}

/* Turns of the loop: the server accepts, reads, answers. */
static bool settle(int fd, struct feeding *f, int turns) {
  for (int i = 0; i < turns; i++) {
    pump();
    if (drain(fd, f))
      return true;
  }
  return false;
}

/* Until the server has nothing more to say for a few turns (its handlers'
 * tasks run on the loop's prepare watcher, the sendFile bytes leave on
 * writability). */
static bool settle_quiet(int fd, struct feeding *f) {
  int quiet = 0;
  for (int i = 0; i < 64 && quiet < 4; i++) {
    size_t before = f->in.len;
    pump();
    if (drain(fd, f))
      return true;
    quiet = f->in.len == before ? quiet + 1 : 0;
  }
  return false;
}

static int connect_to(const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket: %s", strerror(errno));
  /* Loopback: the handshake completes in the kernel, before any accept. */
  if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0) {
    int err = errno;
    if (err == EINTR) {   /* libFuzzer's SIGALRM (-timeout): it goes on */
      struct pollfd pfd = { fd, POLLOUT, 0 };
      socklen_t len = sizeof err;
      while (poll(&pfd, 1, 1000) < 0 && errno == EINTR)
        ;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    }
    if (err)
      fail("connect: %s", strerror(err));
  }
  /* Each write leaves at once: Nagle would hold a piece until the
   * server's delayed ACK, and the loop's turns would pass without it. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
  return fd;
}

/* ---- reading the server's frames ---- */

struct response {
  int32_t id;
  int status;
  long call;            /* X-Call, or 0 */
  bool head_method;     /* X-Method: HEAD */
  long long length;     /* content-length, or -1 */
  bool ended, reset;
  struct bytes body;
};

struct frames {
  struct response *r;
  size_t n, cap;
  bool goaway, goaway_error;
  long resets;          /* RST_STREAM frames */
};

static struct response *response_of(struct frames *fr, int32_t id, bool make) {
  for (size_t i = 0; i < fr->n; i++)
    if (fr->r[i].id == id)
      return &fr->r[i];
  if (!make)
    return NULL;
  if (fr->n == fr->cap) {
    fr->cap = fr->cap ? fr->cap * 2 : 16;
    fr->r = realloc(fr->r, fr->cap * sizeof *fr->r);
    if (!fr->r)
      abort();
  }
  struct response *r = &fr->r[fr->n++];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->length = -1;
  return r;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool name_is(const nghttp2_nv *nv, const char *name) {
  size_t n = strlen(name);
  return nv->namelen == n && memcmp(nv->name, name, n) == 0;
}

/* A decimal number of up to 18 digits, or -1. */
static long long number(const uint8_t *p, size_t n) {
  if (n == 0 || n > 18)
    return -1;
  long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* One header field of a response's block. */
static void response_field(const struct bytes *all, struct response *r, const nghttp2_nv *nv, int index) {
#define BAD(fmt, ...)                                       \
  do {                                                      \
    dump_hex("received", all->p, all->len);                 \
    fail("stream %d: " fmt, r->id, ##__VA_ARGS__);          \
  } while (0)
  if (index == 0) {
    if (!name_is(nv, ":status") || nv->valuelen != 3)
      BAD("the first field is not :status");
    r->status = (int)number(nv->value, 3);
    if (r->status < 100)
      BAD(":status %.3s", nv->value);
    return;
  }
  if (nv->namelen == 0 || nv->name[0] == ':')
    BAD("a second pseudo-header or an empty name");
  for (size_t i = 0; i < nv->namelen; i++)
    if (nv->name[i] >= 'A' && nv->name[i] <= 'Z')
      BAD("an upper-case field name");
  for (size_t i = 0; i < nv->valuelen; i++)
    if (nv->value[i] == '\r' || nv->value[i] == '\n' || nv->value[i] == 0)
      BAD("CR, LF or NUL in a field value");
  if (name_is(nv, "connection") || name_is(nv, "keep-alive") || name_is(nv, "proxy-connection") ||
      name_is(nv, "transfer-encoding") || name_is(nv, "upgrade"))
    BAD("a connection-specific field: %.*s", (int)nv->namelen, nv->name);
  if (name_is(nv, "x-call")) {
    r->call = (long)number(nv->value, nv->valuelen);
    if (r->call <= 0)
      BAD("bad x-call");
  } else if (name_is(nv, "x-method")) {
    r->head_method = nv->valuelen == 4 && memcmp(nv->value, "HEAD", 4) == 0;
  } else if (name_is(nv, "content-length")) {
    if (r->length >= 0)
      BAD("two content-length fields");
    r->length = number(nv->value, nv->valuelen);
    if (r->length < 0)
      BAD("bad content-length");
  }
#undef BAD
}

/* Walks what the server sent: frames, each checked, into responses. */
static void walk(const struct feeding *f, struct frames *fr) {
  const struct bytes *all = &f->in;
  const uint8_t *s = (const uint8_t *)all->p;
  size_t n = all->len, pos = 0;
  nghttp2_hd_inflater *inflater;
  if (nghttp2_hd_inflate_new(&inflater) != 0)
    abort();
  struct bytes block = { 0 };   /* a header block across CONTINUATIONs */
  int32_t block_stream = 0;     /* its stream while CONTINUATION must follow */
  bool block_end_stream = false;
  int index = 0;
#define BAD(fmt, ...)                                                                           \
  do {                                                                                          \
    dump_hex("received", s, n);                                                                 \
    fail("frame %d at byte %zu (type %u, stream %d): " fmt, index, pos, type, id, ##__VA_ARGS__); \
  } while (0)
  while (pos < n) {
    unsigned type = 0;
    int32_t id = 0;
    if (n - pos < 9) {
      if (f->reset)
        break;   /* a reset may cut the last frame */
      BAD("a frame header cut off");
    }
    const uint8_t *h = s + pos;
    uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
    type = h[3];
    uint8_t flags = h[4];
    if (h[5] & 0x80)
      BAD("the reserved bit of the stream id is set");
    id = (int32_t)(be32(h + 5) & 0x7fffffff);
    if (len > MAX_FRAME)
      BAD("length %u past %d", len, MAX_FRAME);
    if (n - pos - 9 < len) {
      if (f->reset)
        break;
      BAD("a frame cut off (%u bytes, %zu came)", len, n - pos - 9);
    }
    const uint8_t *p = h + 9;
    index++;
    if (index == 1 && (type != NGHTTP2_SETTINGS || (flags & NGHTTP2_FLAG_ACK)))
      BAD("the server's first frame is not its SETTINGS");
    if (block_stream && (type != NGHTTP2_CONTINUATION || id != block_stream))
      BAD("a header block interrupted");
    switch (type) {
    case NGHTTP2_DATA:
    case NGHTTP2_HEADERS: {
      if (id == 0 || id % 2 == 0)
        BAD("HEADERS or DATA on a stream the client cannot have opened");
      const uint8_t *q = p;
      size_t qn = len;
      if (flags & NGHTTP2_FLAG_PADDED) {
        if (qn < 1 || p[0] >= qn)
          BAD("bad padding");
        qn -= 1 + p[0];
        q++;
      }
      struct response *r = response_of(fr, id, type == NGHTTP2_HEADERS);
      if (type == NGHTTP2_DATA) {
        if (!r || !r->status)
          BAD("DATA before the response's HEADERS");
        if (r->ended || r->reset)
          BAD("DATA after the stream's end");
        bytes_add(&r->body, q, qn);
        r->ended = flags & NGHTTP2_FLAG_END_STREAM;
        break;
      }
      if (flags & NGHTTP2_FLAG_PRIORITY) {
        if (qn < 5)
          BAD("bad priority");
        q += 5;
        qn -= 5;
      }
      if (r->status || r->ended || r->reset)
        BAD("a second HEADERS on a stream (the server sends no trailers)");
      block.len = 0;
      bytes_add(&block, q, qn);
      block_end_stream = flags & NGHTTP2_FLAG_END_STREAM;
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
      struct response *r = response_of(fr, id, false);
      const uint8_t *in = (const uint8_t *)block.p;
      size_t left = block.len;
      int field = 0;
      for (;;) {
        nghttp2_nv nv;
        int iflags = 0;
        ssize_t k = nghttp2_hd_inflate_hd2(inflater, &nv, &iflags, in, left, 1);
        if (k < 0)
          BAD("the header block does not decode (%s)", nghttp2_strerror((int)k));
        in += k;
        left -= (size_t)k;
        if (iflags & NGHTTP2_HD_INFLATE_EMIT)
          response_field(all, r, &nv, field++);
        if (iflags & NGHTTP2_HD_INFLATE_FINAL) {
          nghttp2_hd_inflate_end_headers(inflater);
          break;
        }
        if (!(iflags & NGHTTP2_HD_INFLATE_EMIT) && left == 0)
          BAD("the header block ends inside a field");
      }
      if (!r->status)
        BAD("a response without :status");
      if (r->status < 200)
        BAD("an interim response (%d): the server sends none", r->status);
      r->ended = block_end_stream;
      break;
    }
    case NGHTTP2_RST_STREAM: {
      if (len != 4 || id == 0 || id % 2 == 0)
        BAD("bad RST_STREAM");
      struct response *r = response_of(fr, id, true);
      r->reset = true;
      fr->resets++;
      break;
    }
    case NGHTTP2_SETTINGS:
      if (id != 0 || ((flags & NGHTTP2_FLAG_ACK) ? len != 0 : len % 6 != 0))
        BAD("bad SETTINGS");
      if (index == 1) {
        bool streams = false;
        for (uint32_t i = 0; i < len; i += 6)
          if ((p[i] << 8 | p[i + 1]) == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
            streams = be32(p + i + 2) == 100;
        if (!streams)
          BAD("the server's SETTINGS do not say 100 streams");
      }
      break;
    case NGHTTP2_PING:
      if (id != 0 || len != 8 || !(flags & NGHTTP2_FLAG_ACK))
        BAD("bad PING (the server only answers them)");
      break;
    case NGHTTP2_GOAWAY:
      if (id != 0 || len < 8)
        BAD("bad GOAWAY");
      fr->goaway = true;
      if (be32(p + 4) != NGHTTP2_NO_ERROR)
        fr->goaway_error = true;
      break;
    case NGHTTP2_WINDOW_UPDATE:
      if (len != 4 || (id != 0 && id % 2 == 0) || (be32(p) & 0x7fffffff) == 0)
        BAD("bad WINDOW_UPDATE");
      break;
    default:
      BAD("a frame the server must not send");
    }
    pos += 9 + len;
  }
  if (block_stream && !f->reset) {
    dump_hex("received", s, n);
    fail("stream %d: a header block never ended", block_stream);
  }
#undef BAD
  free(block.p);
  nghttp2_hd_inflate_del(inflater);
}

/* ---- one input ---- */

static const char *reason_of(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 417: return "Expectation Failed";
  case 431: return "Request Header Fields Too Large";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  default: return NULL;
  }
}

static void check(const struct feeding *f, struct frames *fr, const struct server_state *s) {
  const struct bytes *all = &f->in;
#define BAD(...)                              \
  do {                                        \
    dump_hex("received", all->p, all->len);   \
    fail(__VA_ARGS__);                        \
  } while (0)
  long missing = 0;   /* calls whose first send found the stream open, without HEADERS */
  bool *seen = calloc((size_t)s->calls + 1, 1);
  if (!seen)
    abort();
  for (size_t i = 0; i < fr->n; i++) {
    struct response *r = &fr->r[i];
    if (!r->status)
      continue;   /* reset only */
    if (r->call) {
      if (r->call > s->calls || seen[r->call])
        BAD("stream %d: x-call %ld, of %ld calls, or twice", r->id, r->call, s->calls);
      seen[r->call] = true;
      lua_rawgeti(L, LUA_REGISTRYINDEX, record_ref);
      lua_pushinteger(L, r->call);
      lua_call(L, 1, 6);
      size_t body_len;
      const char *body = lua_tolstring(L, -5, &body_len);
      int status = (int)lua_tointeger(L, -4);
      long long length = (long long)lua_tointeger(L, -3);
      bool head = lua_toboolean(L, -2);
      if (r->status != status)
        BAD("stream %d, call %ld: status %d, the handler's %d", r->id, r->call, r->status, status);
      if (r->head_method != head)
        BAD("stream %d, call %ld: x-method says%s HEAD", r->id, r->call, r->head_method ? "" : " not");
      if (r->length >= 0 && (status == 204 ? r->length != 0 : r->length != length))
        BAD("stream %d, call %ld: content-length %lld, the handler's %lld", r->id, r->call, r->length, length);
      if (r->ended && (r->body.len != body_len || (body_len && memcmp(r->body.p, body, body_len) != 0)))
        BAD("stream %d, call %ld: a body of %zu bytes, not the %zu bytes the handler sent", r->id, r->call,
            r->body.len, body_len);
      lua_pop(L, 6);
      if (stats)
        st_total.complete += r->ended;
    } else {
      const char *reason = reason_of(r->status);
      if (!reason)
        BAD("stream %d: the server's own status %d", r->id, r->status);
      if (stats)
        st_total.own[r->status]++;
      /* Its body is the text, or none when the request was HEAD (which
       * the answer does not say), with the text's length either way. */
      char text[64];
      int k = snprintf(text, sizeof text, "%d %s\n", r->status, reason);
      if (r->ended && r->body.len != 0 && (r->body.len != (size_t)k || memcmp(r->body.p, text, (size_t)k) != 0))
        BAD("stream %d: the body of a %d is not \"%s\"", r->id, r->status, text);
      if (r->length >= 0 && r->length != k)
        BAD("stream %d: content-length %lld for a %d bytes body", r->id, r->length, k);
    }
  }
  for (long c = 1; c <= s->calls; c++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, record_ref);
    lua_pushinteger(L, c);
    lua_call(L, 1, 6);
    bool ok = lua_toboolean(L, -6), done = lua_toboolean(L, -1);
    lua_pop(L, 6);
    if (!done)
      BAD("handler call %ld never returned", c);
    missing += ok && !seen[c];
    if (stats)
      st_total.headers_seen += seen[c];
  }
  /* Which stream a call had is not known here; each call had its own,
   * though, so every call missing its HEADERS needs a stream reset by the
   * server before any (nghttp2 sends a stream error's RST_STREAM first,
   * and drops what was queued behind it). */
  long reset_bare = 0;
  for (size_t i = 0; i < fr->n; i++)
    reset_bare += fr->r[i].reset && !fr->r[i].status;
  if (missing > reset_bare && !fr->goaway_error && !f->reset)
    BAD("%ld handler call(s) sent their response on an open stream, and no HEADERS of it came "
        "(%ld stream(s) reset without a response)", missing, reset_bare);
  free(seen);
#undef BAD
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3 || size > 60000)
    return 0;
  cur_data = data;
  cur_size = size;
  int mode = data[0];
  bool streaming = mode & 1, raw = mode & 2, slow = mode & 4;
  const uint8_t *stream = data + 3;
  size_t n = size - 3;
  size_t cut1 = (n * data[1] + 127) / 255, cut2 = (n * data[2] + 127) / 255;
  if (cut1 > cut2) {
    size_t t = cut1;
    cut1 = cut2;
    cut2 = t;
  }
  int top = lua_gettop(L);
  reset_state();
  struct feeding f = { 0 };
  int fd = connect_to(&server_addr[streaming]);
  bool open = true;
  if (raw) {
    open = send_all(fd, &f, (const uint8_t *)PREFACE, PREFACE_LINE);
  } else {
    uint8_t start[PREFACE_LEN + sizeof EMPTY_SETTINGS];
    memcpy(start, PREFACE, PREFACE_LEN);
    memcpy(start + PREFACE_LEN, EMPTY_SETTINGS, sizeof EMPTY_SETTINGS);
    open = send_all(fd, &f, start, sizeof start);
  }
  const size_t cuts[4] = { 0, cut1, cut2, n };
  for (int i = 0; i < 3 && open; i++) {
    if (cuts[i + 1] == cuts[i])
      continue;
    if (settle(fd, &f, slow ? 4 : 1))
      open = false;
    else
      open = send_all(fd, &f, stream + cuts[i], cuts[i + 1] - cuts[i]);
  }
  if (open)
    settle_quiet(fd, &f);   /* what the handlers answer leaves before the half-close */
  /* The client sends no more: the server ends the connection. (When it
   * closed already, no FIN from us: the reset below spares it a
   * TIME_WAIT.) */
  if (!f.eof)
    shutdown(fd, SHUT_WR);
  while (!f.eof && f.turns < MAX_TURNS) {
    f.turns++;
    size_t before = f.in.len;
    pump();
    if (drain(fd, &f))
      break;
    if (f.in.len == before && f.turns > 8)
      poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 1);
  }
  struct server_state s;
  server_state(&s);
  if (!f.eof) {
    dump_hex("received", f.in.p, f.in.len);
    fail("the server did not close within %d loop turns after the client's shutdown "
         "(%ld connection(s) open, %ld handler call(s), %ld running)",
         MAX_TURNS, s.conns, s.calls, s.running);
  }
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  /* The handlers woken by the close (a streamed body's wait) finish. */
  for (int i = 0; i < MAX_TURNS && s.running > 0; i++) {
    pump();
    server_state(&s);
  }
  if (s.failure[0])
    fail("handler: %s", s.failure);
  if (s.conns != 0)
    fail("the client saw the close, the server still counts %ld connection(s)", s.conns);
  if (s.running != 0)
    fail("%ld handler call(s) still running %d turns after the close", s.running, MAX_TURNS);
  struct frames fr = { 0 };
  walk(&f, &fr);
  check(&f, &fr, &s);
  if (trace) {
    fprintf(stderr, "mode %d, cuts %zu %zu of %zu: %d turn(s) after the shutdown, %ld call(s), %zu stream(s)%s%s%s\n",
            mode, cut1, cut2, n, f.turns, s.calls, fr.n, f.reset ? ", reset" : "",
            fr.goaway ? ", GOAWAY" : "", fr.goaway_error ? " (error)" : "");
    for (size_t i = 0; i < fr.n; i++)
      fprintf(stderr, "  stream %d: %d call %ld%s%s, %zu bytes\n", fr.r[i].id, fr.r[i].status, fr.r[i].call,
              fr.r[i].ended ? " ended" : "", fr.r[i].reset ? " reset" : "", fr.r[i].body.len);
  }
  if (stats) {
    st_total.inputs++;
    st_total.calls += (unsigned long)s.calls;
    st_total.goaway_error += fr.goaway_error;
    st_total.goaway_ok += fr.goaway && !fr.goaway_error;
    st_total.server_resets += (unsigned long)fr.resets;
    st_total.conn_resets += f.reset;
  }
  for (size_t i = 0; i < fr.n; i++)
    free(fr.r[i].body.p);
  free(fr.r);
  free(f.in.p);
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);
  cur_data = NULL;
  return 0;
}
