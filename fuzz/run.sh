#!/usr/bin/env bash
# fuzz/run.sh SECONDS: builds, then fuzzes each target for SECONDS/4 (so
# the whole run takes about SECONDS), one after the other, each from its
# corpus in build-fuzz/corpus-NAME seeded with valid input. A crash leaves
# its input in build-fuzz/ and exits non-zero; each later target runs only
# when the first found nothing.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS}
share=$((secs / 4))
[ "$share" -ge 1 ] || share=1
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/fuzz/build.sh"

# run NAME: fuzzes build-fuzz/fuzz_NAME over build-fuzz/corpus-NAME.
run() {
  echo "== fuzz_$1: $share s =="
  "$root/build-fuzz/fuzz_$1" -max_total_time="$share" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$root/build-fuzz/$1-" "$root/build-fuzz/corpus-$1"
}

# DataStream seeds: an op byte (see fuzz_datastream.c: three 2-bit ops,
# then the reader kind in bits 6-7), then the stream.
corpus=$root/build-fuzz/corpus-datastream
mkdir -p "$corpus"
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

# Discovery seeds: whole datagrams (see discovery.lua's layout table).
corpus=$root/build-fuzz/corpus-discovery
mkdir -p "$corpus"
seed query 'LNDS\x01\x01\xde\xad\xbe\xef'
seed answer 'LNDS\x01\x02\xde\xad\xbe\xef\x00\x00\x00\x01\x00\x00\x00\x00\x05alpha'
seed answer-utf8 'LNDS\x01\x02\x00\x00\x00\x07\x7f\xff\xff\xff\xff\xff\xff\xff\x0ch\xc3\xb6st\xe6\x97\xa5\xf0\x9f\x8d\x80'
seed answer-c1 'LNDS\x01\x02\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x01\x03a\xc2\x85'
seed answer-huge 'LNDS\x01\x02\x00\x00\x00\x07\x80\x00\x00\x00\x00\x00\x00\x00\x01a'
seed version2 'LNDS\x02\x01\x00\x00\x00\x01'

# Config seeds: the default config and a few shapes of mistakes.
corpus=$root/build-fuzz/corpus-config
mkdir -p "$corpus"
cp "$root/etc/luanetd.conf" "$corpus/seed-default"
seed named 'workers = "auto"\nservice "a" { script = "a.lua", listen = { main = "tcp://[::1]:80", "udp://127.0.0.1:5", "unix:/tmp/s" }, options = { x = { 1, 2 } } }\n'
seed resolver 'resolver = { servers = { "127.0.0.1:53" }, timeout = 300, tries = 2 }\nlog = { level = "debug" }\nshutdown_timeout = 0\n'
seed mistakes 'service "a" {\n script = 1,\n listen = "tcp://1.2.3.4:99999"\n}\n'

# HTTP seeds: byte 0 (bit 0: 0 request, 1 response), byte 1 the split point.
corpus=$root/build-fuzz/corpus-http
mkdir -p "$corpus"
seed pipelined '\x00\x10GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi'
seed chunked '\x00\x30POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
seed response '\x01\x20HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'
seed http10 '\x00\x05GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'

run datastream
run discovery
run config
run http
