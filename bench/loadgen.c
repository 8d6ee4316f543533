/* bench/loadgen.c: the load client of the TCP benchmarks. One thread, epoll.
 *
 *   loadgen echo  [--host H] --port P[,P2,...] [--conns N] [--secs S] [--count M]
 *                 [--size B] [--slice-ms T]
 *       N connections (default 1), each a ping-pong: send B bytes (default
 *       64), wait until the same B bytes are back, repeat. Runs S seconds
 *       (default 3), or until M round trips in all when --count is given (S
 *       is then only a bound, default 120). Prints one key=value line:
 *       mode=echo port= conns= size= messages= secs= msgs_per_s= p50_us=
 *       p99_us= max_us= errors=
 *       With several ports, N connections go to each server, and the
 *       servers take turns: T ms (default 100) of ping-pong on one server's
 *       connections, then its replies in flight are awaited and the next
 *       server's turn starts. The S seconds are shared out that way, and
 *       there is a line per server, its secs= the time of its turns. The
 *       harness alternates servers so, within every round, so that they
 *       meet the same machine: on this VM its speed drifts by tens of
 *       percent from one second to the next.
 *
 *   loadgen hold  [--host H] --port P --conns N [--size B | --send S --expect N]
 *                 [--ws [--deflate | --deflate-no-takeover]]
 *       Opens N connections and prints "connected=N"; waits for a line on
 *       stdin; echoes B bytes once on every connection and prints
 *       "echoed=K"; waits for a line (or EOF) on stdin, then closes them all
 *       and exits. The harness reads the server's RSS between the steps.
 *
 *   loadgen first [--host H] --port P [--size B | --send S --expect N] [--cpu C]
 *                 [--timeout-ms T] -- CMD ARGS...
 *       Start-to-first-reply: takes the time, forks and execs CMD (pinned
 *       to CPU C when given, stdout to /dev/null), then tries to connect
 *       every 1 ms; once connected sends B bytes and waits for them back.
 *       Prints "first_reply_us=X attempts=A", then sends SIGTERM to the
 *       child (SIGKILL after 2 s) and reaps it.
 *
 * Every echo is checked byte for byte against what was sent; a mismatch,
 * a reset or an early close counts in errors= and ends that connection.
 *
 *   loadgen http  [--host H] --port P --count M
 *       M keep-alive GET requests, one after another, on one connection;
 *       each response is read whole (its Content-Length). For the fixed
 *       counts of the HTTP workload (strace, cachegrind). Prints the same
 *       key=value line as echo, with messages= the responses.
 *
 * --ws (echo, hold, first): every connection first makes a WebSocket
 * handshake (RFC 6455), and a ping is B bytes of text in one masked frame,
 * whose reply is the same text in one unmasked frame (a WebSocket echo).
 *
 * hold --ws --deflate | --deflate-no-takeover: the handshake offers
 * permessage-deflate (RFC 7692), as "permessage-deflate;
 * client_max_window_bits" (context takeover both ways: the server keeps its
 * zlib streams between messages) or as "permessage-deflate;
 * server_no_context_takeover; client_no_context_takeover" (it may drop them
 * after every message). A 101 without those terms in its
 * Sec-WebSocket-Extensions ends loadgen with an error: a server that
 * silently declines must not yield a figure that looks like deflate's.
 * The ping is sent compressed (RSV1, the text in a DEFLATE stored block,
 * RFC 7692 7.2.3.3), so that the server has to inflate it; the reply may
 * come compressed (RSV1) or not (a server may leave short messages as they
 * are): either counts as the echo if its length is plausible, and
 * "echoed=K" gets "compressed=C", the replies that had RSV1.
 *
 * hold and first also speak to servers that do not echo (HTTP, FTP, ...):
 * --send STR (C escapes \r \n \t \\ \xHH) is sent instead of B echo
 * bytes, and the reply is complete after --expect N bytes (default 1), its
 * content unchecked; with --send and --expect 0 nothing is awaited (a
 * server that speaks first, like FTP, is awaited with --expect N alone). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536

static const char *host = "127.0.0.1";
static int port = -1, conns = 1, size = 64, cpu = -1;
#define MAX_TARGETS 8
static struct target {
  int port;
  struct conn *cs;   /* conns of them */
  long long issued, done, errors;
  uint64_t active_ns;   /* the time its slices took */
  struct lats {
    uint32_t *v;   /* round-trip times, ns */
    size_t n, cap;
  } lat;
} targets[MAX_TARGETS];   /* echo: --port P1,P2,... */
static int ntargets;
static int slice_ms = 100;
static double secs = -1;
static long long count = -1;
static long timeout_ms = 5000;
static char payload[MAX_SIZE + 16];
static int custom;       /* --send or --expect given: not an echo */
static int send_len;     /* bytes of payload to send (hold, first) */
static int expect = -1;  /* bytes that complete a reply (hold, first) */
static char expected[MAX_SIZE + 16];   /* what an echo's reply must be */
static int ws;           /* --ws: a WebSocket handshake first, frames after */
enum { DEFLATE_NONE, DEFLATE_TAKEOVER, DEFLATE_NO_TAKEOVER };
static int deflate_offer;   /* hold --ws --deflate / --deflate-no-takeover */

