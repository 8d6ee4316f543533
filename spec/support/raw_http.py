#!/usr/bin/python3
# spec/support/raw_http.py: a raw-socket HTTP client for the conformance
# spec (spec/integration/http_conformance_spec.lua). It sends bytes exactly
# as given, reads what comes back, and says how the exchange ended; it
# parses nothing.
#
# Batch mode (what the spec uses): one case a line on stdin or in FILE,
#
#     PORT ID TOKEN...
#
# where each TOKEN is hex bytes to send, "~wMS" (read for up to MS ms,
# stopping at the first bytes: waits for a 100 Continue) or "~sMS" (read
# for MS ms whatever comes: a pause between pieces). Cases run in parallel,
# a new connection each, to 127.0.0.1; one line a case is printed:
#
#     ID STATE MS HEX
#
# STATE: "closed" (the server closed: EOF), "reset" (ECONNRESET), "idle"
# (bytes came, then nothing for --quiet ms with the connection open) or
# "timeout" (nothing came in --bound ms after the last byte was sent), or
# "noconnect". MS: the time from the last byte sent to the end. HEX: every
# byte the server sent ("-" for none).
#
#     raw_http.py [--bound 2.0] [--quiet 0.3] [--jobs 32] [FILE]
#
# Single mode, for a person at a shell: raw_http.py PORT 'GET / HTTP/1.1\r\n...'
# (Python escapes in the request) prints the state and the raw reply.
import concurrent.futures
import socket
import sys
import time


def exchange(port, tokens, bound, quiet, host="127.0.0.1"):
    out = bytearray()
    state = None
    try:
        s = socket.create_connection((host, port), timeout=bound)
    except OSError:
        return "noconnect", 0, b""
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def read_for(seconds, stop_on_data):
        nonlocal state
        deadline = time.monotonic() + seconds
        got = False
        while state is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                state = "reset"
                break
            if not d:
                state = "closed"
                break
            out.extend(d)
            got = True
            if stop_on_data:
                break
        return got

    for tok in tokens:
        if state is not None:
            break
        if tok.startswith("~w"):
            read_for(int(tok[2:]) / 1000.0, True)
        elif tok.startswith("~s"):
            read_for(int(tok[2:]) / 1000.0, False)
        else:
            try:
                s.settimeout(bound)
                s.sendall(bytes.fromhex(tok))
            except (BrokenPipeError, ConnectionResetError):
                # Refused half-way through a large request: what it sent
                # before closing is still to be read.
                break
            except socket.timeout:
                break
    sent_at = time.monotonic()
    # The final read: until the server closes, or bytes came and then
    # nothing for `quiet`, or nothing at all for `bound`.
    got = False
    while state is None:
        now = time.monotonic()
        left = (sent_at + bound) - now
        if left <= 0:
            state = "idle" if got else "timeout"
            break
        s.settimeout(min(left, quiet) if got else left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            if got:
                state = "idle"
                break
            continue
        except ConnectionResetError:
            state = "reset"
            break
        if not d:
            state = "closed"
            break
        out.extend(d)
        got = True
    if state == "reset":
        # What the kernel still holds after the RST.
        try:
            s.settimeout(0.05)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out.extend(d)
        except OSError:
            pass
    ms = int((time.monotonic() - sent_at) * 1000)
    s.close()
    return state, ms, bytes(out)


def batch(args):
    bound, quiet, jobs, path = 2.0, 0.3, 32, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--bound", "--quiet", "--jobs"):
            v = args[i + 1]
            i += 2
            if a == "--bound":
                bound = float(v)
            elif a == "--quiet":
                quiet = float(v)
            else:
                jobs = int(v)
        else:
            path = a
            i += 1
    src = open(path) if path else sys.stdin
    cases = []
    for line in src:
        f = line.split()
        if len(f) >= 2:
            cases.append((int(f[0]), f[1], f[2:]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = [(cid, pool.submit(exchange, port, toks, bound, quiet)) for port, cid, toks in cases]
        for cid, fut in futs:
            try:
                state, ms, data = fut.result()
            except Exception as e:  # a bug here must not lose the other cases
                state, ms, data = "error", 0, repr(e).encode()
            sys.stdout.write("%s %s %d %s\n" % (cid, state, ms, data.hex() if data else "-"))
    sys.stdout.flush()


def single(args):
    port = int(args[0])
    req = args[1].encode("latin-1").decode("unicode_escape").encode("latin-1")
    state, ms, data = exchange(port, [req.hex()], 2.0, 0.3)
    sys.stdout.write("[%s after %d ms]\n" % (state, ms))
    sys.stdout.buffer.write(data)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1].isdigit():
        single(sys.argv[1:])
    else:
        batch(sys.argv[1:])
