"""Programme (card product) definitions read from a programmes file (TOML).

A file holds one or more ``[[programme]]`` tables. Money is integer fen everywhere; a float such
as ``200.0`` is refused rather than rounded. Settings a programme leaves out that a profile
governs (real-name and non-cash thresholds, loss reporting, ...) follow the profile; a programme
that sets them looser than its profile is flagged by `check_programme`, never silently fixed.
"""
from __future__ import annotations

import datetime as _dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from icpurse.host.programmes.profiles import EXPIRED_BALANCE_CHOICES
from icpurse.host.programmes.tomlread import Reader, TomlShapeError
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.numbering import scheme_from_config

KINDS = ("named", "anonymous")
PAYMENT_METHODS = ("cash", "bank_transfer", "debit_card", "credit_card", "mobile", "cheque")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class ProgrammeFileError(ValueError):
    """A programmes file that is not valid TOML or does not describe valid programmes."""

    exit_code = 2  # bad input (the icpurse command's exit code)


@dataclass(frozen=True)
class Duration:
    """A validity or grace period in whole months (years are 12 months)."""

    months: int

    def __str__(self):
        y, m = divmod(self.months, 12)
        parts = []
        if y:
            parts.append("%d year%s" % (y, "" if y == 1 else "s"))
        if m or not parts:
            parts.append("%d month%s" % (m, "" if m == 1 else "s"))
        return " ".join(parts)


@dataclass(frozen=True)
class KindTerms:
    """The terms of one kind (named / anonymous) of card in a programme."""

    kind: str
    face_values: tuple[int, ...]
    balance_cap: int | None
    validity: Duration | None  # None = no expiry
    grace: Duration | None
    lost_reporting: bool | None  # None = as the profile says
    # what a store reader lets one card spend offline: per sale, and per card and business day
    # (fen; None = no cap). They travel to the reader in its signed day configuration.
    txn_cap: int | None = None
    daily_cap: int | None = None


@dataclass(frozen=True)
class RefundRules:
    redeemable: bool = True  # 退卡 possible at all; False = "no cash back"
    cash_limit: int | None = None  # fen paid out in cash at most; None = as the profile says
    redeemable_after_months: int | None = None
    unit_bought_by_unit_only: bool | None = None
    residual_kept_below: int = 0  # fen; the issuer keeps a card's money when its balance is below this
    change_given: bool = True


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    issuer: str
    profile: str
    kinds: tuple[str, ...]
    terms: dict  # kind -> KindTerms
    reloadable: bool
    expired_balance: str
    payment_methods: tuple[str, ...]
    refund: RefundRules
    fees: dict  # name -> fen
    real_name_named: bool | None
    real_name_anonymous_threshold: int | None
    non_cash_unit_threshold: int | None
    non_cash_individual_threshold: int | None
    non_cash_remote: bool | None
    issuer_type: str | None
    numbering: dict | None  # the scheme's config, as given
    usable_at: tuple[str, ...]
    source: str
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def face_values(self) -> tuple[int, ...]:
        """Every face value offered, over all kinds, ascending."""
        return tuple(sorted({fv for t in self.terms.values() for fv in t.face_values}))

    def numbering_scheme(self):
        """The card-number scheme object (protocol.numbering), or None for free-form numbers."""
        return scheme_from_config(self.numbering) if self.numbering else None

    def effective_cap(self, kind: str, profile) -> int | None:
        """The balance cap enforced for `kind` on issue and top-up: the stricter of programme and profile."""
        caps = [c for c in (self.terms[kind].balance_cap, profile.cap(kind)) if c is not None]
        return min(caps) if caps else None


def _duration(r: Reader, key: str) -> Duration | None:
    v = r.raw(key, default="none")
    if v == "none":
        return None
    if not isinstance(v, dict):
        r.fail(key, 'must be "none" or a table like { years = 2, months = 1 }, got %r' % (v,))
    d = Reader(v, r.where, r._key(key))
    d.allow("years", "months")
    months = d.int("years", default=0) * 12 + d.int("months", default=0)
    if months == 0:
        r.fail(key, 'a period of 0 months; write "none" for no expiry')
    if months > MAX_PERIOD_MONTHS:
        r.fail(key, "%d months: a card issued today would expire after %s, the last day its expiry field (a "
                    "16-bit card day) can hold; write \"none\" for no expiry" % (
                        months, cardtime.to_date(CARD_DAY_MAX)))
    return Duration(months)