static const char WS_REQUEST[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n";
/* The offers of --deflate and --deflate-no-takeover, and the parameters
 * the server's answer must then have (NULL: none required). */
static const char *const DEFLATE_OFFERS[] = {
  [DEFLATE_TAKEOVER] = "permessage-deflate; client_max_window_bits",
  [DEFLATE_NO_TAKEOVER] = "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
};
static const char *const DEFLATE_NEEDS[][2] = {
  [DEFLATE_TAKEOVER] = {NULL, NULL},
  [DEFLATE_NO_TAKEOVER] = {"server_no_context_takeover", "client_no_context_takeover"},
};

/* Whether the 101's head agreed to our offer: a Sec-WebSocket-Extensions
 * line naming permessage-deflate, with the parameters the offer asked for
 * (without server_no_context_takeover the server may keep its zlib
 * streams, and the figure would not be the one asked for). */
static bool deflate_agreed(const char *head) {
  const char *line = strcasestr(head, "\r\nSec-WebSocket-Extensions:");
  if (!line)
    return false;
  line += 2;
  const char *end = strstr(line, "\r\n");
  char value[512];
  snprintf(value, sizeof value, "%.*s", (int)(end - line), line);
  if (!strcasestr(value, "permessage-deflate"))
    return false;
  for (int i = 0; i < 2; i++)
    if (DEFLATE_NEEDS[deflate_offer][i] && !strcasestr(value, DEFLATE_NEEDS[deflate_offer][i]))
      return false;
  return true;
}

/* The opening handshake on a blocking fd: 0 when the server answered 101.
 * With an offer of permessage-deflate, an answer that does not take it
 * ends the program: it is the server's setting, the same for every
 * connection, and measuring on would measure a server without deflate. */
static int ws_handshake(int fd) {
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char req[512];
  int rlen = snprintf(req, sizeof req, "%s%s%s%s\r\n", WS_REQUEST,
                      deflate_offer ? "Sec-WebSocket-Extensions: " : "",
                      deflate_offer ? DEFLATE_OFFERS[deflate_offer] : "", deflate_offer ? "\r\n" : "");
  if (send(fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen)
    return -1;
  char head[1024];
  size_t have = 0;
  while (have < sizeof head - 1) {   /* byte by byte: nothing past the head is taken */
    ssize_t r = recv(fd, head + have, 1, 0);
    if (r <= 0)
      return -1;
    have++;
    if (have >= 4 && !memcmp(head + have - 4, "\r\n\r\n", 4)) {
      head[have] = 0;
      if (strncmp(head, "HTTP/1.1 101", 12))
        return -1;
      if (deflate_offer && !deflate_agreed(head)) {
        fprintf(stderr, "loadgen: the server did not agree to \"%s\"; its answer:\n%s",
                DEFLATE_OFFERS[deflate_offer], head);
        exit(1);
      }
      return 0;
    }
  }
  return -1;
}

/* A text frame of n bytes of p: masked (with a fixed key) into out, or
 * unmasked; rsv1: marked compressed (permessage-deflate). Returns its size. */
static int ws_frame(char *out, const char *p, int n, bool masked, bool rsv1) {
  static const unsigned char key[4] = {0x11, 0x22, 0x33, 0x44};
  int h = 0;
  out[h++] = (char)(rsv1 ? 0xc1 : 0x81);
  if (n < 126) {
    out[h++] = (char)((masked ? 0x80 : 0) | n);
  } else {
    out[h++] = (char)((masked ? 0x80 : 0) | 126);
    out[h++] = (char)(n >> 8);
    out[h++] = (char)n;
  }
  if (masked) {
    memcpy(out + h, key, 4);
    h += 4;
  }
  for (int i = 0; i < n; i++)
    out[h + i] = (char)(p[i] ^ (masked ? key[i & 3] : 0));
  return h + n;
}

/* n bytes of text as a permessage-deflate message in a masked frame into
 * out: one DEFLATE stored block (BFINAL 0, then LEN and NLEN, RFC 1951
 * 3.2.4) and the header byte of the empty block that a sync flush ends
 * with, whose 00 00 ff ff the receiver puts back (RFC 7692 7.2.1 and the
 * example of 7.2.3.3). No zlib needed here, yet the server has to run its
 * inflate stream over it, which is the state being measured. */
static int ws_stored_frame(char *out, const char *text, int n) {
  static char block[MAX_SIZE + 16];
  block[0] = 0x00;
  block[1] = (char)(n & 0xff);
  block[2] = (char)(n >> 8);
  block[3] = (char)(~n & 0xff);
  block[4] = (char)((~n >> 8) & 0xff);
  memcpy(block + 5, text, (size_t)n);
  block[5 + n] = 0x00;
  return ws_frame(out, block, n + 6, true, true);
}

/* A reply frame on a deflate connection, from its first bytes h[0..got):
 * its whole size once known, 0 while its header is incomplete, -1 when it
 * is not an echo of `size` bytes of text. Compressed (RSV1), its payload
 * is not inflated, only bounded: DEFLATE makes at most a few bytes more
 * than its input (stored blocks), and at least one byte. */
static int ws_deflate_reply(const unsigned char *h, int got) {
  if (got < 2)
    return 0;
  if ((h[0] != 0x81 && h[0] != 0xc1) || (h[1] & 0x80) || (h[1] & 0x7f) == 127)
    return -1;   /* not one final text frame, masked, or far too long */
  int hdr = 2, len = h[1] & 0x7f;
  if (len == 126) {
    if (got < 4)
      return 0;
    hdr = 4;
    len = h[2] << 8 | h[3];
  }
  if (h[0] == 0x81 ? len != size : len < 1 || len > size + 32)
    return -1;
  return hdr + len;
}

/* --send's C escapes, decoded into payload. */
static int unescape(const char *in) {
  int n = 0;
  while (*in && n < MAX_SIZE) {
    char c = *in++;
    if (c == '\\' && *in) {
      char e = *in++;
      if (e == 'r')
        c = '\r';
      else if (e == 'n')
        c = '\n';
      else if (e == 't')
        c = '\t';
      else if (e == 'x' && in[0] && in[1]) {
        char hex[3] = {in[0], in[1], 0};
        c = (char)strtol(hex, NULL, 16);
        in += 2;
      } else
        c = e;
    }
    payload[n++] = c;
  }
  return n;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in server_addr(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "loadgen: not an IPv4 address: %s\n", host);
    exit(2);
  }
  return sa;
}

/* A blocking connect bounded by 5 s (a full accept queue drops the SYN and
 * the kernel retries), then non-blocking with TCP_NODELAY. -1 on failure. */
static int connect_one(const struct sockaddr_in *sa) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (ws && ws_handshake(fd) < 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ---- echo ---------------------------------------------------------------- */

static void record(struct lats *l, uint64_t ns) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 1 << 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v)
      die("realloc");
  }
  l->v[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* After qsort. */
static double pct_us(const struct lats *l, double p) {
  if (!l->n)
    return 0;
  size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
  return l->v[i] / 1000.0;
}

struct conn {
  int fd;
  int got;         /* bytes of the current reply received */
  uint64_t sent_at;
  struct target *t;
};

static int send_ping(struct conn *c) {
  c->got = 0;
  c->sent_at = now_ns();
  ssize_t w = send(c->fd, payload, (size_t)send_len, MSG_NOSIGNAL);
  return w == send_len ? 0 : -1; /* a fresh ping always fits the send buffer */
}

static void drop(struct conn *c) {
  c->t->errors++;
  close(c->fd);
  c->fd = -1;
}

/* One keep-alive connection, `count` GETs in turn, each response read to
 * the end of its Content-Length. A blocking socket: one client, no need
 * for epoll. */
static int run_http(void) {
  struct sockaddr_in sa = server_addr(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char req[256];
  int rlen = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
  static char in[65536];
  static struct lats lat;
  long long errors = 0, done = 0;
  uint64_t t0 = now_ns();
  for (; done < count; done++) {
    uint64_t sent = now_ns();
    if (send(fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen) {
      errors++;
      break;
    }
    size_t have = 0;
    long body = -1;
    size_t head_end = 0;
    for (;;) {   /* until the head and Content-Length bytes of body are in */
      ssize_t n = recv(fd, in + have, sizeof in - have, 0);
      if (n <= 0) {
        errors++;
        goto out;
      }
      have += (size_t)n;
      if (!head_end) {
        char *e = memmem(in, have, "\r\n\r\n", 4);
        if (!e)
          continue;
        head_end = (size_t)(e - in) + 4;
        char *cl = memmem(in, head_end, "Content-Length:", 15);
        if (!cl)
          cl = memmem(in, head_end, "content-length:", 15);
        body = cl ? strtol(cl + 15, NULL, 10) : 0;
      }
      if (have >= head_end + (size_t)body)
        break;
    }
    record(&lat, now_ns() - sent);
  }
out:;
  double elapsed = (double)(now_ns() - t0) / 1e9;
  qsort(lat.v, lat.n, sizeof *lat.v, cmp_u32);
  printf("mode=http conns=1 size=0 messages=%lld secs=%.3f msgs_per_s=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f errors=%lld\n",
         done, elapsed, (double)done / elapsed, pct_us(&lat, 0.5), pct_us(&lat, 0.99), pct_us(&lat, 1.0), errors);
  close(fd);
  return errors ? 1 : 0;
}

static void connect_target(struct target *t, int ep) {
  struct sockaddr_in sa = server_addr(t->port);
  t->cs = calloc((size_t)conns, sizeof *t->cs);
  if (!t->cs)
    die("calloc");
  for (int i = 0; i < conns; i++) {
    struct conn *c = &t->cs[i];
    c->t = t;
    if ((c->fd = connect_one(&sa)) < 0) {
      t->errors++;
      continue;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
      die("epoll_ctl");
  }
}

static bool may_issue(const struct target *t) {
  return count < 0 || t->issued < count;
}

static void issue(struct conn *c) {
  if (send_ping(c) < 0)
    drop(c);
  else
    c->t->issued++;
}

/* Reads what came on c; a whole reply is recorded, and when `go` the
 * connection pings again. */
static void on_readable(struct conn *c, bool go, uint64_t *t_now) {
  static char rbuf[MAX_SIZE];
  struct target *t = c->t;
  ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (r <= 0 || c->got + r > expect || memcmp(rbuf, expected + c->got, (size_t)r)) {
    t->issued--;   /* the ping in flight will not come back */
    drop(c);
    return;
  }
  c->got += (int)r;
  if (c->got < expect)
    return;
  *t_now = now_ns();
  record(&t->lat, *t_now - c->sent_at);
  t->done++;
  if (go && may_issue(t))
    issue(c);
}

/* One slice of a target: its connections ping-pong until slice_end (or
 * the count), then the replies in flight are waited for (up to 1 s), so
 * that the next target's slice starts with this server idle. */
static void run_slice(struct target *t, int ep, uint64_t slice_end) {
  uint64_t t0 = now_ns(), now = t0;
  for (int i = 0; i < conns; i++)
    if (t->cs[i].fd >= 0 && may_issue(t))
      issue(&t->cs[i]);
  struct epoll_event evs[256];
  uint64_t drain_end = 0;
  while (t->done < t->issued) {
    bool go = now < slice_end;
    if (!go && !drain_end)
      drain_end = now + 1000000000u;
    if (drain_end && now >= drain_end)
      break;
    int n = epoll_wait(ep, evs, 256, 10);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      on_readable(c, go && c->t == t, &now);
    }
    now = now_ns();
  }
  t->errors += t->issued - t->done;   /* replies that never came */
  t->issued = t->done;
  t->active_ns += now_ns() - t0;
}

/* Every target in turn, a slice each, until the time is up (or, with
 * --count, the one target has done its count). */
static int run_echo(void) {
  if (secs < 0)
    secs = count >= 0 ? 120 : 3;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    die("epoll_create1");
  for (int i = 0; i < ntargets; i++)
    connect_target(&targets[i], ep);
  uint64_t start = now_ns(), deadline = start + (uint64_t)(secs * 1e9);
  uint64_t slice = ntargets > 1 ? (uint64_t)slice_ms * 1000000u : deadline - start;
  for (int k = 0; now_ns() < deadline; k = (k + 1) % ntargets) {
    struct target *t = &targets[k];
    if (count >= 0 && t->done >= count)
      break;
    uint64_t end = now_ns() + slice;
    run_slice(t, ep, end < deadline ? end : deadline);
  }
  int failed = 0;
  for (int i = 0; i < ntargets; i++) {
    struct target *t = &targets[i];
    double active = (double)t->active_ns / 1e9;
    if (count >= 0 && t->done < count)
      t->errors += count - t->done;
    qsort(t->lat.v, t->lat.n, sizeof *t->lat.v, cmp_u32);
    printf("mode=echo port=%d conns=%d size=%d messages=%lld secs=%.3f msgs_per_s=%.1f "
           "p50_us=%.1f p99_us=%.1f max_us=%.1f errors=%lld\n",
           t->port, conns, size, t->done, active, active > 0 ? (double)t->done / active : 0,
           pct_us(&t->lat, 0.50), pct_us(&t->lat, 0.99), pct_us(&t->lat, 1.0), t->errors);
    failed |= t->errors > 0;
    for (int j = 0; j < conns; j++)
      if (t->cs[j].fd >= 0)
        close(t->cs[j].fd);
  }
  return failed;
}

/* ---- hold ---------------------------------------------------------------- */

static void wait_stdin_line(void) {
  char line[256];
  if (!fgets(line, sizeof line, stdin))
    return; /* EOF: go on */
}

static int run_hold(void) {
  raise_nofile();
  struct sockaddr_in sa = server_addr(port);
  int *fds = calloc((size_t)conns, sizeof *fds);
  int *got = calloc((size_t)conns, sizeof *got);
  unsigned char(*heads)[4] = calloc((size_t)conns, sizeof *heads);   /* --deflate: a reply's frame header */
  int open_n = 0;
  for (int i = 0; i < conns; i++) {
    fds[i] = connect_one(&sa);
    if (fds[i] >= 0)
      open_n++;
  }
  printf("connected=%d\n", open_n);
  fflush(stdout);
  wait_stdin_line();

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int pending = 0, echoed = 0, compressed = 0;
  for (int i = 0; i < conns; i++) {
    if (fds[i] < 0)
      continue;
    if (expect == 0) { /* nothing to wait for */
      if (send_len > 0 && send(fds[i], payload, (size_t)send_len, MSG_NOSIGNAL) == send_len)
        echoed++;
      continue;
    }
    if (send_len > 0 && send(fds[i], payload, (size_t)send_len, MSG_NOSIGNAL) != send_len)
      continue;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    pending++;
  }
  uint64_t deadline = now_ns() + 30000000000ull;
  struct epoll_event evs[256];
  static char rbuf[MAX_SIZE];
  while (pending > 0 && now_ns() < deadline) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      int i = (int)evs[k].data.u32;
      ssize_t r = recv(fds[i], rbuf, sizeof rbuf, 0);
      if (r < 0 && errno == EAGAIN)
        continue;
      if (r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        pending--;
        continue;
      }
      if (deflate_offer) {   /* a reply's size is in its header: compressed, it is not ours */
        for (int j = got[i]; j < 4 && j - got[i] < r; j++)
          heads[i][j] = (unsigned char)rbuf[j - got[i]];
        got[i] += (int)r;
        int whole = ws_deflate_reply(heads[i], got[i]);
        if (whole == 0 || (whole > 0 && got[i] < whole))
          continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        pending--;
        if (whole > 0 && got[i] == whole) {   /* a byte more would be a second frame: not an echo */
          echoed++;
          compressed += (heads[i][0] & 0x40) != 0;
        }
        continue;
      }
      got[i] += (int)r;
      if (got[i] >= expect) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        pending--;
        echoed++;
      }
    }
  }
  if (deflate_offer)
    printf("echoed=%d compressed=%d\n", echoed, compressed);
  else
    printf("echoed=%d\n", echoed);
  fflush(stdout);
  wait_stdin_line();
  for (int i = 0; i < conns; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  printf("closed\n");
  return echoed == conns ? 0 : 1;
}

/* ---- first --------------------------------------------------------------- */

/* One attempt: 1 = echoed, 0 = not listening yet, -1 = connected but no echo. */
static int try_echo(const struct sockaddr_in *sa) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
    close(fd);
    return 0;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((ws && ws_handshake(fd) < 0) ||
      (send_len > 0 && send(fd, payload, (size_t)send_len, MSG_NOSIGNAL) != send_len)) {
    close(fd);
    return -1;
  }
  int got = 0;
  char rbuf[MAX_SIZE];
  while (got < expect) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)timeout_ms) <= 0)
      break;
    ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
    if (r <= 0)
      break;
    got += (int)r;
  }
  close(fd);
  return got >= expect ? 1 : -1;
}

