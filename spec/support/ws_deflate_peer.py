#!/usr/bin/python3
"""A raw permessage-deflate (RFC 7692) client for
spec/integration/ws_deflate_conformance_spec.lua: Lua has no zlib, and the
websockets library would hide the frames, so this does the whole
conversation by hand (socket, frames, zlib's raw DEFLATE) from a case
description in its arguments and prints what a client sees, one fact a
line, for the spec to assert on.

  ws_deflate_peer.py PORT OFFER STEP...

OFFER is the Sec-WebSocket-Extensions value to send ("-": none). Each STEP
is one argument:

  text DATA [OPTION...]     a text (or binary) message, compressed with the
  binary DATA [OPTION...]   client's DEFLATE stream, RSV1 on its first frame
  frame OPCODE RSV HEX [nofin]
                            one raw frame, payload as hex ("-": none)

DATA: random:N (random bytes; for text, random UTF-8), words:N
(compressible text), twice:N (a random block of N/2 bytes, twice: its
second half can only be matched from N/2 bytes back), zeros:N, hex:HEX.
OPTIONs: frames=K (split the compressed payload into K frames), rsv=A,B,..
(the frames' RSV bits instead of 4,0,0..), plain (not compressed), final
(the DEFLATE stream ended with a BFINAL block, as RFC 7692 7.2.3.4 allows;
the next message starts a new stream), fresh (a new stream for this one).

After the steps it sends a close with 1000 and reads until the server ends
the TCP connection. It prints

  status CODE / extensions VALUE (or -)     the server's 101 and its answer
  sent KIND LEN DIGEST                      each message step, as sent
  got KIND LEN DIGEST / rsv R,R..           each message back, inflated as
                                            the answer says (its window
                                            bits, context takeover); the
                                            RSV bits of each of its frames
  got KIND error WHY                        a reply that does not inflate
  control OPCODE                            a pong (or any control frame)
  close CODE / eof                          the server's close; the end

DIGEST is the payload in hex up to 32 bytes, else the start of its SHA-1.

The frames go from a thread while the main one reads, so a server that
echoes while it receives never waits on us."""
import base64
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import zlib

