"""The personalisation probe tries the key that opened the sector before first (the transport key for
the first sector): a blank card costs no failed authentication, a personalised one a single miss, a
half-personalised one a miss where its keyed part ends. The states it reports are those of trying
both keys on every sector (counted here by hand: 15 sectors of the v1 layout on a 1K card). The
workstation hands its probe to the personalisation instead of probing the card twice."""
from issuance_world import UTILITY, blank_in_stock

from icpurse.firmware.keyring import KeyRing, KeySet
from icpurse.firmware.mifare import AuthError, TagGone
from icpurse.hil.sim import factory
from icpurse.hil.sim.tag import CardTag
from icpurse.host.issuance import personalise as pers
from icpurse.protocol.mifare import geometry

h = bytes.fromhex
RING = KeyRing([KeySet(1, h("11" * 16), h("33" * 16), sector_b=h("22" * 16))])
UID = h("5E110001")
SECTORS = 15  # the v1 layout's sectors on a 1K card (these cards are personalised in v1)
SECTORS_V2 = 3  # layout v2: MAD, identity, purse (what the workstation personalises)


class CountingTag(CardTag):
    def __init__(self, card):
        CardTag.__init__(self, card)
        self.auths = []  # (sector, key type, ok)
        self.transport = []  # sectors opened with the transport key

    def authenticate(self, block, key, key_type=0x60):
        try:
            CardTag.authenticate(self, block, key, key_type)
        except AuthError:
            self.auths.append((geometry.sector_of_block(block), key_type, False))
            raise
        self.auths.append((geometry.sector_of_block(block), key_type, True))
        if bytes(key) == pers.TRANSPORT_KEY:
            self.transport.append(geometry.sector_of_block(block))

    def misses(self):
        return [a for a in self.auths if not a[2]]


def keys():
    return RING.for_card(UID, 1)


def test_a_blank_card_opens_every_sector_at_the_first_try():
    tag = CountingTag(factory.blank_card(UID))
    state = pers.probe(tag, keys(), geometry.CLASSIC_1K, 1)
    assert state == {s: "transport" for s in range(SECTORS)}
    assert tag.auths == [(s, pers.KEY_A, True) for s in range(SECTORS)]
    assert tag.reselects == 0


def test_a_personalised_card_costs_one_miss():
    card = factory.blank_card(UID)
    pers.personalise(CardTag(card), keys(), factory.identity_fields(1), now=5)
    tag = CountingTag(card)
    state = pers.probe(tag, keys(), geometry.CLASSIC_1K, 1)
    assert state == {s: "new" for s in range(SECTORS)}
    assert tag.misses() == [(0, pers.KEY_A, False)]
    assert len(tag.auths) == SECTORS + 1


def test_a_half_personalised_card_costs_a_miss_where_its_keyed_part_ends():
    card = factory.blank_card(UID)
    writes = []

    class Pull(CardTag):
        def write_block(self, block, data):
            if geometry.is_trailer(block, geometry.CLASSIC_1K) and geometry.sector_of_block(block) == 6:
                raise TagGone(1, "pulled")  # the trailers of sectors 0..5 are written
            writes.append(block)
            CardTag.write_block(self, block, data)

    try:
        pers.personalise(Pull(card), keys(), factory.identity_fields(1), now=5)
    except TagGone:
        pass
    tag = CountingTag(card)
    state = pers.probe(tag, keys(), geometry.CLASSIC_1K, 1)
    assert state == {s: "new" if s < 6 else "transport" for s in range(SECTORS)}
    assert tag.misses() == [(0, pers.KEY_A, False), (6, pers.KEY_B, False)]
    # and it is finished from there
    assert pers.personalise(CardTag(card), keys(), factory.identity_fields(1), now=5)["sectors_written"] == 9


def test_unknown_sectors_are_tried_with_both_keys_and_nothing_is_written():
    card = factory.blank_card(UID)
    other = KeyRing([KeySet(1, h("AA" * 16), h("BB" * 16), sector_b=h("CC" * 16))]).for_card(UID, 1)
    pers.personalise(CardTag(card), other, factory.identity_fields(1), now=5)  # another issuer's card
    before = [bytes(b) for b in card.blocks]
    tag = CountingTag(card)
    state = pers.probe(tag, keys(), geometry.CLASSIC_1K, 1)
    assert state == {s: "unknown" for s in range(SECTORS)}
    assert len(tag.misses()) == 2 * SECTORS
    try:
        pers.personalise(CountingTag(card), keys(), factory.identity_fields(1), now=5)
    except pers.PersonaliseError as e:
        assert "unknown keys in sector(s) 0, 1" in str(e)
    else:
        raise AssertionError("a card of another issuer was personalised")
    assert [bytes(b) for b in card.blocks] == before


def test_the_workstation_probes_a_blank_card_once(ledger, station):
    card = blank_in_stock(ledger)
    tag = CountingTag(card)
    result = station.personalise_card(tag, UTILITY)
    assert result.outcome == "personalised", result
    # probe, data blocks, trailers: the transport key opens each sector three times (four if probed
    # twice), but the first sector twice: its data blocks are written last and its trailer first,
    # in one session
    assert sorted(tag.transport) == sorted(list(range(SECTORS_V2)) * 3)[1:]
    assert tag.misses() == []


def test_a_blank_card_is_personalised_without_opening_a_sector_twice_in_a_row():
    """The sector the probe leaves open is written first, the sector written last keeps its session
    for its trailer: two authentications fewer than one per sector and step, and the card verifies
    (personalise reads every data block back with the new key B)."""
    ring = KeyRing([KeySet(1, h("11" * 16), h("33" * 16), sector_b=h("22" * 16), load_mac=h("44" * 16))])
    for version, sectors in ((1, SECTORS), (2, SECTORS_V2)):
        tag = CountingTag(factory.blank_card(UID))
        summary = pers.personalise(tag, ring.for_card(UID, 1), factory.identity_fields(1, layout=version), now=5)
        assert summary["sectors_written"] == sectors
        assert tag.misses() == []
        assert len(tag.transport) == 3 * sectors - 2
        assert sorted(tag.transport) == sorted(list(range(sectors)) * 3)[1:-1]
        # and the card reads back as personalised: every sector opens with its new key B only
        assert pers.probe(CountingTag(tag.card), ring.for_card(UID, 1), geometry.CLASSIC_1K, version) == {
            s: "new" for s in range(sectors)}
