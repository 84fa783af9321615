"""Registered programmes (`Ledger.programmes`): a programme is issued under only once registered;
one that breaks its regulatory profile is registered only with an override and its reason.
`load_programme` is the look-up every service uses (the parsed `Programme` of a registered id)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from icpurse.host.ledger.errors import InvalidStateError, NotFound, ProgrammeViolationError
from icpurse.host.ledger.models import Operator, ProgrammeRecord
from icpurse.host.ledger.people import operator_row
from icpurse.host.ledger.views import ProgrammeView
from icpurse.host.programmes import Programme, check_programme, parse_programme


@dataclass(frozen=True)
class RegisteredProgramme:
    """A registered programme as stored: its definition as registered (the programme file's table)."""

    id: str
    name: str
    profile: str
    definition: dict


def load_programme(s, programme_id: str) -> Programme:
    """The registered programme `programme_id` (NotFound unless registered)."""
    rec = s.get(ProgrammeRecord, programme_id)
    if rec is None:
        raise NotFound("programme %s is not registered in this ledger" % programme_id)
    return parse_programme(json.loads(rec.definition), "ledger programme %s" % programme_id)


def programme_view(rec) -> ProgrammeView:
    return ProgrammeView(rec.id, rec.name, rec.profile, tuple(json.loads(rec.violations)), rec.override_reason)


class Programmes:
    """Programmes registered for issuing (`Ledger.programmes`)."""

    def __init__(self, uow):
        self.uow = uow

    def register_programme(self, admin: Operator | str, programme: Programme, override_reason: str | None = None) -> ProgrammeView:
        """Register a programme for issuing. A programme that breaks its profile is refused unless an
        override with a reason is given; the override and the violations it accepts are audited."""
        violations = check_programme(programme)
        rules = [v.rule for v in violations]
        definition = json.dumps(programme.raw, sort_keys=True, ensure_ascii=False)

        def do(s):
            a = operator_row(s, admin, ("issuer-admin",), "register a programme")
            if violations and not (override_reason and override_reason.strip()):
                raise ProgrammeViolationError(
                    "programme %s breaks the %s profile (%s); issuing under it needs an override with a reason" % (
                        programme.id, programme.profile, ", ".join(rules)), violations)
            rec = s.get(ProgrammeRecord, programme.id)
            if rec is not None:
                if rec.definition != definition:
                    raise InvalidStateError("programme %s is already registered with a different definition; "
                                            "give the new version a new id" % programme.id)
                return programme_view(rec)
            rec = ProgrammeRecord(id=programme.id, name=programme.name, profile=programme.profile,
                                  definition=definition, violations=json.dumps(rules),
                                  override_reason=override_reason if violations else None,
                                  registered_at=self.uow.now(), registered_by=a.id)
            s.add(rec)
            s.flush()
            if violations:
                self.uow.audit(s, a, "programme.override", programme=programme.id, profile=programme.profile,
                               violations=[{"rule": v.rule, "message": v.message} for v in violations],
                               reason=override_reason)
            else:
                self.uow.audit(s, a, "programme.register", programme=programme.id, profile=programme.profile)
            return programme_view(rec)

        return self.uow.run("programme.register", admin, do,
                            details={"programme": programme.id, "violations": rules})

    def programme(self, programme_id: str) -> Programme:
        with self.uow.read() as s:
            return load_programme(s, programme_id)

    def registered(self) -> list[RegisteredProgramme]:
        """Every registered programme with its stored definition."""
        with self.uow.read() as s:
            return [RegisteredProgramme(rec.id, rec.name, rec.profile, json.loads(rec.definition))
                    for rec in s.execute(select(ProgrammeRecord)).scalars()]
