#include "ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* A reload runs a service's main chunk: give it time, but not forever. */
#define REPLY_TIMEOUT_SECONDS 60

static int usage(void) {
  fprintf(stderr, "usage: luanetd ctl [-s SOCKET] status [--json] | reload [NAME] | stop\n");
  return 2;
}

static int connect_to(const char *path) {
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof sun.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SECONDS };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

int ctl_main(int argc, char **argv) {
  const char *path = geteuid() == 0 ? "/run/luanetd.sock" : "./luanetd.sock";
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "-s") == 0) {
    path = argv[i + 1];
    i += 2;
  }
  if (i >= argc)
    return usage();
  const char *cmd = argv[i];
  int nargs = argc - i - 1;
  bool json = strcmp(cmd, "status") == 0 && nargs == 1 && strcmp(argv[i + 1], "--json") == 0;
  if (!((strcmp(cmd, "status") == 0 && (nargs == 0 || json)) || (strcmp(cmd, "stop") == 0 && nargs == 0) ||
        (strcmp(cmd, "reload") == 0 && nargs <= 1)))
    return usage();
  char line[1100];
  snprintf(line, sizeof line, "%s%s%s\n", cmd, nargs ? " " : "", nargs ? argv[i + 1] : "");

  int fd = connect_to(path);
  if (fd < 0) {
    fprintf(stderr, "luanetd ctl: no daemon answers at %s: %s\n", path, strerror(errno));
    return 2;
  }
  if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
    fprintf(stderr, "luanetd ctl: %s: %s\n", path, strerror(errno));
    close(fd);
    return 2;
  }
  char *reply = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&reply, &len);
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
    fwrite(buf, 1, (size_t)n, out);
  int err = n < 0 ? errno : 0;
  fclose(out);
  close(fd);
  int code;
  if (strncmp(reply, "ok\n", 3) == 0) {
    fputs(reply + 3, stdout);
    code = 0;
  } else if (strncmp(reply, "error\n", 6) == 0) {
    fprintf(stderr, "luanetd ctl: %s", reply + 6);
    code = 1;
  } else {
    fprintf(stderr, "luanetd ctl: no reply from %s%s%s\n", path, err ? ": " : "", err ? strerror(err) : "");
    code = 2;
  }
  free(reply);
  return code;
}
