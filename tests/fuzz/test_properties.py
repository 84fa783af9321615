"""Hypothesis properties of the parsers the fuzz targets cover (short: part of `make test`)."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import card_layout
import host_journal
import journal_files
import link_frames
import pn532_frames
import purse_read
from icpurse.firmware import codec, link
from icpurse.firmware import mifare as fw_mifare
from icpurse.firmware.journal import JournalCorrupt
from icpurse.firmware.pn532 import PN532
from icpurse.hil.sim.pn532 import build_frame
from icpurse.protocol.journal import JournalRecord
from icpurse.protocol.mifare import access, blocks, mad

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

frames = st.tuples(st.integers(0, 3), st.integers(0, 255), st.integers(0, 255), st.binary(max_size=300))


# --- (a) USB link ------------------------------------------------------------------------------

def _split(data, cuts):
    cuts = sorted(set(c % (len(data) + 1) for c in cuts))
    out, prev = [], 0
    for c in cuts + [len(data)]:
        out.append(data[prev:c])
        prev = c
    return out


@FAST
@given(st.lists(frames, max_size=5), st.lists(st.integers(0, 10_000), max_size=30))
def test_link_frames_round_trip_in_any_chunking(sent, cuts):
    stream = b"".join(link.encode_frame(*f) for f in sent)
    reader = link.FrameReader()
    got = []
    for piece in _split(stream, cuts):
        reader.feed(piece)
        while (f := reader.next()) is not None:
            got.append((f.kind, f.seq, f.command, f.payload))
    assert got == [tuple(f) for f in sent]
    assert reader.errors == 0 and not reader.buf


@FAST
@given(st.binary(max_size=600), st.lists(st.integers(0, 10_000), max_size=20))
def test_link_parser_takes_any_bytes(data, cuts):
    reader = link.FrameReader()
    for piece in _split(data, cuts):
        reader.feed(piece)
        while (f := reader.next()) is not None:
            assert len(f.payload) <= codec.LINK_MAX_PAYLOAD
    assert reader.next() is None


@FAST
@given(st.binary(max_size=400))
def test_link_target_properties(data):
    link_frames.test_one_input(data)


def test_corrupted_frame_is_counted_and_the_next_one_still_parses():
    good = link.encode_frame(codec.LINK_KIND_RESPONSE, 3, codec.LINK_CMD_INFO, b"hello")
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    reader = link.FrameReader()
    reader.feed(bytes(bad) + good)
    f = reader.next()
    assert (f.seq, f.payload) == (3, b"hello") and reader.errors == 1


# --- (b) PN532 frames --------------------------------------------------------------------------

class _Uart:
    """A byte-stream transport that ACKs every command and then answers `answer` in `chunks`."""
    framed = False

    def __init__(self, answer, cuts):
        self.answer, self.cuts, self.rx = answer, cuts, []

    def wakeup(self):
        pass

    def flush_input(self):
        self.rx = []

    def reset_link(self):
        pass

    def write(self, buf):
        if bytes(buf) not in (codec.FRAME_ACK, codec.FRAME_NACK):
            self.rx = _split(codec.FRAME_ACK + self.answer, self.cuts)

    def readinto(self, mv):
        while self.rx and not self.rx[0]:
            self.rx.pop(0)
        if not self.rx:
            return 0
        n = min(len(mv), len(self.rx[0]))
        mv[:n] = self.rx[0][:n]
        self.rx[0] = self.rx[0][n:]
        return n


@FAST
@given(st.binary(max_size=262), st.lists(st.integers(0, 400), max_size=12), st.binary(max_size=20))
def test_pn532_response_in_any_chunking_gives_the_card_answer(card_answer, cuts, garbage):
    # status 0 + the card's answer, normal or extended frame, after garbage without a start code
    garbage = garbage.replace(b"\x00", b"\x01")
    answer = garbage + build_frame(bytes((codec.CMD_IN_DATA_EXCHANGE + 1, 0)) + card_answer)
    drv = PN532(_Uart(answer, cuts), pn532_frames.Clock())
    assert bytes(drv.data_exchange(b"\x30\x04", rlen=len(card_answer))) == card_answer


@FAST
@given(st.binary(max_size=300))
def test_pn532_driver_raises_only_its_own_errors(data):
    pn532_frames.test_one_input(data)


# --- (c) card layout parsers -------------------------------------------------------------------

@FAST
@given(st.integers(-(1 << 31), (1 << 31) - 1), st.integers(0, 255))
def test_value_block_round_trip_protocol_and_firmware(value, addr):
    raw = blocks.encode_value_block(value, addr)
    assert blocks.decode_value_block(raw) == (value, addr)
    assert fw_mifare.value_of(raw) == value
    assert fw_mifare.value_block(value, addr) == raw


@FAST
@given(st.binary(min_size=16, max_size=16))
def test_value_block_parsers_agree_on_any_16_bytes(raw):
    try:
        expected = blocks.decode_value_block(raw)[0]
    except blocks.InvalidValueBlock:
        with pytest.raises(fw_mifare.ValueBlockError):
            fw_mifare.value_of(raw)
    else:
        assert fw_mifare.value_of(raw) == expected


@FAST
@given(st.tuples(*[st.integers(0, 7)] * 4))
def test_access_bits_round_trip(conds):
    assert access.decode_access_bits(access.encode_access_bits(conds)) == conds


@FAST
@given(st.binary(min_size=3, max_size=3))
def test_access_bits_decode_any_three_bytes(raw):
    try:
        conds = access.decode_access_bits(raw)
    except access.InvalidAccessBits:
        return
    assert access.encode_access_bits(conds) == raw


@FAST
@given(st.integers(0, 0x0F), st.lists(st.integers(0, 0xFFFF), min_size=15, max_size=15))
def test_mad1_round_trip(info, aids):
    assert mad.parse_mad1(mad.build_mad1(info, aids)) == (info, tuple(aids))


@FAST
@given(st.binary(max_size=64))
def test_layout_target_properties(data):
    for which in range(8):
        card_layout.test_one_input(bytes((which,)) + data)


@SLOW
@given(st.binary(max_size=120))
def test_purse_read_over_random_application_blocks(data):
    purse_read.test_one_input(data)


# --- (d) journal -------------------------------------------------------------------------------

@SLOW
@given(st.binary(max_size=200))
def test_journal_open_over_mutated_files(data):
    journal_files.test_one_input(data)


def _offset(struct, name):
    off = 0
    for sc in struct.subcons:
        if sc.name == name:
            return off
        off += sc.sizeof()
    raise KeyError(name)


KEY_VERSION_OFFSET = _offset(JournalRecord, "key_version")


@FAST
@given(st.data())
def test_journal_any_flipped_byte_is_caught(data):
    """Records 1..5 in segments 1 and 4: a damaged record before the last is tampering
    (JournalCorrupt); the last record damaged is a torn append, dropped -- unless its key version
    byte changed (the journal never drops a record for want of a key)."""
    fs = journal_files.BASES[0].copy()
    paths = journal_files._files(fs)
    records = [(p, i) for p in paths if p.endswith(".jr") for i in range(len(fs.files[p]) // codec.JOURNAL_RECORD_SIZE)]
    path, index = data.draw(st.sampled_from(records))
    field = data.draw(st.integers(0, codec.JOURNAL_RECORD_SIZE - 1))
    fs.files[path][index * codec.JOURNAL_RECORD_SIZE + field] ^= data.draw(st.integers(1, 255))
    last = (path, index) == records[-1]
    if field == KEY_VERSION_OFFSET:  # key_version: a version the reader lacks is refused, never dropped as torn
        with pytest.raises(JournalCorrupt, match="key version"):
            journal_files._journal(fs, 1).open()
    elif last:
        j = journal_files._journal(fs, 1).open()
        assert j.next_number == 5  # record 5 dropped
    else:
        with pytest.raises(JournalCorrupt):
            journal_files._journal(fs, 1).open()


def test_host_verifies_real_journals_completely():
    for records in host_journal.REAL:
        good, problems = host_journal.hj.verify_sequence(records, journal_files.TERMINAL, host_journal.KEYS,
                                                         records and host_journal.hj.decode(records[0]).number - 1)
        assert problems == [] and [r.raw for r in good] == records
    assert len(host_journal.REAL[0]) == 5


@SLOW
@given(st.binary(max_size=120))
def test_host_journal_verification_takes_anything(data):
    host_journal.test_one_input(data)
