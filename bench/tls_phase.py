"""bench/tls_phase.py: the TLS parts of `make bench` (issue 9) that are not a
workload: the benchmark certificate, and the RSS and start time of a daemon
with and without a TLS listener.

The certificate. One self-signed ECDSA P-256 certificate and key
(CN=localhost, subjectAltName IP:127.0.0.1 and DNS:localhost, 10 years),
made once with the openssl command into build/bench/tls/ and kept while it
is valid for another day. The https workload's servers (luanetd and nginx)
and this phase all use it.

Daemon start with and without TLS. `build/luanetd -c CONF` with one service,
scripts/hello_http.lua, on `tcp://127.0.0.1:P` (the "tcp" daemon) or on
`tls://127.0.0.1:P` with `tls = { cert, key, alpn = "http/1.1" }` (the "tls"
daemon), the config in a temporary directory, the daemon pinned to the
server CPU. K starts of each kind, interleaved, the order flipped every
start:

  first reply   bench/tls_client.py first on the load CPU: forks and execs
                the daemon, tries to connect every 1 ms, once connected
                (and through the TLS handshake for the tls daemon: TLS 1.3,
                X25519, the server's ECDSA signature) sends one GET and
                reads the whole reply: the time from the fork to the reply,
                and the VmRSS of the daemon right after it (the connection
                still open).
  base RSS      the daemon started by this module, its stderr read until
                its "listening on" log line (the time to that line is
                "ready"); VmRSS then. Then one request on a new connection
                from this (unpinned) process, timed ("a request to the
                running daemon": what the first reply pays for the
                connection, the handshake and the request alone), and
                VmRSS after it, the connection still open.

Reported: the medians over the K starts, per daemon, and tls - tcp.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tls_client

KEY_TYPE = "ECDSA P-256"
CERT_SUBJECT = "/CN=localhost"
CERT_SAN = "subjectAltName=IP:127.0.0.1,DNS:localhost"
BODY = "Hello, World!"
READY = re.compile(r"listening on (tcp|tls)://")
KINDS = ("tcp", "tls")


def ensure_cert(out):
    """(cert, key): build/bench/tls/{cert,key}.pem, made with openssl unless
    both are there and the certificate is valid for another day."""
    d = Path(out) / "tls"
    cert, key = d / "cert.pem", d / "key.pem"
    if cert.exists() and key.exists():
        r = subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(cert)],
                           capture_output=True)
        if r.returncode == 0:
            return cert, key
    d.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key) + ".tmp", "-out", str(cert) + ".tmp",
                        "-days", "3650", "-subj", CERT_SUBJECT, "-addext", CERT_SAN],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % r.stderr.strip())
    os.replace(str(key) + ".tmp", key)
    os.replace(str(cert) + ".tmp", cert)
    return cert, key


CONF = """log = {{ level = "info" }}
control = "{control}"
service "hello" {{
  script = "{script}",
  listen = {{ "{kind}://127.0.0.1:{port}" }},{tls}
}}
"""


def write_conf(tmp, root, kind, port, cert, key, i):
    tls = ('\n  tls = { cert = "%s", key = "%s", alpn = "http/1.1" },' % (cert, key)
           if kind == "tls" else "")
    path = Path(tmp) / ("%s-%d.conf" % (kind, i))
    path.write_text(CONF.format(control=Path(tmp) / ("%s-%d.sock" % (kind, i)),
                                script=Path(root) / "scripts" / "hello_http.lua",
                                kind=kind, port=port, tls=tls))
    return path


def rss_kb(pid):
    return tls_client.tree_rss_kb(pid)


def one_request(kind, port):
    """Connect, (handshake,) GET, the whole reply: (seconds, the open socket)."""
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if kind == "tls":
        s = tls_client.context().wrap_socket(s)
    s.sendall(tls_client.request_bytes("127.0.0.1"))
    tls_client.read_response(s, b"", BODY.encode())
    return time.monotonic() - t, s


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_start(root, server_cpu, conf, kind, port, logf):
    """Starts the daemon, waits for its "listening on" line: the figures."""
    cmd = ["taskset", "-c", str(server_cpu), str(Path(root) / "build" / "luanetd"), "-c", str(conf)]
    logf.write("$ %s\n" % " ".join(cmd))
    logf.flush()
    lines = []
    ready = threading.Event()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)

    def drain():
        for line in proc.stderr:
            lines.append(line)
            if READY.search(line):
                ready.set()
    th = threading.Thread(target=drain, daemon=True)
    th.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("no 'listening on' line within 30 s (exit code %s)" % proc.poll())
        ready_s = time.monotonic() - t0
        base = rss_kb(proc.pid)
        req_s, sock = one_request(kind, port)
        try:
            after = rss_kb(proc.pid)
        finally:
            sock.close()
        return dict(ready_ms=1000 * ready_s, base_rss_kb=base, warm_request_ms=1000 * req_s,
                    rss_after_request_kb=after)
    finally:
        stop(proc)
        th.join(5)
        logf.writelines(lines)
        logf.flush()


def first_start(root, server_cpu, load_cpu, conf, kind, port, logf):
    cmd = ["taskset", "-c", str(load_cpu), sys.executable,
           str(Path(root) / "bench" / "tls_client.py"), "first", "--port", str(port),
           "--cpu", str(server_cpu), "--timeout-ms", "10000", "--rss", "--expect-body", BODY]
    cmd += ["--tls"] if kind == "tls" else []
    cmd += ["--", str(Path(root) / "build" / "luanetd"), "-c", str(conf)]
    logf.write("$ %s\n" % " ".join(cmd))
    logf.flush()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=logf, text=True, timeout=60)
    kv = dict(tok.partition("=")[::2] for tok in r.stdout.split())
    if r.returncode != 0 or float(kv.get("first_reply_us", -1)) < 0:
        raise RuntimeError("tls_client.py first exited %d: %s" % (r.returncode, r.stdout.strip()))
    return dict(first_reply_ms=float(kv["first_reply_us"]) / 1000,
                rss_after_first_kb=float(kv["rss_kb"]), attempts=int(kv["attempts"]))


METRICS = [  # key, label, format
    ("first_reply_ms", "start-to-first-reply ms (fork to the first whole reply)", "%.1f"),
    ("ready_ms", "start to the \"listening on\" log line, ms", "%.1f"),
    ("warm_request_ms", "one request to the running daemon ms (connect, handshake, GET)", "%.2f"),
    ("base_rss_kb", "base RSS kB (at the \"listening on\" line)", "%.0f"),
    ("rss_after_request_kb", "RSS kB after one request (connection open)", "%.0f"),
    ("rss_after_first_kb", "RSS kB after the first reply (connection open)", "%.0f"),
]


def run(root, out, server_cpu, load_cpu, starts, pick_port, logs, log=print):
    res = {"starts": starts, "server_cpu": server_cpu, "load_cpu": load_cpu,
           "key_type": KEY_TYPE, "daemons": {k: {"samples": []} for k in KINDS}, "errors": []}
    try:
        cert, key = ensure_cert(out)
    except Exception as e:
        res["errors"].append("certificate: %s" % e)
        return res
    res["cert"] = str(Path(cert).relative_to(root))
    tmp = tempfile.mkdtemp(prefix="luanetd-tls-start-")
    res["conf_example"] = {}
    luanetd = str(Path(root) / "build" / "luanetd")
    try:
        with open(Path(logs) / "tls-start.log", "w") as logf:
            for kind in KINDS:   # the config is valid, and shown in RESULTS.md
                conf = write_conf(tmp, root, kind, 1, cert, key, 0)
                r = subprocess.run([luanetd, "-c", str(conf), "--check"], capture_output=True,
                                   text=True)
                if r.returncode != 0:
                    res["errors"].append("%s: luanetd -c --check: %s" % (kind, (r.stdout + r.stderr).strip()))
                    return res
                res["conf_example"][kind] = conf.read_text().replace(tmp, "TMP").replace(
                    str(root) + "/", "")
            for i in range(starts):
                for kind in (KINDS if i % 2 == 0 else KINDS[::-1]):
                    sample = {"start": i}
                    try:
                        port = pick_port()
                        conf = write_conf(tmp, root, kind, port, cert, key, 2 * i + 1)
                        sample.update(first_start(root, server_cpu, load_cpu, conf, kind, port, logf))
                        port = pick_port()
                        conf = write_conf(tmp, root, kind, port, cert, key, 2 * i + 2)
                        sample.update(memory_start(root, server_cpu, conf, kind, port, logf))
                    except Exception as e:
                        res["errors"].append("%s start %d: %s" % (kind, i + 1, e))
                        log("  %s start %d: %s" % (kind, i + 1, e))
                        continue
                    res["daemons"][kind]["samples"].append(sample)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for kind in KINDS:
        d = res["daemons"][kind]
        for key_, _, _ in METRICS:
            vals = [s[key_] for s in d["samples"] if s.get(key_) is not None]
            if vals:
                d[key_] = statistics.median(vals)
        log("  %s daemon: first reply %s ms, ready %s ms, base RSS %s kB, RSS after a request "
            "%s kB (medians of %d)" % (kind, _f(d.get("first_reply_ms"), "%.1f"),
                                        _f(d.get("ready_ms"), "%.1f"),
                                        _f(d.get("base_rss_kb"), "%.0f"),
                                        _f(d.get("rss_after_request_kb"), "%.0f"),
                                        len(d["samples"])))
    return res


def _f(v, spec):
    return "-" if v is None else spec % v


def section(res):
    lines = ["## Daemon start with and without a TLS listener", ""]
    tcp, tls = res["daemons"]["tcp"], res["daemons"]["tls"]
    lines += [
        "`build/luanetd -c CONF`, one service (scripts/hello_http.lua), pinned to CPU %d; the "
        "**tcp** daemon listens on `tcp://127.0.0.1:P`, the **tls** daemon on "
        "`tls://127.0.0.1:P` with `tls = { cert, key, alpn = \"http/1.1\" }` (the benchmark "
        "certificate `%s`, %s, self-signed). luanetd initialises OpenSSL lazily, so the tcp "
        "daemon is also the daemon that has never touched TLS; tls - tcp is what a TLS "
        "listener costs. %d starts of each, interleaved, medians."
        % (res["server_cpu"], res.get("cert", "build/bench/tls/cert.pem"), res["key_type"],
           res["starts"]),
        "",
        "- *start-to-first-reply*: `bench/tls_client.py first` on CPU %d forks and execs the "
        "daemon, tries to connect every 1 ms (the resolution) and, once connected, sends one "
        "`GET /` (over TLS 1.3 for the tls daemon, with Python's ssl module, no verification) and "
        "reads the whole reply; the time from the fork to the reply. The tls figure includes one "
        "TLS handshake (see the request to the running daemon for what that costs alone). RSS "
        "after the first reply is the daemon's VmRSS read right then." % res["load_cpu"],
        "- *base RSS*: other starts, where the harness reads the daemon's stderr up to its "
        "`listening on` log line (the time to that line is the *start to the log line*) and "
        "takes VmRSS then; then one request on a new connection from the harness's process "
        "(unpinned; connect, handshake, GET, the whole reply, timed) and VmRSS after it.",
        "",
        "| measure | tcp daemon | tls daemon | tls - tcp |",
        "|---|---|---|---|",
    ]
    for key, label, spec in METRICS:
        a, b = tcp.get(key), tls.get(key)
        lines.append("| %s | %s | %s | %s |" % (label, _f(a, spec), _f(b, spec),
                                                 _f(b - a if a is not None and b is not None
                                                    else None, "%+" + spec[1:])))
    lines.append("")
    samples = []
    for kind in KINDS:
        s = res["daemons"][kind]["samples"]
        if s:
            samples.append("%s: first reply ms %s; base RSS kB %s" % (
                kind, " ".join("%.1f" % x["first_reply_ms"] for x in s),
                " ".join("%d" % x["base_rss_kb"] for x in s)))
    if samples:
        lines += ["Samples: " + "; ".join(samples) + ".", ""]
    if res.get("conf_example"):
        lines += ["The tls daemon's config (TMP: the temporary directory, P: a free port):", "",
                  "```lua", res["conf_example"]["tls"].rstrip().replace("127.0.0.1:1\"",
                                                                       "127.0.0.1:P\""), "```", ""]
    if res["errors"]:
        lines += ["### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]] + [""]
    return lines
