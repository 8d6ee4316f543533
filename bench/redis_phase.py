"""bench/redis_phase.py: the `redis` workload of `make bench` (issue 20):
net.Redis against Node's ioredis on the same redis-server, and the chat
example (scripts/redis_chat.lua, etc/cluster/) on three nodes behind HAProxy.

GET. redis-server (Debian's, `--save "" --appendonly no`, a free loopback
port) on CPU 1, the client on CPU 0 (taskset). One key holds a 64-byte
value; bench/redis_get.lua (build/luanetd) and bench/node_redis_get.js
(ioredis, the version bench/package-lock.json pins) each open one
connection and, after 0.5 s of warm-up, for S seconds each (2, 1 with
--quick): GET one at a time (net.Redis `r:call`, ioredis `await
redis.get`), then 16 GETs pipelined per round trip (`r:pipeline` of 16;
`redis.pipeline()` of 16 get's and exec()). Every reply is checked. R
rounds (7, 3 with --quick), luanetd and ioredis back to back with the
order flipped every round; the ratio is the median of the per-round ratios
luanetd/ioredis of ops/s. Targets: >= 1.0x in both modes. For context,
redis-benchmark (redis-tools, the C limit) with one connection, -P 1 and
-P 16, once per round. Where luanetd's time goes: `perf record -e
cpu-clock` of redis_get.lua, each mode alone.

Chat. redis-server, three luanetd nodes from etc/cluster/node1..3.conf and
HAProxy from etc/cluster/haproxy.cfg, the example's ports (6379, 7100-7103)
replaced by free ones as spec/integration/redis_cluster_spec.lua does, all
on CPU 0; before the clients come, a probe line through each node's own
port must reach all three (every node subscribed). build/bench/chat_load
(bench/chat_load.c) on CPU 1 connects 300 receivers and one publisher to
HAProxy's port, asks each /who ("node NAME": which node), then writes
timestamped lines: a burst (2,000; 1,000 with --quick) gives the deliveries
per second, runs paced at half the burst's line rate and at 100 lines/s
(3 s each, 1 s with --quick) give the delay at those rates. A fresh
cluster per run, a 30 s cap each. No target: the figures are stated.
"""
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import perf_profile
import workers_phase
from kv import parse_kv

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
HAPROXY = "/usr/sbin/haproxy"
DEPTH = 16
VALUE_SIZE = 64
TARGET_MIN = 1.0
CHAT_CLIENTS = 300
PACED_RATE = 100
CHAT_CAP_S = 30
MODES = (("single", "GET one at a time (a round trip each)"),
         ("pipeline", "GET pipelined %d deep" % DEPTH))


class Proc:
    """A process started here, stopped by its PID."""

    def __init__(self, argv, log_path, cwd=None):
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, cwd=cwd)

    @property
    def pid(self):
        return self.proc.pid

    def term(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        self.term()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def start_redis(cpu, work, log_path):
    port = workers_phase.free_port()
    p = Proc(["taskset", "-c", str(cpu), REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(work)], log_path)
    if not workers_phase.wait_port(port):
        p.stop()
        raise RuntimeError("redis-server did not listen on %d" % port)
    return port, p


# --------------------------------------------------------------------- GET

def client_run(root, cpu, port, secs, which):
    if which == "luanetd":
        argv = [str(root / "build" / "luanetd"), str(root / "bench" / "redis_get.lua")]
    else:
        argv = ["node", str(root / "bench" / "node_redis_get.js")]
    r = subprocess.run(["taskset", "-c", str(cpu)] + argv +
                       ["--port", str(port), "--secs", "%g" % secs, "--depth", str(DEPTH),
                        "--size", str(VALUE_SIZE)],
                       capture_output=True, text=True, timeout=60 + 4 * secs)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (which, r.returncode, (r.stderr + r.stdout)[-500:]))
    out = {}
    for mode, _ in MODES:
        out[mode] = parse_kv(r.stdout, "client=%s mode=%s " % ("luanetd" if which == "luanetd"
                                                               else "ioredis", mode))["ops_per_s"]
    return out


