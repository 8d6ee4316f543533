/* Qt's socket errors: the enum names luanet exposes and Qt's texts for
 * them, with the mapping from errno. Shared by every socket class. */
#ifndef LUANET_SOCKET_ERROR_H
#define LUANET_SOCKET_ERROR_H

enum socket_error {
  SE_UNKNOWN,            /* also "no error yet", as Qt's default */
  SE_CONNECTION_REFUSED,
  SE_REMOTE_HOST_CLOSED,
  SE_HOST_NOT_FOUND,
  SE_ACCESS,
  SE_RESOURCE,
  SE_TIMEOUT,
  SE_DATAGRAM_TOO_LARGE,
  SE_NETWORK,
  SE_ADDRESS_IN_USE,
  SE_ADDRESS_NOT_AVAILABLE,
  SE_UNSUPPORTED_OPERATION,
  SE_OPERATION,
};

/* The Qt enum name of e ("ConnectionRefusedError"). */
const char *socket_error_name(enum socket_error e);
/* Maps an errno value to Qt's error and text ("Connection refused"). */
enum socket_error socket_error_from_errno(int err, const char **text);
/* All SocketError names (NULL-terminated), for the class constants. */
extern const char *const socket_error_names[];

#endif
