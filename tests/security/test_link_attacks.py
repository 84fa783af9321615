"""Issue 12's attacks on a store reader's USB port, replayed with raw link frames on the pty of
`icpurse sim reader --pty` (the real firmware in its own process, its flash and NVS in --state).

The reader was put through the lab ceremony (`--transport-key`), provisioned and signed in by the
back office (host/terminals/service.py over the same pty). The attacker holds the port, not the keys:
every state-changing request without the terminal's link MAC, with a MAC under another key, replayed,
reordered or carrying an unsigned day configuration is refused with a typed error, and the reader's
flash, NVS and INFO stay byte for byte what they were (docs/security.md names these tests)."""
import binascii
import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
import serial

from icpurse.firmware import dayconfig, link, linkauth
from icpurse.host import codec
from icpurse.host.readers.serial import AnswerNotAuthentic, LinkClient, ReaderLinkError
from icpurse.host.terminals import dayconfig as signed
from icpurse.host.terminals import keys as tkeys
from icpurse.host.terminals import service
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import card_number_to_bcd
from support import store as sw

ICPURSE = os.path.join(os.path.dirname(sys.executable), "icpurse")
T = "33000001"
DAY = 86400
ATTACKER = bytes(range(16))  # keys the attacker made up
UNAUTH = codec.LINK_ERR_UNAUTHENTICATED


class Port:
    """The attacker's end of the USB link: raw frames in, the reader's frame out."""

    def __init__(self, path):
        self.ser = serial.Serial(path, 115200, timeout=0.05)
        self.frames = link.FrameReader()
        self.seq = 0

    def close(self):
        self.ser.close()

    def send_raw(self, data, seq, timeout=5.0):
        self.ser.write(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.ser.read(self.ser.in_waiting or 1)
            if chunk:
                self.frames.feed(chunk)
            while True:
                f = self.frames.next()
                if f is None:
                    break
                if f.seq == seq:
                    return f
        return None

    def send(self, command, payload=b"", version=codec.LINK_VERSION, kind=codec.LINK_KIND_REQUEST):
        self.seq = (self.seq + 1) & 0xFF
        frame = bytearray(link.encode_frame(kind, self.seq, command, payload))
        if version != codec.LINK_VERSION:  # another link version: header and frame checks made again
            frame[2] = version
            frame[9] = binascii.crc32(bytes(frame[:9])) & 0xFF
            frame[-4:] = (binascii.crc32(bytes(frame[:-4])) & 0xFFFFFFFF).to_bytes(4, "little")
        return self.send_raw(bytes(frame), self.seq)

    def error(self, command, payload=b"", **kw):
        """The typed error code the reader answers with (AssertionError if it carried the request out)."""
        f = self.send(command, payload, **kw)
        assert f is not None, "no answer to command 0x%02x" % command
        assert f.kind == codec.LINK_KIND_ERROR, "command 0x%02x was carried out" % command
        return link.decode_error(f.payload)[0]


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture
def esp32(world, tmp_path):
    """(world, back-office LinkClient, attacker Port, state folder): a signed-in reader on a pty."""
    tk = tmp_path / "transport.hex"
    tk.write_text(service.transport_key(world.ledger, sw.DOMAIN, T).hex())
    state = tmp_path / "state"
    proc = subprocess.Popen([ICPURSE, "sim", "reader", "--pty", "--state", str(state), "--transport-key", str(tk)],
                            stdout=subprocess.PIPE, text=True)
    path = proc.stdout.readline().split()[1]
    proc.stdout.readline()  # control <path>
    office = LinkClient(path, timeout=5)
    port = Port(path)
    try:
        service.provision(world.ledger, office, sw.DOMAIN, "admin", T, outlet="Shop", merchant="Acme", txn_cap=5000)
        service.sign_in(world.ledger, office, "clerk", T, sw.DOMAIN)
        yield world, office, port, state / "reader"
    finally:
        port.close()
        office.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def flash(files):
    """The reader's files without its NVS (where the link counter lives)."""
    return {k: v for k, v in files.items() if k != "nvs.json"}


def snapshot(office, state):
    """Everything the reader keeps (flash and NVS files) and says (INFO, its clock aside)."""
    info = office.info()
    info.pop("time")
    return _files(state), info


def forged_config(office, **settings):
    """A day configuration with the attacker's settings, MAC'd with a key the attacker made up."""
    info = office.info()
    s = dict(mode=codec.MODE_POS, fixed_price=0, grace=65535, txn_cap=0, daily_cap=0, issuer=sw.DOMAIN.issuer,
             transparent=1, version=0, entries=b"")
    s.update(settings)
    digest = dayconfig.blacklist_digest(s["version"].to_bytes(4, "little") + s["entries"])
    t = info["time"]
    return dayconfig.seal(ATTACKER, int(T), info["key_version"], info["config_serial"] + 1, t, t // DAY, 0, 10 ** 6,
                          s["mode"], s["fixed_price"], s["grace"], s["txn_cap"], s["daily_cap"], s["issuer"],
                          s["transparent"], s["version"], digest)


def attacks(office):
    """Every state-changing request of the issue's "Why", as the attacker sends it (unsigned)."""
    info = office.info()
    return [
        ("LOAD_BLACKLIST version 999, no entries", codec.LINK_CMD_LOAD_BLACKLIST,
         codec.encode_blacklist_header(999, 0, 0, 0)),
        ("CONFIGURE caps off, grace 65535, transparent on", codec.LINK_CMD_CONFIGURE, forged_config(office)),
        ("SET_TIME 20 days back", codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] - 20 * DAY)),
        ("PROVISION_KEYS with the attacker's keys", codec.LINK_CMD_PROVISION_KEYS, codec.encode_provision_keys(
            int(T), 1, 1, ATTACKER, ATTACKER, ATTACKER, ATTACKER, ATTACKER)),
        ("SIGN_IN with blacklist version 0", codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(1) + forged_config(office)),
        ("ACK_JOURNAL of everything", codec.LINK_CMD_ACK_JOURNAL, codec.encode_ack_journal(info["journal_next"] - 1)),
        ("DAY_CLOSE", codec.LINK_CMD_DAY_CLOSE, b""),
        ("REBOOT", codec.LINK_CMD_REBOOT, b""),
    ]


