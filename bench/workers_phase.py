"""bench/workers_phase.py: the workers and limits runs of `make bench`.

1 vs 2 workers. luanetd -c with the echo service and `workers = 1` or
`workers = 2`, pinned to the server CPU (both workers share it: on this
2-core machine the load client needs the other), driven by
build/bench/loadgen with 1,000 connections. Rounds alternate 1 and 2
workers. Reported: how the 2-worker daemon spreads the connections over its
workers (ctl status per_worker=, read while the load runs) and its server
CPU per echoed message against the 1-worker daemon's, as the median of the
per-round ratios.

A runaway neighbour. Two services in one worker: "spin", whose slot loops
forever when asked (cpu_limit = 100 ms), and "echo". A client pings echo
every 2 ms; the spin is triggered; the longest echo round trip while the
runaway is stopped is the time a neighbour waits.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")
CONNS = 1000
SPIN_LIMIT_MS = 100

SPIN = """local service = ...
local server = service.listeners[1]
server.newConnection:connect(function()
  local c = server:nextPendingConnection()
  c.readyRead:connect(function()
    local line = c:readLine()
    if line == "spin\\n" then while true do end end
    c:write(line)
  end)
end)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Daemon:
    def __init__(self, root, config, cpu, log_path):
        self.work = Path(tempfile.mkdtemp(prefix="luanetd-bench."))
        self.control = self.work / "ctl.sock"
        self.conf = self.work / "luanetd.conf"
        self.conf.write_text('control = "%s"\n%s' % (self.control, config))
        self.luanetd = str(root / "build" / "luanetd")
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu), self.luanetd, "-c", str(self.conf)],
                                     stdout=self.log, stderr=self.log, cwd=self.work)

    def status(self):
        return subprocess.run([self.luanetd, "ctl", "-s", str(self.control), "status"],
                              capture_output=True, text=True, timeout=10).stdout

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


