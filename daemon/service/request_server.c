#include "request_server.h"
#include "net.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct client {
  struct request_server *rs;
  ev_io io;
  ev_timer deadline;
  int fd;
  size_t len;
  char *reply;               /* once the request was answered */
  size_t reply_len, sent;
  struct client *next;
  char request[];            /* max_request + 1 */
};

struct request_server {
  struct ev_loop *loop;
  struct request_handler handler;
  ev_io io;
  int fd;
  int nclients;
  struct client *clients;
};

static void client_free(struct client *cl) {
  struct request_server *rs = cl->rs;
  for (struct client **p = &rs->clients; *p; p = &(*p)->next) {
    if (*p == cl) {
      *p = cl->next;
      break;
    }
  }
  ev_io_stop(rs->loop, &cl->io);
  ev_timer_stop(rs->loop, &cl->deadline);
  close(cl->fd);
  free(cl->reply);
  free(cl);
  if (rs->nclients-- == REQUEST_SERVER_MAX_CLIENTS)
    ev_io_start(rs->loop, &rs->io);   /* room again */
}

/* Sends what the kernel takes; true when all of the reply is out (or the
 * client is gone). */
static bool client_flush(struct client *cl) {
  while (cl->sent < cl->reply_len) {
    ssize_t n = send(cl->fd, cl->reply + cl->sent, cl->reply_len - cl->sent, MSG_NOSIGNAL);
    if (n < 0)
      return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    cl->sent += (size_t)n;
  }
  return true;
}

static void client_answer(struct client *cl, bool too_long) {
  FILE *out = open_memstream(&cl->reply, &cl->reply_len);
  if (!out) {
    client_free(cl);
    return;
  }
  struct request_handler *h = &cl->rs->handler;
  h->respond(h->ud, cl->request, cl->len, too_long, out);   /* may start a shutdown; the reply still goes */
  fclose(out);
  if (client_flush(cl)) {
    client_free(cl);
    return;
  }
  ev_io_stop(cl->rs->loop, &cl->io);
  ev_io_set(&cl->io, cl->fd, EV_WRITE);
  ev_io_start(cl->rs->loop, &cl->io);
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct client *cl = (struct client *)((char *)w - offsetof(struct client, io));
  if (cl->reply) {
    if (client_flush(cl))
      client_free(cl);
    return;
  }
  size_t max = cl->rs->handler.max_request;
  ssize_t n = recv(cl->fd, cl->request + cl->len, max - cl->len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {   /* gone before a whole request */
    client_free(cl);
    return;
  }
  cl->len += (size_t)n;
  cl->request[cl->len] = '\0';
  bool complete = cl->rs->handler.complete(cl->request, cl->len);
  if (complete || cl->len == max)
    client_answer(cl, !complete);
}

/* A client that neither finishes its request nor takes its reply. */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  client_free((struct client *)((char *)w - offsetof(struct client, deadline)));
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct request_server *rs = (struct request_server *)((char *)w - offsetof(struct request_server, io));
  int fd;
  while (rs->nclients < REQUEST_SERVER_MAX_CLIENTS && (fd = net_accept(rs->fd)) >= 0) {
    struct client *cl = calloc(1, sizeof *cl + rs->handler.max_request + 1);
    if (!cl) {
      close(fd);
      continue;
    }
    cl->rs = rs;
    cl->fd = fd;
    cl->next = rs->clients;
    rs->clients = cl;
    rs->nclients++;
    ev_io_init(&cl->io, client_cb, fd, EV_READ);
    ev_io_start(loop, &cl->io);
    ev_timer_init(&cl->deadline, deadline_cb, REQUEST_SERVER_TIMEOUT, 0);
    ev_timer_start(loop, &cl->deadline);
  }
  if (rs->nclients == REQUEST_SERVER_MAX_CLIENTS)
    ev_io_stop(loop, &rs->io);   /* the backlog holds the rest */
}

struct request_server *request_server_start(struct ev_loop *loop, int fd, struct request_handler handler) {
  struct request_server *rs = calloc(1, sizeof *rs);
  if (!rs)
    return NULL;
  rs->loop = loop;
  rs->handler = handler;
  rs->fd = fd;
  ev_io_init(&rs->io, accept_cb, fd, EV_READ);
  ev_io_start(loop, &rs->io);
  return rs;
}

void request_server_stop(struct request_server *rs) {
  if (!rs)
    return;
  ev_io_stop(rs->loop, &rs->io);
  rs->nclients = 0;   /* no restart of the accept watcher as they go */
  while (rs->clients) {
    client_flush(rs->clients);
    client_free(rs->clients);
  }
  close(rs->fd);
  free(rs);
}
