#!/usr/bin/env bash
# fuzz/build.sh: builds the fuzz targets into build-fuzz/ with libFuzzer,
# ASan and UBSan (Debian's clang-14 and libclang-rt-14-dev):
#   fuzz_datastream  the DataStream reader (lua/luanet/datastream.lua)
#   fuzz_discovery   the discovery decoders (lua/luanet/discovery.lua)
#   fuzz_config      the daemon's config loader (lua/luanet/config.lua)
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
build fuzz_config CONFIG_LUA config.lua
