"""Qt's Fortune Server in PyQt5: a real Qt peer for the specs.

    qt_fortune_server.py FORTUNE

Listens on 127.0.0.1, any free port, prints "The server is running on IP:
ADDR port: PORT" and gives every client one block built as Qt's example
builds it (QDataStream, Qt_4_0: a quint16 size patched after the QString),
then disconnects it. It always sends FORTUNE (UTF-8 on the command line).
"""
import os
import sys

from PyQt5.QtCore import QByteArray, QCoreApplication, QDataStream, QIODevice
from PyQt5.QtNetwork import QHostAddress, QTcpServer


def make_block(fortune):
    block = QByteArray()
    out = QDataStream(block, QIODevice.WriteOnly)
    out.setVersion(QDataStream.Qt_4_0)
    out.writeUInt16(0)
    out.writeQString(fortune)
    out.device().seek(0)
    out.writeUInt16(block.size() - 2)
    return block


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: qt_fortune_server.py FORTUNE\n")
        return 2
    # Whatever the locale, take the argument's bytes as UTF-8.
    fortune = os.fsencode(sys.argv[1]).decode("utf-8")
    app = QCoreApplication(sys.argv[:1])
    server = QTcpServer()
    if not server.listen(QHostAddress("127.0.0.1"), 0):
        sys.stderr.write("Unable to start the server: %s.\n" % server.errorString())
        return 1
    block = make_block(fortune)

    def send_fortune():
        client = server.nextPendingConnection()
        client.disconnected.connect(client.deleteLater)
        client.write(block)
        client.disconnectFromHost()

    server.newConnection.connect(send_fortune)
    print("The server is running on IP: %s port: %d"
          % (server.serverAddress().toString(), server.serverPort()), flush=True)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
