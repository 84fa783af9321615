"""Per-sale and daily caps come from the programme (issue 11 item 3): the registered programme
defines them, `terminal provision --programme` binds the reader to it, and every sign-in signs the
programme's caps into the reader's day configuration. Tried through the real link against the real
firmware on the simulator: a sale over the cap and sales over the day's total are refused, and a
day configuration that would lift the caps -- edited under its old MAC, or sealed with a key that
is not the back office's -- is refused, the caps staying in force."""
import tomllib

import pytest

from icpurse.firmware import dayconfig
from icpurse.host import codec
from icpurse.host.programmes.model import ProgrammeFileError, parse_programme
from icpurse.host.readers.serial import ReaderLinkError
from icpurse.host.terminals import dayconfig as signed
from icpurse.host.terminals import service

A = "36000007"
TXN_CAP = 5000  # 50 yuan a sale
DAILY_CAP = 8000  # 80 yuan a card and day

CAPPED = """
[[programme]]
id = "canteen-capped"
name = "Canteen card with spending caps"
issuer = "Example Retail Group"
profile = "mofcom"
issuer_type = "group"
kinds = ["named", "anonymous"]
reloadable = true
payment_methods = ["cash"]
txn_cap = %d
daily_cap = %d

[programme.named]
face_values = [50000]
balance_cap = 500000
validity = "none"
lost_reporting = true

[programme.anonymous]
face_values = [50000]
balance_cap = 100000
validity = { years = 3 }

[programme.refund]
redeemable = true
cash_limit = 10000

[programme.real_name]
named = true
"""


def programme(txn_cap=TXN_CAP, daily_cap=DAILY_CAP, text=CAPPED):
    (table,) = tomllib.loads(text % (txn_cap, daily_cap))["programme"]
    return parse_programme(table)


@pytest.fixture
def shop(world):
    world.ledger.programmes.register_programme("admin", programme())
    world.reader(A, programme="canteen-capped")
    world.sign_in(A)
    return world


def refusal(world, number, amount):
    with pytest.raises(ReaderLinkError) as e:
        world.tap(A, number, amount)
    return e.value.refusal


def signed_record(vr):
    return bytes.fromhex(vr.reader.config["signed"])


def test_the_programme_defines_the_caps_and_they_reach_the_reader_signed(shop):
    world = shop
    vr, _ = world.readers[A]
    rec = dayconfig.verify(signed_record(vr), int(A), vr.reader._config_keys())
    assert (rec[dayconfig.TXN_CAP], rec[dayconfig.DAILY_CAP]) == (TXN_CAP, DAILY_CAP)
    assert world.ledger.store.terminal_settings(A)["programme"] == "canteen-capped"


def test_a_sale_over_the_programmes_cap_is_refused(shop):
    world = shop
    n, _ = world.issue(50000)
    assert refusal(world, n, TXN_CAP + 1) == codec.R_OVER_TXN_CAP
    assert world.tap(A, n, TXN_CAP)["balance"] == 50000 - TXN_CAP


def test_sales_over_the_daily_total_are_refused(shop):
    world = shop
    n, _ = world.issue(50000)
    assert world.tap(A, n, 5000)["balance"] == 45000
    assert refusal(world, n, 3001) == codec.R_OVER_DAILY_CAP  # 5000 + 3001 > 8000
    assert world.tap(A, n, 3000)["balance"] == 42000
    assert refusal(world, n, 1) == codec.R_OVER_DAILY_CAP
    other, _ = world.issue(50000)  # the total is per card
    assert world.tap(A, other, 5000)["balance"] == 45000


def lifted(raw, serial):
    """The record with no caps and a newer serial, its old MAC kept."""
    fields = list(codec.decode_day_config(raw))
    fields[codec.DAY_CONFIG_TXN_CAP] = 0
    fields[codec.DAY_CONFIG_DAILY_CAP] = 0
    fields[codec.DAY_CONFIG_SERIAL] = serial
    return codec.encode_day_config(*fields)


def test_an_edited_configuration_cannot_lift_the_caps(shop):
    world = shop
    n, _ = world.issue(50000)
    vr, client = world.readers[A]
    raw = signed_record(vr)
    serial = codec.decode_day_config(raw)[codec.DAY_CONFIG_SERIAL]
    with pytest.raises(ReaderLinkError) as e:
        client.configure(lifted(raw, serial + 1))
    assert e.value.code == codec.LINK_ERR_UNAUTHENTICATED
    assert refusal(world, n, TXN_CAP + 1) == codec.R_OVER_TXN_CAP


def test_a_configuration_not_signed_by_the_back_office_cannot_lift_the_caps(shop):
    world = shop
    n, _ = world.issue(50000)
    vr, client = world.readers[A]
    rec = codec.decode_day_config(signed_record(vr))
    fields = list(rec[:codec.DAY_CONFIG_BALANCE_CAP])
    fields[codec.DAY_CONFIG_SERIAL] += 1
    fields[codec.DAY_CONFIG_TXN_CAP] = fields[codec.DAY_CONFIG_DAILY_CAP] = 0
    for key in (bytes(16), bytes(range(16))):  # an unset key, a guessed one
        forged = dayconfig.seal(key, *fields, balance_cap=rec[codec.DAY_CONFIG_BALANCE_CAP])
        with pytest.raises(ReaderLinkError) as e:
            client.configure(forged)
        assert e.value.code == codec.LINK_ERR_UNAUTHENTICATED
    with pytest.raises(ReaderLinkError) as e:  # the same on SIGN_IN, which also opens the day
        client.sign_in(1, forged)
    assert e.value.code == codec.LINK_ERR_UNAUTHENTICATED
    assert world.tap(A, n, 5000)["balance"] == 45000
    assert refusal(world, n, 3001) == codec.R_OVER_DAILY_CAP


def test_a_readers_own_cap_can_only_make_the_programmes_stricter(world):
    world.ledger.programmes.register_programme("admin", programme())
    world.reader(A, programme="canteen-capped", txn_cap=2000, daily_cap=DAILY_CAP * 2)
    world.sign_in(A)
    s = signed.settings_of(world.ledger, A)
    assert (s["txn_cap"], s["daily_cap"]) == (2000, DAILY_CAP)  # the lower of each
    n, _ = world.issue(50000)
    assert refusal(world, n, 2001) == codec.R_OVER_TXN_CAP


def test_the_caps_are_the_highest_of_the_kinds_and_none_if_a_kind_has_none():
    both = programme()
    assert service.programme_settings(both)["txn_cap"] == TXN_CAP
    text = CAPPED.replace("[programme.named]\n", "[programme.named]\ntxn_cap = 7000\n")
    assert service.programme_settings(programme(text=text))["txn_cap"] == 7000  # named cards may spend more
    uncapped = CAPPED.replace("txn_cap = %d\ndaily_cap = %d\n", "") % ()
    (table,) = tomllib.loads(uncapped)["programme"]
    rules = service.programme_settings(parse_programme(table))
    assert (rules["txn_cap"], rules["daily_cap"]) == (0, 0)


def test_a_per_sale_cap_above_the_daily_cap_is_a_programme_error():
    with pytest.raises(ProgrammeFileError, match="above the daily cap"):
        programme(txn_cap=9000, daily_cap=8000)
    with pytest.raises(ProgrammeFileError, match="allows no sale"):
        programme(txn_cap=0)
