"""The shop the scenarios run: issuance desk, store counter, back office — over any rig.

Each station does its job through the project's own services when they are there:
- issuance: host/issuance/service.py `Workstation` (journaled, resumable personalisation; sale,
  payment, activation) and host/issuance/topup.py (top-up with pending / confirm / reverse and
  re-confirmation);
- store: host/terminals/service.py (provision, sign-in, journal collection, day close) over the
  store reader's USB link (LinkClient);
- back office: host/reconcile/engine.py (redemptions booked once), host/audit/card.py and
  host/audit/terminal.py (card audit, journal re-verification).
A station whose service module is missing falls back to the lower-level APIs (personalise(),
firmware.purse with key B, LinkClient commands, the ledger), so the suite runs while parts are built;
`SERVICES` says which is in use (shown in the report header).

A scenario calls these and never asks which rig it is on; the rig only decides which reader and
which presenter are behind them. Keys: the INSECURE DEMO KEYS (keys/demo.py) — HIL cards are test
cards, worth nothing.
"""
from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.mifare import MifareError
from icpurse.host.issuance.personalise import personalise, probe
from icpurse.host.readers.serial import LinkTimeout, ReaderLinkError, SerialTag
from icpurse.keys import exports
from icpurse.keys.demo import DEMO_ISSUER, demo_domain
from icpurse.protocol import cardtime, numbering
from icpurse.protocol.mifare import geometry

PROGRAMME_FILE = "mofcom-compliant.toml"
PROGRAMME = "mofcom-compliant"
KIND = "anonymous"
PASSWORD = "hil rig operator password"


class Interrupted(Exception):
    """The card left (or the link broke) in the middle of an operation; present it again."""


CARD_ERRORS = (ReaderLinkError, LinkTimeout, MifareError, Interrupted)


def _service(name):
    if os.environ.get("ICPURSE_HIL_SERVICES") == "none" and name != "terminals.journal_records":
        return None  # exercise the fallbacks (a developer's switch)
    try:
        return importlib.import_module("icpurse.host." + name)
    except ImportError:
        return None


class _Services:
    """The service modules present now (None = fall back to the lower-level APIs)."""

    def __init__(self):
        self.issuance = _service("issuance.service")
        self.topup = _service("issuance.topup")
        self.terminals = _service("terminals.service")
        self.reconcile = _service("reconcile.engine")
        self.audit_card = _service("audit.card")
        self.audit_terminal = _service("audit.terminal")
        self.journal = _service("terminals.journal_records")

    def describe(self):
        names = ("issuance", "topup", "terminals", "reconcile", "audit_card", "audit_terminal")
        used = [n for n in names if getattr(self, n) is not None]
        missing = [n for n in names if getattr(self, n) is None]
        return "services: %s%s" % (", ".join(used) or "none",
                                   "; fallback for: " + ", ".join(missing) if missing else "")


SERVICES = _Services()


def card_now():
    """Card seconds of the wall clock."""
    return cardtime.from_unix(int(time.time()))


def card_number_for(uid):
    """A 12-digit card number derived from the UID (fallback issuance only)."""
    return "50311%07d" % (int.from_bytes(bytes(uid)[-3:], "big") % 10_000_000)


