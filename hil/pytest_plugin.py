"""pytest plugin of the HIL rig: `-p icpurse.hil.pytest_plugin` (tests/hil/conftest.py loads it too).

Options: `--rig FILE` (default hil/rigs/virtual.toml), `--port PATH` (the ESP32's serial port;
else $PORT), `--deploy` / `--flash FIRMWARE` (run the rig's [deploy] commands first),
`--hil-timeout S` (override the rig's per-scenario timeout).

Markers: `hil(timeout=None)` a scenario of the HIL suite; `needs_operator` needs a person at an
operator rig (skipped there when no terminal can take the prompts); `destructive` personalises
cards irreversibly (runs only when the rig's cards are `disposable`, or with --allow-destructive).

Fixtures: `rig`, `store_reader` (LinkClient), `issuance_reader`, `cards` (the presenter), `ledger`
(a temporary SQLite ledger), `hil_bench` (what the rig is made of).

When the rig's hardware is absent, every `hil` test is skipped with one line saying why, so
`make hil` without a board exits 0. A per-scenario timeout (SIGALRM) and a summary table
(scenario, rig, result, duration) at the end; `--junitxml` records the rig as a property.
"""
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from icpurse.hil.presenters import OperatorAbort
from icpurse.hil.rigfile import RigError, load_rig

__all__ = ["pytest_addoption", "pytest_configure", "pytest_report_header", "pytest_collection_modifyitems",
           "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_makereport",
           "pytest_terminal_summary", "rig", "hil_bench", "store_reader", "issuance_reader", "cards", "ledger",
           "hil_console", "ScenarioTimeout"]

REPO = Path(__file__).resolve().parents[1]
_STATE = pytest.StashKey()
_SKIP = pytest.StashKey()
_OPERATOR_SKIP = pytest.StashKey()
MARKERS = (
    "hil(timeout=None): a scenario of the HIL suite (tests/hil); timeout in seconds overrides the rig's",
    "needs_operator: needs a person answering prompts on an operator rig",
    "destructive: personalises cards irreversibly (needs a rig with disposable cards or --allow-destructive)",
)


class ScenarioTimeout(Exception):
    """The scenario ran longer than the rig's (or the marker's) timeout."""


class _State:
    def __init__(self):
        self.rig = None
        self.error = None  # RigError text
        self.absent = None  # one-line reason the hardware is not there
        self.results = {}  # nodeid -> [outcome, duration]
        self.order = []
        self.notes = {}  # nodeid -> "name=value ..." from the scenario's user properties
        self.failed_in = {}  # module nodeid -> first failed test name (sequential scenarios)
        self.items = 0
        self.nodeids = set()  # the HIL scenarios of this session


def _opt(config, name, default=None):
    # Late-registered (non-initial conftest) options are not on the command line: defaults then.
    return config.getoption(name, default)


def pytest_addoption(parser):
    g = parser.getgroup("hil", "hardware-in-the-loop rig (docs/hil.md)")
    g.addoption("--rig", default=None, metavar="FILE", help="rig description (default hil/rigs/virtual.toml)")
    g.addoption("--port", default=None, metavar="PATH", help="serial port of the ESP32 store reader (else $PORT)")
    g.addoption("--deploy", action="store_true", default=False, help="run the rig's [deploy] steps first")
    g.addoption("--flash", default=None, metavar="FIRMWARE", help="flash this MicroPython image first (erases the board)")
    g.addoption("--hil-timeout", type=float, default=None, metavar="S", help="per-scenario timeout in seconds")
    g.addoption("--allow-destructive", action="store_true", default=False,
                help="run destructive scenarios even if the rig's cards are not marked disposable")


def pytest_configure(config):
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    state = _State()
    config.stash[_STATE] = state
    config.pluginmanager.register(_Recorder(state), "icpurse-hil-recorder")
    try:
        state.rig = load_rig(_opt(config, "rig"), _opt(config, "port"))
    except RigError as e:
        state.error = str(e)
        return
    state.absent = state.rig.absent()


def _state(config):
    return config.stash.get(_STATE, None)


def pytest_report_header(config):
    s = _state(config)
    if s is None:
        return None
    if s.error:
        return "hil rig: ERROR %s" % s.error
    r = s.rig
    line = "hil rig: %s (%s)" % (r.name, r.path)
    return line + (" — SKIPPED: %s" % s.absent if s.absent else "")


