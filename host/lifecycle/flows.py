"""The holder lifecycle flows: ledger step (audited, refusals change nothing) and card step, each
safe to run again after an interruption. Amounts are integer fen; `when` is an aware datetime.

The card steps go through host/cards `IssuerCard` (key B). Money writes are purse transactions of
the issuer (terminal 0) whose `txn` is `card_txn` of the ledger booking's entry id, so a re-run
finds its own earlier write on the card (`IssuerCard.find`, without a counter: docs/card-layout.md,
"Finding a transaction on a card") and never writes it twice."""
from icpurse.host import codec
from icpurse.host.cards import (
    COMMITTED, CardFlowError, CardGone, CardProblem, IssuerCard, OperationRefused, card_txn,
)
from icpurse.host.issuance.personalise import personalise
from icpurse.host.programmes import load_profile
from icpurse.protocol import cardtime
from icpurse.protocol.numbering import card_number_from_bcd


def _open(tag, keyring, expected_number=None):
    card = IssuerCard(tag, keyring, recover=True)
    if expected_number is not None and card.number != expected_number:
        raise CardProblem("the card on the reader is %s, not %s" % (card.number, expected_number))
    return card


def _on_card(card, kind, txn, amount):
    """True if the card already carries the issuer's transaction (a run interrupted after its write)."""
    return card.find(kind, txn, amount) == COMMITTED


def _cap(ledger, card_number):
    view = ledger.cards.card(card_number)
    prog = ledger.programmes.programme(view.programme_id)
    return prog.effective_cap(view.kind, load_profile(prog.profile)) or 0


def report_lost(ledger, operator, card_number, id_number, note=""):
    """挂失 (no card needed): ID checked, card state lost, blacklisted (readers get it at sign-in)."""
    return ledger.lifecycle_records.report_lost(operator, card_number, id_number=id_number, note=note)


def _issue_replacement(ledger, operator, old_number, new_tag, keyring, new_number, identity_fields, when, reason,
                       id_number):
    """1. the new card: personalised already (a stock card of the programme) or personalised here
    from `identity_fields`; 2. ledger: move the balance; 3. load the new card. Re-runnable."""
    number = personalised_as(new_tag, keyring)
    if number is not None:
        if new_number is not None and number != new_number:
            raise CardProblem("the new card is already card %s, not %s" % (number, new_number))
    else:
        if new_number is None or identity_fields is None:
            raise CardProblem("the new card is blank: personalise it first (icpurse card personalise), or give its "
                              "card number and identity")
        ident = tuple(identity_fields)
        if card_number_from_bcd(bytes(ident[codec.IDENTITY_CARD_NUMBER])) != new_number:
            raise ValueError("identity_fields carry card number %s, not %s" % (
                card_number_from_bcd(bytes(ident[codec.IDENTITY_CARD_NUMBER])), new_number))
        uid = bytes(new_tag.uid)
        personalise(new_tag, keyring.for_card(uid, ident[codec.IDENTITY_KEY_VERSION]), ident, cardtime.seconds(when))
        number = new_number
    rep = ledger.lifecycle_records.replace_card(operator, old_number, bytes(new_tag.uid), number, reason=reason, id_number=id_number)
    card = _open(new_tag, keyring, number)
    if rep.amount and not _on_card(card, codec.TXN_LOAD, card_txn(rep.entry_id), rep.amount):
        if card.balance != 0:
            raise CardProblem("replacement card %s already holds %d fen" % (number, card.balance))
        slot = card.credit(rep.amount, codec.TXN_LOAD, card_txn(rep.entry_id), when, _cap(ledger, number))
        ledger.lifecycle_records.record_card_write(operator, number, "replacement_load", slot[codec.PURSE_SLOT_SEQ],
                                 slot[codec.PURSE_SLOT_BALANCE], amount=rep.amount, replaces=old_number)
    return rep


def personalised_as(tag, keyring):
    """The card number of an already personalised card, None for a blank (or half-personalised) one."""
    try:
        return IssuerCard(tag, keyring, recover=True).number
    except CardGone:  # a card that left the field is not "blank"
        raise
    except CardFlowError:  # not ours (yet)
        return None


def replace_lost_card(ledger, operator, lost_number, new_tag, keyring, *, id_number, when, new_number=None,
                      identity_fields=None):
    """补卡: a new card for a named card reported lost, loaded with the lost card's LEDGER balance
    (what the books say the holder owns; the lost card itself is not available)."""
    return _issue_replacement(ledger, operator, lost_number, new_tag, keyring, new_number, identity_fields, when,
                              "lost", id_number)