static void stop_child(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid)
      return;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static int run_first(char **cmd) {
  struct sockaddr_in sa = server_addr(port);
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
      dup2(null, 1);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000u;
  long attempts = 0;
  int rc = 0;
  for (;;) {
    attempts++;
    int r = try_echo(&sa);
    uint64_t t = now_ns();
    if (r == 1) {
      printf("first_reply_us=%.1f attempts=%ld\n", (double)(t - t0) / 1000.0, attempts);
      break;
    }
    if (r < 0) {
      fprintf(stderr, "loadgen: connected but no echo\n");
      rc = 1;
      break;
    }
    if (t >= deadline || waitpid(pid, NULL, WNOHANG) == pid) {
      fprintf(stderr, "loadgen: no reply within %ld ms (or the server exited)\n", timeout_ms);
      printf("first_reply_us=-1 attempts=%ld\n", attempts);
      rc = 1;
      break;
    }
    struct timespec ms = {.tv_nsec = 1000000};
    nanosleep(&ms, NULL);
  }
  fflush(stdout);
  stop_child(pid);
  return rc;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen echo  [--host H] --port P[,P...] [--conns N] [--secs S] [--count M] [--size B] [--slice-ms T] [--ws]\n"
          "       loadgen hold  [--host H] --port P --conns N [--size B | --send STR --expect N]\n"
          "                     [--ws [--deflate | --deflate-no-takeover]]\n"
          "       loadgen first [--host H] --port P [--size B | --send STR --expect N] [--cpu C]\n"
          "                     [--timeout-ms T] -- CMD...\n");
  exit(2);
}

