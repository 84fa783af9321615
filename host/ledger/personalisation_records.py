"""The personalisation journal: a card number is reserved and the exact identity to write is
recorded BEFORE the first write to a card (`start_personalisation`), and the card is marked done
only after it was read back and verified (`finish_personalisation`).

So a card pulled at any point is recognised at its next presentation (same UID -> same card
number, same identity, same issue time: the resumed run writes the same image), and
`icpurse card recover` can list what was left half-done (`personalisations("started")`).
"""
from __future__ import annotations

import json

from sqlalchemy import func, select

from icpurse.host.ledger import cards, stock
from icpurse.host.ledger.cards import card_row
from icpurse.host.ledger.errors import InvalidStateError, NotFound
from icpurse.host.ledger.models import Operator, Personalisation, ProgrammeCode, StockCard
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.programmes import load_programme
from icpurse.host.ledger.stock import normal_uid
from icpurse.host.ledger.views import PersonalisationView, personalisation_view

PERSONALISER_ROLES = ("issuer-admin", "finance")
MAX_PROGRAMME_CODE = 0xFFFF  # identity record: programme u16


def encode_identity(fields) -> str:
    """Identity fields -> canonical JSON (bytes as {"hex": ...})."""
    return json.dumps([{"hex": bytes(f).hex()} if isinstance(f, (bytes, bytearray)) else f for f in fields],
                      separators=(",", ":"))


def decode_identity(text: str) -> tuple:
    return tuple(bytes.fromhex(f["hex"]) if isinstance(f, dict) else f for f in json.loads(text))


def _view(p: Personalisation) -> PersonalisationView:
    return personalisation_view(p, decode_identity(p.identity))


