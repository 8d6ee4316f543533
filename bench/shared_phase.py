"""bench/shared_phase.py: the `shared` workload of `make bench` (issue 19):
net.SharedDict against OpenResty's ngx.shared.DICT, one key incremented by
two workers at once, and net.Channel's fan-out to 1,000 clients.

SharedDict's added cost. bench/shared_dict_loop.lua (build/luanetd, Lua 5.4)
and bench/shared_dict_ngx.lua (nginx with libnginx-mod-http-lua, LuaJIT,
content_by_lua_file, `lua_shared_dict bench 16m;`) run the same loops, one
definition in bench/shared_dict_bench.lua that both load: 200
rounds over 1,000 pre-built keys of incr(k, 1, 0); get(k); set(k, i) on the
dict, and the same three operations on a plain table of the same runtime,
each timed with os.clock (CPU time), the median of 3 repetitions. The added
cost per operation is dict loop - table loop. Both run on the server CPU,
luanetd's as a process of its own and nginx's in its one worker (the harness
GETs /?reps=3); the pairs alternate (the order flipped every pair), and the
ratio is the median of the per-pair ratios luanetd/ngx: this VM's speed
drifts from one second to the next. Target: <= 1.0x. Where luanetd's dict
loop spends its time: `perf record -e cpu-clock` of the dict loop alone.

Two workers, one key. luanetd -c with workers = 2, shared = { bench = "1M" }
and bench/shared_incr_service.lua, the daemon on both CPUs (the client only
waits). The harness opens connections until it has one per worker (`who`),
then sends "go N" to one worker alone (N incr's of one key in a loop: the
cost without contention) and, after a reset, to both at once; the key must
then read 2N exactly, or the row fails. Reported: ns per incr of each
worker's loop, the time both loops overlapped, and 2N over the whole span.

Channel fan-out. scripts/chat_server.lua under luanetd -c with workers = 2
(the daemon on the server CPU, both workers there), and build/bench/chat_load
(bench/chat_load.c) on the load CPU: 1,000 receivers and one publisher. A
burst of M lines (all written at once; 2,000, 1,000 with --quick) gives the
deliveries per second (its delay is its own queue); runs paced at half the
burst's line rate and at 100 lines/s (3 s each, 1 s with --quick) give the
delay at those rates. Each run has a fresh daemon and a 60 s cap. No
target: the figures are stated.
"""
import resource
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import perf_profile
import workers_phase
from kv import parse_kv

DICT_KEYS, DICT_ROUNDS, DICT_REPS = 1000, 200, 3
NGX_EXTRA = "lua_shared_dict bench 16m;"
INCR_N = 1_000_000
CHAT_CLIENTS = 1000
PACED_RATE = 100    # lines/s of the fixed paced run: 100,000 deliveries/s
TARGET_MAX = 1.0


# ------------------------------------------------------------ the dict loop