def redis_benchmark(cpu, port, depth, n):
    r = subprocess.run(["taskset", "-c", str(cpu), REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port),
                        "-c", "1", "-t", "get", "-n", str(n), "-P", str(depth), "-d", str(VALUE_SIZE),
                        "-q"], capture_output=True, text=True, timeout=120)
    m = re.findall(r"GET: ([\d.]+) requests per second", r.stdout.replace("\r", "\n"))
    if r.returncode != 0 or not m:
        raise RuntimeError("redis-benchmark -P %d exited %d: %s" % (depth, r.returncode,
                                                                     (r.stderr + r.stdout)[-300:]))
    return float(m[-1])


CATEGORIES = [   # (label, regex on the symbol), the first that matches
    ("kernel (send/recv, epoll, loopback TCP, wake-ups)", r"^\[k\] "),
    ("string.format (resp.encode's \"%d\" lengths): printf machinery",
     r"vfprintf|vsnprintf|^str_format$|strspn|strchrnul|strlen|_IO_|_itoa|get2digits|checkformat|getformat|"
     r"addlenmod|__printf"),
    ("table.concat and buffers (resp.encode's command, the read buffer)",
     r"^(luaL_addvalue|prepbuffsize|luaL_pushresult|luaL_addlstring|luaL_buffinit|luaL_prepbuffsize|"
     r"addfield|tconcat|newbox|resizebox|boxgc|newbuffbox|luaL_pushresultsize|block_resize)$"),
    ("string library (resp.decode's find, sub, byte; tonumber)",
     r"^(str_find_aux|lmemfind|str_sub|str_byte|do_match|match|match_class|singlematch|classEnd|"
     r"matchbracketclass|push_captures|push_onecapture|str_find|str_match|luaB_tonumber|l_str2int|"
     r"l_str2d|luaO_str2num|posrelatI|getendpos)$"),
    ("strings made and interned (sub's results, keys)",
     r"internshrstr|^luaS_|luaV_concat|memcmp|memmove|memcpy|strcmp|luaV_equalobj"),
    ("tables (replies, pipeline lists, fields)", r"^(luaH_|lua_geti|lua_seti|luaV_finishset|luaV_finishget|"
                                                 r"lua_rawgeti|lua_rawseti|lua_createtable|lua_getfield|"
                                                 r"lua_setfield|auxgetstr|auxsetstr|mainposition)"),
    ("allocation and GC", r"malloc|_int_free|cfree|^free$|realloc|tcache|^luaC_|^luaM_|sweep|propagate|"
                          r"reallymarkobject|GCTM|budget_lua_alloc|l_alloc|freeobj|atomic|singlestep"),
    ("clock_gettime (time-outs)", r"clock_gettime"),
    ("libev and the socket layer (C)", r"^ev_|epoll|tcp_socket|socket_|sock_|lnet_|emit|signal_|"
                                       r"__libc_(send|recv|read|write)|^_*(send|recv|read|write)$|^rio_cb$"),
    ("Lua VM, calls and the C API", r"^(lua|luaV_|luaD_|luaT_|luaL_|luaG_|luaF_|luaO_|luaE_|index2|auxresume|"
                                    r"resume|ccall|precallC|moveresults)"),
]


def profile_luanetd(root, cpu, port, work, secs):
    """perf record of redis_get.lua, each mode alone: mode -> {top,
    categories}, or None and why."""
    out = {}
    for mode, _ in MODES:
        prof, why = perf_profile.profile(
            [str(root / "build" / "luanetd"), str(root / "bench" / "redis_get.lua"), "--port", str(port),
             "--mode", mode, "--secs", "%g" % secs, "--warmup", "0", "--depth", str(DEPTH)],
            cpu, Path(work) / ("perf-redis-%s.data" % mode), CATEGORIES, kernel_mark=True)
        if why:
            return None, why
        out[mode] = prof
    return out, None


