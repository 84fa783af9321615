"""`check_programme`: every rule of a regulatory profile that a programme breaks
(docs/business-rules.md "Conflicts the programme check flags").

Each finding is a `Violation` naming the rule (stable id + title), the setting at fault and a
message with the figures. The check never changes the programme: fixing it is the issuer's call,
and issuing under a violating programme needs an explicit, audited override (see the ledger).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from icpurse.host.programmes.model import Duration, Programme
from icpurse.host.programmes.profiles import Profile, load_profile
from icpurse.protocol.money import fmt_yuan

# rule id -> what the rule says (the profile's source is added to each violation)
RULES = {
    "cap.named": "named-card balance cap",
    "cap.anonymous": "anonymous-card balance cap",
    "validity.named": "named cards carry no expiry",
    "validity.anonymous": "minimum validity of anonymous cards",
    "expiry.balance": "an expired card's balance is re-activated, exchanged or extended, never forfeited",
    "forfeiture.no_cash_back": "holder money is never forfeited: a path to redeem it must exist",
    "forfeiture.residual_kept": "holder money is never forfeited: small residual balances belong to the holder",
    "refund.cash_limit": "cash refunds/redemptions only up to the profile's limit; above it to a same-name bank account",
    "refund.named_after": "named cards redeemable only after the profile's waiting period",
    "refund.unit_only": "cards bought by a unit are redeemed only by that unit",
    "loss.named": "named cards can be reported lost and replaced with their balance",
    "real_name.named": "real-name capture for every named-card purchase and top-up",
    "real_name.anonymous_threshold": "real-name capture for large anonymous purchases",
    "non_cash.unit": "non-cash payment when a unit buys at or above the threshold",
    "non_cash.individual": "non-cash payment when an individual buys at or above the threshold",
    "non_cash.remote": "non-cash payment for remote sales",
    "payment.credit_card": "credit cards may not be used to buy or top up",
}


@dataclass(frozen=True)
class Violation:
    programme: str
    profile: str
    rule: str
    title: str
    setting: str
    kind: str | None
    message: str
    source: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self):
        return "%s [%s] %s: %s" % (self.programme, self.rule, self.setting, self.message)


def check_programme(programme: Programme, profile: Profile | str | None = None) -> list[Violation]:
    """Every violation of `programme` under `profile` (default: the profile the programme names)."""
    if profile is None:
        profile = programme.profile
    if isinstance(profile, str):
        profile = load_profile(profile)
    out: list[Violation] = []

    def flag(rule, setting, message, kind=None):
        out.append(Violation(programme.id, profile.id, rule, RULES[rule], setting, kind, message, profile.source))

    _caps(programme, profile, flag)
    _validity(programme, profile, flag)
    _refunds(programme, profile, flag)
    _loss(programme, profile, flag)
    _real_name_and_payment(programme, profile, flag)
    return out


def _only_named_face_values(p: Programme, profile: Profile) -> list[int]:
    """Face values of anonymous cards above the anonymous cap: they could only be sold as named cards."""
    if "anonymous" not in p.kinds or profile.cap_anonymous is None:
        return []
    named_cap = profile.cap_named
    return [fv for fv in p.terms["anonymous"].face_values
            if fv > profile.cap_anonymous and (named_cap is None or fv <= named_cap)]


def _caps(p, profile, flag):
    seen = set()
    for kind in p.kinds:
        t = p.terms[kind]
        for fv in t.face_values:
            if profile.cap_named is not None and fv > profile.cap_named:
                if ("cap.named", fv) in seen:
                    continue
                seen.add(("cap.named", fv))
                also = (" (and the anonymous-card cap of %s)" % fmt_yuan(profile.cap_anonymous)
                        if profile.cap_anonymous is not None else "")
                flag("cap.named", "face_values", "face value %s exceeds the named-card cap of %s%s: it cannot be "
                     "issued under this profile as any kind of card" % (fmt_yuan(fv), fmt_yuan(profile.cap_named), also),
                     kind)
            elif kind == "anonymous" and profile.cap_anonymous is not None and fv > profile.cap_anonymous:
                flag("cap.anonymous", "face_values", "face value %s exceeds the anonymous-card cap of %s: allowed "
                     "only as a named card (with real-name capture)" % (fmt_yuan(fv), fmt_yuan(profile.cap_anonymous)),
                     kind)
        cap = profile.cap(kind)
        if cap is not None and t.balance_cap is not None and t.balance_cap > cap:
            flag("cap.%s" % kind, "balance_cap", "%s cards: balance cap %s exceeds the profile's %s cap of %s" % (
                kind, fmt_yuan(t.balance_cap), kind, fmt_yuan(cap)), kind)


def _validity(p, profile, flag):
    only_named = _only_named_face_values(p, profile)
    if not profile.named_expiry_allowed:
        if "named" in p.kinds and p.terms["named"].validity is not None:
            t = p.terms["named"]
            flag("validity.named", "validity", "named cards expire after %s%s; named cards must carry no expiry" % (
                t.validity, _grace(t)), "named")
        elif only_named and p.terms["anonymous"].validity is not None:
            t = p.terms["anonymous"]
            flag("validity.named", "validity", "cards expire after %s%s, but face values %s are allowed only as named "
                 "cards, and named cards must carry no expiry" % (
                     t.validity, _grace(t), " / ".join(fmt_yuan(fv) for fv in only_named)), "named")
    if profile.anonymous_min_months is not None and "anonymous" in p.kinds:
        t = p.terms["anonymous"]
        if t.validity is not None and t.validity.months < profile.anonymous_min_months:
            # grace does not count: it is a tolerance at the till, not the validity printed on the card
            flag("validity.anonymous", "validity", "anonymous cards expire after %s%s; the minimum is %s" % (
                t.validity, _grace(t), _months(profile.anonymous_min_months)), "anonymous")
    if p.expired_balance not in profile.expired_balance_allowed:
        flag("expiry.balance", "expired_balance", "an expired card's balance is handled by %r; allowed: %s" % (
            p.expired_balance, ", ".join(profile.expired_balance_allowed)))


def _grace(t):
    return " (+ %s grace)" % t.grace if t.grace else ""


def _months(n):
    return str(Duration(n))


def _cash_out_hint(profile):
    if profile.redemption_cash_limit is None:
        return "offer redemption of the balance"
    return "offer redemption instead: cash up to %s, above that to a same-name bank account" % fmt_yuan(
        profile.redemption_cash_limit)


def _refunds(p, profile, flag):
    r = p.refund
    if not r.redeemable and profile.redemption_required and not profile.forfeiture_allowed:
        flag("forfeiture.no_cash_back", "refund.redeemable", "no cash back: the holder cannot get unspent money "
             "back, so it is forfeited; %s" % _cash_out_hint(profile))
    if r.residual_kept_below > 0 and not profile.forfeiture_allowed:
        flag("forfeiture.residual_kept", "refund.residual_kept_below", "a card left with under %s is kept by the "
             "issuer together with its money; %s" % (fmt_yuan(r.residual_kept_below), _cash_out_hint(profile)))
    if r.cash_limit is not None and profile.redemption_cash_limit is not None and r.cash_limit > profile.redemption_cash_limit:
        flag("refund.cash_limit", "refund.cash_limit", "cash refunds up to %s; the limit is %s" % (
            fmt_yuan(r.cash_limit), fmt_yuan(profile.redemption_cash_limit)))
    if "named" in p.kinds and r.redeemable_after_months is not None \
            and r.redeemable_after_months < profile.named_redeemable_after_months:
        flag("refund.named_after", "refund.redeemable_after_months", "named cards redeemable after %d month(s); the "
             "profile requires %d" % (r.redeemable_after_months, profile.named_redeemable_after_months), "named")
    if r.unit_bought_by_unit_only is False and profile.unit_bought_redeemed_by_unit_only:
        flag("refund.unit_only", "refund.unit_bought_by_unit_only", "cards bought by a unit may be redeemed by "
             "anyone; the profile allows only the buying unit")


def _loss(p, profile, flag):
    if "named" in p.kinds and p.terms["named"].lost_reporting is False and profile.named_loss_reportable:
        flag("loss.named", "lost_reporting", "named cards cannot be reported lost; the profile requires loss "
             "reporting and replacement with the balance", "named")


def _real_name_and_payment(p, profile, flag):
    if "named" in p.kinds and p.real_name_named is False and profile.real_name_named:
        flag("real_name.named", "real_name.named", "named cards are sold or topped up without real-name capture "
             "(name or unit, ID number, contact, agent)", "named")
    pairs = (
        ("real_name.anonymous_threshold", "real_name.anonymous_threshold", p.real_name_anonymous_threshold,
         profile.real_name_anonymous_threshold, "real-name capture for anonymous purchases"),
        ("non_cash.unit", "non_cash.unit_threshold", p.non_cash_unit_threshold, profile.non_cash_unit_threshold,
         "non-cash payment for units"),
        ("non_cash.individual", "non_cash.individual_threshold", p.non_cash_individual_threshold,
         profile.non_cash_individual_threshold, "non-cash payment for individuals"),
    )
    for rule, setting, mine, limit, what in pairs:
        if mine is not None and limit is not None and mine > limit:
            flag(rule, setting, "%s starts at %s; the profile requires it from %s" % (what, fmt_yuan(mine), fmt_yuan(limit)))
    if p.non_cash_remote is False and profile.non_cash_remote:
        flag("non_cash.remote", "non_cash.remote", "remote sales may be paid in cash; the profile requires non-cash")
    if "credit_card" in p.payment_methods and profile.credit_card_forbidden:
        flag("payment.credit_card", "payment_methods", "credit_card is accepted to buy or top up cards")
