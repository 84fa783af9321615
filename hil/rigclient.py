"""The store reader's link on an in-process virtual reader: `RigClient` sends LinkClient's typed
commands (info, provision_keys, sign_in, fetch_journal, ...) to a hil.sim.rig.VirtualReader through
the real link framing, without a serial port (tests, demo, load bench). It lives with the rig so
that the host tools never import the simulator."""
from icpurse.firmware import link
from icpurse.hil.sim.rig import LinkRefused
from icpurse.host import codec
from icpurse.host.readers.serial import LinkClient


class RigClient(LinkClient):
    def __init__(self, vreader):  # no serial port: LinkClient.__init__ is not called on purpose
        self.vreader = vreader
        self.path = "rig:%s" % vreader.root
        self.timeout = 5.0
        self.authenticate(None)

    def close(self):
        pass

    def _exchange(self, command, payload, timeout):
        """One frame through the virtual reader's link framing (signing is LinkClient.request's)."""
        try:
            body = self.vreader.exchange(command, payload)
            return link.Frame(codec.LINK_VERSION, codec.LINK_KIND_RESPONSE, 0, command, body)
        except LinkRefused as e:
            error = codec.encode_error_body(e.code, e.detail) + e.message.encode("utf-8")
            return link.Frame(codec.LINK_VERSION, codec.LINK_KIND_ERROR, 0, command, error)
