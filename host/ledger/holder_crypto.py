"""Holder ID numbers at rest: AES-256-GCM under a key derived from the caller's ledger data key,
plus a keyed HMAC index so a holder can be found by ID number without storing it in clear."""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from icpurse.host.ledger.errors import DataKeyError

_FORMAT = b"\x01"  # format byte: 1 = AES-256-GCM, 12-byte nonce, AAD below
_AAD = b"icpurse ledger holders.id_number v1"


def _derive(data_key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"icpurse ledger " + label).derive(data_key)


class HolderCipher:
    def __init__(self, data_key: bytes):
        if not isinstance(data_key, (bytes, bytearray)) or len(data_key) < 16:
            raise DataKeyError("the ledger data key must be at least 16 random bytes")
        self._aead = AESGCM(_derive(bytes(data_key), b"holder-id encryption"))
        self._mac_key = _derive(bytes(data_key), b"holder-id index")

    def encrypt(self, id_number: str) -> bytes:
        nonce = os.urandom(12)
        return _FORMAT + nonce + self._aead.encrypt(nonce, id_number.encode("utf-8"), _AAD)

    def decrypt(self, blob: bytes) -> str:
        if not blob or blob[:1] != _FORMAT:
            raise DataKeyError("holder ID number: unknown storage format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], _AAD).decode("utf-8")
        except InvalidTag:
            raise DataKeyError("holder ID number cannot be decrypted: wrong ledger data key") from None

    def index(self, id_number: str) -> str:
        normal = "".join(id_number.split()).upper()
        return hmac.new(self._mac_key, normal.encode("utf-8"), hashlib.sha256).hexdigest()
