/* fuzz/fuzz_http_server.c: libFuzzer target for net.HttpServer
 * (daemon/http/http_server.c, http_conn.c, http_request.c, http_response.c on
 * llhttp), driven over real loopback sockets, in process.
 *
 * One server, made once: net.HttpServer{ maxHeader = 4096, maxBody = 8192,
 * headerTimeout = 60000 } on 127.0.0.1:0, whose handler answers with a
 * body made from the request ("METHOD path query nheaders #body"), and by
 * the path's first two bytes:
 *   /w  res:writeHead(200, headers), the body in two res:write calls,
 *       then res:finish();
 *   /h  res:setHeader("X-Echo", the query percent-decoded), in pcall: it
 *       must raise exactly when the value holds a control character other
 *       than tab (CR/LF: header injection), and the body is then "refused";
 *   /f  res:sendFile of a small file made at start-up;
 *   else res:finish(body).
 * Every handler response carries X-Method (so that the client knows which
 * answered a HEAD) and the handler counts its calls.
 *
 * Input: byte 0 picks the split point (scaled to the stream's length), the
 * rest is the stream a client sends. A plain C client socket (its connect
 * completes in the kernel on loopback; the rest is MSG_DONTWAIT) sends the
 * stream on one connection, then on a second one in two writes cut at the
 * split point, running the server's loop (net.processEvents(), one turn at
 * a time) between its steps; after the last write it shuts down its
 * sending side and reads until the server closes. Checked, else abort():
 *   - the server closes within a bounded number of loop turns, and holds
 *     no connection afterwards;
 *   - every response starts "HTTP/1.1 " and a status the server can send
 *     here (100, 200, 400, 413, 417, 431, 501 for a method it does not
 *     serve, 505 for a version it does not speak), and is well framed (one
 *     Content-Length or chunked, the body bytes consistent; bodiless for a
 *     HEAD or a 100; read-to-close only with Connection: close), and
 *     nothing follows a Connection: close response;
 *   - the handler's invariants above (setHeader raises when, and only when,
 *     it must; X-Echo holds the exact value; /f's body is the file's);
 *   - every handler call got its response;
 *   - both feedings give the same final responses (status, Connection:
 *     close, body; 100 Continue depends on timing and is left out).
 *
 * Environment: FUZZ_HTTP_SERVER_SETTLE=1 runs the loop a few turns before
 * the client's shutdown, so that answers the server queued (sendFile's)
 * leave before it sees the half-close; FUZZ_HTTP_SERVER_TRACE=1 prints
 * what each input got. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "luanet.h"

static lua_State *L;
static int pump_ref = LUA_NOREF;    /* net.processEvents */
static int state_ref = LUA_NOREF;   /* state(): calls, failure, connections */
static int reset_ref = LUA_NOREF;   /* reset(): calls = 0 */
static struct sockaddr_in server_addr;
static char file_path[] = "/tmp/fuzz_http_server.XXXXXX";
static char file_body[300];   /* the file /f sends */
static size_t file_len;
/* FUZZ_HTTP_SERVER_SETTLE=1: the loop runs a few turns between the last
 * write and the shutdown, so that queued answers (sendFile's) go out
 * before the server sees the half-close. */
static bool settle_first;
static bool trace;   /* FUZZ_HTTP_SERVER_TRACE=1: what each input got */

/* The turns the loop gets to close a connection after the client's
 * shutdown; past them the server hangs. */
#define MAX_TURNS 200

