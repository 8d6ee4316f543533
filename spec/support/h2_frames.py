#!/usr/bin/python3
"""spec/support/h2_frames.py PORT CASE: a raw HTTP/2 client for the
conformance spec (spec/integration/http2_conformance_spec.lua), after
h2spec's sections (generic, http2, hpack).

Frames are packed here with struct, header blocks encoded with hpack, and
nothing checks what is sent: a case can send any frame, valid or not. No
connection state machine runs on our side either; what the server sends
is parsed and recorded as it comes.

Each case (the table CASES below, one entry per h2spec test case, with
h2spec's wording, and some more of RFC 9113 / RFC 7541 that h2spec has no
case for, marked "x") connects on its own, makes h2spec's handshake when
h2spec does (the preface and SETTINGS(INITIAL_WINDOW_SIZE=65535), the
server's SETTINGS read and ACKed, ours ACKed by it), sends its frames and
reads what comes back until what h2spec would wait for came (a GOAWAY, a
RST_STREAM, a PING ACK, the response's end...), the server closes, or 1 s
passes with nothing more. The verdict is the spec's: this prints one JSON
object of what the server did:

  id, desc        the case
  frames          the frames received after the case's last frames:
                  {type, flags, stream, length} and, by type, error (GOAWAY,
                  RST_STREAM: the code's name), last_stream, ack, data (PING,
                  hex), status (HEADERS: :status), end_stream, increment
  before          the frames received after its earlier steps (a case that
                  waits for a response before it sends the offending frame)
  closed          whether the server closed the connection
  unframed        bytes left at the close that are no whole frame (an
                  HTTP/1.1 answer, say): {bytes, start}. h2spec's framer
                  fails there (ErrUnexpectedEOF), so its verifiers do not
                  count that close as "Connection closed"
  status, body    the response on the case's stream (stream 1), if any
  responses       every stream's: {"N": {status, body, ended}}
  error           set when the case could not run (no handshake)

`h2_frames.py list` prints the table: [{id, desc}] in order.
"""
import json
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 6) and flags.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
TYPE_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
              "WINDOW_UPDATE", "CONTINUATION"]
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Error codes (RFC 9113 7).
ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
          "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = 5, 6, 7, 8, 9

# SETTINGS parameters (RFC 9113 6.5.2).
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, \
    MAX_HEADER_LIST_SIZE = range(1, 7)

DEFAULT_WINDOW = 65535
QUIET = 1.0        # s of silence after which a case stops reading
CLOSE_GRACE = 0.5  # s to wait for the close that follows a GOAWAY


def error_name(code):
    return ERRORS[code] if code < len(ERRORS) else "0x%x" % code


# ---- frames, packed by hand: nothing checks them ----

def frame(t, flags, sid, payload=b"", reserved=False):
    """A frame: 24-bit length, type, flags, R bit and 31-bit stream id."""
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", t, flags,
                                                             (sid & 0x7fffffff) | (0x80000000 if reserved else 0)) \
        + payload


def data(sid, payload, end_stream=False, pad=None):
    flags = END_STREAM if end_stream else 0
    if pad is not None:
        return frame(DATA, flags | PADDED, sid, bytes([len(pad)]) + payload + pad)
    return frame(DATA, flags, sid, payload)


def priority_fields(dep, weight, exclusive=False):
    """Stream dependency (E bit) and weight as sent (the wire's 0-255)."""
    return struct.pack(">IB", dep | (0x80000000 if exclusive else 0), weight)


def headers(sid, block, end_stream=False, end_headers=True, pad=None, priority=None):
    """priority: (dependency, weight on the wire, exclusive)."""
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    payload = block
    if priority is not None:
        flags |= PRIORITY_FLAG
        payload = priority_fields(*priority) + payload
    if pad is not None:
        flags |= PADDED
        payload = bytes([len(pad)]) + payload + pad
    return frame(HEADERS, flags, sid, payload)


def priority(sid, dep, weight, exclusive=False):
    return frame(PRIORITY, 0, sid, priority_fields(dep, weight, exclusive))


def rst_stream(sid, code):
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def ping(payload=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, payload)


def goaway(last, code, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack(">II", last, code) + debug)


def window_update(sid, increment):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", increment))


def continuation(sid, block, end_headers=True):
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, sid, block)


def push_promise(sid, promised, block, end_headers=True):
    return frame(PUSH_PROMISE, END_HEADERS if end_headers else 0, sid, struct.pack(">I", promised) + block)


def dummy(n):
    return "x" * n


H2SPEC_PING = b"h2spec\0\0"
MAX_HEADER_LEN = 4000   # h2spec's --max-header-length


# ---- one connection ----

