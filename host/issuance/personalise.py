"""Personalise a blank (transport-configuration) card into an icpurse card (layout v2; v1 still
possible: the identity fields' layout version decides).

Resumable by construction: every run first *probes* each sector of the layout (the transport key A
or the new key B, whichever opened the sector before first), so a card pulled at any point is
recognised at the next attempt and finished.
Data blocks are written before their sector's trailer and trailers last (prior art: half-keyed
cards), so a sector that opens with its new keys already holds its data. A failed authentication
halts the card; the tag layer re-selects it before the next try.

The limit no software can remove: a write torn *inside* a trailer can leave mixed key or
access-bit bytes, which the card turns into a permanently blocked sector. Such a card is reported
as `unknown keys in sector N` and never written to blindly (docs/security.md).
"""
from icpurse.firmware import purse
from icpurse.host import codec
from icpurse.firmware.image import card_image
from icpurse.firmware.mifare import AccessDenied, AuthError
from icpurse.protocol import layout as lay
from icpurse.protocol.mifare import geometry

TRANSPORT_KEY = b"\xff" * 6
KEY_A, KEY_B = purse.KEY_A, purse.KEY_B


class PersonaliseError(Exception):
    """The card cannot be personalised as asked; nothing further was written."""


def _card_geometry(tag):
    return geometry.CLASSIC_4K if getattr(tag, "sak", 0x08) == 0x18 else geometry.CLASSIC_1K


def probe(tag, keys, geom, version=codec.LAYOUT_V2):
    """{sector: 'new' | 'transport' | 'unknown'} for every sector layout `version` personalises.

    Each sector is tried with the key that opened the sector before it first (the transport key
    for the first sector), then with the other. A failed authentication halts the card and costs a
    re-selection, so the order matters: a blank card opens every sector at the first try, a
    personalised one after a single miss, and a half-personalised one (trailers are written in
    sector order) after one more where its keyed part ends."""
    state = {}
    tries = [("transport", KEY_A), ("new", KEY_B)]
    for spec in lay.sector_map(geom, version):
        block = geometry.first_block(spec.number)
        state[spec.number] = "unknown"
        for i, (name, key_type) in enumerate(tries):
            key = TRANSPORT_KEY if name == "transport" else keys.sector_key(spec.number, KEY_B)
            try:
                tag.authenticate(block, key, key_type)
            except AuthError:
                continue
            state[spec.number] = name
            if i:
                tries.reverse()  # the key that opened this sector goes first for the next one
            break
    return state


def personalise(tag, keys, identity_fields, now, progress=None, probed=None):
    """Bring `tag` to the layout of `identity_fields` (v2, or v1) for `keys` (a workstation CardKeys). Returns a summary dict.

    `identity_fields`: identity record fields without `mac` (codec order, key_version included).
    `probed`: what `probe` found on this card with these keys just before, when the caller probed
    it itself (nothing was written to the card since); otherwise the card is probed here.
    Safe to call again on the same card after any interruption."""
    uid = bytes(tag.uid)
    geom = _card_geometry(tag)
    version = identity_fields[codec.IDENTITY_LAYOUT_VERSION]
    image = card_image(keys, uid, geom, identity_fields, now)
    sectors = {spec.number for spec in lay.sector_map(geom, version)}
    if probed is not None and set(probed) == sectors:
        state, session = dict(probed), None  # the caller's probe: which sector it left open is not known here
    else:
        state = probe(tag, keys, geom, version)
        # the probe's last authentication succeeded (a failed one halts the card, and a later try
        # of the same sector that opened it is the last command): that sector is open with that key
        last = list(state)[-1]  # the sector probed last
        session = (last, state[last]) if state[last] != "unknown" else None
    unknown = sorted(s for s, v in state.items() if v == "unknown")
    if unknown:
        raise PersonaliseError(
            "unknown keys in sector(s) %s: not a blank card of this issuer, or a sector damaged by a torn "
            "trailer write; nothing was written" % ", ".join(map(str, unknown)))
    todo = [s for s, v in state.items() if v == "transport"]
    resumed = bool(todo) and len(todo) < len(state)
    steps = len(todo) * 2 + 1
    done = 0
    # 1. data blocks of every sector still in transport configuration; last sector first, so the
    # sector the probe left open with the transport key is written without authenticating again,
    # and the first sector, written last, is still open for its trailer below
    for sector in reversed(todo):
        first = geometry.first_block(sector)
        if session != (sector, "transport"):
            tag.authenticate(first, TRANSPORT_KEY, KEY_A)
        for block in range(first, geometry.trailer_block(sector)):
            if block == 0:
                continue  # manufacturer block
            tag.write_block(block, image[block])
        session = (sector, "transport")
        done += 1
        if progress:
            progress(done, steps)
    # 2. trailers, last, in sector order (a half-keyed card is keyed from its first sector on: probe)
    for sector in todo:
        t = geometry.trailer_block(sector)
        if session != (sector, "transport"):
            tag.authenticate(t, TRANSPORT_KEY, KEY_A)
        tag.write_block(t, image[t])
        session = None  # the sector's keys are now the new ones
        done += 1
        if progress:
            progress(done, steps)
    verify(tag, keys, image, geom, version)
    if progress:
        progress(steps, steps)
    return {"uid": uid.hex().upper(), "sectors_written": len(todo), "resumed": resumed,
            "already_done": not todo}


def verify(tag, keys, image, geom=None, version=codec.LAYOUT_V2):
    """Read every data block back with the new key B and compare with the target image (a sector's
    data blocks with one command where the reader can: Tag.read_blocks_into)."""
    geom = geom or _card_geometry(tag)
    for spec in lay.sector_map(geom, version):
        first = geometry.first_block(spec.number)
        try:
            tag.authenticate(first, keys.sector_key(spec.number, KEY_B), KEY_B)
            start = max(first, 1)  # not the manufacturer block
            count = geometry.trailer_block(spec.number) - start
            got = tag.read_blocks_into(start, count, bytearray(count * geometry.BLOCK_SIZE))
            for i, block in enumerate(range(start, start + count)):
                if bytes(got[i * geometry.BLOCK_SIZE:(i + 1) * geometry.BLOCK_SIZE]) != image[block]:
                    raise PersonaliseError(
                        "block %d differs from the expected layout: the card was personalised with other "
                        "data (run `icpurse card recover`)" % block)
        except (AuthError, AccessDenied) as e:
            raise PersonaliseError("sector %d does not open with its new key B (%s)" % (spec.number, e))
