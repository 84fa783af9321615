"""`icpurse demo` (= `make demo`): the whole system for one day, on the virtual rig, no hardware.

Everything runs through the real parts: the issuance workstation personalises blank simulated
cards and activates them (face value onto the card), the kiosk top-up flow loads some of them, two
virtual store readers — the real reader firmware on the simulated PN532 — are provisioned, signed
in and sell all day (one card is pulled mid-write, one card is rolled back to an old dump by its
holder), the journals are collected and verified, reconciliation finds the rollback, the blacklist
reaches the readers at their next sign-in, and the HTML report is written. The keys are the
INSECURE DEMO KEYS. State (ledger, keystore, reader flash, card dumps, report) stays in the folder
the demo names.
"""
import datetime as dt
import json
import random
from pathlib import Path

from icpurse.hil.ledgerclock import ManualClock
from icpurse.hil.rigclient import RigClient
from icpurse.host import codec
from icpurse.host.cards import IssuerCard
from icpurse.hil.sim import dumps, factory
from icpurse.hil.sim.faults import Faults
from icpurse.hil.sim.rig import VirtualReader
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance import topup
from icpurse.host.issuance.service import IssueOrder, Workstation
from icpurse.host.ledger import open_ledger
from icpurse.host.programmes import examples, load_programmes
from icpurse.host.readers.serial import ReaderLinkError
from icpurse.host.reconcile import engine
from icpurse.host.reports import render_html
from icpurse.host.reports.build import all_reports
from icpurse.host.reports.facts import load_facts
from icpurse.host.terminals import journal_records as jv
from icpurse.host.terminals import service as terminals
from icpurse.keys import demo as demo_keys
from icpurse.keys import exports, keystore
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan

PROGRAMME_FILE = Path(examples.__file__).resolve().parent / "mofcom-compliant.toml"
PROGRAMME = "mofcom-compliant"
PASSWORD = "demo password"  # the demo's operators: public like its keys
DATA_KEY = bytes(range(32))  # holder-data key of the demo ledger: public, demo only
TERMINALS = ("31000001", "31000002")
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in China, a Monday


class PullAtWrite(Faults):
    """The card leaves during its `k`-th write (WRITE or TRANSFER), which ends unwritten."""

    def __init__(self, k):
        Faults.__init__(self)
        self.k, self.seen = k, 0

    def on_write(self, old, new):
        self.seen += 1
        if self.seen == self.k:
            self.tear_next_write("old")
        return Faults.on_write(self, old, new)