class Conn:
    def __init__(self, port):
        self.port = port
        self.authority = "127.0.0.1:%d" % port
        self.s = socket.create_connection(("127.0.0.1", port), timeout=QUIET)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.dec.max_header_list_size = 1 << 20
        self.inbuf = b""
        self.closed = False
        self.frames = []       # received since the last send
        self.before = []       # received before that
        self.server_settings = {}
        self.responses = {}    # stream -> {status, body, ended}
        self.block = b""       # a response header block across CONTINUATION
        self.windows = {0: DEFAULT_WINDOW}   # ours, for WINDOW_UPDATE as h2spec sends them

    # -- what a case calls --

    def common(self, method="GET", path="/"):
        """h2spec's CommonHeaders: :method, :scheme, :path, :authority."""
        return [(":method", method), (":scheme", "http"), (":path", path), (":authority", self.authority)]

    def encode(self, fields):
        """A header block from our encoder (its dynamic table goes on)."""
        return self.enc.encode(fields)

    def dummy_headers(self, n):
        return [("x-dummy%d" % i, dummy(MAX_HEADER_LEN)) for i in range(n)]

    def send(self, *frames):
        """Sends frames (bytes) at once; what came before them is kept apart."""
        self.before += self.frames
        self.frames = []
        try:
            self.s.sendall(b"".join(frames))
        except OSError:
            self.closed = True

    def handshake(self):
        """h2spec's: preface, SETTINGS(INITIAL_WINDOW_SIZE), then the
        server's SETTINGS (ACKed) and its ACK of ours."""
        self.send(PREFACE + settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)))
        local = remote = False
        deadline = time.monotonic() + 2
        while not (local and remote):
            f = self.read_frame(deadline - time.monotonic())
            if f is None:
                raise HandshakeError("no handshake: closed=%s frames=%s" % (self.closed, self.frames))
            if f["type"] == "SETTINGS":
                if f["ack"]:
                    local = True
                else:
                    remote = True
                    self.server_settings.update(f["settings"])
                    self.send(settings(ack=True))
        self.before, self.frames = [], []

    def wait(self, until=None):
        """Reads until `until` (see stop()) holds for a frame, the server
        closes, or QUIET s pass with nothing. After a GOAWAY, waits up to
        CLOSE_GRACE for the close, so that `closed` says whether it came."""
        while not self.closed:
            f = self.read_frame(QUIET)
            if f is None:
                return
            if f["type"] == "GOAWAY":
                deadline = time.monotonic() + CLOSE_GRACE
                while not self.closed and self.read_frame(deadline - time.monotonic()) is not None:
                    pass
                return
            if until and stop(until, f):
                return

    # -- reading --

    def read_frame(self, timeout):
        """The next whole frame, recorded; None on close or time-out."""
        while True:
            if len(self.inbuf) >= 9:
                length = int.from_bytes(self.inbuf[0:3], "big")
                if len(self.inbuf) >= 9 + length:
                    raw, self.inbuf = self.inbuf[:9 + length], self.inbuf[9 + length:]
                    f = self.parse(raw)
                    self.frames.append(f)
                    return f
            if self.closed or timeout <= 0:
                return None
            self.s.settimeout(timeout)
            t0 = time.monotonic()
            try:
                got = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError:   # reset
                self.closed = True
                continue
            if not got:
                self.closed = True
                continue
            self.inbuf += got
            timeout -= time.monotonic() - t0

    def parse(self, raw):
        length = int.from_bytes(raw[0:3], "big")
        t, flags = raw[3], raw[4]
        sid = int.from_bytes(raw[5:9], "big") & 0x7fffffff
        p = raw[9:]
        f = {"type": TYPE_NAMES[t] if t < len(TYPE_NAMES) else "0x%x" % t, "flags": flags, "stream": sid,
             "length": length}
        if t == GOAWAY and len(p) >= 8:
            f["last_stream"] = int.from_bytes(p[0:4], "big") & 0x7fffffff
            f["error"] = error_name(int.from_bytes(p[4:8], "big"))
            if len(p) > 8:
                f["debug"] = p[8:].decode("latin-1")
        elif t == RST_STREAM and len(p) >= 4:
            f["error"] = error_name(int.from_bytes(p[0:4], "big"))
        elif t == PING:
            f["ack"] = bool(flags & ACK)
            f["data"] = p.hex()
        elif t == SETTINGS:
            f["ack"] = bool(flags & ACK)
            f["settings"] = {k: v for k, v in (struct.unpack(">HI", p[i:i + 6]) for i in range(0, len(p) - 5, 6))}
        elif t == WINDOW_UPDATE and len(p) >= 4:
            f["increment"] = int.from_bytes(p[0:4], "big") & 0x7fffffff
        elif t in (DATA, HEADERS):
            f["end_stream"] = bool(flags & END_STREAM)
            if flags & PADDED and p:
                p = p[1:len(p) - p[0]]
            r = self.responses.setdefault(sid, {"status": None, "body": "", "ended": False})
            if t == DATA:
                r["body"] += p.decode("latin-1")
                self.consumed(sid, length)
            else:
                if flags & PRIORITY_FLAG:
                    p = p[5:]
                self.header_block(f, r, p, flags & END_HEADERS)
            r["ended"] = r["ended"] or f["end_stream"]
        elif t == CONTINUATION:
            r = self.responses.setdefault(sid, {"status": None, "body": "", "ended": False})
            self.header_block(f, r, p, flags & END_HEADERS)
        return f

    def header_block(self, f, r, p, end):
        self.block += p
        if not end:
            return
        block, self.block = self.block, b""
        try:
            fields = self.dec.decode(block)
        except Exception as e:   # the server's own HPACK gone wrong: no :status, the verdict says so
            f["decode_error"] = str(e)
            return
        for name, value in fields:
            if name == ":status":
                f["status"] = int(value)
                if r["status"] is None:
                    r["status"] = int(value)

    def consumed(self, sid, length):
        """As h2spec does: WINDOW_UPDATE when a window is spent."""
        if length == 0:
            return
        out = b""
        for w in (sid, 0):
            self.windows[w] = self.windows.get(w, DEFAULT_WINDOW) - length
            if self.windows[w] <= 0:
                incr = DEFAULT_WINDOW - self.windows[w]
                out += window_update(w, incr)
                self.windows[w] += incr
        if out:
            try:
                self.s.sendall(out)
            except OSError:
                pass

    def result(self):
        r = self.responses.get(1, {})
        out = {}
        if self.closed and self.inbuf:   # what h2spec's framer reads as an error, not as the close
            out["unframed"] = {"bytes": len(self.inbuf), "start": self.inbuf[:48].decode("latin-1")}
        return {**out, "frames": self.frames, "before": self.before, "closed": self.closed,
                "status": r.get("status"), "body": r.get("body"), "ended": r.get("ended", False),
                "responses": {str(sid): v for sid, v in self.responses.items()}}


class HandshakeError(Exception):
    pass


def stop(until, f):
    """Whether frame f is what a case waits for:
      "goaway"        (a GOAWAY always stops, see Conn.wait) only that
      "error"         a RST_STREAM
      "end:N"         stream N's end: END_STREAM, or RST_STREAM on it
      "ping:HEX"      a PING ACK with that payload
      "ping"          any PING
      "settings-ack"  a SETTINGS ACK
      "data:N"        a DATA frame on stream N
      "headers:N"     a HEADERS frame on stream N"""
    kind, _, arg = until.partition(":")
    t = f["type"]
    if kind == "error":
        return t == "RST_STREAM"
    if kind == "end":
        return f["stream"] == int(arg) and (f.get("end_stream") or t == "RST_STREAM")
    if kind == "ping":
        return t == "PING" and (not arg or (f["ack"] and f["data"] == arg))
    if kind == "settings-ack":
        return t == "SETTINGS" and f["ack"]
    if kind == "data":
        return t == "DATA" and f["stream"] == int(arg)
    if kind == "headers":
        return t == "HEADERS" and f["stream"] == int(arg)
    return False


# What each of h2spec's verifiers waits for (spec/verifier.go).
CONN_ERROR = "goaway"           # VerifyConnectionError, VerifyConnectionClose
STREAM_ERROR = "error"          # VerifyStreamError
RESPONSE = "end:1"              # VerifyHeadersFrame(1), VerifyStreamClose
PING_ACK = "ping:" + (b"\0" * 8).hex()
H2SPEC_PING_ACK = "ping:" + H2SPEC_PING.hex()


# ---- the cases ----

CASES = []   # (id, desc, run(conn))


def case(cid, desc):
    def add(fn):
        CASES.append((cid, desc, fn))
        return fn
    return add


def get(c, end_stream=True, end_headers=True, sid=1, method="GET", extra=(), **kw):
    """A HEADERS frame of h2spec's common request (plus fields)."""
    return headers(sid, c.encode(c.common(method) + list(extra)), end_stream=end_stream, end_headers=end_headers,
                   **kw)


def post(c, sid=1, extra=(), end_headers=True):
    return get(c, end_stream=False, sid=sid, method="POST", extra=extra, end_headers=end_headers)


def bad_request(fields, end_stream=True):
    """A case whose request's HEADERS carry `fields` (a function of the
    connection giving the list), waiting for a stream error."""
    def run(c):
        c.handshake()
        c.send(headers(1, c.encode(fields(c)), end_stream=end_stream))
        c.wait(STREAM_ERROR)
    return run


def good_request(fields):
    def run(c):
        c.handshake()
        c.send(headers(1, c.encode(fields(c)), end_stream=True))
        c.wait(RESPONSE)
    return run


def with_block(suffix=b"", prefix=b"", until=CONN_ERROR):
    """h2spec's HPACK cases: the common block with bytes around it."""
    def run(c):
        c.handshake()
        c.send(headers(1, prefix + c.encode(c.common()) + suffix, end_stream=True))
        c.wait(until)
    return run


def reg(cid, desc, fn):
    CASES.append((cid, desc, fn))


# ======== generic: HTTP/2 as a whole ========

@case("generic/1/1", "Sends a client connection preface")
def _(c):
    c.send(PREFACE + settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)))
    c.read_frame(QUIET)   # the first frame only


@case("generic/2/1", "Sends a PRIORITY frame on idle stream")
def _(c):
    c.handshake()
    c.send(priority(1, 0, 255), ping())
    c.wait(PING_ACK)


@case("generic/2/2", "Sends a WINDOW_UPDATE frame on half-closed (remote) stream")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 0)), get(c), window_update(1, 1))
    c.wait("data:1")


@case("generic/2/3", "Sends a PRIORITY frame on half-closed (remote) stream")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 0)), get(c), priority(1, 0, 255), window_update(1, 1))
    c.wait("data:1")


@case("generic/2/4", "Sends a RST_STREAM frame on half-closed (remote) stream")
def _(c):
    c.handshake()
    c.send(get(c), rst_stream(1, CANCEL), ping())
    c.wait(PING_ACK)


@case("generic/2/5", "Sends a PRIORITY frame on closed stream")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(priority(1, 0, 255), ping())
    c.wait(PING_ACK)


