"""bench/static_phase.py: the static file run of `make bench` (issue 8's target
"httpd.lua serving a 1 GiB file: server CPU per GiB <= 1.25x nginx's").

One file of real (non-sparse) content, a random 1 MiB block repeated, made
once under build/bench/static/ (and kept while its size is right), served
by `build/luanetd scripts/httpd.lua --root DIR --port P` and by nginx, one
process (the harness's nginx config with `location / { root DIR; sendfile
on; }`). Both servers are up at once, pinned to the server CPU; the client
is curl on the load CPU, one new connection per download. One unmeasured
download per server first (the page cache, the servers' first request);
then R rounds, the order flipped every round, and per round and server D
downloads in a row, over which the server's CPU time (utime+stime from
/proc/PID/stat of its process tree) and the wall time are taken. Every
download must come out at exactly the file's size.

Reported per server: GB/s (bytes / wall), server CPU seconds per GiB, and
the medians over rounds of the per-round ratios httpd.lua/nginx.
"""
import os
import statistics
import subprocess
import time

HZ = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30
MIB = 1 << 20
TARGET_MAX = 1.25
TARGET_LABEL = "httpd.lua server CPU per GiB <= %.2fx nginx's" % TARGET_MAX
NAMES = ("httpd.lua", "nginx")


def make_file(static_dir, size_mib):
    """build/bench/static/file-<N>m.bin: N MiB of a random 1 MiB block,
    written out (not sparse) and synced, so that no writeback runs during
    the rounds. An existing file of the right size, fully allocated, is kept."""
    static_dir.mkdir(parents=True, exist_ok=True)
    path = static_dir / ("file-%dm.bin" % size_mib)
    size = size_mib * MIB
    try:
        st = path.stat()
        if st.st_size == size and st.st_blocks * 512 >= size:
            return path, False
    except FileNotFoundError:
        pass
    tmp = path.with_suffix(".tmp")
    block = os.urandom(MIB)
    with open(tmp, "wb") as f:
        for _ in range(size_mib):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path, True


def cpu_ticks(pids, children=False):
    """(utime, stime) clock ticks summed over the processes, all threads;
    with children, plus what their exited and waited-for children used
    (cutime, cstime). A process gone meanwhile counts nothing."""
    ut = st = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ut += int(fields[11]) + (int(fields[13]) if children else 0)
            st += int(fields[12]) + (int(fields[14]) if children else 0)
        except OSError:
            pass
    return ut, st


def busy_steal(cpus):
    """(user+nice+system+irq+softirq, steal) ticks of the given CPUs."""
    busy = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            fl = line.split()
            if fl[0].startswith("cpu") and fl[0][3:].isdigit() and int(fl[0][3:]) in cpus:
                busy += int(fl[1]) + int(fl[2]) + int(fl[3]) + int(fl[6]) + int(fl[7])
                steal += int(fl[8])
    return busy, steal


def download(url, size, load_cpu, ok_code="200"):
    """One curl download on the load CPU: (bytes, curl's bytes/s, error or None).
    ok_code: the reply that means success (HTTP 200; FTP 226)."""
    cmd = ["taskset", "-c", str(load_cpu), "curl", "-s", "--max-time", "120", "-o", "/dev/null",
           "-w", "%{size_download} %{speed_download} %{response_code}", url]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired:
        return 0, 0.0, "curl timed out: %s" % url
    try:
        got, speed, code = r.stdout.split()
        got, speed = int(float(got)), float(speed)
    except ValueError:
        return 0, 0.0, "curl exited %d, output %r: %s" % (r.returncode, r.stdout, url)
    if r.returncode != 0 or code != ok_code or got != size:
        return got, speed, ("curl exited %d, reply %s, %d bytes of %d: %s"
                            % (r.returncode, code, got, size, url))
    return got, speed, None


def start_servers(names, specs, start, running, res, log):
    """Starts each server (start(name, **specs[name])) into running, name ->
    server, so that the caller stops what did start; a failure goes to
    res["errors"]. True when all of them started."""
    for n in names:
        try:
            running[n] = start(n, **specs[n])
        except Exception as e:
            res["errors"].append("%s: %s" % (n, e))
            log("  %s: %s" % (n, e))
    return len(running) == len(names)


def warm_up(names, urls, size, load_cpu, res, ok_code="200"):
    """One download from each server, not measured: the page cache, the
    server's first request or session."""
    for n in names:
        _, _, err = download(urls[n], size, load_cpu, ok_code=ok_code)
        if err:
            res["errors"].append("%s warm-up: %s" % (n, err))


