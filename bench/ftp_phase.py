"""bench/ftp_phase.py: the FTP run of `make bench` (issue 10's targets
"RETR of a 1 GiB file: throughput >= 0.9x vsftpd's, server CPU per GiB <=
1.2x vsftpd's").

The file is the static phase's (static_phase.make_file: build/bench/static/
file-<N>m.bin, a random 1 MiB block repeated, made once and kept), so no
second GiB is written. Three servers on that directory, anonymous and
read-only, all up at once, pinned to the server CPU:

- ftpd.lua: `build/luanetd scripts/ftpd.lua --root DIR --port P` (RETR leaves
  through sendFile);
- vsftpd: standalone in the foreground (listen=YES, background=NO), a config
  written to its work directory, use_sendfile=YES; it forks a session per
  connection (and the session forks again), and the session processes exit
  after the transfer. It runs under `ftp_phase.py reap`, a child subreaper:
  the session parent does not always wait for its child before it exits (a
  race), and the orphan would go to init with its CPU time;
- pyftpdlib: this file run as `env -u LD_PRELOAD /usr/bin/python3
  bench/ftp_phase.py pyftpdlib --root DIR --port P` (FTPServer, an anonymous
  DummyAuthorizer, use_sendfile=True, its default on Linux).

The client is curl on the load CPU (`curl -s -o /dev/null ftp://127.0.0.1:P/
FILE`: binary, passive, EPSV first), one new control and data connection per
download. One unmeasured download per server first; then R rounds, the order
rotated and flipped every round, and per round and server D downloads in a
row, over which the server's CPU time and the wall time are taken. Server CPU
time is utime+stime+cutime+cstime summed over the live process tree
(/proc/PID/stat), read when no short-lived process is left in it: vsftpd's
session processes have exited by then and been waited for by the listener or
the reap wrapper, so each one's time is in one live process's cutime/cstime. Every download must come out at
exactly the file's size with reply 226.

Reported per server: GB/s (bytes / wall), server CPU seconds per GiB, and the
medians over rounds of the per-round ratios ftpd.lua/vsftpd (the targets)
and ftpd.lua/pyftpdlib (for information).
"""
import os
import statistics
import subprocess
import sys
import time

from static_phase import _f, cpu_ticks, download_round, start_servers, warm_up   # the static-file phase's measures

HZ = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30
MIB = 1 << 20
NAMES = ("ftpd.lua", "vsftpd", "pyftpdlib")
SUBJECT, PEER, OTHER = NAMES
TPUT_MIN = 0.9
CPU_MAX = 1.2
TARGETS = (("gbps", "ftpd.lua throughput >= %.1fx vsftpd's" % TPUT_MIN, "min", TPUT_MIN),
           ("cpu_s_per_gib", "ftpd.lua server CPU per GiB <= %.1fx vsftpd's" % CPU_MAX,
            "max", CPU_MAX))
PASV_RANGE = (32100, 32700)   # above the harness's pick_port range, below the ephemeral ports
KEEP = {"ftpd.lua": 1, "vsftpd": 2, "pyftpdlib": 1}   # long-lived processes: vsftpd is
                                                     # the reap wrapper and the listener
EMPTY_DIR = "/var/run/vsftpd/empty"
BUDGET_S = 80                 # no new round once the phase has run this long
READY_LINE = "The server is running on IP: %s port: %d"


def vsftpd_setup(static_dir):
    """setup(work, port) for vsftpd: its config file, and its empty chroot dir."""
    def setup(work, port):
        os.makedirs(EMPTY_DIR, exist_ok=True)
        conf = {
            "listen": "YES", "listen_ipv6": "NO", "listen_address": "127.0.0.1",
            "listen_port": port, "background": "NO", "run_as_launching_user": "NO",
            "anonymous_enable": "YES", "no_anon_password": "YES", "anon_root": static_dir,
            "local_enable": "NO", "write_enable": "NO", "seccomp_sandbox": "NO",
            "pasv_enable": "YES", "pasv_address": "127.0.0.1",
            "pasv_min_port": PASV_RANGE[0], "pasv_max_port": PASV_RANGE[1],
            "connect_from_port_20": "NO", "secure_chroot_dir": EMPTY_DIR,
            "use_sendfile": "YES", "xferlog_enable": "NO", "dirmessage_enable": "NO",
            "anon_max_rate": 0,
        }
        (work / "vsftpd.conf").write_text("".join("%s=%s\n" % kv for kv in conf.items()))
    return setup


