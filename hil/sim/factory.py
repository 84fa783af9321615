# micropython: yes
"""Cards for tests and the demo: blank transport-configuration cards, and cards already issued
in layout v1 or v2 (the image firmware.image.card_image builds, written straight into memory)."""
from icpurse.host import codec
from icpurse.firmware.image import card_image
from icpurse.hil.sim.card import ClassicCard
from icpurse.protocol.mifare import geometry

_GEOMS = {"1k": geometry.CLASSIC_1K, "4k": geometry.CLASSIC_4K}


def blank_card(uid, size="1k", faults=None, magic=False):
    return ClassicCard(uid, size=size, faults=faults, magic=magic)


def identity_fields(key_version, card_number=b"\x50\x31\x00\x00\x00\x01", programme=1, issuer=1,
                    named=False, expiry=0, issue_date=9000, layout=1):
    """Identity record fields (without MAC) in codec order, with test-friendly defaults; `layout`
    1 or 2 picks the card layout (firmware.image.card_image)."""
    return (layout, key_version, issuer, programme, card_number, codec.KIND_REGULAR,
            codec.IDF_NAMED if named else 0, 2026, 1, 0, 0, issue_date, expiry, 0)


def issued_card(uid, keys, fields, now=0, size="1k", faults=None):
    """A card as personalisation leaves it: `keys` = the card's issuer CardKeys."""
    card = blank_card(uid, size)
    for block, data in card_image(keys, uid, _GEOMS[size], fields, now).items():
        card.blocks[block][:] = data
    card.faults = faults
    return card