@case("generic/3.1/1", "Sends a DATA frame")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test", True))
    c.wait(RESPONSE)


@case("generic/3.1/2", "Sends multiple DATA frames")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test"), data(1, b"test", True))
    c.wait(RESPONSE)


@case("generic/3.1/3", "Sends a DATA frame with padding")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test", True, pad=b"\0" * 5))
    c.wait(RESPONSE)


@case("generic/3.2/1", "Sends a HEADERS frame")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)


@case("generic/3.2/2", "Sends a HEADERS frame with padding")
def _(c):
    c.handshake()
    c.send(get(c, pad=b"\0" * 8))
    c.wait(RESPONSE)


@case("generic/3.2/3", "Sends a HEADERS frame with priority")
def _(c):
    c.handshake()
    c.send(get(c, priority=(0, 255, False)))
    c.wait(RESPONSE)


@case("generic/3.3/1", "Sends a PRIORITY frame with priority 1")
def _(c):
    c.handshake()
    c.send(priority(1, 0, 0), get(c))
    c.wait(RESPONSE)


@case("generic/3.3/2", "Sends a PRIORITY frame with priority 256")
def _(c):
    c.handshake()
    c.send(priority(1, 0, 255), get(c))
    c.wait(RESPONSE)


@case("generic/3.3/3", "Sends a PRIORITY frame with stream dependency")
def _(c):
    c.handshake()
    c.send(priority(3, 1, 0), get(c))
    c.wait(RESPONSE)


@case("generic/3.3/4", "Sends a PRIORITY frame with exclusive")
def _(c):
    c.handshake()
    c.send(priority(1, 0, 0, True), get(c))
    c.wait(RESPONSE)


@case("generic/3.3/5", "Sends a PRIORITY frame for an idle stream, then send a HEADER frame for a lower stream ID")
def _(c):
    c.handshake()
    c.send(priority(3, 0, 255), get(c))
    c.wait(RESPONSE)


@case("generic/3.4/1", "Sends a RST_STREAM frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), rst_stream(1, CANCEL), ping())
    c.wait(PING_ACK)


@case("generic/3.5/1", "Sends a SETTINGS frame")
def _(c):
    c.handshake()
    c.send(settings((HEADER_TABLE_SIZE, 4096), (ENABLE_PUSH, 1), (MAX_CONCURRENT_STREAMS, 100),
                    (INITIAL_WINDOW_SIZE, 65535), (MAX_FRAME_SIZE, 16384), (MAX_HEADER_LIST_SIZE, 100)))
    c.wait("settings-ack")


@case("generic/3.7/1", "Sends a PING frame")
def _(c):
    c.handshake()
    c.send(ping(H2SPEC_PING))
    c.wait(H2SPEC_PING_ACK)


@case("generic/3.8/1", "Sends a GOAWAY frame")
def _(c):
    c.handshake()
    c.send(goaway(0, NO_ERROR, b"h2spec"), ping(H2SPEC_PING))
    c.wait(H2SPEC_PING_ACK)


@case("generic/3.9/1", "Sends a WINDOW_UPDATE frame with stream ID 0")
def _(c):
    c.handshake()
    c.send(window_update(0, 1), ping())
    c.wait(PING_ACK)


@case("generic/3.9/2", "Sends a WINDOW_UPDATE frame with stream ID 1")
def _(c):
    c.handshake()
    c.send(get(c), window_update(1, 1))
    c.wait(RESPONSE)


@case("generic/3.10/1", "Sends a CONTINUATION frame")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(headers(1, block[:5], end_stream=True, end_headers=False), continuation(1, block[5:]))
    c.wait(RESPONSE)


@case("generic/3.10/2", "Sends multiple CONTINUATION frames")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(headers(1, block[:5], end_stream=True, end_headers=False), continuation(1, block[5:10], False),
           continuation(1, block[10:]))
    c.wait(RESPONSE)


@case("generic/4/1", "Sends a GET request")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)


@case("generic/4/2", "Sends a HEAD request")
def _(c):
    c.handshake()
    c.send(get(c, method="HEAD"))
    c.wait(RESPONSE)


@case("generic/4/3", "Sends a POST request")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test", True))
    c.wait(RESPONSE)


@case("generic/4/4", "Sends a POST request with trailers")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("trailer", "x-test")]), data(1, b"test"),
           headers(1, c.encode([("x-test", "ok")]), end_stream=True))
    c.wait(RESPONSE)


GENERIC_HPACK = [
    (b"\xba", "Sends a indexed header field representation"),
    (b"\x40\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
     "Sends a literal header field with incremental indexing - indexed name"),
    (b"\x40\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
     "Sends a literal header field with incremental indexing - indexed name (with Huffman coding)"),
    (b"\x40\x06\x78\x2d\x74\x65\x73\x74\x06\x68\x32\x73\x70\x65\x63",
     "Sends a literal header field with incremental indexing - new name"),
    (b"\x40\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
     "Sends a literal header field with incremental indexing - new name (with Huffman coding)"),
    (b"\x00\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
     "Sends a literal header field without indexing - indexed name"),
    (b"\x00\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
     "Sends a literal header field without indexing - indexed name (with Huffman coding)"),
    (b"\x00\x06\x78\x2d\x74\x65\x73\x74\x06\x68\x32\x73\x70\x65\x63",
     "Sends a literal header field without indexing - new name"),
    (b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
     "Sends a literal header field without indexing - new name (huffman encoded)"),
    (b"\x10\x0a\x75\x73\x65\x72\x2d\x61\x67\x65\x6e\x74\x06\x68\x32\x73\x70\x65\x63",
     "Sends a literal header field never indexed - indexed name"),
    (b"\x10\x87\xb5\x05\xb1\x61\xcc\x5a\x93\x84\x9c\x48\xac\xa4",
     "Sends a literal header field never indexed - indexed name (huffman encoded)"),
    (b"\x10\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
     "Sends a literal header field never indexed - new name"),
    (b"\x10\x85\xf2\xb2\x4a\x84\xff\x84\x9c\x48\xac\xa4",
     "Sends a literal header field never indexed - new name (huffman encoded)"),
]
for i, (rep, desc) in enumerate(GENERIC_HPACK):
    reg("generic/5/%d" % (i + 1), desc, with_block(suffix=rep, until=RESPONSE))


@case("generic/5/14", "Sends a dynamic table size update")
def _(c):
    c.handshake()
    c.enc.header_table_size = 128   # the next block starts with the update
    c.send(get(c))
    c.wait(RESPONSE)


reg("generic/5/15", "Sends multiple dynamic table size update", with_block(prefix=b"\x3f\x61\x3f\xe1\x1f",
                                                                            until=RESPONSE))
# h2spec's 5/12 and 5/13 send the same (Huffman-coded) bytes: the plain one.
reg("generic/5/x1", "Sends a literal header field never indexed - new name (without Huffman coding)",
    with_block(suffix=b"\x10\x06x-test\x06h2spec", until=RESPONSE))


# ======== http2: RFC 7540 / RFC 9113 ========

# -- 3.5 HTTP/2 Connection Preface --

@case("3.5/1", "Sends client connection preface")
def _(c):
    c.send(PREFACE + settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)))
    c.read_frame(QUIET)


@case("3.5/2", "Sends invalid connection preface")
def _(c):
    c.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
    c.wait(CONN_ERROR)


@case("3.5/x1", "Sends a connection preface followed by a frame other than SETTINGS (PING)")
def _(c):
    c.send(PREFACE + ping())
    c.wait(CONN_ERROR)


@case("3.5/x2", "Sends the connection preface in pieces, and a request")
def _(c):
    msg = PREFACE + settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW))
    for i in range(0, len(msg), 7):
        c.send(msg[i:i + 7])
        time.sleep(0.01)
    c.send(settings(ack=True), get(c))
    c.wait(RESPONSE)


# -- 4.1 Frame Format --