def _is_hil(item):
    return item.get_closest_marker("hil") is not None


def pytest_collection_modifyitems(session, config, items):
    s = _state(config)
    if s is None:
        return
    hil_items = [i for i in items if _is_hil(i)]
    s.items = len(hil_items)
    s.nodeids = {i.nodeid for i in hil_items}
    if not hil_items:
        return
    if s.error:
        raise pytest.UsageError(s.error)
    rig = s.rig
    no_operator = rig.operator_absent()
    for item in hil_items:
        # Skipped in setup (not by a mark) so the short summary folds them into one line.
        if s.absent:
            item.stash[_SKIP] = "HIL hardware absent: %s" % s.absent
        elif item.get_closest_marker("needs_operator") and no_operator:
            item.stash[_SKIP] = "no operator: %s" % no_operator
        elif item.get_closest_marker("destructive") and not (rig.cards.disposable or _opt(config, "allow_destructive")):
            item.stash[_SKIP] = ("destructive: rig %s's cards are not disposable (set [cards] disposable = true or "
                                 "pass --allow-destructive)" % rig.name)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if not _is_hil(item):
        return
    reason = item.stash.get(_SKIP, None)
    if reason:
        pytest.skip(reason)
    s = _state(item.config)
    item.user_properties.append(("rig", s.rig.name))
    module = item.module.__name__ if item.module else ""
    if getattr(item.module, "HIL_SEQUENTIAL", False) and module in s.failed_in:
        pytest.xfail("not run: the earlier step %s failed or was skipped" % s.failed_in[module])


def _timeout(item):
    s = _state(item.config)
    marker = item.get_closest_marker("hil")
    limit = marker.kwargs.get("timeout") if marker else None
    override = _opt(item.config, "hil_timeout")
    return override or limit or s.rig.timeouts.scenario


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _is_hil(item):
        return (yield)
    try:
        return (yield from _with_timeout(item))
    except OperatorAbort as e:
        if e.action != "skip":
            raise
        item.stash[_OPERATOR_SKIP] = True
        pytest.skip("operator skipped this scenario%s" % (": " + e.note if e.note else ""))


def _with_timeout(item):
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        return (yield)
    limit = _timeout(item)
    rig = _state(item.config).rig

    def expired(signum, frame):
        raise ScenarioTimeout("scenario %s exceeded its timeout of %g s on rig %s" % (item.name, limit, rig.name))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    stopped = report.failed or (report.skipped and item.stash.get(_OPERATOR_SKIP, False))
    if _is_hil(item) and stopped and getattr(item.module, "HIL_SEQUENTIAL", False):
        _state(item.config).failed_in.setdefault(item.module.__name__, item.name)
    return report


class _Recorder:
    """Result and duration of each HIL scenario, for the summary table (logreport hooks get no config)."""

    def __init__(self, state):
        self.state = state

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.state.nodeids:
            return
        s = self.state
        row = s.results.get(report.nodeid)
        if row is None:
            row = s.results[report.nodeid] = ["passed", 0.0]
            s.order.append(report.nodeid)
        row[1] += report.duration
        notes = ["%s=%s" % (k, v) for k, v in report.user_properties if k != "rig"]
        if notes:
            s.notes[report.nodeid] = " ".join(notes)
        if report.failed:
            row[0] = "failed" if report.when == "call" else "error"
        elif report.skipped and row[0] == "passed":
            reason = getattr(report, "wasxfail", None)
            row[0] = "skipped" if reason is None else "not run" if reason.startswith("not run") else "xfailed"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    s = _state(config)
    if s is None or not s.items:
        return
    tr = terminalreporter
    rig = s.rig.name if s.rig else "?"
    if s.absent:
        tr.write_sep("=", "HIL suite skipped")
        tr.write_line("HIL: all %d scenarios skipped: %s" % (s.items, s.absent))
        return
    tr.write_sep("=", "HIL summary (rig %s)" % rig)
    rows = [(nodeid.split("::", 1)[-1], rig, s.results[nodeid][0], "%.2f s" % s.results[nodeid][1],
             s.notes.get(nodeid, "")) for nodeid in s.order]
    head = ("scenario", "rig", "result", "duration", "notes")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    tr.write_line((fmt % head).rstrip())
    tr.write_line((fmt % tuple("-" * w for w in widths)).rstrip())
    for r in rows:
        tr.write_line((fmt % r).rstrip(), red=r[2] in ("failed", "error"), green=r[2] == "passed")


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def rig(request):
    """The parsed rig file (hil.rigfile.Rig); skips when its hardware is absent."""
    s = _state(request.config)
    if s.error:
        raise pytest.UsageError(s.error)
    if s.absent:
        pytest.skip("HIL hardware absent: %s" % s.absent)
    return s.rig


