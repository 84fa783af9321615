"""icpurse key derivations and record MACs for the firmware (MicroPython).

The same functions, signatures and results as icpurse.protocol.crypto.kdf on the host (tests
compare them 1:1). Inputs are laid out by the generated codec, never by hand.
"""
from icpurse.firmware import codec
from icpurse.firmware.cmac import CMAC
from icpurse.protocol.mpy import const

_CRYPTO1_KEY_SIZE = const(6)  # a MIFARE Classic sector key: the first 6 bytes of the diversified AES key
KEY_SIZE = const(16)
_MAX_SECTOR = const(39)  # 4K: sectors 0..39
MAX_TERMINAL = const(99999999)  # 8-digit terminal number
_RECORD_TYPES = (codec.REC_IDENTITY, codec.REC_SLOT, codec.REC_LOG, codec.REC_JOURNAL, codec.REC_HEADER, codec.REC_CREDIT)
_BYTES = (bytes, bytearray, memoryview)

# A reader derives several keys from one master and checks several records of one card in a row:
# CMAC objects are kept so the AES key schedule and subkeys are not redone each time. Masters
# (a few per key version) stay; the per-card keys of the last few cards come and go.
_CACHE_SIZE = const(4)
_MASTERS_KEPT = const(8)
_cache = {}  # type: dict  # per-card keys
_masters = {}  # type: dict


def _cmac(key, master=False):
    key = bytes(key)
    kept = _masters if master else _cache
    c = kept.get(key)
    if c is None:
        if len(kept) >= (_MASTERS_KEPT if master else _CACHE_SIZE):
            kept.clear()
        c = CMAC(key)
        kept[key] = c
    return c


def _check_key(key, name):
    if not isinstance(key, _BYTES):
        raise TypeError("%s must be bytes" % name)
    if len(key) != KEY_SIZE:
        raise ValueError("%s must be 16 bytes (AES-128), got %d" % (name, len(key)))


def _check_int(value, lo, hi, name):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int" % name)
    if not lo <= value <= hi:
        raise ValueError("%s must be %d..%d, got %d" % (name, lo, hi, value))


def _pad_uid(uid):
    """UID (4 or 7 bytes) -> (length, 7 zero-padded bytes), as records.pad_uid on the host."""
    if not isinstance(uid, _BYTES):
        raise TypeError("uid must be bytes")
    n = len(uid)
    if n != 4 and n != 7:
        raise ValueError("UID must be 4 or 7 bytes, got %d" % n)
    return n, bytes(uid) + bytes(codec.UID_FIELD_SIZE - n)


def _diversify(master, purpose, key_version, uid_len, uid7, sector):
    m = codec.encode_div_input(purpose, key_version, uid_len, uid7, sector)
    return _cmac(master, True).diversify(m)


def card_uid(uid):
    """UID (4 or 7 bytes) -> (length, 7 zero-padded bytes): checked once per card for `derive`."""
    return _pad_uid(uid)


def check_master(master, key_version):
    """A 16-byte master of key version 0..255 (checked once, when a key set is loaded)."""
    _check_key(master, "master key")
    _check_int(key_version, 0, 255, "key_version")


def derive(master, purpose, key_version, uid_len, uid7, sector):
    """The 16-byte AN10922 key `sector_key`/`purse_mac_key` derive, for inputs checked once
    already (`check_master`, `card_uid`; `sector` a sector number): a card's keys are derived at
    every tap of a new card, so the checks are not repeated there (firmware/keyring.py)."""
    return _diversify(master, purpose, key_version, uid_len, uid7, sector)


def _card_key(master, uid, key_version, purpose, sector):
    _check_key(master, "master key")
    uid_len, uid7 = _pad_uid(uid)
    _check_int(key_version, 0, 255, "key_version")
    return _diversify(master, purpose, key_version, uid_len, uid7, sector)


