"""`icpurse topup …` end to end on the in-process sim reader (--reader sim:DIR, the card kept as
an .mfd dump), the ledger file of the test, the INSECURE DEMO KEYS (--keystore demo): output,
--json, exit codes (host/cli.py)."""
import json

import pytest
from click.testing import CliRunner

from icpurse.hil.sim import dumps
from icpurse.hil.sim.tag import CardTag
from icpurse.host.cli import main
from icpurse.host.ledger import open_ledger
from support.ledger import PW
from topup_world import card_state, sim_card


def doc_of(result):
    """The JSON document on stdout (the refusal message also goes to stderr)."""
    text = result.output
    return json.JSONDecoder().raw_decode(text[text.index("{"):])[0]


@pytest.fixture
def counter(ledger, ledger_url, clock, demo_keyset, tmp_path, monkeypatch):
    """A card issued (500 yuan) and put on the sim reader; `run(*args)` invokes icpurse. The CLI's
    ledger runs on the test's clock (the void rules depend on the time of day)."""
    import icpurse.host.clikit.session as clikit_session

    ring = demo_keyset.to_keyring()
    card, number = sim_card(ledger, ring, demo_keyset.issuer)
    state = tmp_path / "reader"
    state.mkdir()
    dumps.save(card, str(state / "card.mfd"))
    monkeypatch.setattr(clikit_session, "open_ledger",
                        lambda url=None, **kw: open_ledger(url, clock=clock, **kw))
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    monkeypatch.delenv("ICPURSE_READER", raising=False)
    # a top-up is taken at a kiosk signed in today (--terminal, here from the environment)
    ledger.outlets.register_kiosk("admin", "31000001", "Kiosk Hall", "Example Retail")
    ledger.outlets.sign_in_kiosk("seller", "31000001")
    monkeypatch.setenv("ICPURSE_TERMINAL", "31000001")

    def run(*args, operator="seller"):
        card = ["--keystore", "demo"] + ([] if args[0] == "unconfirmed" else ["--reader", "sim:%s" % state])
        return CliRunner().invoke(main, ["topup"] + list(args) + card + ["--db", ledger_url, "--operator", operator])

    def on_card():
        c = dumps.load(str(state / "card.mfd"))
        return card_state(CardTag(c), ring)

    return run, number, on_card


def test_top_up_by_card_number_then_void(counter, ledger):
    run, number, on_card = counter
    r = run(number, "12345", "--json")
    assert r.exit_code == 0, r.output
    doc = doc_of(r)
    (out,) = doc["outcomes"]
    assert doc["ok"] and out["state"] == "confirmed" and out["card_balance"] == 62345
    assert out["migrated"] is True  # a layout v1 card (topup_world issues v1): moved to v2 first
    assert ledger.migration_records.migration_journal(number).state == "done"
    assert on_card()[:2] == (62345, 62345) and ledger.books.outstanding_balance(number) == 62345
    r = run("void", out["txn_id"], operator="finance")
    assert r.exit_code == 0, r.output
    assert "voided" in r.output
    assert on_card()[:2] == (50000, 50000) and ledger.books.outstanding_balance(number) == 50000


def test_present_with_an_amount_in_yuan(counter, ledger):
    run, number, on_card = counter
    r = run("--present", "--yuan", "12.50")
    assert r.exit_code == 0, r.output
    assert "confirmed" in r.output and "62.50" not in r.output
    assert on_card()[0] == 51250 == ledger.books.outstanding_balance(number)


def test_over_the_cap_is_refused_with_exit_1(counter, ledger):
    run, number, on_card = counter
    r = run(number, "50001", "--json")
    assert r.exit_code == 1
    doc = doc_of(r)
    assert doc["ok"] is False and "cap" in doc["error"]
    assert on_card()[0] == 50000 == ledger.books.outstanding_balance(number)


def test_usage_errors_exit_2(counter):
    run, number, _ = counter
    assert run(number, "12.50").exit_code == 2  # fen are integers; yuan go with --yuan
    assert run(number).exit_code == 2
    assert run(number, "--yuan", "1.234").exit_code == 2
    assert run("--present", "100", "200").exit_code == 2


def test_unconfirmed_list_and_reconfirm(counter, ledger):
    run, number, on_card = counter
    # a top-up whose card write never came back (booked, card unchanged)
    ledger.topup_records.book_topup_pending(number, 700, "K-LOST", operator="seller", card_seq=2, card_balance=50000)
    ledger.topup_records.book_topup_unconfirmed("K-LOST")
    r = run("unconfirmed", "--json")
    assert r.exit_code == 0, r.output
    (item,) = doc_of(r)["unconfirmed"]
    assert (item["txn_id"], item["card_number"], item["amount"], item["state"]) == ("K-LOST", number, 700,
                                                                                  "unconfirmed")
    r = run(number, "100")
    assert r.exit_code == 1 and "reconfirm" in r.output  # no new top-up before it is settled
    r = run("reconfirm")
    assert r.exit_code == 0, r.output
    assert "reversed" in r.output
    assert ledger.topup_records.topup("K-LOST").state == "reversed" and ledger.books.outstanding_balance(number) == 50000
    r = run("reconfirm")
    assert r.exit_code == 0 and "nothing to settle" in r.output
    r = run("unconfirmed")
    assert "no unconfirmed" in r.output


def test_void_after_cut_off_exit_1(counter, ledger, clock):
    import datetime as dt

    run, number, on_card = counter
    r = run(number, "2000", "--json")
    txn = doc_of(r)["outcomes"][0]["txn_id"]
    clock.t = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.timezone.utc)  # 23:30 CST
    r = run("void", txn, operator="finance")
    assert r.exit_code == 1 and "refund or adjustment" in r.output
    assert on_card()[0] == 52000 == ledger.books.outstanding_balance(number)


def test_wrong_password_is_refused(counter, monkeypatch, ledger):
    run, number, on_card = counter
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", "nope")
    r = run(number, "100")
    assert r.exit_code == 1
    assert on_card()[0] == 50000 and ledger.topup_records.card_topups(number) == []


def test_a_card_that_is_not_ours_exits_4(counter, ledger, tmp_path):
    from icpurse.hil.sim import factory

    run, number, on_card = counter
    dumps.save(factory.blank_card(b"\x7d\x00\x00\x09"), str(tmp_path / "reader" / "card.mfd"))  # a blank
    r = run("--present", "100", "--json")
    assert r.exit_code == 4
    assert "not a card of this issuer" in doc_of(r)["error"]
    assert ledger.topup_records.card_topups(number) == []