def get_rounds(root, client_cpu, redis_cpu, rounds, secs, work, log_dir, log):
    res = {"rounds": [], "secs": secs, "rounds_n": rounds, "client_cpu": client_cpu,
           "redis_cpu": redis_cpu, "errors": []}
    port, srv = start_redis(redis_cpu, work, Path(log_dir) / "redis-get-server.log")
    try:
        bench_ok = Path(REDIS_BENCHMARK).exists()
        if not bench_ok:
            res["redis_benchmark_note"] = "%s not installed (Debian's redis-tools)" % REDIS_BENCHMARK
        for i in range(rounds):
            first = "luanetd" if i % 2 == 0 else "ioredis"
            second = "ioredis" if first == "luanetd" else "luanetd"
            rnd = {"round": i, "order": "%s,%s" % (first, second)}
            for which in (first, second):
                rnd[which] = client_run(root, client_cpu, port, secs, which)
            if bench_ok:
                try:
                    rnd["redis-benchmark"] = {
                        "single": redis_benchmark(client_cpu, port, 1, 50000 if secs < 2 else 100000),
                        "pipeline": redis_benchmark(client_cpu, port, DEPTH, 200000 if secs < 2 else 500000)}
                except Exception as e:
                    res["errors"].append("redis-benchmark: %s" % e)
                    bench_ok = False
            res["rounds"].append(rnd)
            log("  GET round %d (%s): %s" % (i + 1, rnd["order"], "; ".join(
                "%s luanetd %.0f ioredis %.0f%s" % (
                    mode, rnd["luanetd"][mode], rnd["ioredis"][mode],
                    " redis-benchmark %.0f" % rnd["redis-benchmark"][mode]
                    if "redis-benchmark" in rnd else "") for mode, _ in MODES)))
        prof, why = profile_luanetd(root, client_cpu, port, work, secs)
        res["profile"], res["profile_error"] = prof, why
        if why:
            log("  profile: %s" % why)
    finally:
        srv.stop()
    res["median"], res["ratio"], res["ratios"] = {}, {}, {}
    for mode, _ in MODES:
        for who in ("luanetd", "ioredis", "redis-benchmark"):
            vals = [r[who][mode] for r in res["rounds"] if who in r]
            if vals:
                res["median"].setdefault(who, {})[mode] = statistics.median(vals)
        rs = [r["luanetd"][mode] / r["ioredis"][mode] for r in res["rounds"]]
        res["ratios"][mode] = rs
        res["ratio"][mode] = statistics.median(rs) if rs else None
    return res


# -------------------------------------------------------------------- chat

def example(root, name, ports):
    """etc/cluster/<name> with the example's ports replaced."""
    text = (root / "etc" / "cluster" / name).read_text()
    return re.sub(r"\b(6379|710[0-3])\b", lambda m: str(ports[m.group(1)]), text)


def ask(sock_file, line):
    sock_file.write(line + "\n")
    sock_file.flush()
    return sock_file.readline().strip()


