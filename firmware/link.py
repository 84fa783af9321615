"""USB link framing (protocol/link.py), shared by the reader firmware and the host client.

`encode_frame` builds one frame; `FrameReader` is an incremental parser: feed it bytes as they
arrive (any chunking, garbage included) and it yields complete, checked frames. Bytes that do not
form a valid frame are skipped by re-synchronising on the next sync pattern, never by waiting
for a length read from noise.
"""
from binascii import crc32

from icpurse.firmware import codec

_HEADER_SIZE = codec.LINK_HEADER_SIZE
_CRC_SIZE = codec.LINK_CRC_SIZE
_SYNC0 = codec.LINK_SYNC[0]
_SYNC1 = codec.LINK_SYNC[1]


class LinkFrameError(ValueError):
    pass


def _header(kind, seq, command, length):
    head = bytearray(codec.encode_link_header(codec.LINK_SYNC, codec.LINK_VERSION, kind, seq & 0xFF,
                                              command, length, 0, 0))
    head[_HEADER_SIZE - 1] = crc32(head[:_HEADER_SIZE - 1]) & 0xFF
    return head


def encode_frame(kind, seq, command, payload=b""):
    if len(payload) > codec.LINK_MAX_PAYLOAD:
        raise LinkFrameError("payload of %d bytes exceeds %d" % (len(payload), codec.LINK_MAX_PAYLOAD))
    frame = _header(kind, seq, command, len(payload)) + payload
    return bytes(frame) + (crc32(frame) & 0xFFFFFFFF).to_bytes(4, "little")


def encode_error(seq, command, code, message, detail=0):
    """An ERROR frame: typed code, a detail byte (e.g. the purse refusal) and a short message."""
    text = message.encode("utf-8")[:200]
    return encode_frame(codec.LINK_KIND_ERROR, seq, command, codec.encode_error_body(code, detail) + text)


def decode_error(payload):
    code, detail = codec.decode_error_body(payload)
    return code, detail, bytes(payload[codec.ERROR_BODY_SIZE:]).decode("utf-8")


class Frame:
    def __init__(self, version, kind, seq, command, payload):
        self.version = version
        self.kind = kind
        self.seq = seq
        self.command = command
        self.payload = payload


class FrameReader:
    """Incremental frame parser with resynchronisation. `errors` counts discarded frames."""

    def __init__(self, max_payload=None):
        self.buf = bytearray()
        self.max_payload = max_payload or codec.LINK_MAX_PAYLOAD
        self.errors = 0

    def feed(self, data):
        self.buf.extend(data)

    def _drop(self, n):
        self.buf = self.buf[n:]

    def _resync(self):
        """Skip to the next sync pattern after position 0 (or keep a trailing first sync byte)."""
        buf = self.buf
        i = 1
        n = len(buf)
        while i < n:
            if buf[i] == _SYNC0 and (i + 1 == n or buf[i + 1] == _SYNC1):
                break
            i += 1
        self._drop(i)

    def next(self):
        """The next complete valid Frame, or None if more bytes are needed."""
        while True:
            buf = self.buf
            if len(buf) < 2:
                if len(buf) == 1 and buf[0] != _SYNC0:
                    self._drop(1)
                return None
            if buf[0] != _SYNC0 or buf[1] != _SYNC1:
                self._resync()
                continue
            if len(buf) < _HEADER_SIZE:
                return None
            if crc32(buf[:_HEADER_SIZE - 1]) & 0xFF != buf[_HEADER_SIZE - 1]:
                self.errors += 1
                self._resync()
                continue
            h = codec.decode_link_header(buf)
            length = h[codec.LINK_HEADER_LENGTH]
            if length > self.max_payload:
                self.errors += 1
                self._resync()
                continue
            total = _HEADER_SIZE + length + _CRC_SIZE
            if len(buf) < total:
                return None
            body_end = _HEADER_SIZE + length
            if crc32(buf[:body_end]) & 0xFFFFFFFF != int.from_bytes(bytes(buf[body_end:total]), "little"):
                self.errors += 1
                self._resync()
                continue
            frame = Frame(h[codec.LINK_HEADER_VERSION], h[codec.LINK_HEADER_KIND], h[codec.LINK_HEADER_SEQ],
                          h[codec.LINK_HEADER_COMMAND], bytes(buf[_HEADER_SIZE:body_end]))
            self._drop(total)
            return frame
