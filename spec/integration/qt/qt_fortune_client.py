"""Qt's Blocking Fortune Client in PyQt5: a real Qt peer for the specs.

    qt_fortune_client.py HOST PORT

Reads one block as Qt's example does (QDataStream, Qt_4_0: a quint16 size,
then a QString) and prints the fortune as UTF-8 on stdout. Stricter than the
example: the QString must fill the block exactly (exit 3 otherwise), so a
wrong size field or a wrong string length shows. Failures go to stderr with
the example's messages and exit 1.
"""
import sys

from PyQt5.QtCore import QByteArray, QCoreApplication, QDataStream, QIODevice
from PyQt5.QtNetwork import QAbstractSocket, QTcpSocket

TIMEOUT = 5000


def fail(socket):
    err = socket.error()
    if err == QAbstractSocket.HostNotFoundError:
        text = "The host was not found. Please check the host name and port settings."
    elif err == QAbstractSocket.ConnectionRefusedError:
        text = ("The connection was refused by the peer. Make sure the fortune server is "
                "running, and check that the host name and port settings are correct.")
    else:
        text = "The following error occurred: %s." % socket.errorString()
    sys.stderr.write(text + "\n")
    return 1


def wait_for_bytes(socket, n):
    while socket.bytesAvailable() < n:
        if not socket.waitForReadyRead(TIMEOUT):
            return False
    return True


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: qt_fortune_client.py HOST PORT\n")
        return 2
    app = QCoreApplication(sys.argv[:1])  # Qt sockets want an application object
    socket = QTcpSocket()
    socket.connectToHost(sys.argv[1], int(sys.argv[2]))
    if not socket.waitForConnected(TIMEOUT):
        return fail(socket)
    if not wait_for_bytes(socket, 2):
        return fail(socket)
    stream = QDataStream(socket)
    stream.setVersion(QDataStream.Qt_4_0)
    block_size = stream.readUInt16()
    if not wait_for_bytes(socket, block_size):
        return fail(socket)
    block = QByteArray(socket.read(block_size))
    inner = QDataStream(block, QIODevice.ReadOnly)
    inner.setVersion(QDataStream.Qt_4_0)
    fortune = inner.readQString()
    if inner.status() != QDataStream.Ok or not inner.atEnd():
        sys.stderr.write("block of %d bytes does not hold exactly one QString\n" % block_size)
        return 3
    sys.stdout.buffer.write(fortune.encode("utf-8") + b"\n")
    sys.stdout.flush()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
