"""Qt's Broadcast Receiver in PyQt5: a real Qt peer for the specs.

    qt_udp_receiver.py PORT COUNT

Binds PORT (0: any free port) on QHostAddress.Any with ShareAddress |
ReuseAddressHint, as Qt's example does, prints "Listening for broadcasted
messages on port PORT", then `Received datagram: "..."` for each datagram,
and exits 0 after COUNT of them.
"""
import sys

from PyQt5.QtCore import QCoreApplication
from PyQt5.QtNetwork import QHostAddress, QUdpSocket


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: qt_udp_receiver.py PORT COUNT\n")
        return 2
    port, count = int(sys.argv[1]), int(sys.argv[2])
    app = QCoreApplication(sys.argv[:1])
    socket = QUdpSocket()
    if not socket.bind(QHostAddress(QHostAddress.Any), port,
                       QUdpSocket.ShareAddress | QUdpSocket.ReuseAddressHint):
        sys.stderr.write("Unable to bind: %s.\n" % socket.errorString())
        return 1
    received = [0]

    def process_pending_datagrams():
        while socket.hasPendingDatagrams():
            data, _host, _port = socket.readDatagram(socket.pendingDatagramSize())
            print('Received datagram: "%s"' % bytes(data).decode("utf-8"), flush=True)
            received[0] += 1
            if received[0] >= count:
                app.quit()
                return

    socket.readyRead.connect(process_pending_datagrams)
    print("Listening for broadcasted messages on port %d" % socket.localPort(), flush=True)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
