"""bench/reload_phase.py: the hot-reload run of `make bench`.

Starts luanetd (pinned to the server CPU) with bench/reload_service.lua as a
watched service in a fresh directory, and runs bench/reload_check.py
against it (pinned to the load CPU): new connections every millisecond, 10
long-lived ones, reloads by SIGHUP, ctl and a watched save, and two failed
reloads. Returns the checker's report plus the command that made it, and
renders the RESULTS.md section.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = """control = "{dir}/ctl.sock"
shutdown_timeout = 30000
service "reload" {{
  script = "reload_service.lua",
  listen = "tcp://127.0.0.1:{port}",
  reload = "watch",
  options = {{ dir = "{dir}", generation = 0 }},
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(root, server_cpu, load_cpu, duration, reloads, log_dir):
    work = Path(tempfile.mkdtemp(prefix="luanetd-reload."))
    luanetd = str(root / "build" / "luanetd")
    port = free_port()
    shutil.copy(root / "bench" / "reload_service.lua", work)
    (work / "tag.txt").write_text("t0\n")
    conf = work / "luanetd.conf"
    conf.write_text(CONFIG.format(dir=work, port=port))
    log = open(Path(log_dir) / "reload-luanetd.log", "w")
    daemon = subprocess.Popen(["taskset", "-c", str(server_cpu), luanetd, "-c", str(conf)],
                              stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        cmd = ["taskset", "-c", str(load_cpu), "/usr/bin/python3", str(root / "bench" / "reload_check.py"),
               "--port", str(port), "--pid", str(daemon.pid), "--luanetd", luanetd,
               "--control", str(work / "ctl.sock"), "--dir", str(work), "--config", str(conf),
               "--duration", str(duration), "--reloads", str(reloads), "--bad"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
        if out.returncode != 0:
            return {"error": "reload_check.py exited %d: %s" % (out.returncode, out.stderr[-2000:])}
        report = json.loads(out.stdout)
        report["command"] = ("bench/reload_check.py --duration %s --reloads %s --bad "
                             "(against luanetd -c <dir>/luanetd.conf, bench/reload_service.lua)"
                             % (duration, reloads))
        return report
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(40)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def section(report):
    lines = ["## Hot reload under load", ""]
    if "error" in report:
        return lines + ["Failed: " + report["error"].replace("\n", " "), ""]
    switch = sorted(v for v in report["switch_ms"] if v is not None)
    errors = (report["short_failures"] + len(report["long_failures"]) +
              len(report["long_switched_code"]) + report["late_count"])
    kinds = {}
    for r in report["reloads"]:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    lines += [
        "Command: `%s`." % report["command"],
        "",
        "| measure | value |",
        "|---|---|",
        "| run | %.1f s, %d reloads (%s) and %d failed ones |" % (
            report["duration_s"], len(report["reloads"]),
            ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())), len(report["bad_reloads"])),
        "| new connections served | %d (one every ms, each one line) |" % report["short_connections"],
        "| long-lived exchanges | %d (10 connections, a line every 50 ms) |" % report["long_exchanges"],
        "| refused, reset, timed out or wrong | %d |" % errors,
        "| long-lived connections that changed code | %d |" % len(report["long_switched_code"]),
        "| new connections on old code > 1 s after a reload | %d |" % report["late_count"],
        "| trigger to first new connection on new code | median %s ms, max %s ms |" % (
            "%.1f" % switch[len(switch) // 2] if switch else "-", "%.1f" % switch[-1] if switch else "-"),
        "| failed reloads (syntax error, raising main) | ctl exit %s; old code served throughout |" % (
            ", ".join(str(b["ctl_exit"]) for b in report["bad_reloads"])),
        "",
        "A watched save waits WATCH_SETTLE (0.1 s) for the editor to finish, which is most of",
        "its switch time; SIGHUP and ctl switch within milliseconds.",
        "",
    ]
    return lines