def sector_key(master, uid, sector, key_type, key_version):
    """6-byte Crypto1 key A or B ('A'|'B' or 0x60|0x61) of `sector` on the card `uid`."""
    if key_type == "A" or (key_type == codec.MF_AUTH_A and isinstance(key_type, int)):
        purpose = codec.PURPOSE_SECTOR_KEY_A
    elif key_type == "B" or (key_type == codec.MF_AUTH_B and isinstance(key_type, int)):
        purpose = codec.PURPOSE_SECTOR_KEY_B
    else:
        raise ValueError("key_type must be 'A', 'B', 0x60 or 0x61, got %r" % (key_type,))
    _check_int(sector, 0, _MAX_SECTOR, "sector")
    return _card_key(master, uid, key_version, purpose, sector)[:_CRYPTO1_KEY_SIZE]


def purse_mac_key(master, uid, key_version):
    """16-byte per-card key of the identity, slot and log MACs."""
    return _card_key(master, uid, key_version, codec.PURPOSE_PURSE_MAC, 0)


def load_mac_key(master, uid, key_version):
    """16-byte per-card key of issuer-only MACs (top-up evidence)."""
    return _card_key(master, uid, key_version, codec.PURPOSE_LOAD_MAC, 0)


def _terminal_key(master, purpose, terminal_number, key_version):
    _check_key(master, "master key")
    _check_int(terminal_number, 0, MAX_TERMINAL, "terminal_number")
    _check_int(key_version, 0, 255, "key_version")
    uid_len, uid7 = _pad_uid(terminal_number.to_bytes(4, "big"))
    return _diversify(master, purpose, key_version, uid_len, uid7, 0)


def journal_key(master, terminal_number, key_version):
    """16-byte key of one reader's journal MACs; the terminal number (4 bytes BE) stands in for the UID."""
    return _terminal_key(master, codec.PURPOSE_JOURNAL, terminal_number, key_version)


def link_key(master, terminal_number, key_version):
    """16-byte key of one reader's USB link MACs (from the journal master, like journal_key)."""
    return _terminal_key(master, codec.PURPOSE_LINK, terminal_number, key_version)


def config_key(master, terminal_number, key_version):
    """16-byte key of one reader's signed day configurations (from the journal master)."""
    return _terminal_key(master, codec.PURPOSE_CONFIG, terminal_number, key_version)


def transport_key(master, terminal_number, key_version):
    """16-byte one-off key a blank reader gets in the lab ceremony for its first provisioning."""
    return _terminal_key(master, codec.PURPOSE_TRANSPORT, terminal_number, key_version)


_headers = {}  # type: dict  # the MAC headers of the card(s) of this tap: built once, checked once


def _mac_header(record_type, uid, key_version, layout_version):
    k = (record_type, bytes(uid), key_version, layout_version)
    header = _headers.get(k)
    if header is None:
        if record_type not in _RECORD_TYPES:
            raise ValueError("unknown record_type %r" % (record_type,))
        uid_len, uid7 = _pad_uid(uid)
        _check_int(key_version, 0, 255, "key_version")
        _check_int(layout_version, 0, 255, "layout_version")
        header = codec.encode_mac_header(record_type, uid_len, uid7, layout_version, key_version)
        if len(_headers) >= 4 * _CACHE_SIZE:
            _headers.clear()
        _headers[k] = header
    return header


def record_mac(card_key, record_type, uid, key_version, body, layout_version=codec.LAYOUT_VERSION):
    """8-byte MAC of a record (`body` = the record without its MAC field)."""
    _check_key(card_key, "card key")
    if not isinstance(body, _BYTES):
        raise TypeError("body must be bytes")
    header = _mac_header(record_type, uid, key_version, layout_version)
    return _cmac(card_key).mac_parts(header, body)[:codec.MAC_SIZE]


def equal_ct(a, b):
    """a == b for byte strings, in time independent of where they differ (MAC checks)."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def verify_record_mac(card_key, record_type, uid, key_version, body, mac,
                      layout_version=codec.LAYOUT_VERSION):
    """True iff `mac` is the record's MAC; compared in constant time."""
    expected = record_mac(card_key, record_type, uid, key_version, body, layout_version)
    return equal_ct(expected, mac)