def settle(srv, keep, timeout=3.0):
    """Waits until the server's tree is down to its `keep` long-lived
    processes (vsftpd's sessions exited and reaped); False if more are left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(srv.tree()) <= keep:
            return True
        time.sleep(0.01)
    return False


def run(root, out, server_cpu, load_cpu, rounds, size_mib, downloads, start, make_file,
        log=print):
    """start(name, argv, ready_line, setup) starts a server pinned to the server
    CPU and returns the harness's Running (.pid, .port, .tree(), .stop(),
    .logf); make_file(dir, size_mib) is static_phase.make_file."""
    static_dir = out / "static"
    res = {"file": None, "size": size_mib * MIB, "rounds_n": rounds, "rounds_done": 0,
           "downloads": downloads, "server_cpu": server_cpu, "load_cpu": load_cpu,
           "servers": {n: {"rounds": []} for n in NAMES}, "ratios": {}, "errors": [],
           "notes": []}
    t0 = time.monotonic()
    try:
        path, made = make_file(static_dir, size_mib)
    except OSError as e:
        res["errors"].append("making the file under %s: %s" % (static_dir, e))
        summarize(res)
        return res
    res.update(file=str(path.relative_to(root)), file_made=made)
    log("  %s %s (%.1f s)" % ("made" if made else "kept", res["file"], time.monotonic() - t0))
    size = res["size"]
    specs = {
        "ftpd.lua": dict(argv=["{root}/build/luanetd", "{root}/scripts/ftpd.lua",
                               "--root", str(static_dir), "--port", "{port}"],
                         ready_line=True, setup=None),
        "vsftpd": dict(argv=["env", "-u", "LD_PRELOAD", "/usr/bin/python3",
                             os.path.abspath(__file__), "reap", "/usr/sbin/vsftpd",
                             "{work}/vsftpd.conf"],
                       ready_line=False, setup=vsftpd_setup(static_dir)),
        "pyftpdlib": dict(argv=["env", "-u", "LD_PRELOAD", "/usr/bin/python3",
                                os.path.abspath(__file__), "pyftpdlib",
                                "--root", str(static_dir), "--port", "{port}"],
                          ready_line=True, setup=None),
    }
    running = {}
    try:
        if not start_servers(NAMES, specs, start, running, res, log):
            summarize(res)
            return res
        urls = {n: "ftp://127.0.0.1:%d/%s" % (srv.port, path.name) for n, srv in running.items()}
        warm_up(NAMES, urls, size, load_cpu, res, ok_code="226")
        for r in range(rounds):
            if r and time.monotonic() - t0 > BUDGET_S:
                res["notes"].append("stopped after %d of %d rounds: the phase had run %.0f s"
                                    % (r, rounds, time.monotonic() - t0))
                break
            order = NAMES[r % 3:] + NAMES[:r % 3]       # rotated, and flipped every other round
            for n in (order if r % 2 == 0 else order[::-1]):
                srv = running[n]
                if not settle(srv, KEEP[n]):
                    res["errors"].append("%s round %d: child processes left before the round"
                                         % (n, r + 1))
                def sessions_gone(n=n, srv=srv, r=r):
                    if not settle(srv, KEEP[n]):
                        res["errors"].append("%s round %d: child processes still there 3 s after "
                                             "the downloads" % (n, r + 1))
                # vsftpd forks a process per session: one that exited and was
                # waited for by a process of the tree is in exactly one live
                # process's cutime/cstime once no zombie is left (settle).
                m = download_round(r, n, urls[n], size, downloads, load_cpu, [server_cpu],
                                   lambda: cpu_ticks(srv.tree(), children=True), res,
                                   ok_code="226", before_cpu=sessions_gone)
                # CPU 0's whole busy time (the server, softirqs, anything else on
                # it): a check on the per-process figure
                busy = m.pop("busy_s")
                m["cpu0_s_per_gib"] = busy / (m["bytes"] / GIB) if m["bytes"] else None
                res["servers"][n]["rounds"].append(m)
                log("  round %d %-9s %.2f GB/s  %.3f CPU s/GiB (user %.3f; CPU %d busy %.3f)  "
                    "server CPU %3.0f%%  steal %3.0f%%"
                    % (r + 1, n, m["gbps"], m["cpu_s_per_gib"] or 0, m["user_s_per_gib"] or 0,
                       server_cpu, m["cpu0_s_per_gib"] or 0, m["server_cpu_pct"],
                       m["steal_pct"]))
            res["rounds_done"] = r + 1
    finally:
        for n, srv in running.items():
            res["servers"][n]["log"] = srv.logf.name
            srv.stop()
    summarize(res)
    return res


def _ratio(res, a, b, key):
    h = {m["round"]: m for m in res["servers"][a]["rounds"]}
    rs = [h[m["round"]][key] / m[key] for m in res["servers"][b]["rounds"]
          if m["round"] in h and m.get(key) and h[m["round"]].get(key) is not None]
    return statistics.median(rs) if rs else None


def summarize(res):
    for r in res["servers"].values():
        for key in ("gbps", "curl_gbps", "cpu_s_per_gib", "user_s_per_gib", "cpu0_s_per_gib",
                    "server_cpu_pct"):
            vals = [m[key] for m in r["rounds"] if m.get(key) is not None]
            if vals:
                r[key] = statistics.median(vals)
    for peer in (PEER, OTHER):
        res["ratios"][peer] = {k: _ratio(res, SUBJECT, peer, k)
                               for k in ("gbps", "cpu_s_per_gib", "cpu0_s_per_gib")}
    res["targets"] = []
    for key, label, kind, bound in TARGETS:
        v = res["ratios"][PEER][key]
        ok = None if v is None else (v >= bound if kind == "min" else v <= bound)
        res["targets"].append(dict(label=label, value=v, spec="%.3fx",
                                   verdict=None if ok is None else ("PASS" if ok else "FAIL")))


def section(res):
    lines = ["## FTP: ftpd.lua vs vsftpd and pyftpdlib", ""]
    size = res["size"]
    S = res["servers"]
    rv, rp = res["ratios"].get(PEER, {}), res["ratios"].get(OTHER, {})
    lines += [
        "- **ftpd.lua**: `build/luanetd scripts/ftpd.lua --root build/bench/static --port P` "
        "(anonymous, read-only; binary RETR leaves through sendFile: sendfile(2) from the "
        "event loop)",
        "- **vsftpd**: standalone in the foreground (`listen=YES`, `background=NO`), "
        "anonymous read-only on the same directory, `use_sendfile=YES`, `xferlog_enable=NO`, "
        "`seccomp_sandbox=NO`, passive ports %d-%d; a session process (and its child) per "
        "connection, under `ftp_phase.py reap`" % PASV_RANGE,
        "- **pyftpdlib**: `bench/ftp_phase.py pyftpdlib` under /usr/bin/python3: FTPServer, an "
        "anonymous DummyAuthorizer, `use_sendfile=True` (its default on Linux), logging at "
        "WARNING",
        "",
        "The file: `%s`, %d bytes (%.2f GiB), the static phase's, in the page cache (one "
        "unmeasured download per server first). All three servers up at once on CPU %d; the "
        "client `curl -s -o /dev/null ftp://127.0.0.1:P/FILE` (binary, passive: EPSV) on CPU %d, "
        "new control and data connections per download. %d rounds (%d run), the order rotated and "
        "flipped every round; per round and server %d download(s) in a row, over which the "
        "server's CPU time and the wall time (curl's start and the FTP dialogue included) are "
        "taken. Server CPU time is utime+stime+cutime+cstime summed over the server's live "
        "process tree (/proc/PID/stat, 1/%d s ticks), read once no per-connection process is "
        "left: vsftpd's sessions have exited by then and been waited for, by the listener or by "
        "the wrapper it runs under (`ftp_phase.py reap`, a child subreaper, since a session's "
        "parent does not always wait for its child), so their time is in the cutime/cstime of "
        "one live process. \"CPU %d busy\" is the whole busy time "
        "of the server CPU (user, system, irq, softirq) per GiB, a check on the per-process "
        "figure. Ratios are ftpd.lua / peer, the median of the per-round ratios. As in the "
        "static phase, the server's CPU time on loopback includes receive-side softirq work, so "
        "absolute figures swing between runs; the ratios rank."
        % (res["file"], size, size / GIB, res["server_cpu"], res["load_cpu"], res["rounds_n"],
           res.get("rounds_done", 0), res["downloads"], HZ, res["server_cpu"]),
        "",
        "| measure | ftpd.lua | vsftpd | pyftpdlib | ftpd.lua/vsftpd | ftpd.lua/pyftpdlib |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, spec, rspec in (
            ("GB/s (bytes / wall, median of rounds)", "gbps", "%.2f", "%.3f"),
            ("GB/s as curl saw it (median)", "curl_gbps", "%.2f", None),
            ("server CPU s per GiB (median of rounds)", "cpu_s_per_gib", "%.3f", "%.3f"),
            ("… of which user space", "user_s_per_gib", "%.3f", None),
            ("CPU %d busy s per GiB (median)" % res["server_cpu"], "cpu0_s_per_gib", "%.3f",
             "%.3f"),
            ("server CPU % of the wall time (median)", "server_cpu_pct", "%.0f", None)):
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, _f(S[SUBJECT].get(key), spec), _f(S[PEER].get(key), spec),
            _f(S[OTHER].get(key), spec),
            _f(rv.get(key), rspec) if rspec else "", _f(rp.get(key), rspec) if rspec else ""))
    lines.append("")
    if res.get("targets"):
        lines += ["### Targets (ftpd.lua)", ""]
        lines += ["- %s: %s — **%s**" % (t["label"], _f(t["value"], t["spec"]),
                                          t["verdict"] or "not measured")
                  for t in res["targets"]]
        lines.append("")
    rows = [(r, n, m) for r in range(res["rounds_n"]) for n in NAMES
            for m in S[n]["rounds"] if m["round"] == r]
    if rows:
        lines += ["### Rounds", "",
                  "Server CPU %% is of one CPU; steal %% what the hypervisor took from CPU %d."
                  % res["server_cpu"], "",
                  "| round | server | bytes | wall s | GB/s | CPU s | user s | CPU s/GiB | "
                  "CPU %d busy s/GiB | server CPU %% | steal %% |" % res["server_cpu"],
                  "|" + "---|" * 11]
        lines += ["| %d | %s | %d | %.3f | %.2f | %.2f | %.2f | %s | %s | %.0f | %.0f |"
                  % (r + 1, n, m["bytes"], m["wall_s"], m["gbps"], m["cpu_s"], m["user_s"],
                     _f(m["cpu_s_per_gib"], "%.3f"), _f(m["cpu0_s_per_gib"], "%.3f"),
                     m["server_cpu_pct"], m["steal_pct"]) for r, n, m in rows]
        lines.append("")
    if res.get("notes"):
        lines += ["- " + n for n in res["notes"]] + [""]
    if res["errors"]:
        lines += ["### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]] + [""]
    return lines


def reap(argv):
    """Runs argv as a child, as a child subreaper (prctl PR_SET_CHILD_SUBREAPER),
    and waits for every process that ends up its child: vsftpd's session parent
    may exit before it has waited for its own child, which then is orphaned
    here rather than to init, so that its CPU time still lands in this
    process's cutime/cstime. SIGTERM and SIGINT go on to the child; exits with
    the child's status."""
    import ctypes
    import signal
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:        # PR_SET_CHILD_SUBREAPER
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER): errno %d" % ctypes.get_errno())
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, f: child.send_signal(n))
    status = 0
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child.pid:
            child.returncode = status = os.waitstatus_to_exitcode(st)
    sys.exit(status if status >= 0 else 128 - status)


def serve_pyftpdlib(argv):
    """The pyftpdlib server: an anonymous read-only FTPServer on --root,
    127.0.0.1:--port (0: any), the harness's ready line on stdout."""
    import argparse
    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.log import config_logging
    from pyftpdlib.servers import FTPServer
    ap = argparse.ArgumentParser(prog="ftp_phase.py pyftpdlib")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args(argv)
    config_logging(level=logging.WARNING)
    auth = DummyAuthorizer()
    auth.add_anonymous(os.path.abspath(a.root))
    handler = FTPHandler
    handler.authorizer = auth
    handler.use_sendfile = True
    server = FTPServer(("127.0.0.1", a.port), handler)
    host, port = server.socket.getsockname()[:2]
    print(READY_LINE % (host, port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["pyftpdlib"]:
        serve_pyftpdlib(sys.argv[2:])
    elif sys.argv[1:2] == ["reap"] and sys.argv[2:]:
        reap(sys.argv[2:])
    else:
        sys.exit("usage: ftp_phase.py pyftpdlib --root DIR [--port P]\n"
                 "       ftp_phase.py reap PROGRAM [ARG...]")
