"""Rig description files: the shipped rigs load, every mistake is named with file and setting,
PORT / --port choose the serial port, absent hardware is a reason, not an error."""
import pytest

from icpurse.hil.rigfile import RIGS_DIR, RigError, load_rig, parse_rig

VIRTUAL = {"rig": {"name": "v"}, "store_reader": {"transport": "virtual"}, "issuance_reader": {"transport": "virtual"},
           "cards": {"presenter": "virtual", "count": 3}}
SERIAL = {"rig": {"name": "bench"}, "store_reader": {"transport": "serial"}, "issuance_reader": {"transport": "store"},
          "cards": {"presenter": "operator"}}


def rig_with(base, **tables):
    data = {k: dict(v) for k, v in base.items()}
    for table, values in tables.items():
        data.setdefault(table, {}).update(values)
    return data


def test_shipped_rigs_load():
    v = load_rig(RIGS_DIR / "virtual.toml")
    assert (v.name, v.store.transport, v.issuance.transport, v.cards.presenter) == ("virtual", "virtual", "store",
                                                                                   "virtual")
    two = load_rig(RIGS_DIR / "virtual-two-readers.toml")
    assert (two.store.transport, two.issuance.transport) == ("virtual", "virtual")
    assert v.sweep_pulls is None and v.virtual and not v.needs_operator and v.absent() is None
    hw = load_rig(RIGS_DIR / "esp32-pn532.toml", port="")
    assert (hw.store.transport, hw.issuance.transport, hw.cards.presenter, hw.sweep_pulls) == ("serial", "store",
                                                                                               "operator", 3)
    assert hw.deploy.commands("/dev/ttyUSB0") == ["make --no-print-directory deploy PORT=/dev/ttyUSB0"]
    assert hw.deploy.commands("/dev/ttyUSB0", "fw.bin")[0] == \
        "make --no-print-directory flash PORT=/dev/ttyUSB0 FIRMWARE=fw.bin"


def test_default_rig_is_the_virtual_one():
    assert load_rig().name == "virtual"


def test_port_option_then_environment_then_file(monkeypatch, tmp_path):
    data = rig_with(SERIAL, store_reader={"port": "/dev/from-file"})
    assert parse_rig(data, "x.toml").store.port == "/dev/from-file"
    assert parse_rig(data, "x.toml", port="/dev/from-option").store.port == "/dev/from-option"
    path = tmp_path / "r.toml"
    path.write_text('[rig]\nname = "r"\n[store_reader]\ntransport = "serial"\n[issuance_reader]\ntransport = "store"\n'
                    '[cards]\npresenter = "operator"\n')
    monkeypatch.setenv("PORT", "/dev/from-env")
    assert load_rig(path).store.port == "/dev/from-env"
    assert load_rig(path, port="/dev/opt").store.port == "/dev/opt"


def test_absent_hardware_is_one_line_saying_what_is_missing(tmp_path):
    assert "no serial port" in parse_rig(SERIAL, "b.toml").absent()
    missing = str(tmp_path / "ttyUSB9")
    assert parse_rig(SERIAL, "b.toml", port=missing).absent() == \
        "rig bench: serial port %s not found (ESP32 not plugged in?)" % missing
    present = tmp_path / "ttyUSB0"
    present.write_text("")
    assert parse_rig(SERIAL, "b.toml", port=str(present)).absent() is None
    emu = rig_with(SERIAL, cards={"presenter": "emulator"})
    assert "reserved" in parse_rig(emu, "b.toml", port=str(present)).absent()


@pytest.mark.parametrize("tables, where", [
    ({"extra": {}}, "unknown setting extra"),
    ({"store_reader": {"transport": "pcsc"}}, "store_reader.transport: pcsc is for the issuance reader only"),
    ({"store_reader": {"transport": "usb"}}, "store_reader.transport: must be one of serial, virtual"),
    ({"store_reader": {"port": "/dev/x"}}, "store_reader.port: only a serial store reader has a port"),
    ({"store_reader": {"terminal": 0}}, "store_reader.terminal"),
    ({"issuance_reader": {"transport": "pcsc"}}, "issuance_reader.transport: a PC/SC issuance reader cannot see"),
    ({"issuance_reader": {"name": "ACR"}}, "issuance_reader.name: only a pcsc issuance reader has a name"),
    ({"cards": {"presenter": "operator"}}, "cards.presenter: the virtual deck goes with a virtual store reader"),
    ({"cards": {"count": 0}}, "cards.count: must be 1..16"),
    ({"cards": {"size": "2k"}}, "cards.size: must be one of 1k, 4k"),
    ({"sweeps": {"pulls": -1}}, "sweeps.pulls"),
    ({"timeouts": {"scenario": 0}}, "timeouts.scenario: must be a number of seconds > 0"),
    ({"deploy": {"steps": ["make deploy"]}}, "deploy.steps: only a rig with a serial (ESP32) store reader"),
])
def test_mistakes_name_the_file_and_setting(tables, where):
    with pytest.raises(RigError) as e:
        parse_rig(rig_with(VIRTUAL, **tables), "rigs/mine.toml")
    assert str(e.value).startswith("rigs/mine.toml: ") and where in str(e.value)


def test_hardware_rig_mistakes():
    with pytest.raises(RigError, match=r"sweeps.pulls: 'all' \(every command index\) needs the virtual deck"):
        parse_rig(rig_with(SERIAL, sweeps={"pulls": "all"}), "b.toml")
    with pytest.raises(RigError, match=r"deploy.steps\[0\]: unknown placeholder \{board\}"):
        parse_rig(rig_with(SERIAL, deploy={"steps": ["make deploy PORT={board}"]}), "b.toml")
    with pytest.raises(RigError, match="issuance_reader.transport: a virtual issuance reader needs the virtual deck"):
        parse_rig(rig_with(SERIAL, issuance_reader={"transport": "virtual"}), "b.toml")
    with pytest.raises(RigError, match="missing table"):
        parse_rig({"rig": {"name": "x"}}, "b.toml")


def test_unreadable_or_invalid_files(tmp_path):
    with pytest.raises(RigError, match="cannot read rig file .*nope.toml"):
        load_rig(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[rig\nname=")
    with pytest.raises(RigError, match="bad.toml: not valid TOML"):
        load_rig(bad)