@case("4.1/1", "Sends a frame with unknown type")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8, ping())
    c.wait(PING_ACK)


@case("4.1/2", "Sends a frame with undefined flag")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x16\x00\x00\x00\x00" + b"\0" * 8)
    c.wait("ping")


@case("4.1/3", "Sends a frame with reserved field bit")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x16\x80\x00\x00\x00" + b"\0" * 8)
    c.wait("ping")


@case("4.1/x1", "Sends a HEADERS frame with the reserved bit of the stream identifier set")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, block, reserved=True))
    c.wait(RESPONSE)


@case("4.1/x2", "Sends a HEADERS frame with undefined flags set (0x02, 0x10, 0x40, 0x80)")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(frame(HEADERS, END_STREAM | END_HEADERS | 0xd2, 1, block))
    c.wait(RESPONSE)


# -- 4.2 Frame Size --

@case("4.2/1", "Sends a DATA frame with 2^14 octets in length")
def _(c):
    c.handshake()
    c.send(post(c), data(1, dummy(16384).encode(), True))
    c.wait(RESPONSE)


@case("4.2/2", "Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.send(post(c), data(1, dummy(16385).encode(), True))
    c.wait(STREAM_ERROR)


@case("4.2/3", "Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.send(headers(1, c.encode(c.common() + c.dummy_headers(5)), end_stream=True))
    c.wait(CONN_ERROR)


@case("4.2/x1", "Sends a CONTINUATION frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(1, c.encode(c.dummy_headers(5))))
    c.wait(CONN_ERROR)


@case("4.2/x2", "Sends a SETTINGS frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.send(settings(*[(HEADER_TABLE_SIZE, 4096)] * 2731))   # 16386 octets
    c.wait(CONN_ERROR)


@case("4.2/x3", "Sends a PING frame that exceeds the SETTINGS_MAX_FRAME_SIZE")
def _(c):
    c.handshake()
    c.send(frame(PING, 0, 0, b"\0" * 16385))
    c.wait(CONN_ERROR)


@case("4.2/x4", "Sends a padded DATA frame too small to hold its Pad Length field")
def _(c):
    c.handshake()
    c.send(post(c), frame(DATA, PADDED | END_STREAM, 1, b""))
    c.wait(STREAM_ERROR)


@case("4.2/x5", "Sends a HEADERS frame with the PRIORITY flag too small to hold the priority fields")
def _(c):
    c.handshake()
    c.send(frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1, b"\0\0\0"))
    c.wait(CONN_ERROR)


# -- 4.3 Header Compression and Decompression --

@case("4.3/1", "Sends invalid header block fragment")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x40")
    c.wait(CONN_ERROR)


@case("4.3/2", "Sends a PRIORITY frame while sending the header blocks")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False, end_headers=False), priority(1, 0, 255),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("4.3/3", "Sends a HEADERS frame to another stream while sending the header blocks")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(headers(1, block, end_headers=False), headers(3, c.encode(c.common()), end_stream=True),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("4.3/x1", "Sends a header block truncated in the middle of a string literal")
def _(c):
    c.handshake()
    c.send(headers(1, c.encode(c.common()) + b"\x00\x06x-te", end_stream=True))
    c.wait(CONN_ERROR)


@case("4.3/x2", "Sends a header block split inside a string literal across HEADERS and CONTINUATION")
def _(c):
    c.handshake()
    block = c.encode(c.common()) + b"\x00\x06x-test\x06h2spec"
    cut = len(block) - 9
    c.send(headers(1, block[:cut], end_stream=True, end_headers=False), continuation(1, block[cut:]))
    c.wait(RESPONSE)


@case("4.3/x3", "Sends two requests whose second header block refers to the dynamic table of the first")
def _(c):
    c.handshake()
    fields = c.common() + [("x-test", "h2spec")]
    c.send(headers(1, c.encode(fields), end_stream=True))
    c.wait(RESPONSE)
    second = c.encode(fields)
    c.send(headers(3, second, end_stream=True))
    c.wait("end:3")


# -- 5.1 Stream States --

@case("5.1/1", "idle: Sends a DATA frame")
def _(c):
    c.handshake()
    c.send(data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("5.1/2", "idle: Sends a RST_STREAM frame")
def _(c):
    c.handshake()
    c.send(rst_stream(1, CANCEL))
    c.wait(CONN_ERROR)


@case("5.1/3", "idle: Sends a WINDOW_UPDATE frame")
def _(c):
    c.handshake()
    c.send(window_update(1, 100))
    c.wait(CONN_ERROR)


@case("5.1/4", "idle: Sends a CONTINUATION frame")
def _(c):
    c.handshake()
    c.send(continuation(1, c.encode(c.common())))
    c.wait(CONN_ERROR)


@case("5.1/5", "half closed (remote): Sends a DATA frame")
def _(c):
    c.handshake()
    c.send(get(c), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("5.1/6", "half closed (remote): Sends a HEADERS frame")
def _(c):
    c.handshake()
    c.send(get(c), get(c))
    c.wait(STREAM_ERROR)


@case("5.1/7", "half closed (remote): Sends a CONTINUATION frame")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(headers(1, block, end_stream=True), continuation(1, block))
    c.wait(STREAM_ERROR)


@case("5.1/8", "closed: Sends a DATA frame after sending RST_STREAM frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), rst_stream(1, CANCEL), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("5.1/9", "closed: Sends a HEADERS frame after sending RST_STREAM frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), rst_stream(1, CANCEL), get(c))
    c.wait(STREAM_ERROR)


@case("5.1/10", "closed: Sends a CONTINUATION frame after sending RST_STREAM frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), rst_stream(1, CANCEL), continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(STREAM_ERROR)


@case("5.1/11", "closed: Sends a DATA frame")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("5.1/12", "closed: Sends a HEADERS frame")
def _(c):
    c.handshake()
    hf = get(c)
    c.send(hf)
    c.wait(RESPONSE)
    c.send(hf)
    c.wait(CONN_ERROR)


@case("5.1/13", "closed: Sends a CONTINUATION frame")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("5.1/x1", "closed: Sends a WINDOW_UPDATE frame on a stream closed by END_STREAM both ways")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(window_update(1, 1), ping())
    c.wait(PING_ACK)


@case("5.1/x2", "closed: Sends a RST_STREAM frame on a stream closed by END_STREAM both ways")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(rst_stream(1, CANCEL), ping())
    c.wait(PING_ACK)


@case("5.1/x3", "idle: Sends a PRIORITY frame, then a DATA frame on that idle stream")
def _(c):
    c.handshake()
    c.send(priority(1, 0, 16), data(1, b"test", True))
    c.wait(STREAM_ERROR)


# -- 5.1.1 Stream Identifiers --

@case("5.1.1/1", "Sends even-numbered stream identifier")
def _(c):
    c.handshake()
    c.send(get(c, sid=2))
    c.wait(CONN_ERROR)


@case("5.1.1/2", "Sends stream identifier that is numerically smaller than previous")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(headers(5, block, end_stream=True), headers(3, block, end_stream=True))
    c.wait(CONN_ERROR)


@case("5.1.1/x1", "Sends a request on the largest stream identifier (2^31-1)")
def _(c):
    c.handshake()
    c.send(get(c, sid=0x7fffffff))
    c.wait("end:%d" % 0x7fffffff)


# -- 5.1.2 Stream Concurrency --

@case("5.1.2/1", "Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded")
def _(c):
    c.handshake()
    n = c.server_settings.get(MAX_CONCURRENT_STREAMS)
    if n is None:
        raise HandshakeError("no SETTINGS_MAX_CONCURRENT_STREAMS: h2spec skips this case")
    block = c.encode(c.common())
    c.send(settings((INITIAL_WINDOW_SIZE, 0)), *[headers(1 + 2 * i, block, end_stream=True) for i in range(n + 1)])
    c.wait(STREAM_ERROR)


# -- 5.3.1 Stream Dependencies --

@case("5.3.1/1", "Sends HEADERS frame that depends on itself")
def _(c):
    c.handshake()
    c.send(get(c, priority=(1, 255, False)))
    c.wait(STREAM_ERROR)


@case("5.3.1/2", "Sends PRIORITY frame that depend on itself")
def _(c):
    c.handshake()
    c.send(priority(1, 1, 255))
    c.wait(STREAM_ERROR)


@case("5.3.1/x1", "Sends a PRIORITY frame that depends on itself on an open stream")
def _(c):
    c.handshake()
    c.send(post(c), priority(1, 1, 255))
    c.wait(STREAM_ERROR)


# -- 5.4.1 Connection Error Handling --

@case("5.4.1/1", "Sends an invalid PING frame for connection close")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x00\x00\x00\x00\x03" + b"\0" * 8)
    c.wait(CONN_ERROR)


@case("5.4.1/2", "Sends an invalid PING frame to receive GOAWAY frame (h2spec --strict)")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x00\x00\x00\x00\x03" + b"\0" * 8)
    c.wait(CONN_ERROR)


@case("5.4.1/x1", "Sends a request, then a connection error: the GOAWAY's last stream identifier is that request's")
def _(c):
    c.handshake()
    c.send(get(c))
    c.wait(RESPONSE)
    c.send(b"\x00\x00\x08\x06\x00\x00\x00\x00\x03" + b"\0" * 8)
    c.wait(CONN_ERROR)


# -- 5.5 Extending HTTP/2 --

@case("5.5/1", "Sends an unknown extension frame")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8, ping())
    c.wait(PING_ACK)


@case("5.5/2", "Sends an unknown extension frame in the middle of a header block")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), b"\x00\x00\x08\x16\x00\x00\x00\x00\x00" + b"\0" * 8)
    c.wait(CONN_ERROR)


@case("5.5/x1", "Sends an unknown extension frame with flags on a stream of its own, then a request")
def _(c):
    c.handshake()
    c.send(frame(0xfa, 0xff, 1, b"extension"), get(c))
    c.wait(RESPONSE)


# -- 6.1 DATA --

@case("6.1/1", "Sends a DATA frame with 0x0 stream identifier")
def _(c):
    c.handshake()
    c.send(data(0, b"test", True))
    c.wait(CONN_ERROR)


@case("6.1/2", "Sends a DATA frame on the stream that is not in \"open\" or \"half-closed (local)\" state")
def _(c):
    c.handshake()
    c.send(get(c, method="POST"), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("6.1/3", "Sends a DATA frame with invalid pad length")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "4")]), b"\x00\x00\x05\x00\x09\x00\x00\x00\x01" + b"\x06Test")
    c.wait(CONN_ERROR)


