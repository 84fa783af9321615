"""Every command of the tree - the rig's included - offers --json in its --help, and with --json
prints exactly one JSON document, whatever happens (success, refusal, usage error), in an
environment where nothing is set up (fresh ledger, no keys, nobody signed in)."""
import json

import click
import pytest
from click.testing import CliRunner

from icpurse.host.cli import main


def leaves(group, path=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from leaves(cmd, path + (name,))
        else:
            yield path + (name,)


LEAVES = list(leaves(main))
# `demo` runs a whole business day (tests/test_demo.py runs it with --json); everything else runs here
RUNS_A_DAY = {("demo",)}


def test_the_walk_covers_the_whole_tree():
    names = {" ".join(p) for p in LEAVES}
    assert {"salespoint add", "terminal enable", "operator passwd", "cutoff set", "clearing import", "reader sell",
            "reader mode", "ledger init", "config show", "topup refund", "holder exchange", "sim hopper fault",
            "keys init", "sim serve"} <= names
    assert len(LEAVES) > 80


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_help_offers_json(path):
    result = CliRunner().invoke(main, list(path) + ["--help"], catch_exceptions=False)
    assert result.exit_code == 0 and "--json" in result.output, " ".join(path)


@pytest.fixture
def bare(tmp_path, monkeypatch):
    for var in ("ICPURSE_KEYSTORE", "ICPURSE_DATA_KEY", "ICPURSE_KEYSTORE_PASSPHRASE", "ICPURSE_NEW_PASSWORD",
                "ICPURSE_TERMINAL", "ICPURSE_PROGRAMME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ICPURSE_DB", "sqlite:///%s" % (tmp_path / "ledger.db"))
    monkeypatch.setenv("ICPURSE_READER", "sim:%s" % (tmp_path / "hopper"))
    monkeypatch.setenv("ICPURSE_SIM_STATE", str(tmp_path / "hopper"))
    monkeypatch.setenv("ICPURSE_OPERATOR", "nobody")
    monkeypatch.setenv("ICPURSE_OPERATOR_PASSWORD", "not the password")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("path", [p for p in LEAVES if p not in RUNS_A_DAY], ids=" ".join)
def test_json_gives_one_json_document(bare, path):
    result = CliRunner().invoke(main, list(path) + ["--json"], input="")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.exception, result.output)
    doc = json.loads(result.stdout)  # exactly one document on stdout, nothing else
    if isinstance(doc, dict) and doc.get("ok") is False:
        assert doc["exit_code"] == result.exit_code and doc["error"]
