"""Fuzz target: the store reader firmware behind its USB link (firmware/reader.Reader.handle).

A provisioned reader (in-memory flash and NVS, an issued card in the field, one sale in its
journal) receives a short sequence of requests whose command, header fields and payloads the input
chooses: payloads of the right size with fuzzed fields (timeouts, amounts, block numbers, keys,
blacklist chunks), wrong sizes, unknown commands, other link versions and kinds.

State-changing requests are mostly signed with the terminal's link key (so the fuzzed bodies reach
the handlers), sometimes not (so the authentication itself is fuzzed); CONFIGURE and SIGN_IN get
either fuzzed bytes or a correctly signed day configuration with fuzzed settings.

Properties: every request gets one frame back, RESPONSE or ERROR, and never the
LINK_ERR_INTERNAL error (that is the reader's "an exception I did not expect" answer); afterwards
the reader boots again from what it left in flash and NVS.
"""
import _common

with _common.instrument(__name__):
    from icpurse.firmware import link, linkauth
    from icpurse.host import codec
    from icpurse.firmware.hal.sim import SimNvs
    from icpurse.hil.sim.deck import Deck
    from icpurse.hil.sim.rig import VirtualReader

import purse_fixtures as fx  # noqa: E402 (tests/firmware)
import reader_fixtures as rx  # noqa: E402

SIZES = {
    codec.LINK_CMD_INFO: 0, codec.LINK_CMD_SET_TIME: codec.SET_TIME_SIZE,
    codec.LINK_CMD_PROVISION_KEYS: codec.PROVISION_KEYS_SIZE, codec.LINK_CMD_LOAD_BLACKLIST: None,
    codec.LINK_CMD_SIGN_IN: codec.SIGN_IN_SIZE + codec.DAY_CONFIG_SIZE, codec.LINK_CMD_DEBIT: codec.DEBIT_REQUEST_SIZE,
    codec.LINK_CMD_READ_CARD: codec.READ_CARD_REQUEST_SIZE, codec.LINK_CMD_FETCH_JOURNAL: codec.FETCH_JOURNAL_SIZE,
    codec.LINK_CMD_ACK_JOURNAL: codec.ACK_JOURNAL_SIZE, codec.LINK_CMD_DAY_CLOSE: 0, codec.LINK_CMD_REBOOT: 0,
    codec.LINK_CMD_CONFIGURE: codec.DAY_CONFIG_SIZE, codec.LINK_CMD_CARD_WAIT: codec.CARD_WAIT_SIZE,
    codec.LINK_CMD_CARD_AUTH: codec.CARD_AUTH_SIZE, codec.LINK_CMD_CARD_READ: codec.CARD_BLOCK_SIZE,
    codec.LINK_CMD_CARD_WRITE: codec.CARD_WRITE_SIZE, codec.LINK_CMD_CARD_VALUE: codec.CARD_VALUE_SIZE,
    codec.LINK_CMD_CARD_TRANSFER: codec.CARD_BLOCK_SIZE,
}
COMMANDS = sorted(SIZES)
_TIMEOUT_FIELD = {codec.LINK_CMD_DEBIT: 8, codec.LINK_CMD_READ_CARD: 0, codec.LINK_CMD_CARD_WAIT: 0}


def _snapshot():
    fs = _common.crashfs()
    nvs = SimNvs()
    vr = rx.provision(VirtualReader("/r", fs=fs, open_fn=fs.open, nvs=nvs))
    card = fx.new_card(balance=5000)
    card.faults = None
    rx.present(vr, card)
    rx.debit(vr, 100)
    return fs, dict(nvs._store), [bytes(b) for b in card.blocks]


FS, NVS, CARD = _snapshot()


def _signed_config(inp, vr):
    """A day configuration signed for this reader, with fuzzed settings."""
    fields = dict(mode=inp.u8() % 3, fixed_price=inp.uint(2), grace=inp.uint(2), txn_cap=inp.uint(2),
                  daily_cap=inp.uint(2), transparent=inp.u8() % 3, cutoff=inp.uint(4), window=inp.uint(2),
                  blacklist=(1, [rx.BLACKLISTED]) if inp.u8() % 4 else (inp.uint(1), []))
    if inp.u8() % 8 == 0:
        fields["serial"] = inp.uint(1)  # maybe an old one: a replay
    return rx.day_config(vr, **fields)


