/* Qt's SocketError names and texts, and errno -> SocketError. The texts are
 * Qt's own (qnativesocketengine.cpp), measured in docs/QT-API.md. */
/*** AbstractSocket's enums (daemon/net/socket_error.c).
 * @classmod AbstractSocket
 */
#include "socket_error.h"

#include <stddef.h>

#include <errno.h>
#include <string.h>

/*** A socket's state, as state() and stateChanged give it.
 * @enum SocketState
 * @field UnconnectedState Qt: 0
 * @field HostLookupState Qt: 1, resolving the name given to connectToHost
 * @field ConnectingState Qt: 2
 * @field ConnectedState Qt: 3
 * @field BoundState Qt: 4, a UdpSocket after bind
 * @field ListeningState Qt: 5 (a server's; no socket reports it)
 * @field ClosingState Qt: 6, disconnectFromHost waits for the write buffer to drain
 * @qt QAbstractSocket::SocketState
 */
const char *const socket_state_names[] = {
  "UnconnectedState", "HostLookupState", "ConnectingState", "ConnectedState",
  "BoundState", "ListeningState", "ClosingState", NULL,
};

/*** The options of setSocketOption and socketOption.
 * @enum SocketOption
 * @field LowDelayOption Qt: 0, TCP_NODELAY (1 or 0)
 * @field KeepAliveOption Qt: 1, SO_KEEPALIVE (1 or 0)
 * @field MulticastTtlOption Qt: 2, IP_MULTICAST_TTL
 * @field MulticastLoopbackOption Qt: 3, IP_MULTICAST_LOOP (1 or 0)
 * @field TypeOfServiceOption Qt: 4, IP_TOS
 * @field SendBufferSizeSocketOption Qt: 5, SO_SNDBUF (bytes)
 * @field ReceiveBufferSizeSocketOption Qt: 6, SO_RCVBUF (bytes)
 * @qt QAbstractSocket::SocketOption
 */
const char *const socket_option_names[] = {
  "LowDelayOption", "KeepAliveOption", "MulticastTtlOption", "MulticastLoopbackOption",
  "TypeOfServiceOption", "SendBufferSizeSocketOption", "ReceiveBufferSizeSocketOption", NULL,
};

/*** A socket's error, as error() and errorOccurred give it; errorString()
 * has the text. luanet reports those of the first part; the rest are
 * constants for code written for Qt.
 * @enum SocketError
 * @field UnknownSocketError Qt: -1, also "no error yet"
 * @field ConnectionRefusedError Qt: 0, "Connection refused"
 * @field RemoteHostClosedError Qt: 1, "The remote host closed the connection"
 * @field HostNotFoundError Qt: 2, "Host not found"
 * @field SocketAccessError Qt: 3, "The address is protected"
 * @field SocketResourceError Qt: 4, "Out of resources"
 * @field SocketTimeoutError Qt: 5, "Network operation timed out" (a waitFor... or a time-out)
 * @field DatagramTooLargeError Qt: 6, "Datagram was too large to send"
 * @field NetworkError Qt: 7, "Network unreachable", "Host unreachable"
 * @field AddressInUseError Qt: 8, "The bound address is already in use"
 * @field SocketAddressNotAvailableError Qt: 9, "The address is not available"
 * @field UnsupportedSocketOperationError Qt: 10
 * @field OperationError Qt: 19, an operation the socket's state does not allow
 * @field UnfinishedSocketOperationError Qt: 11
 * @field ProxyAuthenticationRequiredError Qt: 12
 * @field SslHandshakeFailedError Qt: 13, TLS: the handshake or the peer's certificate failed
 * @field ProxyConnectionRefusedError Qt: 14
 * @field ProxyConnectionClosedError Qt: 15
 * @field ProxyConnectionTimeoutError Qt: 16
 * @field ProxyNotFoundError Qt: 17
 * @field ProxyProtocolError Qt: 18
 * @field SslInternalError Qt: 20, TLS: the library failed
 * @field SslInvalidUserDataError Qt: 21
 * @field TemporaryError Qt: 22
 * @qt QAbstractSocket::SocketError
 */
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
