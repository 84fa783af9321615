"""The one CLI framework (host/clikit) through real `icpurse` commands: every command of the tree -
the rig's, registered by entry point, included - explains itself; each kind of domain error comes
out as its documented exit code (README: 1 refused, 2 bad input, 3 no reader, 4 card, 5 integrity)
with a message and without a traceback, as JSON under --json; `--keystore demo` is taken by every
command that reads a keystore."""
import json

import click
import pytest
from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.host.clikit.options import AUDIT_KEY_HELP
from icpurse.host.ledger import open_ledger
from icpurse.keys import keystore
from icpurse.keys.hierarchy import KeyDomain
from support.ledger import AUDIT_KEY, PW, staff

DEMO_BANNER = "INSECURE DEMO KEYS: for the demo and tests only"


def walk(group, path=()):
    """(path, command) of every command below `group`, groups included."""
    for name, cmd in sorted(group.commands.items()):
        yield path + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, path + (name,))


TREE = list(walk(main))


def test_the_walk_sees_the_rigs_commands_too():
    paths = {" ".join(p) for p, _ in TREE}
    assert {"sim serve", "sim reader", "sim control", "demo"} <= paths  # hil, by entry point
    assert {"keys show", "card personalise", "terminal collect", "topup void", "readers"} <= paths


