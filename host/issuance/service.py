"""The issuance workstation's card work on top of the ledger: stock, personalisation (journaled and
resumable), sale / payment / activation, issuer-side recovery and reading a card.

Personalisation of one card (`Workstation.personalise_card`):
1. the card must be a blank of the programme's type (1K/4K, 4-byte UID unless allowed): a wrong
   card is refused before anything is written or booked;
2. a card unknown to the journal must open with the transport key in every layout sector (else it
   belongs to another issuer or application: refused, nothing written);
3. the ledger journal records "started" with the card number (reserved by the card's registration),
   the exact identity fields and issue time BEFORE the first write;
4. `personalise.personalise` writes (data first, trailers last; resumable by probing);
5. the card is read back through the purse protocol with key B and with key A (what a store reader
   will see), and only then is the journal entry marked "done".
A card pulled at any point is recognised at its next presentation by its UID: same card number,
same image, the run finishes it. `recover_card` does the same for a card presented to `card recover`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.keyring import KeyRing
from icpurse.firmware.mifare import AccessDenied, AuthError, TagGone
from icpurse.host.cards import (
    COMMITTED, CardFlowError, CardGone, CardProblem, IntegrityProblem, IssuerCard, OperationRefused, WrongCardType,
    card_txn,
)
from icpurse.host.issuance import personalise as pers
from icpurse.host.issuance import migrate as mg
from icpurse.host.issuance import rekey as rk
from icpurse.host.ledger import InvalidStateError, LedgerError, NotFound
from icpurse.protocol import cardtime
from icpurse.protocol.mifare import geometry
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import (
    IssueCode, Utility12Scheme, card_number_from_bcd, card_number_to_bcd, format_issue_code,
)

SAK_SIZES = {codec.TG_SAK_CLASSIC_1K: "1k", codec.TG_SAK_CLASSIC_4K: "4k"}
SAK_NAMES = {0x00: "MIFARE Ultralight / NTAG", 0x09: "MIFARE Mini", 0x10: "MIFARE Plus 2K", 0x11: "MIFARE Plus 4K",
             0x20: "ISO 14443-4 (DESFire, Plus SL3, bank card)", 0x28: "dual-interface (JCOP)",
             0x88: "Infineon MIFARE Classic 1K", 0x98: "MIFARE Pro 4K"}
FREE_NUMBER_SERIAL_DIGITS = 8  # programmes without a scheme: PPPP (programme number) + 8-digit serial
_ALLOCATION_TRIES = 8


@dataclass(frozen=True)
class CardRequirements:
    """The physical card a programme issues on."""

    size: str = "1k"  # "1k" | "4k"
    allow_7byte_uid: bool = False


@dataclass(frozen=True)
class IssueOrder:
    """What to personalise: the programme, the kind and face value, the issue code, where the
    blanks come from. `platform`: utility12 numbers' N1N2N3 (default: the scheme's first)."""

    programme_id: str
    kind: str
    face_value: int
    issue_code: IssueCode | None = None  # default: this year, regular (P), series 1
    platform: int | None = None
    card: CardRequirements = CardRequirements()
    batch: str | None = None  # a stock batch received by count: unknown UIDs are identified into it
    card_number: str | None = None  # a pre-printed number to issue the card under (checked by the ledger)


@dataclass
class CardResult:
    """The outcome for one card presented."""

    uid: str
    outcome: str  # personalised | resumed | already-done | refused | interrupted | damaged
    card_number: str | None = None
    message: str = ""
    sectors_written: int = 0
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome in ("personalised", "resumed", "already-done")

    def as_dict(self):
        return dict(asdict(self), ok=self.ok)


@dataclass
class RecoverResult:
    uid: str
    card_number: str | None
    actions: list[str] = field(default_factory=list)
    balance: int | None = None
    seq: int | None = None
    hints: list[str] = field(default_factory=list)

    def as_dict(self):
        return asdict(self)


def check_card_type(tag, req: CardRequirements) -> str:
    """The card's size ('1k'/'4k') if it is the blank the programme issues on; WrongCardType otherwise."""
    uid = bytes(tag.uid)
    sak = getattr(tag, "sak", None)
    size = getattr(tag, "size", None) or SAK_SIZES.get(sak)
    if size is None:
        what = SAK_NAMES.get(sak, "an unknown card type (SAK %s)" % ("%02X" % sak if sak is not None else "?"))
        raise WrongCardType("card %s is %s, not MIFARE Classic: take it off and present a MIFARE Classic %s blank"
                            % (uid.hex().upper(), what, req.size.upper()))
    if size != req.size:
        raise WrongCardType("card %s is a MIFARE Classic %s; this programme issues on %s cards: present a %s blank"
                            % (uid.hex().upper(), size.upper(), req.size.upper(), req.size.upper()))
    if len(uid) == 7 and not req.allow_7byte_uid:
        raise WrongCardType("card %s has a 7-byte UID; this programme issues on 4-byte-UID cards only "
                            "(pass --allow-7byte-uid if it should accept them)" % uid.hex().upper())
    if len(uid) not in (4, 7):
        raise WrongCardType("card UID %s has %d bytes; MIFARE Classic UIDs are 4 or 7" % (uid.hex().upper(), len(uid)))
    return size