@case("6.1/x1", "Sends a DATA frame whose pad length equals the length of its payload")
def _(c):
    c.handshake()
    c.send(post(c), frame(DATA, PADDED | END_STREAM, 1, b"\x05test"))
    c.wait(CONN_ERROR)


@case("6.1/x3", "Sends a DATA frame that is all padding (valid)")
def _(c):
    c.handshake()
    c.send(post(c), frame(DATA, PADDED | END_STREAM, 1, b"\x04test"))
    c.wait(RESPONSE)


@case("6.1/x2", "Sends an empty DATA frame with END_STREAM after a DATA frame")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test"), data(1, b"", True))
    c.wait(RESPONSE)


# -- 6.2 HEADERS --

@case("6.2/1", "Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False, end_headers=False), priority(1, 0, 255),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.2/2", "Sends a HEADERS frame to another stream while sending a HEADERS frame")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False, end_headers=False), get(c, sid=3),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.2/3", "Sends a HEADERS frame with 0x0 stream identifier")
def _(c):
    c.handshake()
    c.send(get(c, sid=0))
    c.wait(CONN_ERROR)


@case("6.2/4", "Sends a HEADERS frame with invalid pad length")
def _(c):
    c.handshake()
    block = c.encode(c.common())
    c.send(frame(HEADERS, 0x0d, 1, bytes([len(block) + 2]) + block))
    c.wait(STREAM_ERROR)


@case("6.2/x1", "Sends a HEADERS frame with both padding and priority")
def _(c):
    c.handshake()
    c.send(get(c, pad=b"\0" * 4, priority=(0, 15, True)))
    c.wait(RESPONSE)


# -- 6.3 PRIORITY --

@case("6.3/1", "Sends a PRIORITY frame with 0x0 stream identifier")
def _(c):
    c.handshake()
    c.send(priority(0, 0, 255))
    c.wait(CONN_ERROR)


@case("6.3/2", "Sends a PRIORITY frame with a length other than 5 octets")
def _(c):
    c.handshake()
    c.send(get(c), b"\x00\x00\x04\x02\x00\x00\x00\x00\x01" + b"\x80\x00\x00\x01")
    c.wait(STREAM_ERROR)


@case("6.3/x1", "Sends a PRIORITY frame of 6 octets on an idle stream")
def _(c):
    c.handshake()
    c.send(frame(PRIORITY, 0, 3, b"\0\0\0\0\x10\0"))
    c.wait(STREAM_ERROR)


# -- 6.4 RST_STREAM --

@case("6.4/1", "Sends a RST_STREAM frame with 0x0 stream identifier")
def _(c):
    c.handshake()
    c.send(rst_stream(0, CANCEL))
    c.wait(CONN_ERROR)


@case("6.4/2", "Sends a RST_STREAM frame on a idle stream")
def _(c):
    c.handshake()
    c.send(rst_stream(1, CANCEL))
    c.wait(CONN_ERROR)


@case("6.4/3", "Sends a RST_STREAM frame with a length other than 4 octets")
def _(c):
    c.handshake()
    c.send(get(c), b"\x00\x00\x03\x03\x00\x00\x00\x00\x01" + b"\0\0\0")
    c.wait(STREAM_ERROR)


@case("6.4/x1", "Sends a RST_STREAM frame of 5 octets on an open stream")
def _(c):
    c.handshake()
    c.send(post(c), frame(RST_STREAM, 0, 1, b"\0\0\0\x08\0"))
    c.wait(CONN_ERROR)


@case("6.4/x2", "Sends a RST_STREAM frame on a stream whose request body is still coming, then a request on "
      "another stream")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "100")]), data(1, b"x" * 10), rst_stream(1, CANCEL), get(c, sid=3))
    c.wait("end:3")


@case("6.4/x3", "Sends a RST_STREAM frame on a stream whose response waits on a shut window, then a request on "
      "another stream")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 0)))
    c.wait("settings-ack")
    c.send(get(c))
    c.wait("headers:1")
    c.send(rst_stream(1, CANCEL), get(c, sid=3), window_update(3, DEFAULT_WINDOW))
    c.wait("end:3")


# -- 6.5 SETTINGS --

@case("6.5/1", "Sends a SETTINGS frame with ACK flag and payload")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x01\x04\x01\x00\x00\x00\x00" + b"\x00")
    c.wait(CONN_ERROR)


@case("6.5/2", "Sends a SETTINGS frame with a stream identifier other than 0x0")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x06\x04\x00\x00\x00\x00\x01" + b"\x00\x03\x00\x00\x00\x64")
    c.wait(CONN_ERROR)


@case("6.5/3", "Sends a SETTINGS frame with a length other than a multiple of 6 octets")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x03\x04\x00\x00\x00\x00\x00" + b"\x00\x03\x00")
    c.wait(STREAM_ERROR)


@case("6.5/x1", "Sends an empty SETTINGS frame")
def _(c):
    c.handshake()
    c.send(settings())
    c.wait("settings-ack")


# -- 6.5.2 Defined SETTINGS Parameters --

@case("6.5.2/1", "SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1")
def _(c):
    c.handshake()
    c.send(settings((ENABLE_PUSH, 2)))
    c.wait(CONN_ERROR)


