#!/usr/bin/python3
"""A real WebSocket peer for the specs: Python's websockets (Debian's
python3-websockets), no compression.

  ws_peer.py client URL     runs the exchange below against a server and
                            prints one line per result
  ws_peer.py client-deflate URL
                            the same with permessage-deflate offered; prints
                            the extensions agreed first
  ws_peer.py bomb URL       sends 17 MiB of zeros compressed, prints the
                            close code the server gave
  ws_peer.py chat URL N [SAY]
                            a chat client: says SAY once connected (if
                            given), prints the first N text messages it
                            receives, one a line, then closes
  ws_peer.py reply URL SAY  waits for a text message, prints it, answers
                            SAY, prints the next one (its own, back)
  ws_peer.py server-deflate the same, taking permessage-deflate
  ws_peer.py server         an echo server on 127.0.0.1 (port 0); prints
                            "port N" first, then serves until killed

The client's exchange: a text message, a binary one, a 200000-byte text,
a ping, a message sent in two fragments, then a close with 1000."""
import asyncio
import sys

import websockets


async def client(url, compression=None):
    async with websockets.connect(url, compression=compression, max_size=None) as ws:
        if compression:
            print("extensions", ",".join(e.name for e in ws.extensions), flush=True)
        await ws.send("hello")
        print("text", await ws.recv(), flush=True)
        await ws.send(b"\x00\x01bin")
        print("binary", (await ws.recv()).hex(), flush=True)
        big = "x" * 200000
        await ws.send(big)
        back = await ws.recv()
        print("big", len(back), back == big, flush=True)
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, 5)
        print("pong", flush=True)
        await ws.send(["frag", "mented"])
        print("fragments", await ws.recv(), flush=True)
    print("closed", ws.close_code, flush=True)


async def bomb(url):
    """17 MiB of zeros, compressed to a few KiB: past the 16 MiB default."""
    try:
        async with websockets.connect(url, compression="deflate", max_size=None) as ws:
            await ws.send(bytes(17 << 20))
            await ws.recv()
    except websockets.ConnectionClosed as e:
        print("closed", e.code, flush=True)


async def chat(url, n, say=None):
    async with websockets.connect(url, compression=None) as ws:
        print("connected", flush=True)
        if say is not None:
            await ws.send(say)
        for _ in range(n):
            print(await ws.recv(), flush=True)


async def reply(url, say):
    async with websockets.connect(url, compression=None) as ws:
        print("connected", flush=True)
        print(await ws.recv(), flush=True)
        await ws.send(say)
        print(await ws.recv(), flush=True)


async def server(compression=None):
    async def echo(ws, path=None):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0, compression=compression) as srv:
        port = srv.sockets[0].getsockname()[1]
        print("port", port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        asyncio.run(client(sys.argv[2]))
    elif sys.argv[1] == "bomb":
        asyncio.run(bomb(sys.argv[2]))
    elif sys.argv[1] == "client-deflate":
        asyncio.run(client(sys.argv[2], "deflate"))
    elif sys.argv[1] == "reply":
        asyncio.run(reply(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "chat":
        asyncio.run(chat(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
    elif sys.argv[1] == "server-deflate":
        asyncio.run(server("deflate"))
    else:
        asyncio.run(server())
