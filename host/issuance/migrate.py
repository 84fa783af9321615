"""Move a layout v1 card to layout v2 at its next top-up (docs/card-layout.md, "Migration of v1
cards"). Journaled and resumable like re-keying (host/issuance/rekey.py):

1. read and verify the v1 card with key B (identity, committed slot), roll a torn balance block
   forward (purse.recover); the balance block then holds the committed balance, with its own block
   number (8) as address byte, which becomes the card's v2 generation;
2. journal `card.migrate.start` in the ledger BEFORE the first card write: UID, key version, v1
   counter and balance, the five blocks the move writes (in order) and the v1 slots and log
   entries as read (the on-card history, which stays on the card as well);
3. write, in this order, each only when the card does not hold it already: the backup (block 9,
   the v1 ceiling: := balance), the credit record (block 6; ISSUE of 0 fen), the purse header (block
   10) — the commit point: a non-zero block 10 makes every reader read the card as v2 — then the
   identity record sealed for layout 2 (blocks 4-5; a v2 store reader does not read it, so the card
   is already spendable at the right balance when only this step is missing);
4. read back with key B (v2, credit record verified) and a store reader's key A; journal
   `card.migrate.done` with the v2 counter and balance.
The balance block is never written: the balance is carried to the fen by construction.

A later attempt (top-up, void, re-confirmation, `icpurse card recover`) looks at block 10 first:
the journalled header there → committed, the identity is finished; all zeros → the move never
reached its commit point, the card is still a good v1 card (and may have been used since): the next
top-up plans the move afresh; anything else → the header write was torn: the card is refused by
every reader meanwhile, so once backup, credit record and balance block are checked to be what the
journal planned, the header and the identity are written.
"""
from icpurse.firmware import kdf, purse, purse2
from icpurse.firmware.keyring import KeyRing
from icpurse.firmware.mifare import AuthError, MifareError, TagGone, value_of, ValueBlockError
from icpurse.host import codec
from icpurse.host.cards import CardFlowError, CardGone, CardProblem, IntegrityProblem, IssuerCard, OperationRefused
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry

KEY_A, KEY_B = purse.KEY_A, purse.KEY_B
_MAC = codec.MAC_SIZE


class MigrationIntegrity(IntegrityProblem):
    """The card contradicts the move's journal: nothing written, report the card."""


def _history_blocks():
    """The v1 blocks that hold the card's own history: both purse slots and the log ring."""
    blocks = []
    for s in layout.SLOT_SECTORS + layout.LOG_SECTORS:
        first = geometry.first_block(s)
        blocks += [first, first + 1]
    return blocks


def plan(tag, keyring):
    """Step 1: the v1 card read, verified and recovered with key B. Returns (IssuerCard, writes,
    history, v2 counter), or None when the card is v2 already. Raises IssuerCard's exceptions."""
    card = IssuerCard(tag, keyring, nothing_done="Nothing was written or booked.")
    if card.view.layout != codec.LAYOUT_VERSION:
        return None
    view = card.recover()  # the balance block rolled forward to the committed slot
    access = card.access
    value_raw = bytes(access.read(layout.BALANCE_BLOCK))
    try:
        writes = purse2.migration_blocks(card.keys, view, value_raw)
    except purse.Refused as e:
        raise OperationRefused("%s cannot move to layout v2: %s. Nothing was written or booked." % (
            card.label, e.message)) from None
    seq2 = purse2.seq_of(value_raw[12], view.balance, view.balance)
    if view.seq >= seq2:
        raise OperationRefused("%s cannot move to layout v2: its v1 counter %d is not below the v2 counter %d it "
                               "would start at. Nothing was written or booked." % (card.label, view.seq, seq2))
    history = {}
    for b in _history_blocks():
        history[b] = bytes(access.read(b))
    return card, writes, history, seq2


def _write(access, writes):
    """Write each planned block the card does not hold yet, in order."""
    for block, data in writes:
        if bytes(access.read(block)) != data:
            access.write(block, data)