@case("6.5.2/2", "SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the maximum flow control window size")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 2147483648)))
    c.wait(CONN_ERROR)


@case("6.5.2/3", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial value")
def _(c):
    c.handshake()
    c.send(settings((MAX_FRAME_SIZE, 16383)))
    c.wait(CONN_ERROR)


@case("6.5.2/4", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum allowed frame size")
def _(c):
    c.handshake()
    c.send(settings((MAX_FRAME_SIZE, 16777216)))
    c.wait(CONN_ERROR)


@case("6.5.2/5", "Sends a SETTINGS frame with unknown identifier")
def _(c):
    c.handshake()
    c.send(settings((0xff, 1)), ping())
    c.wait(PING_ACK)


@case("6.5.2/x1", "SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the maximum value 2^31-1")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 2147483647)))
    c.wait("settings-ack")


@case("6.5.2/x2", "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the maximum value 2^24-1, then a request")
def _(c):
    c.handshake()
    c.send(settings((MAX_FRAME_SIZE, 16777215)), get(c))
    c.wait(RESPONSE)


@case("6.5.2/x3", "SETTINGS_HEADER_TABLE_SIZE (0x1): Sends 0, then a request")
def _(c):
    c.handshake()
    c.send(settings((HEADER_TABLE_SIZE, 0)), get(c))
    c.wait(RESPONSE)


# -- 6.5.3 Settings Synchronization --

@case("6.5.3/1", "Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 100), (INITIAL_WINDOW_SIZE, 1)))
    c.wait("settings-ack")
    c.send(get(c))
    c.wait("data:1")


@case("6.5.3/2", "Sends a SETTINGS frame without ACK flag")
def _(c):
    c.handshake()
    c.send(settings((ENABLE_PUSH, 0)))
    c.wait("settings-ack")


# -- 6.7 PING --

@case("6.7/1", "Sends a PING frame")
def _(c):
    c.handshake()
    c.send(ping(H2SPEC_PING))
    c.wait(H2SPEC_PING_ACK)


@case("6.7/2", "Sends a PING frame with ACK")
def _(c):
    c.handshake()
    c.send(ping(b"invalid\0", ack=True), ping(H2SPEC_PING))
    c.wait(H2SPEC_PING_ACK)


@case("6.7/3", "Sends a PING frame with a stream identifier field value other than 0x0")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x06\x00\x00\x00\x00\x01" + b"\0" * 8)
    c.wait(CONN_ERROR)


@case("6.7/4", "Sends a PING frame with a length field value other than 8")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x06\x06\x00\x00\x00\x00\x00" + b"\0" * 6)
    c.wait(CONN_ERROR)


@case("6.7/x1", "Sends a PING frame with ACK and a length field value other than 8")
def _(c):
    c.handshake()
    c.send(frame(PING, ACK, 0, b"\0" * 9))
    c.wait(CONN_ERROR)


# -- 6.8 GOAWAY --

@case("6.8/1", "Sends a GOAWAY frame with a stream identifier other than 0x0")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x08\x07\x00\x00\x00\x00\x01" + b"\0" * 8)
    c.wait(CONN_ERROR)


@case("6.8/x1", "Sends a GOAWAY frame with a length less than 8 octets")
def _(c):
    c.handshake()
    c.send(frame(GOAWAY, 0, 0, b"\0\0\0\0\0\0"))
    c.wait(CONN_ERROR)


@case("6.8/x2", "Sends a GOAWAY frame after a request: its response still comes")
def _(c):
    c.handshake()
    c.send(get(c), goaway(0, NO_ERROR))
    c.wait(RESPONSE)


# -- 6.9 WINDOW_UPDATE --

@case("6.9/1", "Sends a WINDOW_UPDATE frame with a flow control window increment of 0")
def _(c):
    c.handshake()
    c.send(window_update(0, 0))
    c.wait(CONN_ERROR)


@case("6.9/2", "Sends a WINDOW_UPDATE frame with a flow control window increment of 0 on a stream")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), window_update(1, 0))
    c.wait(STREAM_ERROR)


@case("6.9/3", "Sends a WINDOW_UPDATE frame with a length other than 4 octets")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x03\x08\x00\x00\x00\x00\x00" + b"\x00\x00\x01")
    c.wait(CONN_ERROR)


@case("6.9/x1", "Sends a WINDOW_UPDATE frame of 5 octets on an open stream")
def _(c):
    c.handshake()
    c.send(post(c), frame(WINDOW_UPDATE, 0, 1, b"\0\0\0\x01\0"))
    c.wait(CONN_ERROR)


# -- 6.9.1 The Flow-Control Window --

@case("6.9.1/1", "Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 1)))
    c.wait("settings-ack")
    c.send(get(c))
    c.wait("data:1")


@case("6.9.1/2", "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1")
def _(c):
    c.handshake()
    c.send(window_update(0, 2147483647), window_update(0, 2147483647))
    c.wait(CONN_ERROR)


@case("6.9.1/3",
      "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1 on a stream")
def _(c):
    c.handshake()
    c.send(get(c, end_stream=False), window_update(1, 2147483647), window_update(1, 2147483647))
    c.wait(STREAM_ERROR)


@case("6.9.1/x1", "Sends a WINDOW_UPDATE frame that makes the connection window exactly 2^31-1")
def _(c):
    c.handshake()
    c.send(window_update(0, 2147483647 - DEFAULT_WINDOW), ping())
    c.wait(PING_ACK)


# -- 6.9.2 Initial Flow-Control Window Size --

@case("6.9.2/1", "Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 0)))
    c.wait("settings-ack")
    c.send(get(c), settings((INITIAL_WINDOW_SIZE, 1)))
    c.wait("data:1")


@case("6.9.2/2", "Sends a SETTINGS frame for window size to be negative")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 3)))
    c.wait("settings-ack")
    c.send(get(c))
    c.wait("data:1")
    c.send(settings((INITIAL_WINDOW_SIZE, 2)))
    c.wait("settings-ack")
    c.send(window_update(1, 2))
    c.wait("data:1")