static const char SETUP[] =
    "local net, file_path = ...\n"
    "local calls, failure = 0, nil\n"
    "local function unescape(s)\n"
    "  return (s:gsub('%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))\n"
    "end\n"
    "local function hex(s)\n"
    "  return (s:gsub('.', function(c) return ('%02x'):format(c:byte()) end))\n"
    "end\n"
    "local server = net.HttpServer{ maxHeader = 4096, maxBody = 8192, headerTimeout = 60000 }\n"
    "server.request:connect(function(req, res)\n"
    "  calls = calls + 1\n"
    "  local method, path, query, body = req.method, req.path, req.query, req.body\n"
    "  local n = 0\n"
    "  for _ in pairs(req.headers) do n = n + 1 end\n"
    "  local text = ('%s %s %s %d %d\\n'):format(method, path, query or '-', n, #body)\n"
    "  res:setHeader('X-Method', method)\n"
    "  if res:getHeader('x-method') ~= method then\n"
    "    failure = failure or 'getHeader(x-method) ~= ' .. method\n"
    "  end\n"
    "  local kind = path:sub(1, 2)\n"
    "  if kind == '/w' then\n"
    "    res:writeHead(200, { ['X-Writes'] = '2' })\n"
    "    res:write(text)\n"
    "    res:write('second write\\n')\n"
    "    res:finish()\n"
    "  elseif kind == '/h' then\n"
    "    local v = unescape(query or '')\n"
    "    local ok, err = pcall(res.setHeader, res, 'X-Echo', v)\n"
    "    local bad = v:find('[%z\\1-\\8\\10-\\31]') ~= nil\n"
    "    if ok == bad then\n"
    "      failure = failure or ('setHeader(X-Echo, %q): %s'):format(v, ok and 'accepted' or err)\n"
    "    end\n"
    "    if ok then\n"
    "      res:setHeader('X-Echo-Hex', hex(v))\n"
    "      res:finish(text)\n"
    "    else\n"
    "      res:finish('refused\\n')\n"
    "    end\n"
    "  elseif kind == '/f' then\n"
    "    res:setHeader('X-File', '1')\n"
    "    local ok, err = res:sendFile(file_path)\n"
    "    if not ok then failure = failure or 'sendFile: ' .. tostring(err) end\n"
    "  else\n"
    "    res:finish(text)\n"
    "  end\n"
    "end)\n"
    "local ok, err = server:listen('127.0.0.1', 0)\n"
    "assert(ok, err)\n"
    "local function state()\n"
    "  return calls, failure, server:connectionCount()\n"
    "end\n"
    "local function reset() calls = 0 end\n"
    "return server:serverPort(), net.processEvents, state, reset, server\n";

static void remove_file(void) {
  unlink(file_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  int fd = mkstemp(file_path);
  if (fd < 0) {
    perror("fuzz_http_server: mkstemp");
    abort();
  }
  atexit(remove_file);
  const char *e = getenv("FUZZ_HTTP_SERVER_SETTLE");
  settle_first = e && *e && strcmp(e, "0") != 0;
  e = getenv("FUZZ_HTTP_SERVER_TRACE");
  trace = e && *e && strcmp(e, "0") != 0;
  for (size_t i = 0; i < sizeof file_body; i++)
    file_body[i] = (char)('a' + i % 26);
  file_body[sizeof file_body - 1] = '\n';
  file_len = sizeof file_body;
  if (write(fd, file_body, file_len) != (ssize_t)file_len) {
    perror("fuzz_http_server: write");
    abort();
  }
  close(fd);

  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "luanet.core", luaopen_luanet_core, 0);
  if (luaL_loadstring(L, SETUP) != LUA_OK) {
    fprintf(stderr, "fuzz_http_server: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_insert(L, -2);
  lua_pushstring(L, file_path);
  if (lua_pcall(L, 2, 5, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_http_server: %s\n", lua_tostring(L, -1));
    abort();
  }
  luaL_ref(L, LUA_REGISTRYINDEX);   /* the server: kept for good */
  reset_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  pump_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  int port = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)port);
  server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 0;
}

/* ---- the loop and the server's state ---- */

static void pump(void) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, pump_ref);
  lua_call(L, 0, 0);
}

static void reset_calls(void) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, reset_ref);
  lua_call(L, 0, 0);
}

struct server_state {
  long calls;
  long conns;
  char failure[512];
};

static void server_state(struct server_state *st) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, state_ref);
  lua_call(L, 0, 3);
  st->calls = (long)lua_tointeger(L, -3);
  st->failure[0] = 0;
  if (lua_isstring(L, -2))
    snprintf(st->failure, sizeof st->failure, "%s", lua_tostring(L, -2));
  st->conns = (long)lua_tointeger(L, -1);
  lua_pop(L, 3);
}

static void dump_escaped(const char *what, const char *p, size_t n);
#define FUZZ_NAME "fuzz_http_server"
#define FUZZ_SHOW_INPUT(p, n) dump_escaped("input", (const char *)(p), (n))
#include "fuzz_common.h"

