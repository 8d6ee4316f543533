#!/usr/bin/python3
"""spec/support/h2_peer.py PORT SCENARIO: an HTTP/2 client on Python's h2
(python3-h2) that drives frames directly, for the cases curl and nghttp do
not make. Prints one JSON object: what it saw.

Scenarios:
  concurrent N      N GETs of /slow?i=K on one connection at once; the
                    order the responses finished in, and their bodies
  post-unsized SIZE the same without content-length
  post SIZE         a POST of SIZE bytes (past the initial window of 64 KiB
                    when large): the status and the length the handler saw
  slow-reader       window 1 for stream A (/big, 1 MiB) and B (/, small)
                    with a normal connection window: whether B finished
                    while A could not
  reset-mid-body    a POST whose body stops half-way with RST_STREAM, then
                    a GET on the same connection: the GET's answer
  bad-preface       a preface with a wrong ending: what the server sent
  rapid-reset N     N streams each opened and cancelled at once (CVE-2023-44487)
  continuation N    HEADERS without END_HEADERS and N CONTINUATION frames
  big-headers N     a request with N header fields of 100 bytes
  open-headers      HEADERS without END_HEADERS, then nothing: when it closed
  stalled-body      a POST whose body stops after 10 of 1000 bytes: the answer
  zero-window       window 0 for stream A (/big), never opened, and B (/) after
                    it: whether A was reset and B served
  ping-flood N      N PINGs without reading the ACKs
  settings-flood N  N SETTINGS frames without reading the ACKs
  made-you-reset N  N streams each opened and then broken by the client
                    (WINDOW_UPDATE of 0), so that the server resets them
                    (CVE-2025-8671): the GOAWAY, and how many were answered
  empty-data N      a POST followed by N empty DATA frames that do not end it
  priority-flood N  N PRIORITY frames
  goaway-wait       GET /slow, then everything until the connection ends:
                    the response, the GOAWAY and what came first
  bodies-held N     N POSTs of 1 MiB each at once, sent as fast as the
                    windows allow, then a GET: the bytes the server let in
                    before it stopped opening windows, and the GET's answer
"""
import json
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def connect(port, settings=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    if settings:
        c.update_settings(settings)
    s.sendall(c.data_to_send())
    return s, c


def headers(path, method="GET", extra=()):
    return [(":method", method), (":path", path), (":scheme", "http"), (":authority", "127.0.0.1")] + list(extra)


def pump(s, c, until, timeout=5.0):
    """Reads and feeds events to until(event) until it returns True;
    returns the events, and whether the connection ended."""
    events, closed = [], False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not data:
            closed = True
            break
        try:
            got = c.receive_data(data)
        except Exception as e:  # a frame h2 refuses: report it
            events.append(("error", str(e)))
            break
        events.extend(got)
        out = c.data_to_send()
        if out:
            try:
                s.sendall(out)
            except OSError:
                closed = True
                break
        if any(until(e) for e in got):
            break
    return events, closed


def responses(events):
    """stream id -> {status, body, ended}"""
    r = {}
    for e in events:
        if isinstance(e, h2.events.ResponseReceived):
            r.setdefault(e.stream_id, {"body": ""})["status"] = int(dict(e.headers)[":status"])
        elif isinstance(e, h2.events.DataReceived):
            r.setdefault(e.stream_id, {"body": ""})["body"] += e.data.decode("latin-1")
        elif isinstance(e, h2.events.StreamEnded):
            r.setdefault(e.stream_id, {"body": ""})["ended"] = True
    return r


def goaway(events):
    for e in events:
        if isinstance(e, h2.events.ConnectionTerminated):
            return {"error_code": int(e.error_code), "last_stream_id": e.last_stream_id}
    return None


def concurrent(port, n):
    s, c = connect(port)
    ids = []
    for k in range(n):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, headers("/slow?i=%d" % k), end_stream=True)
        ids.append(sid)
    s.sendall(c.data_to_send())
    done, order, all_events = set(), [], []

    def until(e):
        if isinstance(e, h2.events.StreamEnded):
            done.add(e.stream_id)
            order.append(e.stream_id)
        return len(done) == n
    while len(done) < n:
        ev, closed = pump(s, c, until, 10)
        all_events += ev
        if closed or not ev:
            break
    r = responses(all_events)
    return {"finished": len(done), "order": [ids.index(i) for i in order],
            "bodies": [r.get(i, {}).get("body") for i in ids]}


