/* Qt's SocketError names and texts, and errno -> SocketError. The texts are
 * Qt's own (qnativesocketengine.cpp), measured in docs/QT-API.md. */
#include "socket_error.h"

#include <stddef.h>

#include <errno.h>
#include <string.h>

const char *const socket_state_names[] = {
  "UnconnectedState", "HostLookupState", "ConnectingState", "ConnectedState",
  "BoundState", "ListeningState", "ClosingState", NULL,
};

const char *const socket_option_names[] = {
  "LowDelayOption", "KeepAliveOption", "MulticastTtlOption", "MulticastLoopbackOption",
  "TypeOfServiceOption", "SendBufferSizeSocketOption", "ReceiveBufferSizeSocketOption", NULL,
};

const char *const socket_error_names[] = {
  "UnknownSocketError", "ConnectionRefusedError", "RemoteHostClosedError",
  "HostNotFoundError", "SocketAccessError", "SocketResourceError",
  "SocketTimeoutError", "DatagramTooLargeError", "NetworkError",
  "AddressInUseError", "SocketAddressNotAvailableError",
  "UnsupportedSocketOperationError", "OperationError",
  /* the rest of Qt's enum, for the class constants */
  "UnfinishedSocketOperationError", "ProxyAuthenticationRequiredError",
  "SslHandshakeFailedError", "ProxyConnectionRefusedError",
  "ProxyConnectionClosedError", "ProxyConnectionTimeoutError",
  "ProxyNotFoundError", "ProxyProtocolError", "SslInternalError",
  "SslInvalidUserDataError", "TemporaryError", NULL,
};

const char *socket_error_name(enum socket_error e) {
  return socket_error_names[e];
}

enum socket_error socket_error_from_errno(int err, const char **text) {
  switch (err) {
  case ECONNREFUSED:
    *text = "Connection refused";
    return SE_CONNECTION_REFUSED;
  case ECONNRESET:
  case EPIPE:
    *text = "The remote host closed the connection";
    return SE_REMOTE_HOST_CLOSED;
  case ETIMEDOUT:
    *text = "Connection timed out";
    return SE_TIMEOUT;
  case ENETUNREACH:
    *text = "Network unreachable";
    return SE_NETWORK;
  case EHOSTUNREACH:
    *text = "Host unreachable";
    return SE_NETWORK;
  case EADDRINUSE:
    *text = "The bound address is already in use";
    return SE_ADDRESS_IN_USE;
  case EADDRNOTAVAIL:
    *text = "The address is not available";
    return SE_ADDRESS_NOT_AVAILABLE;
  case EACCES:
  case EPERM:
    *text = "The address is protected";
    return SE_ACCESS;
  case EMFILE:
  case ENFILE:
  case ENOBUFS:
  case ENOMEM:
    *text = "Out of resources";
    return SE_RESOURCE;
  case EAFNOSUPPORT:
  case EPROTONOSUPPORT:
    *text = "Unsupported socket operation";
    return SE_UNSUPPORTED_OPERATION;
  default:
    *text = strerror(err);
    return SE_UNKNOWN;
  }
}

void socket_set_constants(lua_State *L) {
  const char *const *lists[] = { socket_state_names, socket_error_names, socket_option_names };
  for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
    for (const char *const *n = lists[i]; *n; n++) {
      lua_pushstring(L, *n);
      lua_setfield(L, -2, *n);
    }
}
