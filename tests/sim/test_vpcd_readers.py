"""Which PC/SC reader a vpcd port is: read from pcscd's reader.conf.d as pcscd reads it, and the
setup step that declares the reader named as a real ACR122U (tools/ensure-vpcd-acr122u), run on
temporary folders (docs/simulator.md, "The ACR122U persona")."""
import os
import subprocess

from icpurse.hil.sim.vpcd import acr122u_port, reader_name, vpcd_readers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(ROOT, "tools", "ensure-vpcd-acr122u")
# /etc/reader.conf.d/vpcd as Debian's vsmartcard-vpcd 3.3 ships it
DEBIAN_VPCD = """FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    0x8C7B
"""
# Debian's libccidtwin file: every line commented out
CCIDTWIN = """#DEVICENAME        /dev/ttySn[:reader]
#FRIENDLYNAME      "GemPCTwin serial"
#LIBPATH           /usr/lib/pcsc/drivers/serial/libccidtwin.so
"""


def confdir(tmp_path, **files):
    d = tmp_path / "reader.conf.d"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return str(d)


def setup_step(tmp_path, conf, driver=None):
    """Run the setup script on temporary folders (a fake driver file stands in for vpcd's)."""
    if driver is None:
        driver = tmp_path / "libifdvpcd.so"
        if not driver.exists():
            driver.write_bytes(b"\x7fELF fake vpcd driver")
    env = dict(os.environ, ICPURSE_READER_CONF_DIR=conf, ICPURSE_VPCD_COPY_DIR=str(tmp_path / "lib"),
               ICPURSE_VPCD_DRIVER=str(driver))
    return subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=30)


def test_debian_entry_names_two_slots_and_nothing_else(tmp_path):
    d = confdir(tmp_path, vpcd=DEBIAN_VPCD, libccidtwin=CCIDTWIN)
    assert vpcd_readers(d) == [("Virtual PCD", 35963)]
    assert reader_name(35963, d) == "Virtual PCD 00 00"
    assert reader_name(35964, d) == "Virtual PCD 00 01"
    assert reader_name(35965, d) == "vpcd port 35965"
    assert acr122u_port(d) is None


def test_unreadable_folder_means_debians_entry(tmp_path):
    assert vpcd_readers(str(tmp_path / "absent")) == [("Virtual PCD", 35963)]


def test_entries_vpcd_cannot_serve_here_are_skipped(tmp_path):
    d = confdir(tmp_path, a="""FRIENDLYNAME "Remote"
DEVICENAME   card.example:35970
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    1
FRIENDLYNAME\t"Default port"
LIBPATH\t/usr/lib/pcsc/drivers/serial/libifdvpcd.so
FRIENDLYNAME "Bad port"
DEVICENAME   /dev/null:zz
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
FRIENDLYNAME "Serial reader"
DEVICENAME   /dev/ttyS0
LIBPATH      /usr/lib/pcsc/drivers/serial/libccidtwin.so
""")
    # reverse mode (vpcd connects out), an unparsable port and another driver are not vpcd slots here
    assert vpcd_readers(d) == [("Default port", 35963)]


def test_setup_step_declares_the_acr122u_reader_on_its_own_driver_copy(tmp_path):
    d = confdir(tmp_path, vpcd=DEBIAN_VPCD)
    res = setup_step(tmp_path, d)
    assert res.returncode == 0, res.stderr
    assert vpcd_readers(d) == [("ACS ACR122U PICC Interface", 35965), ("Virtual PCD", 35963)]
    assert acr122u_port(d) == 35965
    assert reader_name(35965, d) == "ACS ACR122U PICC Interface 00 00"  # as a real ACR122U is named
    assert reader_name(35966, d) == "ACS ACR122U PICC Interface 00 01"
    assert reader_name(35963, d) == "Virtual PCD 00 00"  # Debian's reader unchanged
    conf = (tmp_path / "reader.conf.d" / "icpurse-acr122u").read_text()
    copy = tmp_path / "lib" / "libifdvpcd-acr122u.so"
    assert "LIBPATH      %s\n" % copy in conf  # not Debian's driver file: its globals would be shared
    assert copy.read_bytes() == (tmp_path / "libifdvpcd.so").read_bytes()
    assert sorted(os.listdir(d)) == ["icpurse-acr122u", "vpcd"]  # no temporary file left for pcscd


def test_setup_step_is_idempotent_and_follows_the_driver(tmp_path):
    d = confdir(tmp_path)
    assert setup_step(tmp_path, d).returncode == 0
    conf = tmp_path / "reader.conf.d" / "icpurse-acr122u"
    before = conf.stat().st_mtime_ns
    again = setup_step(tmp_path, d)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert conf.stat().st_mtime_ns == before
    (tmp_path / "libifdvpcd.so").write_bytes(b"\x7fELF vpcd driver, upgraded")
    assert setup_step(tmp_path, d).returncode == 0
    assert (tmp_path / "lib" / "libifdvpcd-acr122u.so").read_bytes() == b"\x7fELF vpcd driver, upgraded"


def test_setup_step_without_write_access_prints_the_command(tmp_path):
    (tmp_path / "file").write_text("")
    d = str(tmp_path / "file" / "reader.conf.d")  # cannot be created, even by root
    res = setup_step(tmp_path, d)
    assert res.returncode == 0
    assert "sudo %s" % os.path.realpath(SCRIPT) in res.stderr
    assert not os.path.exists(d)


def test_setup_step_without_the_vpcd_driver_says_which_package(tmp_path):
    res = setup_step(tmp_path, confdir(tmp_path), driver=tmp_path / "absent.so")
    assert res.returncode == 1
    assert "vsmartcard-vpcd" in res.stderr
