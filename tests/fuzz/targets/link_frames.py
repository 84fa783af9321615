"""Fuzz target: the USB link frame parser (firmware/link.FrameReader), shared by reader and host.

Properties, for any bytes in any chunking:
- `next()` returns a Frame or None and raises nothing; a Frame carries a payload within the
  limit and re-encodes (encode_frame) to a frame that parses back to itself;
- valid frames separated by garbage that holds no sync byte come out exactly, in order;
- after arbitrary garbage, a valid frame followed by enough padding is still found (the parser
  never hangs on a length read from noise);
- decode_error on any payload gives (code, detail, text) or ValueError / UnicodeError.
"""

import _common

with _common.instrument(__name__):
    from icpurse.firmware import codec, link

SYNC0 = codec.LINK_SYNC[0]


def _chunks(data, inp):
    """Split `data` into pieces whose sizes the input chooses (1..64 bytes)."""
    pos = 0
    while pos < len(data):
        n = 1 + inp.u8() % 64
        yield data[pos:pos + n]
        pos += n


def _drain(reader):
    out = []
    while True:
        f = reader.next()
        if f is None:
            return out
        if not isinstance(f, link.Frame):
            raise AssertionError("next() returned %r" % (f,))
        if len(f.payload) > reader.max_payload:
            raise AssertionError("payload of %d bytes passed the limit" % len(f.payload))
        out.append(f)


def _key(f):
    return (f.kind, f.seq, f.command, f.payload)


def _check_reencodes(f):
    again = link.FrameReader()
    again.feed(link.encode_frame(f.kind, f.seq, f.command, f.payload))
    g = again.next()
    if g is None or _key(g) != _key(f) or g.version != codec.LINK_VERSION:
        raise AssertionError("frame does not survive re-encoding")


def _garbage(inp):
    """Garbage without the first sync byte: nothing in it can start a frame."""
    return bytes(b if b != SYNC0 else b ^ 0x01 for b in inp.chunk(40))


def test_one_input(data):
    inp = _common.Input(data)
    mode = inp.u8() % 3
    if mode == 0:  # arbitrary bytes, arbitrary chunking
        stream = inp.rest()
        reader = link.FrameReader()
        for piece in _chunks(stream, _common.Input(data[::-1])):
            reader.feed(piece)
            for f in _drain(reader):
                _check_reencodes(f)
                if f.kind == codec.LINK_KIND_ERROR:
                    try:
                        link.decode_error(f.payload)
                    except (ValueError, UnicodeError):
                        pass
        return
    if mode == 1:  # frames and sync-free garbage: exactly the frames come out
        sent = []
        stream = bytearray()
        for _ in range(inp.u8() % 5):
            stream += _garbage(inp)
            frame = (inp.u8() % 4, inp.u8(), inp.u8(), inp.chunk(80))
            sent.append(frame)
            stream += link.encode_frame(*frame)
        stream += _garbage(inp)
        reader = link.FrameReader()
        got = []
        for piece in _chunks(bytes(stream), inp):
            reader.feed(piece)
            got += [_key(f) for f in _drain(reader)]
        if got != sent:
            raise AssertionError("sent %r, parsed %r" % (sent, got))
        return
    # arbitrary garbage, then one valid frame and padding: the frame is not lost
    garbage = inp.chunk(255)
    frame = (inp.u8() % 4, inp.u8(), inp.u8(), inp.chunk(40))
    pad = bytes(codec.LINK_HEADER_SIZE + codec.LINK_MAX_PAYLOAD + codec.LINK_CRC_SIZE)
    reader = link.FrameReader()
    got = []
    for piece in (garbage, link.encode_frame(*frame), pad):
        reader.feed(piece)
        got += [_key(f) for f in _drain(reader)]
    if tuple(frame) not in got:
        raise AssertionError("valid frame after %d garbage bytes was lost" % len(garbage))


def _seed_frames():
    f1 = link.encode_frame(codec.LINK_KIND_REQUEST, 1, codec.LINK_CMD_INFO)
    f2 = link.encode_error(7, codec.LINK_CMD_DEBIT, codec.LINK_ERR_NO_CARD, "no card")
    return f1, f2


SEEDS = [b"\x00" + b"".join(_seed_frames()), b"\x00" + _seed_frames()[0][:7] + _seed_frames()[1],
         b"\x01\x02\x03AB\x00\x01\x05\x04abcd\x00", b"\x02\x05\xaa\x55\x00\x01\x00\x01\x00"]

_common.main(__name__, test_one_input)
