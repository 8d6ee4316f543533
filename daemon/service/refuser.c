#include "refuser.h"
#include "net.h"

#include <stdlib.h>
#include <unistd.h>

/* Per readiness, at most this many: a flood on one listener must not keep
 * the main thread (signals, ctl) from its other work. */
#define REFUSE_PER_EVENT 64

static void refuse_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop, (void)revents;
  struct refuser *r = w->data;
  for (int i = 0; i < REFUSE_PER_EVENT; i++) {
    int fd = net_accept(w->fd);
    if (fd < 0)
      return;   /* EAGAIN; or an error such as EMFILE, tried again at the next event */
    close(fd);
    r->refused++;
  }
}

bool refuser_start(struct refuser *r, struct ev_loop *loop, const int *fds, int n) {
  if (r->watchers)
    return true;
  r->watchers = calloc((size_t)n + 1, sizeof *r->watchers);
  if (!r->watchers)
    return false;
  r->loop = loop;
  r->n = n;
  for (int i = 0; i < n; i++) {
    ev_io_init(&r->watchers[i], refuse_cb, fds[i], EV_READ);
    r->watchers[i].data = r;
    if (fds[i] >= 0)
      ev_io_start(loop, &r->watchers[i]);
  }
  return true;
}

void refuser_stop(struct refuser *r) {
  if (!r->watchers)
    return;
  for (int i = 0; i < r->n; i++)
    ev_io_stop(r->loop, &r->watchers[i]);
  free(r->watchers);
  r->watchers = NULL;
  r->n = 0;
}

bool refuser_active(const struct refuser *r) {
  return r->watchers != NULL;
}
