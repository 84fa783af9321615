"""Bad input never gets past the command line: each input below (those the issue names and more of
the same kinds) is refused with a clear message and exit 2, never a traceback, and the ledger is
exactly as it was (every table compared row by row)."""
import sqlite3

import pytest
from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.host.ledger import open_ledger
from icpurse.host.programmes import load_programmes
from icpurse.host.programmes import examples

from support.ledger import AUDIT_KEY, PW, staff


def _example(name):
    import os

    return os.path.join(os.path.dirname(examples.__file__), name)


@pytest.fixture
def office(tmp_path, monkeypatch):
    db = tmp_path / "ledger.db"
    led = open_ledger("sqlite:///%s" % db, audit_key=AUDIT_KEY)  # the demo key set's audit key
    staff(led, (("finance", "finance"), ("clerk", "terminal-operator")))  # four eyes over operators
    for name in ("utility-payment-card.toml",):  # numbers 5 N1N2N3 X Z1..Z7 (a programme without a
        # numbering scheme takes any 12 digits, so the scheme checks need a ledger of scheme programmes)
        for p in load_programmes(_example(name)):
            led.programmes.register_programme("admin", p, override_reason="test programme")
    led.outlets.register_kiosk("admin", "31000001", "Kiosk Hall", "Example Retail")
    led.outlets.add_sales_point("admin", "SP-01", "Counter")
    led.close()
    for var in ("ICPURSE_KEYSTORE", "ICPURSE_DATA_KEY", "ICPURSE_TERMINAL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ICPURSE_DB", "sqlite:///%s" % db)
    monkeypatch.setenv("ICPURSE_OPERATOR", "admin")
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    monkeypatch.setenv("ICPURSE_NEW_PASSWORD", PW)
    monkeypatch.setenv("ICPURSE_READER", "sim:%s" % (tmp_path / "hopper"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad-uids.txt").write_text("04A1B2C3\n04A1B2C3D4E5F6\nnot-a-uid\n", encoding="utf-8")
    (tmp_path / "short-uids.txt").write_text("04A1B2\n", encoding="utf-8")
    (tmp_path / "latin1-uids.txt").write_bytes(b"04A1B2C3 # caf\xe9\n")
    for years in (99999, 200):
        (tmp_path / ("validity-%d.toml" % years)).write_text(
            '[[programme]]\nid = "gift"\nname = "Gift"\nissuer = "X"\nprofile = "mofcom"\nkinds = ["anonymous"]\n'
            'face_values = [10000]\nvalidity = { years = %d }\n' % years, encoding="utf-8")
    (tmp_path / "no-amount.csv").write_text("txn_id,terminal,card_number\nK-1,31000001,500100000001\n",
                                            encoding="utf-8")
    (tmp_path / "bad-amount.csv").write_text("txn_id,terminal,card_number,amount_fen\nK-1,31000001,500100000001,"
                                             "12.50\n", encoding="utf-8")
    (tmp_path / "twice.csv").write_text("txn_id,terminal,card_number,amount_fen\nK-1,31000001,500100000001,100\n"
                                        "K-1,31000001,500100000001,100\n", encoding="utf-8")
    return db


def dump(db):
    """Every row of every table (the ledger's whole content)."""
    conn = sqlite3.connect(str(db))
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


KIOSK = ["--terminal", "31000001", "--keystore", "demo"]
BAD = [
    # card UIDs: not hex, 3 bytes, odd length, full-width digits, bad lines in a file
    ["stock", "receive", "--batch", "B-1", "--uid", "ZZZZ"],
    ["stock", "receive", "--batch", "B-1", "--uid", "010203"],
    ["stock", "receive", "--batch", "B-1", "--uid", "04A1B2C3D"],
    ["stock", "receive", "--batch", "B-1", "--uid", "０１０２０３０４"],
    ["stock", "receive", "--batch", "B-1", "--uids-file", "bad-uids.txt"],
    ["stock", "receive", "--batch", "B-1", "--uids-file", "short-uids.txt"],
    ["stock", "receive", "--batch", "B-1", "--uids-file", "latin1-uids.txt"],
    ["stock", "receive", "--batch", "B-1", "--uid", "04A1B2C3", "--uid", "04a1b2c3"],
    ["stock", "count", "--uid", "0A00000"],
    ["stock", "issue", "--point", "SP-01", "--uid", "0A0B0C0D0E"],
    # dates: beyond what the cards and the ledger keep, impossible, non-ASCII
    ["report", "daily", "--date", "9999-12-31"],
    ["report", "daily", "--date", "0001-01-01"],
    ["report", "daily", "--date", "2026-02-30"],
    ["report", "daily", "--date", "２０２６-03-01"],
    ["report", "outstanding", "--date", "yesterday"],
    ["report", "volumes", "--from", "2026-3-1"],
    ["report", "html", "out.html", "--date", "2180-01-01"],
    # amounts: superscript and other non-ASCII digits, decimals in fen, zero, negative, beyond a card
    ["topup", "500100000001", "²"] + KIOSK,
    ["topup", "500100000001", "١٢٣"] + KIOSK,
    ["topup", "500100000001", "12.50"] + KIOSK,
    ["topup", "500100000001", "0"] + KIOSK,
    ["topup", "500100000001", "-100"] + KIOSK,
    ["topup", "500100000001", "99999999999"] + KIOSK,
    ["topup", "500100000001", "--yuan", "1.234"] + KIOSK,
    ["topup", "500100000001", "--yuan", "1e3"] + KIOSK,
    ["reader", "sell", "12.5", "--port", "/dev/null"],
    ["reader", "sell", "--yuan", "-1", "--port", "/dev/null"],
    ["holder", "refund-goods", "500100000001", "¹²", "--receipt", "R", "--terminal", "10000001", "--journal", "1"],
    ["topup", "refund", "K-1", "0", "--reason", "x"],
    ["sale", "record", "500100000001", "--purchase-total", "５００"],
    # card numbers: typed wrong for every programme's scheme, letters
    ["sale", "record", "403110000001"],
    ["sale", "record", "5031A0000001"],
    ["sale", "confirm-payment", "40311"],
    ["topup", "403110000001", "100"] + KIOSK,
    ["holder", "refund-goods", "403110000001", "100", "--receipt", "R", "--terminal", "10000001", "--journal", "1"],
    ["card", "personalise", "--programme", "utility-payment", "--number", "403110000001", "--keystore", "demo"],
    ["card", "personalise", "--programme", "utility-payment", "--face-value", "20000", "--number", "503120000001",
     "--keystore", "demo"],
    # programmes whose validity overflows the card's date field
    ["programme", "check", "validity-99999.toml"],
    ["programme", "check", "validity-200.toml"],
    ["programme", "register", "validity-200.toml"],
    # terminals, times, clearing files
    ["terminal", "enable", "1234"],
    ["terminal", "register-kiosk", "3100000٢", "--outlet", "o", "--merchant", "m"],
    ["topup", "500100000001", "100", "--terminal", "3100001", "--keystore", "demo"],
    ["cutoff", "set", "25:00"],
    ["cutoff", "set", "7pm"],
    ["clearing", "import", "no-amount.csv", "--date", "2026-03-02"],
    ["clearing", "import", "bad-amount.csv", "--date", "2026-03-02"],
    ["clearing", "import", "twice.csv", "--date", "2026-03-02"],
    ["clearing", "import", "twice.csv", "--date", "2026-13-02"],
    ["salespoint", "add", "SP 02 with blanks", "--name", "x"],
]


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a)[:60])
def test_bad_input_is_refused_and_changes_nothing(office, argv):
    before = dump(office)
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert "Error:" in result.output
    assert dump(office) == before


def test_bad_input_under_json_is_one_json_document(office):
    import json

    before = dump(office)
    result = CliRunner().invoke(main, ["stock", "receive", "--batch", "B-1", "--uid", "ZZZZ", "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2 and "UID" in doc["error"]
    assert dump(office) == before


def test_a_mistyped_db_is_not_created(tmp_path, monkeypatch):
    monkeypatch.setenv("ICPURSE_DB", "sqlite:///%s" % (tmp_path / "leddger.db"))
    for argv in (["report", "daily"], ["operator", "list"], ["reconcile", "exceptions"], ["terminal", "list"]):
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 2 and "no ledger at" in result.output, argv
    assert not (tmp_path / "leddger.db").exists()


def test_a_config_file_with_a_secret_is_refused(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('operator_password = "hunter22"\n', encoding="utf-8")
    monkeypatch.setenv("ICPURSE_CONFIG", str(cfg))
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 2 and "secret" in result.output
    cfg.write_text('db = "sqlite:///%s"\nnot_a_setting = 1\n' % (tmp_path / "x.db"), encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 2 and "unknown setting" in result.output
