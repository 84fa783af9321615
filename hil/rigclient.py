"""The store reader's link on an in-process virtual reader: `RigClient` sends LinkClient's typed
commands (info, provision_keys, sign_in, fetch_journal, ...) to a hil.sim.rig.VirtualReader through
the real link framing, without a serial port (tests, demo, load bench). It lives with the rig so
that the host tools never import the simulator."""
from icpurse.hil.sim.rig import LinkRefused
from icpurse.host.readers.serial import LinkClient, ReaderLinkError


class RigClient(LinkClient):
    def __init__(self, vreader):  # no serial port: LinkClient.__init__ is not called on purpose
        self.vreader = vreader
        self.path = "rig:%s" % vreader.root
        self.timeout = 5.0

    def close(self):
        pass

    def request(self, command, payload=b"", timeout=None):
        try:
            return self.vreader.request(command, payload)
        except LinkRefused as e:
            raise ReaderLinkError(e.code, e.detail, e.message, command) from None
