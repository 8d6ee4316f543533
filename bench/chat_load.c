/* bench/chat_load.c: the Channel run of the shared phase (bench/shared_phase.py)
 * and the cluster chat run of the redis phase (bench/redis_phase.py).
 * One thread, epoll, against scripts/chat_server.lua (a line chat over
 * net.Channel: every line to every client, across the daemon's workers) or
 * scripts/redis_chat.lua's nodes behind HAProxy (one room through a Redis
 * channel; its "/who" answer is "node NAME").
 *
 *   chat_load --port P [--host H] [--clients N] [--lines M] [--rate R] [--secs S]
 *
 * Connects N receivers and one publisher (N + 1 connections), and asks each
 * "/who": the answer, "worker W", says which worker serves it and that the
 * server has it in its room (a client is in the room from its accept on).
 * redis_chat.lua's answer "node NAME" counts the same, each distinct NAME
 * a "worker" numbered in the order first seen (names= lists them).
 * Then the publisher sends M lines "m SEQ T\n", T its CLOCK_MONOTONIC time
 * in ns when it was written: all at once (R = 0, the default) or R lines a
 * second. Every receiver must get the M lines, in order; the time of a
 * delivery is taken once per read(), for every line that read brought.
 * Runs until every receiver has its M lines or S seconds (default 60) have
 * passed. Prints one key=value line:
 *   mode=chat clients= lines= rate= deliveries= expected= missing=
 *   misordered= secs= deliveries_per_s= lines_per_s= p50_us= p99_us=
 *   max_us= per_worker=A,B,.. publisher_worker=W names=N1,N2,..|- errors=
 * secs is from the first line written to the last delivery; lines_per_s is
 * M / secs (lines delivered to every receiver per second); the _us figures
 * are of (delivery time - T) over all deliveries. The publisher's own copies
 * (the chat echoes to its sender too) are read and not counted. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_WORKERS 64
#define LINE_MAX_LEN 128

struct conn {
  int fd;
  int worker;              /* from "worker W"; 0 until answered */
  long long next_seq;      /* the next line expected */
  long long got;
  int partial;             /* bytes of an unfinished line in buf */
  char buf[LINE_MAX_LEN];
};