@case("6.9.2/3", "Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded maximum window size value")
def _(c):
    c.handshake()
    c.send(b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x04\x80\x00\x00\x00")
    c.wait(CONN_ERROR)


@case("6.9.2/x1", "Sends a SETTINGS_INITIAL_WINDOW_SIZE increase that makes an open stream's window exceed 2^31-1")
def _(c):
    c.handshake()
    c.send(post(c), window_update(1, 2147483647 - DEFAULT_WINDOW), settings((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW + 1)))
    c.wait(CONN_ERROR)


@case("6.9.2/x2", "Sends SETTINGS_INITIAL_WINDOW_SIZE 0 mid-response, then opens the window with WINDOW_UPDATE")
def _(c):
    c.handshake()
    c.send(settings((INITIAL_WINDOW_SIZE, 0)))
    c.wait("settings-ack")
    c.send(get(c))
    c.wait("headers:1")   # HEADERS only: the window is shut
    c.send(window_update(1, 1 << 20))
    c.wait(RESPONSE)


# -- 6.10 CONTINUATION --

@case("6.10/1", "Sends multiple CONTINUATION frames preceded by a HEADERS frame")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(1, c.encode(c.dummy_headers(1)), False),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(RESPONSE)


@case("6.10/2", "Sends a CONTINUATION frame followed by any frame other than CONTINUATION")
def _(c):
    c.handshake()
    c.send(post(c, end_headers=False), continuation(1, c.encode(c.dummy_headers(1)), False),
           data(1, b"test", True))
    c.wait(CONN_ERROR)


@case("6.10/3", "Sends a CONTINUATION frame with 0x0 stream identifier")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(0, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.10/4", "Sends a CONTINUATION frame preceded by a HEADERS frame with END_HEADERS flag")
def _(c):
    c.handshake()
    c.send(get(c), continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.10/5", "Sends a CONTINUATION frame preceded by a CONTINUATION frame with END_HEADERS flag")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(1, c.encode(c.dummy_headers(1))),
           continuation(1, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.10/6", "Sends a CONTINUATION frame preceded by a DATA frame")
def _(c):
    c.handshake()
    c.send(post(c, end_headers=False), data(1, b"test", True), continuation(1, c.encode(c.dummy_headers(1)), False),
           continuation(0, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.10/x1", "Sends a CONTINUATION frame on another stream than its HEADERS frame")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(3, c.encode(c.dummy_headers(1))))
    c.wait(CONN_ERROR)


@case("6.10/x2", "Sends a HEADERS frame without END_HEADERS, then a PING frame")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), ping())
    c.wait(CONN_ERROR)


@case("6.10/x3", "Sends a header block as a HEADERS frame and an empty CONTINUATION frame")
def _(c):
    c.handshake()
    c.send(get(c, end_headers=False), continuation(1, b""))
    c.wait(RESPONSE)


# -- 7 Error Codes --

@case("7/1", "Sends a GOAWAY frame with unknown error code")
def _(c):
    c.handshake()
    c.send(goaway(0, 0xff), ping(H2SPEC_PING))
    c.wait(H2SPEC_PING_ACK)


@case("7/2", "Sends a RST_STREAM frame with unknown error code")
def _(c):
    c.handshake()
    c.send(post(c), rst_stream(1, 0xff), ping())
    c.wait(PING_ACK)


# -- 8.1 HTTP Request/Response Exchange --

@case("8.1/1", "Sends a second HEADERS frame without the END_STREAM flag")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test"), headers(1, c.encode([("x-test", "ok")])))
    c.wait(STREAM_ERROR)


@case("8.1/x1", "Sends a POST whose body ends with trailers only (no DATA)")
def _(c):
    c.handshake()
    c.send(post(c), headers(1, c.encode([("x-test", "ok")]), end_stream=True))
    c.wait(RESPONSE)


@case("8.1/x2", "Sends 10 requests at once on one connection, GET and POST mixed")
def _(c):
    c.handshake()
    frames = []
    for i in range(10):
        sid = 1 + 2 * i
        if i % 2:
            frames += [post(c, sid=sid), data(sid, b"x" * i, True)]
        else:
            frames.append(get(c, sid=sid))
    c.send(*frames)
    c.wait("end:19")


# -- 8.1.2 HTTP Header Fields --

reg("8.1.2/1", "Sends a HEADERS frame that contains the header field name in uppercase letters",
    bad_request(lambda c: c.common() + [("X-TEST", "ok")]))
reg("8.1.2/x1", "Sends a HEADERS frame with a field name that contains a space",
    bad_request(lambda c: c.common() + [("x test", "ok")]))
reg("8.1.2/x2", "Sends a HEADERS frame with a field name that contains a colon after its first character",
    bad_request(lambda c: c.common() + [("x:test", "ok")]))
reg("8.1.2/x3", "Sends a HEADERS frame with an empty field name",
    bad_request(lambda c: c.common() + [("", "ok")]))
reg("8.1.2/x4", "Sends a HEADERS frame with a field value that contains LF",
    bad_request(lambda c: c.common() + [("x-test", "a\nb")]))
reg("8.1.2/x5", "Sends a HEADERS frame with a field value that contains CR",
    bad_request(lambda c: c.common() + [("x-test", "a\rb")]))
reg("8.1.2/x6", "Sends a HEADERS frame with a field value that contains NUL",
    bad_request(lambda c: c.common() + [("x-test", "a\0b")]))
reg("8.1.2/x7", "Sends a HEADERS frame with a field value that starts with a space",
    bad_request(lambda c: c.common() + [("x-test", " ok")]))
reg("8.1.2/x8", "Sends a HEADERS frame with a field value that ends with a tab",
    bad_request(lambda c: c.common() + [("x-test", "ok\t")]))
reg("8.1.2/x9", "Sends a HEADERS frame with a field value that has a space inside (valid)",
    good_request(lambda c: c.common() + [("x-test", "o k")]))
reg("8.1.2/x10", "Sends a HEADERS frame with a cookie split into several fields (valid)",
    good_request(lambda c: c.common() + [("cookie", "a=b"), ("cookie", "c=d")]))

# -- 8.1.2.1 Pseudo-Header Fields --

reg("8.1.2.1/1", "Sends a HEADERS frame that contains a unknown pseudo-header field",
    bad_request(lambda c: c.common() + [(":test", "ok")]))
reg("8.1.2.1/2", "Sends a HEADERS frame that contains the pseudo-header field defined for response",
    bad_request(lambda c: c.common() + [(":status", "200")]))


@case("8.1.2.1/3", "Sends a HEADERS frame that contains a pseudo-header field as trailers")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test"), headers(1, c.encode([(":method", "POST")])))
    c.wait(STREAM_ERROR)


reg("8.1.2.1/4", "Sends a HEADERS frame that contains a pseudo-header field that appears in a header block after "
    "a regular header field", bad_request(lambda c: [("x-test", "ok")] + c.common()))


@case("8.1.2.1/x1", "Sends trailers (with END_STREAM) that contain a pseudo-header field")
def _(c):
    c.handshake()
    c.send(post(c), data(1, b"test"), headers(1, c.encode([(":path", "/")]), end_stream=True))
    c.wait(STREAM_ERROR)


reg("8.1.2.1/x2", "Sends a HEADERS frame with :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL",
    bad_request(lambda c: c.common() + [(":protocol", "websocket")]))

# -- 8.1.2.2 Connection-Specific Header Fields --

reg("8.1.2.2/1", "Sends a HEADERS frame that contains the connection-specific header field",
    bad_request(lambda c: c.common() + [("connection", "keep-alive")]))
reg("8.1.2.2/2", "Sends a HEADERS frame that contains the TE header field with any value other than \"trailers\"",
    bad_request(lambda c: c.common() + [("trailers", "test"), ("te", "trailers, deflate")]))
reg("8.1.2.2/x1", "Sends a HEADERS frame that contains the keep-alive header field",
    bad_request(lambda c: c.common() + [("keep-alive", "timeout=5")]))
reg("8.1.2.2/x2", "Sends a HEADERS frame that contains the proxy-connection header field",
    bad_request(lambda c: c.common() + [("proxy-connection", "keep-alive")]))
reg("8.1.2.2/x3", "Sends a HEADERS frame that contains the transfer-encoding header field",
    bad_request(lambda c: c.common() + [("transfer-encoding", "chunked")]))
reg("8.1.2.2/x4", "Sends a HEADERS frame that contains the upgrade header field",
    bad_request(lambda c: c.common() + [("upgrade", "h2c")]))
reg("8.1.2.2/x5", "Sends a HEADERS frame that contains the TE header field \"trailers\" (valid)",
    good_request(lambda c: c.common() + [("te", "trailers")]))

# -- 8.1.2.3 Request Pseudo-Header Fields --


def without(*names):
    return lambda c: [f for f in c.common() if f[0] not in names]


def replaced(name, value):
    return lambda c: [(n, value if n == name else v) for n, v in c.common()]


def duplicated(name):
    return lambda c: c.common() + [f for f in c.common() if f[0] == name]


reg("8.1.2.3/1", "Sends a HEADERS frame with empty \":path\" pseudo-header field", bad_request(replaced(":path", "")))
# h2spec's own case leaves out :scheme as well (EncodeHeaders(headers[1:])).
reg("8.1.2.3/2", "Sends a HEADERS frame that omits \":method\" pseudo-header field",
    bad_request(without(":method", ":scheme")))
reg("8.1.2.3/3", "Sends a HEADERS frame that omits \":scheme\" pseudo-header field", bad_request(without(":scheme")))
reg("8.1.2.3/4", "Sends a HEADERS frame that omits \":path\" pseudo-header field", bad_request(without(":path")))
reg("8.1.2.3/5", "Sends a HEADERS frame with duplicated \":method\" pseudo-header field",
    bad_request(duplicated(":method")))
reg("8.1.2.3/6", "Sends a HEADERS frame with duplicated \":scheme\" pseudo-header field",
    bad_request(duplicated(":scheme")))
reg("8.1.2.3/7", "Sends a HEADERS frame with duplicated \":path\" pseudo-header field",
    bad_request(duplicated(":path")))
reg("8.1.2.3/x1", "Sends a HEADERS frame that omits only \":method\"", bad_request(without(":method")))
reg("8.1.2.3/x2", "Sends a HEADERS frame with empty \":method\" pseudo-header field",
    bad_request(replaced(":method", "")))
reg("8.1.2.3/x3", "Sends a HEADERS frame with empty \":scheme\" pseudo-header field",
    bad_request(replaced(":scheme", "")))
reg("8.1.2.3/x4", "Sends a HEADERS frame with duplicated \":authority\" pseudo-header field",
    bad_request(duplicated(":authority")))
reg("8.1.2.3/x5", "Sends a HEADERS frame whose \":path\" is neither \"/...\" nor \"*\" (\"index.html\")",
    bad_request(replaced(":path", "index.html")))
reg("8.1.2.3/x6", "Sends a HEADERS frame with a \":method\" that is not a token (\"GE T\")",
    bad_request(replaced(":method", "GE T")))
reg("8.1.2.3/x7", "Sends a CONNECT request with \":path\" and \":scheme\"",
    bad_request(replaced(":method", "CONNECT")))
reg("8.1.2.3/x8", "Sends a request without \":authority\" but with host (valid)",
    good_request(lambda c: [f for f in c.common() if f[0] != ":authority"] + [("host", c.authority)]))
reg("8.1.2.3/x9", "Sends a request with a query in \":path\" (valid)",
    good_request(replaced(":path", "/?a=b&c=%20")))
reg("8.1.2.3/x10", "Sends an OPTIONS request with \":path\" \"*\" (valid)",
    good_request(lambda c: [(":method", "OPTIONS"), (":scheme", "http"), (":path", "*"),
                            (":authority", c.authority)]))
reg("8.1.2.3/x11", "Sends a CONNECT request with only \":method\" and \":authority\" (well-formed)",
    good_request(lambda c: [(":method", "CONNECT"), (":authority", c.authority)]))

# -- 8.1.2.6 Malformed Requests and Responses --


@case("8.1.2.6/1", "Sends a HEADERS frame with the \"content-length\" header field which does not equal the DATA "
      "frame payload length")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "1")]), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/2", "Sends a HEADERS frame with the \"content-length\" header field which does not equal the sum of "
      "the multiple DATA frames payload length")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "1")]), data(1, b"test"), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/x1", "Sends a HEADERS frame with END_STREAM and a \"content-length\" of 4 (no DATA)")
