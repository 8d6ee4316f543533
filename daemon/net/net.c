/* Socket helpers with no Lua in them: address parsing and formatting,
 * non-blocking connect, listen and accept. Errors are errno values, so the
 * callers can map them to Qt's enums in one place. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

bool net_addr_parse(const char *text, int port, struct net_addr *out) {
  char tmp[NET_ADDRSTRLEN];
  size_t n = strlen(text);
  memset(out, 0, sizeof *out);
  if (n >= sizeof tmp)
    return false;
  if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
    memcpy(tmp, text + 1, n - 2);
    tmp[n - 2] = '\0';
  } else {
    memcpy(tmp, text, n + 1);
  }
  struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
  if (inet_pton(AF_INET, tmp, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    out->len = sizeof *v4;
    return true;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
  char *scope = strchr(tmp, '%');
  if (scope)
    *scope++ = '\0';
  if (inet_pton(AF_INET6, tmp, &v6->sin6_addr) != 1)
    return false;
  if (scope) {
    char *end;
    unsigned long id = strtoul(scope, &end, 10);
    v6->sin6_scope_id = *end == '\0' ? (uint32_t)id : if_nametoindex(scope);
    if (v6->sin6_scope_id == 0)
      return false;
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((uint16_t)port);
  out->len = sizeof *v6;
  return true;
}

void net_addr_any(int family, int port, struct net_addr *out) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET6) {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
    out->len = sizeof *v6;
  } else {
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    out->len = sizeof *v4;
  }
  net_addr_set_port(out, port);
}

const char *net_addr_format(const struct sockaddr *sa, char *buf) {
  buf[0] = '\0';
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, NET_ADDRSTRLEN);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, NET_ADDRSTRLEN);
    if (v6->sin6_scope_id) {
      size_t n = strlen(buf);
      char name[IF_NAMESIZE];
      if (if_indextoname(v6->sin6_scope_id, name))
        snprintf(buf + n, NET_ADDRSTRLEN - n, "%%%s", name);
      else
        snprintf(buf + n, NET_ADDRSTRLEN - n, "%%%u", (unsigned)v6->sin6_scope_id);
    }
  }
  return buf;
}

int net_addr_port(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return 0;
}

void net_addr_set_port(struct net_addr *a, int port) {
  if (a->ss.ss_family == AF_INET)
    ((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
  else if (a->ss.ss_family == AF_INET6)
    ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
}

int net_tcp_connect(const struct net_addr *to, int *fd_out) {
  int fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0 && errno != EINPROGRESS) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  *fd_out = fd;
  return 0;
}

int net_connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    return errno;
  return err;
}

int net_tcp_listen(const struct net_addr *at, int backlog, bool dual_stack) {
  int fd = socket(at->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int on = 1, off = 0;
  /* Qt sets SO_REUSEADDR on Unix servers so that a restart can rebind a
   * port whose old connections sit in TIME_WAIT. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (at->ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &off : &on, sizeof on);
  if (bind(fd, (const struct sockaddr *)&at->ss, at->len) < 0 || listen(fd, backlog) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int net_accept(int listen_fd) {
  return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static int fail_close(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

int net_bind_probe(const struct net_addr *at, int type) {
  int fd = socket(at->ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int on = 1;
  if (type == SOCK_STREAM)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (at->ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, (const struct sockaddr *)&at->ss, at->len) < 0)
    return fail_close(fd);
  close(fd);
  return 0;
}

int net_listen_socket(const struct net_addr *at, int type, bool share, int backlog) {
  int fd = socket(at->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int on = 1;
  if (type == SOCK_STREAM)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
    return fail_close(fd);
  if (at->ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, (const struct sockaddr *)&at->ss, at->len) < 0)
    return fail_close(fd);
  if (type == SOCK_STREAM && listen(fd, backlog) < 0)
    return fail_close(fd);
  return fd;
}

static bool unix_addr(const char *path, struct sockaddr_un *sun) {
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sun->sun_path) {
    errno = ENAMETOOLONG;
    return false;
  }
  strcpy(sun->sun_path, path);
  return true;
}

int net_unix_listen(const char *path, int backlog) {
  struct sockaddr_un sun;
  if (!unix_addr(path, &sun))
    return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, backlog) < 0)
    return fail_close(fd);
  return fd;
}

static bool unix_alive(const char *path) {
  struct sockaddr_un sun;
  if (!unix_addr(path, &sun))
    return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool alive = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
  close(fd);
  return alive;
}

int net_unix_claim(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return 0;
  if (!S_ISSOCK(st.st_mode)) {
    errno = ENOTSOCK;
    return -1;
  }
  if (unix_alive(path)) {
    errno = EADDRINUSE;
    return -1;
  }
  unlink(path);   /* left by a process that is gone */
  return 0;
}

long net_raise_nofile_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return (long)rl.rlim_cur;
}

/* ::ffff:a.b.c.d as a.b.c.d, in place. */
void net_addr_unmap_v4(struct sockaddr_storage *ss) {
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
    return;
  struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = v6->sin6_port };
  memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
  memset(ss, 0, sizeof *ss);
  memcpy(ss, &v4, sizeof v4);
}

/* Makes `a` sendable from a socket of `family`: IPv4 on a dual-stack
 * socket becomes v4-mapped, v4-mapped on an IPv4 socket plain IPv4. */
void net_addr_fit_family(struct net_addr *a, int family) {
  if (family == AF_INET) {
    net_addr_unmap_v4(&a->ss);
    if (a->ss.ss_family == AF_INET)
      a->len = sizeof(struct sockaddr_in);
  } else if (family == AF_INET6 && a->ss.ss_family == AF_INET) {
    struct sockaddr_in v4;
    memcpy(&v4, &a->ss, sizeof v4);
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = v4.sin_port };
    v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    memset(&a->ss, 0, sizeof a->ss);
    memcpy(&a->ss, &v6, sizeof v6);
    a->len = sizeof v6;
  }
}
