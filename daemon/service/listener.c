#include "listener.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511
#define SD_LISTEN_FDS_START 3
#define MAX_ACTIVATION_FDS 64

static struct {
  int fd;
  char name[256];
  bool taken;
} passed[MAX_ACTIVATION_FDS];
static int npassed;

static int socket_type(const struct listener_config *l) {
  return l->kind == LISTENER_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

static int open_unix(const struct listener_config *l, char *err, size_t errlen) {
  if (net_unix_claim(l->path) < 0) {
    snprintf(err, errlen, errno == ENOTSOCK ? "%s: the path exists and is not a socket"
                                            : "%s: address already in use (something accepts connections there)",
             l->url);
    return -1;
  }
  int fd = net_unix_listen(l->path, LISTEN_BACKLOG);
  if (fd < 0)
    snprintf(err, errlen, "%s: %s", l->url, strerror(errno));
  return fd;
}

int listener_open(const struct listener_config *l, char *err, size_t errlen) {
  if (l->kind == LISTENER_UNIX)
    return open_unix(l, err, errlen);
  struct net_addr addr;
  if (!net_addr_parse(l->host, l->port, &addr)) {
    snprintf(err, errlen, "%s: %s is not an IP address", l->url, l->host);
    return -1;
  }
  /* Port 0 asks for a fresh port, which nobody can hold yet. */
  if (l->port != 0 && net_bind_probe(&addr, socket_type(l)) < 0) {
    snprintf(err, errlen, "%s: %s", l->url, strerror(errno));
    return -1;
  }
  int fd = net_listen_socket(&addr, socket_type(l), l->kind == LISTENER_TCP, LISTEN_BACKLOG);
  if (fd < 0)
    snprintf(err, errlen, "%s: %s", l->url, strerror(errno));
  return fd;
}

int listener_open_again(int first) {
  struct net_addr addr;
  addr.len = sizeof addr.ss;
  if (getsockname(first, (struct sockaddr *)&addr.ss, &addr.len) < 0)
    return -1;
  return net_listen_socket(&addr, SOCK_STREAM, true, LISTEN_BACKLOG);
}

int listener_activation_init(void) {
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  const char *names = getenv("LISTEN_FDNAMES");
  npassed = 0;
  if (pid && fds && strtol(pid, NULL, 10) == (long)getpid()) {
    long n = strtol(fds, NULL, 10);
    for (long i = 0; i < n && i < MAX_ACTIVATION_FDS; i++) {
      int fd = SD_LISTEN_FDS_START + (int)i;
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      passed[npassed].fd = fd;
      passed[npassed].taken = false;
      passed[npassed].name[0] = '\0';
      if (names) {   /* colon-separated, in fd order */
        const char *end = strchr(names, ':');
        size_t len = end ? (size_t)(end - names) : strlen(names);
        if (len < sizeof passed[npassed].name) {
          memcpy(passed[npassed].name, names, len);
          passed[npassed].name[len] = '\0';
        }
        names = end ? end + 1 : NULL;
      }
      npassed++;
    }
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return npassed;
}

/* Whether fd is a socket of l's type bound to l's address. */
static bool same_address(int fd, const struct listener_config *l) {
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != socket_type(l))
    return false;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return false;
  if (l->kind == LISTENER_UNIX)
    return ss.ss_family == AF_UNIX && strcmp(((struct sockaddr_un *)&ss)->sun_path, l->path) == 0;
  struct net_addr want;
  if (!net_addr_parse(l->host, l->port, &want) || want.ss.ss_family != ss.ss_family)
    return false;
  char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];
  net_addr_format((struct sockaddr *)&ss, a);
  net_addr_format((struct sockaddr *)&want.ss, b);
  return strcmp(a, b) == 0 && net_addr_port((struct sockaddr *)&ss) == l->port;
}

int listener_activation_take(const struct listener_config *l, const char *service) {
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < npassed; i++) {
      if (passed[i].taken)
        continue;
      bool match = pass == 0
          ? (l->name && strcmp(passed[i].name, l->name) == 0) ||
            (!l->name && strcmp(passed[i].name, service) == 0 && same_address(passed[i].fd, l))
          : same_address(passed[i].fd, l);
      if (match) {
        passed[i].taken = true;
        return passed[i].fd;
      }
    }
  }
  return -1;
}

int listener_activation_close_unused(void) {
  int n = 0;
  for (int i = 0; i < npassed; i++) {
    if (!passed[i].taken) {
      close(passed[i].fd);
      passed[i].taken = true;
      n++;
    }
  }
  return n;
}

void listener_describe(int fd, const struct listener_config *l, char *buf, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (l->kind == LISTENER_UNIX || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
    snprintf(buf, size, "%s", l->url);
    return;
  }
  char host[NET_ADDRSTRLEN];
  net_addr_format((struct sockaddr *)&ss, host);
  bool v6 = ss.ss_family == AF_INET6;
  snprintf(buf, size, "%s://%s%s%s:%d", l->kind == LISTENER_TCP ? (l->tls ? "tls" : "tcp") : "udp", v6 ? "[" : "", host,
           v6 ? "]" : "", net_addr_port((struct sockaddr *)&ss));
}