class PersonalisationRecords:
    """The personalisation journal and the programmes' numbers on cards (`Ledger.personalisation_records`)."""

    def __init__(self, uow):
        self.uow = uow

    def programme_code(self, operator: Operator | str, programme_id: str) -> int:
        """The programme's number on cards (1, 2, ... in order of first use; assigned once, audited)."""
        with self.uow.read() as s:
            row = s.execute(select(ProgrammeCode).where(ProgrammeCode.programme_id == programme_id)).scalar_one_or_none()
            if row is not None:
                return row.code

        def do(s):
            op = operator_row(s, operator, PERSONALISER_ROLES, "number a programme")
            return self._programme_code(s, op, programme_id)

        return self.uow.run("programme.card_code", operator, do, details={"programme": programme_id})

    def _programme_code(self, s, op, programme_id: str) -> int:
        row = s.execute(select(ProgrammeCode).where(ProgrammeCode.programme_id == programme_id)).scalar_one_or_none()
        if row is not None:
            return row.code
        load_programme(s, programme_id)  # NotFound unless registered (checked or overridden)
        code = (s.execute(select(func.max(ProgrammeCode.code))).scalar() or 0) + 1
        if code > MAX_PROGRAMME_CODE:
            raise InvalidStateError("no programme number left for %s (the card field is 16 bits)" % programme_id)
        s.add(ProgrammeCode(code=code, programme_id=programme_id))
        s.flush()
        self.uow.audit(s, op, "programme.card_code", programme=programme_id, code=code)
        return code

    def start_personalisation(self, operator: Operator | str, uid: str | bytes, *, card_number: str,
                              programme_id: str, kind: str, face_value: int, key_version: int, identity,
                              card_time: int, batch: str | None = None) -> PersonalisationView:
        """Journal "personalisation started" for a stock card, in one transaction with the card's
        registration (the number is reserved). Call BEFORE writing to the card. A UID already in the
        journal is not registered again: its entry is returned (with the attempt counted) so the
        caller resumes with the same number and identity. `batch`: a batch received by count that
        this not yet identified card belongs to."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, PERSONALISER_ROLES, "personalise a card")
            p = s.execute(select(Personalisation).where(Personalisation.uid == uid)).scalar_one_or_none()
            if p is not None:
                return self._resume(s, op, p)
            sc = s.execute(select(StockCard).where(StockCard.uid == uid)).scalar_one_or_none()
            if sc is None:
                if batch is None:
                    raise NotFound("card UID %s was never received into stock: receive it first "
                                   "(icpurse stock receive), or name the batch it came in by count" % uid)
                stock.bind_uid(self.uow, s, op, batch, uid)
            card = cards.register(self.uow, s, op, uid, card_number, programme_id, kind, face_value, key_version)
            p = Personalisation(uid=uid, card_id=card.id, state="started", key_version=key_version,
                                identity=encode_identity(identity), card_time=card_time, attempts=1,
                                started_at=self.uow.now(), started_by=op.id, note="")
            s.add(p)
            s.flush()
            self.uow.audit(s, op, "card.personalise.start", card=card.card_number, uid=uid, key_version=key_version)
            return _view(p)

        return self.uow.run("card.personalise.start", operator, do, card=card_number, details={"uid": uid})

    def _resume(self, s, op, p: Personalisation) -> PersonalisationView:
        if p.state == "done":
            return _view(p)
        p.attempts += 1
        before, p.state = p.state, "started"
        self.uow.audit(s, op, "card.personalise.resume", card=p.card.card_number, uid=p.uid, before=before,
                       attempt=p.attempts)
        return _view(p)

    def finish_personalisation(self, operator: Operator | str, uid: str | bytes) -> PersonalisationView:
        """The card was read back and verified: the journal entry is done. Idempotent."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, PERSONALISER_ROLES, "personalise a card")
            p = self._personalisation(s, uid)
            if p.state == "done":
                return _view(p)
            p.state, p.finished_at, p.finished_by = "done", self.uow.now(), op.id
            self.uow.audit(s, op, "card.personalise.done", card=p.card.card_number, uid=uid, attempts=p.attempts)
            return _view(p)

        return self.uow.run("card.personalise.done", operator, do, details={"uid": uid})

    def mark_personalisation_damaged(self, operator: Operator | str, uid: str | bytes, reason: str) -> PersonalisationView:
        """The card cannot be finished (a sector no key opens): keep the number reserved, say why."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, PERSONALISER_ROLES, "personalise a card")
            p = self._personalisation(s, uid)
            if p.state == "done":
                raise InvalidStateError("card %s was personalised and verified; it is not damaged by personalisation"
                                        % p.card.card_number)
            p.state, p.note = "damaged", reason
            self.uow.audit(s, op, "card.personalise.damaged", result="failed", card=p.card.card_number, uid=uid,
                           reason=reason)
            return _view(p)

        return self.uow.run("card.personalise.damaged", operator, do, details={"uid": uid})

    def personalisation(self, uid: str | bytes) -> PersonalisationView | None:
        uid = normal_uid(uid)
        with self.uow.read() as s:
            p = s.execute(select(Personalisation).where(Personalisation.uid == uid)).scalar_one_or_none()
            return _view(p) if p is not None else None

    def personalisations(self, state: str | None = None) -> list[PersonalisationView]:
        """Journal entries (e.g. state="started": cards left half-done), oldest first."""
        with self.uow.read() as s:
            q = select(Personalisation).order_by(Personalisation.id)
            if state is not None:
                q = q.where(Personalisation.state == state)
            return [_view(p) for p in s.execute(q).scalars()]

    def _personalisation(self, s, uid: str) -> Personalisation:
        p = s.execute(select(Personalisation).where(Personalisation.uid == uid)).scalar_one_or_none()
        if p is None:
            raise NotFound("no personalisation of card UID %s in the journal" % uid)
        return p

    def record_card_recovery(self, operator: Operator | str, card_number: str, uid: str | bytes, repairs: list[str],
                             seq: int, balance: int) -> None:
        """Audit an issuer-side repair of a card (an interrupted top-up finished, a torn balance block
        rolled forward with key B): what was done, and the card's state after it."""
        uid = normal_uid(uid)

        def do(s):
            op = operator_row(s, operator, PERSONALISER_ROLES + ("seller",), "recover a card")
            card_row(s, card_number)
            self.uow.audit(s, op, "card.recover", card=card_number, uid=uid, repairs=list(repairs), seq=seq,
                           balance=balance)

        self.uow.run("card.recover", operator, do, card=card_number, details={"uid": uid})
