"""The shop the scenarios run: issuance desk, store counter, back office — over any rig.

Each station does its job through the project's own flows, as a workstation would:
- issuance: host/issuance/service.py `Workstation` (journaled, resumable personalisation; sale,
  payment, activation with the face value) and host/issuance/topup.py (top-up with pending /
  confirm / reverse and re-confirmation); cards are read with host/cards `IssuerCard` (key B);
- store: host/terminals/service.py (provision, sign-in, journal collection, day close) over the
  store reader's USB link (LinkClient);
- back office: host/reconcile/engine.py (redemptions booked once), host/audit/card.py and
  host/audit/terminal.py (card audit, journal re-verification).

A scenario calls these and never asks which rig it is on; the rig only decides which reader and
which presenter are behind them. Keys: the INSECURE DEMO KEYS (keys/demo.py) — HIL cards are test
cards, worth nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from icpurse.firmware import purse
from icpurse.firmware.mifare import MifareError, value_of
from icpurse.host import codec
from icpurse.host.audit import card as audit_cards
from icpurse.host.audit import terminal as audit_terminals
from icpurse.host.cards import CardProblem, IssuerCard
from icpurse.host.issuance import topup
from icpurse.host.issuance.personalise import probe
from icpurse.host.issuance.service import IssueOrder, Workstation
from icpurse.host.readers.serial import LinkTimeout, ReaderLinkError, SerialTag
from icpurse.host.reconcile import engine as reconcile
from icpurse.host.terminals import journal_records as terminal_journal
from icpurse.host.terminals import keys as terminal_keys
from icpurse.host.terminals import service as terminals
from icpurse.keys import exports
from icpurse.keys.demo import DEMO_ISSUER, demo_domain
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry

PROGRAMME_FILE = "mofcom-compliant.toml"
PROGRAMME = "mofcom-compliant"
KIND = "anonymous"
PASSWORD = "hil rig operator password"


class Interrupted(Exception):
    """The card left (or the link broke) in the middle of an operation; present it again."""


CARD_ERRORS = (ReaderLinkError, LinkTimeout, MifareError, CardProblem, Interrupted)


class DemoKeys:
    """Workstation keys of the demo domain, and the journal keys of one terminal's store reader."""

    def __init__(self, terminal):
        self.domain = demo_domain()
        self.version = self.domain.current
        self.issuer = DEMO_ISSUER
        self.workstation_sets = exports.workstation_keyset(self.domain).to_keysets()
        self.workstation = exports.workstation_keyset(self.domain).to_keyring()
        (reader,) = exports.reader_keyset(self.domain, terminal, versions=[self.version]).to_keysets()
        self.journal_keys = {self.version: reader.journal}

    def card_keys(self, uid):
        return self.workstation.for_card(bytes(uid), self.version)


@dataclass
class Purse:
    """One card of the rig as the scenarios know it."""

    index: int  # 1-based, as the operator sees it written on the card
    uid: bytes
    number: str
    opening: int = 0  # balance found on a re-used test card (booked to the ledger explicitly)
    reused: bool = False
    topups: list = field(default_factory=list)  # ledger txn ids

    @property
    def uid_hex(self):
        return self.uid.hex().upper()


class SharedLinkReader:
    """The store ESP32 as issuance reader too (transparent mode), on the LinkClient already open:
    a second pyserial handle on the same port would steal the answers."""

    def __init__(self, client):
        self.client = client

    def __str__(self):
        return "store reader (transparent mode) on %s" % self.client.path

    def wait_for_card(self, timeout=10.0):
        return SerialTag(self.client, int(timeout * 1000))

    def close(self):
        pass


def setup_ledger(ledger, terminal):
    """Operators of each role, the programme, a sales point and the terminal, as an issuer would."""
    from pathlib import Path

    from icpurse.host.programmes import load_programmes

    examples = Path(__file__).resolve().parents[1] / "host" / "programmes" / "examples"
    (programme,) = load_programmes(examples / PROGRAMME_FILE)
    ledger.people.add_operator("admin", PASSWORD, "issuer-admin")
    ledger.people.add_operator("admin2", PASSWORD, "issuer-admin", by="admin")  # the bootstrap's second admin
    for name, role in (("seller", "seller"), ("finance", "finance"), ("auditor", "auditor")):
        ledger.people.add_operator(name, PASSWORD, role, by="admin")
        ledger.people.approve_operator("admin2", name)  # four eyes
    ledger.programmes.register_programme("admin", programme)
    ledger.stock.add_sales_point("admin", "HIL", "HIL rig counter")
    ledger.store.add_terminal("admin", "%08d" % terminal, "HIL outlet", "HIL merchant")