def exchange_card(ledger, operator, old_tag, new_tag, keyring, *, when, new_number=None, identity_fields=None,
                  id_number=None):
    """换卡: the holder hands in a card (e.g. expired anonymous) and gets a new one with its balance;
    the old card is emptied (issuer debit) and stays blacklisted."""
    old = IssuerCard(old_tag, keyring, recover=True)
    old_number = old.number
    done = ledger.lifecycle_records.replacement_of(old_number)
    if done is None:
        ledger_balance = ledger.books.outstanding_balance(old_number)
        if old.balance != ledger_balance:
            raise CardProblem("card %s shows %d fen but the ledger holds %d fen: reconcile it first" % (
                old_number, old.balance, ledger_balance))
    rep = _issue_replacement(ledger, operator, old_number, new_tag, keyring, new_number, identity_fields, when,
                             "exchange", id_number)
    old = IssuerCard(old_tag, keyring, recover=True)
    if rep.amount and old.balance and not _on_card(old, codec.TXN_DEBIT, card_txn(rep.entry_id), rep.amount):
        slot = old.empty(card_txn(rep.entry_id), when)
        ledger.lifecycle_records.record_card_write(operator, old_number, "exchange_empty", slot[codec.PURSE_SLOT_SEQ],
                                 slot[codec.PURSE_SLOT_BALANCE], replaced_by=new_number)
    return rep


def exchange_at_one_reader(ledger, operator, present, keyring, *, when, id_number=None):
    """换卡 at a counter with one reader: `present(what, previous_uid)` returns the tag of the next
    card put on the reader (a different one from `previous_uid`): the card handed in, the new card
    (personalised already), then the handed-in card again to empty it. Re-runnable like
    `exchange_card` (each step finds its own earlier write)."""
    old_tag = present("the card handed in", None)
    old = IssuerCard(old_tag, keyring, recover=True)
    old_number, old_uid = old.number, old.uid_hex
    if ledger.lifecycle_records.replacement_of(old_number) is None:
        ledger_balance = ledger.books.outstanding_balance(old_number)
        if old.balance != ledger_balance:
            raise CardProblem("card %s shows %d fen but the ledger holds %d fen: reconcile it first" % (
                old_number, old.balance, ledger_balance))
    new_tag = present("the new card", old_uid)
    new_uid = bytes(new_tag.uid).hex().upper()
    rep = _issue_replacement(ledger, operator, old_number, new_tag, keyring, None, None, when, "exchange", id_number)
    if rep.amount:
        old = _open(present("the card handed in, again (it is emptied)", new_uid), keyring, old_number)
        if old.balance and not _on_card(old, codec.TXN_DEBIT, card_txn(rep.entry_id), rep.amount):
            slot = old.empty(card_txn(rep.entry_id), when)
            ledger.lifecycle_records.record_card_write(operator, old_number, "exchange_empty",
                                                       slot[codec.PURSE_SLOT_SEQ], slot[codec.PURSE_SLOT_BALANCE],
                                                       replaced_by=rep.new_card)
    return rep


def redeem_card(ledger, operator, card_number, *, tag=None, keyring=None, returner_name, returner_id, payout,
                when, account_name=None, account_number=None, unit_name=None):
    """退卡: the card (when present) is read, the ledger pays out its balance (cash up to the
    profile's limit, else a same-name bank transfer), the card is emptied by a closing slot and
    the card closed. Without a tag the card must be reported lost (paid by its ledger balance)."""
    card = _open(tag, keyring, card_number) if tag is not None else None
    booked = ledger.books.booking("redeem:%s" % card_number)
    if booked is None:
        red = ledger.lifecycle_records.redeem_card(operator, card_number, returner_name=returner_name, returner_id=returner_id,
                                 payout=payout, card_balance=card.balance if card else None,
                                 account_name=account_name, account_number=account_number, unit_name=unit_name)
    else:  # resuming: the payout is booked, the card may not be emptied yet
        red = ledger.lifecycle_records.redeem_card(operator, card_number, returner_name=returner_name, returner_id=returner_id,
                                 payout=payout, card_balance=None)
    if card is not None:
        txn = card_txn(red.entry_id)
        if not _on_card(card, codec.TXN_DEBIT, txn, red.amount):
            if card.balance != red.amount:
                raise CardProblem("card %s shows %d fen, the redemption paid %d fen: report it" % (
                    card_number, card.balance, red.amount))
            slot = card.empty(txn, when)
            ledger.lifecycle_records.record_card_write(operator, card_number, "redemption_close", slot[codec.PURSE_SLOT_SEQ],
                                     slot[codec.PURSE_SLOT_BALANCE], amount=red.amount)
    ledger.lifecycle_records.finish_redemption(operator, card_number, card_emptied=card is not None)
    return red


