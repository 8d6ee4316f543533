#!/usr/bin/python3
"""Real Qt (PyQt5's QtWebSockets) as a WebSocket peer for the specs.

  qt_ws_peer.py client URL   QWebSocket: sends a text and a binary message,
                             prints what comes back, closes with 1000;
                             prints "closed CODE"
  qt_ws_peer.py server       QWebSocketServer on 127.0.0.1 (port 0), echoing
                             every message; prints "port N", then each
                             close code it sees as "closed CODE REASON"
Each exits by itself after 10 s at most."""
import sys

from PyQt5.QtCore import QCoreApplication, QTimer, QUrl
from PyQt5.QtNetwork import QHostAddress
from PyQt5.QtWebSockets import QWebSocket, QWebSocketServer, QWebSocketProtocol

app = QCoreApplication(sys.argv)
QTimer.singleShot(10000, lambda: app.exit(2))


def say(*words):
    print(*words, flush=True)


def client(url):
    ws = QWebSocket()
    got = []

    def connected():
        ws.sendTextMessage("hello from Qt")
        ws.sendBinaryMessage(b"\x00\xffQt")

    def text(msg):
        say("text", msg)
        got.append(msg)

    def binary(data):
        say("binary", bytes(data).hex())
        ws.close(QWebSocketProtocol.CloseCodeNormal, "done")

    ws.connected.connect(connected)
    ws.textMessageReceived.connect(text)
    ws.binaryMessageReceived.connect(binary)
    ws.disconnected.connect(lambda: (say("closed", int(ws.closeCode())), app.exit(0)))
    ws.error.connect(lambda e: say("error", ws.errorString()))
    ws.open(QUrl(url))
    return ws


def server():
    srv = QWebSocketServer("qt peer", QWebSocketServer.NonSecureMode)
    if not srv.listen(QHostAddress("127.0.0.1"), 0):
        say("error", srv.errorString())
        sys.exit(1)
    keep = []

    def incoming():
        ws = srv.nextPendingConnection()
        keep.append(ws)
        ws.textMessageReceived.connect(ws.sendTextMessage)
        ws.binaryMessageReceived.connect(ws.sendBinaryMessage)
        ws.disconnected.connect(lambda: say("closed", int(ws.closeCode()), ws.closeReason()))

    srv.newConnection.connect(incoming)
    say("port", srv.serverPort())
    return srv


if __name__ == "__main__":
    keep = client(sys.argv[2]) if sys.argv[1] == "client" else server()
    sys.exit(app.exec_())
