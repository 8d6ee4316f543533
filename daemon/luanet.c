/* luaopen_luanet_core: the C half of `require "luanet"`, shared by the
 * luanetd binary (preloaded) and luanet/core.so (for a stock lua5.4). The
 * Lua half, lua/luanet/init.lua, adds the classes written in Lua. */
#include "luanet.h"
#include "dns.h"
#include "event_loop.h"
#include "fs.h"
#include "host_address.h"
#include "json.h"
#include "runtime.h"
#include "signals.h"
#include "tcp_server.h"
#include "tcp_socket.h"
#include "timer.h"
#include "udp_socket.h"
#include "channel.h"
#include "shared_dict_lua.h"
#include "websocket.h"

#include "h2_client.h"
#include "http_parser.h"
#include "http_server.h"

int luaopen_luanet_core(lua_State *L) {
  static const struct {
    const char *name;
    lua_CFunction open;
  } classes[] = {
    { "Signal", luaopen_luanet_signal },
    { "Timer", luaopen_luanet_timer },
    { "HostAddress", luaopen_luanet_host_address },
    { "TcpSocket", luaopen_luanet_tcp_socket },
    { "TcpServer", luaopen_luanet_tcp_server },
    { "UdpSocket", luaopen_luanet_udp_socket },
    { "HttpParser", luaopen_luanet_http_parser },
    { "HttpServer", luaopen_luanet_http_server },
    { "WebSocket", luaopen_luanet_websocket },
    { "SharedDict", luaopen_luanet_shared_dict },
    { "Channel", luaopen_luanet_channel },
    { "json", luaopen_luanet_json },   /* not a class: decode, encode, null, emptyArray */
    { "_dns", luaopen_luanet_dns },   /* HostInfo's primitives (lua/luanet/hostinfo.lua) */
    { "_Http2Client", luaopen_luanet_http2_client },   /* net.http's HTTP/2 (lua/luanet/http/client.lua) */
  };
  lua_newtable(L);
  luaopen_luanet_event_loop(L);   /* exec, quit, processEvents, sleep, clock, spawn */
  luaopen_luanet_fs(L);        /* statvfs */
  for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
    lua_pushcfunction(L, classes[i].open);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, classes[i].name);
  }
  return 1;
}
