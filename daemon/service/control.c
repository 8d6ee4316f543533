#include "control.h"
#include "net.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct client {
  struct control *c;
  ev_io io;
  int fd;
  char line[CONTROL_MAX_LINE];
  size_t len;
  char *reply;               /* once the command ran */
  size_t reply_len, sent;
  struct client *next;
};

struct control {
  struct ev_loop *loop;
  struct control_handler handler;
  ev_io io;
  int fd;
  char *path;
  struct client *clients;
};

static void client_free(struct client *cl) {
  struct control *c = cl->c;
  for (struct client **p = &c->clients; *p; p = &(*p)->next) {
    if (*p == cl) {
      *p = cl->next;
      break;
    }
  }
  ev_io_stop(c->loop, &cl->io);
  close(cl->fd);
  free(cl->reply);
  free(cl);
}

/* Sends what the kernel takes; true when all of the reply is out. */
static bool client_flush(struct client *cl) {
  while (cl->sent < cl->reply_len) {
    ssize_t n = send(cl->fd, cl->reply + cl->sent, cl->reply_len - cl->sent, MSG_NOSIGNAL);
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;   /* gone: done */
    cl->sent += (size_t)n;
  }
  return true;
}

static void client_run(struct client *cl) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  char *body = NULL;
  size_t body_len = 0;
  FILE *body_out = open_memstream(&body, &body_len);
  struct control_handler *h = &cl->c->handler;
  bool ok = h->command(h->ud, cl->line, body_out);
  fclose(body_out);
  fprintf(out, "%s\n%s", ok ? "ok" : "error", body);
  fclose(out);
  free(body);
  cl->reply = text;
  cl->reply_len = len;
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct client *cl = (struct client *)((char *)w - offsetof(struct client, io));
  if (cl->reply) {
    if (client_flush(cl))
      client_free(cl);
    return;
  }
  ssize_t n = recv(cl->fd, cl->line + cl->len, sizeof cl->line - 1 - cl->len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {   /* gone before a whole line */
    client_free(cl);
    return;
  }
  cl->len += (size_t)n;
  cl->line[cl->len] = '\0';
  char *nl = strchr(cl->line, '\n');
  if (!nl && cl->len < sizeof cl->line - 1)
    return;
  if (nl)
    *nl = '\0';
  else
    snprintf(cl->line, sizeof cl->line, "%s", "(a line too long)");
  client_run(cl);   /* may start a shutdown; the reply still goes out */
  if (client_flush(cl)) {
    client_free(cl);
    return;
  }
  ev_io_stop(loop, &cl->io);
  ev_io_set(&cl->io, cl->fd, EV_WRITE);
  ev_io_start(loop, &cl->io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct control *c = (struct control *)((char *)w - offsetof(struct control, io));
  int fd;
  while ((fd = net_accept(c->fd)) >= 0) {
    struct client *cl = calloc(1, sizeof *cl);
    if (!cl) {
      close(fd);
      continue;
    }
    cl->c = c;
    cl->fd = fd;
    cl->next = c->clients;
    c->clients = cl;
    ev_io_init(&cl->io, client_cb, fd, EV_READ);
    ev_io_start(loop, &cl->io);
  }
}

struct control *control_open(struct ev_loop *loop, const char *path, struct control_handler handler, char *err,
                             size_t errlen) {
  if (net_unix_claim(path) < 0) {
    snprintf(err, errlen, errno == ENOTSOCK ? "control socket %s: the path exists and is not a socket"
                                            : "control socket %s: another luanetd answers there",
             path);
    return NULL;
  }
  /* 0600: the socket is the daemon's owner's. The umask keeps others out
   * from the bind on; chmod takes the execute bits bind leaves. */
  mode_t old = umask(077);
  int fd = net_unix_listen(path, 16);
  umask(old);
  if (fd >= 0 && chmod(path, 0600) < 0) {
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
    return NULL;
  }
  struct control *c = calloc(1, sizeof *c);
  c->loop = loop;
  c->handler = handler;
  c->fd = fd;
  c->path = strdup(path);
  ev_io_init(&c->io, accept_cb, fd, EV_READ);
  ev_io_start(loop, &c->io);
  return c;
}

void control_close(struct control *c) {
  if (!c)
    return;
  while (c->clients) {
    client_flush(c->clients);
    client_free(c->clients);
  }
  ev_io_stop(c->loop, &c->io);
  close(c->fd);
  unlink(c->path);
  free(c->path);
  free(c);
}