@pytest.mark.parametrize("path", [p for p, _ in TREE], ids=" ".join)
def test_every_command_explains_itself(path):
    result = CliRunner().invoke(main, list(path) + ["--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    summary = result.output.split("\n\n")[1].strip()  # the paragraph under the usage line
    assert summary and not summary.startswith("Options:"), "%s has no help text" % " ".join(path)


# --- each kind of domain error, through a real command -------------------------------------------

@pytest.fixture
def office(tmp_path, monkeypatch):
    """A ledger with an issuer-admin and a finance operator, the password in the environment, a
    sim reader folder (a blank card), a keystore with another passphrase and a corrupted one."""
    url = "sqlite:///%s" % (tmp_path / "ledger.db")
    led = open_ledger(url, audit_key=AUDIT_KEY)
    staff(led, [("finance", "finance")])
    led.close()
    for var in ("ICPURSE_READER", "ICPURSE_KEYSTORE", "ICPURSE_OPERATOR", "ICPURSE_DB", "ICPURSE_DATA_KEY",
                "ICPURSE_KEYSTORE_PASSPHRASE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", PW)
    other = tmp_path / "other.keystore"
    keystore.save_keystore(str(other), KeyDomain.generate(issuer=7, name="t", custodians=2, threshold=2),
                           "the right one", n=2 ** 10)
    corrupt = tmp_path / "corrupt.keystore"
    corrupt.write_bytes(other.read_bytes()[:60])
    (tmp_path / "sim").mkdir()
    (tmp_path / "bad.toml").write_text("[programme\nid = ")
    return {"db": url, "sim": "sim:%s" % (tmp_path / "sim"), "other": str(other), "corrupt": str(corrupt),
            "bad_toml": str(tmp_path / "bad.toml")}


def icpurse(*args, env=None):
    # catch_exceptions=False: an error the framework does not map propagates here and fails the test
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


DOMAIN_ERRORS = [
    # (what, argv with {placeholders}, environment, exit code, words of the message)
    ("wrong operator password", ["reconcile", "close", "1", "--as", "dismissed", "--reason", "x", "--db", "{db}",
                                 "--operator", "admin", "--keystore", "demo"], {"ICPURSE_OPERATOR_PASSWORD": "not it"}, 1,
     "wrong operator name or password: nothing was done"),
    ("a card the ledger does not have", ["sale", "confirm-payment", "999000000001", "--db", "{db}",
                                         "--operator", "finance", "--keystore", "demo"], None, 1, "999000000001"),
    ("a write without a key set", ["sale", "confirm-payment", "999000000001", "--db", "{db}",
                                   "--operator", "finance"], None, 1, "audit key"),
    ("a terminal the ledger does not have", ["audit", "terminal", "12345678", "--keystore", "demo",
                                             "--db", "{db}"], None, 1, "12345678"),
    ("a wrong keystore passphrase", ["audit", "terminal", "12345678", "--keystore", "{other}", "--db", "{db}"],
     {"ICPURSE_KEYSTORE_PASSPHRASE": "a wrong one"}, 1, "wrong keystore passphrase"),
    ("no such keystore", ["reconcile", "run", "--keystore", "{other}.gone", "--db", "{db}", "--operator", "admin"],
     None, 1,
     "no such keystore"),
    ("a corrupted keystore", ["reconcile", "run", "--keystore", "{corrupt}", "--db", "{db}", "--operator", "admin"],
     {"ICPURSE_KEYSTORE_PASSPHRASE": "the right one"}, 5, "corrupted keystore"),
    ("no card reader", ["card", "show", "--keystore", "demo", "--db", "{db}", "--reader", "serial:/dev/no-such-port"],
     None, 3, "cannot open reader"),
    ("no store reader", ["terminal", "sign-in", "--port", "/dev/no-such-port", "--db", "{db}", "--operator", "admin"],
     None, 3, "/dev/no-such-port"),
    ("a card that does not open (blank)", ["audit", "card", "--keystore", "demo", "--reader", "{sim}", "--no-ledger",
                                           "--timeout", "1"], None, 4, ""),
    ("a programmes file that is not TOML", ["programme", "check", "{bad_toml}"], None, 2, "not valid TOML"),
    ("a rig that is not there", ["sim", "control", "{bad_toml}", "status"], None, 3, "no virtual rig answers"),
]


@pytest.mark.parametrize("what, argv, env, code, words", DOMAIN_ERRORS, ids=[e[0] for e in DOMAIN_ERRORS])
def test_each_kind_of_error_has_its_exit_code_and_no_traceback(office, what, argv, env, code, words):
    result = icpurse(*[a.format(**office) for a in argv], env=env)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and words in error[0], result.stderr


def test_under_json_an_error_is_one_json_document(office):
    result = icpurse("audit", "terminal", "12345678", "--keystore", "demo", "--db", office["db"], "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 1 and "12345678" in doc["error"]


def test_a_bug_keeps_its_traceback():
    from icpurse.host.clikit.group import Group

    @click.group(cls=Group)
    def root():
        pass

    @root.command()
    def broken():
        raise RuntimeError("a bug, not a refusal")

    result = CliRunner().invoke(root, ["broken"])
    assert isinstance(result.exception, RuntimeError)


# --- --keystore demo wherever a keystore is read ---------------------------------------------------

# The commands whose --keystore names the file they create: 'demo' there is a file name.
WRITES_A_KEYSTORE = {"keys init", "keys combine", "keys demo"}
# What each command that reads a keystore needs besides --keystore demo to get as far as the keys.
# A new command that takes --keystore fails test_the_table_knows_every_keystore_command until it is here.
ARGS = {
    "audit card": ["--reader", "{sim}", "--no-ledger", "--timeout", "1"],
    "audit log verify": ["--db", "{db}"],
    "audit terminal": ["12345678", "--db", "{db}"],
    "card personalise": ["--programme", "p", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "card recover": ["--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "card show": ["--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "holder close": ["999000000001", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "holder lost": ["999000000001", "--id-number", "1", "--db", "{db}", "--operator", "finance"],
    "holder reactivate": ["--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "holder redeem": ["999000000001", "--returner-name", "a", "--returner-id", "1", "--db", "{db}",
                      "--operator", "finance", "--reader", "{sim}"],
    "holder refund-goods": ["999000000001", "100", "--receipt", "r", "--terminal", "12345678", "--journal", "1",
                            "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "holder exchange": ["--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "holder replace": ["999000000001", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "keys export": ["--role", "workstation", "--out", "{tmp}/ws.export"],
    "keys rollover": [],
    "keys show": [],
    "reconcile run": ["--db", "{db}", "--operator", "admin"],
    "sale activate": ["999000000001", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "sale confirm-payment": ["999000000001", "--db", "{db}", "--operator", "finance"],
    "sale record": ["999000000001", "--db", "{db}", "--operator", "finance"],
    "terminal collect": ["--port", "/dev/no-such-port", "--db", "{db}", "--operator", "admin"],
    "terminal day-close": ["--port", "/dev/no-such-port", "--db", "{db}", "--operator", "admin"],
    "terminal provision": ["12345678", "--port", "/dev/no-such-port", "--db", "{db}", "--operator", "admin"],
    "reader mode": ["issuance", "--port", "/dev/no-such-port", "--db", "{db}", "--operator", "admin"],
    "topup apply": ["1", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "topup load": ["999000000001", "100", "--terminal", "12345678", "--db", "{db}", "--operator", "finance",
                   "--reader", "{sim}"],
    "topup reconfirm": ["--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
    "topup void": ["1", "--db", "{db}", "--operator", "finance", "--reader", "{sim}"],
}


def takes_a_keystore(cmd):
    """--keystore for its key set (not only for the audit key every ledger command records with)."""
    return any(isinstance(p, click.Option) and "--keystore" in p.opts and p.help != AUDIT_KEY_HELP
               for p in cmd.params)


def test_the_table_knows_every_keystore_command():
    reading = {" ".join(p) for p, cmd in TREE if takes_a_keystore(cmd)} - WRITES_A_KEYSTORE
    assert reading == set(ARGS)


@pytest.mark.parametrize("path", sorted(set(ARGS) - {"keys rollover"}))
def test_keystore_demo_is_taken_by(office, tmp_path, path):
    argv = path.split() + ["--keystore", "demo"] + [a.format(tmp=tmp_path, **office) for a in ARGS[path]]
    result = icpurse(*argv)
    assert DEMO_BANNER in result.stderr, (result.exit_code, result.output)  # the demo key set was loaded
    assert result.exit_code != 2 and "Traceback" not in result.output, result.output


def test_keys_rollover_of_the_demo_set_says_what_to_do(office):
    result = icpurse("keys", "rollover", "--keystore", "demo")
    assert result.exit_code == 2 and "icpurse keys demo --keystore FILE" in result.output