static void bytes_printf(struct bytes *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  bytes_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- failing: the input as text (fuzz_common.h's fail shows it so) ---- */

static void dump_escaped(const char *what, const char *p, size_t n) {
  fprintf(stderr, "--- %s (%zu bytes)\n", what, n);
  for (size_t i = 0; i < n && i < 4096; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch == '\n')
      fputs("\\n\n", stderr);
    else if (ch == '\r')
      fputs("\\r", stderr);
    else if (ch >= 32 && ch < 127 && ch != '\\')
      fputc(ch, stderr);
    else
      fprintf(stderr, "\\x%02x", ch);
  }
  fputc('\n', stderr);
}

/* ---- the client ---- */

struct feeding {
  const char *how;     /* "whole" or "split" */
  struct bytes in;     /* what the server sent */
  bool eof, reset;
  int turns;           /* loop turns after the shutdown */
  long calls;          /* the handler's calls */
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
        fail("%s feeding: the server takes no more of the request (%zu bytes left)", f->how, n);
      if (stuck > 8)
        poll(&(struct pollfd){ fd, POLLOUT, 0 }, 1, 1);
      continue;
    }
    return false;   /* EPIPE, ECONNRESET: it closed */
  }
  return true;
}

/* A few turns of the loop: the server accepts, reads, answers. */
static bool settle(int fd, struct feeding *f) {
  for (int i = 0; i < 4; i++) {
    pump();
    if (drain(fd, f))
      return true;
  }
  return false;
}

static void feed(struct feeding *f, const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket: %s", strerror(errno));
  /* Loopback: the handshake completes in the kernel, before any accept. */
  if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0) {
    /* libFuzzer's SIGALRM (-timeout) can interrupt it: it goes on. */
    int err = errno;
    if (err == EINTR) {
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
  reset_calls();
  bool open = send_all(fd, f, a, na);
  if (open && b) {
    open = !settle(fd, f);   /* the server has the first piece alone */
    open = open && send_all(fd, f, b, nb);
  }
  if (open && settle_first)
    settle(fd, f);   /* the half-close bug aside: queued answers go out first */
  /* Now the server answers what it has and closes: the client sends no
   * more, and a half-closed connection ends the exchange. (When the server
   * closed already, no FIN from us: the reset below spares it a TIME_WAIT.) */
  if (!f->eof)
    shutdown(fd, SHUT_WR);
  while (!f->eof && f->turns < MAX_TURNS) {
    f->turns++;
    size_t before = f->in.len;
    pump();
    if (drain(fd, f))
      break;
    if (f->in.len == before && f->turns > 8)
      poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 1);
  }
  struct server_state st;
  server_state(&st);
  if (!f->eof) {
    dump_escaped("received", f->in.p, f->in.len);
    fail("%s feeding: the server did not close within %d loop turns after the client's shutdown "
         "(%ld connection(s) open, %ld handler call(s))",
         f->how, MAX_TURNS, st.conns, st.calls);
  }
  /* Closed: no TIME_WAIT on our side, and none left on the server's. */
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  if (st.failure[0])
    fail("%s feeding: handler: %s", f->how, st.failure);
  if (st.conns != 0)
    fail("%s feeding: the client saw the close, the server still counts %ld connection(s)", f->how, st.conns);
  f->calls = st.calls;
}

/* ---- reading the responses ---- */

static bool status_allowed(int status) {
  switch (status) {
  case 100: case 200: case 400: case 413: case 417: case 431: case 501: case 505:
    return true;
  default:
    return false;
  }
}

