"""`icpurse sale record|confirm-payment|activate`: selling a card (seller), confirming its payment
(finance) and activating it (another role than the seller). Options, sign-in, --json and exit
codes: host/clikit."""
import sys

import click

from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.numbers import check_card_number
from icpurse.host.clikit.params import CARD_NUMBER, FEN
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.session import NoCard
from icpurse.host.cards import CardProblem
from icpurse.host.issuance import service as svc
from icpurse.host.issuance.card_cli import counter_options, workstation
from icpurse.host.ledger import HolderInfo, LedgerError
from icpurse.host.programmes.model import PAYMENT_METHODS
from icpurse.host.readers import NoReader
from icpurse.protocol.money import fmt_yuan


@click.group(cls=Group)
def sale():
    """Sell a card (seller), confirm its payment (finance), activate it (another role than the seller)."""


def _card_number(session, card_number):
    """The number given, else the one on the card on the reader."""
    if card_number:
        return check_card_number(session, CARD_NUMBER.convert(card_number, None, click.get_current_context()))
    if not session.reader_spec:
        raise click.UsageError("give the CARD_NUMBER, or a --reader with the card on it")
    doc = svc.show_card(session.card(), session.keyring())
    if doc["status"] != "ok":
        raise CardProblem("card %s: %s" % (doc["uid"], doc["message"]))
    return doc["card_number"]


def _sale_doc(view):
    return {"ok": True, "sale": view.id, "card_number": view.card_number, "seller": view.seller,
            "amount": view.amount, "payment_method": view.payment_method, "state": view.state}


@sale.command()
@click.argument("card_number", required=False)
@click.option("--payment", type=click.Choice(PAYMENT_METHODS), default="cash", show_default=True)
@click.option("--buyer", type=click.Choice(["individual", "unit"]), default="individual", show_default=True)
@click.option("--remote", is_flag=True, help="A remote sale (non-cash payment required).")
@click.option("--purchase-total", type=FEN, default=None, metavar="FEN",
              help="The whole purchase this card is part of, in fen (real-name and non-cash thresholds).")
@click.option("--payer-account", default=None, help="Payer's account name/number (non-cash payments).")
@click.option("--holder-name", default=None, help="Real-name capture: holder (or unit contact) name.")
@click.option("--holder-id", default=None, help="Real-name capture: ID number (stored encrypted).")
@click.option("--holder-id-type", default="resident-id", show_default=True)
@click.option("--holder-contact", default="", help="Real-name capture: phone or address.")
@click.option("--unit-name", default=None, help="Buying unit (company) name.")
@click.option("--for-another", is_flag=True,
              help="The person at the counter buys for someone else (the holder): capture them as the agent.")
@click.option("--agent-name", default=None, help="The agent (经办人) buying for the holder or the unit: name.")
@click.option("--agent-id", default=None, help="The agent's ID number (stored encrypted).")
@click.option("--agent-contact", default="", help="The agent's phone or address.")
@counter_options()
def record(session, card_number, payment, buyer, remote, purchase_total, payer_account, holder_name, holder_id,
           holder_id_type, holder_contact, unit_name, for_another, agent_name, agent_id, agent_contact, as_json):
    """Record the sale of a card at its face value (the operator must be a seller). Named cards and
    large purchases need real-name capture; large and remote purchases a non-cash payment; every
    non-cash payment the payer's account (--payer-account); a unit's purchase, or one for another
    person (--for-another), that needs real-name capture also the agent's (--agent-*)."""
    if bool(agent_name) != bool(agent_id):
        raise click.UsageError("an agent is captured with both --agent-name and --agent-id")
    number = _card_number(session, card_number)
    op = session.sign_in()
    ledger = session.ledger()
    view = ledger.cards.card(number)
    if view.kind == "named" and not (holder_name and holder_id) and sys.stdin.isatty() and not as_json:
        click.echo("card %s is a named card: real-name capture" % number, err=True)
        holder_name = holder_name or click.prompt("holder name", err=True)
        holder_id = holder_id or click.prompt("ID number", hide_input=True, err=True)
        holder_contact = holder_contact or click.prompt("contact", default="", err=True)
    holder = None
    if holder_name or holder_id:
        if not (holder_name and holder_id):
            raise click.UsageError("real-name capture needs both --holder-name and --holder-id")
        holder = HolderInfo(holder_name, holder_id, holder_contact, holder_id_type, unit_name)
    try:
        agent = HolderInfo(agent_name, agent_id, agent_contact) if agent_name else None
        result = ledger.sales.record_sale(op.username, number, payment_method=payment, buyer=buyer, remote=remote,
                                          holder=holder, purchase_total=purchase_total, payer_account=payer_account,
                                          agent=agent, for_another=for_another)
    except LedgerError as e:
        if "agent" in str(e):
            raise Failure("refused: %s: pass --agent-name, --agent-id and --agent-contact" % e) from None
        if "real-name" in str(e):
            raise Failure("refused: %s: pass --holder-name and --holder-id" % e) from None
        if "payer's account" in str(e):
            raise Failure("refused: %s" % e) from None
        if "non-cash" in str(e) or "does not accept" in str(e):
            raise Failure("refused: %s: take a non-cash payment (--payment bank_transfer ... --payer-account)"
                          % e) from None
        raise
    if as_json:
        emit_json(_sale_doc(result))
    else:
        click.echo("card %s sold by %s for %s (%s); next: finance confirms the payment "
                   "(`icpurse sale confirm-payment %s`)" % (number, result.seller, fmt_yuan(result.amount),
                                                              payment, number))


@sale.command("confirm-payment")
@click.argument("card_number", required=False)
@click.option("--reference", default="", help="Bank or till reference of the payment.")
@counter_options()
def confirm_payment(session, card_number, reference, as_json):
    """收款: finance confirms the sale's money was received (books it against the card)."""
    number = _card_number(session, card_number)
    op = session.sign_in()
    result = session.ledger().sales.confirm_payment(op.username, number, reference)
    if as_json:
        emit_json(_sale_doc(result))
    else:
        click.echo("payment of %s for card %s confirmed by %s; next: activate it (`icpurse sale activate %s`, an "
                   "operator of another role than the seller)" % (fmt_yuan(result.amount), number, op.username,
                                                                  number))


@sale.command()
@click.argument("card_number", required=False)
@counter_options()
def activate(session, card_number, as_json):
    """开通: activate a paid card (the operator's role must differ from the seller's) and load its
    face value onto the card on the reader. Without the card the ledger part is done and
    `icpurse card recover` loads the value when the card is presented."""
    number = _card_number(session, card_number)
    ws = workstation(session)
    view, balance = ws.activate(number)  # the ledger decides first: refusals never wait for a card
    try:
        tag = session.card(timeout=5.0)
    except (NoCard, NoReader):
        tag = None
    if tag is not None:
        balance = ws.load_face_value(tag, number)
    op = ws.operator
    if as_json:
        emit_json({"ok": True, "card_number": view.card_number, "state": view.state, "activated_by": op,
                   "card_balance": balance})
    elif balance is None:
        click.echo("card %s activated by %s; no card on the reader: present it and run `icpurse card recover` "
                   "to load its face value" % (number, op))
    else:
        click.echo("card %s activated by %s: face value loaded, balance %s" % (number, op, fmt_yuan(balance)))