class Demo:
    def __init__(self, out_dir, cards=6, sales=60, seed=2026, say=print):
        self.dir = Path(out_dir)
        self.n_cards, self.n_sales = cards, sales
        self.rng = random.Random(seed)
        self.say = say
        self.clock = ManualClock(START)
        self.events = []
        self.cards = {}  # card number -> simulated card
        self.readers = {}  # terminal -> (VirtualReader, RigClient)
        self.v1_card = None  # the card issued in layout v1, moved to v2 at its top-up
        self.migrated = []

    # --- set-up ---------------------------------------------------------------------------------
    def setup(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        for sub in ("cards", "readers"):
            (self.dir / sub).mkdir(exist_ok=True)
        self.key_ceremony()
        self.ledger = led = open_ledger("sqlite:///%s" % (self.dir / "ledger.db"), data_key=DATA_KEY,
                                        audit_key=self.workstation.audit_key(), clock=self.clock)
        led.people.add_operator("admin", PASSWORD, "issuer-admin")
        led.people.add_operator("admin2", PASSWORD, "issuer-admin", by="admin")  # the bootstrap's second admin
        for name, role in (("seller", "seller"), ("finance", "finance"), ("auditor", "auditor"),
                           ("clerk", "terminal-operator")):
            led.people.add_operator(name, PASSWORD, role, by="admin")
            led.people.approve_operator("admin2", name)  # four eyes
        (self.programme,) = load_programmes(PROGRAMME_FILE)
        led.programmes.register_programme("admin", self.programme)
        led.stock.add_sales_point("admin", "P1", "Issuance counter")
        self.ws = Workstation(led, self.workstation.to_keysets(), self.workstation.issuer, "finance")
        self.say("keys: %s (issuer %d): the keystore opened once to export the workstation, collector and reader "
                 "key sets the day runs on; ledger, keys and state in %s" % (
                     demo_keys.WARNING, self.workstation.issuer, self.dir))

    def key_ceremony(self):
        """The only time the masters are opened: the keystore is written and every role's key set
        exported (transport passphrase: public, like the demo keys); the day runs on the exports."""
        domain = demo_keys.demo_domain(1)
        keystore.save_keystore(str(self.dir / "demo-keystore.json"), domain, demo_keys.DEMO_PASSPHRASE)
        keys = self.dir / "keys"
        keys.mkdir(exist_ok=True)
        sets = [("workstation", exports.workstation_keyset(domain)), ("collector", exports.collector_keyset(domain))]
        sets += [("reader-%s" % t, exports.reader_keyset(domain, int(t))) for t in TERMINALS]
        for name, export in sets:
            exports.save_export(str(keys / ("%s.json" % name)), export, demo_keys.DEMO_PASSPHRASE)
        load = lambda name: exports.load_export(str(keys / ("%s.json" % name)), demo_keys.DEMO_PASSPHRASE)  # noqa
        self.workstation, self.collector = load("workstation"), load("collector")
        self.reader_keys = {t: load("reader-%s" % t) for t in TERMINALS}

    # --- issuance ---------------------------------------------------------------------------------
    def issue_cards(self):
        face_values = self.programme.terms["anonymous"].face_values
        uids = [bytes([0x04, 0xD0, 0x00, i + 1]) for i in range(self.n_cards)]
        self.ledger.stock.receive_stock("finance", "DEMO-1", [u.hex().upper() for u in uids])
        self.ledger.stock.issue_to_point("finance", [u.hex().upper() for u in uids], "P1")
        for i, uid in enumerate(uids):
            card = factory.blank_card(uid)
            face = face_values[i % len(face_values)]
            # the first card is one issued before layout v2 (a v1 card in a holder's pocket): its
            # top-up below moves it to v2
            self.ws.layout = codec.LAYOUT_VERSION if i == 0 else codec.LAYOUT_V2
            result = self.ws.personalise_card(CardTag(card), IssueOrder(PROGRAMME, "anonymous", face))
            if not result.ok:
                raise RuntimeError("personalisation failed: %s" % result.message)
            number = result.card_number
            self.ledger.sales.record_sale("seller", number, payment_method="cash")
            self.ledger.sales.confirm_payment("finance", number)
            self.ws.activate(number, CardTag(card))
            card.faults = Faults()
            self.cards[number] = card
            if i == 0:
                self.v1_card = number
        self.ws.layout = codec.LAYOUT_V2
        self.say("issued %d cards: personalised (card %s in layout v1, as issued before v2; the others in layout "
                 "v2), sold by the seller, paid, activated by finance (face values on the cards)" % (
                     len(self.cards), self.v1_card))

    def top_ups(self):
        ring = self.ws.keyring
        count = total = 0
        for number, card in list(self.cards.items())[::2]:
            balance = self._balance(card)
            amount = min(30000, self.programme.terms["anonymous"].balance_cap - balance)
            if amount <= 0:
                continue
            out = topup.top_up(self.ledger, CardTag(card), ring, amount, "seller", issuer=self.workstation.issuer)
            if out.state != "confirmed":
                raise RuntimeError("top-up of %s: %s" % (number, out.state))
            if out.migrated:
                j = self.ledger.migration_records.migration_journal(number)
                self.migrated.append(number)
                self.say("card %s moved from layout v1 to v2 at its top-up: balance %s carried to the fen (v1 counter "
                         "%d -> v2 counter %d, journal %s), then topped up by %s to %s" % (
                             number, fmt_yuan(j.balance), j.seq, j.v2_seq, j.state, fmt_yuan(amount),
                             fmt_yuan(out.card_balance)))
            count += 1
            total += amount
        self.say("kiosk top-ups: %d cards, %s yuan (ledger pending -> card write -> confirmed)" % (
            count, fmt_yuan(total, unit="", sep="", always_decimals=True)))

    def _layout(self, card):
        card.enter_field()
        return IssuerCard(CardTag(card), self.ws.keyring).view.layout

    def _balance(self, card):
        card.enter_field()  # held to the issuance desk's reader
        return IssuerCard(CardTag(card), self.ws.keyring).balance

    # --- store readers ----------------------------------------------------------------------------
    def open_readers(self):
        for i, number in enumerate(TERMINALS):
            vr = VirtualReader(str(self.dir / "readers" / number))
            # the lab ceremony: the transport key from the terminal's reader key set onto the blank board
            vr.install_transport_key(terminals.transport_key(self.ledger, self.reader_keys[number], number))
            client = RigClient(vr)
            terminals.provision(self.ledger, client, self.reader_keys[number], "admin", number,
                                outlet="Store %d" % (i + 1),
                                merchant="Example Retail Group")
            terminals.sign_in(self.ledger, client, "clerk", number, self.collector)
            self.readers[number] = (vr, client)
        self.say("provisioned and signed in %d virtual store readers (real firmware on the simulated PN532): %s"
                 % (len(TERMINALS), ", ".join(TERMINALS)))

    def tap(self, terminal, number, amount, card=None):
        vr, client = self.readers[terminal]
        card = card if card is not None else self.cards[number]
        self.clock.advance(minutes=4)
        client.set_time(cardtime.seconds(self.clock()))
        name = "card-%s" % number
        if name not in vr.deck.names():
            vr.deck.add(name, card)
        card.enter_field()
        vr.deck.present(name)
        try:
            return client.debit(amount, timeout_ms=300)
        finally:
            vr.deck.remove(name)

    # --- the day ----------------------------------------------------------------------------------
    def day_of_sales(self):
        numbers = sorted(self.cards)
        pulled, rolled = numbers[1], numbers[2]
        dump = [bytes(b) for b in self.cards[rolled].blocks]  # the holder keeps an old dump
        sold = refused = 0
        for i in range(self.n_sales):
            terminal = TERMINALS[i % 2]
            number = numbers[self.rng.randrange(len(numbers))]
            amount = self.rng.choice((150, 280, 450, 680, 990, 1250, 2300, 3800))
            card = self.cards[number]
            if i == self.n_sales // 3:
                # the card leaves while its new purse slot is being written (its 2nd block): the
                # commit point is not reached, the reader reports the sale as failed
                number, card = pulled, self.cards[pulled]
                card.faults = PullAtWrite(2)
                try:
                    self.tap(terminal, number, amount)
                    self.events.append("sale %d: card %s pulled after the commit point: the sale stands, the "
                                       "balance block is rolled forward at its next tap" % (i, number))
                except ReaderLinkError as e:
                    card.faults = Faults()
                    res = self.tap(terminal, number, 100)  # presented again: a new sale of 1 yuan
                    pending = self.readers[terminal][1].info()["pending"]
                    self.events.append("sale %d: card %s pulled during the write (the reader said: present it "
                                       "again); at its next tap the reader %s the interrupted sale (pending left: "
                                       "%d) and sold the new one" % (
                                           i, number, "completed" if res["recovered"] else "rolled back", pending))
                    sold += 1
                continue
            if i == 2 * self.n_sales // 3:
                # the holder writes the old dump back (cracked keys + a desktop writer) and shops again:
                # the reader that saw the card since refuses the older state (its per-card memory,
                # docs/reader.md); the other reader never saw it and takes it, offline
                for block, data in zip(self.cards[rolled].blocks, dump):
                    block[:] = data
                self.events.append("sale %d: card %s rolled back to an old dump by its holder, used at reader %s, "
                                   "which never saw the card (reader %s, which did, refuses the older state)" % (
                                       i, rolled, TERMINALS[1], TERMINALS[0]))
                number, card, terminal = rolled, self.cards[rolled], TERMINALS[1]
            elif number == rolled:
                # before the rollback the holder shops at the first reader only, after it at the second
                terminal = TERMINALS[0] if i < 2 * self.n_sales // 3 else TERMINALS[1]
            try:
                self.tap(terminal, number, amount, card)
                sold += 1
            except ReaderLinkError:
                refused += 1
        self.say("a day of sales: %d sold, %d refused (balance, caps)" % (sold, refused))
        for e in self.events:
            self.say("  - " + e)
        self.rolled = rolled

    def sync_and_close(self):
        totals = []
        self.ledger.acting_operator = "clerk"  # the clerk signed in at the back office records the collection
        for number, (vr, client) in self.readers.items():
            keys = jv.journal_keys(self.collector, int(number))
            terminals.collect(self.ledger, client, keys, number, domain=self.collector)
            totals.append(terminals.day_close(self.ledger, client, keys, "clerk", number, domain=self.collector))
        self.head = self.ledger.audit.audit_head()
        self.say("journals collected on the collector key set (MAC and chain verified, acknowledgements signed "
                 "with each reader's link key), day closed at both readers; batch totals match the journals; "
                 "audit log head %d:%s recorded" % self.head)
        return totals

    def reconcile(self):
        self.ledger.acting_operator = "auditor"
        report = engine.run(self.ledger, self.collector, self.clock().date(), operator="auditor")
        approved = []
        for f in report.findings:
            if f.kind == "forgery" and f.status == "open":
                # the readers honoured the rolled-back value offline: the loss is booked, never hidden —
                # proposed by the auditor, confirmed by finance (four eyes)
                engine.settle(self.ledger, "auditor", f.id, "value spent twice by a rolled-back card")
                engine.settle(self.ledger, "finance", f.id, "agreed: booked to discrepancy")
        for f in report.findings:
            if f.proposal == "blacklist" and self.ledger.store.exception(f.id).status == "open":
                approved.append(self.ledger.store.approve_blacklist("admin", f.id))
        kinds = sorted({f.kind for f in report.findings})
        self.say("reconciliation: %d finding(s) %s; blacklisted: %s" % (
            len(report.findings), kinds, sorted({a.card_number for a in approved}) or "none"))
        return report, approved

    def next_morning(self):
        self.clock.advance(hours=14)
        for number, (vr, client) in self.readers.items():
            terminals.sign_in(self.ledger, client, "clerk", number, self.collector)
        try:
            self.tap(TERMINALS[1], self.rolled, 100)  # where it was taken yesterday: now blacklisted
            refused = None
        except ReaderLinkError as e:
            refused = e.refusal
        ok = refused == codec.R_BLACKLISTED
        self.say("next morning both readers signed in (blacklist version %d): the rolled-back card is %s" % (
            self.ledger.blacklist.blacklist_version(), "refused as blacklisted" if ok else "NOT refused (%s)" % refused))
        return ok

    # --- the books ----------------------------------------------------------------------------------
    def summary(self, report, blacklisted_ok):
        led = self.ledger
        trial = led.books.trial_balance()
        card_balances = {n: self._balance(c) for n, c in self.cards.items()}
        honest = {n: b for n, b in card_balances.items() if n != self.rolled}
        ledger_honest = {n: led.books.outstanding_balance(n) for n in honest}
        mismatched = sorted(n for n in honest if honest[n] != ledger_honest[n])
        # a layout v2 counter is the amount debited within a generation, not a count of transactions:
        # a restored card that spends past its old counter continues the old history in time, which
        # the reconciliation's interleaving rule names a clone rather than a rollback (both blacklist)
        rollback_found = any(f.kind in ("rollback", "clone") and f.card_number == self.rolled for f in report.findings)
        out = {
            "state_dir": str(self.dir),
            "cards": len(self.cards),
            "received_fen": trial.get("cash", 0) + trial.get("bank", 0),
            "redeemed_fen": -trial.get("redeemed", 0),
            "outstanding_fen": led.books.outstanding_balance(),
            "discrepancy_fen": trial.get("discrepancy", 0),
            "honest_cards_match_ledger": not mismatched,
            "rollback_detected": rollback_found,
            "rolled_back_card": self.rolled,
            "rolled_back_card_refused": blacklisted_ok,
            "v1_card": self.v1_card,
            "v1_card_migrated": self.v1_card in self.migrated and self._layout(self.cards[self.v1_card]) == 2,
            "audit_log_verified": led.audit.verify_audit_log(expect_head=self.head[1]) is None,
            "audit_head": {"entries": led.audit.audit_head()[0], "head": led.audit.audit_head()[1]},
            "unbalanced_entries": led.books.unbalanced_entries(),
            "events": self.events,
        }
        # every fen: what holders paid plus what the issuer explicitly absorbed = what stores redeemed
        # plus what is still on the cards
        out["books_add_up"] = (out["received_fen"] + out["discrepancy_fen"]
                               == out["redeemed_fen"] + out["outstanding_fen"])
        out["nothing_lost"] = (not mismatched and not out["unbalanced_entries"] and out["audit_log_verified"]
                               and out["books_add_up"])
        return out

    def save(self, summary):
        for card in self.cards.values():
            dumps.save(card, str(self.dir / "cards" / ("%s.mfd" % bytes(card.uid).hex())))
        facts = load_facts(self.ledger)
        html = render_html.render(all_reports(facts, self.clock().date()), "icpurse demo report",
                                  "generated by `icpurse demo`")
        (self.dir / "report.html").write_text(html, encoding="utf-8")
        (self.dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))

    def run(self):
        self.setup()
        try:
            self.issue_cards()
            self.top_ups()
            self.open_readers()
            self.day_of_sales()
            self.sync_and_close()
            report, _ = self.reconcile()
            ok = self.next_morning()
            summary = self.summary(report, ok)
            self.save(summary)
            return summary
        finally:
            self.ledger.close()


def run_demo(out_dir, cards=6, sales=60, seed=2026, say=print):
    return Demo(out_dir, cards, sales, seed, say).run()
