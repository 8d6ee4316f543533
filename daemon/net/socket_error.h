/* Qt's socket enums, shared by every socket class: SocketState,
 * SocketOption, and SocketError with Qt's texts and the mapping from
 * errno. luanet exposes them by their Qt names. */
#ifndef LUANET_SOCKET_ERROR_H
#define LUANET_SOCKET_ERROR_H

#include <lua.h>

enum socket_state {
  ST_UNCONNECTED, ST_HOSTLOOKUP, ST_CONNECTING, ST_CONNECTED, ST_BOUND, ST_LISTENING, ST_CLOSING,
};
extern const char *const socket_state_names[];   /* NULL-terminated */

/* Qt's SocketOption names, in this order (indexes of luaL_checkoption). */
enum socket_option {
  OPT_LOW_DELAY, OPT_KEEP_ALIVE, OPT_MULTICAST_TTL, OPT_MULTICAST_LOOPBACK, OPT_TYPE_OF_SERVICE,
  OPT_SEND_BUFFER, OPT_RECEIVE_BUFFER, NOPTIONS,
};
extern const char *const socket_option_names[];  /* NULL-terminated */

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
  SE_SSL_HANDSHAKE_FAILED = 15,   /* the rest: as socket_error_names lists them */
  SE_SSL_INTERNAL = 21,
  SE_TEMPORARY = 23,
};

/* The Qt enum name of e ("ConnectionRefusedError"). */
const char *socket_error_name(enum socket_error e);
/* Maps an errno value to Qt's error and text ("Connection refused"). */
enum socket_error socket_error_from_errno(int err, const char **text);
/* All SocketError names (NULL-terminated), for the class constants. */
extern const char *const socket_error_names[];
/* [-0, +0, m] Sets every state, error and option name as a constant of
 * the class table on the stack top. */
void socket_set_constants(lua_State *L);

#endif
