"""The state ring on its own flash partition (firmware/hal/partition.py), with a stand-in for
`esp32.Partition` that keeps the port's block semantics: ioctl 4/5 give the block count and size,
readblocks/writeblocks take a block number and an offset into it, a write programs NOR flash
(bits only go from 1 to 0: no erase before it), ioctl 6 erases one block. Without the partition
the reader keeps the ring in a file and says so in INFO."""
from icpurse.firmware import ring
from icpurse.host import codec
from icpurse.firmware.hal import partition
from icpurse.hil.sim import rig
from icpurse.hil.sim.rig import VirtualReader

SIZE = 4096
UID = b"\x04\x11\x22\x33"


class Partition:
    """esp32.Partition as the ring uses it (MicroPython docs, "esp32 -- Partitions" and the block
    device protocol's extended interface)."""

    TYPE_APP = 0
    TYPE_DATA = 1
    table = []  # the image's partition table: (type, label, Partition)

    def __init__(self, blocks, block_size=SIZE):
        self.data = bytearray(b"\xff" * (blocks * block_size))
        self.blocks = blocks
        self.block_size = block_size
        self.calls = []

    @classmethod
    def find(cls, type=TYPE_APP, subtype=0xFF, label=None):  # noqa: A002 (the port's argument name)
        return [p for t, name, p in cls.table if t == type and (label is None or name == label)]

    def ioctl(self, op, arg):
        self.calls.append(("ioctl", op, arg))
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            start = arg * self.block_size
            self.data[start:start + self.block_size] = b"\xff" * self.block_size
            return 0
        return None

    def readblocks(self, block, buf, offset=0):
        self.calls.append(("read", block, offset, len(buf)))
        start = block * self.block_size + offset
        buf[:] = self.data[start:start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        assert offset is not None, "without an offset the port erases the whole block first"
        self.calls.append(("write", block, offset, len(buf)))
        start = block * self.block_size + offset
        for i in range(len(buf)):
            self.data[start + i] &= buf[i]  # NOR: a program only clears bits


def test_find_takes_the_data_partition_by_its_label():
    part = Partition(7)
    Partition.table = [(Partition.TYPE_APP, "factory", Partition(1)), (Partition.TYPE_DATA, "icpurse", part)]
    flash = partition.find(Partition)
    assert flash is not None and flash.SECTOR == SIZE and flash.size == 7 * SIZE
    Partition.table = [(Partition.TYPE_DATA, "vfs", Partition(1))]
    assert partition.find(Partition) is None  # an image without it: the caller falls back to a file
    Partition.table = []


def test_offsets_become_a_block_and_an_offset_into_it():
    part = Partition(4)
    flash = partition.PartitionFlash(part)
    flash.write(SIZE + 64, b"\x0f" * 64)
    buf = bytearray(64)
    flash.read(SIZE + 64, buf)
    assert bytes(buf) == b"\x0f" * 64
    assert ("write", 1, 64, 64) in part.calls and ("read", 1, 64, 64) in part.calls
    flash.write(SIZE + 64, b"\xf0" * 64)  # programming again only clears bits
    flash.read(SIZE + 64, buf)
    assert bytes(buf) == b"\x00" * 64
    flash.erase(1)
    assert ("ioctl", 6, 1) in part.calls
    flash.read(SIZE + 64, buf)
    assert bytes(buf) == b"\xff" * 64


def test_accesses_outside_a_block_or_the_partition_are_refused():
    flash = partition.PartitionFlash(Partition(3))
    for offset, n in ((SIZE - 32, 64), (3 * SIZE, 1), (-1, 1)):
        try:
            flash.read(offset, bytearray(n))
        except ValueError:
            continue
        raise AssertionError("read of %d bytes at %d allowed" % (n, offset))
    try:
        flash.erase(3)
    except ValueError:
        return
    raise AssertionError("erase of a block past the partition allowed")


def test_the_ring_keeps_its_records_on_the_partition_across_a_restart():
    part = Partition(3)
    flash = partition.PartitionFlash(part)
    r = ring.Ring(flash).open()
    for i in range(2 * SIZE // codec.RING_RECORD_SIZE):  # fills two of the three blocks
        r.append(ring.STATE, UID, codec.LAYOUT_V2, 1, i, 50000 - i, i, 50000 - i, 9500, i, 0, 0, 0)
        r.maintain()  # keeps the block after the write position erased
    erased = [c for c in part.calls if c[:2] == ("ioctl", 6)]
    assert erased, "maintain() erased ahead through ioctl 6"
    again = ring.Ring(partition.PartitionFlash(part)).open()
    last = 2 * SIZE // codec.RING_RECORD_SIZE - 1
    assert again.latest(UID)[ring.SEQ] == last and again.latest(UID)[ring.BALANCE] == 50000 - last


def test_a_reader_on_the_partition_reports_it_and_one_without_keeps_the_ring_in_a_file(tmp_path=None):
    import os
    root = str(tmp_path) if tmp_path is not None else "/tmp/hal-partition"
    try:
        os.mkdir(root)
    except OSError:
        pass
    vr = VirtualReader(root, flash=partition.PartitionFlash(Partition(4)))
    info = codec.decode_reader_info(vr.request(codec.LINK_CMD_INFO))
    assert info[codec.READER_INFO_RING_PARTITION] == 1
    vr.flash = None  # an image whose partition table has no ring partition
    vr.boot()
    info = codec.decode_reader_info(vr.request(codec.LINK_CMD_INFO))
    assert info[codec.READER_INFO_RING_PARTITION] == 0
    assert isinstance(vr.reader.ring.flash, ring.FileFlash)
    assert "ring.bin" in os.listdir(root)
    assert rig is not None