/* "P" or "P1,P2,...": the targets of echo; returns the first. */
static int parse_ports(const char *v) {
  ntargets = 0;
  for (const char *p = v; *p && ntargets < MAX_TARGETS; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
    targets[ntargets++].port = atoi(p);
  return ntargets ? targets[0].port : -1;
}

int main(int argc, char **argv) {
  if (argc < 2)
    usage();
  const char *mode = argv[1];
  char **cmd = NULL;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      cmd = argv + i + 1;
      break;
    }
    if (!strcmp(a, "--ws")) {
      ws = 1;
      continue;
    }
    if (!strcmp(a, "--deflate") || !strcmp(a, "--deflate-no-takeover")) {
      deflate_offer = strcmp(a, "--deflate") ? DEFLATE_NO_TAKEOVER : DEFLATE_TAKEOVER;
      continue;
    }
    if (i + 1 >= argc)
      usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host"))
      host = v;
    else if (!strcmp(a, "--port"))
      port = parse_ports(v);
    else if (!strcmp(a, "--slice-ms"))
      slice_ms = atoi(v);
    else if (!strcmp(a, "--conns"))
      conns = atoi(v);
    else if (!strcmp(a, "--secs"))
      secs = atof(v);
    else if (!strcmp(a, "--count"))
      count = atoll(v);
    else if (!strcmp(a, "--size"))
      size = atoi(v);
    else if (!strcmp(a, "--cpu"))
      cpu = atoi(v);
    else if (!strcmp(a, "--timeout-ms"))
      timeout_ms = atol(v);
    else if (!strcmp(a, "--send"))
      send_len = unescape(v), custom = 1;
    else if (!strcmp(a, "--expect"))
      expect = atoi(v), custom = 1;
    else
      usage();
  }
  if (port < 0 || conns < 1 || size < 1 || size > MAX_SIZE || (ws && (custom || size > 65535)))
    usage();
  signal(SIGPIPE, SIG_IGN);
  if (custom && !strcmp(mode, "echo"))
    usage(); /* echo checks what it gets back against what it sent */
  /* deflate: hold only (echo and first compare replies byte for byte), a
   * stored block's frame within a 16-bit length */
  if (deflate_offer && (!ws || custom || strcmp(mode, "hold") || size > 65535 - 6))
    usage();
  if (!custom) {
    for (int i = 0; i < size; i++)
      payload[i] = (char)('a' + i % 26);
    memcpy(expected, payload, (size_t)size);
    send_len = expect = size;
    if (ws) {   /* the text in a masked frame; back in an unmasked one */
      expect = ws_frame(expected, payload, size, false, false);
      char text[MAX_SIZE];
      memcpy(text, payload, (size_t)size);
      send_len = deflate_offer ? ws_stored_frame(payload, text, size) : ws_frame(payload, text, size, true, false);
    }
  } else if (expect < 0) {
    expect = 1;
  }
  if (!strcmp(mode, "http") && count > 0)
    return run_http();
  if (!strcmp(mode, "echo"))
    return run_echo();
  if (!strcmp(mode, "hold"))
    return run_hold();
  if (!strcmp(mode, "first") && cmd && cmd[0])
    return run_first(cmd);
  usage();
}
