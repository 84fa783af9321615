"""The store reader's link, from the back office: a `LinkClient` on a serial port (an ESP32, or the
virtual ESP32 on a pty), or the same typed commands on an in-process virtual reader (tests, demo).
"""
from icpurse.host.readers import NoReader
from icpurse.host.readers.serial import LinkClient, ReaderLinkError


class RigClient(LinkClient):
    """LinkClient's typed commands (info, provision_keys, sign_in, fetch_journal, ...) sent to a
    hil.sim.rig.VirtualReader through the real link framing, without a serial port."""

    def __init__(self, vreader):  # no serial port: LinkClient.__init__ is not called on purpose
        self.vreader = vreader
        self.path = "rig:%s" % vreader.root
        self.timeout = 5.0

    def close(self):
        pass

    def request(self, command, payload=b"", timeout=None):
        from icpurse.hil.sim.rig import LinkRefused

        try:
            return self.vreader.request(command, payload)
        except LinkRefused as e:
            raise ReaderLinkError(e.code, e.detail, e.message, command) from None


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
