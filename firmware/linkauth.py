"""Authenticated USB link requests: the reader's guard and the signer the host (and tests) use.

Every request in codec.LINK_AUTHENTICATED ends with a LinkAuth trailer: a counter and an 8-byte
AES-CMAC under the reader's link key over LinkMacHeader(REQUEST, version, command, terminal, nonce,
counter) ‖ the payload before the trailer (protocol/link.py). The reader (`LinkGuard`) carries a
request out only if its MAC verifies and its counter is above the last one it accepted; the counter
goes to NVS *before* the request is carried out, so a request is done at most once, even across a
power loss, and a replayed or reordered one is refused. Refusals change nothing, not even the
counter. Its answer ends with the reader's MAC (direction RESPONSE, same counter) over the response.

The nonce is drawn when the reader's NVS has none (first boot, or after the lab erased it): frames
recorded before an erase never verify again. The link key is the one of the reader's current key
version; a reader without one accepts only PROVISION_KEYS, MAC'd with the transport key the lab
wrote into its NVS (docs/reader.md "Link authentication", the ceremony in docs/hardware.md).

NVS entries (the reader's namespace): "ln" = nonce (8) ‖ last counter (4, little-endian);
"tk" = transport key (16); "l<version>" = link key ‖ configuration key of that key version (32).
"""
from icpurse.firmware import codec
from icpurse.firmware.cmac import CMAC
from icpurse.firmware.kdf import equal_ct
from icpurse.protocol.mpy import const

MAC_SIZE = codec.LINK_MAC_SIZE
TRAILER_SIZE = codec.LINK_AUTH_SIZE
NONCE_SIZE = codec.LINK_NONCE_SIZE
ZERO_NONCE = bytes(codec.LINK_NONCE_SIZE)
_KEY = const(16)
_MAX_COUNTER = const(0xFFFFFFFF)
_STATE = "ln"
_TRANSPORT = "tk"


class AuthFail(Exception):
    """A request the reader refuses before carrying it out: typed link error code and message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def link_mac(key, direction, command, terminal, nonce, counter, body):
    """The 8-byte MAC of a request, a response or (command 0, zero nonce) a day configuration."""
    header = codec.encode_link_mac_header(direction, codec.LINK_VERSION, command, terminal, nonce, counter)
    return CMAC(bytes(key)).mac_parts(header, body)[:MAC_SIZE]


def authenticated(command):
    return command in codec.LINK_AUTHENTICATED


class Signer:
    """The host end: signs requests for one reader and checks its answers.

    key: the reader's link key (or, for a blank reader's first provisioning, its transport key);
    terminal, nonce, counter: what the reader's INFO reports (terminal 0 while it is blank; counter =
    the last one it accepted)."""

    def __init__(self, key, terminal, nonce, counter):
        if len(key) != _KEY:
            raise ValueError("a link key is 16 bytes")
        self.key = bytes(key)
        self.terminal = terminal
        self.nonce = bytes(nonce)
        self.counter = counter
        self._sent = None  # (command, counter) of the last signed request

    def sign(self, command, body=b""):
        """`body` with its LinkAuth trailer, under the next counter."""
        if self.counter >= _MAX_COUNTER:
            raise ValueError("link counter exhausted: provision the reader again")
        self.counter += 1
        mac = link_mac(self.key, codec.LINK_MAC_REQUEST, command, self.terminal, self.nonce, self.counter, body)
        self._sent = (command, self.counter)
        return bytes(body) + codec.encode_link_auth(self.counter, mac)

    def open_response(self, command, payload):
        """The response body, once the reader's MAC over it verifies; ValueError otherwise."""
        if self._sent is None or self._sent[0] != command:
            raise ValueError("no signed request for command 0x%02x" % command)
        if len(payload) < MAC_SIZE:
            raise ValueError("answer carries no MAC")
        body = payload[:len(payload) - MAC_SIZE]
        expected = link_mac(self.key, codec.LINK_MAC_RESPONSE, command, self.terminal, self.nonce, self._sent[1], body)
        if not equal_ct(expected, payload[len(payload) - MAC_SIZE:]):
            raise ValueError("the reader's answer to command 0x%02x fails its MAC" % command)
        return body


