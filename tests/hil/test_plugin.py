"""The HIL pytest plugin, run as `make hil` runs it (a pytest subprocess): skipped with one line and
exit 0 without hardware, a per-scenario timeout, the summary table, JUnit XML, clear rig errors."""
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-p", "icpurse.hil.pytest_plugin", "-p", "no:cacheprovider"]


def run(args, cwd=REPO):
    # a new session: no controlling terminal, as under CI (operator prompts impossible)
    return subprocess.run(PYTEST + args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          start_new_session=True)


def test_make_hil_without_hardware_skips_everything_and_exits_0(tmp_path):
    xml = tmp_path / "hil-junit.xml"
    done = run(["tests/hil/test_scenarios.py", "--rig", "hil/rigs/esp32-pn532.toml", "--port", "",
                "--junitxml", str(xml)])
    assert done.returncode == 0, done.stdout + done.stderr
    reason = "rig esp32-pn532: no serial port for the store reader (make hil PORT=/dev/ttyUSB0, or --port)"
    assert "HIL: all 14 scenarios skipped: " + reason in done.stdout
    skip_lines = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skip_lines) == 1 and reason in skip_lines[0], skip_lines  # one line, not one per scenario
    cases = list(ET.parse(xml).iter("testcase"))
    assert len(cases) == 14 and all(c.find("skipped") is not None for c in cases)


SUITE = """
import time
import pytest

HIL_SEQUENTIAL = True
pytestmark = pytest.mark.hil


def test_first(rig):
    assert rig.name == "{name}"


@pytest.mark.hil(timeout=0.2)
def test_hangs():
    time.sleep(30)


def test_after_the_failure():
    pass
"""


SKIPPING_SUITE = """
import pytest

from icpurse.hil.presenters import OperatorAbort

HIL_SEQUENTIAL = True
pytestmark = pytest.mark.hil


def test_operator_types_skip():
    raise OperatorAbort("skip", "card 3 is missing")


def test_needs_card_3():
    pass
"""


def test_timeout_summary_table_sequence_and_junit(tmp_path):
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE.format(name="virtual")))
    (tmp_path / "test_skipping.py").write_text(textwrap.dedent(SKIPPING_SUITE))
    xml = tmp_path / "out.xml"
    done = run([str(tmp_path / "test_suite.py"), str(tmp_path / "test_skipping.py"), "-rsx",
                "--rig", str(REPO / "hil/rigs/virtual.toml"), "--junitxml", str(xml), "-o", "junit_family=xunit1"],
               cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "ScenarioTimeout: scenario test_hangs exceeded its timeout of 0.2 s on rig virtual" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.split("HIL summary (rig virtual)")[1].splitlines()
            if line.startswith("test_")}
    assert rows["test_first"][:2] == ["virtual", "passed"]
    assert rows["test_hangs"][:2] == ["virtual", "failed"]
    assert rows["test_after_the_failure"][:3] == ["virtual", "not", "run"]
    assert float(rows["test_hangs"][2]) < 5  # stopped by the timeout, not by the 30 s sleep
    assert rows["test_operator_types_skip"][:2] == ["virtual", "skipped"]
    assert "operator skipped this scenario: card 3 is missing" in out
    assert rows["test_needs_card_3"][:3] == ["virtual", "not", "run"]
    props = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in ET.parse(xml).iter("testcase")}
    assert props["test_first"] == {"rig": "virtual"}


OPERATOR_SUITE = """
import pytest

pytestmark = pytest.mark.hil


def test_link_only(rig):
    assert rig.store.port


@pytest.mark.needs_operator
def test_with_cards(rig):
    pass


@pytest.mark.destructive
def test_personalises(rig):
    pass
"""


def test_operator_and_destructive_scenarios_skip_with_their_reason(tmp_path):
    port = tmp_path / "ttyFAKE"
    port.write_text("")  # the "board" is there; the operator's terminal is not
    rig = tmp_path / "bench.toml"
    rig.write_text('[rig]\nname = "bench"\n[store_reader]\ntransport = "serial"\n[issuance_reader]\n'
                   'transport = "store"\n[cards]\npresenter = "operator"\n')
    (tmp_path / "test_op.py").write_text(textwrap.dedent(OPERATOR_SUITE))
    done = run([str(tmp_path / "test_op.py"), "--rig", str(rig), "--port", str(port), "-rs"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 skipped" in done.stdout
    assert "no operator: rig bench: operator prompts need a terminal (/dev/tty" in done.stdout
    assert "destructive: rig bench's cards are not disposable" in done.stdout


def test_a_broken_rig_file_is_a_usage_error_naming_it(tmp_path):
    rig = tmp_path / "broken.toml"
    rig.write_text('[rig]\nname = "b"\n[store_reader]\ntransport = "pcsc"\n')
    done = run(["tests/hil/test_scenarios.py", "--rig", str(rig)])
    assert done.returncode == 4, done.stdout + done.stderr
    assert "broken.toml: store_reader.transport: pcsc is for the issuance reader only" in done.stderr
