"""The image of a personalised card (layout v1 or v2): every block the layout writes, for one
card's keys.

Used by the issuer's personalisation (host) and by the simulator's card factory (tests), so the
two can never disagree about what a freshly issued card holds. Layout from
icpurse.protocol.layout, byte layouts from the generated codec.
"""
from icpurse.firmware import codec, purse, purse2
from icpurse.firmware.mifare import value_block
from icpurse.protocol import layout
from icpurse.protocol.mifare import access, geometry

_BLOCK = codec.MF_BLOCK_SIZE


def _put(image, block, data):
    for i in range(0, len(data), _BLOCK):
        image[block + i // _BLOCK] = bytes(data[i:i + _BLOCK])


def trailer_of(spec, keys):
    """Sector trailer of a layout sector for this card's keys."""
    key_a = codec.MAD_KEY_A if spec.key_a == "mad" else keys.sector_key(spec.number, codec.MF_AUTH_A)
    return codec.encode_sector_trailer(key_a, access.encode_access_bits(spec.conds), spec.gpb,
                                       keys.sector_key(spec.number, codec.MF_AUTH_B))


GEN_FIRST = 1  # generation of a freshly personalised v2 card (its balance block's address byte)


def card_image(keys, uid, geom, identity_fields, now):
    """{block: 16 bytes} for every data block and trailer of the layout (block 0 excluded).

    The layout is the identity fields' layout version. `keys`: the card's CardKeys (issuer role:
    key B for the trailers, the load MAC key for a v2 credit record); `identity_fields`: identity
    fields without `mac`, codec order; `now`: time of the v1 ISSUE log entry."""
    if identity_fields[codec.IDENTITY_LAYOUT_VERSION] == codec.LAYOUT_V2:
        return _card_image_v2(keys, uid, geom, identity_fields)
    image = {}  # type: dict
    uid = bytes(uid)
    version = keys.version
    _put(image, 1, codec.LAYOUT_MAD1)
    if geom.sector_count > 16:
        _put(image, geometry.first_block(layout.MAD2_SECTOR), codec.LAYOUT_MAD2)
    _put(image, layout.IDENTITY_BLOCK, purse.seal_identity(keys, uid, version, identity_fields))
    _put(image, layout.IDENTITY_BLOCK + 2, bytes(_BLOCK))
    _put(image, layout.BALANCE_BLOCK, value_block(0, layout.BALANCE_BLOCK))
    _put(image, layout.CEILING_BLOCK, value_block(0, layout.CEILING_BLOCK))
    _put(image, layout.CEILING_BLOCK + 1, bytes(_BLOCK))
    sealed = purse.seal_slot(keys, uid, version, purse.issue_slot())
    _put(image, layout.slot_block(0), sealed + bytes(_BLOCK))
    _put(image, layout.slot_block(1), bytes(3 * _BLOCK))
    for sector in layout.LOG_SECTORS:
        _put(image, geometry.first_block(sector), bytes(3 * _BLOCK))
    _put(image, layout.log_block(1), purse.seal_log(keys, uid, version, codec.decode_purse_slot(sealed), now))
    for spec in layout.sector_map(geom):
        image[geometry.trailer_block(spec.number)] = trailer_of(spec, keys)
    return image


def _card_image_v2(keys, uid, geom, identity_fields):
    image = {}  # type: dict
    uid = bytes(uid)
    version = keys.version
    _put(image, 1, codec.LAYOUT_MAD1_V2)
    if geom.sector_count > 16:
        _put(image, geometry.first_block(layout.MAD2_SECTOR), codec.LAYOUT_MAD2)
    _put(image, layout.IDENTITY_BLOCK, purse.seal_identity(keys, uid, version, identity_fields))
    header = purse2.seal_header(keys, uid, version, identity_fields[codec.IDENTITY_CARD_NUMBER],
                                identity_fields[codec.IDENTITY_EXPIRY], 0, GEN_FIRST)
    _put(image, layout.CREDIT_BLOCK, purse2.seal_credit(keys, uid, version, GEN_FIRST, codec.TXN_ISSUE, 0, header))
    _put(image, layout.BALANCE_BLOCK, value_block(0, GEN_FIRST))
    _put(image, layout.BACKUP_BLOCK, value_block(0, GEN_FIRST))
    _put(image, layout.HEADER_BLOCK, header)
    for spec in layout.sector_map(geom, 2):
        image[geometry.trailer_block(spec.number)] = trailer_of(spec, keys)
    return image