class DemoKeys:
    """Workstation and reader keys of the demo domain for one terminal."""

    def __init__(self, terminal):
        self.domain = demo_domain()
        self.version = self.domain.current
        self.issuer = DEMO_ISSUER
        self.workstation_sets = exports.workstation_keyset(self.domain).to_keysets()
        self.workstation = exports.workstation_keyset(self.domain).to_keyring()
        reader = exports.reader_keyset(self.domain, terminal, versions=[self.version])
        (self.reader,) = reader.to_keysets()  # KeySet: sector_a, purse_mac, journal
        self.journal_keys = {self.version: self.reader.journal}

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
    for name, role in (("seller", "seller"), ("finance", "finance"), ("auditor", "auditor")):
        ledger.people.add_operator(name, PASSWORD, role, by="admin")
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
        self.workstation = None
        if SERVICES.issuance is not None:
            self.workstation = SERVICES.issuance.Workstation(ledger, keys.workstation_sets, keys.issuer, "finance",
                                                             keys.version)

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
        keys = self.keys.card_keys(uid)
        geom = geometry.CLASSIC_4K if getattr(tag, "sak", 0x08) == 0x18 else geometry.CLASSIC_1K
        known = self.ledger.cards.uid_map().get(uid_hex)
        state = probe(tag, keys, geom)
        if known is None and state and all(v == "new" for v in state.values()):
            return self._reuse(i, tag, uid), {"outcome": "reused", "sectors_written": 0}
        if arm is not None:
            arm()
        if self.workstation is not None:
            svc = SERVICES.issuance
            order = svc.IssueOrder(PROGRAMME, KIND, self.face_value)
            result = self.workstation.personalise_card(tag, order)
            if result.outcome == "interrupted":
                raise Interrupted(result.message)
            if not result.ok:
                raise AssertionError("personalisation of card %d %s: %s" % (i, result.outcome, result.message))
            return Purse(i, uid, result.card_number), {"outcome": result.outcome,
                                                       "sectors_written": result.sectors_written}
        number = known or card_number_for(uid)
        if known is None:
            self.ledger.cards.register_card("finance", uid_hex, number, PROGRAMME, KIND, self.face_value, self.keys.version)
        summary = personalise(tag, keys, self.identity(number), card_now())
        outcome = "already-done" if summary["already_done"] else "resumed" if summary["resumed"] else "personalised"
        return Purse(i, uid, number), {"outcome": outcome, "sectors_written": summary["sectors_written"]}

    def _reuse(self, i, tag, uid):
        access, keys, version = purse.open_card(tag, self.keys.workstation, purse.KEY_B)
        view = purse.recover(access, purse.read_card(access, keys, version))
        number = numbering.card_number_from_bcd(bytes(view.card_number))
        self.ledger.cards.register_card("finance", uid.hex().upper(), number, PROGRAMME, KIND, self.face_value, version)
        p = Purse(i, uid, number, opening=view.balance, reused=True)
        if view.balance:
            self.ledger.books.book_discrepancy(number, -view.balance, "hil-opening:%s" % p.uid_hex,
                                         "HIL test card re-used: balance %d fen from an earlier run" % view.balance,
                                         operator="finance")
        return p

    def identity(self, number):
        bcd = numbering.card_number_to_bcd(number)
        return (codec.LAYOUT_VERSION, self.keys.version, self.keys.issuer, 1, bcd, codec.KIND_REGULAR,
                0, 2026, 1, 0, 0, cardtime.day_of_seconds(card_now()), 0, 0)

    def _open(self, p):
        tag = self.tag(p)
        access, keys, version = purse.open_card(tag, self.keys.workstation, purse.KEY_B)
        view = purse.recover(access, purse.read_card(access, keys, version))  # finishes a torn load too
        return access, keys, view

    def read(self, p):
        """(view, log) read with key B (a torn balance block is rolled forward first)."""
        access, keys, view = self._open(p)
        return view, purse.read_log(access, keys, view)

    def sell_and_activate(self, p):
        """Seller sells (cash), finance confirms the payment and activates (another role), which
        loads the face value on the card with key B (TXN_ISSUE). Returns the card's balance."""
        self.ledger.sales.record_sale("seller", p.number, payment_method="cash")
        self.ledger.sales.confirm_payment("finance", p.number)
        if SERVICES.issuance is not None:
            # activation loads the face value booked at payment confirmation onto the card
            return self.workstation.activate(p.number, self.tag(p))[1]
        self.ledger.sales.activate(p.number, "finance")
        access, keys, view = self._open(p)
        now = card_now()
        plan = purse.plan_credit(view, self.face_value, purse.Policy(), cardtime.day_of_seconds(now), codec.TXN_ISSUE)
        return purse.commit(access, view, plan, now)[codec.PURSE_SLOT_BALANCE]

    def top_up(self, p, amount, arm=None):
        """Top up `amount` fen. When the card leaves mid-way, it is presented again and the top-up
        settled from what the card shows. Returns (card balance, outcome): 'confirmed', 'reversed',
        or 'nothing' (the card left before the top-up was booked)."""
        if SERVICES.topup is None:
            return self._top_up_fallback(p, amount, arm)
        t = SERVICES.topup
        tag = self.tag(p)
        if arm is not None:
            arm()
        try:
            out = t.top_up(self.ledger, tag, self.keys.workstation, amount, "seller", issuer=self.keys.issuer)
        except t.CardProblem:  # the card left while being read: nothing written, nothing booked
            view, _ = self.read(p)
            return view.balance, "nothing"
        p.topups.append(out.txn_id)
        if out.state == "unconfirmed":
            (out,) = t.reconfirm(self.ledger, self.tag(p), self.keys.workstation, "seller", issuer=self.keys.issuer)
        view, _ = self.read(p)
        return view.balance, out.state

    def _top_up_fallback(self, p, amount, arm):
        txn = "HIL-%s-%d" % (p.number, len(p.topups) + 1)
        p.topups.append(txn)
        access, keys, view = self._open(p)
        before_seq, before_balance = view.seq, view.balance
        self.ledger.topup_records.book_topup_pending(p.number, amount, txn, operator="seller", card_seq=before_seq,
                                       card_balance=before_balance)
        plan = purse.plan_credit(view, amount, purse.Policy(), cardtime.day_of_seconds(card_now()), codec.TXN_LOAD)
        if arm is not None:
            arm()
        try:
            slot = purse.commit(access, view, plan, card_now())
        except CARD_ERRORS:
            self.ledger.topup_records.book_topup_unconfirmed(txn, operator="seller")
            _, _, view = self._open(p)  # the card again: recover() rolls a committed load forward
            if view.seq == before_seq + 1 and view.balance == before_balance + amount:
                self.ledger.topup_records.book_topup_confirm(txn, card_seq=view.seq, operator="seller")
                return view.balance, "confirmed"
            if view.seq == before_seq and view.balance == before_balance:
                self.ledger.topup_records.book_topup_reverse(txn, operator="seller", reason="card pulled before the commit point")
                return view.balance, "reversed"
            raise AssertionError("card %s after an interrupted top-up: seq %d balance %d (before: %d, %d)" % (
                p.number, view.seq, view.balance, before_seq, before_balance))
        self.ledger.topup_records.book_topup_confirm(txn, card_seq=slot[codec.PURSE_SLOT_SEQ], operator="seller")
        return slot[codec.PURSE_SLOT_BALANCE], "confirmed"


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
        self._collected_to = 0
        self._last_mac = None
        self._to_book = []  # fallback: collected records not yet booked

    def open_day(self):
        """Provision (keys, clock, settings) and sign in. A board that ran before keeps its journal:
        its day is closed and its old records are collected first; findings about them are kept apart."""
        info = self.client.info()
        if info["day_open"]:
            self.client.day_close()
        svc = SERVICES.terminals
        if svc is not None:
            svc.provision(self.ledger, self.client, self.keys.domain, "admin", self.number, grace_days=30)
            if self.transparent:
                self.client.configure(grace_days=30, issuer=self.keys.issuer, transparent=True)
            if info["journal_next"] > 1:
                self.leftover_problems = svc.collect(self.ledger, self.client, self.keys.journal_keys,
                                                     self.number).problems
            self.first_number = self.client.info()["journal_next"]
            return svc.sign_in(self.ledger, self.client, "admin", self.number)
        if info["journal_next"] > 1 and info["journal_acked"] < info["journal_next"] - 1:
            self.client.ack_journal(info["journal_next"] - 1)
        self.first_number = self._collected_to = info["journal_next"]
        self._collected_to -= 1
        k = self.keys.reader
        self.client.set_time(card_now())
        self.client.provision_keys(self.terminal, self.keys.version, k.sector_a, k.purse_mac, k.journal)
        self.client.configure(grace_days=30, issuer=self.keys.issuer, transparent=self.transparent)
        version = max(1, self.ledger.blacklist.blacklist_version())
        numbers = [numbering.card_number_to_bcd(e.card_number) for e in self.ledger.blacklist.blacklist_entries()]
        self.client.load_blacklist(version, numbers)
        return self.client.sign_in(card_now(), 1, version)

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

    def collect(self, purses):
        """Sync: fetch new records, verify MACs and chain, store them, acknowledge; then book each
        committed debit once as a redemption (reconciliation)."""
        if SERVICES.terminals is not None:
            report = SERVICES.terminals.collect(self.ledger, self.client, self.keys.journal_keys, self.number)
            stored, problems = report.stored, report.problems
        else:
            raws = self.journal(self._collected_to + 1)
            good, problems = verify_journal(raws, self.terminal, self.keys.journal_keys, self._collected_to,
                                            self._last_mac)
            stored = len(good)
            self._to_book += [record_dict(r) for r in good]
            if good and not problems:
                last = record_dict(good[-1])
                self.client.ack_journal(last["number"])
                self._collected_to, self._last_mac = last["number"], last["mac"]
        return Collected(stored, problems, self._book(purses))

    def _book(self, purses):
        if SERVICES.reconcile is not None:
            return SERVICES.reconcile.run(self.ledger, self.keys.domain, operator="auditor").booked["fen"]
        by_uid = {p.uid_hex: p for p in purses}
        amounts = debits_by_txn(self._to_book)
        booked = 0
        for r in self._to_book:
            if r["state"] == codec.JR_COMMITTED and r["kind"] == codec.TXN_DEBIT:
                amount = amounts[r["txn"]]["amount"]
                self.ledger.books.book_redemption(by_uid[r["uid"]].number, amount, "debit:%s:%d" % (self.number, r["txn"]),
                                            terminal=self.number)
                booked += amount
        self._to_book = []
        return booked

    def close_day(self):
        """Day close; with the terminals service also the collection around it and the comparison of
        the reader's totals with the collected journal. Returns the reader's totals."""
        if SERVICES.terminals is not None:
            batch, report = SERVICES.terminals.day_close(self.ledger, self.client, self.keys.journal_keys, "admin",
                                                         self.number)
            return {"debit_count": batch.reader_count, "debit_sum": batch.reader_sum,
                    "journal_count": batch.journal_count, "journal_sum": batch.journal_sum,
                    "balanced": batch.balanced and report.clean}
        return self.client.day_close()


