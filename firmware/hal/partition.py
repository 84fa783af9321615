"""The state ring's flash partition (firmware/ring.py) over an `esp32.Partition` (board/partitions-
icpurse.csv: data partition "icpurse"), without importing `esp32`: hal/esp32.py finds the partition
and hands it in, the tests hand in a stand-in with the same block semantics.

What the ring needs from `esp32.Partition` (MicroPython's block-device protocol, "extended" form):
    ioctl(4, 0) -> block count, ioctl(5, 0) -> block size (4096: one flash sector)
    readblocks(block, buf, offset)   len(buf) bytes from block * size + offset
    writeblocks(block, buf, offset)  programs them WITHOUT erasing first (with an offset the port
                                     calls esp_partition_write only): NOR flash, a write can only
                                     clear bits, so the ring writes only into erased slots
    ioctl(6, block)                  erases one block (all 0xFF)
The partition is not marked `encrypted`: with flash encryption on, erased flash would read back as
decrypted noise instead of 0xFF, and a page could not be programmed record by record (docs/hardware.md).
"""
from icpurse.protocol.mpy import const

LABEL = "icpurse"
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_BLOCK_ERASE = const(6)


class PartitionFlash:
    """The ring's flash interface (SECTOR, size, read, write, erase) on one partition."""

    def __init__(self, part):
        self._p = part
        self.SECTOR = part.ioctl(_IOCTL_BLOCK_SIZE, 0)
        self.size = part.ioctl(_IOCTL_BLOCK_COUNT, 0) * self.SECTOR

    def _check(self, offset, n):
        if offset < 0 or offset + n > self.size or offset // self.SECTOR != (offset + n - 1) // self.SECTOR:
            raise ValueError("flash access of %d bytes at %d leaves its block or the partition" % (n, offset))

    def read(self, offset, buf):
        self._check(offset, len(buf))
        self._p.readblocks(offset // self.SECTOR, buf, offset % self.SECTOR)

    def write(self, offset, buf):
        self._check(offset, len(buf))
        self._p.writeblocks(offset // self.SECTOR, buf, offset % self.SECTOR)

    def erase(self, sector):
        if not 0 <= sector < self.size // self.SECTOR:
            raise ValueError("no block %d in the partition" % sector)
        self._p.ioctl(_IOCTL_BLOCK_ERASE, sector)


def find(partition_class, label=LABEL):
    """PartitionFlash on the data partition `label`, or None when the image's partition table has
    none (`partition_class`: esp32.Partition)."""
    found = partition_class.find(partition_class.TYPE_DATA, label=label)
    return PartitionFlash(found[0]) if found else None
