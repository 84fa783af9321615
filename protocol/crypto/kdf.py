"""icpurse key derivations and record MACs (host side).

Every key is an AN10922 AES-128 diversification of a versioned master key with the input
`inputs.DivInput` (purpose ‖ key_version ‖ uid_len ‖ uid(7) ‖ sector), so keys for different
purposes, sectors, versions or cards never coincide. Record MACs follow docs/card-layout.md:
AES-CMAC(K_card, MacHeader ‖ record without its MAC)[:8]. `icpurse.firmware.kdf` is the same
thing for MicroPython; tests hold the two to byte equality.
"""
import hmac

from icpurse.protocol.crypto.an10922 import an10922_aes128
from icpurse.protocol.crypto.cmac import aes_cmac, check_key
from icpurse.protocol.crypto.inputs import DivInput, Purpose
from icpurse.protocol.pn532 import Mifare
from icpurse.protocol.records import LAYOUT_VERSION, MAC_SIZE, MacHeader, RecordType, pad_uid

CRYPTO1_KEY_SIZE = 6  # a MIFARE Classic sector key: the first 6 bytes of the diversified AES key
MAX_SECTOR = 39  # 4K: sectors 0..39
MAX_TERMINAL = 99999999  # 8-digit terminal number (docs/business-rules.md "Terminal numbering")
_RECORD_TYPES = (RecordType.IDENTITY, RecordType.SLOT, RecordType.LOG, RecordType.JOURNAL, RecordType.HEADER,
                 RecordType.CREDIT)


def _check_int(value, lo, hi, name):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int, got %s" % (name, type(value).__name__))
    if not lo <= value <= hi:
        raise ValueError("%s must be %d..%d, got %d" % (name, lo, hi, value))
    return value


def _check_uid(uid):
    if not isinstance(uid, (bytes, bytearray, memoryview)):
        raise TypeError("uid must be bytes, got %s" % type(uid).__name__)
    return pad_uid(uid)  # ValueError unless 4 or 7 bytes


def _diversify(master, purpose, key_version, uid_len, uid7, sector):
    m = DivInput.build(dict(purpose=purpose, key_version=key_version, uid_len=uid_len, uid=uid7,
                            sector=sector))
    return an10922_aes128(master, m)


def _card_key(master, uid, key_version, purpose, sector=0):
    master = check_key(master, "master key")
    uid_len, uid7 = _check_uid(uid)
    _check_int(key_version, 0, 255, "key_version")
    return _diversify(master, purpose, key_version, uid_len, uid7, sector)


def sector_key(master, uid, sector, key_type, key_version):
    """6-byte Crypto1 key A or B ('A'|'B' or the AUTH command byte 0x60|0x61) of `sector` on `uid`."""
    is_int = isinstance(key_type, int) and not isinstance(key_type, bool)
    if key_type == "A" or (is_int and key_type == Mifare.AUTH_A):
        purpose = Purpose.SECTOR_KEY_A
    elif key_type == "B" or (is_int and key_type == Mifare.AUTH_B):
        purpose = Purpose.SECTOR_KEY_B
    else:
        raise ValueError("key_type must be 'A', 'B', 0x60 or 0x61, got %r" % (key_type,))
    _check_int(sector, 0, MAX_SECTOR, "sector")
    return _card_key(master, uid, key_version, purpose, sector)[:CRYPTO1_KEY_SIZE]


def purse_mac_key(master, uid, key_version):
    """16-byte per-card key of the identity, slot and log MACs (readers and issuer)."""
    return _card_key(master, uid, key_version, Purpose.PURSE_MAC)


def load_mac_key(master, uid, key_version):
    """16-byte per-card key of issuer-only MACs (top-up evidence)."""
    return _card_key(master, uid, key_version, Purpose.LOAD_MAC)


def _terminal_key(master, purpose, terminal_number, key_version):
    master = check_key(master, "master key")
    _check_int(terminal_number, 0, MAX_TERMINAL, "terminal_number")
    _check_int(key_version, 0, 255, "key_version")
    uid_len, uid7 = pad_uid(terminal_number.to_bytes(4, "big"))
    return _diversify(master, purpose, key_version, uid_len, uid7, 0)


def journal_key(master, terminal_number, key_version):
    """16-byte key of one reader's journal MACs; the terminal number stands in for the UID."""
    return _terminal_key(master, Purpose.JOURNAL, terminal_number, key_version)


def link_key(master, terminal_number, key_version):
    """16-byte key of one reader's USB link MACs (from the journal master, like journal_key)."""
    return _terminal_key(master, Purpose.LINK, terminal_number, key_version)


def config_key(master, terminal_number, key_version):
    """16-byte key of one reader's signed day configurations (from the journal master)."""
    return _terminal_key(master, Purpose.CONFIG, terminal_number, key_version)


def transport_key(master, terminal_number, key_version):
    """16-byte one-off key a blank reader gets in the lab ceremony for its first provisioning."""
    return _terminal_key(master, Purpose.TRANSPORT, terminal_number, key_version)


def record_mac_header(record_type, uid, key_version, layout_version=LAYOUT_VERSION):
    """The MAC header every record MAC starts with (docs/card-layout.md): the same for every
    record of one type, UID (or terminal) and key version, so batch verifiers build it once."""
    if record_type not in _RECORD_TYPES:
        raise ValueError("unknown record_type %r" % (record_type,))
    uid_len, uid7 = _check_uid(uid)
    _check_int(key_version, 0, 255, "key_version")
    _check_int(layout_version, 0, 255, "layout_version")
    return MacHeader.build(dict(record_type=record_type, uid_len=uid_len, uid=uid7,
                                layout_version=layout_version, key_version=key_version))


def record_mac(card_key, record_type, uid, key_version, body, layout_version=LAYOUT_VERSION):
    """8-byte MAC of a record (`body` = the record without its MAC field)."""
    card_key = check_key(card_key, "card key")
    header = record_mac_header(record_type, uid, key_version, layout_version)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("body must be bytes, got %s" % type(body).__name__)
    return aes_cmac(card_key, header + bytes(body))[:MAC_SIZE]


def verify_record_mac(card_key, record_type, uid, key_version, body, mac,
                      layout_version=LAYOUT_VERSION):
    """True iff `mac` is the record's MAC; compared in constant time."""
    expected = record_mac(card_key, record_type, uid, key_version, body, layout_version)
    return hmac.compare_digest(expected, bytes(mac))
