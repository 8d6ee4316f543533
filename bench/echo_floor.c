/* bench/echo_floor.c: the floor of the echo benchmark. A plain C TCP echo
 * server with nothing a real server would add: level-triggered epoll, a
 * non-blocking accept loop (accept4 until EAGAIN), and per readiness of a
 * connection exactly one read and one write. Whatever luanetd spends above
 * this is the price of libev, Lua and the Qt-style API.
 *
 *   echo_floor [--host 127.0.0.1] [--port P] [--http]
 *
 * --http makes it the floor of the HTTP benchmark: for every request head
 * that ends in what it read (a CRLF CRLF, tracked across reads) it writes
 * one fixed "Hello, World!" response, in the same single write. No parsing
 * beyond that: a real server's cost is above it.
 *
 * Prints "The server is running on IP: HOST port: PORT" (the line luanetd's
 * echo_server.lua prints) once it listens, then serves until killed.
 *
 * A short write (the peer's receive window is full; never seen with 64-byte
 * ping-pong) keeps the rest and waits for EPOLLOUT instead of reading more,
 * so the server stays correct under any load without changing the hot path. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct pending { /* the unsent tail of a short write, per fd */
  char *data;
  size_t len, off;
  int matched;     /* --http: bytes of CRLF CRLF seen at the end of the last read */
};

static struct pending *pend;
static size_t npend;
static char buf[BUF_SIZE];

static int http_mode;
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
static char out[BUF_SIZE];

static struct pending *pending_for(int fd);

/* --http: one response in out for each request head that ends in
 * buf[0..n), the match carried across reads; returns out's length. */
static size_t http_responses(int fd, ssize_t n) {
  static const char END[] = "\r\n\r\n";
  int *m = &pending_for(fd)->matched;
  size_t len = 0;
  for (ssize_t i = 0; i < n; i++) {
    *m = buf[i] == END[*m] ? *m + 1 : (buf[i] == '\r' ? 1 : 0);
    if (*m == 4) {
      *m = 0;
      if (len + sizeof RESPONSE - 1 <= sizeof out) {
        memcpy(out + len, RESPONSE, sizeof RESPONSE - 1);
        len += sizeof RESPONSE - 1;
      }
    }
  }
  return len;
}


static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct pending *pending_for(int fd) {
  if ((size_t)fd >= npend) {
    size_t n = npend ? npend : 1024;
    while (n <= (size_t)fd)
      n *= 2;
    pend = realloc(pend, n * sizeof *pend);
    if (!pend)
      die("realloc");
    memset(pend + npend, 0, (n - npend) * sizeof *pend);
    npend = n;
  }
  return &pend[fd];
}

static void close_conn(int fd) {
  if ((size_t)fd < npend) {
    free(pend[fd].data);
    pend[fd].data = NULL;
    pend[fd].matched = 0;
  }
  close(fd); /* also leaves the epoll set */
}

static void set_events(int ep, int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
    die("epoll_ctl");
}

static void on_readable(int ep, int fd) {
  ssize_t n = read(fd, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    close_conn(fd);
    return;
  }
  if (n < 0)
    return;
  const char *src = buf;
  if (http_mode) {
    n = (ssize_t)http_responses(fd, n);
    src = out;
    if (n == 0)
      return;
  }
  ssize_t w = write(fd, src, (size_t)n);
  if (w == n)
    return;
  if (w < 0 && errno != EAGAIN && errno != EINTR) {
    close_conn(fd);
    return;
  }
  if (w < 0)
    w = 0;
  struct pending *p = pending_for(fd);
  p->len = (size_t)(n - w);
  p->off = 0;
  p->data = malloc(p->len);
  if (!p->data)
    die("malloc");
  memcpy(p->data, src + w, p->len);
  set_events(ep, fd, EPOLLOUT);
}

static void on_writable(int ep, int fd) {
  struct pending *p = pending_for(fd);
  ssize_t w = write(fd, p->data + p->off, p->len - p->off);
  if (w < 0 && errno != EAGAIN && errno != EINTR) {
    close_conn(fd);
    return;
  }
  if (w > 0)
    p->off += (size_t)w;
  if (p->off == p->len) {
    free(p->data);
    p->data = NULL;
    set_events(ep, fd, EPOLLIN);
  }
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--host") && i + 1 < argc)
      host = argv[++i];
    else if (!strcmp(argv[i], "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--http"))
      http_mode = 1;
    else {
      fprintf(stderr, "usage: echo_floor [--host H] [--port P] [--http]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl; /* as luanetd does: soft fd limit up to the hard one */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "echo_floor: not an IPv4 address: %s\n", host);
    return 2;
  }
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("bind");
  if (listen(lfd, SOMAXCONN) < 0)
    die("listen");
  socklen_t slen = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &slen);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
    die("epoll_ctl");

  printf("The server is running on IP: %s port: %d\n", host, ntohs(sa.sin_port));
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) { /* the non-blocking accept loop */
          int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
              continue;
            break; /* EAGAIN, or EMFILE: level-triggered, we come back */
          }
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
            close(c);
        }
      } else if (events[i].events & EPOLLOUT) {
        on_writable(ep, fd);
      } else {
        on_readable(ep, fd);
      }
    }
  }
}
