"""`icpurse holder ...`: the holder lifecycle at the issuer's session.

    holder lost CARD --id-number ID              report a named card lost (blacklisted; no card needed)
    holder replace LOST_CARD --id-number ID      new card on the reader gets the lost card's ledger balance
    holder redeem CARD --returner-name N --returner-id ID [--payout cash|bank_transfer ...] [--lost]
    holder transfer-paid CARD --reference REF    the bank transfer of a redemption was made
    holder refund-goods CARD FEN --receipt REF --terminal T --journal N [--cash]
    holder exchange [--id-number ID]             card handed in -> new card with its balance (one reader)
    holder reactivate                            expired card on the reader: new expiry, balance kept
    holder close CARD [--no-card]                zero-balance card closed (and blacklisted)

Operator sign-in, keystore, reader, --db and --json work as for `icpurse card`
(card_cli.counter_options). Exit codes (host/clikit): 0 ok, 1 refused, 2 usage, 3 no reader, 4 card
error, 5 integrity problem.
"""
import datetime as dt

import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.numbers import check_card_number
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.params import CARD_NUMBER, FEN, TERMINAL
from icpurse.host.issuance.card_cli import counter_options, workstation
from icpurse.host.lifecycle import flows
from icpurse.protocol import cardtime
from icpurse.protocol.money import fmt_yuan


def _done(as_json, doc, text):
    if as_json:
        emit_json(dict(doc, ok=True))
    else:
        click.echo(text)


def _now(session):
    return session.ledger().now()


@click.group(cls=Group)
def holder():
    """Holder lifecycle: lost cards and replacements, redemption (退卡), refunds, expired cards, closing."""


@holder.command()
@click.argument("card_number")
@click.option("--id-number", required=True, help="The holder's ID number (checked against the registration).")
@click.option("--note", default="", help="Free text kept in the audit log.")
@counter_options(reader=False)
def lost(session, card_number, id_number, note, as_json):
    """Report a NAMED card lost (挂失): blacklisted at once; readers refuse it after their next sign-in.
    The ID check needs the ledger data key ($ICPURSE_DATA_KEY or --keystore)."""
    op = session.sign_in()
    r = flows.report_lost(session.ledger(), op.username, card_number, id_number, note)
    _done(as_json, {"card_number": r.card_number, "ledger_balance": r.ledger_balance,
                    "blacklist_version": r.blacklist_version},
          "card %s reported lost; blacklist version %s; ledger balance %s (moves to the replacement card)" % (
              r.card_number, r.blacklist_version or "unchanged", fmt_yuan(r.ledger_balance)))


def _blank_to_stock_card(session, lost_number):
    """A blank card on the reader becomes a personalised stock card of the lost card's programme."""
    from icpurse.host.issuance import service as svc

    view = session.ledger().cards.card(lost_number)
    station = workstation(session)
    result = station.personalise_card(session.card(), svc.IssueOrder(view.programme_id, view.kind, view.face_value))
    if not result.ok:
        raise Failure("the new card could not be personalised (%s): %s" % (result.outcome, result.message), Exit.CARD)
    return result.card_number


@holder.command()
@click.argument("lost_number")
@click.option("--id-number", default=None, help="The holder's ID number (named cards).")
@counter_options()
def replace(session, lost_number, id_number, as_json):
    """Replacement (补卡) for a card reported lost: the card on the reader (a personalised stock card, or a
    blank that is personalised first) is loaded with the lost card's LEDGER balance."""
    op = session.sign_in()
    ledger, ring = session.ledger(), session.keyring()
    if flows.personalised_as(session.card(), ring) is None and ledger.lifecycle_records.replacement_of(lost_number) is None:
        _blank_to_stock_card(session, lost_number)
    r = flows.replace_lost_card(ledger, op.username, lost_number, session.card(), ring, id_number=id_number,
                                when=_now(session))
    _done(as_json, {"old_card": r.old_card, "new_card": r.new_card, "amount": r.amount, "fee": r.fee},
          "card %s replaces %s; %s loaded from the ledger%s" % (
              r.new_card, r.old_card, fmt_yuan(r.amount), "; take the replacement fee of %s" % fmt_yuan(r.fee)
              if r.fee else ""))