def post(port, size, length=True):
    s, c = connect(port)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers("/echo-length", "POST", [("content-length", str(size))] if length else []))
    body = b"p" * size
    sent = 0
    events = []
    while sent < size:
        room = min(c.local_flow_control_window(sid), c.max_outbound_frame_size, size - sent)
        if room <= 0:
            ev, closed = pump(s, c, lambda e: isinstance(e, (h2.events.WindowUpdated, h2.events.StreamEnded,
                                                             h2.events.StreamReset)), 5)
            events += ev
            if responses(events).get(sid, {}).get("ended") or any(
                    isinstance(e, h2.events.StreamReset) and e.stream_id == sid for e in events):
                break   # answered (413) before the body was all sent
            if closed or not ev:
                return {"stalled_at": sent}
            continue
        try:
            c.send_data(sid, body[sent:sent + room], end_stream=sent + room == size)
        except h2.exceptions.StreamClosedError:   # answered (413) before the body was all sent
            break
        sent += room
        s.sendall(c.data_to_send())
    r = responses(events).get(sid, {})
    if not r.get("ended"):
        ev, _ = pump(s, c, lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == sid)
        r = responses(events + ev).get(sid, {})
    return {"status": r.get("status"), "body": r.get("body")}


def slow_reader(port):
    s, c = connect(port, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    a = c.get_next_available_stream_id()
    c.send_headers(a, headers("/big"), end_stream=True)
    b = c.get_next_available_stream_id()
    c.send_headers(b, headers("/"), end_stream=True)
    s.sendall(c.data_to_send())
    events = []
    # Window updates for B only, byte by byte as the data comes.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ev, closed = pump(s, c, lambda e: True, 1)
        events += ev
        for e in ev:
            if isinstance(e, h2.events.DataReceived) and e.stream_id == b and e.flow_controlled_length \
                    and not e.stream_ended:
                c.increment_flow_control_window(e.flow_controlled_length, b)
        out = c.data_to_send()
        if out:
            s.sendall(out)
        r = responses(events)
        if r.get(b, {}).get("ended") or closed:
            break
    r = responses(events)
    return {"b_ended": bool(r.get(b, {}).get("ended")), "b_body": r.get(b, {}).get("body"),
            "a_status": r.get(a, {}).get("status"), "a_bytes": len(r.get(a, {}).get("body", "")),
            "a_ended": bool(r.get(a, {}).get("ended"))}


def reset_mid_body(port):
    s, c = connect(port)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers("/echo-length", "POST", [("content-length", "1000")]))
    c.send_data(sid, b"x" * 500)
    c.reset_stream(sid)
    sid2 = c.get_next_available_stream_id()
    c.send_headers(sid2, headers("/after"), end_stream=True)
    s.sendall(c.data_to_send())
    ev, closed = pump(s, c, lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == sid2)
    r = responses(ev).get(sid2, {})
    return {"status": r.get("status"), "body": r.get("body"), "closed": closed}


