#!/usr/bin/python3
"""spec/support/h2_server.py CERT KEY [ALPN]: an HTTPS server on Python's h2
(python3-h2) for the HTTP/2 client's edge cases, on a free 127.0.0.1 port
(printed on the first line). ALPN is the protocol list it accepts ("h2" by
default). What it does depends on the request's path:

  /hello      200 "hello N" (N: the connections accepted so far)
  /reset      RST_STREAM(INTERNAL_ERROR) at once
  /refuse     RST_STREAM(REFUSED_STREAM) the first time, 200 after
  /goaway     GOAWAY that refuses the stream, then the connection closes
  /cut        the head and 5 bytes of the body, then the connection closes
  /bighead    a head of 80 fields of 1000 bytes each
  /stall      never answered
  /interim    103 Early Hints, then 200 "final"
  /trailers   200 "body" with a trailer field
  /echo       200 with the method, the request's fields and its body
"""
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events

state = {"connections": 0, "refused": False}
lock = threading.Lock()


def respond(conn, sid, status, body=b"", extra=()):
    conn.send_headers(sid, [(":status", str(status)), ("content-length", str(len(body)))] + list(extra),
                      end_stream=not body)
    if body:
        conn.send_data(sid, body, end_stream=True)


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    requests = {}
    close = False
    while not close:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                requests[ev.stream_id] = {"headers": ev.headers, "body": b""}
                if ev.stream_ended:
                    close = handle(sock, conn, ev.stream_id, requests.pop(ev.stream_id)) or close
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if ev.stream_id in requests:
                    requests[ev.stream_id]["body"] += ev.data
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id in requests:
                close = handle(sock, conn, ev.stream_id, requests.pop(ev.stream_id)) or close
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    sock.close()


def linger(sock):
    """After a GOAWAY, as servers do: what the client still sends is read
    (and dropped) until it closes, so that no reset from our side can
    destroy the GOAWAY in its receive buffer."""
    sock.settimeout(2)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def handle(sock, conn, sid, req):
    """Answers one request; True when the connection is to close."""
    headers = dict(req["headers"])
    path = headers.get(":path")
    if path == "/hello":
        with lock:
            n = state["connections"]
        respond(conn, sid, 200, ("hello %d" % n).encode())
    elif path == "/reset":
        conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
    elif path == "/refuse":
        with lock:
            first = not state["refused"]
            state["refused"] = True
        if first:
            conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
        else:
            respond(conn, sid, 200, b"taken")
    elif path == "/goaway":
        conn.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=sid - 2 if sid > 2 else 0)
        sock.sendall(conn.data_to_send())
        linger(sock)
        return True
    elif path == "/cut":
        conn.send_headers(sid, [(":status", "200"), ("content-length", "100")])
        conn.send_data(sid, b"12345")
        sock.sendall(conn.data_to_send())
        return True
    elif path == "/bighead":
        respond(conn, sid, 200, b"x", [("x-big-%d" % i, "v" * 1000) for i in range(80)])
    elif path == "/stall":
        pass
    elif path == "/interim":
        conn.send_headers(sid, [(":status", "103"), ("link", "</style.css>; rel=preload")])
        respond(conn, sid, 200, b"final")
    elif path == "/trailers":
        conn.send_headers(sid, [(":status", "200")])
        conn.send_data(sid, b"body")
        conn.send_headers(sid, [("x-checksum", "abc")], end_stream=True)
    elif path == "/echo":
        fields = "\n".join("%s: %s" % (k, v) for k, v in req["headers"])
        respond(conn, sid, 200, ("%s\n%s\n\n" % (headers.get(":method"), fields)).encode() + req["body"])
    else:
        respond(conn, sid, 404, b"no such path")
    return False


def main():
    cert, key = sys.argv[1], sys.argv[2]
    alpn = (sys.argv[3] if len(sys.argv) > 3 else "h2").split(",")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(alpn)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        with lock:
            state["connections"] += 1
        if tls.selected_alpn_protocol() != "h2":
            # HTTP/1.1: one answer, then close, enough for the fallback's case
            tls.recv(65536)
            tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nhttp/1.1\n")
            tls.close()
            continue
        threading.Thread(target=serve, args=(tls,), daemon=True).start()


if __name__ == "__main__":
    main()
