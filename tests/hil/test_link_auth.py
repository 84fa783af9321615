"""HIL scenarios of the store reader's link authentication, written once for every rig (docs/hil.md).

On the virtual rig (`make test`) the virtual ESP32 went through the lab ceremony with the demo
domain's transport key; a hardware board must have too (`make deploy PORT=... TRANSPORT_KEY=...`,
docs/hardware.md) or be provisioned already with the demo keys. The board is provisioned here under
the INSECURE DEMO KEYS (terminal of the rig file); then, from the USB port without the keys:
unauthenticated, foreign-key, replayed and altered requests are refused with typed errors and the
reader's INFO does not change; the back office's signed requests are carried out."""
import pytest

from icpurse.host import codec
from icpurse.firmware import linkauth
from icpurse.hil.stations import DemoKeys
from icpurse.host.terminals import keys as tkeys

pytestmark = pytest.mark.hil
HIL_SEQUENTIAL = True
FOREIGN = bytes(range(100, 116))


@pytest.fixture(scope="module")
def reader(rig, store_reader):
    """The rig's store reader, provisioned with the demo keys for the rig's terminal (the client then
    signs with its link key)."""
    keys = DemoKeys(rig.store.terminal)
    client = store_reader
    terminal = rig.store.terminal
    info = tkeys.authenticate(client, keys.domain, terminal)
    if info["link_state"] == codec.LINK_STATE_TRANSPORT or info["terminal"] != terminal:
        own = tkeys.terminal_keys(keys.domain, terminal, keys.version)
        kv = keys.domain.version(keys.version)
        client.provision_keys(terminal, keys.version, kv["sector_a"].material, kv["purse_mac"].material,
                              own["journal"], own["link"], own["config"])
        tkeys.authenticate(client, keys.domain, terminal)
    return client, keys


def _info(client):
    info = client.info()
    info.pop("time")
    return info


def _raw(client, command, payload):
    """Send one frame as given (the attacker's bytes); the typed error code, or None if carried out."""
    frame = client._exchange(command, payload, client.timeout)
    if frame.kind == codec.LINK_KIND_ERROR:
        return frame.payload[0]
    return None


def test_unauthenticated_requests_are_refused_and_change_nothing(reader):
    client, keys = reader
    before = _info(client)
    requests = [
        (codec.LINK_CMD_SET_TIME, codec.encode_set_time(1)),
        (codec.LINK_CMD_LOAD_BLACKLIST, codec.encode_blacklist_header(999, 0, 0, 0)),
        (codec.LINK_CMD_PROVISION_KEYS, codec.encode_provision_keys(before["terminal"], 1, 1, *([FOREIGN] * 5))),
        (codec.LINK_CMD_CONFIGURE, bytes(codec.DAY_CONFIG_SIZE)),
        (codec.LINK_CMD_SIGN_IN, bytes(codec.SIGN_IN_SIZE + codec.DAY_CONFIG_SIZE)),
        (codec.LINK_CMD_ACK_JOURNAL, codec.encode_ack_journal(before["journal_next"] - 1)),
        (codec.LINK_CMD_DAY_CLOSE, b""),
        (codec.LINK_CMD_REBOOT, b""),
    ]
    for command, payload in requests:
        assert _raw(client, command, payload) == codec.LINK_ERR_UNAUTHENTICATED, command
        foreign = linkauth.Signer(FOREIGN, before["terminal"], before["link_nonce"], before["link_counter"])
        assert _raw(client, command, foreign.sign(command, payload)) == codec.LINK_ERR_UNAUTHENTICATED, command
    assert _info(client) == before


def test_replayed_and_altered_requests_are_refused(reader):
    client, keys = reader
    info = client.info()
    link_key = tkeys.terminal_keys(keys.domain, info["terminal"], info["key_version"])["link"]
    host = linkauth.Signer(link_key, info["terminal"], info["link_nonce"], info["link_counter"])
    first = host.sign(codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] + 5))
    assert _raw(client, codec.LINK_CMD_SET_TIME, first) is None  # the genuine request, carried out once
    before = _info(client)
    assert _raw(client, codec.LINK_CMD_SET_TIME, first) == codec.LINK_ERR_REPLAYED
    altered = bytearray(host.sign(codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] + 9)))
    altered[1] ^= 0x01
    assert _raw(client, codec.LINK_CMD_SET_TIME, bytes(altered)) == codec.LINK_ERR_UNAUTHENTICATED
    assert _info(client) == before


def test_signed_requests_are_carried_out_and_answered_with_the_readers_mac(reader):
    client, keys = reader
    t = client.info()["time"]
    counter = client.info()["link_counter"]
    client.set_time(t + 30)  # LinkClient signs it and checks the answer's MAC (AnswerNotAuthentic if not)
    info = client.info()
    assert info["time"] >= t + 30 and info["link_counter"] == counter + 1
