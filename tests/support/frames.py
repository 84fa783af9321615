"""Hex, and PN532 frames for scripted exchanges: an independent frame builder written from the
PN532 frame format (below), not from hil/sim or firmware/pn532.py, so tests check the code under
test against it.

Normal information frame:   00 00 FF LEN LCS TFI PD DCS 00    (LEN = len(TFI + PD), LCS = -LEN)
Extended (TFI + PD > 255):  00 00 FF FF FF LENM LENL LCS TFI PD DCS 00
DCS = -(TFI + sum(PD)) mod 256. TFI D4: host to PN532; D5: PN532 to host.
"""

ACK = bytes.fromhex("0000FF00FF00")
NACK = bytes.fromhex("0000FFFF0000")
ERROR = bytes.fromhex("0000FF01FF7F8100")  # the application-level error frame
KEY_FF = b"\xff" * 6  # a transport-configuration MIFARE key


def h(text):
    """Bytes from spaced (and line-broken) hex, e.g. h("00 00 FF 00 FF 00")."""
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


def information_frame(body):
    """The frame carrying `body` = TFI + PD, normal or extended by its length."""
    body = bytes(body)
    n = len(body)
    if n <= 255:
        head = bytes([0x00, 0x00, 0xFF, n, (0x100 - n) & 0xFF])
    else:
        m, l = divmod(n, 256)
        head = bytes([0x00, 0x00, 0xFF, 0xFF, 0xFF, m, l, (0x100 - m - l) & 0xFF])
    return head + body + bytes([(0x100 - sum(body)) & 0xFF, 0x00])


def frame(pd, tfi=0xD4):
    """The information frame of command (TFI D4) or response (tfi=0xD5) data `pd`."""
    return information_frame(bytes([tfi]) + bytes(pd))