def raw(port, data, timeout=3):
    """Sends raw bytes after nothing else; returns what came back and whether it closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    got, closed = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        got += d
    return got, closed


def frames(data):
    """(type, flags, stream, payload) of each whole frame in data."""
    out, i = [], 0
    while i + 9 <= len(data):
        length = int.from_bytes(data[i:i + 3], "big")
        t, f = data[i + 3], data[i + 4]
        sid = int.from_bytes(data[i + 5:i + 9], "big") & 0x7fffffff
        out.append((t, f, sid, data[i + 9:i + 9 + length]))
        i += 9 + length
    return out


def goaway_of(data):
    for t, _, _, p in frames(data):
        if t == 7 and len(p) >= 8:
            return {"last_stream_id": int.from_bytes(p[0:4], "big") & 0x7fffffff,
                    "error_code": int.from_bytes(p[4:8], "big")}
    return None


def frame(t, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([t, flags]) + (sid & 0x7fffffff).to_bytes(4, "big") + payload


def bad_preface(port):
    got, closed = raw(port, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + frame(4, 0, 0))
    return {"closed": closed, "goaway": goaway_of(got), "bytes": len(got)}


def hpack_get(path):
    """A minimal HPACK block: indexed :method GET (2), :scheme http (6),
    literal :path and :authority without indexing."""
    def lit(index, value):
        v = value.encode()
        return bytes([index]) + bytes([len(v)]) + v
    return bytes([0x82, 0x86]) + lit(0x04, path) + lit(0x01, "127.0.0.1")


def streams_then(port, n, after):
    """n GET streams, each followed at once by the frame after(sid)."""
    return send_flood(port, b"".join(frame(1, 0x5, sid, hpack_get("/")) + after(sid)
                                     for sid in range(1, 2 * n, 2)))


def rapid_reset(port, n):
    return streams_then(port, n, lambda sid: frame(3, 0, sid, (8).to_bytes(4, "big")))   # RST_STREAM CANCEL


def continuation(port, n):
    block = hpack_get("/")
    data = PREFACE + frame(4, 0, 0) + frame(1, 0x1, 1, block[:2])   # END_STREAM, no END_HEADERS
    extra = bytes([0x40, 0x03]) + b"x-a" + bytes([0x01]) + b"b"      # a literal field, repeated
    data += b"".join(frame(9, 0, 1, extra) for _ in range(n))
    got, closed = raw(port, data, 5)
    return {"closed": closed, "goaway": goaway_of(got), "headers_answered": sum(1 for t, *_ in frames(got) if t == 1)}


def big_headers(port, n):
    s, c = connect(port)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers("/", extra=[("x-f%d" % k, "v" * 100) for k in range(n)]), end_stream=True)
    s.sendall(c.data_to_send())
    ev, closed = pump(s, c, lambda e: isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)))
    r = responses(ev).get(sid, {})
    reset = any(isinstance(e, h2.events.StreamReset) for e in ev)
    return {"status": r.get("status"), "reset": reset, "closed": closed, "goaway": goaway(ev)}


def flood(port, n, kind):
    one = frame(6, 0, 0, b"12345678") if kind == "ping" else frame(4, 0, 0)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a reader that takes nothing
    s.sendall(PREFACE + frame(4, 0, 0))
    sent, closed = 0, False
    deadline = time.monotonic() + 10
    chunk = one * 1000
    while sent < n and time.monotonic() < deadline:
        try:
            s.sendall(chunk)
            sent += 1000
        except OSError:
            closed = True
            break
    if not closed:
        s.settimeout(2)
        try:   # drain: the end of what the server sent, then EOF?
            while True:
                d = s.recv(1 << 20)
                if not d:
                    closed = True
                    break
        except (socket.timeout, ConnectionResetError):
            closed = closed or False
    return {"sent": sent, "closed": closed}


def open_headers(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(PREFACE + frame(4, 0, 0) + frame(1, 0x1, 1, hpack_get("/")))   # no END_HEADERS
    t0 = time.monotonic()
    got, closed = b"", False
    s.settimeout(10)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            got += d
    except (socket.timeout, ConnectionResetError) as e:
        closed = isinstance(e, ConnectionResetError)
    return {"closed": closed, "after_ms": int((time.monotonic() - t0) * 1000), "goaway": goaway_of(got)}


def stalled_body(port):
    s, c = connect(port)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers("/echo-length", "POST", [("content-length", "1000")]))
    c.send_data(sid, b"x" * 10)
    s.sendall(c.data_to_send())
    t0 = time.monotonic()
    ev, closed = pump(s, c, lambda e: isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                      and e.stream_id == sid, 10)
    r = responses(ev).get(sid, {})
    return {"status": r.get("status"), "after_ms": int((time.monotonic() - t0) * 1000), "closed": closed}


def zero_window(port):
    s, c = connect(port, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    a = c.get_next_available_stream_id()
    c.send_headers(a, headers("/big"), end_stream=True)
    s.sendall(c.data_to_send())
    t0 = time.monotonic()
    ev, closed = pump(s, c, lambda e: isinstance(e, h2.events.StreamReset) and e.stream_id == a, 10)
    reset_ms = int((time.monotonic() - t0) * 1000)
    reset = any(isinstance(e, h2.events.StreamReset) and e.stream_id == a for e in ev)
    # The connection goes on: a stream with its window opened is served.
    b = c.get_next_available_stream_id()
    c.send_headers(b, headers("/"), end_stream=True)
    c.increment_flow_control_window(65535, b)   # B's window opens; A's never did
    s.sendall(c.data_to_send())
    ev2, closed2 = pump(s, c, lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == b, 5)
    return {"reset": reset, "reset_ms": reset_ms, "closed": closed or closed2,
            "b_status": responses(ev2).get(b, {}).get("status")}


def read_all(s, seconds):
    """What the server sends until it closes or `seconds` pass."""
    got, closed = b"", False
    deadline = time.monotonic() + seconds
    s.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        got += d
    return got, closed


def send_flood(port, payload):
    """The preface, then payload; what came back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(PREFACE + frame(4, 0, 0))
    try:
        s.sendall(payload)
    except OSError:
        pass
    got, closed = read_all(s, 2)
    return {"closed": closed, "goaway": goaway_of(got),
            "headers_answered": sum(1 for t, *_ in frames(got) if t == 1),
            "resets": sum(1 for t, *_ in frames(got) if t == 3)}


