"""The virtual PC/SC reader through the real stack: pyscard -> pcscd -> vpcd -> `icpurse sim serve
--pcsc`. Expected bytes: the ACS APDUs and ATRs and vpcd's reader names (docs/simulator.md, "The three ways
in")."""
import os
import shutil
import subprocess
import time

import pytest

from support.simproc import START_TIMEOUT_S, SimProcess, wait_for

smartcard = pytest.importorskip("smartcard", reason="pyscard not installed (pip extra icpurse[pcsc])")
from smartcard.Exceptions import CardConnectionException, NoCardException  # noqa: E402
from smartcard.System import readers  # noqa: E402

pytestmark = pytest.mark.pcsc

READER = "Virtual PCD 00 00"
ATR_1K = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
ATR_4K = bytes.fromhex("3B8F8001804F0CA0000003060300020000000069")


def h(text):
    return list(bytes.fromhex(text.replace(" ", "")))


def find_reader():
    try:
        found = readers()
    except Exception:  # pcscd still starting (pyscard raises its own context exceptions)
        return None
    for r in found:
        if str(r) == READER:
            return r
    return None


def connect(expect_atr=None):
    """A connection to the card in the virtual reader, once pcscd has seen it (bounded wait)."""
    def attempt():
        r = find_reader()
        if r is None:
            return None
        conn = r.createConnection()
        try:
            conn.connect()
        except (NoCardException, CardConnectionException):
            release(conn)
            return None
        if expect_atr is not None and bytes(conn.getATR()) != expect_atr:
            release(conn)
            return None
        return conn
    return wait_for(attempt, what="a card in %r" % READER)


def no_card():
    r = find_reader()
    if r is None:
        return False
    conn = r.createConnection()
    try:
        conn.connect()
    except (NoCardException, CardConnectionException):
        return True
    finally:
        release(conn)
    return False


def release(conn):
    """Disconnect and free the PC/SC context, tolerating a card that is already gone. pcscd reports
    a new card in a slot only once every handle to the previous one is released; and a context
    left to the garbage collector would be released after pcscd has stopped."""
    try:
        conn.disconnect()
    except CardConnectionException:
        pass
    try:
        conn.release()
    except CardConnectionException:
        pass


def tx(conn, apdu):
    data, sw1, sw2 = conn.transmit(h(apdu))
    return bytes(data + [sw1, sw2]).hex().upper()


@pytest.fixture(scope="module")
def sim(pcscd, tmp_path_factory):
    control = str(tmp_path_factory.mktemp("pcsc") / "control")
    # --pty and --pcsc together: one deck behind both readers
    proc = SimProcess(["--pty", "--pcsc", "--card", "one=1k:DEADBEEF", "--card", "big=4k:01020304"], control)
    try:
        assert proc.first_line.startswith("pn532 /dev/")
        assert proc.pcsc == READER
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def conn(sim):
    sim.command("present one")
    c = connect(ATR_1K)
    try:
        yield c
    finally:
        release(c)


def test_reader_and_atr(conn):
    assert bytes(conn.getATR()) == ATR_1K


def test_uid(conn):
    assert tx(conn, "FF CA 00 00 00") == "DEADBEEF9000"
    assert tx(conn, "FF CA 00 00 02") == "6C04"
    assert tx(conn, "FF CA 01 00 00") == "6A81"


