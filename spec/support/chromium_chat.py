#!/usr/bin/python3
"""Headless Chromium as a chat client for the specs: loads URL (the page of
scripts/ws_chat.lua), waits until its message list holds N entries, prints
them one a line, and closes the browser. Driven through Chromium's DevTools
protocol (itself a WebSocket), with Python's websockets.

  chromium_chat.py URL N"""
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import websockets


async def main(url, n):
    profile = tempfile.mkdtemp(prefix="luanetd-chromium-")
    browser = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--user-data-dir=" + profile, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = None
        for line in browser.stderr:
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                endpoint = m.group(1)
                break
        if not endpoint:
            print("no DevTools endpoint", file=sys.stderr)
            return 1
        async with websockets.connect(endpoint, max_size=None) as cdp:
            ids = iter(range(1, 1 << 30))

            async def call(method, params=None, session=None):
                mid = next(ids)
                msg = {"id": mid, "method": method, "params": params or {}}
                if session:
                    msg["sessionId"] = session
                await cdp.send(json.dumps(msg))
                while True:
                    reply = json.loads(await cdp.recv())
                    if reply.get("id") == mid:
                        return reply.get("result", {})

            target = (await call("Target.createTarget", {"url": url}))["targetId"]
            session = (await call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
            script = "Array.from(document.querySelectorAll('#log li')).map(li => li.textContent)"
            for _ in range(100):
                result = await call("Runtime.evaluate", {"expression": script, "returnByValue": True}, session)
                items = result.get("result", {}).get("value") or []
                if len(items) >= n:
                    for item in items:
                        print(item, flush=True)
                    return 0
                await asyncio.sleep(0.1)
            print("only", items, file=sys.stderr)
            return 1
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
