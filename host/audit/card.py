"""`icpurse audit card`: read a card with a reader's or the workstation's keys, verify every MAC
(identity, both slots, every log entry), show balance and log, and list anomalies — also against the
ledger (counter regression, a balance the ledger cannot explain, blacklisted).

Reading and MAC checks use the firmware's purse/kdf/codec (the same code the readers run); the
audit only reads, it never writes the card (no recovery: a half-finished transaction is shown).
"""
import hashlib
from dataclasses import dataclass, field

from icpurse.firmware import kdf, purse
from icpurse.host import codec
from icpurse.firmware.mifare import value_of
from icpurse.protocol import layout
from icpurse.protocol.mifare import geometry
from icpurse.protocol.numbering import CardNumberError, card_number_from_bcd

_SLOT_SIZE = codec.PURSE_SLOT_SIZE


@dataclass
class Anomaly:
    code: str  # forged_identity | forged_slot | no_valid_slot | slots_disagree | balance_block | log_forged |
    #            log_stale | log_misplaced | log_inconsistent | seq_regression | seq_reused | unexplained_balance |
    #            ledger_ahead | blacklisted | unknown_card
    message: str
    severity: str = "warning"  # info | warning | critical

    def as_dict(self):
        return {"code": self.code, "message": self.message, "severity": self.severity}


@dataclass
class CardAudit:
    uid: str
    key_version: int
    card_number: str | None
    identity_ok: bool
    identity: dict
    slots: list  # per slot: dict(index, ok, fields...)
    active: int  # index of the committed slot (-1: none)
    seq: int | None
    balance: int | None
    value_block: int | None
    log: list  # dicts, newest first (status ok | forged | stale | misplaced | inconsistent), empty positions omitted
    anomalies: list = field(default_factory=list)
    ledger: dict = field(default_factory=dict)

    @property
    def critical(self):
        return [a for a in self.anomalies if a.severity == "critical"]

    def as_dict(self):
        return {"uid": self.uid, "key_version": self.key_version, "card_number": self.card_number,
                "identity_ok": self.identity_ok, "identity": self.identity, "slots": self.slots,
                "active": self.active, "seq": self.seq, "balance": self.balance, "value_block": self.value_block,
                "log": self.log, "anomalies": [a.as_dict() for a in self.anomalies], "ledger": self.ledger}


def _mac_ok(keys, record_type, uid, kv, raw, size, layout_version=codec.LAYOUT_VERSION):
    raw = bytes(raw)
    return kdf.verify_record_mac(keys.mac_key, record_type, uid, kv, raw[:size - codec.MAC_SIZE],
                                 raw[size - codec.MAC_SIZE:size], layout_version)


def _identity_audit(access, keys, kv, uid, layout_version):
    """The audit of a card as far as its identity record goes (v1 and v2 keep it alike), and the
    decoded identity."""
    raw_id = bytes(access.read(layout.IDENTITY_BLOCK, layout.RECORD_BLOCKS))
    id_ok = _mac_ok(keys, codec.REC_IDENTITY, uid, kv, raw_id, codec.IDENTITY_SIZE, layout_version)
    identity = codec.decode_identity(raw_id)
    try:
        number = card_number_from_bcd(bytes(identity[codec.IDENTITY_CARD_NUMBER]))
    except CardNumberError:
        number = None
    audit = CardAudit(uid.hex().upper(), kv, number, id_ok, _named(identity, codec.IDENTITY_FIELDS), [], -1, None,
                      None, None, [])
    if not id_ok:
        audit.anomalies.append(Anomaly("forged_identity", "identity record fails its MAC (forged or edited)",
                                       "critical"))
    return audit, identity


def _named(fields, names):
    return {n: (bytes(v).hex() if isinstance(v, (bytes, bytearray, memoryview)) else v)
            for n, v in zip(names, fields) if n != "mac"}


