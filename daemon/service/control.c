#include "control.h"
#include "net.h"
#include "request_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct control {
  struct control_handler handler;
  struct request_server *server;
  char *path;
};

static bool line_complete(const char *buf, size_t len) {
  return memchr(buf, '\n', len) != NULL;
}

/* "ok" or "error", then what the command wrote. */
static void run_command(void *ud, char *line, size_t len, bool too_long, FILE *out) {
  (void)len;
  struct control *c = ud;
  char *nl = strchr(line, '\n');
  if (nl)
    *nl = '\0';
  char *body = NULL;
  size_t body_len = 0;
  FILE *body_out = open_memstream(&body, &body_len);
  if (!body_out)
    return;
  bool ok = c->handler.command(c->handler.ud, too_long ? "(a line too long)" : line, body_out);
  fclose(body_out);
  fprintf(out, "%s\n%s", ok ? "ok" : "error", body);
  free(body);
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
  if (!c || !(c->path = strdup(path))) {
    free(c);
    close(fd);
    snprintf(err, errlen, "control socket %s: out of memory", path);
    return NULL;
  }
  c->handler = handler;
  struct request_handler commands = { line_complete, run_command, c, CONTROL_MAX_LINE - 1 };
  if (!(c->server = request_server_start(loop, fd, commands))) {
    close(fd);
    free(c->path);
    free(c);
    snprintf(err, errlen, "control socket %s: out of memory", path);
    return NULL;
  }
  return c;
}

void control_close(struct control *c) {
  if (!c)
    return;
  request_server_stop(c->server);
  unlink(c->path);
  free(c->path);
  free(c);
}
