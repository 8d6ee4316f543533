#!/usr/bin/env bash
# fuzz/build.sh: builds the fuzz targets into build-fuzz/ with libFuzzer,
# ASan and UBSan (Debian's clang-14 and libclang-rt-14-dev).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cc=${CC:-clang-14}
mkdir -p "$root/build-fuzz"
# The target loads datastream.lua from the tree at run time, so a change to
# the Lua needs no rebuild; the path is fixed here.
"$cc" -std=c11 -g -O1 -Wall -Wextra -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I/usr/include/lua5.4 \
  -DDATASTREAM_LUA="\"$root/lua/luanet/datastream.lua\"" \
  "$root/fuzz/fuzz_datastream.c" -llua5.4 -lm \
  -o "$root/build-fuzz/fuzz_datastream"