# --- issuance ---------------------------------------------------------------------------------

class IssuanceDesk:
    """Personalise, sell and activate, top up — at the issuance reader."""

    def __init__(self, ledger, keys, reader, cards, card_timeout, face_value):
        self.ledger, self.keys, self.reader, self.cards = ledger, keys, reader, cards
        self.card_timeout = card_timeout
        self.face_value = face_value
        self._stocked = set()
        self.workstation = Workstation(ledger, keys.workstation_sets, keys.issuer, "finance", keys.version)

    def tag(self, p_or_index):
        i = p_or_index.index if isinstance(p_or_index, Purse) else p_or_index
        self.cards.present(i, at="issuance")
        return self.reader.wait_for_card(self.card_timeout)

    def _stock(self, uid_hex):
        if uid_hex not in self._stocked:
            self.ledger.stock.receive_stock("finance", "HIL-%s" % uid_hex, [uid_hex])
            self.ledger.stock.issue_to_point("finance", [uid_hex], "HIL")
            self._stocked.add(uid_hex)

    def personalise(self, i, arm=None):
        """Card i from blank (or half-personalised) to a v1 card registered in the ledger.

        A test card already personalised with the demo keys by an earlier run (a bench re-using its
        cards) is taken as it is: registered with the number it carries, its balance booked to the
        ledger explicitly as `opening`. `arm` is called just before the card is written (sweeps).
        Returns (Purse, summary dict); raises Interrupted when the card left."""
        tag = self.tag(i)
        uid = bytes(tag.uid)
        uid_hex = uid.hex().upper()
        self._stock(uid_hex)
        geom = geometry.CLASSIC_4K if getattr(tag, "sak", 0x08) == 0x18 else geometry.CLASSIC_1K
        known = self.ledger.cards.uid_map().get(uid_hex)
        state = probe(tag, self.keys.card_keys(uid), geom)
        if known is None and state and all(v == "new" for v in state.values()):
            return self._reuse(i, tag, uid), {"outcome": "reused", "sectors_written": 0}
        if arm is not None:
            arm()
        result = self.workstation.personalise_card(tag, IssueOrder(PROGRAMME, KIND, self.face_value))
        if result.outcome == "interrupted":
            raise Interrupted(result.message)
        if not result.ok:
            raise AssertionError("personalisation of card %d %s: %s" % (i, result.outcome, result.message))
        return Purse(i, uid, result.card_number), {"outcome": result.outcome, "sectors_written": result.sectors_written}

    def _reuse(self, i, tag, uid):
        card = IssuerCard(tag, self.keys.workstation, recover=True)
        self.ledger.cards.register_card("finance", uid.hex().upper(), card.number, PROGRAMME, KIND, self.face_value,
                                  card.version)
        p = Purse(i, uid, card.number, opening=card.balance, reused=True)
        if card.balance:
            self.ledger.books.book_discrepancy(card.number, -card.balance, "hil-opening:%s" % p.uid_hex,
                                         "HIL test card re-used: balance %d fen from an earlier run" % card.balance,
                                         operator="finance")
        return p

    def read(self, p):
        """(view, log) read with key B (a torn balance block is rolled forward first)."""
        card = IssuerCard(self.tag(p), self.keys.workstation, recover=True)
        return card.view, card.log()

    def sell_and_activate(self, p):
        """Seller sells (cash), finance confirms the payment and activates (another role), which
        loads the face value on the card with key B (TXN_ISSUE). Returns the card's balance."""
        self.ledger.sales.record_sale("seller", p.number, payment_method="cash")
        self.ledger.sales.confirm_payment("finance", p.number)
        return self.workstation.activate(p.number, self.tag(p))[1]

    def top_up(self, p, amount, arm=None):
        """Top up `amount` fen. When the card leaves mid-way, it is presented again and the top-up
        settled from what the card shows. Returns (card balance, outcome): 'confirmed', 'reversed',
        or 'nothing' (the card left before the top-up was booked)."""
        tag = self.tag(p)
        if arm is not None:
            arm()
        try:
            out = topup.top_up(self.ledger, tag, self.keys.workstation, amount, "seller", issuer=self.keys.issuer)
        except CardProblem:  # the card left while being read: nothing written, nothing booked
            view, _ = self.read(p)
            return view.balance, "nothing"
        p.topups.append(out.txn_id)
        if out.state == "unconfirmed":
            (out,) = topup.reconfirm(self.ledger, self.tag(p), self.keys.workstation, "seller",
                                     issuer=self.keys.issuer)
        view, _ = self.read(p)
        return view.balance, out.state