def _on_card(tag, keyring, j):
    """Where the journalled move `j` stands on the card: 'committed' (block 10 is the journalled
    header), 'not started' (block 10 all zeros: still v1) or 'torn' (anything else)."""
    keys = keyring.for_card(bytes(tag.uid), j.key_version)
    access = purse.Access(tag, keys, KEY_B)
    header = bytes(access.read(layout.HEADER_BLOCK))
    want = dict(j.writes)[layout.HEADER_BLOCK]
    if header == want:
        return "committed", access
    if not any(header):
        return "not started", access
    return "torn", access


def _v1_identity_intact(access, j):
    raw = bytes(access.read(layout.IDENTITY_BLOCK, layout.RECORD_BLOCKS))
    size = codec.IDENTITY_SIZE
    return kdf.verify_record_mac(access.keys.mac_key, codec.REC_IDENTITY, bytes(access.tag.uid), j.key_version,
                                 raw[:size - _MAC], raw[size - _MAC:size], codec.LAYOUT_VERSION)


def _torn_header_ok(access, j):
    """A torn header write: everything before it as journalled, the balance block untouched (no
    reader takes a card whose header verifies for no generation), the identity still v1."""
    want = dict(j.writes)
    for block in (layout.BACKUP_BLOCK, layout.CREDIT_BLOCK):
        if bytes(access.read(block)) != want[block]:
            return False
    try:
        value = value_of(bytes(access.read(layout.BALANCE_BLOCK)))
    except ValueBlockError:
        return False
    return value == j.balance and _v1_identity_intact(access, j)


def verify(tag, keyring, j):
    """Step 4: the card reads as v2 with key B (credit record sealed by the issuer) and with a store
    reader's key A, at the journalled generation and no more than the journalled balance (a store
    reader may have debited it as v2 between the commit point and the identity write)."""
    gen = dict(j.writes)[layout.BACKUP_BLOCK][12]
    card = IssuerCard(tag, keyring)
    view = card.view
    try:
        purse2.check_credit(view)
    except purse.Refused as e:
        raise MigrationIntegrity("%s: %s after its move to layout v2" % (card.label, e.message)) from None
    if view.layout != codec.LAYOUT_V2 or view.gen != gen or view.balance > j.balance:
        raise MigrationIntegrity("%s reads back as layout %d, generation %d, balance %d fen after its move to v2 "
                                 "(journal: generation %d, balance %d fen)" % (
                                     card.label, view.layout, getattr(view, "gen", -1), view.balance, gen, j.balance))
    reader = KeyRing([keyring.keyset(j.key_version)])
    try:
        access, keys, version = purse.open_card(tag, reader, KEY_A)
        seen = purse.read_card(access, keys, version)
    except purse.Refused as e:
        raise MigrationIntegrity("%s: a store reader does not read it after its move to v2: %s" % (
            card.label, e.message)) from None
    if (seen.layout, seen.balance, seen.seq) != (codec.LAYOUT_V2, view.balance, view.seq):
        raise MigrationIntegrity("%s: a store reader reads counter %d, balance %d fen; key B %d, %d fen" % (
            card.label, seen.seq, seen.balance, view.seq, view.balance))
    return card


def _finish(ledger, tag, keyring, j, operator):
    card = verify(tag, keyring, j)
    ledger.migration_records.finish_migration(operator, j.card_number, seq=card.seq, balance=card.balance)
    ledger.cards.record_card_seen(j.card_number, card.seq, card.balance, "card")
    return card


