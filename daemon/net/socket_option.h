/* Qt's SocketOption (enum socket_option) on a descriptor of `family`
 * (socket_option.c): 0, or -1 with errno set. */
#ifndef LUANET_SOCKET_OPTION_H
#define LUANET_SOCKET_OPTION_H

int net_set_option(int fd, int family, int opt, int value);
int net_get_option(int fd, int family, int opt, int *value);

#endif
