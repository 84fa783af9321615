"""firmware/linkauth.py and firmware/dayconfig.py on their own: the reader's guard over NVS, the
signer the host uses, the signed day configuration. Dual-run: CPython and MicroPython."""
import mpytest

from icpurse.firmware import dayconfig, linkauth
from icpurse.firmware.hal.sim import SimNvs
from icpurse.host import codec

KEY = bytes(range(16))
OTHER = bytes(range(1, 17))
CMD = codec.LINK_CMD_SET_TIME
BODY = codec.encode_set_time(1234)


def _guard(store=None, byte=7):
    nvs = SimNvs({} if store is None else store)
    return linkauth.LinkGuard(nvs, lambda n: bytes([byte]) * n), nvs


def _provisioned():
    g, nvs = _guard()
    g.save_keys(1, KEY, OTHER)
    return g, nvs


def test_a_signed_request_opens_once_and_its_counter_survives_a_reboot():
    g, nvs = _provisioned()
    s = linkauth.Signer(KEY, 42, g.nonce, g.counter)
    payload = s.sign(CMD, BODY)
    body, key, counter = g.open(CMD, payload, 42, 1)
    assert (body, key, counter) == (BODY, KEY, 1)
    again = linkauth.LinkGuard(nvs, lambda n: b"\xff" * n)  # after a power cycle
    assert (again.nonce, again.counter) == (g.nonce, 1)
    with mpytest.raises(linkauth.AuthFail) as e:
        again.open(CMD, payload, 42, 1)
    assert e.value.code == codec.LINK_ERR_REPLAYED


def test_refusals_change_nothing_not_even_the_counter():
    g, nvs = _provisioned()
    before = dict(nvs._store)
    s = linkauth.Signer(KEY, 42, g.nonce, g.counter)
    good = s.sign(CMD, BODY)
    cases = [
        (b"", codec.LINK_ERR_UNAUTHENTICATED),  # no trailer
        (linkauth.Signer(OTHER, 42, g.nonce, 0).sign(CMD, BODY), codec.LINK_ERR_UNAUTHENTICATED),  # other key
        (linkauth.Signer(KEY, 43, g.nonce, 0).sign(CMD, BODY), codec.LINK_ERR_UNAUTHENTICATED),  # other terminal
        (linkauth.Signer(KEY, 42, b"\x00" * 8, 0).sign(CMD, BODY), codec.LINK_ERR_UNAUTHENTICATED),  # other nonce
        (good[:1] + bytes([good[1] ^ 1]) + good[2:], codec.LINK_ERR_UNAUTHENTICATED),  # altered body
    ]
    for payload, code in cases:
        with mpytest.raises(linkauth.AuthFail) as e:
            g.open(CMD, payload, 42, 1)
        assert e.value.code == code
    with mpytest.raises(linkauth.AuthFail):
        g.open(codec.LINK_CMD_REBOOT, good, 42, 1)  # the MAC names its command
    assert nvs._store == before and g.counter == 0


def test_reordered_requests_the_later_one_first():
    g, _ = _provisioned()
    s = linkauth.Signer(KEY, 42, g.nonce, 0)
    first, second = s.sign(CMD, BODY), s.sign(CMD, BODY)
    g.open(CMD, second, 42, 1)
    with mpytest.raises(linkauth.AuthFail) as e:
        g.open(CMD, first, 42, 1)
    assert e.value.code == codec.LINK_ERR_REPLAYED


