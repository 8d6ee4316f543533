#!/usr/bin/env bash
# fuzz/build.sh: builds the fuzz targets into build-fuzz/ with libFuzzer,
# ASan and UBSan (Debian's clang-14 and libclang-rt-14-dev):
#   fuzz_datastream  the DataStream reader (lua/luanet/datastream.lua)
#   fuzz_discovery   the discovery decoders (lua/luanet/discovery.lua)
#   fuzz_config      the daemon's config loader (lua/luanet/daemon/config.lua)
#   fuzz_ftp         FTP replies, LIST/MLSD lines and server paths
#                    (lua/luanet/ftp/parse.lua)
#   fuzz_resp        RESP2 replies and commands, net.Redis's protocol
#                    (lua/luanet/redis/resp.lua)
#   fuzz_ws_frame    the WebSocket frame codec (daemon/ws/ws_frame.c) and the
#                    UTF-8 check (daemon/net/utf8.c)
#   fuzz_ws_handshake the WebSocket opening handshake, a client's request and
#                    a server's answer, and permessage-deflate's terms
#                    (daemon/ws/ws_request.c on llhttp, with ws_accept.c)
#   fuzz_json        net.json's decode and encode (daemon/shared/json*.c, with
#                    daemon/net/utf8.c), on Lua without the core
#   fuzz_metrics     the metrics listener's request line and the daemon's
#                    JSON strings (daemon/service/metrics_route.c,
#                    json_print.c), alone
#   fuzz_http        net.HttpParser (daemon/http/http_parser.c on llhttp), with
#                    the whole core linked in
#   fuzz_http_server net.HttpServer (daemon/http/http_server.c and neighbours)
#                    over loopback sockets, the whole core linked in
#   fuzz_h2_server   net.HttpServer's HTTP/2, h2c with prior knowledge
#                    (daemon/http/h2_session.c, h2_stream.c, h2_out.c on
#                    libnghttp2) over loopback sockets, the whole core linked in
#   fuzz_h2_client   net._Http2Client (daemon/http/h2_client.c on libnghttp2)
#                    reading a server's bytes over a loopback socket, the
#                    whole core linked in
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-clang-14}
mkdir -p "$root/build-fuzz"

# build TARGET LUA_MACRO LUA_FILE: each target loads its module from the
# tree at run time, so a change to the Lua needs no rebuild; the path is
# fixed here.
build() {
  "$cc" -std=c11 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I/usr/include/lua5.4 \
    -D"$2"="\"$root/lua/luanet/$3\"" \
    "$root/fuzz/$1.c" -llua5.4 -lm \
    -o "$root/build-fuzz/$1"
}
build fuzz_datastream DATASTREAM_LUA datastream.lua
build fuzz_discovery DISCOVERY_LUA discovery.lua
build fuzz_config CONFIG_LUA daemon/config.lua
build fuzz_ftp FTP_PARSE_LUA ftp/parse.lua
build fuzz_resp RESP_LUA redis/resp.lua

# The C core and llhttp, instrumented, for targets that drive luanet.core.
# The core's files are CMakeLists.txt's CORE_SOURCES, read from there so
# that the two lists cannot drift apart.
core=()
while read -r f; do
  core+=("$root/$f")
done < <(sed -n '/^set(CORE_SOURCES/,/^)/s|^ *\(daemon/[a-z0-9_/]*\.c\)$|\1|p' "$root/CMakeLists.txt")
# And its include folders, daemon/ and the layer folders below it.
includes=(-I"$root/daemon")
for d in "$root"/daemon/*/; do includes+=(-I"${d%/}"); done
[ "${#core[@]}" -gt 10 ] || { echo "fuzz/build.sh: no CORE_SOURCES in CMakeLists.txt" >&2; exit 1; }
mkdir -p "$root/build-fuzz/llhttp"
for f in api http llhttp; do
  "$cc" -std=c11 -g -O1 -w -fsanitize=fuzzer-no-link,address,undefined -I/usr/share/include/llhttp \
    -c /usr/share/llhttp/$f.c -o "$root/build-fuzz/llhttp/$f.o"
done
# build_core TARGET: a target linked with the instrumented core.
build_core() {
  "$cc" -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I/usr/include/lua5.4 -I/usr/share/include/llhttp "${includes[@]}" \
    -DLUANET_LUA_DIR="\"$root/lua\"" -DLUANET_TLS_MODULE="\"$root/build/luanet/tls.so\"" \
    "$root/fuzz/$1.c" "${core[@]}" "$root"/build-fuzz/llhttp/*.o \
    -llua5.4 -lev -lcares -lz -lnghttp2 -ldl -lm -o "$root/build-fuzz/$1"
}
# fuzz_ws_frame: the WebSocket frame codec and the UTF-8 check alone (no
# Lua, no loop).
"$cc" -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root/daemon/ws" -I"$root/daemon/net" \
  "$root/fuzz/fuzz_ws_frame.c" "$root/daemon/ws/ws_frame.c" "$root/daemon/net/utf8.c" \
  -o "$root/build-fuzz/fuzz_ws_frame"
# fuzz_ws_handshake: the handshake's judgement alone, on the instrumented
# llhttp above (no Lua, no loop, no core); -D_GNU_SOURCE as CMakeLists.txt
# builds these files.
"$cc" -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root/daemon/ws" -I/usr/share/include/llhttp \
  "$root/fuzz/fuzz_ws_handshake.c" "$root/daemon/ws/ws_request.c" "$root/daemon/ws/ws_accept.c" \
  "$root"/build-fuzz/llhttp/*.o -o "$root/build-fuzz/fuzz_ws_handshake"
# fuzz_json: net.json on a plain lua_State, its files alone (no loop).
"$cc" -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I/usr/include/lua5.4 -I"$root/daemon/shared" -I"$root/daemon/net" \
  "$root/fuzz/fuzz_json.c" "$root"/daemon/shared/json*.c "$root/daemon/net/utf8.c" \
  -llua5.4 -lm -o "$root/build-fuzz/fuzz_json"
# fuzz_metrics: the daemon's request line and JSON strings, their files
# alone (no Lua, no loop).
"$cc" -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root/daemon/service" -I"$root/daemon/shared" -I"$root/daemon/net" \
  "$root/fuzz/fuzz_metrics.c" "$root/daemon/service/metrics_route.c" "$root/daemon/service/json_print.c" \
  "$root/daemon/shared/json_text.c" "$root/daemon/net/utf8.c" -o "$root/build-fuzz/fuzz_metrics"
build_core fuzz_http
build_core fuzz_http_server
build_core fuzz_h2_server
build_core fuzz_h2_client
