/* TcpSocket's descriptor transport: read(2) and write(2), for what
 * setSocketDescriptor adopts that is not a socket — a pipe, a tty, a
 * regular file such as </dev/null, in practice a script's stdin. The
 * plain transport's recv, send and sendmsg fail there with ENOTSOCK;
 * read and write do what they do on a socket, so the rest of TcpSocket
 * (the buffer, readyRead, the queue, the end of input as the peer's close)
 * works unchanged. libev's epoll backend takes a regular file too: epoll
 * refuses it (EPERM) and libev then reports it as always ready.
 *
 * An adopted descriptor is made non-blocking, since the loop must never
 * wait on it. Its file description may be shared with other processes
 * (stdin with the shell that started us, which would then see EAGAIN), so
 * at close it is made blocking again, as Node does for its stdio. Only the
 * O_NONBLOCK bit is given back, the one bit we changed: writing back all
 * the flags read at adoption would undo what another holder set since. */
#include "tcp_socket_impl.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t fd_read(struct tcp_socket *s, char *dst, size_t space, const char **why) {
  (void)why;
  return read(s->base.fd, dst, space);
}

static ssize_t fd_write(struct tcp_socket *s, const char *p, size_t n) {
  return write(s->base.fd, p, n);
}

static ssize_t fd_writev(struct tcp_socket *s, const struct iovec *iov, int n) {
  return writev(s->base.fd, iov, n);
}

/* Since Linux 2.6.33 sendfile writes to any file, not only to sockets. */
static ssize_t fd_write_file(struct tcp_socket *s, int fd, off_t *off, size_t n) {
  return sendfile(s->base.fd, fd, off, n);
}

static void fd_shutdown(struct tcp_socket *s) {
  (void)s;   /* no goodbye on a pipe or a file: close() is the end */
}

const struct socket_transport tcp_fd_transport = {
  .read = fd_read, .write = fd_write, .writev = fd_writev, .write_file = fd_write_file, .shutdown = fd_shutdown,
};

bool tcp_fd_adopt(struct tcp_socket *s, int fd) {
  int flags = fcntl(fd, F_GETFL);
  struct stat st;
  if (flags < 0 || fstat(fd, &st) < 0)
    return false;
  bool blocking = !(flags & O_NONBLOCK);
  if (blocking && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return false;
  s->restore_blocking = blocking;
  s->xprt = S_ISSOCK(st.st_mode) ? &tcp_plain_transport : &tcp_fd_transport;
  return true;
}

void tcp_fd_restore(struct tcp_socket *s) {
  if (s->restore_blocking && s->base.fd >= 0) {
    int flags = fcntl(s->base.fd, F_GETFL);
    if (flags >= 0)
      fcntl(s->base.fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  s->restore_blocking = false;
  if (s->xprt == &tcp_fd_transport)
    s->xprt = &tcp_plain_transport;   /* connectToHost may reuse the object */
}