def refund_goods(ledger, operator, card_number, amount, key, *, tag=None, keyring=None, when, terminal=None,
                 note="", journal_number=None):
    """Goods returned: the value goes back to the card (credit, kind REFUND); without the card,
    cash up to the profile's goods-refund limit. `terminal` + `journal_number`: the store purchase."""
    if tag is None:
        return ledger.lifecycle_records.refund_goods(operator, card_number, amount, key, to_card=False,
                                                     terminal=terminal, note=note, journal_number=journal_number)
    card = _open(tag, keyring, card_number)
    ref = ledger.lifecycle_records.refund_goods(operator, card_number, amount, key, to_card=True, terminal=terminal,
                                                note=note, journal_number=journal_number)
    txn = card_txn(ref.entry_id)
    if not _on_card(card, codec.TXN_REFUND, txn, amount):
        slot = card.credit(amount, codec.TXN_REFUND, txn, when, _cap(ledger, card_number))
        ledger.lifecycle_records.record_card_write(operator, card_number, "goods_refund", slot[codec.PURSE_SLOT_SEQ],
                                 slot[codec.PURSE_SLOT_BALANCE], amount=amount, key=key)
    return ref


def default_new_expiry(ledger, card_number, today_day):
    """Today plus the programme's validity for the card's kind (at least the profile's minimum)."""
    view = ledger.cards.card(card_number)
    prog = ledger.programmes.programme(view.programme_id)
    profile = load_profile(prog.profile)
    validity = prog.terms[view.kind].validity
    months = max(validity.months if validity else 0, profile.anonymous_min_months or 0) or 36
    return cardtime.day(cardtime.add_months(cardtime.to_date(today_day), months))


def reactivate_card(ledger, operator, tag, keyring, *, when, new_expiry=None, card_number=None):
    """An expired card with a balance: rewrite its identity record with a new expiry (key B, MAC
    resealed) and bring it back in use. Never forfeits the balance. A rewrite torn half-way
    (identity MAC broken) is finished from the record the ledger kept; pass `card_number` then."""
    try:
        card = IssuerCard(tag, keyring, recover=True)
    except CardFlowError as e:
        if e.refusal is None or card_number is None:
            raise  # the card did not answer, or nothing to finish it from
        raw = ledger.lifecycle_records.pending_identity(card_number)
        if raw is None:
            raise
        version = raw[1]  # identity key_version byte (layout: protocol/records.py)
        IssuerCard.rewrite_identity(tag, keyring, version, raw)
        card = _open(tag, keyring, card_number)
        return {"card_number": card.number, "expiry": card.expiry, "balance": card.balance, "resumed": True}
    today = cardtime.day(when)
    if not card.expiry or card.expiry >= today:
        raise OperationRefused("card %s is not expired (expiry day %s): nothing to re-activate" % (
            card.number, card.expiry or "none"))
    new_expiry = new_expiry or default_new_expiry(ledger, card.number, today)
    raw = card.sealed_identity(new_expiry)
    ledger.lifecycle_records.reactivate_card(operator, card.number, old_expiry=card.expiry, new_expiry=new_expiry,
                           identity_hex=bytes(raw).hex())
    card.write_identity(raw)
    after = _open(tag, keyring, card.number)
    if after.expiry != new_expiry:
        raise CardProblem("card %s: the identity rewrite did not verify: run the same command again" % card.number)
    ledger.lifecycle_records.record_card_write(operator, after.number, "reactivate", after.seq, after.balance,
                             old_expiry=card.expiry, new_expiry=new_expiry)
    return {"card_number": after.number, "expiry": new_expiry, "balance": after.balance, "resumed": False}


def close_card(ledger, operator, card_number, *, tag=None, keyring=None, reason="closed at the holder's request"):
    """Close a card with a zero balance (card read when present); else redeem it."""
    card = _open(tag, keyring, card_number) if tag is not None else None
    return ledger.lifecycle_records.close_card(operator, card_number, card_balance=card.balance if card else None, reason=reason)
