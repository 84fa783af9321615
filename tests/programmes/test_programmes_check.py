"""Programme checks against the regulatory profiles of docs/business-rules.md: the conflicts listed there
are found exactly; compliant programmes pass."""
from pathlib import Path

import pytest

from icpurse.host.programmes import check_programme, load_profile, load_programmes
from support.ledger import EXAMPLES


def _one(name):
    (prog,) = load_programmes(EXAMPLES / name)
    return prog


def _rules(violations):
    return sorted((v.rule, v.setting) for v in violations)


def test_store_card_conflicts_of_section_4_exactly():
    vs = check_programme(_one("company-store-card.toml"))
    assert all(v.profile == "mofcom" and v.programme == "company-store" for v in vs)
    assert _rules(vs) == sorted([
        ("cap.named", "face_values"),           # 10,000 face value exceeds the named cap (5,000)
        ("cap.anonymous", "face_values"),       # 2,000 exceeds the anonymous cap (1,000): named only
        ("cap.anonymous", "face_values"),       # 5,000 likewise
        ("validity.named", "validity"),         # 2-year expiry vs "named: none"
        ("validity.anonymous", "validity"),     # 2-year expiry vs "anonymous: >= 3 years"
        ("forfeiture.no_cash_back", "refund.redeemable"),             # "no cash back"
        ("forfeiture.residual_kept", "refund.residual_kept_below"),   # "keep cards under 10 yuan"
    ])
    by_rule = {}
    for v in vs:
        by_rule.setdefault(v.rule, []).append(v.message)
    assert "10,000 yuan" in by_rule["cap.named"][0] and "5,000 yuan" in by_rule["cap.named"][0]
    assert ["2,000 yuan" in m for m in by_rule["cap.anonymous"]] == [True, False]
    assert "5,000 yuan" in by_rule["cap.anonymous"][1]
    assert all("only as a named card" in m for m in by_rule["cap.anonymous"])
    assert "2 years" in by_rule["validity.anonymous"][0] and "3 years" in by_rule["validity.anonymous"][0]
    assert "no expiry" in by_rule["validity.named"][0]
    assert "10 yuan" in by_rule["forfeiture.residual_kept"][0]
    assert "100 yuan" in by_rule["forfeiture.no_cash_back"][0]  # offer cash-out up to 100 yuan instead


def test_store_card_under_pboc_has_the_same_conflicts():
    assert _rules(check_programme(_one("company-store-card.toml"), "pboc")) == _rules(
        check_programme(_one("company-store-card.toml"), "mofcom"))


@pytest.mark.parametrize("profile", ["mofcom", "pboc"])
def test_utility_card_validity_is_too_short_under_mofcom_and_pboc(profile):
    vs = check_programme(_one("utility-payment-card.toml"), profile)
    assert [(v.rule, v.kind) for v in vs] == [("validity.anonymous", "anonymous")]
    assert "1 year" in vs[0].message and "3 years" in vs[0].message


@pytest.mark.parametrize("name", ["utility-payment-card.toml", "smart-meter-electricity-card.toml",
                                  "department-store-gift-card.toml", "mofcom-compliant.toml"])
def test_examples_pass_under_their_own_profile(name):
    assert check_programme(_one(name)) == []


def test_compliant_example_passes_mofcom_and_pboc():
    prog = _one("mofcom-compliant.toml")
    assert check_programme(prog, "mofcom") == []
    assert check_programme(prog, "pboc") == []


def test_profiles_are_data_with_the_rule_figures():
    m, p, u = load_profile("mofcom"), load_profile("pboc"), load_profile("utility")
    assert (m.cap_named, m.cap_anonymous) == (500000, 100000)  # 5,000 / 1,000 yuan in fen
    assert (p.cap_named, p.cap_anonymous) == (500000, 100000)
    assert m.anonymous_min_months == 36 and not m.named_expiry_allowed
    assert m.real_name_anonymous_threshold == 1000000
    assert (m.non_cash_unit_threshold, m.non_cash_individual_threshold) == (500000, 5000000)
    assert m.redemption_cash_limit == m.goods_refund_cash_limit == 10000
    assert m.custody_percent == {"scale": 20, "group": 30, "brand": 40}
    assert p.credit_card_forbidden and not m.credit_card_forbidden
    assert p.named_redeemable_after_months == 3 and p.unit_bought_redeemed_by_unit_only
    assert u.cap_named is None and not u.forfeiture_allowed and u.redemption_required


def test_uncertain_figures_are_configurable(tmp_path):
    # a [U] figure changed in a custom profile file changes the check, no code involved
    text = (Path(__file__).resolve().parents[2] / "host/programmes/regulatory/mofcom.toml").read_text()
    custom = tmp_path / "strict.toml"
    custom.write_text(text.replace('id = "mofcom"', 'id = "strict"').replace("anonymous_min_months = 36",
                                                                            "anonymous_min_months = 48"))
    vs = check_programme(_one("department-store-gift-card.toml"), load_profile(custom))
    assert [(v.rule, v.profile) for v in vs] == [("validity.anonymous", "strict")]
    assert "4 years" in vs[0].message


def test_every_loosened_rule_is_flagged(tmp_path):
    f = tmp_path / "loose.toml"
    f.write_text('''
[[programme]]
id = "loose"
name = "Loose"
issuer = "X"
profile = "pboc"
kinds = ["named"]
face_values = [50000]
balance_cap = 600000
validity = { years = 5 }
lost_reporting = false
expired_balance = "forfeit"
payment_methods = ["cash", "credit_card"]
[programme.refund]
cash_limit = 20000
redeemable_after_months = 1
unit_bought_by_unit_only = false
[programme.real_name]
named = false
anonymous_threshold = 2000000
[programme.non_cash]
unit_threshold = 1000000
individual_threshold = 6000000
remote = false
''')
    (prog,) = load_programmes(f)
    assert sorted(v.rule for v in check_programme(prog)) == sorted([
        "cap.named", "validity.named", "expiry.balance", "refund.cash_limit", "refund.named_after",
        "refund.unit_only", "loss.named", "real_name.named", "real_name.anonymous_threshold", "non_cash.unit",
        "non_cash.individual", "non_cash.remote", "payment.credit_card"])
