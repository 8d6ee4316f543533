/* A service's listeners while none of its code runs (a start that failed
 * and waits for its back-off, or a service that net.quit() stopped): the
 * main thread accepts each connection and closes it at once, so clients
 * fail fast instead of waiting in the backlog for a start that may never
 * come. nginx answers 502 when its upstream is down; with no protocol of
 * our own to answer in, an immediate close is the fast failure. */
#ifndef LUANET_REFUSER_H
#define LUANET_REFUSER_H

#include <ev.h>
#include <stdbool.h>

struct refuser {
  struct ev_loop *loop;
  ev_io *watchers;           /* one per listening descriptor, while refusing */
  int n;
  unsigned long long refused;   /* connections closed this way, ever */
};

/* Starts refusing on the listening descriptors fds[0..n) (-1 entries are
 * skipped); does nothing when already refusing. false when out of memory
 * (then connections wait in the backlog, as before). */
bool refuser_start(struct refuser *r, struct ev_loop *loop, const int *fds, int n);
/* Stops: the code that runs now accepts. Idempotent. */
void refuser_stop(struct refuser *r);
bool refuser_active(const struct refuser *r);

#endif
