"""A card in a reader: present or not, free, writable, its size, and whether it lies about it.

Works on any block device (and on plain files, for tests of the pure parts).
A card is opened with O_EXCL, which the kernel refuses while the card (or a
partition of it) is mounted or held by someone else. The fake-capacity
guard writes a distinct marker at spread offsets up to the card's last
block and at every power of two, then reads them all back with O_DIRECT: a
card that wraps around (a "32 GB" card with 8 GB of flash) returns another
offset's marker, or garbage. The bytes under the markers are put back afterwards.
"""

import dataclasses
import errno
import fcntl
import mmap
import os
import secrets
import stat
import struct

BLOCK = 4096  # marker size and O_DIRECT alignment (a multiple of every card's logical block)
MARKERS = 32
BLKGETSIZE64 = 0x80081272


class CardError(Exception):
    """A card refused (mounted, read-only, lying about its size) or unreadable; the message says which."""


class CardBusy(CardError):
    """Another program holds the card (mounted, or opened exclusively)."""


@dataclasses.dataclass
class Card:
    device: str
    size: int
    serial: str | None = None
    seq: str | None = None  # the kernel's disk sequence number: a new card gets a new one

    @property
    def gigabytes(self):
        return self.size / 1e9


def _sysfs(device):
    """The sysfs folder of a block device, or None for a plain file (or no device).

    Found by device number, not name: under writer@N the reader is bind-mounted
    as /dev/cardshop/slot-N, a name sysfs does not know.
    """
    try:
        info = os.stat(device)
    except OSError:
        return None
    if not stat.S_ISBLK(info.st_mode):
        return None
    path = f"/sys/dev/block/{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"
    return path if os.path.exists(path) else None


def _read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default


def present(device):
    """True while a medium is in the reader: size > 0 and, for a loop device, a backing file
    that is not being detached (a detach while we hold the card open only marks it `autoclear`)."""
    sysfs = _sysfs(device)
    if sysfs is None:
        return os.path.isfile(device)
    if int(_read(f"{sysfs}/size", "0") or 0) <= 0:
        return False
    if os.path.exists(f"{sysfs}/loop"):
        return bool(_read(f"{sysfs}/loop/backing_file")) and _read(f"{sysfs}/loop/autoclear") != "1"
    return True


def reader_exists(device):
    return os.path.exists(device)


def disk_seq(device):
    sysfs = _sysfs(device)
    return _read(f"{sysfs}/diskseq") if sysfs else None


def open_card(device, flags=os.O_RDWR):
    """An fd on the card, exclusive (O_EXCL: refused while mounted or held); CardError says why not."""
    try:
        return os.open(device, flags | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise CardBusy("card is mounted or in use by another program") from None
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise CardError("card is read-only (write-protect switch?)") from None
        if exc.errno in (errno.ENOMEDIUM, errno.ENXIO, errno.ENOENT, errno.ENODEV):
            raise CardError("no card in the reader") from None
        raise CardError(f"cannot open the card: {exc.strerror}") from None


def size_of(fd):
    try:
        raw = fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8)
        return struct.unpack("Q", raw)[0]
    except OSError:
        return os.fstat(fd).st_size  # a plain file


def inspect(device, serial=None):
    """The card in `device`, once it is found free and writable; CardError otherwise."""
    sysfs = _sysfs(device)
    if sysfs and _read(f"{sysfs}/ro") == "1":
        raise CardError("card is read-only (write-protect switch?)")
    seq = disk_seq(device)
    fd = open_card(device)
    try:
        size = size_of(fd)
    finally:
        os.close(fd)
    if size <= 0:
        raise CardError("no card in the reader")
    return Card(device, size, serial, seq)


def marker_offsets(size, count=MARKERS):
    """Block-aligned offsets: spread from the start to the last whole block of the card, plus every
    power of two from 1 MiB. A fake card's controller drops the high address bits, so the marker at
    2^k (k past its real size) lands on the one at 0 and the readback sees it."""
    last = (size // BLOCK - 1) * BLOCK
    if last <= 0:
        return [0]
    offsets = {(last * index // (count - 1)) // BLOCK * BLOCK for index in range(count)}
    power = 1 << 20
    while power <= last:
        offsets.add(power)
        power <<= 1
    return sorted(offsets)


def _direct(device, flags):
    try:
        return os.open(device, flags | os.O_DIRECT | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # a file system without O_DIRECT (tests on plain files)
            return os.open(device, flags | os.O_CLOEXEC)
        raise


def check_capacity(card):
    """Refuse a card that does not keep what is written across its whole advertised size."""
    offsets = marker_offsets(card.size)
    token = secrets.token_bytes(16)
    buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT wants
    saved = {}
    try:
        fd = _direct(card.device, os.O_RDWR)
    except OSError as exc:
        raise CardError(f"cannot open the card for the capacity check: {exc.strerror}") from None
    try:
        try:
            for offset in offsets:
                _pread(fd, buffer, offset)
                saved[offset] = bytes(buffer)
            for offset in offsets:
                buffer.seek(0)
                buffer.write(_marker(token, offset))
                _pwrite(fd, buffer, offset)
            os.fsync(fd)
            for offset in offsets:
                _pread(fd, buffer, offset)
                if bytes(buffer) != _marker(token, offset):
                    found = _whose(bytes(buffer), token)
                    where = f" (it holds the marker of byte {found})" if found is not None else ""
                    raise CardError(f"card lies about its size: {card.gigabytes:.1f} GB advertised, but byte "
                                    f"{offset} does not keep what was written{where}")
        except OSError as exc:
            raise CardError(f"card fails the capacity check: {exc.strerror} near its end") from None
        finally:
            for offset in reversed(offsets):
                if offset in saved:
                    buffer.seek(0)
                    buffer.write(saved[offset])
                    try:
                        _pwrite(fd, buffer, offset)
                    except OSError:
                        break
            try:
                os.fsync(fd)
            except OSError:
                pass
    finally:
        os.close(fd)
        buffer.close()


def _marker(token, offset):
    head = b"CARDSHOP" + token + struct.pack("<Q", offset)
    return (head * (BLOCK // len(head) + 1))[:BLOCK]


def _whose(block, token):
    if block[:24] == b"CARDSHOP" + token:
        return struct.unpack("<Q", block[24:32])[0]
    return None


def _pread(fd, buffer, offset):
    if os.preadv(fd, [buffer], offset) != BLOCK:
        raise OSError(errno.EIO, "short read")


def _pwrite(fd, buffer, offset):
    if os.pwritev(fd, [buffer], offset) != BLOCK:
        raise OSError(errno.EIO, "short write")