def _complete(ledger, tag, keyring, j, operator):
    """Finish the journalled move `j`: returns 'resumed', or None when it never reached the card."""
    state, access = _on_card(tag, keyring, j)
    if state == "not started":
        return None
    want = dict(j.writes)
    if state == "torn":
        if not _torn_header_ok(access, j):
            try:
                verify(tag, keyring, j)  # finished before, only its journal entry is missing
            except CardFlowError:
                raise MigrationIntegrity("block 10 holds neither the v1 zeros nor the journalled header, and the "
                                         "blocks written before it are not what the journal planned") from None
            _finish(ledger, tag, keyring, j, operator)
            return "resumed"
        _write(access, [(layout.HEADER_BLOCK, want[layout.HEADER_BLOCK])])
    _write(access, [(b, want[b]) for b in (layout.IDENTITY_BLOCK, layout.IDENTITY_BLOCK + 1)])
    _finish(ledger, tag, keyring, j, operator)
    return "resumed"


def migrate(ledger, tag, keyring, card_number, operator):
    """Move the card on the reader to layout v2, journaled; finish an interrupted move first.
    Returns 'migrated' | 'resumed' | None (a v2 card: nothing to do). Raises IssuerCard's
    exceptions, MigrationIntegrity, OperationRefused (nothing written) and MifareError (the card
    left: present it again, the next attempt finishes the move)."""
    j = ledger.migration_records.migration_journal(card_number)
    if j is not None and j.state == "started":
        done = _complete(ledger, tag, keyring, j, operator)
        if done is not None:
            return done
    planned = plan(tag, keyring)
    if planned is None:
        return None
    card, writes, history, _ = planned
    j = ledger.migration_records.start_migration(operator, card_number, uid=card.uid, key_version=card.version,
                                                 seq=card.seq, balance=card.balance, writes=writes,
                                                 history=history)
    _write(card.access, writes)
    _finish(ledger, tag, keyring, j, operator)
    return "migrated"


def counter_after_move(ledger, card_number, seq):
    """The counter a transaction booked with the card's counter `seq` settles against: a top-up booked
    on the v1 card and written after the move to v2 (same tap) recorded the v1 counter the move
    started from; its v2 counter is what the move's journal read back. Any other `seq` as it is."""
    if seq is None:
        return None
    j = ledger.migration_records.migration_journal(card_number)
    if j is not None and j.state == "done" and j.seq == seq:
        return j.v2_seq
    return seq


def _as_flow_error(card_number, e, nothing_done):
    if isinstance(e, MigrationIntegrity):
        return IntegrityProblem("card %s: move to layout v2 not finished: %s. Report the card. %s" % (
            card_number, e, nothing_done))
    exc = (CardGone if isinstance(e, (TagGone, AuthError)) else CardProblem)(
        "card %s left the reader while it was moved to layout v2 (%s): present it again and keep it on the reader "
        "(top up again, or `icpurse card recover`): the move is finished first. %s" % (card_number, e, nothing_done))
    exc.cause = e
    return exc


def migrate_card(ledger, tag, keyring, card_number, operator, nothing_done=""):
    """`migrate` for a flow: its failures as host card exceptions saying what to do next."""
    try:
        return migrate(ledger, tag, keyring, card_number, operator)
    except (MigrationIntegrity, MifareError) as e:
        raise _as_flow_error(card_number, e, nothing_done) from None


def resume_migration(ledger, tag, keyring, operator, nothing_done=""):
    """Finish a move to layout v2 of the card on the reader that reached the card and was left
    half-done (its journal says started). Returns 'resumed', 'not started' (journalled but never on
    the card: the card is a v1 card, the next top-up moves it) or None (nothing open)."""
    card = ledger.cards.card_by_uid(bytes(tag.uid))
    if card is None:
        return None
    j = ledger.migration_records.migration_journal(card.card_number)
    if j is None or j.state != "started":
        return None
    try:
        return _complete(ledger, tag, keyring, j, operator) or "not started"
    except (MigrationIntegrity, MifareError) as e:
        raise _as_flow_error(card.card_number, e, nothing_done) from None


__all__ = ["migrate", "migrate_card", "resume_migration", "counter_after_move", "plan", "verify", "MigrationIntegrity"]
