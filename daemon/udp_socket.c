/* net.UdpSocket: QUdpSocket (issue 4). Placeholder until its own commit. */
#include "lnet.h"

static int udp_socket_new(lua_State *L) {
  return luaL_error(L, "net.UdpSocket is not implemented yet");
}

int luaopen_luanet_udp_socket(lua_State *L) {
  static const luaL_Reg methods[] = { { NULL, NULL } };
  static const struct lnet_class cls = {
    .name = "luanet.UdpSocket", .methods = methods, .construct = udp_socket_new,
  };
  lnet_class_register(L, &cls);
  return 1;
}
