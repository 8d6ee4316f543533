"""A TCP client that checks a stream end to end: it sends TOTAL bytes in
which every 8-byte word is its own index (so a hole, a repeat or a swap is
found at its exact offset), starts reading after DELAY seconds, reads
until it has TOTAL bytes back or the server ends the connection, and
prints one line: "sent N received M first_bad OFFSET|- end DONE|EOF|RESET|TIMEOUT".

    python3 stream_check.py PORT TOTAL DELAY [TIMEOUT]
"""
import socket
import sys
import threading
import time
from array import array

CHUNK = 1 << 20


def words(offset, n):
    """n bytes of the stream from offset (both multiples of 8)."""
    first = offset // 8
    return array("Q", range(first, first + n // 8)).tobytes()


def main():
    port, total, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    sock = socket.create_connection(("127.0.0.1", port))
    sent = [0]
    send_error = [None]

    def send():
        try:
            while sent[0] < total:
                n = min(CHUNK, total - sent[0])
                sock.sendall(words(sent[0], n))
                sent[0] += n
        except OSError as e:
            send_error[0] = e

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(delay)
    received, first_bad, end = 0, None, "TIMEOUT"
    pending = b""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while received < total:
            if time.monotonic() > deadline:
                break
            data = sock.recv(CHUNK)
            if not data:
                end = "EOF"
                break
            pending += data
            usable = len(pending) - len(pending) % 8
            if first_bad is None and usable:
                want = words(received, usable)
                if pending[:usable] != want:
                    for i in range(0, usable, 8):
                        if pending[i:i + 8] != want[i:i + 8]:
                            first_bad = received + i
                            break
            received += usable
            pending = pending[usable:]
        else:
            end = "DONE"
    except ConnectionResetError:
        end = "RESET"
    except socket.timeout:
        end = "TIMEOUT"
    # Every byte back means every byte went: the sender's count is bumped
    # after its last sendall returns, which may be after the echo of it
    # has come (a race that printed one chunk short under ASan's pace).
    if end == "DONE":
        sender.join(5)
    # A reset that the sending thread met first reads as EOF here (the
    # socket reports its error once): it is a reset all the same.
    if end == "EOF" and isinstance(send_error[0], (ConnectionResetError, BrokenPipeError)):
        end = "RESET"
    print("sent %d received %d first_bad %s end %s" %
          (sent[0], received, "-" if first_bad is None else first_bad, end), flush=True)
    sock.close()


main()