CARD_DAY_MAX = 0xFFFF  # the identity record's expiry is a u16 card day (docs/card-layout.md)


def _max_period_months(today=None):
    """The longest validity (+ grace) a card issued `today` can carry: months until the last card day."""
    last = cardtime.to_date(CARD_DAY_MAX)
    today = today or _dt.date.today()
    return (last.year - today.year) * 12 + (last.month - today.month) - 1


MAX_PERIOD_MONTHS = _max_period_months()

_KIND_KEYS = ("face_values", "balance_cap", "validity", "grace", "lost_reporting", "txn_cap", "daily_cap")


def _kind_terms(kind: str, base: Reader, over: Reader) -> KindTerms:
    over.allow(*_KIND_KEYS)

    def pick(key):
        return over if over.has(key) else base

    face_values = pick("face_values").fen_list("face_values", default=[])
    if len(set(face_values)) != len(face_values):
        pick("face_values").fail("face_values", "lists a face value twice: %r" % (face_values,))
    return KindTerms(
        kind=kind, face_values=tuple(sorted(face_values)),
        balance_cap=pick("balance_cap").fen("balance_cap", default=None),
        validity=_duration(pick("validity"), "validity"),
        grace=_duration(pick("grace"), "grace"),
        lost_reporting=pick("lost_reporting").bool("lost_reporting", default=None),
        txn_cap=pick("txn_cap").fen("txn_cap", default=None),
        daily_cap=pick("daily_cap").fen("daily_cap", default=None),
    )


def parse_programme(data: dict, where: str = "<programme>") -> Programme:
    """One ``[[programme]]`` table -> Programme; ProgrammeFileError naming the key on any problem."""
    try:
        return _parse(Reader(data, where))
    except TomlShapeError as exc:
        raise ProgrammeFileError(str(exc)) from None