# --- the store --------------------------------------------------------------------------------

@dataclass
class Collected:
    stored: int  # records stored in the ledger by this collection
    problems: list  # journal problems (MAC, chain, numbering)
    booked: int  # fen booked as redemptions


class StoreCounter:
    """The store reader: open the day, take payments, collect the journal, close the day."""

    def __init__(self, client, ledger, keys, terminal, cards, card_timeout, transparent=False):
        self.client, self.ledger, self.keys, self.terminal = client, ledger, keys, terminal
        self.number = "%08d" % terminal
        self.cards = cards
        self.card_timeout = card_timeout
        self.transparent = transparent  # the same board is the issuance reader
        self.first_number = 1  # first journal record of this run
        self.leftover_problems = []  # findings about an earlier run's records on a re-used board

    def open_day(self):
        """Provision (keys, clock, settings) and sign in. A board that ran before keeps its journal:
        its day is closed and its old records are collected first; findings about them are kept apart."""
        # a blank board went through the lab ceremony (the virtual rig does it; docs/hil.md)
        info = terminal_keys.authenticate(self.client, self.keys.domain, self.terminal)
        if info["day_open"]:
            self.client.day_close()
        terminals.provision(self.ledger, self.client, self.keys.domain, "admin", self.number, grace_days=30,
                            transparent=self.transparent)
        if info["journal_next"] > 1:
            self.leftover_problems = terminals.collect(self.ledger, self.client, self.keys.journal_keys,
                                                       self.number).problems
        self.first_number = self.client.info()["journal_next"]
        return self.sign_in()

    def sign_in(self):
        """Open the day (again) under a signed day configuration."""
        return terminals.sign_in(self.ledger, self.client, "admin", self.number, self.keys.domain,
                                 transparent=self.transparent)

    def debit(self, p, amount, pos_ref=0):
        self.cards.present(p.index, at="store")
        return self.client.debit(amount, pos_ref, int(self.card_timeout * 1000))

    def try_debit(self, p, amount, arm=None):
        """A debit that may be interrupted: the result dict, or the link error."""
        if arm is not None:
            arm()
        try:
            return self.client.debit(amount, 0, int(self.card_timeout * 1000))
        except CARD_ERRORS as e:
            return e

    def journal(self, first=None):
        """Raw journal records kept on the reader from `first` (default: this run's first)."""
        out = []
        nxt = self.first_number if first is None else first
        while True:
            chunk = self.client.fetch_journal(nxt)
            if not chunk:
                return out
            out += chunk
            nxt = record_dict(chunk[-1])["number"] + 1

    def collect(self):
        """Sync: fetch new records, verify MACs and chain, store them, acknowledge; then book each
        committed debit once as a redemption (reconciliation)."""
        report = terminals.collect(self.ledger, self.client, self.keys.journal_keys, self.number)
        booked = reconcile.run(self.ledger, self.keys.domain, operator="auditor").booked["fen"]
        return Collected(report.stored, report.problems, booked)

    def close_day(self):
        """Day close with the collection around it and the comparison of the reader's totals with
        the collected journal. Returns the reader's totals."""
        batch, report = terminals.day_close(self.ledger, self.client, self.keys.journal_keys, "admin", self.number)
        return {"debit_count": batch.reader_count, "debit_sum": batch.reader_sum,
                "journal_count": batch.journal_count, "journal_sum": batch.journal_sum,
                "balanced": batch.balanced and report.clean}


# --- the back office ----------------------------------------------------------------------------

def record_dict(r):
    """A journal record, as fetched from the reader (raw bytes), as a dict."""
    f = codec.decode_journal_record(bytes(r))
    n = f[codec.JOURNAL_RECORD_UID_LEN]
    return {"number": f[codec.JOURNAL_RECORD_NUMBER], "kind": f[codec.JOURNAL_RECORD_KIND],
            "state": f[codec.JOURNAL_RECORD_STATE], "uid": bytes(f[codec.JOURNAL_RECORD_UID][:n]).hex().upper(),
            "amount": f[codec.JOURNAL_RECORD_AMOUNT], "txn": f[codec.JOURNAL_RECORD_TXN],
            "card_seq": f[codec.JOURNAL_RECORD_CARD_SEQ], "mac": bytes(f[codec.JOURNAL_RECORD_MAC]),
            "balance_after": f[codec.JOURNAL_RECORD_BALANCE_AFTER]}