def test_every_unauthenticated_state_change_is_refused_and_changes_nothing(esp32):
    world, office, port, state = esp32
    before = snapshot(office, state)
    for what, cmd, payload in attacks(office):
        assert port.error(cmd, payload) == UNAUTH, what
        # the same with a trailer whose MAC is made with the attacker's key, at any counter
        for counter in (before[1]["link_counter"] + 1, 0xFFFFFFFF):
            forged = linkauth.Signer(ATTACKER, int(T), before[1]["link_nonce"], counter - 1).sign(cmd, payload)
            assert port.error(cmd, forged) == UNAUTH, what
    assert snapshot(office, state) == before
    assert office.info()["day_open"] == 1  # still the day the back office opened


def test_replayed_reordered_and_altered_requests_are_refused_and_change_nothing(esp32):
    world, office, port, state = esp32
    info = office.info()
    key = tkeys.terminal_keys(sw.DOMAIN, int(T), info["key_version"])["link"]
    # frames a genuine workstation signed, recorded by the attacker (two clock corrections in a row)
    host = linkauth.Signer(key, int(T), info["link_nonce"], info["link_counter"])
    first = host.sign(codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] + 60))
    second = host.sign(codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] + 120))
    f = port.send(codec.LINK_CMD_SET_TIME, second)  # delivered first: accepted ...
    assert f.kind == codec.LINK_KIND_RESPONSE
    before = snapshot(office, state)
    assert port.error(codec.LINK_CMD_SET_TIME, first) == codec.LINK_ERR_REPLAYED  # ... so the older one is late
    assert port.error(codec.LINK_CMD_SET_TIME, second) == codec.LINK_ERR_REPLAYED  # and each only once
    altered = bytearray(host.sign(codec.LINK_CMD_SET_TIME, codec.encode_set_time(info["time"] + 180)))
    altered[0] ^= 0x80  # another time under the genuine MAC
    assert port.error(codec.LINK_CMD_SET_TIME, bytes(altered)) == UNAUTH
    assert port.error(codec.LINK_CMD_REBOOT, first[4:]) == UNAUTH  # a MAC moved onto another command
    assert snapshot(office, state) == before
    # the back office goes on: its client reads the counter again after a REPLAYED answer
    service.set_time(world.ledger, office, sw.DOMAIN, T)
    assert office.info()["link_counter"] > before[1]["link_counter"]