# --- the back office ----------------------------------------------------------------------------

def record_dict(r):
    """A journal record (raw bytes or host/terminals/journal_records.py Record) as a dict."""
    if isinstance(r, dict):
        return r
    if hasattr(r, "number"):
        return {"number": r.number, "kind": r.kind, "state": r.state, "uid": r.uid, "amount": r.amount,
                "txn": r.txn, "card_seq": r.card_seq, "mac": r.mac, "balance_after": r.balance_after}
    f = codec.decode_journal_record(bytes(r))
    n = f[codec.JOURNAL_RECORD_UID_LEN]
    return {"number": f[codec.JOURNAL_RECORD_NUMBER], "kind": f[codec.JOURNAL_RECORD_KIND],
            "state": f[codec.JOURNAL_RECORD_STATE], "uid": bytes(f[codec.JOURNAL_RECORD_UID][:n]).hex().upper(),
            "amount": f[codec.JOURNAL_RECORD_AMOUNT], "txn": f[codec.JOURNAL_RECORD_TXN],
            "card_seq": f[codec.JOURNAL_RECORD_CARD_SEQ], "mac": bytes(f[codec.JOURNAL_RECORD_MAC]),
            "balance_after": f[codec.JOURNAL_RECORD_BALANCE_AFTER]}


