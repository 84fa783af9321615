"""The reader journal's layouts (protocol/journal.py) against hand-made reference bytes.

REC1 / ANCHOR were packed by hand with `struct` and MAC'd with the `cryptography` package's
AES-CMAC; the same literals are checked against the firmware in tests/firmware/test_journal.py.
"""
from icpurse.protocol.crypto import kdf
from icpurse.protocol.journal import JournalAnchor, JournalRecord, RecordState
from icpurse.protocol.records import MAC_SIZE, RecordType, TxnKind

KEY = bytes(range(16))
TERMINAL = 12345678
REC1 = bytes.fromhex(
    "010000000301000404a1b2c300000008000000e20400002e2200004e61bc000100000008af2f"
    "0000000000000000856a4a3762a6cbe9")
ANCHOR_ACK2 = bytes.fromhex("4a41004e61bc0002000000000000000000000000000000e5975b048ca84152")
REC1_FIELDS = dict(number=1, kind=TxnKind.DEBIT, state=RecordState.PENDING, key_version=0, uid_len=4,
                   uid=bytes.fromhex("04a1b2c3000000"), card_seq=8, amount=1250, balance_after=8750,
                   terminal=TERMINAL, txn=1, time=800000000, prev_mac=bytes(8),
                   mac=bytes.fromhex("856a4a3762a6cbe9"))


def test_record_layout():
    assert JournalRecord.sizeof() == 54
    assert JournalRecord.build(REC1_FIELDS) == REC1
    parsed = JournalRecord.parse(REC1)
    assert {k: parsed[k] for k in REC1_FIELDS} == REC1_FIELDS


def test_anchor_layout():
    assert JournalAnchor.sizeof() == 31
    a = JournalAnchor.parse(ANCHOR_ACK2)
    assert (a.key_version, a.terminal, a.acked, a.base, a.base_mac) == (0, TERMINAL, 2, 0, bytes(8))
    assert JournalAnchor.build(dict(key_version=0, terminal=TERMINAL, acked=2, base=0, base_mac=bytes(8),
                                    mac=a.mac)) == ANCHOR_ACK2


def test_mac_is_the_last_field_and_covers_the_rest():
    # The firmware MACs record[:size - MAC_SIZE]; that is only right while `mac` is last.
    for struct in (JournalRecord, JournalAnchor):
        assert struct.subcons[-1].name == "mac" and struct.subcons[-1].sizeof() == MAC_SIZE
    tid = TERMINAL.to_bytes(4, "big")
    assert kdf.verify_record_mac(KEY, RecordType.JOURNAL, tid, 0, REC1[:-8], REC1[-8:])
    assert kdf.verify_record_mac(KEY, RecordType.JOURNAL, tid, 0, ANCHOR_ACK2[:-8], ANCHOR_ACK2[-8:])
    assert not kdf.verify_record_mac(KEY, RecordType.JOURNAL, (TERMINAL + 1).to_bytes(4, "big"), 0,
                                     REC1[:-8], REC1[-8:])
