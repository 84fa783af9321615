"""The store reader's link, from the back office: a `LinkClient` on a serial port (an ESP32, or the
virtual ESP32 on a pty). The same typed commands on an in-process virtual reader (tests, demo) are
hil/rigclient.py's `RigClient`.
"""
from icpurse.host.readers import NoReader
from icpurse.host.readers.serial import LinkClient


def reader_port(port=None, reader=None):
    """The serial port from --port PATH or --reader serial:PATH."""
    if port:
        return port
    if reader:
        kind, _, arg = reader.partition(":")
        if kind == "serial" and arg:
            return arg
        raise NoReader("a store reader is reached over its USB link: --reader serial:/dev/ttyUSB0 or --port PATH")
    raise NoReader("no store reader chosen: pass --port /dev/ttyUSB0 or --reader serial:/dev/ttyUSB0")


def open_link(port=None, reader=None, timeout=5.0):
    from icpurse.host.readers.serial import LinkTimeout

    path = reader_port(port, reader)
    try:
        return LinkClient(path, timeout=timeout)
    except LinkTimeout as e:
        raise NoReader(str(e)) from None
