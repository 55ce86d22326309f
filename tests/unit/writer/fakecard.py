"""A card that lies about its size: a FUSE file of `advertised` bytes whose data wraps around a smaller backing file.

Run as `python -m tests.unit.writer.fakecard MOUNTPOINT BACKING ADVERTISED [RATE]`:
it serves MOUNTPOINT/card.img until unmounted. Byte X of card.img is byte
X mod size(BACKING) of the backing file, as on the fake "high-capacity" cards
sold with a small flash chip behind a doctored controller. A loop device on
card.img is then a card reader holding such a card. With RATE (bytes/s), the
card is honest but slow (reads and writes take their time): a test can act
while a slot writes or verifies it.
"""

import errno
import os
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations  # Debian: python3-fusepy

NAME = "/card.img"


class WrappingCard(Operations):
    def __init__(self, backing, advertised, rate=0):
        self.fd = os.open(backing, os.O_RDWR)
        self.real = os.fstat(self.fd).st_size
        self.advertised = advertised
        self.rate = rate
        self.mutex = threading.Lock()

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == NAME:
            return {"st_mode": stat.S_IFREG | 0o644, "st_nlink": 1, "st_size": self.advertised}
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", NAME[1:]]

    def open(self, path, flags):
        return 0

    def _pieces(self, offset, length):
        while length > 0:
            inner = offset % self.real
            size = min(length, self.real - inner)
            yield inner, size
            offset += size
            length -= size

    def _slow(self, size):
        if self.rate:
            time.sleep(size / self.rate)

    def read(self, path, size, offset, fh):
        size = max(0, min(size, self.advertised - offset))
        self._slow(size)
        with self.mutex:
            return b"".join(os.pread(self.fd, length, inner) for inner, length in self._pieces(offset, size))

    def write(self, path, data, offset, fh):
        self._slow(len(data))
        with self.mutex:
            done = 0
            for inner, length in self._pieces(offset, len(data)):
                os.pwrite(self.fd, data[done:done + length], inner)
                done += length
        return len(data)

    def truncate(self, path, length, fh=None):
        return 0

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(self.fd)
        return 0


if __name__ == "__main__":
    mountpoint, backing, advertised = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    # direct_io: no page cache over card.img, every read and write reaches the wrap-around.
    FUSE(WrappingCard(backing, advertised, rate), mountpoint, foreground=True, nothreads=True, direct_io=True)