def test_load_key_authenticate_read_write(conn, sim):
    assert tx(conn, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
    assert tx(conn, "FF 86 00 00 05 01 00 08 60 00") == "9000"
    assert tx(conn, "FF B0 00 08 10") == "00" * 16 + "9000"
    data = "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F".replace(" ", "")
    assert tx(conn, "FF D6 00 08 10" + data) == "9000"
    assert tx(conn, "FF B0 00 08 10") == data + "9000"
    assert tx(conn, "FF 88 00 0B 60 00") == "9000"  # obsolete authenticate, same sector
    assert tx(conn, "FF B0 00 0B 10") == "000000000000FF078069FFFFFFFFFFFF9000"
    # the simulator's card holds what PC/SC wrote (control socket dump: block 8 at offset 128)
    assert sim.dump("one")[128:144] == bytes.fromhex(data)


def test_value_operations(conn):
    assert tx(conn, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
    assert tx(conn, "FF 86 00 00 05 01 00 04 60 00") == "9000"
    assert tx(conn, "FF D7 00 05 05 00 00 00 00 01") == "9000"
    assert tx(conn, "FF B1 00 05 04") == "000000019000"
    assert tx(conn, "FF D7 00 06 05 00 00 00 00 00") == "9000"
    assert tx(conn, "FF D7 00 05 02 03 06") == "9000"
    assert tx(conn, "FF B1 00 06 04") == "000000019000"
    assert tx(conn, "FF D7 00 05 05 01 00 00 00 05") == "9000"
    assert tx(conn, "FF B1 00 05 04") == "000000069000"
    assert tx(conn, "FF D7 00 05 05 02 00 00 00 0A") == "9000"
    assert tx(conn, "FF B1 00 05 04") == "FFFFFFFC9000"  # -4, MSB first on the APDU
    assert tx(conn, "FF B0 00 05 10")[:8] == "FCFFFFFF"  # LSB first on the card
    assert tx(conn, "FF D7 00 05 02 03 08") == "6300"  # restore target in another sector


def test_wrong_key_fails_then_right_key_works(conn):
    assert tx(conn, "FF 82 00 01 06 A0 A1 A2 A3 A4 A5") == "9000"
    assert tx(conn, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
    assert tx(conn, "FF 86 00 00 05 01 00 0C 60 01") == "6300"
    assert tx(conn, "FF B0 00 0C 10") == "6300"  # halted card
    assert tx(conn, "FF 86 00 00 05 01 00 0C 60 00") == "9000"  # re-selected by the reader
    assert tx(conn, "FF B0 00 0C 10") == "00" * 16 + "9000"


def test_failures_answer_6300(conn):
    assert tx(conn, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
    assert tx(conn, "FF B0 00 10 10") == "6300"  # not authenticated
    assert tx(conn, "FF 86 00 00 05 01 00 10 60 00") == "9000"
    assert tx(conn, "FF D6 00 00 10" + "00" * 16) == "6300"  # other sector
    assert tx(conn, "FF B1 00 10 04") == "6300"  # not a value block


def test_swap_to_4k_card(sim, conn):
    sim.command("swap big")
    release(conn)
    c = connect(ATR_4K)
    try:
        assert tx(c, "FF CA 00 00 00") == "010203049000"
        assert tx(c, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
        assert tx(c, "FF 86 00 00 05 01 00 80 60 00") == "9000"
        assert len(bytes.fromhex(tx(c, "FF B0 00 80 F0"))) == 240 + 2
    finally:
        release(c)


def test_removal_is_visible_to_pcsc(sim, conn):
    assert tx(conn, "FF CA 00 00 00") == "DEADBEEF9000"
    sim.command("remove")
    with pytest.raises(CardConnectionException):
        # pcscd polls card presence; within its poll period the transmit reports the removal
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            tx(conn, "FF CA 00 00 00")
            time.sleep(0.05)
    release(conn)
    wait_for(no_card, what="the reader to report no card")
    sim.command("present one")
    c = connect(ATR_1K)
    assert tx(c, "FF CA 00 00 00") == "DEADBEEF9000"
    release(c)


@pytest.mark.libnfc
def test_pcsc_and_libnfc_see_the_same_card(sim, conn, tmp_path):
    if shutil.which("nfc-mfclassic") is None:
        pytest.skip("nfc-mfclassic not installed (Debian package libnfc-bin)")
    assert tx(conn, "FF 82 00 00 06 FF FF FF FF FF FF") == "9000"
    assert tx(conn, "FF 86 00 00 05 01 00 0D 60 00") == "9000"
    data = "50 43 2F 53 43 20 77 72 6F 74 65 20 74 68 69 73".replace(" ", "")  # "PC/SC wrote this"
    assert tx(conn, "FF D6 00 0D 10" + data) == "9000"
    env = dict(os.environ, LIBNFC_DEFAULT_DEVICE="pn532_uart:" + sim.pn532, LIBNFC_AUTO_SCAN="false")
    out = tmp_path / "via-libnfc.mfd"
    res = subprocess.run(["nfc-mfclassic", "r", "a", "u", str(out)], env=env, capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.read_bytes()[13 * 16:14 * 16] == bytes.fromhex(data)