def made_you_reset(port, n):
    # a window past 2^31-1: a stream error (FLOW_CONTROL_ERROR), not the connection's
    return streams_then(port, n, lambda sid: frame(8, 0, sid, (0x7fffffff).to_bytes(4, "big")))


def empty_data(port, n):
    post_block = bytes([0x83, 0x86]) + hpack_get("/echo-length")[2:]   # :method POST
    return send_flood(port, frame(1, 0x4, 1, post_block) + frame(0, 0, 1) * n)


def priority_flood(port, n):
    return send_flood(port, frame(2, 0, 3, (0).to_bytes(4, "big") + bytes([15])) * n)


def bodies_held(port, n):
    s, c = connect(port)
    size = 1 << 20
    ids = []
    for _ in range(n):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, headers("/echo-length", "POST", [("content-length", str(size))]))
        ids.append(sid)
    # every body but its last byte: nothing is ever handed to a handler
    left = {sid: size - 1 for sid in ids}
    sent, idle_since = 0, time.monotonic()
    chunk = b"x" * 16384
    while time.monotonic() - idle_since < 1.0:
        progress = False
        for sid in ids:
            while left[sid] > 0:
                w = min(c.local_flow_control_window(sid), left[sid], 16384)
                if w <= 0:
                    break
                c.send_data(sid, chunk[:w])
                left[sid] -= w
                sent += w
                progress = True
        s.sendall(c.data_to_send())
        if progress:
            idle_since = time.monotonic()
        pump(s, c, lambda e: False, 0.02)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers("/"), end_stream=True)
    s.sendall(c.data_to_send())
    ev, closed = pump(s, c, lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == sid)
    return {"sent": sent, "get": responses(ev).get(sid, {}).get("body"), "closed": closed}


def goaway_wait(port):
    # raw frames: h2's connection takes no frame after a GOAWAY, and the
    # point here is the stream that goes on after it
    import hpack
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(PREFACE + frame(4, 0, 0) + frame(1, 0x5, 1, hpack_get("/slow")))
    print("sent", flush=True)   # the spec acts (reload, SIGTERM) once it sees this
    got, closed = read_all(s, 8)
    order, status, body, away = [], None, b"", None
    for t, f, sid, p in frames(got):
        if t == 7:
            order.append("goaway")
            away = goaway_of(frame(7, 0, 0, p))
        elif t == 1 and sid == 1:
            status = int(dict(hpack.Decoder().decode(p))[":status"])
        elif t == 0 and sid == 1:
            body += p
        if t in (0, 1) and sid == 1 and f & 0x1:
            order.append("ended")
    return {"status": status, "body": body.decode("latin-1"), "goaway": away, "order": order, "closed": closed}


def main():
    port, scenario = int(sys.argv[1]), sys.argv[2]
    arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    run = {
        "concurrent": lambda: concurrent(port, arg),
        "post": lambda: post(port, arg),
        "post-unsized": lambda: post(port, arg, False),
        "slow-reader": lambda: slow_reader(port),
        "reset-mid-body": lambda: reset_mid_body(port),
        "bad-preface": lambda: bad_preface(port),
        "rapid-reset": lambda: rapid_reset(port, arg),
        "continuation": lambda: continuation(port, arg),
        "big-headers": lambda: big_headers(port, arg),
        "open-headers": lambda: open_headers(port),
        "stalled-body": lambda: stalled_body(port),
        "zero-window": lambda: zero_window(port),
        "ping-flood": lambda: flood(port, arg, "ping"),
        "settings-flood": lambda: flood(port, arg, "settings"),
        "made-you-reset": lambda: made_you_reset(port, arg),
        "empty-data": lambda: empty_data(port, arg),
        "priority-flood": lambda: priority_flood(port, arg),
        "bodies-held": lambda: bodies_held(port, arg),
        "goaway-wait": lambda: goaway_wait(port),
    }[scenario]
    print(json.dumps(run()))


if __name__ == "__main__":
    main()
