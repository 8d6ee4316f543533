#!/usr/bin/env python3
"""bench/reload_check.py: hot reload under load, against a running luanetd.

The service under test (bench/reload_service.lua) answers each line with
"TAG line", TAG read from tag.txt when its code starts. While this runs:

  - a new short connection every millisecond (one line, one answer, close);
  - 10 long-lived connections, each sending a line every 50 ms;
  - RELOADS reloads spread over DURATION seconds, in turn by SIGHUP (with
    the service's options changed in the config), `luanetd ctl reload` and
    a save of the watched script, each with a new tag;
  - with --bad, two failed reloads as well (a syntax error, a main chunk
    that raises), each followed by the good script again.

It prints one JSON object: connections made, failures of each kind (a
refused, reset, timed-out or wrong answer is a failure), long-lived
connections that changed code, short connections that got old code more
than a second after a reload, and each reload's time from trigger to the
first new connection answered by the new code.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import time

LONG_CONNECTIONS = 10
LONG_INTERVAL = 0.05
SHORT_INTERVAL = 0.001
MAX_SHORT_IN_FLIGHT = 300
ANSWER_TIMEOUT = 5.0


class Run:
    def __init__(self, args):
        self.args = args
        self.short_ok = 0
        self.short_fail = []
        self.long_fail = []
        self.long_switched = []
        self.long_exchanges = 0
        self.answers = []          # (time sent, tag) of short connections
        self.reloads = []          # {"kind", "t", "tag"}
        self.bad = []
        self.stop = False
        self.in_flight = 0

    # -- the service's files --
    def path(self, name):
        return os.path.join(self.args.dir, name)

    def write(self, name, text):
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path(name))   # as an editor saves

    def set_tag(self, tag):
        self.write("tag.txt", tag)

    # -- load --
    async def exchange(self, reader, writer, line):
        writer.write((line + "\n").encode())
        await writer.drain()
        got = await asyncio.wait_for(reader.readline(), ANSWER_TIMEOUT)
        text = got.decode().rstrip("\n")
        tag, _, echoed = text.partition(" ")
        if not got.endswith(b"\n") or echoed != line:
            raise RuntimeError("wrong answer %r to %r" % (text, line))
        return tag

    async def short_one(self, seq):
        self.in_flight += 1
        sent = time.monotonic()
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.args.port), ANSWER_TIMEOUT)
            tag = await self.exchange(reader, writer, "s%d" % seq)
            self.short_ok += 1
            self.answers.append((sent, tag))
        except Exception as e:  # refused, reset, timed out, wrong
            self.short_fail.append("%.3f s%d: %s" % (sent - self.t0, seq, e or type(e).__name__))
        finally:
            self.in_flight -= 1
            if writer:
                writer.close()

    async def shorts(self):
        seq = 0
        tasks = set()
        next_at = time.monotonic()
        while not self.stop:
            if self.in_flight < MAX_SHORT_IN_FLIGHT:
                seq += 1
                t = asyncio.ensure_future(self.short_one(seq))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            next_at += SHORT_INTERVAL
            await asyncio.sleep(max(0, next_at - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks)

    async def long_one(self, i):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.args.port)
        except Exception as e:
            self.long_fail.append("long %d: connect: %s" % (i, e))
            return
        first = None
        n = 0
        try:
            while not self.stop:
                n += 1
                tag = await self.exchange(reader, writer, "l%d-%d" % (i, n))
                self.long_exchanges += 1
                if first is None:
                    first = tag
                elif tag != first:
                    self.long_switched.append("long %d: started on %s, answered by %s" % (i, first, tag))
                    return
                await asyncio.sleep(LONG_INTERVAL)
        except Exception as e:
            self.long_fail.append("long %d after %d lines: %s" % (i, n, e or type(e).__name__))
        finally:
            writer.close()

    # -- reloads --
    def ctl_reload(self):
        return subprocess.run([self.args.luanetd, "ctl", "-s", self.args.control, "reload", self.args.service],
                              capture_output=True, text=True, timeout=30)

    def trigger(self, kind, k):
        if kind == "sighup":
            with open(self.args.config) as f:
                conf = f.read()
            import re
            conf = re.sub(r"generation = \d+", "generation = %d" % k, conf)
            self.write(os.path.basename(self.args.config), conf)
            os.kill(self.args.pid, signal.SIGHUP)
        elif kind == "ctl":
            r = self.ctl_reload()
            if r.returncode != 0:
                raise RuntimeError("ctl reload failed: %s" % r.stderr.strip())
        else:   # a save of the watched script
            self.write("reload_service.lua", self.good_script + "-- save %d\n" % k)

    def wait_switched(self, tag, timeout=3.0):
        """Until a new connection is answered by `tag`: SIGHUP and a watched
        save act asynchronously, and the next reload's tag must not be
        written before this one has loaded (its code reads the tag file)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.args.port), 1) as s:
                    s.sendall(b"probe\n")
                    got = s.makefile().readline()
                    if got.startswith(tag + " "):
                        return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def bad_reload(self, kind, k):
        broken = {"syntax": "local x = = 1\n", "raises": "error('the new code fails to start')\n"}[kind]
        self.write("reload_service.lua", broken + self.good_script)
        time.sleep(0.3)   # the watch tries it and fails; ctl must say so too
        r = self.ctl_reload()
        self.bad.append({"kind": kind, "ctl_exit": r.returncode, "ctl_stderr": r.stderr.strip()})
        self.write("reload_service.lua", self.good_script + "-- fixed %d\n" % k)

    async def reloads_task(self):
        loop = asyncio.get_running_loop()
        kinds = ["sighup", "ctl", "watch"]
        step = self.args.duration / (self.args.reloads + 1)
        bad_at = {self.args.reloads // 3: "syntax", 2 * self.args.reloads // 3: "raises"} if self.args.bad else {}
        for k in range(1, self.args.reloads + 1):
            await asyncio.sleep(step)
            if k in bad_at:
                await loop.run_in_executor(None, self.bad_reload, bad_at[k], k)
            tag = "t%d" % k
            kind = kinds[k % 3]
            self.set_tag(tag)
            t = time.monotonic()
            try:
                await loop.run_in_executor(None, self.trigger, kind, k)
                self.reloads.append({"kind": kind, "t": t, "tag": tag})
                await loop.run_in_executor(None, self.wait_switched, tag)
            except Exception as e:
                self.reloads.append({"kind": kind, "t": t, "tag": tag, "error": str(e)})
        await asyncio.sleep(step)
        self.stop = True

    async def main(self):
        with open(self.path("reload_service.lua")) as f:
            self.good_script = f.read()
        self.t0 = time.monotonic()
        longs = [asyncio.ensure_future(self.long_one(i)) for i in range(LONG_CONNECTIONS)]
        await asyncio.gather(self.shorts(), self.reloads_task(), *longs)

    def report(self):
        # Short connections sent from a second after a reload until the next
        # reload must have its tag.
        late = []
        switch_ms = []
        for i, r in enumerate(self.reloads):
            end = self.reloads[i + 1]["t"] if i + 1 < len(self.reloads) else float("inf")
            first_new = None
            for sent, tag in self.answers:
                if r["t"] <= sent < end and tag == r["tag"] and first_new is None:
                    first_new = sent
                if r["t"] + 1.0 <= sent < end and tag != r["tag"]:
                    late.append("%.3f s: %s answered by %s, reload to %s was at %.3f s" % (
                        sent - self.t0, r["kind"], tag, r["tag"], r["t"] - self.t0))
            switch_ms.append(None if first_new is None else round((first_new - r["t"]) * 1000, 1))
        return {
            "duration_s": round(time.monotonic() - self.t0, 1),
            "short_connections": self.short_ok + len(self.short_fail),
            "short_failures": len(self.short_fail),
            "short_failure_samples": self.short_fail[:10],
            "long_exchanges": self.long_exchanges,
            "long_failures": self.long_fail,
            "long_switched_code": self.long_switched,
            "reloads": [{"kind": r["kind"], "tag": r["tag"], "error": r.get("error")} for r in self.reloads],
            "switch_ms": switch_ms,
            "late": late[:10],
            "late_count": len(late),
            "bad_reloads": self.bad,
        }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="luanetd's pid (for SIGHUP)")
    p.add_argument("--luanetd", required=True)
    p.add_argument("--control", required=True)
    p.add_argument("--service", default="reload")
    p.add_argument("--dir", required=True, help="where reload_service.lua and tag.txt are")
    p.add_argument("--config", required=True)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--reloads", type=int, default=20)
    p.add_argument("--bad", action="store_true")
    args = p.parse_args()
    run = Run(args)
    asyncio.run(run.main())
    print(json.dumps(run.report(), indent=1))


if __name__ == "__main__":
    main()