def luanetd_loop(root, cpu):
    r = subprocess.run(["taskset", "-c", str(cpu), str(root / "build" / "luanetd"),
                        str(root / "bench" / "shared_dict_loop.lua"), "--keys", str(DICT_KEYS),
                        "--rounds", str(DICT_ROUNDS), "--reps", str(DICT_REPS)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("shared_dict_loop.lua exited %d: %s" % (r.returncode, r.stderr[-500:]))
    return parse_kv(r.stdout, "runtime=")


def ngx_loop(port):
    url = "http://127.0.0.1:%d/?keys=%d&rounds=%d&reps=%d" % (port, DICT_KEYS, DICT_ROUNDS, DICT_REPS)
    with urllib.request.urlopen(url, timeout=120) as resp:
        body = resp.read().decode()
    return parse_kv(body, "runtime=")


def dict_pairs(root, server_cpu, pairs, ngx):
    out = []
    for i in range(pairs):
        first_luanetd = i % 2 == 0
        a = luanetd_loop(root, server_cpu) if first_luanetd else None
        b = ngx_loop(ngx.port)
        if a is None:
            a = luanetd_loop(root, server_cpu)
        out.append({"luanetd": a, "ngx": b, "order": "luanetd,ngx" if first_luanetd else "ngx,luanetd"})
    return out


CATEGORIES = [   # (label, regex on the symbol), the first that matches
    ("clock_gettime (the dict's now(), a call per operation)", r"clock_gettime"),
    ("pthread mutex", r"pthread_mutex|__lll_lock|__lll_unlock"),
    ("malloc/free", r"malloc|_int_free|cfree|^free$|_int_realloc|realloc|tcache"),
    ("plain_value encode/decode", r"plain_|encode_value|decode_value|add_numbers"),
    # put: the dict's, and plain_value.c's of the same name (perf tells them apart by address only)
    ("dict store (hash, lookup, LRU, put)",
     r"^(slot_of|find|put|lru_|hash|remove_entry|make_room|shared_dict_(incr|fetch|store|set|get))$"
     r"|memcmp|memcpy|memmove"),
    ("Lua binding (shared_dict_lua.c)", r"^(store|shared_dict_\w+_lua|shared_dict_get|number_arg|"
                                        r"check_dict|failure|key_arg)$"),
    ("method lookup (d:incr through the metatable's __index function)",
     r"^(luaV_finishget|luaT_callTMres|luaT_gettmbyobj|lnet_class_index)$"),
    ("Lua VM and C API (the loop, the call, its arguments and results)",
     r"^(lua|luaV_|luaD_|luaH_|luaT_|luaL_|luaG_|luaF_|luaC_|luaS_|luaO_|luaE_|index2|lnet_)"),
]


def profile_luanetd(root, cpu, work):
    """perf record of the dict loop alone: (top functions, categories) as
    (name, percent) lists, or None and the reason."""
    return perf_profile.profile([str(root / "build" / "luanetd"), str(root / "bench" / "shared_dict_loop.lua"),
                                 "--only", "dict", "--rounds", "1000", "--reps", "1"],
                                cpu, work / "perf-shared-dict.data", CATEGORIES)


# ------------------------------------------------------- two workers, one key

INCR_CONFIG = """workers = 2
shared = {{ bench = "1M" }}
service "incr" {{ script = "{script}", listen = "tcp://127.0.0.1:{port}" }}
"""


class LineConn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        self.sock.settimeout(60)
        self.f = self.sock.makefile("rw")

    def send(self, line):
        self.f.write(line + "\n")
        self.f.flush()

    def recv(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError("the service closed the connection")
        return line.strip()

    def ask(self, line):
        self.send(line)
        return self.recv()

    def close(self):
        self.f.close()
        self.sock.close()


def two_workers(root, cpus, n, reps, log_dir):
    port = workers_phase.free_port()
    d = workers_phase.Daemon(root, INCR_CONFIG.format(script=root / "bench" / "shared_incr_service.lua",
                                                      port=port),
                             cpus, Path(log_dir) / "shared-incr-luanetd.log")
    by_worker, spare = {}, []
    try:
        if not workers_phase.wait_port(port):
            return {"error": "luanetd did not listen"}
        for _ in range(400):
            c = LineConn(port)
            w = int(c.ask("who").split()[1])
            if w in by_worker:
                spare.append(c)
            else:
                by_worker[w] = c
            if len(by_worker) == 2:
                break
        for c in spare:
            c.close()
        if len(by_worker) < 2:
            return {"error": "400 connections all landed on worker(s) %s" % sorted(by_worker)}
        one, two = by_worker[1], by_worker[2]
        res = {"n": n, "cpus": cpus, "alone": [], "both": []}
        for _ in range(reps):
            one.ask("reset")
            a = parse_kv(one.ask("go %d" % n), "worker=")
            res["alone"].append({"ns_per_incr": a["ns_per_incr"], "value": int(one.ask("get").split("=")[1])})
            one.ask("reset")
            one.send("go %d" % n)
            two.send("go %d" % n)
            r1, r2 = parse_kv(one.recv(), "worker="), parse_kv(two.recv(), "worker=")
            value = int(one.ask("get").split("=")[1])
            start, end = min(r1["start_ms"], r2["start_ms"]), max(r1["end_ms"], r2["end_ms"])
            overlap = max(0.0, min(r1["end_ms"], r2["end_ms"]) - max(r1["start_ms"], r2["start_ms"]))
            res["both"].append({
                "workers": [int(r1["worker"]), int(r2["worker"])],
                "value": value, "expected": 2 * n, "lost": 2 * n - value,
                "ns_per_incr": [r1["ns_per_incr"], r2["ns_per_incr"]],
                "span_ms": end - start, "overlap_ms": overlap,
                "overlap_pct": 100.0 * overlap / max(r1["end_ms"] - r1["start_ms"],
                                                     r2["end_ms"] - r2["start_ms"]),
                "ns_per_incr_span": (end - start) * 1e6 / (2 * n),
            })
        return res
    finally:
        for c in by_worker.values():
            c.close()
        d.stop()


# ------------------------------------------------------------------ channel

CHAT_CONFIG = """workers = 2
service "chat" {{ script = "{script}", listen = "tcp://127.0.0.1:{port}" }}
"""


def chat_run(root, out, server_cpu, load_cpu, lines, rate, log_dir):
    port = workers_phase.free_port()
    d = workers_phase.Daemon(root, CHAT_CONFIG.format(script=root / "scripts" / "chat_server.lua", port=port),
                             server_cpu, Path(log_dir) / "shared-chat-luanetd.log")
    try:
        if not workers_phase.wait_port(port):
            return {"error": "luanetd did not listen"}
        cmd = ["taskset", "-c", str(load_cpu), str(out / "chat_load"), "--port", str(port),
               "--clients", str(CHAT_CLIENTS), "--lines", str(lines), "--rate", "%g" % rate,
               "--secs", "60"]
        before = workers_phase.cpu_ticks(d.proc.pid)
        ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        ru1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - t0
        used = (workers_phase.cpu_ticks(d.proc.pid) - before) / workers_phase.HZ
        if r.returncode != 0:
            return {"error": "chat_load exited %d: %s" % (r.returncode, (r.stderr + r.stdout)[-500:])}
        kv = parse_kv(r.stdout, "mode=chat")
        kv["server_cpu_s"] = used
        kv["client_cpu_pct"] = 100 * ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / wall
        kv["cpu_us_per_delivery"] = 1e6 * used / kv["deliveries"] if kv["deliveries"] else None
        kv["command"] = "build/bench/chat_load --clients %d --lines %d --rate %g --secs 60" % (
            CHAT_CLIENTS, lines, rate)
        return kv
    finally:
        d.stop()


# ---------------------------------------------------------------------- run

def run(root, out, server_cpu, load_cpu, quick, start, nginx_setup, ngx_modules, log_dir, log=print):
    """start(name, argv, ready_line, setup) starts a server pinned to the
    server CPU (the harness's Running); nginx_setup(handler, modules,
    http_extra=...) returns the setup that writes the harness's nginx config,
    ngx_modules the load_module lines of libnginx-mod-http-lua."""
    res = {"errors": [], "pairs": [], "quick": quick}
    pairs = 3 if quick else 7
    ngx = None
    try:
        handler = "content_by_lua_file %s;" % (root / "bench" / "shared_dict_ngx.lua")
        ngx = start("nginx-lua-shdict", ["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"],
                    False, nginx_setup(handler, ngx_modules, http_extra=NGX_EXTRA))
        t0 = time.monotonic()
        res["pairs"] = dict_pairs(root, server_cpu, pairs, ngx)
        for p in res["pairs"]:
            log("  dict loop: luanetd +%.1f ns/op (dict %.1f, table %.1f), ngx.shared +%.1f ns/op "
                "(dict %.1f, table %.1f)" % (p["luanetd"]["added_ns"], p["luanetd"]["dict_ns"],
                                             p["luanetd"]["table_ns"], p["ngx"]["added_ns"],
                                             p["ngx"]["dict_ns"], p["ngx"]["table_ns"]))
        log("  dict loop: %d pairs in %.0f s" % (pairs, time.monotonic() - t0))
    except Exception as e:
        res["errors"].append("dict loop: %s" % e)
        log("  dict loop: %s" % e)
    finally:
        if ngx:
            ngx.stop()
    prof, why = profile_luanetd(root, server_cpu, out / "work")
    res["profile"], res["profile_error"] = prof, why
    if why:
        log("  profile: %s" % why)
    try:
        cpus = "%d,%d" % (server_cpu, load_cpu)
        res["incr"] = two_workers(root, cpus, INCR_N, 1 if quick else 3, log_dir)
        if "error" in res["incr"]:
            res["errors"].append("two workers: %s" % res["incr"]["error"])
        else:
            for b in res["incr"]["both"]:
                log("  two workers: value %d of %d, %.0f / %.0f ns per incr, overlap %.0f%%"
                    % (b["value"], b["expected"], b["ns_per_incr"][0], b["ns_per_incr"][1],
                       b["overlap_pct"]))
                if b["lost"]:
                    res["errors"].append("two workers: %d updates lost (%d of %d)"
                                         % (b["lost"], b["value"], b["expected"]))
    except Exception as e:
        res["errors"].append("two workers: %s" % e)
        log("  two workers: %s" % e)
    try:
        burst = chat_run(root, out, server_cpu, load_cpu, 1000 if quick else 2000, 0, log_dir)
        res["chat"] = [dict(burst, label="burst: %d lines written at once" % (1000 if quick else 2000))]
        if "error" in burst:
            raise RuntimeError("burst: " + burst["error"])
        # paced: at half the burst's rate (near what the daemon keeps up
        # with here), and at a fixed 100 lines/s (comparable across runs)
        half = max(10, round(burst["lines_per_s"] / 2))
        for rate, label in ((half, "paced at half the burst's rate"), (PACED_RATE, "paced")):
            n = int(rate * (1 if quick else 3))
            r = chat_run(root, out, server_cpu, load_cpu, n, rate, log_dir)
            res["chat"].append(dict(r, label="%s: %g lines/s, %d lines" % (label, rate, n)))
            if "error" in r:
                raise RuntimeError("%s: %s" % (label, r["error"]))
        for r in res["chat"]:
            log("  channel %s: %.0f deliveries/s, %.1f lines/s, p50 %.1f ms, p99 %.1f ms, missing %d, "
                "daemon %.2f us/delivery, client cpu %.0f%%"
                % (r["label"], r["deliveries_per_s"], r["lines_per_s"], r["p50_us"] / 1000,
                   r["p99_us"] / 1000, r["missing"], r["cpu_us_per_delivery"] or 0, r["client_cpu_pct"]))
            if r["missing"] or r["misordered"] or r["errors"]:
                res["errors"].append("channel %s: %d missing, %d out of order, %d errors"
                                     % (r["label"], r["missing"], r["misordered"], r["errors"]))
    except Exception as e:
        res["errors"].append("channel: %s" % e)
        log("  channel: %s" % e)
    res["targets"] = [target(res)]
    return res


def dict_summary(res):
    ps = res.get("pairs") or []
    if not ps:
        return None
    med = lambda side, key: statistics.median(p[side][key] for p in ps)
    ratios = [p["luanetd"]["added_ns"] / p["ngx"]["added_ns"] for p in ps if p["ngx"]["added_ns"] > 0]
    return {
        "luanetd": {k: med("luanetd", k) for k in ("dict_ns", "table_ns", "added_ns")},
        "ngx": {k: med("ngx", k) for k in ("dict_ns", "table_ns", "added_ns")},
        "ratio": statistics.median(ratios) if ratios else None,
        "ratios": ratios,
        "ngx_runtime": ps[0]["ngx"].get("runtime"),
    }


def target(res):
    s = dict_summary(res)
    v = s and s["ratio"]
    return {"label": "SharedDict's added cost per operation <= 1.0x ngx.shared's", "value": v,
            "spec": "%.2fx", "verdict": None if v is None else ("PASS" if v <= TARGET_MAX else "FAIL")}


def section(res):
    lines = ["## Workload `shared`: SharedDict vs ngx.shared.DICT, two workers on one key, Channel fan-out", ""]
    s = dict_summary(res)
    t = res["targets"][0]
    if s:
        lines += [
            "SharedDict's added cost: `build/luanetd bench/shared_dict_loop.lua --reps %d` (Lua 5.4) and "
            "bench/shared_dict_ngx.lua in nginx (one worker, libnginx-mod-http-lua, %s, "
            "`content_by_lua_file`, `%s`), both on CPU 0: %d rounds over %d pre-built keys of "
            "`incr(k, 1, 0); get(k); set(k, i)` on the dict, and the same three operations on a "
            "plain table of the same runtime, timed with os.clock, ns per operation (3 per key per "
            "round), each the median of %d repetitions; the added cost is dict - table. %d pairs, "
            "the order flipped every pair; the figures are medians over the pairs, the ratio the "
            "median of the per-pair ratios."
            % (DICT_REPS, s["ngx_runtime"], NGX_EXTRA, DICT_ROUNDS, DICT_KEYS, DICT_REPS, len(res["pairs"])),
            "",
            "| ns per operation | luanetd SharedDict | nginx ngx.shared | luanetd/ngx |",
            "|---|---|---|---|",
            "| dict loop | %.1f | %.1f | %.2f |" % (s["luanetd"]["dict_ns"], s["ngx"]["dict_ns"],
                                                   s["luanetd"]["dict_ns"] / s["ngx"]["dict_ns"]),
            "| table loop (Lua 5.4 table / LuaJIT table) | %.1f | %.1f | |" % (
                s["luanetd"]["table_ns"], s["ngx"]["table_ns"]),
            "| **added by the dict** | **%.1f** | **%.1f** | **%.2f** (pairs: %s) |" % (
                s["luanetd"]["added_ns"], s["ngx"]["added_ns"], s["ratio"],
                ", ".join("%.2f" % r for r in s["ratios"])),
            "",
            "- %s: %s — **%s**" % (t["label"], "n/a" if t["value"] is None else t["spec"] % t["value"],
                                   t["verdict"] or "not measured"),
            "",
        ]
    prof, why = res.get("profile"), res.get("profile_error")
    if prof:
        lines += [
            "Where luanetd's dict loop goes (`perf record -e cpu-clock -F 4000` of "
            "`shared_dict_loop.lua --only dict --rounds 1000 --reps 1`, the loop's own Lua included; "
            "share of the samples):",
            "",
            "| group | share |", "|---|---|",
        ] + ["| %s | %.1f%% |" % (k, v) for k, v in prof["categories"] if v > 0] + [
            "",
            "| function | share |", "|---|---|",
        ] + ["| %s | %.1f%% |" % (k, v) for k, v in prof["top"]] + [""]
    elif why:
        lines += ["Profile of luanetd's dict loop: not made (%s)." % why, ""]
    inc = res.get("incr")
    if inc and "error" not in inc:
        both = inc["both"]
        lost = sum(b["lost"] for b in both)
        lines += [
            "Two workers, one key: `luanetd -c` with `workers = 2`, `shared = { bench = \"1M\" }` and "
            "bench/shared_incr_service.lua, the daemon on CPUs %s; a connection to each worker "
            "(`service.worker` 1 and 2); \"go %d\" runs %d `incr(\"hot\", 1, 0)` in one loop (net.clock "
            "around it). Alone: one worker's loop, the other idle; at once: both sent together, after "
            "a reset; the key then must read 2N = %d. %d repetition%s."
            % (inc["cpus"], inc["n"], inc["n"], 2 * inc["n"], len(both), "" if len(both) == 1 else "s"),
            "",
            "| measure | value |", "|---|---|",
            "| ns per incr, one worker alone | %s |" % ", ".join("%.0f" % a["ns_per_incr"] for a in inc["alone"]),
            "| ns per incr of each worker's loop, both at once | %s |" % "; ".join(
                "%.0f / %.0f" % tuple(b["ns_per_incr"]) for b in both),
            "| the loops overlapped | %s |" % ", ".join("%.0f%%" % b["overlap_pct"] for b in both),
            "| ns per incr over the span (2N incr's, first start to last end) | %s |" % ", ".join(
                "%.0f" % b["ns_per_incr_span"] for b in both),
            "| value after 2 x %d | %s |" % (inc["n"], ", ".join("%d" % b["value"] for b in both)),
            "| lost updates | %d — **%s** |" % (lost, "PASS" if lost == 0 else "FAIL"),
            "",
        ]
    elif inc:
        lines += ["Two workers, one key: failed: %s" % inc["error"], ""]
    chat = [r for r in res.get("chat") or [] if "error" not in r]
    if chat:
        lines += [
            "Channel fan-out: scripts/chat_server.lua under `luanetd -c` with `workers = 2` (a fresh "
            "daemon per run, on CPU 0 with both its workers), build/bench/chat_load (bench/chat_load.c) "
            "on CPU 1: %d receivers and one publisher, each asked `/who` first (which worker, and in "
            "the room); the publisher writes lines `m SEQ T` (T its monotonic time), every receiver "
            "must get every line in order; delay = the receiver's time at the read() that brought "
            "the line - T. deliveries/s = deliveries / (first line written to last delivery); lines/s "
            "= lines fanned out to all %d per second. The burst's delay is its queue (the last line "
            "waits for every line before it); a paced run's is the delay at that rate. Daemon CPU "
            "per delivery: utime+stime of the daemon over the run / deliveries; client CPU: "
            "chat_load's, of one CPU."
            % (CHAT_CLIENTS, CHAT_CLIENTS),
            "",
            "| run | receivers per worker | deliveries/s | lines/s | p50 delay | p99 delay | max delay "
            "| missing / out of order | daemon CPU per delivery | client CPU |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ] + ["| %s | %s | %.0f | %.1f | %.1f ms | %.1f ms | %.1f ms | %d / %d | %s | %.0f%% |" % (
            r["label"], r["per_worker"], r["deliveries_per_s"], r["lines_per_s"], r["p50_us"] / 1000,
            r["p99_us"] / 1000, r["max_us"] / 1000, r["missing"], r["misordered"],
            "%.2f µs" % r["cpu_us_per_delivery"] if r.get("cpu_us_per_delivery") else "n/a",
            r["client_cpu_pct"]) for r in chat] + [""]
    for r in res.get("chat") or []:
        if "error" in r:
            lines += ["Channel, %s: failed: %s" % (r["label"], r["error"].replace("\n", " ")), ""]
    if res["errors"]:
        lines += ["### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]] + [""]
    return lines
