"""Malformed programmes files: each gives one clear error naming the file and the setting (exit 2
from `icpurse programme check`, no traceback), and nothing is written."""
import copy
import tomllib

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icpurse.host.programmes import ProgrammeFileError, check_programme, load_programmes
from icpurse.host.programmes.cli import programme
from icpurse.host.programmes.model import parse_programme
from icpurse.host.programmes.profiles import ProfileError
from support.ledger import EXAMPLES

UTILITY = (EXAMPLES / "utility-payment-card.toml").read_text(encoding="utf-8")
GOOD = '''[[programme]]
id = "p1"
name = "P1"
issuer = "X"
profile = "mofcom"
kinds = ["anonymous"]
face_values = [10000]
'''

BROKEN = [
    # (file bytes, words the message must contain)
    (b"\xff\xfe[[programme]]\n", ["not UTF-8", "UTF-8 TOML"]),
    (b"\x00\x01\x02garbage", ["not valid TOML"]),
    (b"", ["no programmes", "[[programme]]"]),
    (b"programme = 5\n", ["no programmes"]),
    (b"programme = [1, 2]\n", ["programme #1", "not a table", "[[programme]]"]),
    (b"programme = [\"x\"]\n", ["programme #1", "not a table"]),
    (GOOD.encode()[:-8], ["not valid TOML"]),  # truncated mid-line
    (GOOD.replace("[10000]", "[100.0]").encode(), ["face_values[0]", "integer number of fen"]),
    (GOOD.replace("[10000]", "\"10000\"").encode(), ["face_values", "list"]),
    (GOOD.replace('kinds = ["anonymous"]', 'kinds = "anonymous"').encode(), ["kinds", "list of text"]),
    ((GOOD + "validity = 24\n").encode(), ["validity", "none"]),
    ((GOOD + "validity = { years = -2 }\n").encode(), ["validity.years", ">= 0"]),
    ((GOOD + "[programme.refund]\ncash_limit = \"lots\"\n").encode(), ["refund.cash_limit", "fen"]),
    ((GOOD + "numbering = 5\n").encode(), ["numbering", "table"]),
    (UTILITY.replace('scheme = "utility12"', "scheme = []").encode(), ["numbering", "wrong type"]),
    (UTILITY.replace("platforms = ", "platforms = 5 #").encode(), ["numbering", "wrong type"]),
    ((GOOD + "colour = \"red\"\n").encode(), ["unknown setting", "colour"]),
]


@pytest.mark.parametrize("content,words", BROKEN)
def test_broken_programmes_file_gives_a_clear_error_and_changes_nothing(tmp_path, content, words):
    path = tmp_path / "programmes.toml"
    path.write_bytes(content)
    result = CliRunner().invoke(programme, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    message = result.output
    assert "Traceback" not in message
    assert str(path) in message
    for w in words:
        assert w in message, (w, message)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programmes.toml"]


def test_missing_file_and_folder(tmp_path):
    for path in (tmp_path / "nope.toml", tmp_path):
        with pytest.raises(ProgrammeFileError, match="cannot read"):
            load_programmes(path)


def test_unknown_profile_is_a_clear_error(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace('"mofcom"', '"nowhere"'))
    result = CliRunner().invoke(programme, ["check", str(path)])
    assert result.exit_code == 2 and "unknown profile 'nowhere'" in result.output


def _leaves(d, path=()):
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        yield path + (k,)
        yield from _leaves(v, path + (k,))


PROGRAMMES = [p for f in sorted(EXAMPLES.glob("*.toml")) for p in tomllib.loads(f.read_text("utf-8"))["programme"]]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70), st.floats(allow_nan=True),
                   st.text(max_size=8), st.lists(st.integers(-5, 5), max_size=3), st.lists(st.text(max_size=3), max_size=2),
                   st.dictionaries(st.text(max_size=6), st.integers(-5, 100000), max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_setting_of_any_type_gives_a_programme_or_a_programme_file_error(data):
    prog = copy.deepcopy(data.draw(st.sampled_from(PROGRAMMES)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_leaves(prog)) or [("id",)]))
        target = prog
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = data.draw(VALUES)
    try:
        parsed = parse_programme(prog, "mutated.toml")
    except ProgrammeFileError as e:
        assert str(e).startswith("mutated.toml"), e
        return
    try:
        check_programme(parsed)
    except ProfileError:
        pass  # an unknown profile name: check's documented refusal