def inspect_card(tag, keyring, key_type=purse.KEY_A) -> CardAudit:
    """Read everything the keys open and verify it. Raises purse.Refused only when the card cannot
    be opened at all (not an icpurse card of this issuer, or a key version the keys lack)."""
    access, keys, kv = purse.open_card(tag, keyring, key_type)
    uid = bytes(tag.uid)
    if any(access.header_raw):  # block 10 holds a purse header: layout v2
        return _inspect_v2(access, keys, kv, uid)
    audit, identity = _identity_audit(access, keys, kv, uid, codec.LAYOUT_VERSION)
    if audit.identity_ok and identity[codec.IDENTITY_KEY_VERSION] != kv:
        audit.anomalies.append(Anomaly("forged_identity", "identity names key version %d, the card opens with %d" % (
            identity[codec.IDENTITY_KEY_VERSION], kv), "critical"))
    # both slots, in full
    valid = []
    for i in (0, 1):
        raw = bytes(access.read(layout.slot_block(i), layout.RECORD_BLOCKS))
        ok = _mac_ok(keys, codec.REC_SLOT, uid, kv, raw, _SLOT_SIZE)
        fields = codec.decode_purse_slot(raw)
        entry = dict(_named(fields, codec.PURSE_SLOT_FIELDS), index=i, ok=ok)
        audit.slots.append(entry)
        if ok:
            valid.append((fields[codec.PURSE_SLOT_SEQ], i, fields))
        elif any(raw):
            audit.anomalies.append(Anomaly("forged_slot", "purse slot %d fails its MAC (a torn write, or forged)" % i))
    if not valid:
        audit.anomalies.append(Anomaly("no_valid_slot", "no purse slot verifies: the card is corrupt or forged",
                                       "critical"))
        slot = None
    else:
        valid.sort(reverse=True)
        if len(valid) == 2 and valid[0][0] == valid[1][0] and valid[0][2] != valid[1][2]:
            audit.anomalies.append(Anomaly("slots_disagree", "both slots claim sequence %d with different content"
                                           % valid[0][0], "critical"))
        _, audit.active, slot = valid[0]
        audit.seq = slot[codec.PURSE_SLOT_SEQ]
        audit.balance = slot[codec.PURSE_SLOT_BALANCE]
    try:
        audit.value_block = value_of(bytes(access.read(layout.BALANCE_BLOCK)))
    except ValueError:
        audit.value_block = None
    if slot is not None and audit.value_block != audit.balance:
        audit.anomalies.append(Anomaly("balance_block", "balance block holds %s, the committed slot %d fen "
                                       "(an interrupted transaction the next tap repairs, or tampering)" % (
                                           audit.value_block, audit.balance)))
    # every log entry
    for pos, sector in enumerate(layout.LOG_SECTORS):
        raw = bytes(access.read(geometry.first_block(sector), layout.RECORD_BLOCKS))
        if not any(raw):
            continue
        fields = codec.decode_log_entry(raw)
        entry = dict(_named(fields, codec.LOG_ENTRY_FIELDS), position=pos)
        seq = fields[codec.LOG_ENTRY_SEQ]
        if not _mac_ok(keys, codec.REC_LOG, uid, kv, raw, codec.LOG_ENTRY_SIZE):
            entry["status"] = "forged"
            audit.anomalies.append(Anomaly("log_forged", "log entry at position %d fails its MAC (torn or forged)" % pos))
        elif seq % len(layout.LOG_SECTORS) != pos:
            entry["status"] = "misplaced"
            audit.anomalies.append(Anomaly("log_misplaced", "log entry seq %d sits at position %d (moved)" % (seq, pos),
                                           "critical"))
        elif slot is not None and seq > audit.seq:
            entry["status"] = "inconsistent"
            audit.anomalies.append(Anomaly("log_inconsistent", "log entry seq %d is newer than the card's slot (seq %d):"
                                           " the purse was rolled back" % (seq, audit.seq), "critical"))
        elif slot is not None and seq == audit.seq and (
                fields[codec.LOG_ENTRY_BALANCE], fields[codec.LOG_ENTRY_AMOUNT], fields[codec.LOG_ENTRY_TERMINAL],
                fields[codec.LOG_ENTRY_TXN]) != (slot[codec.PURSE_SLOT_BALANCE], slot[codec.PURSE_SLOT_AMOUNT],
                                                 slot[codec.PURSE_SLOT_TERMINAL], slot[codec.PURSE_SLOT_TXN]):
            entry["status"] = "inconsistent"
            audit.anomalies.append(Anomaly("log_inconsistent", "log entry seq %d differs from the slot of the same seq"
                                           % seq, "critical"))
        elif slot is not None and seq <= audit.seq - len(layout.LOG_SECTORS):
            entry["status"] = "stale"
            audit.anomalies.append(Anomaly("log_stale", "log entry seq %d at position %d is older than the ring "
                                           "(a log write was missed)" % (seq, pos), "info"))
        else:
            entry["status"] = "ok"
        audit.log.append(entry)
    audit.log.sort(key=lambda e: -e["seq"])
    return audit


