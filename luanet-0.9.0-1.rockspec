-- The luanet Lua module for a stock Lua 5.4, without the daemon: luanet.core
-- and luanet.tls (C, built by CMake from daemon/) and every file of
-- lua/luanet/. From a clone:
--   luarocks --lua-version 5.4 make [--tree DIR]
-- then `require "luanet"`, and `net.exec()` runs the loop.
rockspec_format = "3.0"
package = "luanet"
version = "0.9.0-1"

-- luanetd has no published source archive yet: `luarocks make` builds the
-- directory it runs in and fetches nothing.
source = {
  url = "file://.",
}

description = {
  summary = "Qt-style network classes (TcpSocket, TcpServer, HttpServer, WebSocket, ...) on libev",
  detailed = [[
luanet gives Lua 5.4 the network classes of Qt 4's QtNetwork as objects with
signals: TcpSocket, TcpServer, UdpSocket, HttpServer, WebSocket, an HTTP and
FTP client and server, net.Redis, on a libev loop with c-ares name lookups
and OpenSSL's TLS. It is the library of the luanetd daemon, usable alone.
Building needs CMake, the Lua 5.4 headers and static library (Debian:
liblua5.4-dev), and llhttp's C sources in /usr/share/llhttp (node-llhttp).]],
  maintainer = "luanetd maintainers",
  -- The repository grants no license yet (npm's word for that); see
  -- debian/copyright.
  license = "UNLICENSED",
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

-- Checked by luarocks before the build; CMake then finds them itself
-- (pkg-config, find_library), as in the daemon's build.
external_dependencies = {
  LIBEV = { header = "ev.h", library = "ev" },
  CARES = { header = "ares.h", library = "cares" },
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
  ZLIB = { header = "zlib.h", library = "z" },
  NGHTTP2 = { header = "nghttp2/nghttp2.h", library = "nghttp2" },
}

-- CMake builds the two modules only (not the daemon) in build.luarocks/.
-- luanet.core loads luanet.tls by its absolute path (on the first TLS
-- context, so that a process without TLS maps no OpenSSL): the path where
-- luarocks deploys it, the tree's lib/lua/5.4, four levels above the
-- rock's own directory $(PREFIX) (TREE/lib/luarocks/rocks-5.4/luanet/VERSION).
build = {
  type = "command",
  build_command = [[
set -e
tls_module=$(realpath -m "$(PREFIX)/../../../../lua/5.4/luanet/tls.so")
cmake -S . -B build.luarocks -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$(CFLAGS)" \
  -DLUANET_TLS_MODULE="$tls_module" >/dev/null
cmake --build build.luarocks --target luanet_module luanet_tls --parallel "$(getconf _NPROCESSORS_ONLN)"
]],
  install_command = [[
set -e
install -D -m 0755 build.luarocks/luanet/core.so "$(LIBDIR)/luanet/core.so"
install -D -m 0755 build.luarocks/luanet/tls.so "$(LIBDIR)/luanet/tls.so"
cd lua && find luanet -name '*.lua' -exec install -D -m 0644 {} "$(LUADIR)/{}" \;
]],
}
