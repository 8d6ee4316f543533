#!/usr/bin/env bash
# fuzz/run.sh SECONDS: builds, then fuzzes the DataStream reader for at most
# SECONDS, from a corpus in build-fuzz/corpus-datastream seeded with valid
# frames. A crash leaves its input in build-fuzz/ and exits non-zero.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/fuzz/build.sh"
corpus=$root/build-fuzz/corpus-datastream
mkdir -p "$corpus"

# Seeds: an op byte (see fuzz_datastream.c: three 2-bit ops, then the
# reader kind in bits 6-7), then the stream.
seed() { printf '%b' "$2" >"$corpus/seed-$1"; }
block_hi='\x00\x08\x00\x00\x00\x04\x00H\x00i'                  # quint16 8, "Hi"
strings='\x00\x00\x00\x04\xd8\x3d\xde\x00'                    # "😀"
strings+='\xff\xff\xff\xff\x00\x00\x00\x00'                   # null, ""
strings+='\x00\x00\x00\x04\x65\xe5\x67\x2c\x00\x00\x00\x02\x00\xe9'   # "日本", "é"
seed fortune-string "\x18$block_hi"        # u16, QString, u32 over a string
seed fortune-bytewise "\x58$block_hi"      # the same from a device, 1 byte a feed
seed strings-string "\x2a$strings"         # QStrings only
seed strings-3bytes "\xaa$strings"         # QStrings from a device, 3 bytes a feed
seed corrupt "\x2a\x00\x00\x00\x03\x00a\x00\x00\x00\x00\x02\xdc\x00\x00\x00\x00\x02\x00a"
seed integers "\xcd\xde\xad\xbe\xef\x12\x34\x00\x01"   # u32, state, u16, 64-byte feeds

"$root/build-fuzz/fuzz_datastream" -max_total_time="$secs" -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$root/build-fuzz/" "$corpus"