def download_round(r, n, url, size, downloads, load_cpu, cpus, server_cpu_ticks, res,
                   ok_code="200", before_cpu=None):
    """One server's turn in a round: `downloads` curl downloads of url,
    with the server's CPU (server_cpu_ticks() -> (user, sys) ticks) and the
    busy and steal time of `cpus` around them. Errors go to res["errors"];
    before_cpu() runs after the downloads and before the CPU is read (FTP:
    the sessions' processes exit). Returns the round's figures; busy_s is
    the CPUs' whole busy time."""
    (u0, s0), (b0, st0) = server_cpu_ticks(), busy_steal(cpus)
    t = time.monotonic()
    got, speeds = 0, []
    for _ in range(downloads):
        nbytes, speed, err = download(url, size, load_cpu, ok_code=ok_code)
        got += nbytes
        speeds.append(speed)
        if err:
            res["errors"].append("%s round %d: %s" % (n, r + 1, err))
    wall = time.monotonic() - t
    if before_cpu:
        before_cpu()
    (u1, s1), (b1, st1) = server_cpu_ticks(), busy_steal(cpus)
    user, sys_ = (u1 - u0) / HZ, (s1 - s0) / HZ
    cpu = user + sys_
    gib = got / GIB if got else None
    return dict(round=r, bytes=got, wall_s=wall, cpu_s=cpu, user_s=user, sys_s=sys_,
                busy_s=(b1 - b0) / HZ, gbps=got / wall / 1e9,
                curl_gbps=statistics.median(speeds) / 1e9,
                cpu_s_per_gib=cpu / gib if gib else None,
                user_s_per_gib=user / gib if gib else None,
                server_cpu_pct=100 * cpu / wall,
                steal_pct=100 * (st1 - st0) / HZ / wall)


def run(root, out, server_cpu, load_cpu, rounds, size_mib, downloads, start, nginx_setup,
        log=print):
    """start(name, argv, ready_line, setup) starts a server pinned to the server
    CPU and returns an object with .pid, .port, .tree(), .stop(), .logf (the
    harness's Running); nginx_setup(handler) returns the setup that writes the
    harness's nginx config with `handler` in `location / { }`."""
    static_dir = out / "static"
    res = {"file": None, "size": size_mib * MIB, "rounds_n": rounds, "downloads": downloads,
           "server_cpu": server_cpu, "load_cpu": load_cpu,
           "servers": {n: {"rounds": []} for n in NAMES}, "ratios": {}, "errors": []}
    t0 = time.monotonic()
    try:
        path, made = make_file(static_dir, size_mib)
    except OSError as e:
        res["errors"].append("making the file under %s: %s" % (static_dir, e))
        summarize(res)
        return res
    res.update(file=str(path.relative_to(root)), file_made=made,
               file_made_s=time.monotonic() - t0 if made else None)
    log("  %s %s (%.1f s)" % ("made" if made else "kept", res["file"], time.monotonic() - t0))
    size = res["size"]
    specs = {
        "httpd.lua": dict(argv=["{root}/build/luanetd", "{root}/scripts/httpd.lua",
                                "--root", str(static_dir), "--port", "{port}"],
                          ready_line=True, setup=None),
        "nginx": dict(argv=["/usr/sbin/nginx", "-p", "{work}", "-c", "{work}/nginx.conf"],
                      ready_line=False,
                      setup=nginx_setup("root %s; sendfile on;" % static_dir)),
    }
    running = {}
    try:
        if not start_servers(NAMES, specs, start, running, res, log):
            summarize(res)
            return res
        urls = {n: "http://127.0.0.1:%d/%s" % (srv.port, path.name) for n, srv in running.items()}
        warm_up(NAMES, urls, size, load_cpu, res)
        for r in range(rounds):
            for n in (NAMES if r % 2 == 0 else NAMES[::-1]):
                srv = running[n]
                m = download_round(r, n, urls[n], size, downloads, load_cpu, (server_cpu, load_cpu),
                                   lambda: cpu_ticks(srv.tree()), res)
                # the rest of the two CPUs' busy time: the client, softirqs, others
                m["rest_pct"] = 100 * max(0.0, m.pop("busy_s") - m["cpu_s"]) / m["wall_s"]
                res["servers"][n]["rounds"].append(m)
                log("  round %d %-9s %.2f GB/s  %.3f CPU s/GiB (user %.3f)  server CPU %3.0f%%  "
                    "steal %3.0f%%" % (r + 1, n, m["gbps"], m["cpu_s_per_gib"] or 0,
                                       m["user_s_per_gib"] or 0, m["server_cpu_pct"],
                                       m["steal_pct"]))
    finally:
        for n, srv in running.items():
            res["servers"][n]["log"] = srv.logf.name
            srv.stop()
    summarize(res)
    return res


def summarize(res):
    for r in res["servers"].values():
        for key in ("gbps", "curl_gbps", "cpu_s_per_gib", "user_s_per_gib", "server_cpu_pct"):
            vals = [m[key] for m in r["rounds"] if m.get(key) is not None]
            if vals:
                r[key] = statistics.median(vals)
    h = {m["round"]: m for m in res["servers"]["httpd.lua"]["rounds"]}
    for key in ("gbps", "cpu_s_per_gib"):
        rs = [h[m["round"]][key] / m[key] for m in res["servers"]["nginx"]["rounds"]
              if m["round"] in h and m.get(key) and h[m["round"]].get(key) is not None]
        res["ratios"][key] = statistics.median(rs) if rs else None
    v = res["ratios"].get("cpu_s_per_gib")
    res["target"] = dict(label=TARGET_LABEL, value=v, spec="%.3fx",
                         verdict=None if v is None else ("PASS" if v <= TARGET_MAX else "FAIL"))


