#!/usr/bin/python3
"""bench/tls_client.py: the HTTPS client of the benchmarks (Python's ssl
module), for what loadgen.c cannot do over TLS.

  tls_client.py http [--host H] --port P --count M [--expect-body STR]
      One TLS connection (no certificate verification, no ALPN, TCP_NODELAY),
      M keep-alive `GET / HTTP/1.1` requests one after another, each
      response read whole by its Content-Length. The fixed count of the
      https workload (strace, cachegrind). Prints loadgen's key=value line,
      mode=https conns=1 size=0 messages= secs= msgs_per_s= p50_us= p99_us=
      max_us= errors=, followed by proto= cipher= (the session's). A response
      that is not a 200 with a Content-Length (and, with --expect-body, that
      body), a close or a reset counts in errors= and ends the run; the exit
      code is then 1.

  tls_client.py first [--host H] --port P [--tls] [--cpu C] [--timeout-ms T]
                [--expect-body STR] [--rss] -- CMD ARGS...
      Start-to-first-reply, as `loadgen first`: takes the time, forks and
      execs CMD (pinned to CPU C when given, stdout to /dev/null), then tries
      to connect every 1 ms; once connected (and, with --tls, through the
      TLS handshake) sends one GET and reads the whole response. Prints
      "first_reply_us=X attempts=A" (with --rss also rss_kb=, the VmRSS of
      CMD's process tree right after the reply, the connection still open),
      then sends SIGTERM to the child (SIGKILL after 2 s) and reaps it.
      A connection that fails after the connect, or a bad response, is an
      error (exit code 1), as is no reply within T ms (default 10000).

Both measure the client's own work too (Python is slow), but the counts are
fixed and the servers' figures are taken on the server's side.
"""
import argparse
import os
import signal
import socket
import ssl
import sys
import time


class BadResponse(Exception):
    pass


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request_bytes(host):
    return ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()


def read_response(sock, buf, expect_body):
    """Reads one response from sock (buf: bytes already read); returns the
    bytes after it. Raises BadResponse on anything but a whole 200."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        data = sock.recv(65536)
        if not data:
            raise BadResponse("the server closed the connection before the response head")
        buf += data
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or parts[1] != "200":
        raise BadResponse("bad status line %r" % lines[0])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise BadResponse("no Content-Length in %r" % head)
    body_at = end + 4
    while len(buf) < body_at + length:
        data = sock.recv(65536)
        if not data:
            raise BadResponse("the server closed the connection mid-body")
        buf += data
    body = buf[body_at:body_at + length]
    if expect_body is not None and body != expect_body:
        raise BadResponse("body %r, expected %r" % (body[:100], expect_body))
    return buf[body_at + length:]


def pct_us(lat, p):
    if not lat:
        return 0.0
    i = min(len(lat) - 1, int(p * len(lat)))
    return lat[i] / 1000.0


def run_http(a):
    expect = a.expect_body.encode() if a.expect_body is not None else None
    raw = socket.create_connection((a.host, a.port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = context().wrap_socket(raw)
    req = request_bytes(a.host)
    lat, errors, done, buf = [], 0, 0, b""
    t0 = time.perf_counter_ns()
    try:
        for done in range(a.count):
            sent = time.perf_counter_ns()
            sock.sendall(req)
            buf = read_response(sock, buf, expect)
            if buf:
                raise BadResponse("%d bytes after the response" % len(buf))
            lat.append(time.perf_counter_ns() - sent)
        done = a.count
    except (BadResponse, OSError, ValueError) as e:
        errors += 1
        print("tls_client: request %d: %s" % (done + 1, e), file=sys.stderr)
    elapsed = (time.perf_counter_ns() - t0) / 1e9
    proto, cipher = sock.version(), (sock.cipher() or ("?",))[0]
    sock.close()
    lat.sort()
    print("mode=https conns=1 size=0 messages=%d secs=%.3f msgs_per_s=%.1f p50_us=%.1f "
          "p99_us=%.1f max_us=%.1f errors=%d proto=%s cipher=%s"
          % (done, elapsed, done / elapsed if elapsed else 0, pct_us(lat, 0.5), pct_us(lat, 0.99),
             pct_us(lat, 1.0), errors, proto, cipher), flush=True)
    return 1 if errors else 0


def tree_rss_kb(pid):
    """VmRSS of pid and its descendants: the harness's own measure."""
    from harness import proc_tree, rss_kb   # bench/harness.py, beside this file
    return rss_kb(proc_tree(pid))


def stop_child(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def run_first(a, cmd):
    expect = a.expect_body.encode() if a.expect_body is not None else None
    ctx = context() if a.tls else None
    req = request_bytes(a.host)
    t0 = time.monotonic_ns()
    pid = os.fork()
    if pid == 0:
        try:
            if a.cpu is not None:
                os.sched_setaffinity(0, {a.cpu})
            null = os.open("/dev/null", os.O_WRONLY)
            os.dup2(null, 1)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    deadline = t0 + a.timeout_ms * 1_000_000
    attempts, rc = 0, 0
    while True:
        attempts += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect((a.host, a.port))
        except ConnectionRefusedError:
            s.close()
            if time.monotonic_ns() >= deadline or os.waitpid(pid, os.WNOHANG)[0] == pid:
                print("tls_client: no reply within %d ms (or the server exited)" % a.timeout_ms,
                      file=sys.stderr)
                print("first_reply_us=-1 attempts=%d" % attempts, flush=True)
                rc = 1
                break
            time.sleep(0.001)
            continue
        try:
            s.settimeout(max(0.001, (deadline - time.monotonic_ns()) / 1e9))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = ctx.wrap_socket(s) if ctx else s
            conn.sendall(req)
            read_response(conn, b"", expect)
            t = time.monotonic_ns()
            extra = " rss_kb=%d" % tree_rss_kb(pid) if a.rss else ""
            print("first_reply_us=%.1f attempts=%d%s" % ((t - t0) / 1000, attempts, extra),
                  flush=True)
            conn.close()
        except (BadResponse, OSError, ValueError) as e:
            print("tls_client: connected but no reply: %s" % e, file=sys.stderr)
            print("first_reply_us=-1 attempts=%d" % attempts, flush=True)
            s.close()
            rc = 1
        break
    stop_child(pid)
    return rc


def main():
    argv = sys.argv[1:]
    cmd = None
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("http", "first"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--expect-body")
    ap.add_argument("--tls", action="store_true", help="first: speak TLS (http always does)")
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--timeout-ms", type=int, default=10000)
    ap.add_argument("--rss", action="store_true")
    a = ap.parse_args(argv)
    if a.mode == "http":
        return run_http(a)
    if not cmd:
        ap.error("first needs -- CMD ARGS...")
    return run_first(a, cmd)


if __name__ == "__main__":
    sys.exit(main())
