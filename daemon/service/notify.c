#include "notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void notify_send(const char *message) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path)
    return;
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  size_t len = strlen(path);
  if (len >= sizeof sun.sun_path)
    return;
  memcpy(sun.sun_path, path, len);
  if (sun.sun_path[0] == '@')
    sun.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return;
  /* A datagram socket: a notify that cannot be sent is dropped, never
   * waited for. */
  sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&sun,
         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
  close(fd);
}

void notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char msg[96];
  snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
  notify_send(msg);
}

double notify_watchdog_interval(void) {
  const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
  if (!usec)
    return 0;
  if (pid && strtol(pid, NULL, 10) != (long)getpid())
    return 0;
  double us = strtod(usec, NULL);
  return us > 0 ? us / 2e6 : 0;
}