def release_tag(tag) -> None:
    """Let go of a card so the reader can report the next one (PC/SC needs every handle released)."""
    close = getattr(tag, "close", None)
    if close is not None:
        close()
        return
    conn = getattr(tag, "conn", None)  # host.readers.pcsc.PcscTag keeps its pyscard connection here
    if conn is not None:
        for step in ("disconnect", "release"):
            try:
                getattr(conn, step)()
            except Exception:  # already gone: nothing to release
                pass


def _geom(size):
    return geometry.CLASSIC_4K if size == "4k" else geometry.CLASSIC_1K


class Workstation:
    """One issuance workstation: the ledger, the workstation key set, and the signed-in operator.

    `keysets`: firmware KeySets (keys.exports.workstation_keyset(...).to_keysets()); `issuer`: the
    issuer number written on cards; `operator`: the operator name (authenticated by the caller)."""

    def __init__(self, ledger, keysets, issuer: int, operator: str, current_version: int | None = None,
                 layout: int = codec.LAYOUT_V2):
        self.ledger = ledger
        self.layout = layout  # of the cards it personalises (docs/card-layout.md: v2 since issue 11)
        self.keyring = KeyRing(keysets)
        if not self.keyring.versions():
            raise OperationRefused("no keys: open the issuer's keystore (--keystore)")
        self.current_version = current_version or self.keyring.versions()[0]
        if self.keyring.keyset(self.current_version).sector_b is None:
            raise OperationRefused("these are a store reader's keys (no key B): personalising needs the workstation key set")
        self.issuer = issuer
        self.operator = operator

    # --- programmes ------------------------------------------------------------------------

    def register_programme(self, programme, override_reason: str | None = None):
        """Register a programme for issuing (refused if it breaks its profile, unless an override
        reason is given: the override is audited)."""
        return self.ledger.programmes.register_programme(self.operator, programme, override_reason)

    def _programme(self, programme_id):
        try:
            return self.ledger.programmes.programme(programme_id)
        except NotFound:
            raise OperationRefused("programme %s is not registered in this ledger: register it first (--programmes FILE; "
                                "a programme that breaks its profile needs --override-reason)" % programme_id) from None

    # --- stock -----------------------------------------------------------------------------

    def receive_stock(self, batch: str, uids=(), count: int | None = None, note: str = ""):
        return self.ledger.stock.receive_stock(self.operator, batch, uids, note=note, count=count)

    def issue_stock(self, uids, point: str) -> int:
        return self.ledger.stock.issue_to_point(self.operator, uids, point)

    def count_stock(self, present_uids, point: str | None = None):
        return self.ledger.stock.count_stock(self.operator, present_uids, point)

    # --- card numbers and identity ----------------------------------------------------------

    def allocate_card_number(self, order: IssueOrder, prog) -> str:
        """The next free card number of the programme's scheme (the ledger re-checks it on registration),
        or the order's pre-printed number."""
        if order.card_number is not None:
            return order.card_number
        scheme = prog.numbering_scheme()
        if scheme is None:
            code = self.ledger.personalisation_records.programme_code(self.operator, prog.id)
            if code > 9999:
                raise OperationRefused("programme number %d does not fit the 4-digit prefix of free card numbers; "
                                    "give programme %s a numbering scheme" % (code, prog.id))
            prefix, serial_digits = "%04d" % code, FREE_NUMBER_SERIAL_DIGITS
            last = self.ledger.cards.last_card_number(prefix, len(prefix) + serial_digits)
            serial = int(last[len(prefix):]) + 1 if last else 1
            if serial >= 10 ** serial_digits:
                raise OperationRefused("programme %s has used every card number" % prog.id)
            return prefix + "%0*d" % (serial_digits, serial)
        if isinstance(scheme, Utility12Scheme):
            platform = order.platform if order.platform is not None else min(scheme.platforms)
            first = scheme.format(platform=platform, serial=0, face_value=order.face_value)
            prefix = first[:-scheme.SERIAL_DIGITS]
            last = self.ledger.cards.last_card_number(prefix, scheme.DIGITS)
            serial = scheme.parse(last)["serial"] + 1 if last else 1
            if serial >= 10 ** scheme.SERIAL_DIGITS:
                raise OperationRefused("no serial left for prefix %s: use another platform number" % prefix)
            return scheme.format(platform=platform, serial=serial, face_value=order.face_value)
        raise OperationRefused("no card-number allocator for the %s scheme" % scheme.name)

    def identity_fields(self, order: IssueOrder, prog, card_number: str, today: dt.date) -> tuple:
        """Identity record fields without MAC, in codec order (host.codec.IDENTITY_FIELDS)."""
        code = order.issue_code or IssueCode(today.year, "P", 1)
        terms = prog.terms[order.kind]
        expiry = cardtime.day(cardtime.add_months(today, terms.validity.months)) if terms.validity else 0
        return (self.layout, self.current_version, self.issuer,
                self.ledger.personalisation_records.programme_code(self.operator, prog.id), card_number_to_bcd(card_number),
                ord(code.kind), codec.IDF_NAMED if order.kind == "named" else 0, code.year, code.series,
                code.set_size, code.set_index, cardtime.day(today), expiry, 0)

    # --- personalisation -------------------------------------------------------------------

    def personalise_card(self, tag, order: IssueOrder, progress=None) -> CardResult:
        """Personalise (or finish personalising) the card `tag`. Never raises for a card problem:
        the result says what happened (refused / interrupted / damaged with a message)."""
        uid = bytes(tag.uid).hex().upper()
        try:
            return self._personalise(tag, uid, order, progress)
        except WrongCardType as e:
            return CardResult(uid, "refused", message=str(e))
        except _Damaged as e:
            return CardResult(uid, "damaged", e.card_number, str(e), attempts=e.attempts)
        except (CardFlowError, LedgerError) as e:
            p = self.ledger.personalisation_records.personalisation(uid)
            return CardResult(uid, "refused", p.card_number if p else None, str(e))
        except (TagGone, AuthError) as e:
            p = self.ledger.personalisation_records.personalisation(uid)
            return CardResult(uid, "interrupted", p.card_number if p else None,
                              "the card left the field or stopped answering (%s): present it again to finish it%s" % (
                                  e, " (card number %s is kept for it)" % p.card_number if p else ""),
                              attempts=p.attempts if p else 0)

    def _personalise(self, tag, uid, order, progress):
        prog = self._programme(order.programme_id)
        if order.kind not in prog.kinds:
            raise OperationRefused("programme %s does not issue %s cards (it issues %s)" % (
                prog.id, order.kind, ", ".join(prog.kinds)))
        if order.face_value not in prog.terms[order.kind].face_values:
            raise OperationRefused("programme %s has no %s face value of %s (it has %s)" % (
                prog.id, order.kind, fmt_yuan(order.face_value),
                ", ".join(fmt_yuan(v) for v in prog.terms[order.kind].face_values)))
        size = check_card_type(tag, order.card)
        p = self.ledger.personalisation_records.personalisation(uid)
        probed = None  # the probe of a first attempt, handed on so the card is not probed twice
        if p is None:
            p, probed = self._start(tag, uid, order, prog, size)
            resumed = False
        else:
            if p.programme_id != order.programme_id:
                raise OperationRefused("card %s is already card %s of programme %s in the journal; it cannot become a %s "
                                    "card (use `icpurse card recover` to finish it)" % (
                                        uid, p.card_number, p.programme_id, order.programme_id))
            if p.state == "done":
                self._verify(tag, p, fresh=False)
                return CardResult(uid, "already-done", p.card_number, "already personalised and verified",
                                  attempts=p.attempts)
            p = self.ledger.personalisation_records.start_personalisation(  # counts the attempt; returns the journalled identity
                self.operator, uid, card_number=p.card_number, programme_id=p.programme_id, kind=p.kind,
                face_value=p.face_value, key_version=p.key_version, identity=p.identity, card_time=p.card_time)
            resumed = True
        summary = self._write(tag, p, progress, probed)
        outcome = "resumed" if resumed or summary["resumed"] else "personalised"
        return CardResult(uid, outcome, p.card_number, "personalised and verified", summary["sectors_written"],
                          p.attempts)

    def _start(self, tag, uid, order, prog, size):
        keys = self.keyring.for_card(bytes(tag.uid), self.current_version)
        state = pers.probe(tag, keys, _geom(size), self.layout)
        unknown = sorted(s for s, v in state.items() if v == "unknown")
        if unknown:
            raise CardProblem(
                "card %s is not a blank of this issuer: sector(s) %s open with neither the transport key nor this "
                "issuer's keys (a card of another issuer or application). Nothing was written; set it aside."
                % (uid, ", ".join(map(str, unknown))))
        if any(v == "new" for v in state.values()):
            raise CardProblem(
                "card %s already carries this issuer's keys but is not in this ledger's personalisation journal "
                "(personalised with another ledger?): nothing was written; check it with `icpurse card show`" % uid)
        if self.ledger.stock.stock_state(uid) is None and order.batch is None:
            raise OperationRefused("card %s was never received into stock: receive it first (`icpurse stock receive "
                                "--uid %s`), or pass --batch for a batch received by count" % (uid, uid))
        today = self.ledger.business_date()
        card_time = cardtime.seconds(self.ledger.now())
        for _ in range(_ALLOCATION_TRIES):
            number = self.allocate_card_number(order, prog)
            identity = self.identity_fields(order, prog, number, today)
            try:
                return self.ledger.personalisation_records.start_personalisation(
                    self.operator, uid, card_number=number, programme_id=prog.id, kind=order.kind,
                    face_value=order.face_value, key_version=self.current_version, identity=identity,
                    card_time=card_time, batch=order.batch), state
            except InvalidStateError as e:
                if "already registered" not in str(e):
                    raise OperationRefused(str(e)) from None
                # another workstation took this number meanwhile: take the next
        raise OperationRefused("could not reserve a card number after %d tries (busy ledger?): try again"
                            % _ALLOCATION_TRIES)

    def _write(self, tag, p, progress, probed=None):
        keys = self.keyring.for_card(bytes(tag.uid), p.key_version)
        try:
            summary = pers.personalise(tag, keys, p.identity, p.card_time, progress, probed=probed)
            try:
                self._verify(tag, p)
            except IntegrityProblem:
                # a card reset or pulled in the middle of the read-back can look like a wrong card
                # (every key fails): a real defect fails again, a glitch does not
                self._verify(tag, p)
        except (pers.PersonaliseError, AccessDenied, IntegrityProblem) as e:
            reason = str(e)
            self.ledger.personalisation_records.mark_personalisation_damaged(self.operator, p.uid, reason)
            raise _Damaged(p, reason) from None
        self.ledger.personalisation_records.finish_personalisation(self.operator, p.uid)
        return summary

    def _verify(self, tag, p, fresh=True):
        """Read the card back as a store reader will (key A; personalise.verify already compared
        every data block with key B): identity as journalled and (`fresh`: just personalised)
        balance 0 with the issue transaction committed."""
        for key_type in (purse.KEY_A,):
            try:
                access, keys, version = purse.open_card(tag, self.keyring, key_type)
                view = purse.read_card(access, keys, version)
            except purse.Refused as e:
                raise IntegrityProblem("card %s does not read back with key %s: %s" % (
                    p.card_number, "B" if key_type == purse.KEY_B else "A", e.message)) from None
            except AuthError as e:
                raise IntegrityProblem("card %s: a sector does not open with its new key %s (%s)" % (
                    p.card_number, "B" if key_type == purse.KEY_B else "A", e)) from None
            try:
                identity = purse.read_identity(access, keys, view)
            except purse.Refused as e:
                raise IntegrityProblem("card %s: identity does not read back: %s" % (p.card_number, e.message)) from None
            if tuple(identity[:codec.IDENTITY_MAC]) != tuple(p.identity):
                raise IntegrityProblem("card %s: the identity on the card differs from the journal" % p.card_number)
            if not fresh:
                continue
            if not purse.is_fresh(view):
                raise IntegrityProblem("card %s reads back balance %s, seq %s instead of a fresh purse"
                                     % (p.card_number, view.balance, view.seq))

    def personalise_batch(self, reader, order: IssueOrder, count: int | None = None, until_empty: bool = False,
                          card_timeout: float = 10.0, on_card=None, progress=None) -> list[CardResult]:
        """Personalise cards one after the other: `count` cards, or until no new card comes within
        `card_timeout` (`until_empty`). After each card the reader's `eject()` (a card hopper) is called
        when it has one; otherwise the next card is the next different UID presented."""
        results = []
        previous = None
        while count is None or len(results) < count:
            tag = wait_for_new_card(reader, previous, card_timeout)
            if tag is None:
                if until_empty or count is None:
                    break
                raise CardGone("no new card within %.0f s after %d card(s): put the next blank on the reader "
                                    "and run the command again" % (card_timeout, len(results)))
            result = self.personalise_card(tag, order, (lambda d, t: progress(len(results), d, t)) if progress else None)
            results.append(result)
            previous = result.uid
            release_tag(tag)
            if on_card:
                on_card(result)
            eject = getattr(reader, "eject", None)
            if eject is not None:
                eject()
                previous = None
        return results

    # --- sale, payment, activation ------------------------------------------------------------

    def record_sale(self, card_number: str, **kw):
        return self.ledger.sales.record_sale(self.operator, card_number, **kw)

    def confirm_payment(self, card_number: str, reference: str = ""):
        return self.ledger.sales.confirm_payment(self.operator, card_number, reference)

    def activate(self, card_number: str, tag=None):
        """开通: the ledger activates the card (payment confirmed, operator of another role than the
        seller), then the face value booked at payment confirmation is put on the presented card.
        Without a card the ledger part is done and `card recover` (or activating again with the
        card) loads it later. Returns (CardView, card balance or None)."""
        view = self.ledger.sales.activate(card_number, self.operator)
        balance = self.load_face_value(tag, card_number) if tag is not None else None
        return view, balance

    def load_face_value(self, tag, card_number: str):
        """Put the card's face value on it as a key-B credit of kind ISSUE carrying its sale's booking
        (`card_txn` of the ledger entry of the confirmed payment; nothing is booked here). Idempotent:
        a card that already holds that ISSUE credit (purse.find_txn, in a slot or the log) is left as
        it is. Returns the card's balance."""
        card = self.ledger.cards.card(card_number)
        if card.state not in ("activated", "in_use"):
            raise OperationRefused("card %s is %s: activate it first" % (card_number, card.state))
        c = IssuerCard(tag, self.keyring, recover=True)
        if c.uid_hex != card.uid.upper():
            raise CardProblem("the card on the reader (UID %s) is not card %s (UID %s)" % (
                c.uid_hex, card_number, card.uid))
        self._load_face_value(c, card)
        return c.balance

    def _face_value_txn(self, card):
        """The card `txn` of the face value's ISSUE credit, None when no face value was paid for the card
        (a replacement card gets the old card's balance as a LOAD instead)."""
        if not card.face_value:
            return None
        entry = self.ledger.sales.face_value_entry(card.card_number)
        return card_txn(entry) if entry is not None else None

    def _credited_since(self, card):
        """True if the counter wrote the card since its activation (a top-up that reached it, a move to
        layout v2): the face value is loaded at activation, before any of these. The card itself cannot
        always tell any more: `find` without a counter sees only a v1 card's last ten transactions and a
        v2 card's last issuer write, so a face value found "absent" there would be loaded twice."""
        if any(t.state in ("confirmed", "voided") for t in self.ledger.topup_records.card_topups(card.card_number)):
            return True
        return self.ledger.migration_records.migration_journal(card.card_number) is not None

    def _load_face_value(self, c, card):
        """Load the face value onto the opened card `c` unless it holds it. True if it was loaded."""
        txn = self._face_value_txn(card)
        if txn is None or self._credited_since(card) or c.find(codec.TXN_ISSUE, txn, card.face_value) == COMMITTED:
            return False
        slot = c.credit(card.face_value, codec.TXN_ISSUE, txn, self.ledger.now())
        self.ledger.cards.record_card_seen(card.card_number, slot[codec.PURSE_SLOT_SEQ], slot[codec.PURSE_SLOT_BALANCE])
        self.ledger.personalisation_records.record_card_recovery(self.operator, card.card_number, c.uid_hex,
                                         ["face value %d fen loaded" % card.face_value],
                                         slot[codec.PURSE_SLOT_SEQ], slot[codec.PURSE_SLOT_BALANCE])
        return True

    # --- recover and show ---------------------------------------------------------------------

    def recover_card(self, tag) -> RecoverResult:
        """Finish whatever the issuer can finish on the presented card: a half-done personalisation
        (journal says started), a re-key or a move to layout v2 left half-done, an interrupted top-up or torn balance block (purse.recover, key B).
        Everything done is audited; the result lists it."""
        uid = bytes(tag.uid).hex().upper()
        p = self.ledger.personalisation_records.personalisation(uid)
        if p is not None and p.state != "done":
            result = self.personalise_card(tag, IssueOrder(p.programme_id, p.kind, p.face_value,
                                                           card=CardRequirements(size=_size_of(tag),
                                                                                 allow_7byte_uid=True)))
            if not result.ok:
                if result.outcome == "interrupted":
                    raise CardGone(result.message)
                raise (CardProblem if result.outcome == "damaged" else OperationRefused)(result.message)
            out = RecoverResult(uid, p.card_number, ["finished personalisation (%d sector(s) written)"
                                                     % result.sectors_written])
        else:
            out = RecoverResult(uid, p.card_number if p else None)
        version = rk.resume_rekey(self.ledger, tag, self.keyring, self.operator)  # a re-key left half-done first
        if version is not None:
            out.actions.append("finished the re-key to key version %d" % version)
        moved = mg.resume_migration(self.ledger, tag, self.keyring, self.operator)  # then a move to layout v2
        if moved == "resumed":
            out.actions.append("finished the move from layout v1 to v2")
        elif moved == "not started":
            out.hints.append("a move to layout v2 was journaled but never reached the card (still v1, consistent): "
                             "its next top-up moves it")
        c = IssuerCard(tag, self.keyring, recover=True)
        number = c.number
        out.card_number = number
        out.balance, out.seq = c.balance, c.seq
        if c.repaired and c.view.layout != codec.LAYOUT_VERSION:
            # layout v2: an issuer write stopped before its commit point undone, or the backup (or a
            # torn balance block) brought to the balance (firmware/purse2.py `recover`)
            out.actions.append("repaired the purse sector (counter %d, balance %s; balance block was %s)" % (
                c.seq, fmt_yuan(c.balance), "torn" if c.value_read is None else fmt_yuan(c.value_read)))
        elif c.repaired:
            out.actions.append("rolled the balance block forward to the committed slot (seq %d, %s; was %s)" % (
                c.seq, fmt_yuan(c.balance), "torn" if c.value_read is None else fmt_yuan(c.value_read)))
        card = self.ledger.cards.card_by_uid(uid)
        if card is None:
            out.hints.append("card %s is not in this ledger" % number)
            return out
        if card.card_number != number:
            raise IntegrityProblem("card UID %s carries number %s but the ledger registered it as %s" % (
                uid, number, card.card_number))
        if c.repaired:
            self.ledger.personalisation_records.record_card_recovery(self.operator, number, uid, out.actions[-1:], c.seq, c.balance)
        self.ledger.cards.record_card_seen(number, c.seq, c.balance, "card")
        if card.state in ("activated", "in_use") and self._load_face_value(c, card):
            # activated without its card (or the card left during activation): finished now
            out.balance = c.balance
            out.actions.append("loaded the face value %s booked at payment" % fmt_yuan(card.face_value))
        pending = [t.txn_id for t in self.ledger.topup_records.unconfirmed_topups() if t.card_number == number]
        if pending:
            out.hints.append("top-up(s) %s of this card are not settled: run `icpurse topup reconfirm` with the card "
                             "on the reader" % ", ".join(pending))
        if not out.actions:
            out.actions.append("nothing to recover: the card is consistent")
        return out

    def show_card(self, tag) -> dict:
        return show_card(tag, self.keyring, self.ledger)