static bool tchar(unsigned char ch) {
  return ch > 32 && ch < 127 && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* p[0..n) holds "\r\n" at or after p: its offset, or -1. */
static long find_crlf(const char *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n')
      return (long)i;
  return -1;
}

/* Parses the responses of one feeding into a transcript (final responses:
 * status, close, body) and counts those of the handler. */
static void parse(struct feeding *f, struct bytes *out, long *handler_responses) {
  const char *s = f->in.p ? f->in.p : "";
  size_t n = f->in.len, pos = 0;
  *handler_responses = 0;
  int index = 0;
  while (pos < n) {
    const char *r = s + pos;
    size_t left = n - pos;
    index++;
#define BAD(fmt, ...)                                                                   \
  do {                                                                                  \
    dump_escaped("received", s, n);                                                     \
    fail("%s feeding, response %d at byte %zu: " fmt, f->how, index, pos, ##__VA_ARGS__); \
  } while (0)
    if (left < 9 || memcmp(r, "HTTP/1.1 ", 9) != 0)
      BAD("does not start with \"HTTP/1.1 \"");
    long eol = find_crlf(r, left);
    if (eol < 0)
      BAD("status line cut off");
    if (eol < 13 || r[9] < '1' || r[9] > '9' || r[10] < '0' || r[10] > '9' || r[11] < '0' || r[11] > '9' ||
        r[12] != ' ')
      BAD("malformed status line");
    int status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
    if (!status_allowed(status))
      BAD("unexpected status %d", status);
    for (long i = 13; i < eol; i++)
      if ((unsigned char)r[i] < 32 && r[i] != '\t')
        BAD("control character in the reason phrase");
    /* Header lines. */
    size_t at = (size_t)eol + 2;
    long length = -1;
    int lengths = 0;
    bool chunked = false, close = false, head = false, file = false, has_method = false;
    const char *echo = NULL, *echo_hex = NULL;
    size_t echo_len = 0, echo_hex_len = 0;
    for (;;) {
      long e = find_crlf(r + at, left - at);
      if (e < 0)
        BAD("head cut off");
      if (e == 0) {
        at += 2;
        break;
      }
      const char *line = r + at;
      size_t len = (size_t)e;
      at += len + 2;
      if (memchr(line, '\n', len) || memchr(line, '\r', len))
        BAD("bare CR or LF in a header line");
      const char *colon = memchr(line, ':', len);
      if (!colon || colon == line)
        BAD("header line without a name");
      size_t name_len = (size_t)(colon - line);
      for (size_t i = 0; i < name_len; i++)
        if (!tchar((unsigned char)line[i]))
          BAD("header name with a non-token byte");
      const char *v = colon + 1, *v_end = line + len;
      if (v < v_end && *v == ' ')
        v++;
      size_t v_len = (size_t)(v_end - v);
      if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        if (++lengths > 1)
          BAD("two Content-Length headers");
        if (v_len == 0 || v_len > 9)
          BAD("bad Content-Length");
        length = 0;
        for (size_t i = 0; i < v_len; i++) {
          if (v[i] < '0' || v[i] > '9')
            BAD("bad Content-Length");
          length = length * 10 + (v[i] - '0');
        }
      } else if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        if (v_len != 7 || strncasecmp(v, "chunked", 7) != 0 || chunked)
          BAD("unexpected Transfer-Encoding");
        chunked = true;
      } else if (name_len == 10 && strncasecmp(line, "Connection", 10) == 0) {
        if (v_len == 5 && strncasecmp(v, "close", 5) == 0)
          close = true;
        else if (!(v_len == 10 && strncasecmp(v, "keep-alive", 10) == 0))
          BAD("unexpected Connection header");
      } else if (name_len == 8 && strncasecmp(line, "X-Method", 8) == 0) {
        has_method = true;
        head = v_len == 4 && memcmp(v, "HEAD", 4) == 0;
      } else if (name_len == 6 && strncasecmp(line, "X-File", 6) == 0) {
        file = true;
      } else if (name_len == 6 && strncasecmp(line, "X-Echo", 6) == 0) {
        echo = colon + 2 <= v_end ? colon + 2 : v_end;   /* the exact bytes after ": " */
        echo_len = (size_t)(v_end - echo);
      } else if (name_len == 10 && strncasecmp(line, "X-Echo-Hex", 10) == 0) {
        echo_hex = v;
        echo_hex_len = v_len;
      }
    }
    if (lengths && chunked)
      BAD("both Content-Length and chunked");
    if (echo_hex) {
      if (!echo || echo_hex_len != 2 * echo_len)
        BAD("X-Echo does not hold the value set (%zu bytes for %zu hex digits)", echo_len, echo_hex_len);
      for (size_t i = 0; i < echo_len; i++)
        if (hexval(echo_hex[2 * i]) * 16 + hexval(echo_hex[2 * i + 1]) != (unsigned char)echo[i])
          BAD("X-Echo does not hold the value set (byte %zu)", i);
    } else if (echo) {
      BAD("X-Echo without X-Echo-Hex");
    }
    /* The body. */
    const char *body = r + at;
    size_t body_len = 0;
    struct bytes chunks = { 0 };
    if (status == 100) {
      if (at != 25 || lengths || chunked || has_method)
        BAD("100 Continue with headers");
    } else if (head) {
      if (chunked)
        BAD("a HEAD response claims a chunked body");
    } else if (chunked) {
      size_t c = at;
      for (;;) {
        long e = find_crlf(r + c, left - c);
        if (e < 0)
          BAD("chunk size line cut off");
        size_t size = 0;
        if (e == 0 || e > 15)
          BAD("bad chunk size line");
        for (long i = 0; i < e; i++) {
          int d = hexval((unsigned char)r[c + (size_t)i]);
          if (d < 0)
            BAD("bad chunk size line");
          size = size * 16 + (size_t)d;
        }
        c += (size_t)e + 2;
        if (size == 0) {
          if (left - c < 2 || r[c] != '\r' || r[c + 1] != '\n')
            BAD("chunked end cut off or with trailers");
          c += 2;
          break;
        }
        if (left - c < size + 2)
          BAD("chunk cut off");
        if (r[c + size] != '\r' || r[c + size + 1] != '\n')
          BAD("chunk without its CRLF");
        bytes_add(&chunks, r + c, size);
        c += size + 2;
      }
      body = chunks.p ? chunks.p : "";
      body_len = chunks.len;
      at = c;
    } else if (lengths) {
      if ((size_t)length > left - at)
        BAD("body cut off: Content-Length %ld, %zu bytes came", length, left - at);
      body_len = (size_t)length;
      at += body_len;
    } else {
      if (!close)
        BAD("a body to the close without Connection: close");
      body_len = left - at;
      at = left;
    }
    if (file && !head && (body_len != file_len || memcmp(body, file_body, file_len) != 0))
      BAD("sendFile's body is not the file");
    if (has_method)
      ++*handler_responses;
    else if (status != 100 && !close)
      BAD("a refusal (%d) without Connection: close", status);
    if (status != 100) {
      bytes_printf(out, "%d %s %s %zu:", status, close ? "close" : "keep", head ? "HEAD" : "-", body_len);
      bytes_add(out, body, head ? 0 : body_len);
      bytes_add(out, "\n", 1);
    }
    free(chunks.p);
    pos += at;
    if (close && pos < n)
      BAD("%zu bytes after a Connection: close response", n - pos);
#undef BAD
  }
}