def _f(v, spec):
    return "-" if v is None else spec % v


def section(res):
    lines = ["## Static file: httpd.lua vs nginx", ""]
    size = res["size"]
    hs, ng = res["servers"]["httpd.lua"], res["servers"]["nginx"]
    ra = res.get("ratios", {})
    lines += [
        "- **httpd.lua**: `build/luanetd scripts/httpd.lua --root build/bench/static --port P` "
        "(the body leaves through sendFile: sendfile(2) from the event loop)",
        "- **nginx**: one process (`master_process off`), the HTTP workload's config with "
        "`location / { root build/bench/static; sendfile on; }` (its default sendfile_max_chunk)",
        "",
        "The file: `%s`, %d bytes (%.2f GiB) of a random 1 MiB block repeated, in the page cache "
        "(one unmeasured download per server first). Both servers up at once on CPU %d; the client "
        "`curl -s -o /dev/null http://127.0.0.1:P/FILE` on CPU %d, a new connection per download. "
        "%d rounds, the order flipped every round; per round and server %d download(s) in a row, "
        "over which the server's CPU time (utime+stime from /proc/PID/stat, 1/%d s ticks) and the "
        "wall time (curl's start included) are taken. Ratios are httpd.lua / nginx, the median of "
        "the per-round ratios. On loopback the server's CPU time includes the receive side's "
        "softirq work that the kernel runs in the sender's context (without "
        "CONFIG_IRQ_TIME_ACCOUNTING it is charged to the task), so it swings with the kernel's "
        "batching from run to run, for both servers alike: the ratio is the figure that ranks."
        % (res["file"], size, size / GIB, res["server_cpu"], res["load_cpu"], res["rounds_n"],
           res["downloads"], HZ),
        "",
        "| measure | httpd.lua | nginx | httpd.lua/nginx |",
        "|---|---|---|---|",
        "| GB/s (bytes / wall, median of rounds) | %s | %s | %s |" % (
            _f(hs.get("gbps"), "%.2f"), _f(ng.get("gbps"), "%.2f"), _f(ra.get("gbps"), "%.3f")),
        "| GB/s as curl saw it (median) | %s | %s | |" % (
            _f(hs.get("curl_gbps"), "%.2f"), _f(ng.get("curl_gbps"), "%.2f")),
        "| server CPU s per GiB (median of rounds) | %s | %s | %s |" % (
            _f(hs.get("cpu_s_per_gib"), "%.3f"), _f(ng.get("cpu_s_per_gib"), "%.3f"),
            _f(ra.get("cpu_s_per_gib"), "%.3f")),
        "| … of which user space | %s | %s | |" % (
            _f(hs.get("user_s_per_gib"), "%.3f"), _f(ng.get("user_s_per_gib"), "%.3f")),
        "| server CPU %% of the wall time (median) | %s | %s | |" % (
            _f(hs.get("server_cpu_pct"), "%.0f"), _f(ng.get("server_cpu_pct"), "%.0f")),
        "",
    ]
    t = res.get("target")
    if t:
        lines += ["### Target (httpd.lua)", "",
                  "- %s: %s — **%s**" % (t["label"], _f(t["value"], t["spec"]),
                                          t["verdict"] or "not measured"), ""]
    rows = [(r, n, m) for r in range(res["rounds_n"]) for n in NAMES
            for m in res["servers"][n]["rounds"] if m["round"] == r]
    if rows:
        lines += ["### Rounds", "",
                  "Server CPU %% is of one CPU; rest %% is the other busy time of CPUs %d and %d "
                  "together (the client, softirqs, other processes), steal %% what the hypervisor "
                  "took." % (res["server_cpu"], res["load_cpu"]), "",
                  "| round | server | bytes | wall s | GB/s | CPU s | user s | CPU s/GiB | "
                  "server CPU % | rest % | steal % |",
                  "|" + "---|" * 11]
        lines += ["| %d | %s | %d | %.3f | %.2f | %.2f | %.2f | %s | %.0f | %.0f | %.0f |"
                  % (r + 1, n, m["bytes"], m["wall_s"], m["gbps"], m["cpu_s"], m["user_s"],
                     _f(m["cpu_s_per_gib"], "%.3f"), m["server_cpu_pct"], m["rest_pct"],
                     m["steal_pct"]) for r, n, m in rows]
        lines.append("")
    if res["errors"]:
        lines += ["### Errors", ""] + ["- " + e.replace("\n", " ") for e in res["errors"]] + [""]
    return lines
