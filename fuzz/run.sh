#!/usr/bin/env bash
# fuzz/run.sh SECONDS: builds, then fuzzes each of the 13 targets for
# SECONDS/13 (so the whole run takes about SECONDS), one after the other,
# each from its corpus in build-fuzz/corpus-NAME seeded with valid input.
# A crash leaves its input in build-fuzz/ and exits non-zero; each later
# target runs only when the first found nothing.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS}
share=$((secs / 13))
[ "$share" -ge 1 ] || share=1
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/fuzz/build.sh"

# run NAME [OPTION...]: fuzzes build-fuzz/fuzz_NAME over build-fuzz/corpus-NAME.
run() {
  local name=$1
  shift
  echo "== fuzz_$name: $share s =="
  "$root/build-fuzz/fuzz_$name" -max_total_time="$share" -timeout=10 "$@" \
    -print_final_stats=1 -artifact_prefix="$root/build-fuzz/$name-" "$root/build-fuzz/corpus-$name"
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
seed empty-field '\x01\x20HTTP/1.1 2\n:\r\r\n\r\x10'   # once read from a null head (fixed)

# HTTP server seeds: byte 0 the split point (0-255 over the stream's
# length), the rest what a client sends (see fuzz_http_server.c).
corpus=$root/build-fuzz/corpus-http_server
mkdir -p "$corpus"
seed get '\x40GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n'
seed pipelined '\x80GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /w?y HTTP/1.1\r\nHost: h\r\n\r\nGET /h?v=a%20b HTTP/1.1\r\nHost: h\r\n\r\n'
seed post '\x60POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello'
seed chunked '\xa0POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
seed head '\x20HEAD /w HTTP/1.1\r\nHost: h\r\n\r\nHEAD / HTTP/1.1\r\nHost: h\r\n\r\n'
seed http10 '\x10GET /w HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n'
seed http10-keepalive '\x30GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /w HTTP/1.0\r\n\r\n'
seed expect '\xf6POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc'
seed expect-417 '\x80GET / HTTP/1.1\r\nHost: h\r\nExpect: foo\r\n\r\n'
seed file '\x40GET /f HTTP/1.1\r\nHost: h\r\n\r\nGET /w HTTP/1.1\r\nHost: h\r\n\r\n'
seed inject '\x30GET /h?%0d%0aX:1 HTTP/1.1\r\nHost: h\r\n\r\n'
seed too-large '\x80POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9000\r\n\r\nabc'
seed too-large-chunked "\x80POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2001\r\n$(printf 'b%.0s' $(seq 8193))\r\n0\r\n\r\n"
seed malformed '\x40GARBAGE\r\n\r\n'
seed too-long "\x80GET / HTTP/1.1\r\nHost: h\r\nX-Big: $(printf 'a%.0s' $(seq 4200))\r\n\r\n"

# HTTP/2 seeds are written in hex (the frames' lengths are counted here):
# sx TEXT is a string's hex, hs TEXT an HPACK string literal of it (no
# Huffman), h2f TYPE FLAGS STREAM PAYLOAD a frame (types: 0 DATA,
# 1 HEADERS, 2 PRIORITY, 3 RST_STREAM, 4 SETTINGS, 5 PUSH_PROMISE, 6 PING,
# 7 GOAWAY, 8 WINDOW_UPDATE, 9 CONTINUATION; flags: 1 END_STREAM or ACK,
# 4 END_HEADERS, 8 PADDED, 0x20 PRIORITY), hseed NAME HEX a seed file.
sx() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
hs() {
  local n=${#1}
  if [ "$n" -lt 127 ]; then printf '%02x' "$n"; else
    printf '7f'; n=$((n - 127))
    while [ "$n" -ge 128 ]; do printf '%02x' $((n % 128 + 128)); n=$((n / 128)); done
    printf '%02x' "$n"
  fi
  sx "$1"
}
h2f() { local p=${4// /}; printf '%06x%02x%02x%08x%s' $((${#p} / 2)) "$1" "$2" "$3" "$p"; }
hseed() { local h=${2// /} o=; while [ -n "$h" ]; do o+="\\x${h:0:2}"; h=${h:2}; done; printf '%b' "$o" >"$corpus/seed-$1"; }
rep() { local s= i; for ((i = 0; i < $2; i++)); do s+=$1; done; printf '%s' "$s"; }
# HPACK blocks of requests: static entries 82 GET, 83 POST, 84 path "/",
# 86 scheme http; 02 and 04 a :method and a :path literal; 41 :authority
# added to the dynamic table (62, be, from then on); 00 a new name.
req() { printf '%s 86 04%s 41%s' "$1" "$(hs "$2")" "$(hs h)"; }        # METHOD-HEX PATH
field() { printf '00%s%s' "$(hs "$1")" "$(hs "$2")"; }                  # NAME VALUE
method() { printf '02%s' "$(hs "$1")"; }                                 # a method's literal

# HTTP/2 server seeds (fuzz_h2_server.c): byte 0 the mode (bit 0 the
# streamBody server, bit 1 raw: the input goes on from the preface's
# first line, bit 2 a few loop turns between writes), bytes 1 and 2 split
# points, then what the client sends after its preface and SETTINGS.
corpus=$root/build-fuzz/corpus-h2_server
mkdir -p "$corpus"
get=$(h2f 1 5 1 "$(req 82 /a?x=1)")
hseed get "00 40 c0 $get"
hseed streams "04 30 90 $get $(h2f 1 5 3 "$(req 82 /w)") $(h2f 1 5 5 "$(req 82 /f)") \
  $(h2f 1 5 7 "$(method HEAD) 86 04$(hs /a) be") $(h2f 1 5 9 "$(req 82 /n)") $(h2f 1 5 11 "$(method HEAD) 86 04$(hs /f) be")"
hseed post "00 80 80 $(h2f 1 4 1 "$(req 83 /p) $(field content-length 5)") $(h2f 0 1 1 "$(sx hello)")"
hseed stream-body "01 60 a0 $(h2f 1 4 1 "$(req 83 /s)") $(h2f 0 0 1 "$(sx hel)") $(h2f 0 1 1 "$(sx lo)") \
  $(h2f 1 4 3 "$(req 83 /w)") $(h2f 0 1 3 "$(sx abc)") $(h2f 1 5 5 "$(req 82 /)")"
hseed stream-open "01 80 80 $(h2f 1 4 1 "$(req 83 /s)") $(h2f 0 0 1 "$(sx partial)") $(h2f 1 5 3 "$(req 82 /f)")"
hseed stream-unread "01 40 80 $(h2f 1 4 1 "$(req 83 /a)") $(h2f 0 0 1 "$(sx unread)") $(h2f 0 1 1 "$(sx more)")"
hseed too-large "00 80 80 $(h2f 1 4 1 "$(req 83 /p) $(field content-length 5000)") $(h2f 0 1 1 "$(sx hello)") \
  $(h2f 1 4 3 "$(req 83 /q)") $(h2f 0 0 3 "$(rep 62 4100)") $(h2f 0 1 3 "$(sx x)") $(h2f 1 5 5 "$(req 82 /a)")"
hseed too-long "00 80 80 $(h2f 1 5 1 "$(req 82 /) $(field x-big "$(rep a 2100)")") $(h2f 1 5 3 "$(req 82 /a)")"
# refused: a method llhttp does not know, CONNECT, an Expect that cannot
# be met, no :path; then a request that is served.
hseed refused "00 80 80 $(h2f 1 5 1 "$(method FOO) 86 84 41$(hs h)") $(h2f 1 5 3 "$(method CONNECT) be") \
  $(h2f 1 5 5 "82 86 84 be $(field expect foo)") $(h2f 1 5 7 "82 86 be") $(h2f 1 5 9 "$(req 82 /a)")"
hseed window "00 50 a0 $(h2f 4 0 0 "0004 00000010") $(h2f 1 5 1 "$(req 82 /f)") $(h2f 1 5 3 "$(req 82 /w)") \
  $(h2f 6 0 0 "0102030405060708") $(h2f 8 0 1 "00000100") $(h2f 8 0 3 "00000100") $(h2f 8 0 0 "00001000")"
hseed reset "05 40 80 $(h2f 1 4 1 "$(req 83 /s)") $(h2f 3 0 1 "00000008") $(h2f 1 5 3 "$(req 82 /a)") \
  $(h2f 1 5 5 "$(req 82 /f)") $(h2f 3 0 5 "00000008")"
hseed goaway "00 80 80 $get $(h2f 7 0 0 "00000000 00000000") $(h2f 1 5 3 "$(req 82 /w)")"
hseed continuation "00 80 80 $(h2f 1 1 1 "82 86") $(h2f 9 0 1 "04$(hs /w)") $(h2f 9 4 1 "41$(hs h)")"
hseed raw "02 40 80 $(sx $'\r\nSM\r\n\r\n') $(h2f 4 0 0 "") $get"
hseed raw-bad-magic "02 40 80 $(sx $'\r\nXX\r\n\r\n') $(h2f 4 0 0 "") $get"
hseed trailers "01 80 80 $(h2f 1 4 1 "$(req 83 /s)") $(h2f 0 0 1 "$(sx ab)") $(h2f 1 5 1 "$(field x-t 1)") \
  $(h2f 1 4 3 "$(req 83 /p)") $(h2f 0 0 3 "$(sx cd)") $(h2f 1 5 3 "$(field x-t 2)")"
hseed padded "00 80 80 $(h2f 1 45 1 "02 00000000 10 $(req 82 /a) 0000") $(h2f 2 0 3 "00000001 20") \
  $(h2f 1 4 5 "$(req 83 /p)") $(h2f 0 9 5 "03 $(sx abc) 000000")"
hseed later "00 86 ff $(h2f 1 5 1 "$(req 82 /d)") $(h2f 1 5 3 "$(req 82 /d?x)") $(h2f 3 0 3 "00000008") \
  $(h2f 1 5 5 "$(method HEAD) 86 04$(hs /d) be")"
hseed table-size "00 80 80 $(h2f 4 0 0 "0001 00000000") $get $(h2f 1 5 3 "$(req 82 /w)") $(h2f 4 1 0 "")"
hseed head "01 80 80 $(h2f 1 5 1 "$(method HEAD) 86 04$(hs /s) 41$(hs h)") $(h2f 1 5 3 "$(method HEAD) 86 04$(hs /w) be") \
  $(h2f 1 5 5 "$(method OPTIONS) 86 04$(hs /n) be") $(h2f 1 5 7 "$(method DELETE) 86 04$(hs /x?q=%20) be")"

# HTTP/2 client seeds (fuzz_h2_client.c): byte 0 the mode (bit 0 the
# requests before attach, bit 1 the first piece in the socket's buffer
# before attach, bit 2 a third stream with a 70000-byte body, bit 3
# stream 3 cancelled, bit 4 a late request, bit 5 a task in st:wait on
# stream 1), bytes 1 and 2 split points, then what the server
# sends: its SETTINGS first. HPACK: 88 :status 200, 89 204, 8d 404,
# 08 a :status literal, 00 a new name.
corpus=$root/build-fuzz/corpus-h2_client
mkdir -p "$corpus"
settings=$(h2f 4 0 0 "0003 00000064")
ack=$(h2f 4 1 0 "")
ok1="$(h2f 1 4 1 "88 $(field content-length 5) $(field x-a b)") $(h2f 0 1 1 "$(sx hello)")"
hseed ok "00 80 c0 $settings $ack $ok1 $(h2f 1 5 3 "8d")"
hseed ok-early "03 40 c0 $settings $ack $ok1 $(h2f 1 4 3 "88") $(h2f 0 0 3 "$(sx part1)") $(h2f 0 1 3 "$(sx part2)")"
hseed big "05 40 80 $settings $ack $(h2f 8 0 0 "00020000") $(h2f 8 0 5 "00020000") $ok1 $(h2f 1 5 3 "89") \
  $(h2f 1 4 5 "88 $(field content-length 3)") $(h2f 0 1 5 "$(sx big)")"
hseed interim "00 80 80 $settings $(h2f 1 4 1 "08$(hs 100)") $ok1 $(h2f 1 4 3 "08$(hs 103) $(field link x)") $(h2f 1 5 3 "88")"
hseed goaway "00 80 80 $settings $(h2f 1 5 1 "88") $(h2f 7 0 0 "00000001 00000000")"
hseed reset "00 80 80 $settings $(h2f 3 0 1 "00000007") $(h2f 3 0 3 "00000002")"
hseed http1 "00 80 80 $(sx $'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')"
hseed trailers "00 80 80 $settings $(h2f 1 4 1 "88") $(h2f 0 0 1 "$(sx a)") $(h2f 1 5 1 "$(field x-t 1)") $(h2f 1 5 3 "88")"
hseed length-mismatch "00 80 80 $settings $(h2f 1 4 1 "88 $(field content-length 10)") $(h2f 0 1 1 "$(sx abc)") $(h2f 1 5 3 "88")"
hseed cancel "08 40 c0 $settings $(h2f 1 4 3 "88") $(h2f 0 0 3 "$(sx x)") $ok1"
hseed one-stream "00 60 a0 $(h2f 4 0 0 "0003 00000001 0004 00000000 0001 00000000") $(h2f 6 0 0 "0001020304050607") \
  $(h2f 1 4 1 "88") $(h2f 8 0 0 "00000010") $(h2f 0 1 1 "$(sx done)") $(h2f 1 5 3 "88")"
hseed continuation "00 80 80 $settings $(h2f 1 0 1 "88") $(h2f 9 4 1 "$(field x-c 1)") $(h2f 0 1 1 "") $(h2f 1 5 3 "88")"
hseed push "00 80 80 $settings $(h2f 5 4 1 "00000002 82 86 84 41$(hs h)") $ok1"
hseed padded "00 80 80 $settings $(h2f 1 13 1 "02 88 0000") $(h2f 1 4 3 "88") $(h2f 0 9 3 "04 $(sx data) 00000000")"
hseed late-waiter "30 40 a0 $settings $ack $(h2f 1 4 1 "88") $(h2f 0 0 1 "$(sx one)") $(h2f 0 1 1 "$(sx two)") \
  $(h2f 1 5 3 "8d") $(h2f 1 4 5 "88 $(field content-length 4)") $(h2f 0 1 5 "$(sx late)")"
hseed late-goaway "10 40 80 $settings $(h2f 1 5 1 "88") $(h2f 7 0 0 "00000003 00000000") $(h2f 1 5 3 "88")"
hseed big-window-zero "04 40 80 $(h2f 4 0 0 "0004 00000000") $ok1 $(h2f 1 5 3 "88") $(h2f 8 0 5 "00000010")"

# FTP seeds: byte 0 picks the parser (fuzz_ftp.c): 0 reply, 1 PASV/EPSV,
# 2 LIST line, 3 MLSD line, 4 a server path (cwd NUL argument).
corpus=$root/build-fuzz/corpus-ftp
mkdir -p "$corpus"
seed reply '\x00220-Welcome\r\n'
seed reply-end '\x00226 Transfer complete.'
seed pasv '\x01227 Entering Passive Mode (127,0,0,1,195,80).'
seed epsv '\x01229 Entering Extended Passive Mode (|||50000|)'
seed unix '\x02drwxr-xr-x   2 owner    group        4096 Nov 26 04:25 sub'
seed unix-old '\x02-rw-r--r-- 1 ftp ftp 1234 Jan  3  2019 old file.txt'
seed unix-link '\x02lrwxrwxrwx 1 ftp ftp 7 Nov 26 04:25 link -> target'
seed dos '\x0211-26-26  04:25AM       <DIR>          dir name'
seed dos-file '\x0201-02-2019  11:59PM              1234 a.txt'
seed mlsd '\x03type=file;size=12;modify=20261126042500;perm=r; hello.txt'
seed path '\x04/sub\x00../../etc/./passwd'
# RESP seeds: byte 0 seeds the split points (fuzz_resp.c), then replies
# as a server sends them: each type, nil bulk and nil array, binary bulk
# strings, nested arrays with an error inside (EXEC's), a pipeline's
# stream, arrays one level past the depth limit, and a few malformed ones.
corpus=$root/build-fuzz/corpus-resp
mkdir -p "$corpus"
seed simple '\x07+OK\r\n-ERR unknown command\r\n:42\r\n:-9223372036854775808\r\n'
seed bulk '\x11$5\r\nhello\r\n$0\r\n\r\n$-1\r\n$6\r\na\x00\r\nb\r\r\n'
seed arrays '\x23*3\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n-WRONGTYPE Operation\r\n*0\r\n*-1\r\n'
seed hgetall '\x05*4\r\n$4\r\nname\r\n$3\r\nana\r\n$3\r\nage\r\n$2\r\n42\r\n'
seed pipeline '\x42:1\r\n:2\r\n-WRONGTYPE Operation against a key\r\n$1\r\n3\r\n+QUEUED\r\n*2\r\n:4\r\n$1\r\nx\r\n'
seed deep '\x09*1\r\n*1\r\n*1\r\n*1\r\n*2\r\n+a\r\n*1\r\n:7\r\n'
seed nested-65 "\x03$(printf '*1\\r\\n%.0s' $(seq 65)):1\r\n"
seed huge '\x01$536870913\r\nx\r\n*16777217\r\n'
seed bad '\x02+OK\r\n$3\r\nabcd\r\n:12a\r\n%1\r\n'
# WebSocket frame seeds: a split byte, then frames (RFC 6455 5.7's examples:
# "Hello" unmasked and masked, a fragmented text, a ping, a 256-byte binary).
corpus=$root/build-fuzz/corpus-ws_frame
mkdir -p "$corpus"
printf '\x03\x81\x05Hello' >"$corpus/seed-text"
printf '\x05\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58' >"$corpus/seed-masked"
printf '\x02\x01\x03Hel\x80\x02lo' >"$corpus/seed-fragments"
printf '\x01\x89\x05\x01\x02\x03\x04IfmmF' >"$corpus/seed-ping"
{ printf '\x07\x82\x7e\x01\x00'; head -c 256 /dev/zero; } >"$corpus/seed-binary-256"
printf '\x04\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5' >"$corpus/seed-utf8"

# Handshake seeds: each input is read as a request, as an answer and as an
# extensions value (fuzz_ws_handshake.c). RFC 6455's example request, one
# with another version, one offering deflate with its fields repeated (so
# they are joined), a 101 answer to RFC 6455's key (the target's fixed
# key) with deflate terms, and extension values both sides read.
corpus=$root/build-fuzz/corpus-ws_handshake
mkdir -p "$corpus"
printf 'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n' >"$corpus/seed-rfc"
printf 'permessage-deflate; client_max_window_bits, permessage-deflate; server_no_context_takeover; server_max_window_bits=10' >"$corpus/seed-extensions"
printf 'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 8\r\n\r\n' >"$corpus/seed-version"
printf 'GET /ws?x=1 HTTP/1.1\r\nHost: h:80\r\nConnection: keep-alive\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_max_window_bits="12"; client_max_window_bits\r\n\r\n' >"$corpus/seed-deflate"
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=11\r\n\r\n' >"$corpus/seed-101"
printf 'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n' >"$corpus/seed-426"
printf 'permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=15; server_no_context_takeover; client_no_context_takeover' >"$corpus/seed-extensions-8"
printf 'permessage-deflate; client_no_context_takeover; client_max_window_bits=9' >"$corpus/seed-extensions-answer"

# JSON seeds: documents of each kind of value, escapes and numbers at
# their edges, nesting to the limit, and a few near misses (printf %b
# reads \\ as one backslash, so \\u is the text's \u).
corpus=$root/build-fuzz/corpus-json
mkdir -p "$corpus"
seed object '{"users":[{"name":"ana","id":1,"score":2.5,"tags":[],"meta":{}},{"name":"b\\u00e9","id":-2,"ok":false,"x":null}]}'
seed numbers '[0,-0,1,-1,9007199254740993,9223372036854775807,-9223372036854775808,9223372036854775808,1.0,0.1,1e300,-2.5E-3,1e-400]'
seed strings '["","\\"\\\\\\/\\b\\f\\n\\r\\t","\\u0000\\u001f\\u00e9\\u20ac\\ud83d\\ude00","\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"]'
seed whitespace ' \t\r\n{ "a" : [ 1 , { } , [ ] ] } \n'
seed deep "$(printf '[%.0s' $(seq 200))$(printf ']%.0s' $(seq 200))"
seed too-deep "$(printf '{"a":%.0s' $(seq 201))1$(printf '}%.0s' $(seq 201))"
seed lone-surrogate '["\\ud800","\\udc00x"]'
seed bad-numbers '[01,+1,.5,1.,0x1f,-]'
seed duplicate '{"a":1,"a":[true]}'

# Metrics seeds: a scraper's request, the other answers' requests, and
# strings with what JSON must escape or cannot hold (bytes that are not
# UTF-8, a character cut at the end).
corpus=$root/build-fuzz/corpus-metrics
mkdir -p "$corpus"
seed scrape 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9145\r\nAccept: text/plain\r\n\r\n'
seed head 'HEAD /metrics?x=1 HTTP/1.0\n\n'
seed post 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n'
seed other 'GET / HTTP/1.1\r\n\r\n'
seed bad-version 'GET /metrics HTTP/2.0\r\n\r\n'
seed bytes 'boom \xff\xfe "quoted" \\ \t\x01 \xc3\xa9 \xf0\x9f\x98'

run datastream
run discovery
run config
run ftp
run resp
run http
# Room for heads past the server's maxHeader (4096) and bodies past its
# maxBody (8192); under the 64 KiB it reads at once.
run http_server -max_len=16384
run ws_frame
run ws_handshake
run json -dict="$root/fuzz/json.dict"
run metrics
# HTTP/2: room for header blocks past maxHeader (2048) and bodies past
# maxBody (4096), and for the client's 70000-byte request's windows.
run h2_server -max_len=16384 -dict="$root/fuzz/h2.dict"
run h2_client -max_len=16384 -dict="$root/fuzz/h2.dict"
