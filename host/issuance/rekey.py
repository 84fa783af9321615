"""Re-key a card from its key version to the workstation's current one (at its next top-up).

Journaled and resumable like personalisation (docs/card-layout.md, "Re-keying"):
1. read and verify the whole card with the old key B (identity, committed slot, balance block
   rolled forward, ceiling, log), and journal "re-key started" in the ledger with the card's
   counter, balance and the exact data blocks it will hold under the new keys (every valid MAC'd
   record re-sealed with the new purse MAC key; value blocks and everything else unchanged);
2. data blocks, per sector, while its trailer still holds the old keys — the purse sector first
   (layout v2: the purse header, the record a v2 store reader checks), then the identity sector
   (v1: the identity record is the first block that changes): from that write on no store reader
   accepts the card (old keys: the header or identity MAC fails; new keys: the purse sector does
   not open) until the card is whole again;
3. trailers last, sector by sector, the identity sector's and then the purse sector's the very
   last (a reader opens the purse sector first: with the new keys it opens only once all is done);
4. read back with the new key B (every data block, the access bits) and with a store reader's new
   key A; journal "done" (the ledger's card key version follows).
A later attempt probes every sector (new key B, then old key B): a sector still on the old keys
gets its journalled data and its trailer; one on the new keys is verified. A card whose identity
still verifies under the old keys was never written: the re-key restarts from a fresh read.
A sector that opens with neither key B (a torn trailer write left mixed bytes) is reported
damaged and never written blindly; its balance stays known in the ledger (docs/security.md).

`resume_rekey` and `rekey_card` are what the flows call (top-up, void, re-confirmation, `card
recover`): the re-key's failures as the host card exceptions (host/cards/errors.py), with what to
do next.
"""
from icpurse.firmware import kdf, purse, purse2
from icpurse.host import codec
from icpurse.firmware.image import trailer_of
from icpurse.firmware.keyring import KeyRing, NoKey
from icpurse.firmware.mifare import (
    AccessDenied, AuthError, MifareError, TagGone, value_block, value_of, ValueBlockError,
)
from icpurse.host.cards import CardGone, CardProblem, IntegrityProblem, IssuerCard
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry
from icpurse.protocol.money import fmt_yuan

KEY_A, KEY_B = purse.KEY_A, purse.KEY_B
_MAC = codec.MAC_SIZE


class RekeyDamaged(CardProblem):
    """A sector opens with neither key version's key B (or not with its new key A): set aside."""


class RekeyIntegrity(IntegrityProblem):
    """The card contradicts the re-key journal: nothing written, report the card."""


def _geom(tag):
    return geometry.CLASSIC_4K if getattr(tag, "sak", 0x08) == 0x18 else geometry.CLASSIC_1K


def _data_blocks(sector):
    return [b for b in range(geometry.first_block(sector), geometry.trailer_block(sector)) if b != 0]


def _order(sectors):
    """Purse sector, then identity sector first for data; identity, then purse sector last for
    trailers (see the module docstring)."""
    head = [s for s in (layout.PURSE_SECTOR, layout.IDENTITY_SECTOR) if s in sectors]
    rest = sorted(s for s in sectors if s not in head)
    return head + rest, rest + head[::-1]


def _layout_of(image):
    """The card layout of a re-key image: v2 has a purse header in block 10 (v1: zeros)."""
    return codec.LAYOUT_V2 if any(image.get(layout.HEADER_BLOCK, b"")) else codec.LAYOUT_VERSION


def _reseal(raw, record_type, size, uid, old, new, body=None, layout_version=codec.LAYOUT_VERSION):
    """The record re-sealed for the new keys if it verifies under the old ones, else None."""
    raw = bytes(raw)
    if not kdf.verify_record_mac(old.mac_key, record_type, uid, old.version, raw[:size - _MAC], raw[size - _MAC:size],
                                 layout_version):
        return None
    body = raw[:size - _MAC] if body is None else body
    return body + kdf.record_mac(new.mac_key, record_type, uid, new.version, body, layout_version) + raw[size:]