@holder.command()
@click.option("--id-number", default=None, help="Named cards: the holder's ID number.")
@click.option("--card-timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for each card.")
@counter_options()
def exchange(session, id_number, card_timeout, as_json):
    """换卡: the holder hands in a card (e.g. an expired anonymous one) and gets a new card with its
    balance. On one reader: the card handed in, then the new card (a blank is personalised for the
    same programme first), then the handed-in card again (emptied; it stays blacklisted). The
    programme's exchange fee, if any, is booked as fee income."""
    from icpurse.host.issuance import service as svc

    op = session.sign_in()
    ledger, ring = session.ledger(), session.keyring()
    reader = session.reader()
    state = {"first": True, "old": None}

    def present(what, previous_uid):
        eject, recall = getattr(reader, "eject", None), getattr(reader, "recall", None)
        if "again" in what and recall is not None:
            recall(state["old_uid"])  # a card hopper hands the same card back
        elif not state["first"] and eject is not None:
            eject()  # a card hopper brings the next card
        state["first"] = False
        if not as_json:
            click.echo("put %s on the reader" % what, err=True)
        tag = svc.wait_for_new_card(reader, previous_uid, card_timeout) if previous_uid else session.card(card_timeout)
        if tag is None:
            raise Failure("no other card came within %.0f s: put %s on the reader and run the command again" % (
                card_timeout, what), Exit.CARD)
        if what == "the new card":
            if flows.personalised_as(tag, ring) is None:
                view = ledger.cards.card(state["old"])
                result = workstation(session).personalise_card(tag, svc.IssueOrder(view.programme_id, view.kind,
                                                                                   view.face_value))
                if not result.ok:
                    raise Failure("the new card could not be personalised (%s): %s" % (result.outcome, result.message),
                                  Exit.CARD)
        elif state["old"] is None:
            state["old"], state["old_uid"] = flows.personalised_as(tag, ring), bytes(tag.uid).hex().upper()
        return tag

    r = flows.exchange_at_one_reader(ledger, op.username, present, ring, when=_now(session), id_number=id_number)
    _done(as_json, {"old_card": r.old_card, "new_card": r.new_card, "amount": r.amount, "fee": r.fee},
          "card %s exchanged for %s; %s moved%s" % (r.old_card, r.new_card, fmt_yuan(r.amount),
                                                   "; take the exchange fee of %s" % fmt_yuan(r.fee) if r.fee else ""))


@holder.command()
@click.argument("card_number")
@click.option("--returner-name", required=True, help="Name of the person returning the card (ID checked).")
@click.option("--returner-id", required=True, help="Their ID number (recorded; for a named card: the holder's).")
@click.option("--payout", type=click.Choice(["cash", "bank_transfer"]), default="cash", show_default=True,
              help="Cash only up to the profile's limit (100 yuan under MOFCOM/PBOC).")
@click.option("--account-name", default=None, help="Bank transfer: the account holder (same name as the holder).")
@click.option("--account-number", default=None, help="Bank transfer: the account number.")
@click.option("--unit-name", default=None, help="A unit-bought card returned by that unit.")
@click.option("--lost", "card_lost", is_flag=True, help="The card is reported lost: pay its ledger balance, no card.")
@counter_options()
def redeem(session, card_number, returner_name, returner_id, payout, account_name, account_number, unit_name,
           card_lost, as_json):
    """Redemption (退卡): pay the balance back, empty the card with a closing slot and close it."""
    op = session.sign_in()
    tag = None if card_lost else session.card()
    r = flows.redeem_card(session.ledger(), op.username, card_number, tag=tag,
                          keyring=None if card_lost else session.keyring(), returner_name=returner_name,
                          returner_id=returner_id, payout=payout, when=_now(session), account_name=account_name,
                          account_number=account_number, unit_name=unit_name)
    how = "in cash" if r.payout == "cash" else "by bank transfer to %s (…%s)" % (r.account_name, r.account_last4)
    _done(as_json, {"card_number": r.card_number, "amount": r.amount, "payout": r.payout,
                    "account_last4": r.account_last4},
          "card %s redeemed: pay %s %s; the card is closed" % (r.card_number, fmt_yuan(r.amount), how))


