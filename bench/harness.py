#!/usr/bin/python3
"""bench/harness.py: luanetd against its peers, side by side, in one run.

Called by bench/run.sh (`make bench`), which builds the C parts first. Every
server runs pinned to CPU 0 and every load client to CPU 1 (taskset), on
127.0.0.1 only; every load run is bounded in time; only processes started
here are stopped, by PID.

What is measured, for each workload, on its subject (luanetd) and its peers:

  throughput rounds   R rounds x S seconds per server; each round runs the
                      subject and every peer back to back (the order flips
                      every round) and the report takes the median over the
                      rounds of the per-round ratios subject/peer for units/s,
                      server CPU per unit (utime+stime from /proc/PID/stat of
                      the server's process tree, over the round) and p99.
                      An interleaved workload (echo, whose driver is ours)
                      gives the servers turns of 100 ms within the round
                      instead, so that both sides of a ratio meet the same
                      machine: this VM's speed drifts by tens of percent
                      from one second to the next, and with back-to-back
                      runs that drift was most of the spread of the ratios.
  syscalls            strace -c -f attached to the running server over a
                      fixed count of round trips on one connection, / count.
  instructions        valgrind --tool=cachegrind (user space): total Ir of a
                      run with base+count round trips minus one with base,
                      / count, so start-up and the connection cancel out.
  base RSS            VmRSS right after the ready line.
  RSS per idle conn   N connections held open (each echoed once), VmRSS
                      after minus before, / N.
  start-to-reply      median of K: from fork+exec of the server to the first
                      echo of a client that retries connecting every 1 ms.

The https workload's fixed-count driver is bench/tls_client.py (loadgen has
no TLS), and it has no idle/first rows; bench/tls_phase.py makes its
certificate and measures the RSS and start time of the daemon with a tcp://
and with a tls:// listener (the phase `tls-start`).

The shared workload (SharedDict against ngx.shared.DICT, two workers on
one key, Channel fan-out) is a phase of bench/shared_phase.py, and the
redis workload (net.Redis against ioredis, the chat on three nodes behind
HAProxy) one of bench/redis_phase.py, named in --workloads like the
Workload entries (PHASE_WORKLOADS).

Adding a server: one SERVERS entry (argv template, ready-line regex or None
for a port probe, the workloads it serves, optional setup() that writes its
config into its work dir). Adding a workload: one WORKLOADS entry (driver
argv templates for the timed rounds and the fixed count, a parser of the
driver's output into units/units_per_s/p50_us/p99_us, the subject, the
peers, the targets). The phases, tables and RESULTS.md follow from them.
"""
import argparse
import datetime
import json
import os
import platform
import queue
import random
import re
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import ftp_phase
import redis_phase
import reload_phase
from kv import parse_kv
import shared_phase
import static_phase
import tls_phase
import workers_phase

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = ROOT / "build" / "bench"
SERVER_CPU, LOAD_CPU = 0, 1
HZ = os.sysconf("SC_CLK_TCK")
READY_LINE = r"The server is running on IP: \S+ port: (\d+)"


# ---------------------------------------------------------------- the tables

@dataclass
class Server:
    name: str
    argv: list                       # {root} {bench} {out} {port} {work}
    ready: Optional[str] = READY_LINE  # regex on stdout; None: probe the port
    workloads: tuple = ("echo",)
    about: str = ""
    setup: Optional[Callable] = None  # setup(work_dir: Path, port: int)
    env: dict = field(default_factory=dict)
    valgrind: bool = True            # cachegrind it (False: too slow/unfit)


@dataclass
class Target:
    metric: str        # a key of the per-server metrics
    label: str
    vs: Optional[str] = None   # a peer: the bound is on subject/peer
    max: Optional[float] = None
    equal: Optional[float] = None   # |subject - peer| <= equal
    spec: str = "%.2f"         # how the measured value is shown
    vs_workload: Optional[str] = None   # the bound is on subject / that (earlier) workload's subject
    minus: Optional[str] = None   # the bound is on the metric minus this metric of the subject


@dataclass
class IdleVariant:
    """One more `loadgen hold` in the memory phase, on its own server or
    with other arguments (WebSocket with permessage-deflate): its figures
    are rows of the workload's subject, metrics rss_per_conn_connected_<key>_b
    and rss_per_idle_conn_<key>_b."""
    key: str
    label: str         # in the row labels: "RSS per idle conn B, <label> (...)"
    server: str        # a SERVERS entry serving the workload
    args: list         # of `loadgen hold`, as Workload.idle


@dataclass
class Workload:
    name: str
    about: str
    unit: str                  # "msg", "req"
    subject: str
    peers: list
    load: list                 # timed driver: {host} {port} {conns} {secs} {out}
    fixed: list                # fixed-count driver: {count}
    parse: Callable            # driver stdout -> dict(units, units_per_s, p50_us, p99_us)
    conns: int = 16
    idle: Optional[list] = None    # args of `loadgen hold` (RSS per idle conn); None: skip
    idle_variants: list = field(default_factory=list)   # IdleVariant: the subject's other idle rows
    first: Optional[list] = None   # args of `loadgen first` (start-to-reply); None: skip
    targets: list = field(default_factory=list)
    compare: str = "floor"     # the peer the observations hold syscalls/instructions against
    interleaved: bool = False  # load takes every server's port and gives them turns in a round
    tls_proto: Optional[str] = None   # the fixed driver's session must be this (TLS drivers)
    notes: list = field(default_factory=list)   # paragraphs for RESULTS.md, after the servers


def parse_loadgen(text):
    d = parse_kv(text)
    if d.get("errors", 0):
        raise ValueError("driver reported errors: %s" % text.strip())
    return dict(units=d["messages"], units_per_s=d["msgs_per_s"],
                p50_us=d["p50_us"], p99_us=d["p99_us"])