def _inspect_v2(access, keys, kv, uid) -> CardAudit:
    """A layout v2 card (docs/card-layout.md, "Layout v2"): identity record, then the purse as a
    store reader reads it (header MAC for the balance block's generation, balance within the
    ceiling). It keeps no slots and no log: the purse state is shown as the one committed "slot"."""
    audit, identity = _identity_audit(access, keys, kv, uid, codec.LAYOUT_V2)
    try:
        view = purse.read_card(access, keys, kv)
    except purse.Refused as e:
        kind = "forged_header" if e.code == codec.R_FORGED else "purse_refused"
        audit.anomalies.append(Anomaly(kind, "the purse sector does not verify: %s" % e.message, "critical"))
        return audit
    audit.active, audit.seq, audit.balance, audit.value_block = 0, view.seq, view.balance, view.value
    audit.slots.append(dict(_named(view.slot, codec.PURSE_SLOT_FIELDS), index=0, ok=True, layout=codec.LAYOUT_V2,
                            generation=view.gen, ceiling=view.ceiling))
    if view.repaired:
        audit.anomalies.append(Anomaly("balance_block", "the balance block was not a value block (a torn debit): "
                                       "restored from the backup, as the next tap would"))
    return audit


def slot_digest(audit: CardAudit) -> str:
    """A short fingerprint of the committed slot (same state read twice = same observation)."""
    if audit.active < 0:
        return "none"
    s = audit.slots[audit.active]
    text = "%s|%s|%s|%s|%s" % (s["seq"], s["balance"], s["terminal"], s["txn"], s["amount"])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def highest_seen(ledger, card_number, uid):
    """(seq, where) of the highest counter the ledger ever saw for the card — its last-seen state, the
    committed records of collected reader journals, earlier audits and top-ups — or (None, None).
    A card presenting a lower counter was rolled back (or is a clone)."""
    card = ledger.cards.card(card_number)
    seen = [(card.last_seen_seq, "ledger last seen")] if card.last_seen_seq is not None else []
    for r in ledger.store.journal_records(uid=uid):
        if r.state == codec.JR_COMMITTED:
            seen.append((r.card_seq, "journal %s #%d" % (r.terminal, r.number)))
    for o in ledger.store.card_observations(card_number):
        seen.append((o.seq, "%s %s" % (o.source, o.ref)))
    return max(seen, default=(None, None))