def _payload(inp, cmd, vr):
    size = SIZES.get(cmd, 0)
    mode = inp.u8() % 4
    if mode == 0:
        return inp.chunk(80)  # any length
    if mode == 3 and cmd in (codec.LINK_CMD_CONFIGURE, codec.LINK_CMD_SIGN_IN):
        head = inp.take(codec.SIGN_IN_SIZE) if cmd == codec.LINK_CMD_SIGN_IN else b""
        return head + _signed_config(inp, vr)
    if cmd == codec.LINK_CMD_LOAD_BLACKLIST:
        count = inp.u8() % 4
        head = codec.encode_blacklist_header(inp.uint(1), inp.u8() % 6, inp.u8() % 6, count)
        return head + inp.take(count * codec.BLACKLIST_ENTRY_SIZE + (inp.u8() % 3 == 0))
    body = bytearray(inp.take(size))
    if cmd in _TIMEOUT_FIELD and size:
        # keep waits short: the card is in the field or never comes, and time is virtual anyway
        i = _TIMEOUT_FIELD[cmd]
        body[i:i + 2] = (inp.u8() % 4 * 100).to_bytes(2, "little")
    return bytes(body)


def test_one_input(data):
    inp = _common.Input(data)
    fs = FS.copy()
    deck = Deck()
    card = fx.new_card()
    for b, raw in zip(card.blocks, CARD):
        b[:] = raw
    card.faults = None
    vr = VirtualReader("/r", fs=fs, open_fn=fs.open, nvs=SimNvs(dict(NVS)), deck=deck)
    signer = vr.authenticate(rx.keys()[1])
    if inp.u8() % 4:
        rx.present(vr, card)
    for _ in range(1 + inp.u8() % 5):
        if inp.u8() % 8 == 0:
            cmd = inp.u8()
        else:
            cmd = COMMANDS[inp.below(len(COMMANDS))]
        version = codec.LINK_VERSION if inp.u8() % 16 else inp.u8()
        kind = codec.LINK_KIND_REQUEST if inp.u8() % 16 else inp.u8() % 4
        seq = inp.u8()
        payload = _payload(inp, cmd, vr)
        if linkauth.authenticated(cmd) and inp.u8() % 4 != 3:
            payload = signer.sign(cmd, payload)
        frame = link.Frame(version, kind, seq, cmd, payload)
        answer = vr.reader.handle(frame)
        parser = link.FrameReader()
        parser.feed(answer)
        rsp = parser.next()
        if rsp is None or parser.next() is not None or rsp.seq != frame.seq or rsp.command != cmd:
            raise AssertionError("request 0x%02x got no single matching frame back" % cmd)
        if rsp.kind == codec.LINK_KIND_ERROR:
            code, detail, message = link.decode_error(rsp.payload)
            if code == codec.LINK_ERR_INTERNAL:
                raise AssertionError("request 0x%02x payload %s: %s" % (cmd, frame.payload.hex(), message))
        elif rsp.kind != codec.LINK_KIND_RESPONSE:
            raise AssertionError("answer of kind %d" % rsp.kind)
    vr.boot()  # the state left behind is usable


def _seed(*requests):
    out = bytearray(b"\x01" + bytes((len(requests) - 1,)))
    for cmd, payload in requests:
        out += bytes((1, COMMANDS.index(cmd), 1, 1, 7, 1)) + bytes(payload)
        if linkauth.authenticated(cmd):
            out += b"\x01"  # signed
    return bytes(out)


SEEDS = [
    _seed((codec.LINK_CMD_INFO, b"")),
    _seed((codec.LINK_CMD_DEBIT, codec.encode_debit_request(100, 1, 300))),
    _seed((codec.LINK_CMD_FETCH_JOURNAL, codec.encode_fetch_journal(1, 0)), (codec.LINK_CMD_ACK_JOURNAL, b"\x02\x00\x00\x00")),
    _seed((codec.LINK_CMD_CONFIGURE, bytes(codec.DAY_CONFIG_SIZE)), (codec.LINK_CMD_CARD_WAIT, codec.encode_card_wait(100))),
]

_common.main(__name__, test_one_input)