def verify_journal(raws, terminal, keys, prev_number=0, prev_mac=None):
    """(records, problems): MACs, chain and numbering, by host/terminals/journal_records.py."""
    return SERVICES.journal.verify_sequence(raws, terminal, keys, prev_number, prev_mac)


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
    if SERVICES.audit_card is not None:
        a = SERVICES.audit_card
        audit = a.check_against_ledger(a.inspect_card(desk.tag(p), desk.keys.workstation, purse.KEY_B), ledger)
        return {"card": p.number, "card_balance": audit.balance, "ledger": ledger.books.outstanding_balance(p.number),
                "seq": audit.seq, "anomalies": [x.as_dict() for x in audit.anomalies if x.severity != "info"]}
    view, log = desk.read(p)
    outstanding = ledger.books.outstanding_balance(p.number)
    ledger.cards.record_card_seen(p.number, view.seq, view.balance, source="card")
    anomalies = [] if view.balance == outstanding else [{"code": "balance", "message": "card %d, ledger %d" % (
        view.balance, outstanding), "severity": "critical"}]
    return {"card": p.number, "card_balance": view.balance, "ledger": outstanding, "seq": view.seq,
            "anomalies": anomalies}


def audit_terminal(ledger, counter):
    """Re-verify the terminal's journal as collected in the ledger: [] or the problems."""
    if SERVICES.audit_terminal is not None:
        return SERVICES.audit_terminal.audit_terminal(ledger, counter.number, counter.keys.journal_keys).problems
    raws = counter.journal()
    first = record_dict(raws[0])["number"] if raws else 1
    return verify_journal(raws, counter.terminal, counter.keys.journal_keys, first - 1, None)[1]