def check_against_ledger(audit: CardAudit, ledger, record=True) -> CardAudit:
    """Compare with the ledger: counter regression against the highest sequence seen before (the
    ledger's last-seen, journals, observations), a balance the ledger cannot explain, blacklisting.
    With `record`, the reading is stored as a card observation (and the last-seen counter moved)."""
    card = ledger.cards.card_by_uid(audit.uid)  # None when the UID is not registered
    if card is None:
        audit.anomalies.append(Anomaly("unknown_card", "UID %s is not registered in the ledger" % audit.uid,
                                       "critical"))
        return audit
    number = card.card_number
    if audit.card_number is not None and audit.card_number != number:
        audit.anomalies.append(Anomaly("unknown_card", "card says number %s, the ledger has %s for UID %s" % (
            audit.card_number, number, audit.uid), "critical"))
    top = highest_seen(ledger, number, audit.uid)
    ledger_balance = ledger.books.outstanding_balance(number)
    audit.ledger = {"card_number": number, "state": card.state, "last_seen_seq": top[0], "last_seen_by": top[1],
                    "ledger_balance": ledger_balance, "blacklisted": ledger.blacklist.is_blacklisted(number)}
    if audit.seq is not None and top[0] is not None and audit.seq < top[0]:
        audit.anomalies.append(Anomaly("seq_regression", "card counter %d is below %d seen before (%s): rollback or "
                                       "clone" % (audit.seq, top[0], top[1]), "critical"))
    if audit.balance is not None:
        if audit.balance > ledger_balance:
            audit.anomalies.append(Anomaly("unexplained_balance", "card holds %d fen, the ledger explains %d fen "
                                           "(+%d fen unexplained)" % (audit.balance, ledger_balance,
                                                                       audit.balance - ledger_balance), "critical"))
        elif audit.balance < ledger_balance:
            audit.anomalies.append(Anomaly("ledger_ahead", "ledger holds %d fen, the card %d fen (debits not yet "
                                           "collected, or a top-up not on the card)" % (ledger_balance, audit.balance)))
    if audit.ledger["blacklisted"]:
        audit.anomalies.append(Anomaly("blacklisted", "card %s is blacklisted" % number, "critical"))
    if record and audit.seq is not None and audit.active >= 0:
        s = audit.slots[audit.active]
        ledger.store.record_card_observation(number, "audit", "audit:%s:%d:%s" % (audit.uid, audit.seq, slot_digest(audit)),
                                       seq=audit.seq, balance=audit.balance, kind=s["kind"], amount=s["amount"],
                                       terminal=s["terminal"], txn=s["txn"])
        ledger.cards.record_card_seen(number, audit.seq, audit.balance, source="card")
    return audit


# anomaly code -> (exception kind, propose a blacklist entry?)
_REPORTED = {
    "forged_identity": ("forgery", True),
    "no_valid_slot": ("forgery", True),
    "slots_disagree": ("forgery", True),
    "log_misplaced": ("forgery", True),
    "log_inconsistent": ("rollback", True),
    "seq_regression": ("rollback", True),
    "unexplained_balance": ("forgery", True),
    "forged_slot": ("card_mac_failure", False),
    "log_forged": ("card_mac_failure", False),
    "unknown_card": ("unknown_card", False),
}


def report_anomalies(ledger, audit: CardAudit) -> list:
    """Put the audit's anomalies that need follow-up on the ledger's exception list (once per card
    state); returns the ExceptionViews."""
    number = audit.ledger.get("card_number") or audit.card_number
    out = []
    for a in audit.anomalies:
        if a.code not in _REPORTED:
            continue
        kind, propose = _REPORTED[a.code]
        fp = "audit:%s:%s:%s:%s" % (audit.uid, a.code, audit.seq, slot_digest(audit))
        ev, _ = ledger.store.add_exception(fp, kind, "card %s (UID %s): %s" % (number, audit.uid, a.message),
                                     card_number=number if audit.ledger.get("card_number") else None,
                                     evidence={"anomaly": a.as_dict(), "audit": audit.as_dict()},
                                     proposal="blacklist" if propose and audit.ledger.get("card_number") else None)
        out.append(ev)
    return out