def test_an_old_signed_day_configuration_is_a_replay(esp32):
    world, office, port, state = esp32
    n, _ = world.issue()
    world.ledger.blacklist.blacklist_add("auditor", n, "reported stolen")
    info = office.info()
    key = tkeys.terminal_keys(sw.DOMAIN, int(T), info["key_version"])["link"]
    # the attacker recorded a configuration the back office signed for this serial (blacklist version 0) ...
    when = world.ledger.now()
    old_config = signed.signed_config(world.ledger, sw.DOMAIN, T, info, when, 0, [])
    # ... the back office signs in with the new list (version 1) ...
    service.sign_in(world.ledger, office, "clerk", T, sw.DOMAIN)
    assert office.info()["blacklist_version"] == 1
    before = snapshot(office, state)
    # ... and even with a workstation's link key (a correct link MAC), the old record is refused
    host = linkauth.Signer(key, int(T), before[1]["link_nonce"], before[1]["link_counter"])
    code = port.error(codec.LINK_CMD_SIGN_IN, host.sign(codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(1) + old_config))
    assert code == codec.LINK_ERR_REPLAYED
    # a fresh serial but the old, shorter blacklist: not the list the reader holds
    stale = signed.signed_config(world.ledger, sw.DOMAIN, T, office.info(), when, 0, [])
    code = port.error(codec.LINK_CMD_CONFIGURE, host.sign(codec.LINK_CMD_CONFIGURE, stale))
    assert code == codec.LINK_ERR_BAD_CONFIG
    # the attacker's own settings under a correct link MAC: the record's own MAC fails
    code = port.error(codec.LINK_CMD_CONFIGURE, host.sign(codec.LINK_CMD_CONFIGURE, forged_config(
        office, version=1, entries=card_number_to_bcd(n))))
    assert code == UNAUTH
    after = snapshot(office, state)
    # authentic link requests (the counter in NVS moved), refused configurations: nothing else changed
    assert flash(after[0]) == flash(before[0]) and after[1]["config_serial"] == before[1]["config_serial"]


def test_the_clock_goes_back_only_within_the_signed_window(esp32):
    world, office, port, state = esp32
    now = office.info()["time"]
    before = snapshot(office, state)
    with pytest.raises(ReaderLinkError) as e:  # even the back office's link key cannot do it
        office.set_time(now - 20 * DAY)
    assert e.value.code == codec.LINK_ERR_CLOCK
    files, info = snapshot(office, state)
    assert files["config.json"] == before[0]["config.json"] and abs(info["day"] - before[1]["day"]) == 0
    office.set_time(now - 300)  # a small correction inside the window
    assert abs(office.info()["time"] - (now - 300)) < 5
    # a signed time (the next sign-in) is the way back further
    world.clock.advance(days=-2)
    service.sign_in(world.ledger, office, "clerk", T, sw.DOMAIN)
    assert abs(office.info()["time"] - cardtime.seconds(world.clock())) < 5