class _Damaged(CardProblem):
    def __init__(self, p, reason):
        self.card_number, self.attempts = p.card_number, p.attempts
        super().__init__("card %s (UID %s) cannot be finished: %s. The journal marks it damaged and keeps number %s "
                         "reserved; a sector whose trailer write was torn can stay blocked for good: set the card "
                         "aside" % (p.card_number, p.uid, reason, p.card_number))


def _size_of(tag):
    return getattr(tag, "size", None) or SAK_SIZES.get(getattr(tag, "sak", None), "1k")


def wait_for_new_card(reader, previous_uid, timeout):
    """The next card whose UID differs from `previous_uid`, or None if none comes within `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        asked = max(0.05, min(left, 1.0))
        started = time.monotonic()
        try:
            tag = reader.wait_for_card(asked)
        except TagGone:
            tag = None
            if time.monotonic() + 0.05 < deadline and time.monotonic() - started < asked / 2:
                time.sleep(0.05)  # a reader that answers "no card" at once (simulated clock): don't spin
        except AccessDenied as e:  # a reader that cannot even select the card (e.g. PC/SC: not MIFARE Classic)
            raise WrongCardType("%s: take it off and present a MIFARE Classic blank" % e) from None
        if tag is not None and bytes(tag.uid).hex().upper() != previous_uid:
            return tag
        if tag is not None:
            release_tag(tag)
        if time.monotonic() >= deadline:
            return None


def show_card(tag, keyring, ledger=None) -> dict:
    """What the card holds (read with key A: any role's keys do) and what the ledger says about it."""
    uid = bytes(tag.uid).hex().upper()
    out = {"uid": uid, "sak": getattr(tag, "sak", None)}
    try:
        access, keys, version = purse.open_card(tag, keyring, purse.KEY_A)
        view = purse.read_card(access, keys, version)
        purse.read_identity(access, keys, view)
    except purse.Refused as e:
        out.update(status="unreadable", refusal=e.code, message=e.message)
        if ledger is not None:
            p = ledger.personalisation_records.personalisation(uid)
            if p is not None:
                out["personalisation"] = p.state
                out["card_number"] = p.card_number
                out["message"] += "; the journal has card %s %s: run `icpurse card recover`" % (
                    p.card_number, p.state)
        return out
    ident = view.identity
    number = card_number_from_bcd(view.card_number)
    code = None
    try:
        code = format_issue_code(IssueCode(ident[codec.IDENTITY_ISSUE_YEAR], chr(ident[codec.IDENTITY_CARD_KIND]),
                                           ident[codec.IDENTITY_ISSUE_SERIES], ident[codec.IDENTITY_ISSUE_SET_SIZE],
                                           ident[codec.IDENTITY_ISSUE_SET_INDEX]))
    except ValueError:
        pass
    expiry = ident[codec.IDENTITY_EXPIRY]
    out.update(
        status="ok", card_number=number, key_version=version, issuer=ident[codec.IDENTITY_ISSUER],
        programme_code=ident[codec.IDENTITY_PROGRAMME], named=bool(ident[codec.IDENTITY_FLAGS] & codec.IDF_NAMED),
        issue_code=code, issue_date=cardtime.to_date(ident[codec.IDENTITY_ISSUE_DATE]).isoformat(),
        expiry=cardtime.to_date(expiry).isoformat() if expiry else None,
        balance=view.balance, seq=view.seq, balance_block=view.value, layout_version=view.layout,
        needs_recovery=view.value != view.balance or bool(getattr(view, "repaired", False)),
        log=[dict(zip(codec.LOG_ENTRY_FIELDS[:-1], entry[:-1]),
                  kind_name=codec.TXN_NAMES.get(entry[codec.LOG_ENTRY_KIND], "?"))
             for entry in purse.read_log(access, keys, view)],
    )
    if ledger is not None:
        card = ledger.cards.card_by_uid(uid)
        p = ledger.personalisation_records.personalisation(uid)
        if card is None:
            out["ledger"] = None
        else:
            out["ledger"] = {
                "card_number": card.card_number, "programme": card.programme_id, "kind": card.kind,
                "face_value": card.face_value, "state": card.state, "holder": card.holder_name,
                "personalisation": p.state if p else None,
                "outstanding_balance": ledger.books.outstanding_balance(card.card_number),
            }
            if card.card_number != number:
                out["ledger"]["mismatch"] = "the ledger registered this UID as %s" % card.card_number
    return out


__all__ = [
    "Workstation", "IssueOrder", "CardRequirements", "CardResult", "RecoverResult", "check_card_type", "show_card",
    "wait_for_new_card", "release_tag",
]