/* ---- one input ---- */

static void run(struct feeding *f, const uint8_t *a, size_t na, const uint8_t *b, size_t nb, struct bytes *t) {
  feed(f, a, na, b, nb);
  long answered;
  parse(f, t, &answered);
  if (answered != f->calls) {
    dump_escaped("received", f->in.p, f->in.len);
    fail("%s feeding: the handler ran %ld time(s), %ld response(s) of it came", f->how, f->calls, answered);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The server reads 64 KiB at a time: past that, a refusal would close
   * on unread bytes, and the reset could cost the client its answer. */
  if (size < 1 || size > 60000)
    return 0;
  /* A connection that starts with HTTP/2's preface line (after the empty
   * lines a server skips before a request) speaks HTTP/2: fuzz_h2_server's
   * ground, whose answers are frames. */
  static const char h2_line[] = "PRI * HTTP/2.0\r\n";
  size_t first = 1;
  while (first < size && (data[first] == '\r' || data[first] == '\n'))
    first++;
  if (size - first >= sizeof h2_line - 1 && memcmp(data + first, h2_line, sizeof h2_line - 1) == 0)
    return 0;
  cur_data = data;
  cur_size = size;
  const uint8_t *stream = data + 1;
  size_t n = size - 1;
  size_t cut = (n * data[0] + 127) / 255;
  int top = lua_gettop(L);
  struct feeding whole = { .how = "whole" }, split = { .how = "split" };
  struct bytes tw = { 0 }, ts = { 0 };
  run(&whole, stream, n, NULL, 0, &tw);
  run(&split, stream, cut, stream + cut, n - cut, &ts);
  if (trace) {
    fprintf(stderr, "whole: %d turn(s) after the shutdown, %ld call(s)%s; split at %zu: %d turn(s), %ld call(s)%s\n",
            whole.turns, whole.calls, whole.reset ? ", reset" : "", cut, split.turns, split.calls,
            split.reset ? ", reset" : "");
    dump_escaped("whole received", whole.in.p, whole.in.len);
    dump_escaped("split received", split.in.p, split.in.len);
    dump_escaped("whole transcript", tw.p, tw.len);
    dump_escaped("split transcript", ts.p, ts.len);
  }
  if (tw.len != ts.len || (tw.len && memcmp(tw.p, ts.p, tw.len) != 0)) {
    dump_escaped("whole transcript", tw.p, tw.len);
    dump_escaped("split transcript", ts.p, ts.len);
    fail("split at %zu of %zu answers differently%s%s", cut, n, whole.reset ? " (whole: reset)" : "",
         split.reset ? " (split: reset)" : "");
  }
  free(whole.in.p);
  free(split.in.p);
  free(tw.p);
  free(ts.p);
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);
  cur_data = NULL;
  return 0;
}