def test_malformed_frames_get_typed_errors_and_change_nothing(esp32):
    world, office, port, state = esp32
    before = snapshot(office, state)
    key = tkeys.terminal_keys(sw.DOMAIN, int(T), before[1]["key_version"])["link"]
    host = linkauth.Signer(key, int(T), before[1]["link_nonce"], before[1]["link_counter"])
    assert port.error(codec.LINK_CMD_INFO, version=1) == codec.LINK_ERR_UNSUPPORTED_VERSION
    assert port.error(codec.LINK_CMD_INFO, kind=codec.LINK_KIND_RESPONSE) == codec.LINK_ERR_BAD_FRAME
    assert port.error(0x7E) == codec.LINK_ERR_UNKNOWN_COMMAND
    assert port.error(codec.LINK_CMD_SET_TIME, b"\x01") == UNAUTH  # too short for a MAC trailer
    # well signed, badly formed: the counter moves (the request was authentic), nothing else
    assert port.error(codec.LINK_CMD_SET_TIME, host.sign(codec.LINK_CMD_SET_TIME, b"\x01")) == codec.LINK_ERR_BAD_PAYLOAD
    assert port.error(codec.LINK_CMD_SIGN_IN, host.sign(codec.LINK_CMD_SIGN_IN, b"\x00" * 9)) == codec.LINK_ERR_BAD_PAYLOAD
    assert port.error(codec.LINK_CMD_CONFIGURE, host.sign(codec.LINK_CMD_CONFIGURE, b"")) == codec.LINK_ERR_BAD_PAYLOAD
    # line noise and a truncated frame get no answer; the next good frame does
    port.ser.write(b"\x00\xff\xa5\x5a garbage" + link.encode_frame(codec.LINK_KIND_REQUEST, 1, codec.LINK_CMD_INFO)[:7])
    assert port.send(codec.LINK_CMD_INFO).kind == codec.LINK_KIND_RESPONSE
    files, info = snapshot(office, state)
    assert info["link_counter"] == before[1]["link_counter"] + 3
    files.pop("nvs.json")  # where the counter lives
    before[0].pop("nvs.json")
    assert files == before[0]
    info.pop("link_counter"), before[1].pop("link_counter")
    assert info == before[1]


def test_an_answer_not_made_by_the_reader_is_detected(esp32):
    world, office, port, state = esp32

    class InTheMiddle(LinkClient):
        """A device between host and reader that changes the reader's answers."""

        def _exchange(self, command, payload, timeout):
            frame = LinkClient._exchange(self, command, payload, timeout)
            if frame.kind == codec.LINK_KIND_RESPONSE and command == codec.LINK_CMD_DAY_CLOSE:
                p = bytearray(frame.payload)
                p[6] ^= 0x01  # one more debit than the reader counted
                frame.payload = bytes(p)
            return frame

    office.close()
    mitm = InTheMiddle(office.path, timeout=5)
    try:
        tkeys.authenticate(mitm, sw.DOMAIN, int(T))
        with pytest.raises(AnswerNotAuthentic) as e:
            mitm.day_close()
        assert e.value.exit_code == 5
    finally:
        mitm.close()


def test_a_blank_reader_takes_keys_only_under_the_transport_key(tmp_path):
    proc = subprocess.Popen([ICPURSE, "sim", "reader", "--pty", "--state", str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    path = proc.stdout.readline().split()[1]
    proc.stdout.readline()
    port = Port(path)
    client = LinkClient(path, timeout=5)
    try:
        info = client.info()
        assert (info["link_state"], info["key_version"]) == (codec.LINK_STATE_BLANK, 0)
        before = _files(tmp_path / "reader")
        keys = codec.encode_provision_keys(int(T), 1, 1, *([ATTACKER] * 5))
        assert port.error(codec.LINK_CMD_PROVISION_KEYS, keys) == UNAUTH
        claimed = linkauth.Signer(ATTACKER, 0, info["link_nonce"], 0).sign(codec.LINK_CMD_PROVISION_KEYS, keys)
        assert port.error(codec.LINK_CMD_PROVISION_KEYS, claimed) == UNAUTH  # first come is not first served
        assert _files(tmp_path / "reader") == before
        assert client.info()["link_state"] == codec.LINK_STATE_BLANK
    finally:
        port.close()
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
