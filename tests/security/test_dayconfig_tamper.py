"""The signed day configuration: a reader sells by exactly what the back office signed at its last
sign-in. Settings changed on the reader some other way -- its settings file on flash, or its memory
while it runs -- never outlive the next sign-in (issue 12, "Done when"); the clock does not move back
beyond the signed window; expiry is judged on the signed business day; the day ends at its cut-off."""
import json
import os

import pytest

from icpurse.host import codec
from icpurse.host.readers.serial import ReaderLinkError
from icpurse.protocol import cardtime

A = "36000001"


@pytest.fixture
def shop(world):
    world.reader(A, txn_cap=5000)
    world.sign_in(A)
    return world


def refusal(world, number, amount):
    with pytest.raises(ReaderLinkError) as e:
        world.tap(A, number, amount)
    return e.value.refusal if e.value.refusal is not None else e.value.code


def transparent_refused(client):
    with pytest.raises(ReaderLinkError) as e:
        client.request(codec.LINK_CMD_CARD_WAIT, codec.encode_card_wait(50))
    return "transparent" in e.value.message


def config_file(vr):
    return os.path.join(vr.root, "config.json")


def test_settings_changed_in_the_readers_flash_never_take_effect(shop):
    world = shop
    n, _ = world.issue(50000)
    vr, client = world.readers[A]
    assert refusal(world, n, 6000) == codec.R_OVER_TXN_CAP  # the signed cap: 50 yuan a sale
    with open(config_file(vr)) as f:
        settings = json.load(f)
    settings.update(txn_cap=0, daily_cap=0, grace_days=65535, transparent=1, mode=codec.MODE_POS)
    with open(config_file(vr), "w") as f:
        json.dump(settings, f)
    vr.boot()  # the reader starts from the edited file ...
    assert refusal(world, n, 6000) == codec.R_OVER_TXN_CAP  # ... and sells by the signed record in it
    assert transparent_refused(client)


def test_settings_changed_in_a_running_reader_are_undone_by_the_next_sign_in(shop):
    world = shop
    n, _ = world.issue(50000)
    vr, client = world.readers[A]
    vr.reader.config.update(txn_cap=0, daily_cap=0, transparent=1)  # a reader made to misbehave
    assert world.tap(A, n, 6000)["balance"] == 44000  # the tampering works until ...
    world.sign_in(A)  # ... the next sign-in applies the signed configuration again
    assert refusal(world, n, 6000) == codec.R_OVER_TXN_CAP
    assert transparent_refused(client)


def test_an_edited_signed_record_closes_the_day_until_the_next_sign_in(shop):
    world = shop
    n, _ = world.issue(50000)
    vr, client = world.readers[A]
    with open(config_file(vr)) as f:
        settings = json.load(f)
    signed = bytearray(bytes.fromhex(settings["signed"]))
    signed[30] ^= 0xFF  # the record's per-sale cap, under its old MAC
    settings["signed"] = signed.hex()
    with open(config_file(vr), "w") as f:
        json.dump(settings, f)
    vr.boot()
    assert client.info()["day_open"] == 0
    assert refusal(world, n, 100) == codec.LINK_ERR_DAY_NOT_OPEN
    world.sign_in(A)
    assert world.tap(A, n, 100)["balance"] == 49900
    assert refusal(world, n, 6000) == codec.R_OVER_TXN_CAP


def test_the_day_ends_at_its_signed_cut_off(shop):
    world = shop
    n, _ = world.issue(50000)
    world.clock.advance(hours=14)  # 09:00 + 14 h = 23:00 in China: the daily cut-off (日切)
    assert refusal(world, n, 100) == codec.LINK_ERR_DAY_NOT_OPEN
    world.sign_in(A)  # the next business day
    assert world.tap(A, n, 100)["balance"] == 49900


def test_expiry_is_judged_on_the_signed_day_not_on_the_clock(world):
    world.reader(A)
    world.clock.advance(hours=23, minutes=4)  # 00:05 UTC of the next card day
    world.sign_in(A)
    vr, client = world.readers[A]
    today = cardtime.day_of_seconds(cardtime.seconds(world.clock()))
    n, card = world.issue(50000, expiry=today - 1)  # expired yesterday, no grace
    # within the signed window the clock goes back ten minutes: the card day of the clock is yesterday
    client.set_time(cardtime.seconds(world.clock()) - 600)
    assert cardtime.day_of_seconds(client.info()["time"]) == today - 1
    vr.deck.add("c", card)
    card.enter_field()
    vr.deck.present("c")
    with pytest.raises(ReaderLinkError) as e:
        client.debit(100, timeout_ms=300)
    assert e.value.refusal == codec.R_EXPIRED  # the signed business day says so
    assert client.info()["day"] == today