def probe(node_ports, timeout=10):
    """A line through node 1 must reach a client of every node (each has
    subscribed); True when it did."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        socks = []
        try:
            for p in node_ports:
                s = socket.create_connection(("127.0.0.1", p), 2)
                s.settimeout(0.5)
                f = s.makefile("rw")
                if not ask(f, "/who").startswith("node "):
                    raise OSError("no /who answer")
                socks.append((s, f))
            n += 1
            tag = "probe %d" % n
            socks[0][1].write(tag + "\n")
            socks[0][1].flush()
            got = 0
            for s, f in socks:
                try:
                    while True:
                        line = f.readline().strip()
                        if line == tag:
                            got += 1
                            break
                        if not line:
                            break
                except (socket.timeout, OSError):
                    pass
            if got == len(node_ports):
                return True
        except OSError:
            time.sleep(0.1)
        finally:
            for s, f in socks:
                try:
                    f.close()
                    s.close()
                except OSError:
                    pass
    return False


class Cluster:
    def __init__(self, root, cpu, log_dir):
        self.work = Path(tempfile.mkdtemp(prefix="luanetd-bench-cluster."))
        self.procs = []
        ports = {"6379": None, "7100": workers_phase.free_port()}
        for n in range(1, 4):
            ports["710%d" % n] = workers_phase.free_port()
        try:
            ports["6379"], redis = start_redis(cpu, self.work, Path(log_dir) / "redis-chat-server.log")
            self.procs.append(redis)
            for n in range(1, 4):
                conf = example(root, "node%d.conf" % n, ports).replace(
                    "../../scripts/", str(root / "scripts") + "/")
                path = self.work / ("node%d.conf" % n)
                path.write_text(conf)
                self.procs.append(Proc(["taskset", "-c", str(cpu), str(root / "build" / "luanetd"), "-c",
                                        str(path)], Path(log_dir) / ("redis-chat-node%d.log" % n),
                                       cwd=self.work))
            node_ports = [ports["710%d" % n] for n in range(1, 4)]
            for p in node_ports:
                if not workers_phase.wait_port(p):
                    raise RuntimeError("a node did not listen on %d" % p)
            if not probe(node_ports):
                raise RuntimeError("a probe line did not reach every node's client (subscriptions)")
            cfg = self.work / "haproxy.cfg"
            cfg.write_text(example(root, "haproxy.cfg", ports))
            self.procs.append(Proc(["taskset", "-c", str(cpu), HAPROXY, "-db", "-f", str(cfg)],
                                   Path(log_dir) / "redis-chat-haproxy.log"))
            if not workers_phase.wait_port(ports["7100"]):
                raise RuntimeError("haproxy did not listen on %d" % ports["7100"])
            time.sleep(0.7)   # its first health checks (inter 300ms)
            self.front = ports["7100"]
        except Exception:
            self.stop()
            raise

    def cpu_by(self):
        names = ["redis-server", "node1", "node2", "node3", "haproxy"]
        return {n: workers_phase.cpu_ticks(p.pid) / workers_phase.HZ
                for n, p in zip(names, self.procs) if p.proc.poll() is None}

    def stop(self):
        # HAProxy, then the nodes together: a node waits its shutdown_timeout
        # (5 s) for its own Redis connections on SIGTERM; then redis-server
        for group in (self.procs[4:], self.procs[1:4], self.procs[:1]):
            for p in group:
                p.term()
            for p in group:
                p.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def chat_run(root, out, server_cpu, load_cpu, lines, rate, log_dir):
    try:
        c = Cluster(root, server_cpu, log_dir)
    except Exception as e:
        return {"error": str(e)}
    try:
        cmd = ["taskset", "-c", str(load_cpu), str(out / "chat_load"), "--port", str(c.front),
               "--clients", str(CHAT_CLIENTS), "--lines", str(lines), "--rate", "%g" % rate,
               "--secs", str(CHAT_CAP_S)]
        before = c.cpu_by()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CHAT_CAP_S + 60)
        after = c.cpu_by()
        if r.returncode != 0:
            return {"error": "chat_load exited %d: %s" % (r.returncode, (r.stderr + r.stdout)[-500:])}
        kv = parse_kv(r.stdout, "mode=chat")
        kv["cpu_s"] = {n: after[n] - before.get(n, 0) for n in after}
        used = sum(kv["cpu_s"].values())
        kv["cpu_us_per_delivery"] = 1e6 * used / kv["deliveries"] if kv["deliveries"] else None
        kv["command"] = "build/bench/chat_load --port HAPROXY --clients %d --lines %d --rate %g --secs %d" % (
            CHAT_CLIENTS, lines, rate, CHAT_CAP_S)
        return kv
    finally:
        c.stop()


# --------------------------------------------------------------------- run

def run(root, out, client_cpu, redis_cpu, quick, log_dir, log=print):
    """client_cpu: the GET clients' and chat_load's CPU; redis_cpu:
    redis-server's for GET, and the whole cluster's for the chat."""
    res = {"errors": [], "quick": quick, "targets": []}
    for tool in (REDIS_SERVER, HAPROXY):
        if not Path(tool).exists():
            res["errors"].append("%s not installed" % tool)
            return res
    work = Path(tempfile.mkdtemp(prefix="luanetd-bench-redis."))
    try:
        t0 = time.monotonic()
        res["get"] = get_rounds(root, client_cpu, redis_cpu, 3 if quick else 7, 1 if quick else 2,
                                work, log_dir, log)
        res["errors"] += res["get"].pop("errors")
        log("  GET: %d rounds in %.0f s" % (res["get"]["rounds_n"], time.monotonic() - t0))
    except Exception as e:
        res["errors"].append("GET: %s" % e)
        log("  GET: %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    g = res.get("get")
    for mode, label in MODES:
        v = g["ratio"].get(mode) if g else None
        res["targets"].append(dict(label="net.Redis / ioredis, %s (ops/s, >= %.1fx)" % (label, TARGET_MIN),
                                   value=v, spec="%.2fx",
                                   verdict=None if v is None else ("PASS" if v >= TARGET_MIN else "FAIL")))
    # the chat: a burst, then paced at half its line rate and at 100 lines/s
    burst_lines = 1000 if quick else 2000
    paced_secs = 1 if quick else 3
    res["chat"], res["chat_server_cpu"], res["chat_load_cpu"] = [], redis_cpu, client_cpu
    burst = chat_run(root, out, redis_cpu, client_cpu, burst_lines, 0, log_dir)
    res["chat"].append(dict(burst, label="burst: %d lines written at once" % burst_lines))
    if "error" in burst:
        res["errors"].append("chat burst: %s" % burst["error"])
        log("  chat burst: %s" % burst["error"])
        return res
    runs = [(max(10, round(burst["lines_per_s"] / 2)), "paced at half the burst's rate"),
            (PACED_RATE, "paced")]
    for rate, label in runs:
        r = chat_run(root, out, redis_cpu, client_cpu, max(1, int(rate * paced_secs)), rate, log_dir)
        res["chat"].append(dict(r, label="%s: %d lines/s for %d s" % (label, rate, paced_secs)))
        if "error" in r:
            res["errors"].append("chat %s: %s" % (label, r["error"]))
    for r in res["chat"]:
        if "error" not in r:
            log("  chat %s: %.0f deliveries/s, %.1f lines/s, p50 %.1f ms, p99 %.1f ms, missing %d, "
                "per node %s" % (r["label"], r["deliveries_per_s"], r["lines_per_s"], r["p50_us"] / 1000,
                                 r["p99_us"] / 1000, r["missing"], r["per_worker"]))
            if r["missing"] or r["misordered"] or r["errors"]:
                res["errors"].append("chat %s: %d missing, %d out of order, %d errors"
                                     % (r["label"], r["missing"], r["misordered"], r["errors"]))
    return res


def _f(v, spec):
    return "-" if v is None else spec % v


def section(res):
    lines = ["## Redis: net.Redis vs ioredis, and the chat on three nodes", ""]
    g = res.get("get")
    if g:
        med = g["median"]
        lines += [
            "GET: redis-server %s (`--save \"\" --appendonly no`, a free loopback port) on CPU %d, the "
            "client on CPU %d. One connection; a %d-byte value; 0.5 s of warm-up, then %g s per mode:"
            % (_redis_version(), g["redis_cpu"], g["client_cpu"], VALUE_SIZE, g["secs"]),
            "",
            "- **luanetd**: `build/luanetd bench/redis_get.lua --port P --secs %g --depth %d --size %d` "
            "(net.Redis: `r:call(\"GET\", key)` in a loop; `r:pipeline` of %d GETs per round trip)"
            % (g["secs"], DEPTH, VALUE_SIZE, DEPTH),
            "- **ioredis** %s: `node bench/node_redis_get.js` with the same arguments (`await "
            "redis.get(key)` in a loop; `redis.pipeline()` of %d `get`s, then `exec()`)"
            % (_ioredis_version(), DEPTH),
            "- **redis-benchmark** (context, the C limit): `redis-benchmark -c 1 -t get -d %d -q` "
            "with `-P 1 -n 100000` and `-P %d -n 500000` (50,000 / 200,000 with --quick)"
            % (VALUE_SIZE, DEPTH),
            "",
            "%d rounds, luanetd and ioredis back to back, the order flipped every round, "
            "redis-benchmark after them; figures are medians over the rounds, the ratio the median "
            "of the per-round ratios luanetd/ioredis." % g["rounds_n"],
            "",
            "| mode | luanetd ops/s | ioredis ops/s | luanetd/ioredis (per round) | redis-benchmark ops/s |",
            "|---|---|---|---|---|",
        ]
        for mode, label in MODES:
            lines.append("| %s | %s | %s | %s (%s) | %s |" % (
                label, _f(med.get("luanetd", {}).get(mode), "%.0f"),
                _f(med.get("ioredis", {}).get(mode), "%.0f"), _f(g["ratio"].get(mode), "%.2fx"),
                ", ".join("%.2f" % r for r in g["ratios"].get(mode, [])),
                _f(med.get("redis-benchmark", {}).get(mode), "%.0f")))
        lines.append("")
        if g.get("redis_benchmark_note"):
            lines += ["redis-benchmark: not run (%s)." % g["redis_benchmark_note"], ""]
    lines += ["### Targets (net.Redis)", ""]
    for t in res.get("targets", []):
        lines.append("- %s: %s — **%s**" % (t["label"], _f(t["value"], t["spec"]),
                                             t["verdict"] or "not measured"))
    lines.append("")
    prof, why = (g or {}).get("profile"), (g or {}).get("profile_error")
    if prof:
        lines += ["Where luanetd's time goes (`perf record -e cpu-clock -F 4000` of `redis_get.lua "
                  "--mode M`, the process's user and kernel time; share of the samples):", "",
                  "| group | %s |" % " | ".join(label for _, label in MODES), "|---|---|---|"]
        cats = [k for k, _ in prof[MODES[0][0]]["categories"]]
        for k in cats:
            vals = [dict(prof[m]["categories"]).get(k, 0.0) for m, _ in MODES]
            if any(vals):
                lines.append("| %s | %s |" % (k, " | ".join("%.1f%%" % v for v in vals)))
        lines.append("")
        for mode, label in MODES:
            lines += ["Top functions, %s: %s" % (label, ", ".join(
                "%s %.1f%%" % (n, p) for n, p in prof[mode]["top"][:10])), ""]
    elif why:
        lines += ["Profile of luanetd's GET loop: not made (%s)." % why, ""]
    chat = [r for r in res.get("chat") or [] if "error" not in r]
    if chat:
        lines += [
            "Chat: redis-server, three `luanetd -c` nodes from etc/cluster/node1..3.conf "
            "(scripts/redis_chat.lua) and `haproxy -db -f` etc/cluster/haproxy.cfg, the example's "
            "ports (6379, 7100-7103) replaced by free ones, all on CPU %d, a fresh cluster per run; "
            "build/bench/chat_load (bench/chat_load.c) on CPU %d: %d receivers and one publisher "
            "through HAProxy's port, each asked `/who` first (its node); the publisher writes lines "
            "`m SEQ T` (T its monotonic time), each published to Redis by its node and sent by every "
            "node to its clients; every receiver must get every line in order. delay = the "
            "receiver's time at the read() that brought the line - T; deliveries/s = deliveries / "
            "(first line written to last delivery); lines/s = lines delivered to all %d per second. "
            "The burst's delay is its queue; a paced run's is the delay at that rate. CPU per "
            "delivery: utime+stime of redis-server, the three nodes and HAProxy over the run / "
            "deliveries."
            % (res["chat_server_cpu"], res["chat_load_cpu"], CHAT_CLIENTS, CHAT_CLIENTS),
            "",
            "| run | receivers per node | deliveries/s | lines/s | p50 delay | p99 delay | max delay "
            "| missing / out of order | CPU per delivery | CPU s: redis, nodes, haproxy |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ] + ["| %s | %s | %.0f | %.1f | %.1f ms | %.1f ms | %.1f ms | %d / %d | %s | %s |" % (
            r["label"], r["per_worker"], r["deliveries_per_s"], r["lines_per_s"], r["p50_us"] / 1000,
            r["p99_us"] / 1000, r["max_us"] / 1000, r["missing"], r["misordered"],
            "%.2f µs" % r["cpu_us_per_delivery"] if r.get("cpu_us_per_delivery") else "n/a",
            "%.2f; %s; %.2f" % (r["cpu_s"].get("redis-server", 0),
                                " ".join("%.2f" % r["cpu_s"].get("node%d" % n, 0) for n in (1, 2, 3)),
                                r["cpu_s"].get("haproxy", 0)))
            for r in chat] + [""]
    for r in res.get("chat") or []:
        if "error" in r:
            lines += ["Chat, %s: failed: %s" % (r["label"], r["error"].replace("\n", " ")), ""]
    if res["errors"]:
        lines += ["### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]] + [""]
    return lines


def _redis_version():
    try:
        out = subprocess.run([REDIS_SERVER, "--version"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"v=(\S+)", out)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def _ioredis_version():
    try:
        import json
        p = Path(__file__).resolve().parent / "node_modules" / "ioredis" / "package.json"
        return json.loads(p.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"