def verify_journal(raws, terminal, keys, prev_number=0, prev_mac=None):
    """(records, problems): MACs, chain and numbering, by host/terminals/journal_records.py."""
    return terminal_journal.verify_sequence(raws, terminal, keys, prev_number, prev_mac)


def debits_by_txn(records):
    """{txn: {"amount", "uid", "states": [...]}} of the debits in journal records."""
    out = {}
    for r in map(record_dict, records):
        if r["kind"] != codec.TXN_DEBIT:
            continue
        t = out.setdefault(r["txn"], {"amount": 0, "uid": r["uid"], "states": []})
        if r["state"] == codec.JR_PENDING:
            t["amount"] = r["amount"]
        t["states"].append(r["state"])
    return out


def committed_sum(records, uid_hex):
    """Fen debited from one card according to the journal: PENDING amounts whose txn COMMITTED."""
    return sum(t["amount"] for t in debits_by_txn(records).values()
               if t["uid"] == uid_hex and codec.JR_COMMITTED in t["states"])


def audit_card(desk, ledger, p):
    """Card audit: read with key B, every MAC verified, compared with the ledger. Returns a dict:
    card balance, ledger balance, and the anomalies (host/audit/card.py) worse than `info`."""
    audit = audit_cards.check_against_ledger(audit_cards.inspect_card(desk.tag(p), desk.keys.workstation, purse.KEY_B),
                                             ledger)
    return {"card": p.number, "card_balance": audit.balance, "ledger": ledger.books.outstanding_balance(p.number),
            "seq": audit.seq, "anomalies": [x.as_dict() for x in audit.anomalies if x.severity != "info"]}


def audit_terminal(ledger, counter):
    """Re-verify the terminal's journal as collected in the ledger: [] or the problems."""
    return audit_terminals.audit_terminal(ledger, counter.number, counter.keys.journal_keys).problems


def negative_decrement(desk, p):
    """Issue 11: what the card `p` does with a DECREMENT whose operand has bit 31 set (a "negative"
    operand, which would raise the value): the datasheets do not say, so it is measured. The operand
    asks for the balance block to rise to one fen above the ceiling the issuer last sealed; the
    command goes through the issuance reader's transparent access as given (firmware: ClassicTag.
    value_raw). Returns {"outcome": "accepted" | "refused" | "not measured", "before", "after",
    "ceiling", "status", "raw"} -- `raw` the balance block before, for `restore_balance_block`."""
    view, _ = desk.read(p)
    tag = desk.tag(p)
    client = getattr(tag, "client", None)
    if client is None:  # PC/SC: its storage-card APDUs carry no operand with bit 31 set
        return {"outcome": "not measured", "why": "needs the icpurse reader's transparent access"}
    keys = desk.keys.card_keys(p.uid)
    key_a = keys.sector_key(layout.PURSE_SECTOR, codec.MF_AUTH_A)
    tag.authenticate(layout.BALANCE_BLOCK, key_a, codec.MF_AUTH_A)
    raw = bytes(tag.read_block(layout.BALANCE_BLOCK))
    before = value_of(raw)
    delta = view.ceiling - before + 1
    out = {"before": before, "ceiling": view.ceiling, "operand": -delta, "raw": raw, "status": 0}
    try:
        client.request(codec.LINK_CMD_CARD_VALUE,
                       codec.encode_card_value(codec.MF_DECREMENT, layout.BALANCE_BLOCK, -delta & 0xFFFFFFFF))
        client.request(codec.LINK_CMD_CARD_TRANSFER, codec.encode_card_block(layout.BALANCE_BLOCK))
        out["outcome"] = "accepted"
    except ReaderLinkError as e:
        if e.code != codec.LINK_ERR_CARD:
            raise
        out["outcome"], out["status"] = "refused", e.detail
    tag.authenticate(layout.BALANCE_BLOCK, key_a, codec.MF_AUTH_A)  # selects the card again after a NAK
    after = tag.read_block(layout.BALANCE_BLOCK)
    try:
        out["after"] = value_of(after)
    except ValueError:
        out["after"] = None  # not a value block any more
    return out


def restore_balance_block(desk, p, raw):
    """Key B writes the balance block back as it was (the issuer's own repair)."""
    tag = desk.tag(p)
    key_b = desk.keys.card_keys(p.uid).sector_key(layout.PURSE_SECTOR, codec.MF_AUTH_B)
    tag.authenticate(layout.BALANCE_BLOCK, key_b, codec.MF_AUTH_B)
    tag.write_block(layout.BALANCE_BLOCK, raw)