def test_a_blank_reader_accepts_only_provisioning_under_its_transport_key():
    g, nvs = _guard()
    assert g.state(0) == codec.LINK_STATE_BLANK
    prov = linkauth.Signer(KEY, 0, g.nonce, 0).sign(codec.LINK_CMD_PROVISION_KEYS, b"x")
    with mpytest.raises(linkauth.AuthFail):
        g.open(codec.LINK_CMD_PROVISION_KEYS, prov, 0, 0)  # no ceremony: no key at all
    g.install_transport_key(KEY)
    assert g.state(0) == codec.LINK_STATE_TRANSPORT
    with mpytest.raises(linkauth.AuthFail):  # the transport key opens provisioning only
        g.open(CMD, linkauth.Signer(KEY, 0, g.nonce, 0).sign(CMD, BODY), 0, 0)
    body, key, _ = g.open(codec.LINK_CMD_PROVISION_KEYS, prov, 0, 0)
    assert (body, key) == (b"x", KEY)


def test_a_new_nonce_after_the_nvs_was_erased_so_old_frames_never_verify_again():
    g, nvs = _provisioned()
    frame = linkauth.Signer(KEY, 42, g.nonce, 0).sign(CMD, BODY)
    linkauth.LinkGuard.erase(nvs)
    fresh = linkauth.LinkGuard(nvs, lambda n: b"\x55" * n)
    assert fresh.nonce != g.nonce and fresh.counter == 0 and fresh.state(1) == codec.LINK_STATE_BLANK
    fresh.save_keys(1, KEY, OTHER)
    with mpytest.raises(linkauth.AuthFail):
        fresh.open(CMD, frame, 42, 1)


def test_the_answer_carries_the_readers_mac():
    g, _ = _provisioned()
    s = linkauth.Signer(KEY, 42, g.nonce, 0)
    body, key, counter = g.open(CMD, s.sign(CMD, BODY), 42, 1)
    answer = g.seal(key, CMD, 42, counter, b"result")
    assert s.open_response(CMD, answer) == b"result"
    with mpytest.raises(ValueError):
        s.open_response(CMD, b"resulu" + answer[6:])


def _config(key, serial=5, terminal=42, **kw):
    f = dict(time=9000 * 86400, day=9000, cutoff=0, window=600, mode=codec.MODE_POS, price=0, grace=30,
             txn_cap=5000, daily_cap=0, issuer=1, transparent=0, bl_version=1, digest=bytes(8))
    f.update(kw)
    return dayconfig.seal(key, terminal, 1, serial, f["time"], f["day"], f["cutoff"], f["window"], f["mode"],
                          f["price"], f["grace"], f["txn_cap"], f["daily_cap"], f["issuer"], f["transparent"],
                          f["bl_version"], f["digest"])


def test_a_day_configuration_verifies_only_for_its_terminal_and_key():
    raw = _config(OTHER)
    rec = dayconfig.verify(raw, 42, {1: OTHER})
    assert rec[dayconfig.TXN_CAP] == 5000 and rec[dayconfig.SERIAL] == 5
    for terminal, keys, code in ((43, {1: OTHER}, codec.LINK_ERR_BAD_CONFIG), (42, {2: OTHER}, codec.LINK_ERR_BAD_CONFIG),
                                 (42, {1: KEY}, codec.LINK_ERR_UNAUTHENTICATED)):
        with mpytest.raises(linkauth.AuthFail) as e:
            dayconfig.verify(raw, terminal, keys)
        assert e.value.code == code
    edited = bytearray(raw)
    edited[dayconfig.SIZE - 9] ^= 1  # a digest byte, under the old MAC
    with mpytest.raises(linkauth.AuthFail):
        dayconfig.verify(bytes(edited), 42, {1: OTHER})
    with mpytest.raises(ValueError):
        dayconfig.verify(raw[:-1], 42, {1: OTHER})
    with mpytest.raises(ValueError):  # well signed, nonsense settings
        dayconfig.verify(_config(OTHER, mode=codec.MODE_FIXED_PRICE, price=0), 42, {1: OTHER})


def test_the_blacklist_digest_is_sha256_of_the_stored_list():
    # SHA-256("") starts e3b0c442 98fc1c14 (FIPS 180-2 test vector)
    assert dayconfig.blacklist_digest(b"") == bytes.fromhex("e3b0c44298fc1c14")
