"""Qt's Broadcast Sender in PyQt5: a real Qt peer for the specs.

    qt_udp_sender.py ADDRESS PORT COUNT INTERVAL_MS

Sends "Broadcast message N" (N from 1) to ADDRESS:PORT every INTERVAL_MS,
the first at once, printing "Now broadcasting datagram N" before each, and
exits 0 after COUNT datagrams. The specs give 127.255.255.255, never
255.255.255.255.
"""
import sys

from PyQt5.QtCore import QCoreApplication, QTimer
from PyQt5.QtNetwork import QHostAddress, QUdpSocket


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: qt_udp_sender.py ADDRESS PORT COUNT INTERVAL_MS\n")
        return 2
    address = QHostAddress(sys.argv[1])
    port, count, interval = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    app = QCoreApplication(sys.argv[:1])
    socket = QUdpSocket()
    message_no = [1]

    def broadcast_datagram():
        n = message_no[0]
        print("Now broadcasting datagram %d" % n, flush=True)
        if socket.writeDatagram(b"Broadcast message %d" % n, address, port) < 0:
            sys.stderr.write("Unable to send: %s\n" % socket.errorString())
            app.exit(1)
            return
        message_no[0] += 1
        if message_no[0] > count:
            timer.stop()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(broadcast_datagram)
    timer.start(interval)
    QTimer.singleShot(0, broadcast_datagram)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