static const char *host = "127.0.0.1";
static int port = -1, nclients = 1000;
static long long nlines = 2000;
static double rate = 0, secs = 60;
static struct conn *conns;          /* nclients receivers, then the publisher */
static uint32_t *lat_us;            /* one per delivery */
static long long ndeliv, misordered, errors;
static uint64_t t_last_delivery;
static char names[MAX_WORKERS][32];  /* "node NAME" answers, in the order first seen */
static int nnames;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void raise_nofile(int need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need) {
    rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int connect_one(void) {
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("inet_pton");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* One complete line from c at time t. */
static void on_line(struct conn *c, const char *line, int n, uint64_t t, bool publisher) {
  int w;
  long long seq;
  unsigned long long sent;
  if (n > 7 && memcmp(line, "worker ", 7) == 0 && sscanf(line + 7, "%d", &w) == 1) {
    c->worker = w;
    return;
  }
  if (n > 5 && memcmp(line, "node ", 5) == 0) {
    int len = n - 5;
    while (len > 0 && (line[5 + len - 1] == '\n' || line[5 + len - 1] == '\r')) len--;
    if (len < 1 || len >= (int)sizeof names[0]) { errors++; return; }
    for (w = 0; w < nnames; w++)
      if ((int)strlen(names[w]) == len && memcmp(names[w], line + 5, (size_t)len) == 0) break;
    if (w == nnames) {
      if (nnames == MAX_WORKERS) { errors++; return; }
      memcpy(names[nnames], line + 5, (size_t)len);
      names[nnames++][len] = 0;
    }
    c->worker = w + 1;
    return;
  }
  if (publisher) return;
  if (n > 2 && line[0] == 'm' && sscanf(line + 2, "%lld %llu", &seq, &sent) == 2) {
    if (seq != c->next_seq) misordered++;
    c->next_seq = seq + 1;
    c->got++;
    uint64_t d = t > sent ? (t - sent) / 1000 : 0;
    lat_us[ndeliv++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    t_last_delivery = t;
    return;
  }
  errors++;
}

static char rbuf[1 << 16];

/* Reads what c has; false when it closed or failed. */
static bool on_readable(struct conn *c, bool publisher) {
  for (;;) {
    ssize_t n = read(c->fd, rbuf, sizeof rbuf);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    uint64_t t = now_ns();
    ssize_t i = 0;
    while (i < n) {
      char *nl = memchr(rbuf + i, '\n', (size_t)(n - i));
      ssize_t take = (nl ? nl - (rbuf + i) + 1 : n - i);
      if (c->partial + take > LINE_MAX_LEN) { errors++; return false; }
      memcpy(c->buf + c->partial, rbuf + i, (size_t)take);
      c->partial += (int)take;
      i += take;
      if (nl) {
        on_line(c, c->buf, c->partial, t, publisher);
        c->partial = 0;
      }
    }
    if ((size_t)n < sizeof rbuf) return true;
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (!ndeliv) return 0;
  long long i = (long long)(p * (double)(ndeliv - 1) + 0.5);
  return lat_us[i];
}

static void usage(void) {
  fprintf(stderr, "usage: chat_load --port P [--host H] [--clients N] [--lines M] [--rate R] [--secs S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--clients")) nclients = atoi(v);
    else if (!strcmp(a, "--lines")) nlines = atoll(v);
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--secs")) secs = atof(v);
    else usage();
    i++;
  }
  if (port <= 0 || nclients < 1 || nlines < 1 || (double)nclients * (double)nlines > 5e7) usage();
  raise_nofile(nclients + 64);
  conns = calloc((size_t)nclients + 1, sizeof *conns);
  lat_us = malloc(sizeof *lat_us * (size_t)nclients * (size_t)nlines);
  if (!conns || !lat_us) die("malloc");
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  uint64_t deadline = now_ns() + (uint64_t)(secs * 1e9);

  /* Connect everyone, ask /who, wait for every answer: the room is full. */
  for (int i = 0; i <= nclients; i++) {
    struct conn *c = &conns[i];
    c->fd = connect_one();
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    if (write(c->fd, "/who\n", 5) != 5) die("write /who");
  }
  struct epoll_event evs[256];
  int answered = 0;
  while (answered <= nclients) {
    if (now_ns() > deadline) {
      fprintf(stderr, "chat_load: %d of %d answered /who\n", answered, nclients + 1);
      return 1;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      struct conn *c = &conns[evs[k].data.u32];
      bool had = c->worker != 0;
      if (!on_readable(c, c == &conns[nclients])) {
        fprintf(stderr, "chat_load: a connection closed before /who\n");
        return 1;
      }
      if (!had && c->worker) answered++;
    }
  }
  if (errors) {
    fprintf(stderr, "chat_load: unexpected lines before publishing\n");
    return 1;
  }

  /* Publish, reading all the while. */
  struct conn *pub = &conns[nclients];
  char out[LINE_MAX_LEN * 64];
  int out_len = 0, out_off = 0;
  long long sent = 0;
  uint64_t t0 = now_ns();
  long long expected = (long long)nclients * nlines;
  int closed = 0;
  while (ndeliv < expected && now_ns() < deadline) {
    /* the lines due by now, written as far as the socket takes them */
    uint64_t t = now_ns();
    long long due = rate > 0 ? (long long)((double)(t - t0) * 1e-9 * rate) + 1 : nlines;
    if (due > nlines) due = nlines;
    while (out_off == out_len && sent < due) {
      out_len = out_off = 0;
      while (sent < due && out_len + LINE_MAX_LEN < (int)sizeof out) {
        out_len += snprintf(out + out_len, LINE_MAX_LEN, "m %lld %llu\n", sent,
                            (unsigned long long)now_ns());
        sent++;
      }
      ssize_t w = write(pub->fd, out, (size_t)out_len);
      if (w < 0 && errno != EAGAIN) die("publish");
      if (w > 0) out_off = (int)w;
      if (out_off < out_len) break;
    }
    if (out_off < out_len) {
      ssize_t w = write(pub->fd, out + out_off, (size_t)(out_len - out_off));
      if (w < 0 && errno != EAGAIN) die("publish");
      if (w > 0) out_off += (int)w;
    }
    int timeout = 10;
    if (rate > 0 && sent < nlines) {
      double next = (double)sent / rate * 1e9 - (double)(now_ns() - t0);
      timeout = next <= 0 ? 0 : (int)(next / 1e6);
    }
    if (out_off < out_len) timeout = 0;
    int n = epoll_wait(ep, evs, 256, timeout);
    for (int k = 0; k < n; k++) {
      uint32_t i = evs[k].data.u32;
      struct conn *c = &conns[i];
      if (c->fd < 0) continue;
      if (!on_readable(c, i == (uint32_t)nclients)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        closed++;
      }
    }
  }
  double s = t_last_delivery > t0 ? (double)(t_last_delivery - t0) / 1e9 : 0;
  qsort(lat_us, (size_t)ndeliv, sizeof *lat_us, cmp_u32);
  int per[MAX_WORKERS + 1] = { 0 }, maxw = 0;
  for (int i = 0; i < nclients; i++) {
    int w = conns[i].worker;
    if (w >= 1 && w <= MAX_WORKERS) {
      per[w]++;
      if (w > maxw) maxw = w;
    }
  }
  char perw[16 * MAX_WORKERS] = "";
  for (int w = 1; w <= maxw; w++)
    snprintf(perw + strlen(perw), sizeof perw - strlen(perw), "%s%d", w > 1 ? "," : "", per[w]);
  char namelist[sizeof names + MAX_WORKERS] = "";
  for (int w = 0; w < nnames; w++)
    snprintf(namelist + strlen(namelist), sizeof namelist - strlen(namelist), "%s%s", w ? "," : "", names[w]);
  printf("mode=chat clients=%d lines=%lld rate=%g deliveries=%lld expected=%lld missing=%lld "
         "misordered=%lld secs=%.3f deliveries_per_s=%.0f lines_per_s=%.1f p50_us=%.0f p99_us=%.0f "
         "max_us=%.0f per_worker=%s publisher_worker=%d names=%s errors=%lld\n",
         nclients, nlines, rate, ndeliv, expected, expected - ndeliv, misordered, s,
         s > 0 ? (double)ndeliv / s : 0, s > 0 ? (double)nlines / s : 0, pct(0.5), pct(0.99),
         ndeliv ? (double)lat_us[ndeliv - 1] : 0, perw, pub->worker, nnames ? namelist : "-",
         errors + closed);
  return 0;
}
