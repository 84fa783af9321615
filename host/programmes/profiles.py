"""Regulatory profiles as data (regulatory/*.toml): caps, validity, real-name, non-cash and refund rules.

A profile is read from TOML so that the uncertain ([U]) figures of docs/business-rules.md
"Regulatory profiles" can be changed without touching code. `load_profile("mofcom")` reads the
shipped file; a path reads any other file with the same shape.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from icpurse.host.programmes.tomlread import Reader, TomlShapeError

EXPIRED_BALANCE_CHOICES = ("reactivate", "exchange", "extend", "refund", "forfeit")


class ProfileError(ValueError):
    """A profile file that cannot be read or does not have the expected shape."""

    exit_code = 2  # bad input (the icpurse command's exit code)


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    source: str
    # caps (fen); None = this profile sets no cap
    cap_named: int | None
    cap_anonymous: int | None
    cap_applies_to_post_topup_balance: bool
    # validity
    named_expiry_allowed: bool
    anonymous_min_months: int | None
    expired_balance_allowed: tuple[str, ...]
    # real-name capture
    real_name_named: bool
    real_name_anonymous_threshold: int | None
    retention_years: int | None
    # non-cash payment
    non_cash_unit_threshold: int | None
    non_cash_individual_threshold: int | None
    non_cash_remote: bool
    credit_card_forbidden: bool
    # refunds and redemption
    goods_refund_cash_limit: int | None
    redemption_cash_limit: int | None
    redemption_required: bool
    forfeiture_allowed: bool
    named_redeemable_after_months: int
    unit_bought_redeemed_by_unit_only: bool
    # loss reporting
    named_loss_reportable: bool
    anonymous_loss_reportable: bool
    overdraft_allowed: bool
    custody_percent: dict

    def cap(self, kind: str) -> int | None:
        return self.cap_named if kind == "named" else self.cap_anonymous


def profile_names() -> list[str]:
    folder = resources.files("icpurse.host.programmes") / "regulatory"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (mofcom, pboc, utility) or a profile TOML file by path."""
    text_path = str(name_or_path)
    if text_path in profile_names():
        res = resources.files("icpurse.host.programmes") / "regulatory" / (text_path + ".toml")
        where, text = "profile %s" % text_path, res.read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError("unknown profile %r: not a shipped profile (%s) and no such file" % (
                text_path, ", ".join(profile_names())))
        where, text = str(path), path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError("%s: not valid TOML: %s" % (where, exc)) from None
    try:
        return _profile_from_dict(Reader(data, where))
    except TomlShapeError as exc:
        raise ProfileError(str(exc)) from None


def _profile_from_dict(r: Reader) -> Profile:
    r.allow("id", "name", "source", "caps", "validity", "real_name", "non_cash", "refund", "loss",
            "overdraft", "custody")
    caps, val, rn, nc = r.table("caps"), r.table("validity"), r.table("real_name"), r.table("non_cash")
    ref, loss, od, cust = r.table("refund"), r.table("loss"), r.table("overdraft"), r.table("custody")
    caps.allow("named", "anonymous", "applies_to_post_topup_balance")
    val.allow("named_expiry_allowed", "anonymous_min_months", "expired_balance_allowed")
    rn.allow("named_every_purchase_and_topup", "anonymous_purchase_threshold", "retention_years")
    nc.allow("unit_purchase_threshold", "individual_purchase_threshold", "remote_sale", "credit_card_forbidden")
    ref.allow("goods_refund_cash_limit", "redemption_cash_limit", "redemption_required", "forfeiture_allowed",
              "named_redeemable_after_months", "unit_bought_redeemed_by_unit_only")
    loss.allow("named_reportable", "anonymous_reportable")
    od.allow("allowed")
    cust.allow("scale_percent", "group_percent", "brand_percent")
    expired = tuple(val.str_list("expired_balance_allowed", default=list(EXPIRED_BALANCE_CHOICES)))
    for choice in expired:
        if choice not in EXPIRED_BALANCE_CHOICES:
            val.fail("expired_balance_allowed", "unknown choice %r; known: %s" % (choice, ", ".join(EXPIRED_BALANCE_CHOICES)))
    return Profile(
        id=r.str("id"), name=r.str("name"), source=r.str("source", default=""),
        cap_named=caps.fen("named", default=None), cap_anonymous=caps.fen("anonymous", default=None),
        cap_applies_to_post_topup_balance=caps.bool("applies_to_post_topup_balance", default=True),
        named_expiry_allowed=val.bool("named_expiry_allowed", default=True),
        anonymous_min_months=val.int("anonymous_min_months", default=None),
        expired_balance_allowed=expired,
        real_name_named=rn.bool("named_every_purchase_and_topup", default=False),
        real_name_anonymous_threshold=rn.fen("anonymous_purchase_threshold", default=None),
        retention_years=rn.int("retention_years", default=None),
        non_cash_unit_threshold=nc.fen("unit_purchase_threshold", default=None),
        non_cash_individual_threshold=nc.fen("individual_purchase_threshold", default=None),
        non_cash_remote=nc.bool("remote_sale", default=False),
        credit_card_forbidden=nc.bool("credit_card_forbidden", default=False),
        goods_refund_cash_limit=ref.fen("goods_refund_cash_limit", default=None),
        redemption_cash_limit=ref.fen("redemption_cash_limit", default=None),
        redemption_required=ref.bool("redemption_required", default=True),
        forfeiture_allowed=ref.bool("forfeiture_allowed", default=False),
        named_redeemable_after_months=ref.int("named_redeemable_after_months", default=0),
        unit_bought_redeemed_by_unit_only=ref.bool("unit_bought_redeemed_by_unit_only", default=False),
        named_loss_reportable=loss.bool("named_reportable", default=False),
        anonymous_loss_reportable=loss.bool("anonymous_reportable", default=False),
        overdraft_allowed=od.bool("allowed", default=False),
        custody_percent={k[:-len("_percent")]: cust.int(k) for k in ("scale_percent", "group_percent", "brand_percent")
                         if cust.has(k)},
    )