def _new_identity_body(raw, new_version):
    fields = list(codec.decode_identity(bytes(raw)))
    fields[codec.IDENTITY_KEY_VERSION] = new_version
    fields[codec.IDENTITY_MAC] = bytes(_MAC)
    return codec.encode_identity(*fields)[:codec.IDENTITY_SIZE - _MAC]


def plan(tag, keyring, new_version):
    """Step 1: read and verify the card with its old key B (rolling a torn balance block forward,
    repairing a torn ceiling). Returns (old_version, view, image {block: bytes}, writes [blocks]),
    or None if the card is already on `new_version` or newer."""
    uid = bytes(tag.uid)
    card = IssuerCard(tag, keyring)
    access, old, version = card.access, card.keys, card.version
    if version >= new_version:
        return None
    view = card.recover()  # v2: an unfinished issuer write undone, the backup brought to the balance
    v2 = view.layout != codec.LAYOUT_VERSION
    if not v2:
        ceiling = access.read(layout.CEILING_BLOCK)
        try:
            ceiling_ok = value_of(bytes(ceiling)) >= view.balance
        except ValueBlockError:
            ceiling_ok = False
        if not ceiling_ok:  # a top-up torn before its commit point: the ceiling only bounds, restore it
            access.write(layout.CEILING_BLOCK, value_block(view.balance, layout.CEILING_BLOCK))
    new = keyring.for_card(uid, new_version)
    raw = {}
    for spec in layout.sector_map(_geom(tag), view.layout):
        for b in _data_blocks(spec.number):
            raw[b] = bytes(access.read(b))
    image = dict(raw)

    def put(block, data):
        for i in range(0, len(data), 16):
            image[block + i // 16] = bytes(data[i:i + 16])

    ident = raw[layout.IDENTITY_BLOCK] + raw[layout.IDENTITY_BLOCK + 1]
    sealed = _reseal(ident, codec.REC_IDENTITY, codec.IDENTITY_SIZE, uid, old, new,
                     _new_identity_body(ident, new_version), view.layout)
    if sealed is None:  # read_card verified it a moment ago
        raise RekeyIntegrity("the identity record changed while the card was read")
    put(layout.IDENTITY_BLOCK, sealed)
    if v2:
        # the header for the same generation and ceiling under the new purse MAC key; the credit
        # record re-sealed under the new load MAC key (left as it is when it does not verify)
        header = purse2.seal_header(new, uid, new_version, view.card_number, view.expiry, view.ceiling, view.gen)
        put(layout.HEADER_BLOCK, header)
        if view.credit is not None:
            c = view.credit
            put(layout.CREDIT_BLOCK, purse2.seal_credit(new, uid, new_version, c[0], c[1], c[2], header))
        return version, view, image, sorted(b for b in image if image[b] != raw[b])
    for i in (0, 1):
        b = layout.slot_block(i)
        sealed = _reseal(raw[b] + raw[b + 1], codec.REC_SLOT, codec.PURSE_SLOT_SIZE, uid, old, new)
        if sealed is not None:
            put(b, sealed)
    for sector in layout.LOG_SECTORS:
        b = geometry.first_block(sector)
        sealed = _reseal(raw[b] + raw[b + 1], codec.REC_LOG, codec.LOG_ENTRY_SIZE, uid, old, new)
        if sealed is not None:
            put(b, sealed)
    writes = sorted(b for b in image if image[b] != raw[b])
    return version, view, image, writes


def probe(tag, old, new, geom, version=codec.LAYOUT_VERSION):
    """{sector: 'new' | 'old' | 'unknown'}: which key B opens each sector of layout `version`."""
    state = {}
    for spec in layout.sector_map(geom, version):
        block = geometry.first_block(spec.number)
        state[spec.number] = "unknown"
        for name, keys in (("new", new), ("old", old)):
            try:
                tag.authenticate(block, keys.sector_key(spec.number, KEY_B), KEY_B)
            except AuthError:
                continue
            state[spec.number] = name
            break
    return state


def identity_unwritten(tag, old, version=codec.LAYOUT_VERSION):
    """True if the re-key's first write never landed, so nothing else was written either: v1, the
    identity sector still holds the record sealed for the old keys; v2, the purse header still
    verifies under the old keys."""
    uid = bytes(tag.uid)
    if version != codec.LAYOUT_VERSION:
        tag.authenticate(layout.BALANCE_BLOCK, old.sector_key(layout.PURSE_SECTOR, KEY_B), KEY_B)
        gen = bytes(tag.read_block(layout.BALANCE_BLOCK))[12]
        return purse2.header_verifies(old, uid, old.version, bytes(tag.read_block(layout.HEADER_BLOCK)), gen)
    tag.authenticate(layout.IDENTITY_BLOCK, old.sector_key(layout.IDENTITY_SECTOR, KEY_B), KEY_B)
    raw = bytes(tag.read_block(layout.IDENTITY_BLOCK)) + bytes(tag.read_block(layout.IDENTITY_BLOCK + 1))
    size = codec.IDENTITY_SIZE
    return kdf.verify_record_mac(old.mac_key, codec.REC_IDENTITY, uid, old.version, raw[:size - _MAC],
                                 raw[size - _MAC:size])


def write(tag, old, new, image, writes, state, geom):
    """Steps 2 and 3 for every sector still on the old keys. Returns the number of sectors moved."""
    specs = {spec.number: spec for spec in layout.sector_map(geom, _layout_of(image))}
    todo = [s for s, v in state.items() if v == "old"]
    data_order, trailer_order = _order(todo)
    writable = set(writes)
    for sector in data_order:
        tag.authenticate(geometry.first_block(sector), old.sector_key(sector, KEY_B), KEY_B)
        for b in _data_blocks(sector):
            if bytes(tag.read_block(b)) == image[b]:
                continue
            if b not in writable:
                raise RekeyIntegrity("block %d is not what the card held when its re-key started (and the re-key "
                                     "does not write it): nothing written; report the card" % b)
            tag.write_block(b, image[b])
    for sector in trailer_order:
        t = geometry.trailer_block(sector)
        tag.authenticate(t, old.sector_key(sector, KEY_B), KEY_B)
        tag.write_block(t, trailer_of(specs[sector], new))
    return len(todo)


def verify(tag, keyring, new, image, seq, balance, geom):
    """Step 4: every layout sector opens with its new key B (data as journalled, access bits as
    intended) and its new key A; a store reader holding only the new version reads the same purse."""
    for spec in layout.sector_map(geom, _layout_of(image)):
        first, t = geometry.first_block(spec.number), geometry.trailer_block(spec.number)
        try:
            tag.authenticate(first, new.sector_key(spec.number, KEY_B), KEY_B)
            for b in _data_blocks(spec.number):
                if bytes(tag.read_block(b)) != image[b]:
                    raise RekeyIntegrity("block %d differs from the re-key journal after re-keying" % b)
            if bytes(tag.read_block(t))[6:10] != trailer_of(spec, new)[6:10]:
                raise RekeyDamaged("sector %d: access bits differ from the layout" % spec.number)
            key_a = codec.MAD_KEY_A if spec.key_a == "mad" else new.sector_key(spec.number, KEY_A)
            tag.authenticate(first, key_a, KEY_A)
            tag.read_block(_data_blocks(spec.number)[0])
        except (AuthError, AccessDenied) as e:
            raise RekeyDamaged("sector %d does not open with its new keys (%s)" % (spec.number, e)) from None
    reader = KeyRing([keyring.keyset(new.version)])
    try:
        access, keys, version = purse.open_card(tag, reader, KEY_A)
        view = purse.read_card(access, keys, version)
    except purse.Refused as e:
        raise RekeyIntegrity("the re-keyed card does not read back: %s" % e.message) from None
    if (view.seq, view.balance, view.value) != (seq, balance, balance):
        raise RekeyIntegrity("the re-keyed card reads back counter %d, balance %s (block %s) instead of %d, %d"
                             % (view.seq, view.balance, view.value, seq, balance))
    return view


def rekey(ledger, tag, keyring, card_number, new_version, operator):
    """Bring the card to `new_version`, journaled in the ledger; finish an interrupted re-key first.

    Returns 'rekeyed' | 'resumed' | None (nothing to do). Raises RekeyDamaged / RekeyIntegrity
    (nothing written blindly), IssuerCard's exceptions (the card does not open or verify: nothing
    written) and MifareError (the card left: present it again, the next attempt finishes the re-key)."""
    uid = bytes(tag.uid)
    geom = _geom(tag)
    j = ledger.rekey_records.rekey_journal(card_number)
    if j is not None and j.state == "damaged":
        raise RekeyDamaged("its re-key to key version %d could not be finished: %s" % (j.new_version, j.note))
    if j is not None and j.state == "started":
        old, new = keyring.for_card(uid, j.old_version), keyring.for_card(uid, j.new_version)
        version = _layout_of(j.image)
        state = probe(tag, old, new, geom, version)
        if state[layout.IDENTITY_SECTOR] == "old" and "new" not in state.values() and identity_unwritten(
                tag, old, version):
            j = None  # never written (and maybe used since): start again from what the card holds now
        else:
            _finish(ledger, tag, keyring, j, old, new, state, geom, operator)
            return "resumed"
    planned = plan(tag, keyring, new_version)
    if planned is None:
        return None
    version, view, image, writes = planned
    j = ledger.rekey_records.start_rekey(operator, card_number, uid=uid, old_version=version, new_version=new_version,
                           seq=view.seq, balance=view.balance, image=image, writes=writes)
    old, new = keyring.for_card(uid, version), keyring.for_card(uid, new_version)
    state = {spec.number: "old" for spec in layout.sector_map(geom, view.layout)}
    _finish(ledger, tag, keyring, j, old, new, state, geom, operator)
    return "rekeyed"


def _finish(ledger, tag, keyring, j, old, new, state, geom, operator):
    try:
        unknown = sorted(s for s, v in state.items() if v == "unknown")
        if unknown:
            raise RekeyDamaged("sector(s) %s open with neither key version %d nor %d (a torn trailer write)" % (
                ", ".join(map(str, unknown)), j.old_version, j.new_version))
        write(tag, old, new, j.image, j.writes, state, geom)
        verify(tag, keyring, new, j.image, j.seq, j.balance, geom)
    except RekeyDamaged as e:
        ledger.rekey_records.mark_rekey_damaged(operator, j.card_number, str(e))
        raise
    ledger.rekey_records.finish_rekey(operator, j.card_number)


def rekey_card(ledger, tag, keyring, card_number, new_version, operator, nothing_done=""):
    """`rekey` for a flow: its failures as host card exceptions saying what to do next (`nothing_done`
    ends them, e.g. "Nothing was booked.")."""
    try:
        return rekey(ledger, tag, keyring, card_number, new_version, operator)
    except RekeyDamaged as e:
        raise CardProblem("card %s cannot be re-keyed to key version %d: %s. Set the card aside (exchange it); its "
                          "balance, %s, stays in the ledger. %s" % (
                              card_number, new_version, e, fmt_yuan(ledger.books.outstanding_balance(card_number)),
                              nothing_done)) from None
    except RekeyIntegrity as e:
        raise IntegrityProblem("card %s: re-key not finished: %s. Report the card. %s" % (
            card_number, e, nothing_done)) from None
    except NoKey as e:
        raise CardProblem("card %s cannot be re-keyed: %s. %s" % (card_number, e, nothing_done)) from None
    except MifareError as e:
        exc = (CardGone if isinstance(e, (TagGone, AuthError)) else CardProblem)(
            "card %s left the reader while it was re-keyed to key version %d (%s): present it again and keep it on "
            "the reader (top up again, or `icpurse card recover`): the re-key is finished first. %s" % (
                card_number, new_version, e, nothing_done))
        exc.cause = e
        raise exc from None


def resume_rekey(ledger, tag, keyring, operator, nothing_done=""):
    """Finish a re-key of the card on the reader that was left half-done (its journal says
    started); refuse a card whose re-key was found damaged. Returns the key version it finished
    the card on, or None when there was nothing to finish."""
    card = ledger.cards.card_by_uid(bytes(tag.uid))
    if card is None:
        return None
    j = ledger.rekey_records.rekey_journal(card.card_number)
    if j is None or j.state == "done":
        return None
    if rekey_card(ledger, tag, keyring, card.card_number, j.new_version, operator, nothing_done) is None:
        return None
    return j.new_version


__all__ = ["rekey", "rekey_card", "resume_rekey", "plan", "probe", "write", "verify", "RekeyDamaged",
           "RekeyIntegrity"]