def _(c):
    c.handshake()
    c.send(get(c, method="POST", extra=[("content-length", "4")]))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/x2", "Sends a \"content-length\" that is not a number")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "four")]), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/x3", "Sends DATA frames that go past the \"content-length\" before END_STREAM")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "4")]), data(1, b"test"), data(1, b"more"))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/x4", "Sends two different \"content-length\" fields")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "4"), ("content-length", "5")]), data(1, b"test", True))
    c.wait(STREAM_ERROR)


@case("8.1.2.6/x5", "Sends a POST whose DATA matches its \"content-length\" (valid)")
def _(c):
    c.handshake()
    c.send(post(c, extra=[("content-length", "8")]), data(1, b"test"), data(1, b"test", True))
    c.wait(RESPONSE)


# -- 8.2 Server Push --

@case("8.2/1", "Sends a PUSH_PROMISE frame")
def _(c):
    c.handshake()
    c.send(push_promise(1, 3, c.encode(c.common())))
    c.wait(CONN_ERROR)


@case("8.2/x1", "Sends a PUSH_PROMISE frame on an open stream")
def _(c):
    c.handshake()
    c.send(post(c), push_promise(1, 2, c.encode(c.common())))
    c.wait(CONN_ERROR)


# ======== hpack: RFC 7541 ========

reg("hpack/2.3.3/1", "Sends a indexed header field representation with invalid index", with_block(suffix=b"\xc6"))
reg("hpack/2.3.3/2", "Sends a literal header field representation with invalid index",
    with_block(suffix=b"\x7f\x07\x00"))
reg("hpack/2.3.3/x1", "Sends an indexed header field representation with index 62 and an empty dynamic table",
    with_block(prefix=b"\xbe"))
reg("hpack/2.3.3/x2", "Sends a literal header field without indexing whose name index is past the tables",
    with_block(suffix=b"\x0f\x30\x02ok"))
reg("hpack/4.2/1", "Sends a dynamic table size update at the end of header block", with_block(suffix=b"\x21"))
reg("hpack/4.2/x1", "Sends a dynamic table size update between two header fields",
    with_block(suffix=b"\x3f\xe1\x1f\x00\x06x-test\x02ok"))


@case("hpack/4.2/x2", "Sends a dynamic table size update to 0, then refers to an entry it evicted")
def _(c):
    c.handshake()
    fields = c.common() + [("x-test", "h2spec")]
    c.send(headers(1, c.encode(fields), end_stream=True))
    c.wait(RESPONSE)
    c.send(headers(3, b"\x20" + b"\x82\x86\x84\xbe", end_stream=True))
    c.wait(CONN_ERROR)


reg("hpack/5.2/1", "Sends a Huffman-encoded string literal representation with padding longer than 7 bits",
    with_block(suffix=b"\x00\x85\xf2\xb2\x4a\x84\xff\x84\x49\x50\x9f\xff"))
reg("hpack/5.2/2", "Sends a Huffman-encoded string literal representation padded by zero",
    with_block(suffix=b"\x00\x85\xf2\xb2\x4a\x84\xff\x83\x49\x50\x90"))
reg("hpack/5.2/3", "Sends a Huffman-encoded string literal representation containing the EOS symbol",
    with_block(suffix=b"\x00\x85\xf2\xb2\x4a\x84\xff\x87\x49\x51\xff\xff\xff\xfa\x7f"))
reg("hpack/5.1/x1", "Sends an integer representation that overflows (index with 10 continuation octets)",
    with_block(suffix=b"\xff" + b"\xff" * 10 + b"\x01"))
reg("hpack/5.2/x1", "Sends a string literal whose length runs past the header block",
    with_block(suffix=b"\x00\x7f\x80\x01x-test"))
reg("hpack/6.1/1", "Sends a indexed header field representation with index 0", with_block(suffix=b"\x80"))


@case("hpack/6.3/1", "Sends a dynamic table size update larger than the value of SETTINGS_HEADER_TABLE_SIZE")
def _(c):
    c.handshake()
    size = c.server_settings.get(HEADER_TABLE_SIZE, 4096) + 1
    if size < 31:
        rep = bytes([size])
    else:
        rep, size = [31], size - 31
        while size >= 128:
            rep.append(0x80 | (size & 0x7f))
            size >>= 7
        rep.append(size)
        rep = bytes(rep)
    rep = bytes([rep[0] | 0x20]) + rep[1:]
    c.send(headers(1, rep + c.encode(c.common()), end_stream=True))
    c.wait(CONN_ERROR)


# ---- the command ----

def main():
    if sys.argv[1:] == ["list"]:
        print(json.dumps([{"id": cid, "desc": desc} for cid, desc, _ in CASES]))
        return
    port, cid = int(sys.argv[1]), sys.argv[2]
    found = [(desc, fn) for i, desc, fn in CASES if i == cid]
    if not found:
        sys.exit("no case %s" % cid)
    desc, fn = found[0]
    out = {"id": cid, "desc": desc}
    c = Conn(port)
    try:
        fn(c)
        out.update(c.result())
    except HandshakeError as e:
        out.update(c.result())
        out["error"] = str(e)
    finally:
        c.s.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