def _parse(r: Reader) -> Programme:
    pid = r.str("id")
    if not _ID_RE.fullmatch(pid):
        r.fail("id", "must be lower-case letters, digits, '-' or '_' (at most 63), got %r" % pid)
    r = Reader(r.data, "%s: programme %s" % (r.where, pid))
    r.allow("id", "name", "issuer", "profile", "issuer_type", "kinds", *_KIND_KEYS, "named", "anonymous",
            "reloadable", "expired_balance", "payment_methods", "refund", "fees", "real_name", "non_cash",
            "numbering", "usable_at")
    kinds = r.str_list("kinds")
    if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        r.fail("kinds", "must list named and/or anonymous (each once), got %r" % (kinds,))
    for k in KINDS:
        if r.has(k) and k not in kinds:
            r.fail(k, "terms for %s cards, but kinds does not offer them" % k)
    terms = {k: _kind_terms(k, r, r.table(k)) for k in kinds}
    for k, t in terms.items():
        if not t.face_values:
            r.fail("face_values", "no face values for %s cards" % k)
        if t.balance_cap is not None and t.balance_cap < max(t.face_values):
            r.fail("balance_cap", "%s cards: cap %s is below the face value %s" % (
                k, fmt_yuan(t.balance_cap), fmt_yuan(max(t.face_values))))
        for key in ("txn_cap", "daily_cap"):
            cap = getattr(t, key)
            if cap is not None and cap <= 0:
                r.fail(key, "%s cards: a cap of %s allows no sale; leave %s out for no cap" % (k, fmt_yuan(cap), key))
        if t.txn_cap is not None and t.daily_cap is not None and t.txn_cap > t.daily_cap:
            r.fail("txn_cap", "%s cards: the per-sale cap %s is above the daily cap %s" % (
                k, fmt_yuan(t.txn_cap), fmt_yuan(t.daily_cap)))
    expired = r.str("expired_balance", default="reactivate")
    if expired not in EXPIRED_BALANCE_CHOICES:
        r.fail("expired_balance", "must be one of %s, got %r" % (", ".join(EXPIRED_BALANCE_CHOICES), expired))
    methods = r.str_list("payment_methods", default=["cash", "bank_transfer", "debit_card"])
    for m in methods:
        if m not in PAYMENT_METHODS:
            r.fail("payment_methods", "unknown payment method %r; known: %s" % (m, ", ".join(PAYMENT_METHODS)))

    ref = r.table("refund")
    ref.allow("redeemable", "cash_limit", "redeemable_after_months", "unit_bought_by_unit_only",
              "residual_kept_below", "change_given")
    refund = RefundRules(
        redeemable=ref.bool("redeemable", default=True), cash_limit=ref.fen("cash_limit", default=None),
        redeemable_after_months=ref.int("redeemable_after_months", default=None),
        unit_bought_by_unit_only=ref.bool("unit_bought_by_unit_only", default=None),
        residual_kept_below=ref.fen("residual_kept_below", default=0),
        change_given=ref.bool("change_given", default=True),
    )
    fees_r = r.table("fees")
    fees = {k: fees_r.fen(k) for k in sorted(fees_r.data)}
    rn = r.table("real_name")
    rn.allow("named", "anonymous_threshold")
    nc = r.table("non_cash")
    nc.allow("unit_threshold", "individual_threshold", "remote")

    numbering = r.raw("numbering", default=None)
    if numbering is not None:
        if not isinstance(numbering, dict):
            r.fail("numbering", "must be a table like { scheme = \"utility12\", ... }")
        try:
            scheme = scheme_from_config(numbering)
        except ValueError as exc:
            r.fail("numbering", str(exc))
        except (TypeError, AttributeError) as exc:  # e.g. scheme = [] or platforms = 5
            r.fail("numbering", "settings of the wrong type (%s); see the scheme's example file" % exc)
        table = getattr(scheme, "face_values", None) or {}
        offered = {fv for t in terms.values() for fv in t.face_values}
        for code, fen in sorted(table.items()):
            if fen not in offered:
                r.fail("numbering", "face-value code %s means %s, which is not one of the face values" % (
                    code, fmt_yuan(fen)))
    issuer_type = r.str("issuer_type", default=None)
    if issuer_type is not None and issuer_type not in ("scale", "group", "brand"):
        r.fail("issuer_type", "must be scale, group or brand (custody share), got %r" % issuer_type)
    return Programme(
        id=pid, name=r.str("name"), issuer=r.str("issuer"), profile=r.str("profile"), kinds=tuple(kinds),
        terms=terms, reloadable=r.bool("reloadable", default=True), expired_balance=expired,
        payment_methods=tuple(methods), refund=refund, fees=fees,
        real_name_named=rn.bool("named", default=None),
        real_name_anonymous_threshold=rn.fen("anonymous_threshold", default=None),
        non_cash_unit_threshold=nc.fen("unit_threshold", default=None),
        non_cash_individual_threshold=nc.fen("individual_threshold", default=None),
        non_cash_remote=nc.bool("remote", default=None),
        issuer_type=issuer_type, numbering=dict(numbering) if numbering else None,
        usable_at=tuple(r.str_list("usable_at", default=[])), source=r.where, raw=r.data,
    )


def load_programmes(path: str | Path) -> list[Programme]:
    """Every programme of a programmes file; ProgrammeFileError with the file and key on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeFileError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        raise ProgrammeFileError("%s: not a programmes file: byte %d is not UTF-8 text (save it as UTF-8 TOML)"
                                 % (path, exc.start)) from None
    return loads_programmes(text, str(path))


def loads_programmes(text: str, where: str = "<programmes>") -> list[Programme]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeFileError("%s: not valid TOML: %s" % (where, exc)) from None
    unknown = sorted(set(data) - {"programme"})
    if unknown:
        raise ProgrammeFileError("%s: unknown top-level setting(s) %s; programmes go in [[programme]] tables" % (
            where, ", ".join(unknown)))
    tables = data.get("programme")
    if not isinstance(tables, list) or not tables:
        raise ProgrammeFileError("%s: no programmes; define at least one [[programme]] table" % where)
    out, seen = [], set()
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            raise ProgrammeFileError("%s: programme #%d is %r, not a table; write each one as [[programme]]"
                                     % (where, i + 1, table))
        prog = parse_programme(table, "%s: programme #%d" % (where, i + 1) if "id" not in table else where)
        if prog.id in seen:
            raise ProgrammeFileError("%s: programme id %r defined twice" % (where, prog.id))
        seen.add(prog.id)
        out.append(prog)
    return out