class LinkGuard:
    """The reader's side: link keys and transport key in NVS, the nonce and the last counter."""

    def __init__(self, nvs, random_bytes):
        self._nvs = nvs
        self._buf = bytearray(2 * _KEY)
        n = nvs.get_blob(_STATE, self._buf)
        if n == NONCE_SIZE + 4:
            self.nonce = bytes(self._buf[:NONCE_SIZE])
            self.counter = int.from_bytes(bytes(self._buf[NONCE_SIZE:NONCE_SIZE + 4]), "little")
        else:
            self.nonce = bytes(random_bytes(NONCE_SIZE))
            self.counter = 0
            self._save_counter(0)

    def _save_counter(self, counter):
        self._nvs.set_blob(_STATE, self.nonce + counter.to_bytes(4, "little"))
        self.counter = counter

    # --- keys ---------------------------------------------------------------------------------
    def keys(self, version):
        """(link key, configuration key) of key `version`, or None."""
        if not version or self._nvs.get_blob("l%d" % version, self._buf) != 2 * _KEY:
            return None
        b = bytes(self._buf)
        return b[:_KEY], b[_KEY:]

    def save_keys(self, version, link, config):
        if len(link) != _KEY or len(config) != _KEY:
            raise ValueError("link and configuration keys are 16 bytes")
        self._nvs.set_blob("l%d" % version, bytes(link) + bytes(config))

    def transport_key(self):
        if self._nvs.get_blob(_TRANSPORT, self._buf) != _KEY:
            return None
        return bytes(self._buf[:_KEY])

    def install_transport_key(self, key):
        """The lab ceremony's step on the board (the REPL, or the simulator's option)."""
        if len(key) != _KEY:
            raise ValueError("a transport key is 16 bytes")
        self._nvs.set_blob(_TRANSPORT, bytes(key))

    def erase_transport_key(self):
        self._nvs.erase(_TRANSPORT)

    @staticmethod
    def erase(nvs):
        """Every link key, the transport key, the nonce and the counter (the lab jumper)."""
        for v in range(1, 256):
            nvs.erase("l%d" % v)
        nvs.erase(_TRANSPORT)
        nvs.erase(_STATE)

    def state(self, key_version):
        if self.keys(key_version) is not None:
            return codec.LINK_STATE_PROVISIONED
        if self.transport_key() is not None:
            return codec.LINK_STATE_TRANSPORT
        return codec.LINK_STATE_BLANK

    # --- requests -----------------------------------------------------------------------------
    def open(self, command, payload, terminal, key_version):
        """Check an authenticated request -> (body, key, counter); AuthFail, changing nothing, if it
        is not MAC'd by this reader's key or its counter is not above the last one accepted. The new
        counter is in NVS when this returns."""
        n = len(payload)
        if n < TRAILER_SIZE:
            raise AuthFail(codec.LINK_ERR_UNAUTHENTICATED,
                           "command 0x%02x changes the reader and needs its link MAC" % command)
        counter, mac = codec.decode_link_auth(payload, n - TRAILER_SIZE)
        body = payload[:n - TRAILER_SIZE]
        keys = self.keys(key_version)
        if keys is not None:
            key = keys[0]
        elif command == codec.LINK_CMD_PROVISION_KEYS:
            key = self.transport_key()
            if key is None:
                raise AuthFail(codec.LINK_ERR_UNAUTHENTICATED,
                               "blank reader without a transport key: the lab ceremony comes first")
        else:
            raise AuthFail(codec.LINK_ERR_UNAUTHENTICATED, "reader not provisioned: run `icpurse terminal provision`")
        expected = link_mac(key, codec.LINK_MAC_REQUEST, command, terminal, self.nonce, counter, body)
        if not equal_ct(expected, mac):
            raise AuthFail(codec.LINK_ERR_UNAUTHENTICATED,
                           "MAC of command 0x%02x does not verify: not signed for this reader" % command)
        if counter <= self.counter:
            raise AuthFail(codec.LINK_ERR_REPLAYED,
                           "counter %d is not above %d: a replayed or reordered request" % (counter, self.counter))
        self._save_counter(counter)
        return body, key, counter

    def seal(self, key, command, terminal, counter, response):
        """`response` with the reader's MAC for the request (`command`, `terminal`, `counter`) it answers."""
        return bytes(response) + link_mac(key, codec.LINK_MAC_RESPONSE, command, terminal, self.nonce, counter,
                                          response)