def _run_deploy(config, rig):
    commands = []
    if _opt(config, "flash") or _opt(config, "deploy"):
        commands = rig.deploy.commands(rig.store.port, _opt(config, "flash"))
    capman = config.pluginmanager.getplugin("capturemanager")
    for cmd in commands:
        if capman:
            capman.suspend_global_capture()
        try:
            print("\n[hil] deploy: %s" % cmd, flush=True)
            done = subprocess.run(cmd, shell=True, cwd=str(REPO))
        finally:
            if capman:
                capman.resume_global_capture()
        if done.returncode:
            raise RuntimeError("rig %s: deploy step failed (exit %d): %s" % (rig.name, done.returncode, cmd))


class HardwareBench:
    """A rig of real boards: the serial port, and nothing simulated."""

    def __init__(self, rig):
        self.port = rig.store.port
        self.decks = None
        self.issuance_reader = None

    def close(self):
        pass


@pytest.fixture(scope="session")
def hil_bench(rig, request, tmp_path_factory):
    """What the rig is made of: hil.virtual.VirtualBench, or the port of the real board."""
    if rig.virtual:
        from icpurse.hil.virtual import VirtualBench

        bench = VirtualBench(rig, tmp_path_factory.mktemp("virtual-reader"))
    else:
        _run_deploy(request.config, rig)
        bench = HardwareBench(rig)
    yield bench
    bench.close()


@pytest.fixture(scope="session")
def store_reader(rig, hil_bench):
    """LinkClient to the store reader: the virtual ESP32 on its pty, or the board on PORT."""
    from icpurse.host.readers.serial import LinkClient

    client = LinkClient(hil_bench.port, rig.store.baud, timeout=5.0 if rig.virtual else 10.0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def issuance_reader(rig, hil_bench, store_reader):
    """A host/readers reader (wait_for_card -> tag) for personalisation and loads."""
    from icpurse.hil.stations import SharedLinkReader

    t = rig.issuance.transport
    if t == "virtual":
        reader = hil_bench.issuance_reader
    elif t == "store":
        reader = SharedLinkReader(store_reader)
    else:
        from icpurse.host.readers import open_reader

        reader = open_reader("pcsc:%s" % rig.issuance.name if rig.issuance.name else "pcsc")
    yield reader
    reader.close()


@pytest.fixture(scope="session")
def hil_console(rig):
    """The operator's terminal (operator rigs only)."""
    if not rig.needs_operator:
        yield None
        return
    from icpurse.hil.presenters import Console

    console = Console(timeout=rig.timeouts.operator)
    yield console
    console.close()


@pytest.fixture(scope="session")
def cards(rig, hil_bench, hil_console):
    """The presenter: present(i, at), pull(), pull_during_write(), pull sweeps."""
    from icpurse.hil.presenters import OperatorPresenter, VirtualDeckPresenter

    if rig.cards.presenter == "virtual":
        return VirtualDeckPresenter(hil_bench.decks, hil_bench.cards)
    same = rig.issuance.transport == "store"
    presenter = OperatorPresenter(hil_console, rig.cards.count, rig.sweep_pulls, same_reader=same)
    hil_console.say("rig %s: %d test cards numbered 1..%d, the reader on %s. Answer each prompt with Enter."
                    % (rig.name, rig.cards.count, rig.cards.count, rig.store.port))
    return presenter


@pytest.fixture(scope="session")
def ledger(tmp_path_factory):
    """A fresh SQLite ledger in a temporary folder (with a test data key for holder IDs)."""
    from icpurse.host.ledger import open_ledger

    path = tmp_path_factory.mktemp("hil-ledger") / "ledger.db"
    from icpurse.keys import backoffice
    from icpurse.keys.demo import demo_domain

    led = open_ledger("sqlite:///%s" % path, data_key=bytes(range(32)),
                      audit_key=backoffice.audit_key(demo_domain()).material)
    yield led
    led.close()

