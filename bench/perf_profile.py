"""bench/perf_profile.py: `perf record -e cpu-clock` of one command and its
samples by function and by group, for the phases that say where luanetd's
time goes (shared_phase.py, redis_phase.py)."""
import re
import shutil
import subprocess


def profile(argv, cpu, data, categories, kernel_mark=False, top=15):
    """Runs argv pinned to cpu under perf record (4000 Hz), writing data;
    returns ({"top": [(function, percent)], "categories": [(label,
    percent)]}, None), or None and why. categories: (label, regex on the
    function's name), the first that matches counts, the rest is "other".
    With kernel_mark, kernel functions are named "[k] name"."""
    if not shutil.which("perf"):
        return None, "perf not installed"
    rec = subprocess.run(["taskset", "-c", str(cpu), "perf", "record", "-q", "-e", "cpu-clock",
                          "-F", "4000", "-o", str(data), "--"] + argv,
                         capture_output=True, text=True, timeout=120)
    if rec.returncode != 0:
        return None, "perf record exited %d: %s" % (rec.returncode, rec.stderr.strip()[-300:])
    rep = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio", "-g", "none",
                          "--sort", "symbol", "--percent-limit", "0.3"],
                         capture_output=True, text=True, timeout=120)
    rows = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[([.k])\]\s+(\S+)", line)
        if m:
            rows.append((("[k] " if kernel_mark and m.group(2) == "k" else "") + m.group(3),
                         float(m.group(1))))
    if not rows:
        return None, "perf report gave no symbols: %s" % rep.stderr.strip()[-300:]
    cats = {label: 0.0 for label, _ in categories}
    cats["other"] = 0.0
    for name, pct in rows:
        for label, rx in categories:
            if re.search(rx, name):
                cats[label] += pct
                break
        else:
            cats["other"] += pct
    return {"top": rows[:top], "categories": sorted(cats.items(), key=lambda kv: -kv[1])}, None