def parse_loadgen_turns(text):
    """loadgen echo with several ports: port -> its line's metrics, and
    secs (the time of its turns)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("mode=echo "):
            d = parse_loadgen(line)
            kv = parse_kv(line)
            d["secs"] = kv["secs"]
            out[int(kv["port"])] = d
    if not out:
        raise ValueError("no loadgen line in: %r" % text[-300:])
    return out


LOADGEN = ["{out}/loadgen"]


_UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1e6}


def parse_h2load(text):
    """h2load: requests done and req/s; it reports no latency percentiles."""
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored", text)
    if not m:
        raise ValueError("no request count in h2load output: %r" % text[-300:])
    if int(m.group(5)) or int(m.group(6)):
        raise ValueError("h2load reported failures: %s" % m.group(0))
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
    return dict(units=float(m.group(4)), units_per_s=rps, p50_us=None, p99_us=None)


def parse_wrk(text):
    """wrk --latency: requests, req/s, and the 50% and 99% latencies."""
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if not m:
        raise ValueError("no request count in wrk output: %r" % text[-300:])
    if re.search(r"Non-2xx|Socket errors", text):
        raise ValueError("wrk reported errors: %s" % text.strip())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def pct(p):
        mm = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, text, re.M)
        return float(mm.group(1)) * _UNITS_US[mm.group(2)] if mm else None
    return dict(units=float(m.group(1)), units_per_s=rps, p50_us=pct(50), p99_us=pct(99))


NGINX_CONF = """worker_processes 1;
master_process off;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
{modules}
events {{ worker_connections 10240; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {work}; proxy_temp_path {work}; fastcgi_temp_path {work};
  uwsgi_temp_path {work}; scgi_temp_path {work};{http_extra}
  server {{
    listen 127.0.0.1:{port}{listen_opts};{server_extra}
    location / {{ default_type text/plain; {handler} }}
  }}
}}
"""


def nginx_setup(handler, modules="", tls=False, http_extra="", http2=False):
    """The setup that writes NGINX_CONF with `handler` in `location / { }`;
    tls=True: `listen ... ssl` with the benchmark certificate (tls_phase) and
    TLS 1.3 allowed (nginx 1.22's default ssl_protocols stop at TLSv1.2);
    http_extra: directives of the http block (the shared phase's
    lua_shared_dict); http2=True: `listen ... http2` (h2c with prior
    knowledge on a plain port, h2 by ALPN with tls)."""
    def setup(work, port):
        listen_opts = server_extra = ""
        if tls:
            cert, key = tls_phase.ensure_cert(OUT)
            listen_opts = " ssl"
            server_extra = ("\n    ssl_certificate %s; ssl_certificate_key %s;"
                            "\n    ssl_protocols TLSv1.2 TLSv1.3;" % (cert, key))
        if http2:
            listen_opts += " http2"
        (work / "nginx.conf").write_text(NGINX_CONF.format(work=work, port=port, handler=handler,
                                                           modules=modules, listen_opts=listen_opts,
                                                           server_extra=server_extra,
                                                           http_extra="\n  " + http_extra if http_extra else ""))
    return setup


def tls_cert_setup(work, port):
    """luanetd-https's setup: the certificate its argv names exists."""
    tls_phase.ensure_cert(OUT)

def start_static(name, argv, ready_line=True, setup=None):
    """The static phase's servers (static_phase.py), started like the others."""
    return Running(Server(name, argv, ready=READY_LINE if ready_line else None, setup=setup),
                   "static")

def start_shared(name, argv, ready_line=True, setup=None):
    """The shared phase's nginx (shared_phase.py), started like the others."""
    return Running(Server(name, argv, ready=READY_LINE if ready_line else None, setup=setup),
                   "shared")

def start_ftp(name, argv, ready_line=True, setup=None):
    """The FTP phase's servers (ftp_phase.py), started like the others."""
    return Running(Server(name, argv, ready=READY_LINE if ready_line else None, setup=setup),
                   "ftp")

NGINX_LUA_MODULES = ("load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
                     "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;")

SERVERS = {s.name: s for s in [
    Server("luanetd", ["{root}/build/luanetd", "{root}/scripts/echo_server.lua",
                       "--port", "{port}"],
           about="build/luanetd scripts/echo_server.lua"),
    Server("floor", ["{out}/echo_floor", "--port", "{port}"],
           about="bench/echo_floor.c: plain C, level-triggered epoll, "
                 "one read + one write per readiness"),
    Server("node", ["node", "{bench}/node_echo.js", "--port", "{port}"],
           about="bench/node_echo.js: Node.js `net`"),
    Server("luanetd-ws", ["{root}/build/luanetd", "{root}/scripts/ws_echo.lua", "--port", "{port}"],
           workloads=("ws",), about="build/luanetd scripts/ws_echo.lua (net.WebSocketServer, no deflate)"),
    Server("luanetd-ws-deflate", ["{root}/build/luanetd", "{root}/scripts/ws_echo.lua", "--port", "{port}",
                                  "--deflate", "yes"],
           workloads=("ws",), about="build/luanetd scripts/ws_echo.lua --deflate yes (permessage-deflate "
                                    "when the client offers it): only for the idle rows with deflate"),
    Server("node-ws", ["node", "{bench}/node_ws_echo.js", "--port", "{port}"], workloads=("ws",),
           about="bench/node_ws_echo.js: Node.js with the `ws` package (bench/package.json pins it), "
                 "perMessageDeflate off"),
    Server("luanetd-http", ["{root}/build/luanetd", "{root}/scripts/hello_http.lua", "--port", "{port}"],
           workloads=("http",), about="build/luanetd scripts/hello_http.lua (a Lua handler)"),
    Server("floor-http", ["{out}/echo_floor", "--http", "--port", "{port}"], workloads=("http",),
           about="bench/echo_floor.c --http: one fixed response per request head, no parsing"),
    Server("nginx", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"], ready=None,
           workloads=("http",), setup=nginx_setup('return 200 "Hello, World!";'),
           about="nginx, one process (master_process off: one worker, and cachegrind sees it), `return 200`"),
    Server("nginx-lua", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"], ready=None,
           workloads=("http",), setup=nginx_setup('content_by_lua_block { ngx.print("Hello, World!") }',
                                                  NGINX_LUA_MODULES),
           about="nginx, 1 worker, libnginx-mod-http-lua `content_by_lua_block`"),
    Server("node-http", ["node", "{bench}/node_http.js", "--port", "{port}"], workloads=("http",),
           about="bench/node_http.js: Node.js `http`"),
    Server("luanetd-https", ["{root}/build/luanetd", "{root}/scripts/hello_http.lua", "--port", "{port}",
                             "--cert", "{out}/tls/cert.pem", "--key", "{out}/tls/key.pem"],
           workloads=("https",), setup=tls_cert_setup,
           about="build/luanetd scripts/hello_http.lua --cert C --key K (TcpServer:setSslConfiguration, "
                 "ALPN h2,http/1.1: wrk offers no ALPN, so HTTP/1.1)"),
    Server("nginx-tls", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"], ready=None,
           workloads=("https",), setup=nginx_setup('return 200 "Hello, World!";', tls=True),
           about="nginx, one process (master_process off), `listen 127.0.0.1:P ssl;` with "
                 "ssl_certificate/ssl_certificate_key C/K and `ssl_protocols TLSv1.2 TLSv1.3` (1.22's "
                 "default stops at TLSv1.2), its other TLS settings left at their defaults, `return 200`"),
    Server("luanetd-h2c", ["{root}/build/luanetd", "{root}/scripts/hello_http.lua", "--port", "{port}"],
           workloads=("h2c",), about="build/luanetd scripts/hello_http.lua: HTTP/2 with prior knowledge "
                                     "on its plain port, nothing set"),
    Server("nginx-h2c", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"], ready=None,
           workloads=("h2c",), setup=nginx_setup('return 200 "Hello, World!";', http2=True),
           about="nginx, one process (master_process off), `listen 127.0.0.1:P http2;`, `return 200`"),
    Server("luanetd-h2", ["{root}/build/luanetd", "{root}/scripts/hello_http.lua", "--port", "{port}",
                          "--cert", "{out}/tls/cert.pem", "--key", "{out}/tls/key.pem"],
           workloads=("h2",), setup=tls_cert_setup,
           about="build/luanetd scripts/hello_http.lua --cert C --key K: h2 by ALPN, nothing else set"),
    Server("nginx-h2", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"], ready=None,
           workloads=("h2",), setup=nginx_setup('return 200 "Hello, World!";', tls=True, http2=True),
           about="nginx, one process (master_process off), `listen 127.0.0.1:P ssl http2;` with the "
                 "certificate of the https workload, `return 200`"),
]}

# HTTP/2's idle connection: the preface, an empty SETTINGS and one GET
# (HEADERS, stream 1, END_STREAM|END_HEADERS: :method GET, :scheme http,
# :path / from HPACK's static table); the reply is complete past 60 bytes
# (the server's SETTINGS, the ACK, HEADERS and DATA: more than that for
# both servers).
H2_GET = ("PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n"
          "\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00"
          "\\x00\\x00\\x03\\x01\\x05\\x00\\x00\\x00\\x01\\x82\\x86\\x84")

# Workloads that are a phase of their own module, not a Workload entry:
# named in --workloads like the others (and in the default), left out by
# --skip too. shared: shared_phase.py (SharedDict vs ngx.shared, Channel);
# redis: redis_phase.py (net.Redis vs ioredis, the chat through HAProxy).
PHASE_WORKLOADS = ["shared", "redis"]

WORKLOADS = {w.name: w for w in [
    Workload(
        "echo", "64-byte TCP ping-pong (bench/loadgen.c)", "msg",
        subject="luanetd", peers=["floor", "node"],
        load=LOADGEN + ["echo", "--port", "{port}", "--conns", "{conns}",
                        "--secs", "{secs}", "--size", "64", "--slice-ms", "100"],
        fixed=LOADGEN + ["echo", "--port", "{port}", "--conns", "1",
                         "--count", "{count}", "--secs", "120", "--size", "64"],
        parse=parse_loadgen_turns, interleaved=True, conns=50,
        idle=["--size", "64"],
        first=["--size", "64"],
        targets=[
            Target("cpu_us_per_unit", "server CPU per message <= 1.15x floor's",
                   vs="floor", max=1.15, spec="%.3fx"),
            Target("syscalls_per_rt", "syscalls per round trip = floor's",
                   vs="floor", equal=0.02, spec="%.3f"),
            Target("rss_per_idle_conn_b", "RSS per idle connection <= 1 KB",
                   max=1024, spec="%.0f B"),
            Target("base_rss_kb", "base RSS <= 4 MB", max=4096, spec="%.0f kB"),
            Target("first_reply_ms", "start-to-first-reply <= 10 ms", max=10, spec="%.1f ms"),
        ]),
    Workload(
        "ws", "64-byte WebSocket text echo (bench/loadgen.c --ws: masked frames in, unmasked out)", "msg",
        subject="luanetd-ws", peers=["node-ws"],
        load=LOADGEN + ["echo", "--ws", "--port", "{port}", "--conns", "{conns}",
                        "--secs", "{secs}", "--size", "64", "--slice-ms", "100"],
        fixed=LOADGEN + ["echo", "--ws", "--port", "{port}", "--conns", "1",
                         "--count", "{count}", "--secs", "120", "--size", "64"],
        parse=parse_loadgen_turns, interleaved=True, conns=50, compare="node-ws",
        idle=["--ws", "--size", "64"],
        # 256 bytes: luanetd sends messages under 128 bytes uncompressed even
        # on a deflate connection (WS_DEFLATE_MIN in daemon/ws/websocket.c),
        # so a 64-byte echo would never make its deflate stream
        idle_variants=[
            IdleVariant("deflate_nt", "deflate, no context takeover", "luanetd-ws-deflate",
                        ["--ws", "--deflate-no-takeover", "--size", "256"]),
            IdleVariant("deflate", "deflate, context takeover", "luanetd-ws-deflate",
                        ["--ws", "--deflate", "--size", "256"]),
        ],
        first=["--ws", "--size", "64"],
        notes=["Every connection makes its opening handshake before the rounds, so the rounds measure "
               "frames only. The comparison with luanetd's TCP echo is against the echo workload's "
               "luanetd, measured earlier in the same run (medians of its rounds, not per-round "
               "ratios, since the two never share a round).",
               "The idle rows with deflate are luanetd-ws-deflate's, in luanetd-ws's column: `loadgen "
               "hold --ws --deflate-no-takeover` offers `permessage-deflate; server_no_context_takeover; "
               "client_no_context_takeover`, `--deflate` offers `permessage-deflate; "
               "client_max_window_bits` (context takeover both ways), and loadgen fails unless the 101 "
               "agrees to those terms. Its one message per connection is 256 bytes of text, sent "
               "compressed (RSV1, a DEFLATE stored block), so the server inflates it, and comes back "
               "compressed (loadgen counts the replies with RSV1; the harness wants all of them), so the "
               "server deflates it: luanetd leaves messages under 128 bytes uncompressed, so a 64-byte "
               "echo would not make its deflate stream. RSS counts the pages touched: zlib's deflate "
               "state at windowBits 15 and memLevel 8 allocates about 256 KiB, its inflate state about "
               "7 KiB plus a 32 KiB window, of which a short message touches a part."],
        targets=[
            Target("cpu_us_per_unit", "server CPU per message <= 0.6x Node ws's",
                   vs="node-ws", max=0.6, spec="%.3fx"),
            Target("cpu_us_per_unit", "server CPU per message <= 1.3x luanetd's own TCP echo's",
                   vs_workload="echo", max=1.3, spec="%.3fx"),
            Target("rss_per_idle_conn_b", "RSS per idle WebSocket (no deflate) <= 1.5 KB",
                   max=1536, spec="%.0f B"),
            # no zlib state held: about what a connection without deflate holds
            Target("rss_per_idle_conn_deflate_nt_b",
                   "RSS per idle WebSocket, deflate without context takeover <= no deflate's + 256 B",
                   minus="rss_per_idle_conn_b", max=256, spec="%+.0f B"),
        ]),
    Workload(
        "http", "keep-alive GET, \"Hello, World!\" (wrk -t1)", "req",
        subject="luanetd-http", peers=["floor-http", "nginx", "nginx-lua", "node-http"],
        load=["wrk", "-t1", "-c{conns}", "-d{whole_secs}s", "--latency", "http://127.0.0.1:{port}/"],
        fixed=LOADGEN + ["http", "--port", "{port}", "--count", "{count}"],
        parse=parse_wrk, conns=50,
        idle=["--send", "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", "--expect", "12"],
        first=["--send", "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", "--expect", "12"],
        targets=[
            Target("cpu_us_per_unit", "server CPU per request <= nginx's `return 200`",
                   vs="nginx", max=1.0, spec="%.3fx"),
            Target("cpu_us_per_unit", "server CPU per request <= 0.87x nginx+Lua's",
                   vs="nginx-lua", max=0.87, spec="%.3fx"),
            Target("syscalls_per_rt", "syscalls per keep-alive request <= nginx's",
                   vs="nginx", max=1.01, spec="%.3fx"),
            Target("rss_per_idle_conn_b", "RSS per idle keep-alive connection <= 1 KB",
                   max=1024, spec="%.0f B"),
        ]),
    Workload(
        "https", "keep-alive GET over TLS 1.3, \"Hello, World!\" (wrk -t1)", "req",
        subject="luanetd-https", peers=["nginx-tls"],
        load=["wrk", "-t1", "-c{conns}", "-d{whole_secs}s", "--latency", "https://127.0.0.1:{port}/"],
        fixed=[sys.executable, "{bench}/tls_client.py", "http", "--port", "{port}",
               "--count", "{count}", "--expect-body", "Hello, World!"],
        parse=parse_wrk, conns=50, compare="nginx-tls", tls_proto="TLSv1.3",
        idle=None,    # loadgen hold and first speak plain TCP: see tls_phase (daemon start)
        first=None,
        notes=["Both servers use the same certificate, `build/bench/tls/cert.pem` (%s, self-signed, "
               "made once with the openssl command by bench/tls_phase.py), TLS 1.3 (luanetd's "
               "default; nginx 1.22 needs ssl_protocols for it), the cipher the clients pick first, "
               "AES-256-GCM. wrk opens its %s connections at the start of each run, so the handshakes "
               "(one per connection) are amortised over the keep-alive requests, as intended: this "
               "measures the encrypted request path. The fixed count for strace and cachegrind is "
               "bench/tls_client.py (Python's ssl module, one keep-alive connection, no "
               "verification), so those rows include one handshake per {count} requests. In the "
               "cachegrind table, `???` also holds OpenSSL's internal functions (the exported ones "
               "have names) and its assembly (AES-GCM), for both servers." % (tls_phase.KEY_TYPE, 50)],
        targets=[
            Target("cpu_us_per_unit", "server CPU per HTTPS request <= 1.1x nginx's (TLS)",
                   vs="nginx-tls", max=1.1, spec="%.3fx"),
        ]),
    Workload(
        "h2c", "HTTP/2 GET with prior knowledge, \"Hello, World!\" (h2load -c 50 -m 10)", "req",
        subject="luanetd-h2c", peers=["nginx-h2c"],
        load=["h2load", "-t", "1", "-c", "{conns}", "-m", "10", "-D", "{whole_secs}",
              "http://127.0.0.1:{port}/"],
        fixed=["h2load", "-t", "1", "-c", "1", "-m", "1", "-n", "{count}", "http://127.0.0.1:{port}/"],
        parse=parse_h2load, conns=50, compare="nginx-h2c",
        idle=["--send", H2_GET, "--expect", "60"],
        first=None,
        notes=["h2load opens its 50 connections at the start of each run and keeps 10 streams open on "
               "each; the fixed count for strace and cachegrind is one connection with one stream at a "
               "time. nginx's `keepalive_requests 1000000` (the harness's config) lets its connections "
               "carry every request (its default, 1000, closes them under h2load). The idle rows hold "
               "connections that made one GET each (the preface, SETTINGS, one HEADERS frame)."],
        targets=[
            Target("cpu_us_per_unit", "server CPU per HTTP/2 request (h2c) <= 0.9x nginx's",
                   vs="nginx-h2c", max=0.9, spec="%.3fx"),
        ]),
    Workload(
        "h2", "HTTP/2 GET over TLS 1.3, h2 by ALPN, \"Hello, World!\" (h2load -c 50 -m 10)", "req",
        subject="luanetd-h2", peers=["nginx-h2"],
        load=["h2load", "-t", "1", "-c", "{conns}", "-m", "10", "-D", "{whole_secs}",
              "https://127.0.0.1:{port}/"],
        fixed=["h2load", "-t", "1", "-c", "1", "-m", "1", "-n", "{count}", "https://127.0.0.1:{port}/"],
        parse=parse_h2load, conns=50, compare="nginx-h2",
        idle=None, first=None,
        notes=["The certificate and TLS settings of the https workload; h2load offers h2 by ALPN and "
               "both servers take it."],
        targets=[
            Target("cpu_us_per_unit", "server CPU per HTTP/2 request over TLS <= 0.9x nginx's",
                   vs="nginx-h2", max=0.9, spec="%.3fx"),
        ]),
]}


# ----------------------------------------------------------------- processes

def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def fill(template, **kw):
    base = dict(root=ROOT, bench=BENCH, out=OUT, host="127.0.0.1")
    base.update(kw)
    if "secs" in kw:   # wrk takes whole seconds
        base["whole_secs"] = max(1, int(round(float(kw["secs"]))))
    return [str(a).format(**base) for a in template]


_used_ports = set()


def pick_port():
    """A free port below the ephemeral range (32768-), so that no client
    socket of ours, live or in TIME_WAIT, holds it."""
    for _ in range(1000):
        p = random.randint(20000, 32000)
        if p in _used_ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        _used_ports.add(p)
        return p
    raise RuntimeError("no free port")


def proc_tree(pid):
    """pid and its descendants (a master/worker server is one tree)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_stat(cpus=(SERVER_CPU, LOAD_CPU)):
    """(user+nice+system, steal) ticks of the given CPUs, from /proc/stat."""
    busy = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            fl = line.split()
            if fl[0].startswith("cpu") and fl[0][3:].isdigit() and int(fl[0][3:]) in cpus:
                busy += int(fl[1]) + int(fl[2]) + int(fl[3])
                steal += int(fl[8])
    return busy, steal


def rss_kb(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def fd_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return n


class Running:
    """A server started pinned to SERVER_CPU, ready when its ready line is
    seen (or its port accepts a connection)."""

    def __init__(self, server, tag, prefix=(), timeout=60):
        self.server = server
        self.port = pick_port()
        self.work = OUT / "work" / ("%s-%s" % (server.name, tag))
        self.work.mkdir(parents=True, exist_ok=True)
        if server.setup:
            server.setup(self.work, self.port)
        argv = fill(server.argv, port=self.port, work=self.work)
        self.argv = argv
        cmd = ["taskset", "-c", str(SERVER_CPU)] + list(prefix) + argv
        self.logf = open(OUT / "logs" / ("%s-%s.log" % (server.name, tag)), "w")
        self.logf.write("$ %s\n" % shlex.join(cmd))
        self.logf.flush()
        env = dict(os.environ, **server.env)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.logf,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.work)
        self.pid = self.proc.pid          # taskset execs: the same PID
        self.lines = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        self.base_rss_kb = None
        self._wait_ready(timeout)

    def _drain(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.logf.write(line)
            self.logf.flush()
            self.lines.put(line)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s before it was ready (see %s)"
                                   % (self.server.name, self.proc.returncode, self.logf.name))
            if self.server.ready:
                try:
                    line = self.lines.get(timeout=0.05)
                except queue.Empty:
                    continue
                m = re.search(self.server.ready, line)
                if m:
                    if m.groups() and int(m.group(1)) != self.port:
                        raise RuntimeError("%s listens on %s, not %s"
                                           % (self.server.name, m.group(1), self.port))
                    break
            else:
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.01)
        else:
            self.stop()
            raise RuntimeError("%s not ready within %ss" % (self.server.name, timeout))
        self.ready_s = time.monotonic() - self.t0
        self.base_rss_kb = rss_kb(self.tree())

    def tree(self):
        return proc_tree(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def drive(argv, timeout):
    """Runs a load driver pinned to LOAD_CPU; returns (stdout, its CPU s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(["taskset", "-c", str(LOAD_CPU)] + argv, capture_output=True,
                       text=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError("driver failed (%s): %s\n%s%s" % (r.returncode, shlex.join(argv),
                                                             r.stdout, r.stderr))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return r.stdout, cpu


# -------------------------------------------------------------------- phases

def measure_round(wl, group, args):
    """One load run over the servers of group (name -> Running): one
    server, or all of them at once when the workload is interleaved (the
    driver takes turns among them in short slices). Returns name -> the
    round's metrics; a server's CPU is what it used over the whole run,
    which is its own turns: it idles through the others'."""
    names = list(group)
    ports = ",".join(str(group[n].port) for n in names)
    pids = {n: group[n].tree() for n in names}
    t0_ticks = {n: static_phase.cpu_ticks(pids[n]) for n in names}
    (b0, st0), t0 = cpu_stat(), time.monotonic()
    secs = args.secs * len(names)
    out, load_cpu = drive(fill(wl.load, port=ports, conns=wl.conns, secs=secs), secs + 60)
    wall = time.monotonic() - t0
    b1, st1 = cpu_stat()
    t1_ticks = {n: static_phase.cpu_ticks(pids[n]) for n in names}
    used = {n: (t1_ticks[n][0] - t0_ticks[n][0], t1_ticks[n][1] - t0_ticks[n][1]) for n in names}
    # what else ran on the two CPUs: their user+system time minus the
    # servers' and the load client's; and the hypervisor's steal
    other = max(0.0, (b1 - b0) / HZ - sum(u + s for u, s in used.values()) / HZ - load_cpu)
    steal = (st1 - st0) / HZ
    parsed = wl.parse(out)
    per_server = parsed if wl.interleaved else {group[names[0]].port: parsed}
    result = {}
    for n in names:
        m = dict(per_server[group[n].port])
        share = m.get("secs", wall) if wl.interleaved else wall   # the time of its turns
        u, s_ = used[n]
        user_s, cpu_s = u / HZ, (u + s_) / HZ
        m.update(server_cpu_s=cpu_s, server_user_s=user_s, wall_s=share,
                 server_cpu_pct=100 * cpu_s / share, load_cpu_pct=100 * load_cpu / wall,
                 other_pct=100 * other / wall, steal_pct=100 * steal / wall,
                 disturbed=other / wall > 0.15 or steal / wall > 0.15,
                 cpu_us_per_unit=1e6 * cpu_s / m["units"] if m["units"] else None,
                 user_us_per_unit=1e6 * user_s / m["units"] if m["units"] else None)
        m.pop("secs", None)
        result[n] = m
    return result


def phase_rounds(wl, names, args, res):
    """Throughput: all servers up at once, alternated over short rounds."""
    running = {}
    try:
        for n in names:
            try:
                running[n] = Running(SERVERS[n], "rounds")
            except Exception as e:       # a missing peer is reported, not fatal
                res["errors"].append("%s rounds: %s" % (n, e))
                log("  %s: %s" % (n, e))
        for n, srv in running.items():   # warm-up (JIT, caches), not recorded
            if args.warmup > 0 and "rounds" not in args.skipset:
                drive(fill(wl.load, port=srv.port, conns=wl.conns, secs=args.warmup),
                      args.warmup + 60)
        order = [n for n in names if n in running]
        for r in range(0 if "rounds" in args.skipset else args.rounds):
            seq = order if r % 2 == 0 else order[::-1]
            runs = [seq] if wl.interleaved else [[n] for n in seq]
            for group in runs:
                for n, m in measure_round(wl, {n: running[n] for n in group}, args).items():
                    m["round"] = r
                    res["servers"][n]["rounds"].append(m)
                    log("  round %d %-8s %9.0f %s/s  cpu %6.2f us/%s  p99 %s us  "
                        "(server cpu %3.0f%%, load cpu %3.0f%%, others %3.0f%%, steal %3.0f%%)"
                        % (r + 1, n, m["units_per_s"], wl.unit, m["cpu_us_per_unit"], wl.unit,
                           fmt(m["p99_us"], "%7.1f"), m["server_cpu_pct"], m["load_cpu_pct"],
                           m["other_pct"], m["steal_pct"]))
        if "strace" not in args.skipset:
            for n, srv in running.items():
                try:
                    res["servers"][n].update(strace_server(wl, srv, args.count))
                    got = res["servers"][n].get("session", "")
                    if wl.tls_proto and not got.startswith(wl.tls_proto + " "):
                        res["errors"].append("%s: the TLS session was %r, not %s"
                                             % (n, got, wl.tls_proto))
                    log("  strace %-8s %.2f syscalls/round trip"
                        % (n, res["servers"][n]["syscalls_per_rt"]))
                except Exception as e:
                    res["errors"].append("%s strace: %s" % (n, e))
                    log("  %s strace: %s" % (n, e))
    finally:
        for srv in running.values():
            srv.stop()


def strace_server(wl, srv, count):
    pids = srv.tree()
    outf = OUT / "logs" / ("strace-%s.txt" % srv.server.name)
    cmd = ["taskset", "-c", str(LOAD_CPU), "strace", "-f", "-c", "-o", str(outf)]
    for p in pids:
        cmd += ["-p", str(p)]
    st = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    attached, deadline = 0, time.monotonic() + 10
    while attached < len(pids) and time.monotonic() < deadline:
        line = st.stderr.readline()
        if not line:
            break
        attached += "attached" in line
    if attached < len(pids):
        st.kill()
        st.wait()
        raise RuntimeError("strace did not attach")
    time.sleep(0.2)
    out, _ = drive(fill(wl.fixed, port=srv.port, count=count), 300)
    time.sleep(0.3)                       # let the server see the close
    st.send_signal(signal.SIGINT)
    st.communicate(timeout=30)
    calls = {}
    for line in outf.read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    total = sum(calls.values())
    r = dict(syscalls_per_rt=total / count, syscalls_count=count,
             syscalls={k: v / count for k, v in sorted(calls.items(), key=lambda kv: -kv[1])})
    try:
        kv = parse_kv(out)
        if "proto" in kv:       # a TLS driver: the session it had
            r["session"] = "%s %s" % (kv["proto"], kv.get("cipher", "?"))
    except ValueError:
        pass
    return r


def cachegrind_ir(wl, server, count):
    cgdir = OUT / "work" / ("cg-%s-%d" % (server.name, count))
    cgdir.mkdir(parents=True, exist_ok=True)
    for f in cgdir.glob("cg.*"):
        f.unlink()
    prefix = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--branch-sim=no",
              "--trace-children=yes", "--cachegrind-out-file=%s/cg.%%p" % cgdir]
    srv = Running(server, "cachegrind-%d" % count, prefix=prefix, timeout=120)
    try:
        drive(fill(wl.fixed, port=srv.port, count=count), 600)
        time.sleep(0.2)
    finally:
        srv.stop()
    total, per_fn = 0, {}
    for f in cgdir.glob("cg.*"):
        fl = fn = "???"
        for line in f.read_text().splitlines():
            if line[:1].isdigit():
                parts = line.split()
                if len(parts) > 1:
                    per_fn[(fl, fn)] = per_fn.get((fl, fn), 0) + int(parts[1])
            elif line.startswith("fl="):
                fl = line[3:]
            elif line.startswith("fn="):
                fn = line[3:]
            elif line.startswith("summary:"):
                total += int(line.split()[1])
    if not total:
        raise RuntimeError("no cachegrind summary in %s" % cgdir)
    return total, per_fn


def short_fn(fl, fn):
    """ "tcp_socket.c:rio_cb", "malloc.c:_int_free", "???" for stripped code."""
    if fn == "???":
        return "??? (code without symbols: liblua5.4, libev internals, JIT)"
    return "%s:%s" % (fl.rsplit("/", 1)[-1], fn) if fl != "???" else fn


def phase_cachegrind(wl, names, args, res):
    for n in names:
        s = SERVERS[n]
        if not s.valgrind:
            continue
        try:
            t0 = time.monotonic()
            base, base_fn = cachegrind_ir(wl, s, args.cg_base)
            full, full_fn = cachegrind_ir(wl, s, args.cg_base + args.count)
            prof = {}
            for k, v in full_fn.items():
                d = (v - base_fn.get(k, 0)) / args.count
                if d >= 1:
                    name = short_fn(*k)
                    prof[name] = prof.get(name, 0) + d
            top = sorted(prof.items(), key=lambda kv: -kv[1])[:args.cg_top]
            alloc = {k.split(":", 1)[1]: v for k, v in prof.items() if k.startswith("malloc.c:")}
            cmps = sum(v for k, v in prof.items() if "strcmp" in k or "memcmp" in k)
            res["servers"][n].update(instr_per_rt=(full - base) / args.count,
                                     instr_startup=base, instr_top=top,
                                     instr_alloc=alloc, instr_cmp=cmps)
            log("  cachegrind %-8s %.0f instructions/round trip (%.0fs)"
                % (n, res["servers"][n]["instr_per_rt"], time.monotonic() - t0))
        except Exception as e:
            res["errors"].append("%s cachegrind: %s" % (n, e))
            log("  %s cachegrind: %s" % (n, e))


def hold_idle(srv, idle, conns):
    """`loadgen hold` with conns connections and the arguments idle on a
    running server: VmRSS before, once they are all accepted, and after one
    echo on each; and the hold's "echoed=" line."""
    pids = srv.tree()
    rss0, fds0 = rss_kb(pids), fd_count(pids)
    hold = subprocess.Popen(["taskset", "-c", str(LOAD_CPU), str(OUT / "loadgen"),
                             "hold", "--port", str(srv.port),
                             "--conns", str(conns)] + idle,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = hold.stdout.readline()
        if not line.startswith("connected=%d" % conns):
            raise RuntimeError("hold: %r" % line)
        deadline = time.monotonic() + 30   # the server may accept slowly
        while fd_count(srv.tree()) < fds0 + conns and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        rss1 = rss_kb(srv.tree())
        hold.stdin.write("\n")
        hold.stdin.flush()
        echoed = hold.stdout.readline()
        if not echoed.startswith("echoed=%d" % conns):
            raise RuntimeError("hold: %r" % echoed)
        time.sleep(0.5)
        rss2 = rss_kb(srv.tree())
        hold.stdin.close()
        hold.wait(timeout=30)
    finally:
        if hold.poll() is None:
            hold.kill()
            hold.wait()
    return rss0, rss1, rss2, echoed


def phase_memory(wl, names, args, res):
    """Base RSS, then RSS per idle connection with `loadgen hold`; then the
    subject's idle variants, each on a server of its own."""
    for n in names:
        srv = None
        try:
            srv = Running(SERVERS[n], "memory")
            r = res["servers"][n]
            r["base_rss_kb"] = srv.base_rss_kb
            r["ready_s"] = srv.ready_s
            log("  %-8s base RSS %d kB" % (n, srv.base_rss_kb))
            if wl.idle is None:
                continue
            time.sleep(0.2)
            rss0, rss1, rss2, _ = hold_idle(srv, wl.idle, args.idle_conns)
            r.update(rss_before_idle_kb=rss0,
                     rss_per_conn_connected_b=(rss1 - rss0) * 1024 / args.idle_conns,
                     rss_per_idle_conn_b=(rss2 - rss0) * 1024 / args.idle_conns,
                     idle_conns=args.idle_conns)
            log("  %-8s RSS per idle connection %.0f B (connected), %.0f B (after one echo)"
                % (n, r["rss_per_conn_connected_b"], r["rss_per_idle_conn_b"]))
        except Exception as e:
            res["errors"].append("%s memory: %s" % (n, e))
            log("  %s memory: %s" % (n, e))
        finally:
            if srv:
                srv.stop()
    for v in wl.idle_variants if wl.subject in names else []:
        srv = None
        try:
            srv = Running(SERVERS[v.server], "memory-" + v.key)
            time.sleep(0.2)
            rss0, rss1, rss2, echoed = hold_idle(srv, v.args, args.idle_conns)
            # with deflate, every reply must have come compressed: else the
            # server's deflate stream was never made and the row says nothing
            comp = parse_kv(echoed).get("compressed")
            if comp is not None and comp != args.idle_conns:
                raise RuntimeError("%d of %d replies came compressed: %r"
                                   % (comp, args.idle_conns, echoed))
            r = res["servers"][wl.subject]
            r["rss_per_conn_connected_%s_b" % v.key] = (rss1 - rss0) * 1024 / args.idle_conns
            r["rss_per_idle_conn_%s_b" % v.key] = (rss2 - rss0) * 1024 / args.idle_conns
            log("  %-8s %s: RSS per idle connection %.0f B (connected), %.0f B (after one echo)"
                % (v.server, v.label, r["rss_per_conn_connected_%s_b" % v.key],
                   r["rss_per_idle_conn_%s_b" % v.key]))
        except Exception as e:
            res["errors"].append("%s (%s) memory: %s" % (v.server, v.label, e))
            log("  %s (%s) memory: %s" % (v.server, v.label, e))
        finally:
            if srv:
                srv.stop()


def phase_first_reply(wl, names, args, res):
    if wl.first is None:
        return
    times = {n: [] for n in names}
    for i in range(args.starts):           # interleaved, so noise spreads
        for n in names:
            s = SERVERS[n]
            port = pick_port()
            work = OUT / "work" / ("%s-first" % n)
            work.mkdir(parents=True, exist_ok=True)
            if s.setup:
                s.setup(work, port)
            argv = [str(OUT / "loadgen"), "first", "--port", str(port), "--cpu", str(SERVER_CPU),
                    "--timeout-ms", "10000"] + wl.first + ["--"] + fill(s.argv, port=port, work=work)
            try:
                out, _ = drive(argv, 60)
                times[n].append(parse_kv(out)["first_reply_us"] / 1000)
            except Exception as e:
                res["errors"].append("%s first reply: %s" % (n, e))
    for n, t in times.items():
        if t:
            res["servers"][n].update(first_reply_ms=statistics.median(t),
                                     first_reply_all_ms=t)
            log("  %-8s start-to-first-reply %.1f ms (median of %d)"
                % (n, statistics.median(t), len(t)))


# ------------------------------------------------------------------- report

def median_ratio(res, wl, peer, key):
    subj = {m["round"]: m for m in res["servers"][wl.subject]["rounds"]}
    rs = [subj[m["round"]][key] / m[key] for m in res["servers"][peer]["rounds"]
          if m["round"] in subj and m[key] and subj[m["round"]].get(key) is not None]
    return statistics.median(rs) if rs else None


def summarize(wl, res, others=None):
    """Per-server medians and subject/peer ratios; `others`: the workloads
    measured before in this run, for targets against another workload."""
    for n, r in res["servers"].items():
        rounds = r["rounds"]
        for key in ("units_per_s", "cpu_us_per_unit", "user_us_per_unit", "p99_us", "p50_us"):
            vals = [m[key] for m in rounds if m.get(key) is not None]
            if vals:
                r[key] = statistics.median(vals)
    ratios = {}
    for p in wl.peers:
        if p not in res["servers"]:
            continue
        rr = {}
        for key in ("units_per_s", "cpu_us_per_unit", "user_us_per_unit", "p99_us"):
            rr[key] = median_ratio(res, wl, p, key)
        for key in ("syscalls_per_rt", "instr_per_rt", "rss_per_idle_conn_b",
                    "rss_per_conn_connected_b", "base_rss_kb", "first_reply_ms"):
            a = res["servers"].get(wl.subject, {}).get(key)
            b = res["servers"][p].get(key)
            rr[key] = a / b if a is not None and b else None
        ratios[p] = rr
    res["ratios"] = ratios
    verdicts = []
    subj = res["servers"].get(wl.subject, {})
    for t in wl.targets:
        v, ok = subj.get(t.metric), None
        if t.vs_workload:
            other = (others or {}).get(t.vs_workload, {}).get("servers", {}) \
                .get(WORKLOADS[t.vs_workload].subject, {}).get(t.metric)
            v = v / other if v is not None and other else None
            ok = v is not None and v <= t.max
        elif t.minus:
            base = subj.get(t.minus)
            v = v - base if v is not None and base is not None else None
            ok = v is not None and v <= t.max
        elif t.vs:
            peer = res["servers"].get(t.vs, {}).get(t.metric)
            if t.max is not None:
                v = ratios.get(t.vs, {}).get(t.metric)
                ok = v is not None and v <= t.max
            elif t.equal is not None:
                ok = v is not None and peer is not None and abs(v - peer) <= t.equal
        elif v is not None:
            ok = v <= t.max
        verdicts.append(dict(metric=t.metric, label=t.label, value=v, spec=t.spec,
                             verdict=None if v is None else ("PASS" if ok else "FAIL")))
    res["targets"] = verdicts


def fmt(v, spec="%.2f"):
    return "n/a" if v is None else spec % v


ROWS = [  # key, label, format; ratios of the round metrics are medians of per-round ratios
    ("units_per_s", "{unit}s/s ({conns} conns, median of rounds)", "%.0f"),
    ("cpu_us_per_unit", "server CPU µs per {unit}", "%.2f"),
    ("user_us_per_unit", "… of which user space", "%.2f"),
    ("p99_us", "p99 latency µs", "%.0f"),
    ("syscalls_per_rt", "syscalls per round trip", "%.2f"),
    ("instr_per_rt", "user instructions per round trip", "%.0f"),
    ("base_rss_kb", "base RSS kB", "%.0f"),
    ("rss_per_conn_connected_b", "RSS per idle conn B (connected)", "%.0f"),
    ("rss_per_idle_conn_b", "RSS per idle conn B (after 1 echo)", "%.0f"),
    ("first_reply_ms", "start-to-first-reply ms (median)", "%.1f"),
]


def workload_rows(wl):
    """ROWS, with the rows of the workload's idle variants after the idle rows."""
    out = []
    for row in ROWS:
        out.append(row)
        if row[0] == "rss_per_idle_conn_b":
            for v in wl.idle_variants:
                out += [("rss_per_conn_connected_%s_b" % v.key,
                         "RSS per idle conn B, %s (connected)" % v.label, "%.0f"),
                        ("rss_per_idle_conn_%s_b" % v.key,
                         "RSS per idle conn B, %s (after 1 echo)" % v.label, "%.0f")]
    return out


def main_table(wl, res):
    names = [n for n in [wl.subject] + wl.peers if n in res["servers"]]
    peers = [p for p in wl.peers if p in res["servers"]]
    tmap = {t["metric"]: t for t in res["targets"]}
    head = ["metric"] + names + ["%s/%s" % (wl.subject, p) for p in peers] + ["target", "result"]
    rows = []
    for key, label, spec in workload_rows(wl):
        row = [label.format(unit=wl.unit, conns=wl.conns)]
        row += [fmt(res["servers"][n].get(key), spec) for n in names]
        row += [fmt(res["ratios"][p].get(key), "%.2f") for p in peers]
        t = tmap.get(key)
        row += [t["label"], t["verdict"] or "n/a"] if t else ["", ""]
        rows.append(row)
    return head, rows


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def text_table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(x).ljust(n) for x, n in zip(r, w))
    return "\n".join([line(head), line(["-" * n for n in w])] + [line(r) for r in rows])


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except Exception:
        return ""


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ver = lambda p: sh("dpkg-query -W -f='${Version}' %s 2>/dev/null" % p) or "not installed"
    return {
        "nproc": os.cpu_count(), "model": model, "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""),
        "clocksource": sh("cat /sys/devices/system/clocksource/clocksource0/current_clocksource"),
        "lua5.4": ver("liblua5.4-0"), "libev": ver("libev4"), "c-ares": ver("libc-ares2"),
        "node": sh("node --version"), "nodejs package": ver("nodejs"),
        "cc": sh("cc --version | head -1"), "strace": sh("strace -V | head -1"),
        "valgrind": sh("valgrind --version"),
        "luanetd commit": sh("cd %s && git rev-parse --short HEAD" % shlex.quote(str(ROOT))) +
        (" (work tree differs in daemon/ or scripts/)"
         if sh("cd %s && git status --porcelain -- daemon scripts lua" % shlex.quote(str(ROOT)))
         else ""),
    }


def strace_table(wl, res):
    names = [n for n in [wl.subject] + wl.peers
             if res["servers"].get(n, {}).get("syscalls")]
    if not names:
        return ""
    calls = []
    for n in names:
        for k in res["servers"][n]["syscalls"]:
            if k not in calls:
                calls.append(k)
    calls.sort(key=lambda k: -max(res["servers"][n]["syscalls"].get(k, 0) for n in names))
    rows = [[k] + ["%.4f" % res["servers"][n]["syscalls"][k]
                   if k in res["servers"][n]["syscalls"] else "" for n in names]
            for k in calls]
    rows.append(["**total**"] + ["**%.4f**" % res["servers"][n]["syscalls_per_rt"] for n in names])
    return md_table(["syscall (calls per round trip)"] + names, rows)


def observations(wl, res):
    """Facts the numbers imply about the subject, worded for the reader."""
    notes = []
    s = res["servers"].get(wl.subject, {})
    f = res["servers"].get(wl.compare, {})
    ref = "the floor" if wl.compare == "floor" else wl.compare
    if s.get("syscalls") and f.get("syscalls"):
        extra = s["syscalls_per_rt"] - f["syscalls_per_rt"]
        notes.append("%s makes %.2f syscalls per round trip, %s %.2f (%+.2f)."
                     % (wl.subject, s["syscalls_per_rt"], ref, f["syscalls_per_rt"], extra))
        alias = {"recvfrom": "read", "sendto": "write", "epoll_pwait": "epoll_wait",
                 "recvmsg": "read", "sendmsg": "write", "writev": "write", "readv": "read"}
        fs = {}
        for k, v in f["syscalls"].items():
            fs[alias.get(k, k)] = fs.get(alias.get(k, k), 0) + v
        ss = {}
        for k, v in s["syscalls"].items():
            ss.setdefault(alias.get(k, k), []).append((k, v))
        for k, lst in ss.items():
            v = sum(x for _, x in lst)
            if v - fs.get(k, 0) >= 0.005:
                notes.append("  %s: %.3f per round trip vs %s's %.3f"
                             % ("/".join(x for x, _ in lst), v, ref, fs.get(k, 0)))
        for k, v in fs.items():     # what the reference makes and the subject does not
            if k not in ss and v >= 0.005:
                notes.append("  %s: none vs %s's %.3f per round trip" % (k, ref, v))
    if s.get("instr_per_rt") and f.get("instr_per_rt"):
        notes.append("%s runs %.0f user-space instructions per round trip, %s %.0f."
                     % (wl.subject, s["instr_per_rt"], ref, f["instr_per_rt"]))
    alloc = s.get("instr_alloc") or {}
    if sum(alloc.values()) >= 20:
        notes.append("%s spends %.0f instructions per round trip in glibc's allocator (%s): "
                     "the hot path allocates%s.%s"
                     % (wl.subject, sum(alloc.values()), ", ".join(
                         "%s %.0f" % kv for kv in sorted(alloc.items(), key=lambda kv: -kv[1])),
                        " (at least the Lua string that readAll returns)" if wl.name == "echo" else "",
                        " For comparison, %s spends %.0f." % (ref, sum(f["instr_alloc"].values()))
                        if sum((f.get("instr_alloc") or {}).values()) >= 20 else ""))
    cmp_ = s.get("instr_cmp") or 0
    if cmp_ >= 10:
        notes.append("%s runs string compares on the hot path (%.0f Ir per round trip in "
                     "strcmp/memcmp): in Lua 5.4 every lua_getfield/luaL_checkudata/"
                     "luaL_testudata with a C-string key goes through luaS_new's cache, "
                     "which strcmp's the key%s.%s"
                     % (wl.subject, cmp_, " (and OpenSSL 3's OSSL_PARAM_locate strcmp's parameter "
                        "names)" if wl.tls_proto else "",
                        " For comparison, %s runs %.0f." % (ref, f["instr_cmp"])
                        if (f.get("instr_cmp") or 0) >= 10 else ""))
    conn, idle = s.get("rss_per_conn_connected_b"), s.get("rss_per_idle_conn_b")
    if conn is not None and idle is not None and idle - conn >= 16:
        notes.append("%s keeps %.0f B more per connection after one echo than after the "
                     "accept (%.0f B vs %.0f B): state made by the first read and slot call, "
                     "or garbage the Lua GC has not collected yet (the strings readAll "
                     "returned), held while the connection is idle."
                     % (wl.subject, idle - conn, idle, conn))
    for v in wl.idle_variants:
        held = s.get("rss_per_idle_conn_%s_b" % v.key)
        if held is not None and idle is not None:
            notes.append("%s (%s) holds %.0f B per idle connection after one echo, %+.0f B against "
                         "no deflate's %.0f B." % (v.server, v.label, held, held - idle, idle))
    rounds = s.get("rounds", [])
    if rounds:
        load = statistics.median(m["load_cpu_pct"] for m in rounds)
        notes.append("%s used %.0f%% of CPU 0 during its rounds (median); the load client %.0f%% "
                     "of CPU 1%s." % (wl.subject, statistics.median(m["server_cpu_pct"]
                                                                   for m in rounds), load,
                                      " — near saturation, so units/s is bounded by the load "
                                      "client and CPU per unit is the figure that ranks"
                                      if load >= 80 else ""))
    return notes


def workload_section(wl, res, args):
    head, rows = main_table(wl, res)
    lines = ["## Workload `%s`: %s" % (wl.name, wl.about), ""]
    for n in dict.fromkeys([wl.subject] + wl.peers + [v.server for v in wl.idle_variants]):
        if n in SERVERS:
            lines.append("- **%s**: %s" % (n, SERVERS[n].about))
    for note in wl.notes:
        lines += ["", note.format(count=args.count)]
    sessions = [(n, res["servers"][n]["session"]) for n in res["servers"]
                if res["servers"][n].get("session")]
    if sessions:
        lines += ["", "TLS session of the fixed-count client: " +
                  "; ".join("%s %s" % ns for ns in sessions) + "."]
    lines += [
        "",
        "Ratios are %s / peer. Throughput, CPU per %s and p99 are the median over %d rounds "
        "of the per-round ratio (%g s per server per round, %d connections, the order flipped "
        "every round, after a %g s warm-up per server%s); the other rows are single figures that "
        "noise does not blur: syscalls per round trip from `strace -f -c` attached to the "
        "server over %d round trips on one connection; user-space instructions per round trip "
        "from cachegrind (Ir of %d+%d round trips minus Ir of %d, / %d; a JIT's figure depends "
        "on its warm-up); RSS per idle connection from VmRSS with %d connections held open "
        "(after minus before, / %d); base RSS right after the ready line; start-to-first-reply "
        "is the median of %d (fork+exec to the first reply of a client retrying every 1 ms, "
        "which is the resolution)."
        % (wl.subject, wl.unit, args.rounds, args.secs, wl.conns, args.warmup,
           "; within a round the servers take turns of 100 ms of load each (loadgen echo with "
           "their ports), so that both sides of a ratio meet the same machine" if wl.interleaved
           else "", args.count,
           args.cg_base, args.count, args.cg_base, args.count, args.idle_conns,
           args.idle_conns, args.starts),
        "",
        md_table(head, rows),
        "",
        "### Targets (%s)" % wl.subject,
        "",
    ]
    for t in res["targets"]:
        lines.append("- %s: %s — **%s**" % (t["label"], fmt(t["value"], t["spec"]),
                                             t["verdict"] or "not measured"))
    st = strace_table(wl, res)
    if st:
        lines += ["", "### Syscalls per round trip, by syscall", "",
                  "`strace -f -c -p PID` over %d round trips on one connection "
                  "(the accept and close of that connection included)." % args.count, "", st]
    prof = res["servers"].get(wl.subject, {}).get("instr_top")
    if prof:
        total = res["servers"][wl.subject]["instr_per_rt"]
        lines += ["", "### Where %s's user-space instructions per round trip go" % wl.subject, "",
                  "cachegrind, Ir per round trip by function (the %d-round-trip run minus the "
                  "baseline), the top %d:" % (args.count, len(prof)), "",
                  md_table(["function", "Ir per round trip", "share"],
                           [[f, "%.0f" % v, "%.1f%%" % (100 * v / total)] for f, v in prof])]
    lines += ["", "### Observations", ""]
    lines += ["- " + n if not n.startswith("  ") else "  - " + n.strip()
              for n in observations(wl, res)]
    lines += ["", "### Rounds", "",
              "Server CPU %% and load CPU %% are of one CPU each; others %% is what other processes "
              "used of CPUs %d and %d together, steal %% what the hypervisor took; a round with "
              "either above 15%% is marked *disturbed* (it still counts: the medians absorb it)."
              % (SERVER_CPU, LOAD_CPU), "",
              md_table(["round", "server", "%ss/s" % wl.unit, "CPU µs/%s" % wl.unit,
                        "user µs/%s" % wl.unit, "p50 µs", "p99 µs", "server CPU %", "load CPU %",
                        "others %", "steal %", ""],
                       [[str(mm["round"] + 1), n, "%.0f" % mm["units_per_s"],
                         fmt(mm["cpu_us_per_unit"]), fmt(mm["user_us_per_unit"]),
                         fmt(mm["p50_us"], "%.0f"),
                         fmt(mm["p99_us"], "%.0f"), "%.0f" % mm["server_cpu_pct"],
                         "%.0f" % mm["load_cpu_pct"], "%.0f" % mm["other_pct"],
                         "%.0f" % mm["steal_pct"], "*disturbed*" if mm["disturbed"] else ""]
                        for r in range(args.rounds)
                        for n in [wl.subject] + wl.peers
                        for mm in res["servers"].get(n, {}).get("rounds", [])
                        if mm["round"] == r])]
    fr = [(n, res["servers"][n].get("first_reply_all_ms")) for n in res["servers"]]
    if any(v for _, v in fr):
        lines += ["", "Start-to-first-reply samples (ms): " +
                  "; ".join("%s %s" % (n, " ".join("%.1f" % x for x in v)) for n, v in fr if v)]
    if res["errors"]:
        lines += ["", "### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]]
    lines.append("")
    return lines, text_table(head, rows)


def write_results(run, args, elapsed):
    m = run["machine"]
    lines = [
        "# luanetd benchmark results",
        "",
        "Generated by `make bench` (bench/run.sh → bench/harness.py); do not edit by hand.",
        "",
        "- date: %s" % run["date"],
        "- command: `make bench`" + ("" if not args.argv else
                                     " (harness arguments: `%s`)" % shlex.join(args.argv)),
        "- machine: nproc %s, %s, kernel %s, %s, clocksource %s"
        % (m["nproc"], m["model"], m["kernel"], m["os"], m["clocksource"]),
        "- luanetd's deps: lua5.4 %s, libev %s, c-ares %s" % (m["lua5.4"], m["libev"], m["c-ares"]),
        "- peers and tools: node %s (package %s); %s; %s; %s"
        % (m["node"], m["nodejs package"], m["cc"], m["strace"], m["valgrind"]),
        "- luanetd: commit %s" % m["luanetd commit"],
        "- pinning: servers on CPU %d, load client on CPU %d (taskset); 127.0.0.1 only"
        % (SERVER_CPU, LOAD_CPU),
        "- run time: %.0f s" % elapsed,
        "",
    ]
    tables = []
    for name, wres in run["workloads"].items():
        sec, table = workload_section(WORKLOADS[name], wres, args)
        lines += sec
        tables.append((name, table, wres["targets"]))
    if "reload" in run:
        lines += reload_phase.section(run["reload"])
    if "workers" in run:
        lines += workers_phase.section(run["workers"])
    if "static" in run:
        lines += static_phase.section(run["static"])
    if "ftp" in run:
        lines += ftp_phase.section(run["ftp"])
    if "tls_start" in run:
        lines += tls_phase.section(run["tls_start"])
    if "shared" in run:
        lines += shared_phase.section(run["shared"])
    if "redis" in run:
        lines += redis_phase.section(run["redis"])
    lines += ["Raw data: build/bench/results.json; logs: build/bench/logs/.", ""]
    return "\n".join(lines), tables


# --------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--secs", type=float, default=2, help="seconds per server per round")
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--count", type=int, default=5000, help="round trips for strace/cachegrind")
    ap.add_argument("--cg-base", type=int, default=1000, help="cachegrind baseline round trips")
    ap.add_argument("--cg-top", type=int, default=25, help="functions listed per server")
    ap.add_argument("--idle-conns", type=int, default=5000)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--workloads", default=",".join(list(WORKLOADS) + PHASE_WORKLOADS),
                    help="comma-separated, of: " + ", ".join(list(WORKLOADS) + PHASE_WORKLOADS))
    ap.add_argument("--servers", help="comma-separated subset (default: each workload's)")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip: "
                    "rounds,strace,cachegrind,memory,first,reload,workers,static,ftp,tls-start,shared,redis")
    ap.add_argument("--reload-secs", type=float, default=20, help="length of the hot-reload run")
    ap.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    ap.add_argument("--quick", action="store_true", help="small numbers, to try the harness")
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    if args.quick:
        args.rounds, args.secs, args.warmup = 2, 1, 0.5
        args.count, args.cg_base, args.idle_conns, args.starts = 2000, 200, 1000, 3
    skip = args.skipset = set(filter(None, args.skip.split(",")))
    plan = []
    wanted = list(filter(None, args.workloads.split(",")))
    for phase in PHASE_WORKLOADS:   # a workload of its own phase (shared_phase.py, redis_phase.py)
        if phase not in wanted:
            skip.add(phase)
    for wname in wanted:
        if wname in PHASE_WORKLOADS:
            continue
        if wname not in WORKLOADS:
            sys.exit("unknown workload %s (have: %s)"
                     % (wname, ", ".join(list(WORKLOADS) + PHASE_WORKLOADS)))
        wl = WORKLOADS[wname]
        names = [wl.subject] + wl.peers
        if args.servers:
            names = [n for n in names if n in args.servers.split(",")]
        for n in names:
            if wl.name not in SERVERS[n].workloads:
                sys.exit("server %s does not serve workload %s" % (n, wl.name))
        plan.append((wl, names))
    need = args.idle_conns + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        sys.exit("fd limit %d < %d: raise it (ulimit -n)" % (hard, need))
    (OUT / "logs").mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    run = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "machine": machine(), "args": {k: v for k, v in vars(args).items()
                                          if k not in ("argv", "skipset")},
           "workloads": {}}
    phases = [("rounds", phase_rounds), ("cachegrind", phase_cachegrind),
              ("memory", phase_memory), ("first", phase_first_reply)]
    for wl, names in plan:
        res = run["workloads"][wl.name] = {"servers": {n: {"rounds": []} for n in names},
                                           "errors": []}
        for pname, fn in phases:
            # the rounds phase also runs strace on its servers
            if pname in skip and (pname != "rounds" or "strace" in skip):
                continue
            t0 = time.monotonic()
            log("%s/%s: %s" % (wl.name, pname, ", ".join(names)))
            fn(wl, names, args, res)
            log("%s/%s done in %.0f s" % (wl.name, pname, time.monotonic() - t0))
        summarize(wl, res, run["workloads"])
    if "reload" not in skip:
        log("reload: luanetd under load, %d reloads" % 20)
        run["reload"] = reload_phase.run(ROOT, SERVER_CPU, LOAD_CPU, 10 if args.quick else args.reload_secs,
                                         20, OUT / "logs")
    if "workers" not in skip:
        log("workers: 1 vs 2 workers, and a runaway neighbour")
        run["workers"] = workers_phase.run(ROOT, SERVER_CPU, LOAD_CPU, 2 if args.quick else 3,
                                           2 if args.quick else args.secs, OUT / "logs")
    if "static" not in skip:
        size_mib = 256 if args.quick else 1024
        log("static: httpd.lua vs nginx, a %d MiB file" % size_mib)
        t0 = time.monotonic()
        run["static"] = static_phase.run(ROOT, OUT, SERVER_CPU, LOAD_CPU, 2 if args.quick else 5,
                                         size_mib, 2, start_static, nginx_setup, log)
        log("static done in %.0f s" % (time.monotonic() - t0))
    if "ftp" not in skip:
        size_mib = 256 if args.quick else 1024
        log("ftp: ftpd.lua vs vsftpd and pyftpdlib, RETR of a %d MiB file" % size_mib)
        t0 = time.monotonic()
        run["ftp"] = ftp_phase.run(ROOT, OUT, SERVER_CPU, LOAD_CPU, 2 if args.quick else 5,
                                   size_mib, 2, start_ftp,
                                   static_phase.make_file, log)
        log("ftp done in %.0f s" % (time.monotonic() - t0))
    if "shared" not in skip:
        log("shared: SharedDict vs ngx.shared, 2 workers on one key, Channel to %d clients"
            % shared_phase.CHAT_CLIENTS)
        t0 = time.monotonic()
        run["shared"] = shared_phase.run(ROOT, OUT, SERVER_CPU, LOAD_CPU, args.quick, start_shared,
                                         nginx_setup, NGINX_LUA_MODULES, OUT / "logs", log)
        log("shared done in %.0f s" % (time.monotonic() - t0))
    if "redis" not in skip:
        log("redis: net.Redis vs ioredis (GET, one at a time and %d deep), the chat to %d clients "
            "on 3 nodes through HAProxy" % (redis_phase.DEPTH, redis_phase.CHAT_CLIENTS))
        t0 = time.monotonic()
        # the GET clients on CPU 0 and redis-server on CPU 1 (the issue's
        # pinning); the chat's cluster on CPU 1 and its client on CPU 0
        run["redis"] = redis_phase.run(ROOT, OUT, SERVER_CPU, LOAD_CPU, args.quick, OUT / "logs", log)
        log("redis done in %.0f s" % (time.monotonic() - t0))
    if "tls-start" not in skip:
        log("tls-start: luanetd -c with a tcp:// vs a tls:// listener, %d starts each" % args.starts)
        t0 = time.monotonic()
        run["tls_start"] = tls_phase.run(ROOT, OUT, SERVER_CPU, LOAD_CPU, args.starts, pick_port,
                                         OUT / "logs", log)
        log("tls-start done in %.0f s" % (time.monotonic() - t0))
    elapsed = time.monotonic() - start
    md, tables = write_results(run, args, elapsed)
    (OUT / "results.json").write_text(json.dumps(run, indent=1, default=str))
    Path(args.results).write_text(md)
    errors = 0
    for name, table, targets in tables:
        print("\nworkload %s\n%s\n" % (name, table))
        for t in targets:
            print("  %-4s %s (%s)" % (t["verdict"] or "n/a", t["label"], fmt(t["value"], t["spec"])))
        for e in run["workloads"][name]["errors"]:
            errors += 1
            print("  error: %s" % e.splitlines()[0])
    if "workers" in run:
        print("\n".join(workers_phase.section(run["workers"])))
    for key, mod in (("static", static_phase), ("ftp", ftp_phase), ("tls_start", tls_phase),
                     ("shared", shared_phase), ("redis", redis_phase)):
        if key not in run:
            continue
        ph = run[key]
        print("\n".join(mod.section(ph)))
        for t in ph.get("targets", [ph["target"]] if "target" in ph else []):
            print("  %-4s %s (%s)" % (t["verdict"] or "n/a", t["label"], fmt(t["value"], t["spec"])))
        for e in ph["errors"]:
            errors += 1
            print("  error: %s: %s" % (key.replace("_", "-"), e.splitlines()[0]))
    if "reload" in run:
        print("\n".join(reload_phase.section(run["reload"])))
        rel = run["reload"]
        if "error" in rel or rel["short_failures"] or rel["long_failures"] or rel["long_switched_code"] \
                or rel["late_count"]:
            errors += 1
    print("\nwrote %s and %s (%.0f s)" % (args.results, OUT / "results.json", elapsed))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
