"""The signed day configuration (protocol/link.py DayConfig): made by the back office, checked and
applied by the reader.

One record carries everything that decides what the reader may sell: mode and price, grace, caps,
issuer, transparent card access, the blacklist (version and digest), the signed time and business
day, the cut-off and how far SET_TIME may move the clock back. Its MAC is made with the terminal's
configuration key (an AES-CMAC like every link MAC, firmware.linkauth). The reader applies exactly
what the newest valid record says and keeps the record, re-verifying it at every boot, so a setting
changed on the reader by any other way does not outlive the next sign-in.
"""
import hashlib

from icpurse.firmware import codec
from icpurse.firmware.kdf import equal_ct
from icpurse.firmware.linkauth import ZERO_NONCE, AuthFail, link_mac

SIZE = codec.DAY_CONFIG_SIZE
_BODY = codec.DAY_CONFIG_SIZE - codec.LINK_MAC_SIZE

# Field indexes of a decoded record (codec.decode_day_config).
TERMINAL = codec.DAY_CONFIG_TERMINAL
KEY_VERSION = codec.DAY_CONFIG_KEY_VERSION
SERIAL = codec.DAY_CONFIG_SERIAL
TIME = codec.DAY_CONFIG_TIME
DAY = codec.DAY_CONFIG_DAY
CUTOFF = codec.DAY_CONFIG_CUTOFF
CLOCK_WINDOW = codec.DAY_CONFIG_CLOCK_WINDOW
MODE = codec.DAY_CONFIG_MODE
FIXED_PRICE = codec.DAY_CONFIG_FIXED_PRICE
GRACE_DAYS = codec.DAY_CONFIG_GRACE_DAYS
TXN_CAP = codec.DAY_CONFIG_TXN_CAP
DAILY_CAP = codec.DAY_CONFIG_DAILY_CAP
ISSUER = codec.DAY_CONFIG_ISSUER
TRANSPARENT = codec.DAY_CONFIG_TRANSPARENT
BALANCE_CAP = codec.DAY_CONFIG_BALANCE_CAP
V1_UNTIL = codec.DAY_CONFIG_V1_UNTIL
BLACKLIST_VERSION = codec.DAY_CONFIG_BLACKLIST_VERSION
BLACKLIST_DIGEST = codec.DAY_CONFIG_BLACKLIST_DIGEST


def blacklist_digest(stored):
    """First 8 bytes of SHA-256 over the blacklist as the reader stores it: version (4 bytes,
    little-endian) ‖ the sorted 6-byte entries."""
    return hashlib.sha256(bytes(stored)).digest()[:codec.LINK_MAC_SIZE]


def _mac(key, terminal, serial, body):
    return link_mac(key, codec.LINK_MAC_CONFIG, 0, terminal, ZERO_NONCE, serial, body)


def seal(key, *fields, balance_cap=0, v1_until=0):
    """The record for `fields` (codec order up to `blacklist_digest`) and the programme's card rules,
    MAC'd with configuration key `key`."""
    body = codec.encode_day_config(*(fields + (balance_cap, v1_until, bytes(codec.LINK_MAC_SIZE))))[:_BODY]
    return body + _mac(key, fields[0], fields[2], body)


def check_settings(rec):
    """ValueError unless the record's settings make sense on their own."""
    mode = rec[MODE]
    if mode != codec.MODE_POS and mode != codec.MODE_FIXED_PRICE:
        raise ValueError("unknown mode %d" % mode)
    if mode == codec.MODE_FIXED_PRICE and not rec[FIXED_PRICE]:
        raise ValueError("fixed-price mode needs a price")
    if rec[TRANSPARENT] > 1:
        raise ValueError("transparent is 0 or 1")


def verify(raw, terminal, config_keys):
    """Decode and verify a record for this reader -> the decoded tuple.

    `config_keys`: {key version: configuration key} the reader holds. AuthFail (typed) when the
    record is not for this reader or its MAC fails; ValueError when it does not decode or its
    settings make no sense."""
    if len(raw) != SIZE:
        raise ValueError("a day configuration is %d bytes, got %d" % (SIZE, len(raw)))
    rec = codec.decode_day_config(raw)
    if rec[TERMINAL] != terminal:
        raise AuthFail(codec.LINK_ERR_BAD_CONFIG, "day configuration for terminal %08d, this reader is %08d"
                       % (rec[TERMINAL], terminal))
    key = config_keys.get(rec[KEY_VERSION])
    if key is None:
        raise AuthFail(codec.LINK_ERR_BAD_CONFIG, "day configuration signed with key version %d, which this "
                       "reader does not hold" % rec[KEY_VERSION])
    if not equal_ct(_mac(key, rec[TERMINAL], rec[SERIAL], memoryview(raw)[:_BODY]), rec[codec.DAY_CONFIG_MAC]):
        raise AuthFail(codec.LINK_ERR_UNAUTHENTICATED, "day configuration fails its MAC: not signed by the back office")
    check_settings(rec)
    return rec