def one_round(root, workers, secs, server_cpu, load_cpu, log_dir):
    port = free_port()
    config = ('workers = %d\nservice "echo" { script = "%s", listen = "tcp://127.0.0.1:%d" }\n'
              % (workers, root / "scripts" / "echo_server.lua", port))
    d = Daemon(root, config, server_cpu, Path(log_dir) / "workers-luanetd.log")
    try:
        if not wait_port(port):
            return {"error": "luanetd did not listen"}
        before = cpu_ticks(d.proc.pid)
        load = subprocess.Popen(["taskset", "-c", str(load_cpu), str(root / "build" / "bench" / "loadgen"),
                                 "echo", "--port", str(port), "--conns", str(CONNS), "--secs", str(secs)],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(min(1.5, secs / 2))
        status = d.status()
        out, _ = load.communicate(timeout=secs + 60)
        used = cpu_ticks(d.proc.pid) - before
        kv = dict(p.split("=", 1) for p in out.split() if "=" in p)
        per = re.search(r"per_worker=([\d,]+)", status)
        return {
            "workers": workers,
            "messages": int(kv.get("messages", 0)),
            "errors": int(kv.get("errors", 0)),
            "cpu_us_per_msg": used / HZ * 1e6 / max(1, int(kv.get("messages", 0))),
            "per_worker": [int(x) for x in per.group(1).split(",")] if per else None,
        }
    finally:
        d.stop()


def neighbour_wait(root, server_cpu, log_dir):
    spin_port, echo_port = free_port(), free_port()
    d = Daemon(root, 'service "spin" { script = "spin.lua", listen = "tcp://127.0.0.1:%d", cpu_limit = %d }\n'
               'service "echo" { script = "%s", listen = "tcp://127.0.0.1:%d" }\n'
               % (spin_port, SPIN_LIMIT_MS, root / "scripts" / "echo_server.lua", echo_port),
               server_cpu, Path(log_dir) / "neighbour-luanetd.log")
    (d.work / "spin.lua").write_text(SPIN)
    try:
        if not wait_port(echo_port) or not wait_port(spin_port):
            return {"error": "luanetd did not listen"}
        echo = socket.create_connection(("127.0.0.1", echo_port))
        rtts = []
        stop = threading.Event()

        def ping():
            while not stop.is_set():
                t = time.monotonic()
                echo.sendall(b"p\n")
                echo.recv(16)
                rtts.append((t, (time.monotonic() - t) * 1000))
                time.sleep(0.002)

        th = threading.Thread(target=ping)
        th.start()
        time.sleep(0.3)
        spin = socket.create_connection(("127.0.0.1", spin_port))
        t_spin = time.monotonic()
        spin.sendall(b"spin\n")
        time.sleep(0.6)
        stop.set()
        th.join()
        before = [r for t, r in rtts if t < t_spin]
        during = [r for t, r in rtts if t >= t_spin]
        # the runaway's connection stays open; a fresh one is served
        fresh = socket.create_connection(("127.0.0.1", spin_port), 2)
        fresh.settimeout(2)
        fresh.sendall(b"ok\n")
        after_ok = fresh.recv(16) == b"ok\n"
        for s in (echo, spin, fresh):
            s.close()
        return {
            "cpu_limit_ms": SPIN_LIMIT_MS,
            "echo_p50_before_ms": statistics.median(before) if before else None,
            "echo_max_during_ms": max(during) if during else None,
            "spin_serves_after": after_ok,
        }
    finally:
        d.stop()


def run(root, server_cpu, load_cpu, rounds, secs, log_dir):
    res = {"rounds": [], "neighbour": None}
    for r in range(rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for w in order:
            res["rounds"].append(one_round(root, w, secs, server_cpu, load_cpu, log_dir))
    res["neighbour"] = neighbour_wait(root, server_cpu, log_dir)
    return res


def section(res):
    lines = ["## Workers and limits", ""]
    rounds = [r for r in res["rounds"] if "error" not in r]
    one = [r for r in rounds if r["workers"] == 1]
    two = [r for r in rounds if r["workers"] == 2]
    ratios = [b["cpu_us_per_msg"] / a["cpu_us_per_msg"] for a, b in zip(one, two) if a["cpu_us_per_msg"]]
    shares = []
    for r in two:
        if r["per_worker"] and sum(r["per_worker"]):
            shares.append(100.0 * r["per_worker"][0] / sum(r["per_worker"]))
    errors = sum(r["errors"] for r in rounds) + len(res["rounds"]) - len(rounds)
    lines += [
        "1 vs 2 workers: luanetd -c (echo service), pinned to the server CPU, %d connections"
        " from build/bench/loadgen on the load CPU, %d rounds alternating." % (CONNS, len(one)),
        "",
        "| measure | value |",
        "|---|---|",
        "| worker 1's share of the connections (2 workers) | %s |" % (
            ", ".join("%.1f%%" % s for s in shares) or "-"),
        "| server CPU per message, 1 worker | %s |" % (
            ", ".join("%.2f us" % r["cpu_us_per_msg"] for r in one) or "-"),
        "| server CPU per message, 2 workers | %s |" % (
            ", ".join("%.2f us" % r["cpu_us_per_msg"] for r in two) or "-"),
        "| 2 workers / 1 worker, CPU per message (median of rounds) | %s |" % (
            "%.3f" % statistics.median(ratios) if ratios else "-"),
        "| load errors | %d |" % errors,
        "",
    ]
    n = res["neighbour"] or {}
    if "error" in n or not n:
        lines += ["Runaway neighbour: failed: %s" % n.get("error", "not run"), ""]
    else:
        lines += [
            "A runaway neighbour: a slot of service \"spin\" loops forever (cpu_limit = %d ms); service"
            " \"echo\" in the same worker is pinged every 2 ms." % n["cpu_limit_ms"],
            "",
            "| measure | value |",
            "|---|---|",
            "| echo round trip before (median) | %.2f ms |" % n["echo_p50_before_ms"],
            "| longest echo wait while the runaway is stopped | %.1f ms |" % n["echo_max_during_ms"],
            "| spin serves a new connection afterwards | %s |" % ("yes" if n["spin_serves_after"] else "NO"),
            "",
            "With one worker the neighbour waits for the cpu_limit, no more: set it to what the",
            "neighbours can bear. With workers > 1, the other workers' connections do not wait.",
            "",
        ]
    return lines
