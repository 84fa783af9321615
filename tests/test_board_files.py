"""board/: the production image's manifest, the boards it is built for, and the mip package
description -- each checked against what `make firmware` / `make deploy` put on a board."""
import json
import re
from pathlib import Path

import pytest

from icpurse.firmware.hal import partition
from icpurse.host import firmware_build as fb

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "board"


def test_package_json_is_fresh_and_lists_every_deployed_source():
    text = (BOARD / "package.json").read_text()
    assert text == fb.package_json(), "board/package.json is stale: python -m icpurse.host.firmware_build --package-json"
    urls = dict(json.loads(text)["urls"])
    for dest, src in urls.items():
        assert (BOARD / src).resolve().is_file(), (dest, src)  # relative to package.json, as mip resolves it
    deployed = {"icpurse/" + rel for rel, _ in fb.image_sources()}
    assert deployed <= set(urls)
    assert "icpurse/firmware/reader.py" in urls and "icpurse/firmware/linkauth.py" in urls
    assert "icpurse/firmware/hal/sim.py" not in urls and "icpurse/firmware/main.py" not in urls
    # every package on the way has its __init__.py
    for dest in urls:
        parts = dest.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            assert "/".join(parts[:i]) + "/__init__.py" in urls, dest


def _manifest_calls(board_dir):
    calls = []
    env = {"include": lambda p: calls.append(("include", p)), "freeze": lambda p, *a, **k: calls.append(("freeze", p))}
    exec((BOARD / "manifest.py").read_text(), env)
    out = []
    for verb, p in calls:
        out.append((verb, p.replace("$(BOARD_DIR)", str(board_dir))))
    return out


@pytest.mark.parametrize("name, target", [("ICPURSE_ESP32", "esp32"), ("ICPURSE_ESP32_S3", "esp32s3")])
def test_each_board_builds_the_frozen_firmware_without_a_repl(name, target, tmp_path):
    d = BOARD / name
    cmake = (d / "mpconfigboard.cmake").read_text()
    assert "set(IDF_TARGET %s)" % target in cmake
    assert "${MICROPY_BOARD_DIR}/../manifest.py" in cmake and "sdkconfig.security" in cmake
    header = (d / "mpconfigboard.h").read_text()
    assert re.search(r"MICROPY_HW_ENABLE_UART_REPL\s+\(0\)", header)
    if target == "esp32s3":
        assert re.search(r"MICROPY_HW_ESP_USB_SERIAL_JTAG\s+\(0\)", header)
        assert re.search(r"MICROPY_HW_ENABLE_USBDEV\s+\(0\)", header)
    calls = _manifest_calls(d)
    assert calls[0] == ("include", "$(PORT_DIR)/boards/manifest.py")
    (frozen,) = [Path(p) for verb, p in calls if verb == "freeze"]
    assert frozen.resolve() == (ROOT / "build" / "firmware" / "frozen").resolve()


def test_security_settings_name_flash_encryption_secure_boot_and_nvs_encryption():
    cfg = (BOARD / "sdkconfig.security").read_text()
    for line in ("CONFIG_SECURE_FLASH_ENC_ENABLED=y", "CONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE=y",
                 "CONFIG_SECURE_BOOT=y", "CONFIG_NVS_ENCRYPTION=y", "CONFIG_PARTITION_TABLE_OFFSET=0x10000"):
        assert line in cfg.splitlines(), line
    table = [l.split(",") for l in (BOARD / "partitions-icpurse.csv").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    rows = {r[0].strip(): [c.strip() for c in r[1:]] for r in table}
    assert rows["nvs_keys"][:2] == ["data", "nvs_keys"] and rows["nvs_keys"][4] == "encrypted"
    # partitions follow each other, after the moved partition table, apps on 64 KiB boundaries
    end = 0x11000
    for name in ("nvs", "nvs_keys", "phy_init", "icpurse", "factory", "vfs"):
        off, size = int(rows[name][2], 16), int(rows[name][3], 16)
        assert off >= end, name
        end = off + size
    assert int(rows["factory"][2], 16) % 0x10000 == 0 and end <= 0x400000
    # the state ring's partition (firmware/hal/partition.py finds it by this label): raw data, whole
    # 4 KB sectors, at least the three the ring needs, and not encrypted (erased slots read 0xFF)
    ring = rows[partition.LABEL]
    assert ring[0] == "data" and int(ring[1], 0) >= 0x40
    off, size = int(ring[2], 16), int(ring[3], 16)
    assert off % 0x1000 == 0 and size % 0x1000 == 0 and size // 0x1000 >= 3
    assert len(ring) < 5 or "encrypted" not in ring[4]


@pytest.mark.skipif(fb.find_mpy_cross() is None, reason="mpy-cross not found — run `make setup`")
def test_the_frozen_tree_is_the_deployed_firmware_plus_main_and_the_production_flag(tmp_path):
    fb.build(tmp_path)
    frozen = tmp_path / "frozen"
    files = {p.relative_to(frozen).as_posix() for p in frozen.rglob("*.py")}
    sources = {"icpurse/" + rel for rel, _ in fb.image_sources()}
    assert files - {"icpurse/__init__.py"} == sources | {"main.py", "icpurse_board.py"}
    assert (frozen / "main.py").read_text() == (ROOT / "firmware" / "main.py").read_text()
    env = {}
    exec((frozen / "icpurse_board.py").read_text(), env)
    assert env["PRODUCTION"] is True
