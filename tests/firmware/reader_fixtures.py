"""A provisioned virtual store reader and cards for it (dual-run helpers)."""
import mpytest
import purse_fixtures as fx

from icpurse.firmware import kdf
from icpurse.host import codec
from icpurse.hil.sim import rig
from icpurse.hil.sim.rig import LinkRefused, VirtualReader  # noqa: F401 (re-exported)

JOURNAL_MASTER = bytes.fromhex("99" * 16)
TERMINAL = fx.TERMINAL
BLACKLISTED = b"\x50\x31\x00\x00\x09\x99"
DAY = 86400
WINDOW = 600  # seconds the test configurations let SET_TIME move the clock back


def keys(version=1, terminal=TERMINAL):
    """(journal, link, configuration) key of the test terminal, as the back office derives them."""
    return (kdf.journal_key(JOURNAL_MASTER, terminal, version), kdf.link_key(JOURNAL_MASTER, terminal, version),
            kdf.config_key(JOURNAL_MASTER, terminal, version))


def transport_key(terminal=TERMINAL):
    return kdf.transport_key(JOURNAL_MASTER, terminal, 1)


def info(vr):
    return codec.decode_reader_info(vr.request(codec.LINK_CMD_INFO))


def day_config(vr, time=fx.NOW, blacklist=(1, [BLACKLISTED]), grace=30, version=1, terminal=TERMINAL, **kw):
    """A day configuration signed with the test terminal's configuration key (the reader's next serial)."""
    return rig.signed_config(vr, terminal, JOURNAL_MASTER, time, version=version, blacklist=blacklist, grace=grace, **kw)


def configure(vr, **kw):
    vr.request(codec.LINK_CMD_CONFIGURE, day_config(vr, **kw))


def sign_in(vr, operator=7, **kw):
    return codec.decode_sign_in_result(vr.request(codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(operator)
                                                  + day_config(vr, **kw)))


def provision_keys(vr, version=1, make_current=1, terminal=TERMINAL):
    m = fx.V1 if version == 1 else fx.V2
    jkey, lkey, ckey = keys(version, terminal)
    vr.request(codec.LINK_CMD_PROVISION_KEYS, codec.encode_provision_keys(
        terminal, version, make_current, m["sector_a"], m["purse_mac"], jkey, lkey, ckey))


def provision(vr, txn_cap=0, daily_cap=0, grace=30):
    """The lab ceremony (transport key), first provisioning under it, blacklist, sign-in."""
    rig.provision(vr, TERMINAL, JOURNAL_MASTER, fx.V1["sector_a"], fx.V1["purse_mac"])
    rig.sign_in(vr, TERMINAL, JOURNAL_MASTER, fx.NOW, blacklist=(1, [BLACKLISTED]), txn_cap=txn_cap,
                daily_cap=daily_cap, grace=grace)
    return vr


def reader(fs=None, **kw):
    if fs is None:
        vr = VirtualReader(mpytest.tmpdir())
    else:
        vr = VirtualReader("/r", fs=fs, open_fn=fs.open)
    return provision(vr, **kw)


def present(vr, card, name="c"):
    if name not in vr.deck.names():
        vr.deck.add(name, card)
    card.enter_field()
    vr.deck.present(name)


def debit(vr, amount, timeout_ms=300):
    return codec.decode_debit_result(vr.request(codec.LINK_CMD_DEBIT, codec.encode_debit_request(amount, 1, timeout_ms)))


def journal(vr):
    """Every kept journal record (tuples), fetched over the link."""
    out = []
    first = 1
    while True:
        raw = vr.request(codec.LINK_CMD_FETCH_JOURNAL, codec.encode_fetch_journal(first, 0))
        (count,) = codec.decode_journal_chunk(raw)
        if not count:
            return out
        off = codec.JOURNAL_CHUNK_SIZE
        for _ in range(count):
            out.append(codec.decode_journal_record(raw, off))
            off += codec.JOURNAL_RECORD_SIZE
        first = out[-1][codec.JOURNAL_RECORD_NUMBER] + 1


def committed_debits(records):
    """Sum of debits whose PENDING record got a COMMITTED record, and the count per transaction."""
    amounts = {}
    for r in records:
        if r[codec.JOURNAL_RECORD_STATE] == codec.JR_PENDING:
            amounts[r[codec.JOURNAL_RECORD_NUMBER]] = r[codec.JOURNAL_RECORD_AMOUNT]
    total = 0
    per_txn = {}
    for r in records:
        if r[codec.JOURNAL_RECORD_STATE] == codec.JR_COMMITTED:
            txn = r[codec.JOURNAL_RECORD_TXN]
            per_txn[txn] = per_txn.get(txn, 0) + 1
            total += amounts[txn]
    return total, per_txn
