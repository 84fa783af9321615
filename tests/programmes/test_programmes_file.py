"""Programmes files: the shipped examples load; malformed files give a clear error naming the file
and the setting; the CLI's exit codes and output."""
import json

import pytest
from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.host.programmes import ProgrammeFileError, load_programmes
from icpurse.host.programmes.model import loads_programmes
from support.ledger import EXAMPLES

MINIMAL = '''
[[programme]]
id = "p1"
name = "P1"
issuer = "X"
profile = "mofcom"
kinds = ["anonymous"]
face_values = [10000]
'''


def test_examples_load_with_their_figures():
    (store,) = load_programmes(EXAMPLES / "company-store-card.toml")
    assert store.face_values == (200000, 500000, 1000000)
    assert store.terms["anonymous"].validity.months == 24 and store.terms["anonymous"].grace.months == 1
    assert not store.refund.redeemable and store.refund.residual_kept_below == 1000
    (util,) = load_programmes(EXAMPLES / "utility-payment-card.toml")
    scheme = util.numbering_scheme()
    assert scheme.parse("503630000007")["face_value"] == 80000
    (both,) = load_programmes(EXAMPLES / "mofcom-compliant.toml")
    assert both.terms["named"].validity is None and both.terms["anonymous"].validity.months == 36
    assert set(EXAMPLES.glob("*.toml")) == {EXAMPLES / n for n in (
        "utility-payment-card.toml", "department-store-gift-card.toml", "company-store-card.toml",
        "smart-meter-electricity-card.toml", "mofcom-compliant.toml")}


@pytest.mark.parametrize("text, message", [
    ("[[programme]\nid = 1", "not valid TOML"),
    ("", "no programmes"),
    ("[programmes]\nx = 1", "unknown top-level"),
    (MINIMAL.replace("face_values = [10000]", "face_values = [100.0]"), "face_values[0]: must be a positive integer number of fen"),
    (MINIMAL + "facevalue = 1\n", "programme p1: unknown setting facevalue"),
    (MINIMAL.replace('kinds = ["anonymous"]', 'kinds = ["bearer"]'), "kinds: must list named and/or anonymous"),
    (MINIMAL.replace('face_values = [10000]', 'face_values = [10000]\nvalidity = "2y"'), "validity: must be \"none\""),
    (MINIMAL.replace('face_values = [10000]', 'face_values = [10000]\nbalance_cap = 5000'), "below the face value"),
    (MINIMAL.replace('face_values = [10000]', 'face_values = [10000]\nnumbering = { scheme = "iso" }'),
     "unknown card-numbering scheme"),
    (MINIMAL.replace('face_values = [10000]',
                     'face_values = [10000]\nnumbering = { scheme = "utility12", face_values = { "1" = 20000 } }'),
     "not one of the face values"),
    (MINIMAL.replace('id = "p1"', 'id = "P 1"'), "id: must be lower-case"),
    (MINIMAL + MINIMAL, "defined twice"),
])
def test_malformed_files_give_clear_errors(text, message):
    with pytest.raises(ProgrammeFileError) as exc:
        loads_programmes(text, "bad.toml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("bad.toml")


def test_missing_file():
    with pytest.raises(ProgrammeFileError, match="cannot read"):
        load_programmes("/nonexistent/programmes.toml")


def test_cli_check_exit_codes_and_json():
    r = CliRunner().invoke(main, ["programme", "check", str(EXAMPLES / "company-store-card.toml")])
    assert r.exit_code == 1
    assert "7 violation(s)" in r.output and "forfeiture.residual_kept" in r.output
    r = CliRunner().invoke(main, ["programme", "check", "--json", str(EXAMPLES / "company-store-card.toml")])
    data = json.loads(r.output)
    assert r.exit_code == 1 and len(data["programmes"][0]["violations"]) == 7
    r = CliRunner().invoke(main, ["programme", "check", str(EXAMPLES / "mofcom-compliant.toml")])
    assert r.exit_code == 0 and "OK" in r.output
    r = CliRunner().invoke(main, ["programme", "check", "--profile", "mofcom", "--json",
                                  str(EXAMPLES / "utility-payment-card.toml")])
    assert r.exit_code == 1
    assert [v["rule"] for v in json.loads(r.output)["programmes"][0]["violations"]] == ["validity.anonymous"]


def test_cli_bad_file_and_list(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[programme]\n")
    r = CliRunner().invoke(main, ["programme", "check", str(bad)])
    assert r.exit_code == 2 and "not valid TOML" in r.output
    r = CliRunner().invoke(main, ["programme", "list", "--json", str(EXAMPLES / "utility-payment-card.toml")])
    assert r.exit_code == 0
    (row,) = json.loads(r.output)
    assert row["id"] == "utility-payment" and row["face_values"] == [20000, 50000, 80000]
    assert row["numbering"] == "utility12"
    r = CliRunner().invoke(main, ["programme", "check", "--profile", "nope", str(EXAMPLES / "mofcom-compliant.toml")])
    assert r.exit_code == 2 and "unknown profile" in r.output