TRAILER = b"\x00\x00\xff\xff"
OPCODES = {"text": 1, "binary": 2}
KINDS = {1: "text", 2: "binary"}
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def data(spec, kind):
    how, _, arg = spec.partition(":")
    if how == "hex":
        return bytes.fromhex(arg)
    n = int(arg)
    rnd = random.Random(n)   # the same bytes on every run
    if how == "zeros":
        return bytes(n)
    if how == "words":
        words = b"the quick brown fox jumps over the lazy dog while permessage deflate packs it "
        return (words * (n // len(words) + 1))[:n]
    if how == "twice":
        return data("random:%d" % (n // 2), kind) * 2
    if kind == "text":   # random characters of one to four bytes, cut on a character
        chars = "aZ9 ~é¢€κόσμε𝄞中"
        out = bytearray()
        while len(out) < n:
            c = rnd.choice(chars).encode()
            out += c if len(out) + len(c) <= n else b"x" * (n - len(out))
        return bytes(out)
    return rnd.randbytes(n)


def describe(kind, payload):
    digest = payload.hex() if len(payload) <= 32 else hashlib.sha1(payload).hexdigest()[:12]
    return "%s %d %s" % (kind, len(payload), digest)


def params(value):
    """The first extension of an answer: { name: value or True }."""
    out = {}
    for part in (value or "").split(",")[0].split(";")[1:]:
        k, _, v = part.strip().partition("=")
        out[k.strip()] = v.strip().strip('"') or True
    return out


def frame(opcode, payload, fin=True, rsv=0):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


def bits(value):
    """Window bits from a parameter; 15 when absent or not a number zlib takes."""
    return int(value) if isinstance(value, str) and value.isdigit() and 9 <= int(value) <= 15 else 15


class Client:
    """The client's DEFLATE stream, within the window it offered (7.1.2.2:
    a client_max_window_bits value limits the client itself) or the one the
    answer set. zlib has no 8-bit raw window, so 8 compresses with 9: our
    server inflates with 15 bits whatever was offered."""

    def __init__(self, offer, answer):
        p = params(answer)
        offered = params(offer).get("client_max_window_bits")
        self.bits = bits(p.get("client_max_window_bits") or ("9" if offered == "8" else offered))
        self.reset = "client_no_context_takeover" in p
        self.compressor = None

    def compress(self, payload, final=False, fresh=False):
        if fresh or self.reset or not self.compressor:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, -self.bits)
        c = self.compressor
        if final:   # a BFINAL block, the empty stored block after it, its 4 bytes cut (7.2.3.4)
            self.compressor = None
            return c.compress(payload) + c.flush(zlib.Z_FINISH) + b"\x00"
        out = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TRAILER)
        return out[:-4]

    def step(self, words):
        """The frames of one step, and the line saying what was sent."""
        if words[0] == "frame":
            payload = b"" if words[3] == "-" else bytes.fromhex(words[3])
            return frame(int(words[1]), payload, words[4:] != ["nofin"], int(words[2])), None
        kind, payload = words[0], data(words[1], words[0])
        opts = dict(w.partition("=")[::2] for w in words[2:])
        body = payload if "plain" in opts else self.compress(payload, "final" in opts, "fresh" in opts)
        k = int(opts.get("frames") or 1)
        cut = [body[len(body) * i // k:len(body) * (i + 1) // k] for i in range(k)]
        rsv = [int(r) for r in opts["rsv"].split(",")] if opts.get("rsv") else \
            [0 if "plain" in opts or i else 4 for i in range(k)]
        out = b"".join(frame(OPCODES[kind] if i == 0 else 0, part, i == k - 1, rsv[i]) for i, part in enumerate(cut))
        return out, "sent " + describe(kind, payload)


class Reader:
    """The server's frames into messages, inflated as its answer says."""

    def __init__(self, answer):
        p = params(answer)
        self.bits = bits(p.get("server_max_window_bits"))
        self.reset = "server_no_context_takeover" in p
        self.inflater = None
        self.parts, self.rsv = [], []

    def message(self, opcode, payload):
        kind = KINDS[opcode]
        if self.rsv[0] & 4:
            try:
                if self.reset or not self.inflater:
                    self.inflater = zlib.decompressobj(-self.bits)
                payload = self.inflater.decompress(payload + TRAILER)
            except zlib.error as e:
                print("got", kind, "error", e)
                return
        print("got", describe(kind, payload))
        print("rsv", ",".join(str(r) for r in self.rsv))

    def frames(self, buf):
        """Takes the whole frames off buf; returns the rest and whether a close came."""
        while len(buf) >= 2:
            b1, b2 = buf[0], buf[1]
            n, at = b2 & 0x7f, 2
            if n == 126:
                n, at = struct.unpack(">H", buf[2:4])[0], 4
            elif n == 127:
                n, at = struct.unpack(">Q", buf[2:10])[0], 10
            if len(buf) < at + n:
                break
            opcode, payload, buf = b1 & 0x0f, buf[at:at + n], buf[at + n:]
            if opcode == 8:
                print("close", struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005)
                return buf, True
            if opcode >= 8:
                print("control", opcode)
                continue
            if opcode:
                self.first, self.parts, self.rsv = opcode, [], []
            self.parts.append(payload)
            self.rsv.append(b1 >> 4 & 7)
            if b1 & 0x80:
                self.message(self.first, b"".join(self.parts))
        return buf, False


def main(port, offer, *steps):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
              + (b"" if offer == "-" else b"Sec-WebSocket-Extensions: " + offer.encode() + b"\r\n") + b"\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = s.recv(65536)
        if not more:
            break
        buf += more
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    print("status", lines[0].split(" ")[1] if " " in lines[0] else "none")
    if fields.get("sec-websocket-accept") != base64.b64encode(hashlib.sha1(key + GUID).digest()).decode():
        print("bad accept")
    answer = fields.get("sec-websocket-extensions")
    print("extensions", answer or "-")
    client, reader = Client(offer, answer), Reader(answer)
    out = []
    for st in steps:
        f, line = client.step(st.split(" "))
        out.append(f)
        if line:
            print(line)
    out.append(frame(8, struct.pack(">H", 1000)))

    def send():
        try:
            s.sendall(b"".join(out))
        except OSError:
            pass   # the server closed first (a protocol error): what it sent is still read
    sender = threading.Thread(target=send)
    sender.start()
    try:
        closed = False
        while not closed:
            buf, closed = reader.frames(buf)
            more = b"" if closed else s.recv(1 << 20)
            if not (closed or more):
                break   # the end without a close frame: no "close" line
            buf += more
        while s.recv(1 << 20):
            pass   # what follows a close does not count; the end does
        print("eof")
    except OSError as e:
        print("error", e)
    sender.join()


if __name__ == "__main__":
    main(*sys.argv[1:])