@holder.command("transfer-paid")
@click.argument("card_number")
@click.option("--reference", required=True, help="The bank's reference of the transfer.")
@counter_options(keys=False, reader=False)
def transfer_paid(session, card_number, reference, as_json):
    """Record that a redemption's bank transfer was made (finance)."""
    op = session.sign_in()
    session.ledger().lifecycle_records.settle_refund_transfer(op.username, card_number, reference)
    _done(as_json, {"card_number": card_number, "reference": reference},
          "refund transfer for card %s recorded (%s)" % (card_number, reference))


@holder.command("refund-goods")
@click.argument("card_number", type=CARD_NUMBER)
@click.argument("amount", type=FEN, metavar="FEN")
@click.option("--receipt", required=True, help="The refund's reference (booked once).")
@click.option("--terminal", required=True, type=TERMINAL, help="The store terminal of the purchase (on the receipt).")
@click.option("--journal", "journal_number", required=True, type=click.IntRange(1), metavar="NUMBER",
              help="The purchase's journal number at that terminal (on the receipt; `reader sell` prints it).")
@click.option("--cash", "in_cash", is_flag=True, help="The card is not available: cash, only up to the profile's limit.")
@counter_options()
def refund_goods(session, card_number, amount, receipt, terminal, journal_number, in_cash, as_json):
    """Refund of goods bought with the card: back onto the card (or cash up to the limit). The refund
    names the store purchase (terminal + journal number, collected from the reader); the refunds of
    one purchase never exceed it."""
    check_card_number(session, card_number)
    op = session.sign_in()
    tag = None if in_cash else session.card()
    r = flows.refund_goods(session.ledger(), op.username, card_number, amount, receipt, tag=tag,
                           keyring=None if in_cash else session.keyring(), when=_now(session), terminal=terminal,
                           journal_number=journal_number)
    _done(as_json, {"card_number": r.card_number, "amount": r.amount, "to_card": r.to_card},
          "%s refunded %s" % (fmt_yuan(r.amount), "to card %s" % r.card_number if r.to_card else "in cash"))


@holder.command()
@click.option("--card-number", default=None, help="Finish a torn re-activation of this card.")
@click.option("--expiry", default=None, help="New expiry YYYY-MM-DD (default: today + the programme's validity).")
@counter_options()
def reactivate(session, card_number, expiry, as_json):
    """An expired card with a balance gets a new expiry (identity rewritten and resealed); never forfeited."""
    op = session.sign_in()
    new = None
    if expiry:
        try:
            new = cardtime.day(dt.date.fromisoformat(expiry))
        except ValueError:
            raise click.BadParameter("a date is YYYY-MM-DD, got %r" % expiry) from None
    out = flows.reactivate_card(session.ledger(), op.username, session.card(), session.keyring(),
                                when=_now(session), new_expiry=new, card_number=card_number)
    until = cardtime.to_date(out["expiry"])
    _done(as_json, dict(out, expiry_date=until.isoformat()),
          "card %s re-activated until %s; balance %s kept" % (out["card_number"], until, fmt_yuan(out["balance"])))


@holder.command()
@click.argument("card_number")
@click.option("--no-card", is_flag=True, help="The card is not available (lost, kept): close it by the ledger alone.")
@click.option("--reason", default="closed at the holder's request", show_default=True)
@counter_options()
def close(session, card_number, no_card, reason, as_json):
    """Close a card with a zero balance (a card with money is redeemed instead)."""
    op = session.sign_in()
    version = flows.close_card(session.ledger(), op.username, card_number,
                               tag=None if no_card else session.card(),
                               keyring=None if no_card else session.keyring(), reason=reason)
    _done(as_json, {"card_number": card_number, "blacklist_version": version},
          "card %s closed (blacklist version %s)" % (card_number, version or "unchanged"))

