"""`icpurse topup`: top-up at the counter, the kiosk way (docs/business-rules.md "Kiosk top-up").

    icpurse topup CARD AMOUNT_FEN --terminal KIOSK   top up card CARD (checked against the card on the
                                           reader) at a kiosk signed in today (--terminal or ICPURSE_TERMINAL);
                                           non-cash: --payer-account; named cards: --holder-id or --agent-*
    icpurse topup --present AMOUNT_FEN     top up whatever card is on the reader
    icpurse topup CARD --yuan 12.50        the amount in yuan (parsed exactly, no floats)
    icpurse topup unconfirmed [--json]     the unconfirmed-transaction query
    icpurse topup reconfirm                settle the open top-up / void of the card on the reader (补确认)
    icpurse topup void TOPUP_ID            void a confirmed top-up: same day, before the cut-off, card present
    icpurse topup refund|adjust TOPUP_ID   after the cut-off: ask (one operator), approve (another), apply
                                           (card present, written like a void): `approve`, `apply`

Options as the other counter commands (card_cli.counter_options): --reader, --db, --keystore,
--operator, --json. Exit codes (host/clikit): 0 done (re-confirmation: settled either way), 1 refused or reversed
(nothing credited), 2 usage, 3 no reader, 4 card problem or outcome unknown (card pulled: run
`topup reconfirm`), 5 integrity problem (the card cannot tell any more / contradicts the ledger).
"""
from __future__ import annotations

import click
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.output import console, emit_json
from icpurse.host.issuance import topup as tp
from icpurse.host.issuance.card_cli import counter_options
from icpurse.host.issuance.service import release_tag
from icpurse.host.programmes.model import PAYMENT_METHODS
from icpurse.host.clikit.numbers import check_card_number
from icpurse.host.clikit.params import CARD_NUMBER, FEN, TERMINAL, YUAN
from icpurse.host.ledger import HolderInfo
from icpurse.protocol.money import fmt_yuan

_EXIT = {"confirmed": Exit.OK, "voided": Exit.OK, "reversed": Exit.FAILED, "void_cancelled": Exit.FAILED,
         "unconfirmed": Exit.CARD, "void_unconfirmed": Exit.CARD, "undecided": Exit.INTEGRITY}


class _TopupGroup(Group):
    """`icpurse topup CARD AMOUNT` runs the top-up; a first word naming a sub-command runs that."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["load"] + list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_TopupGroup)
def topup():
    """Top up a card at the counter (ledger pending -> card write -> confirmed), or: unconfirmed,
    reconfirm, void.

    \b
    icpurse topup CARD AMOUNT_FEN | icpurse topup --present AMOUNT_FEN | ... --yuan 12.50
    A card write that fails is reversed in the books at once (账务撤销); a card pulled mid-write
    leaves the top-up unconfirmed until `icpurse topup reconfirm` reads the card.
    """


def _amount(fen_text, yuan):
    ctx = click.get_current_context()
    if yuan is not None:
        if fen_text is not None:
            raise click.UsageError("give the amount once: AMOUNT_FEN or --yuan")
        return YUAN.convert(yuan, None, ctx)
    if fen_text is None:
        raise click.UsageError("give the amount: AMOUNT_FEN (integer fen) or --yuan 12.50")
    try:
        return FEN.convert(fen_text, None, ctx)
    except click.BadParameter as e:
        raise click.UsageError("AMOUNT_FEN: %s" % e.message) from None


def _show(outcomes, as_json, title):
    if as_json:
        emit_json({"ok": all(o.ok or o.state in ("reversed", "void_cancelled") for o in outcomes) if
                    title == "re-confirmation" else all(o.ok for o in outcomes),
                    "outcomes": [o.as_dict() for o in outcomes]})
        return
    for o in outcomes:
        colour = "green" if o.ok else ("yellow" if o.state in ("reversed", "void_cancelled") else "red")
        click.secho("%s %s: %s" % (o.action, o.txn_id, o.state), fg=colour, bold=True)
        click.echo("  card %s, %s%s" % (o.card_number, fmt_yuan(o.amount),
                                       "" if o.card_balance is None else ", card balance %s" % fmt_yuan(o.card_balance)))
        click.echo("  " + o.message)


def _keys(session):
    ws = session.keys("workstation")
    return ws.to_keyring(), ws.issuer, ws.current


@topup.command("load", hidden=True)
@click.argument("args", nargs=-1)
@click.option("--present", is_flag=True, help="Top up the card on the reader, whatever its number.")
@click.option("--yuan", metavar="YUAN", help="The amount in yuan (12.50), instead of AMOUNT_FEN.")
@click.option("--txn", "txn_id", metavar="KEY", help="Idempotency key: sending it again never tops up twice.")
@click.option("--payment", type=click.Choice(PAYMENT_METHODS), default="cash", show_default=True)
@click.option("--payer-account", default=None, help="Non-cash payments: the payer's account name and number.")
@click.option("--terminal", envvar="ICPURSE_TERMINAL", type=TERMINAL, required=True, metavar="NUMBER",
              help="The kiosk's 8-digit terminal number (env ICPURSE_TERMINAL): enabled and signed in today.")
@click.option("--holder-id", "holder_id_number", default=None,
              help="Named cards: the holder's ID number (checked against the registration).")
@click.option("--agent-name", default=None, help="Named cards topped up by someone else: the agent's (经办人) name.")
@click.option("--agent-id", default=None, help="The agent's ID number (stored encrypted).")
@click.option("--agent-contact", default="", help="The agent's phone or address.")
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the card.")
@counter_options()
def load(session, args, present, yuan, txn_id, payment, payer_account, terminal, holder_id_number, agent_name,
         agent_id, agent_contact, card_timeout, as_json):
    """icpurse topup CARD AMOUNT_FEN | --present AMOUNT_FEN (or --yuan 12.50)."""
    args = list(args)
    if present:
        card_number = None
        if len(args) > 1:
            raise click.UsageError("with --present give only the amount")
    else:
        if not args:
            raise click.UsageError("give CARD AMOUNT_FEN, or --present AMOUNT_FEN")
        card_number = CARD_NUMBER.convert(args.pop(0), None, click.get_current_context())
        if len(args) > 1:
            raise click.UsageError("too many arguments: CARD AMOUNT_FEN")
    amount = _amount(args[0] if args else None, yuan)
    if bool(agent_name) != bool(agent_id):
        raise click.UsageError("an agent is captured with both --agent-name and --agent-id")
    agent = HolderInfo(agent_name, agent_id, agent_contact) if agent_name else None
    if card_number is not None:
        check_card_number(session, card_number)
    op = session.sign_in()
    ring, issuer, current = _keys(session)
    tag = session.card(card_timeout)
    try:
        out = tp.top_up(session.ledger(), tag, ring, amount, op.username, card=card_number, txn_id=txn_id,
                        payment_method=payment, terminal=terminal, issuer=issuer, current_version=current,
                        records={"payer_account": payer_account, "holder_id_number": holder_id_number,
                                 "agent": agent, "kiosk": True})
    finally:
        release_tag(tag)
    _show([out], as_json, "top-up")
    click.get_current_context().exit(_EXIT[out.state])


@topup.command()
@counter_options(keys=False, reader=False)
def unconfirmed(session, as_json):
    """The unconfirmed-transaction query: top-ups and voids not confirmed on the card."""
    session.sign_in()
    items = tp.unconfirmed(session.ledger())
    if as_json:
        emit_json({"ok": True, "unconfirmed": [{
            "txn_id": t.txn_id, "card_number": t.card_number, "amount": t.amount, "state": t.state,
            "void_state": t.void_state, "business_date": t.business_date.isoformat(),
            "created_at": t.created_at.isoformat(), "card_seq_before": t.card_seq_before} for t in items]})
        return
    if not items:
        click.echo("no unconfirmed top-ups or voids")
        return
    table = Table(title="unconfirmed top-ups and voids (settle with `icpurse topup reconfirm`, card on the reader)")
    for col in ("transaction", "card", "amount", "what", "state", "date"):
        table.add_column(col)
    for t in items:
        void = t.void_state in ("pending", "unconfirmed")
        table.add_row(t.txn_id, t.card_number, fmt_yuan(t.amount), "void" if void else "top-up",
                      t.void_state if void else t.state, t.business_date.isoformat())
    console(160).print(table)


@topup.command()
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the card.")
@counter_options()
def reconfirm(session, card_timeout, as_json):
    """Re-confirmation (补确认 / 撤销补确): read the card on the reader and settle its open top-up or
    void from what the card shows. Safe to run again: it never credits twice."""
    op = session.sign_in()
    ring, issuer, _ = _keys(session)
    tag = session.card(card_timeout)
    try:
        outcomes = tp.reconfirm(session.ledger(), tag, ring, op.username, issuer=issuer)
    finally:
        release_tag(tag)
    if not outcomes:
        if as_json:
            emit_json({"ok": True, "outcomes": []})
        else:
            click.echo("nothing to settle: the card on the reader has no unconfirmed top-up or void")
        return
    _show(outcomes, as_json, "re-confirmation")
    worst = max((Exit.INTEGRITY if o.state == "undecided" else Exit.OK) for o in outcomes)
    click.get_current_context().exit(worst)


@topup.command("void")
@click.argument("txn_id", metavar="TOPUP_ID")
@click.argument("amount_fen", required=False)
@click.option("--yuan", metavar="YUAN", help="The amount in yuan; it must be the top-up's full amount.")
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the card.")
@counter_options()
def void_cmd(session, txn_id, amount_fen, yuan, card_timeout, as_json):
    """Void (撤销) the confirmed top-up TOPUP_ID with its card on the reader: the full amount
    only, the same business day, before the daily cut-off. After that: refund or adjustment."""
    amount = _amount(amount_fen, yuan) if (amount_fen is not None or yuan is not None) else None
    op = session.sign_in()
    ring, issuer, _ = _keys(session)
    tag = session.card(card_timeout)
    try:
        out = tp.void(session.ledger(), tag, ring, txn_id, op.username, amount=amount, issuer=issuer)
    finally:
        release_tag(tag)
    _show([out], as_json, "void")
    click.get_current_context().exit(_EXIT[out.state])



@topup.command("confirm-payment")
@click.argument("txn_id", metavar="TOPUP_ID")
@click.option("--reference", default="", help="Bank reference of the payment.")
@counter_options(keys=False, reader=False)
def confirm_payment_cmd(session, txn_id, reference, as_json):
    """收款确认: finance confirms a non-cash top-up's money arrived (until then it is booked as awaiting
    confirmation, not as received). Not by the operator who took the top-up. `topup unpaid` lists them."""
    op = session.sign_in()
    t = session.ledger().topup_records.confirm_topup_payment(op.username, txn_id, reference)
    if as_json:
        emit_json({"ok": True, "txn_id": t.txn_id, "amount": t.amount, "payment_method": t.payment_method,
                   "confirmed_by": op.username})
    else:
        click.echo("payment of top-up %s (%s, %s) confirmed by %s" % (t.txn_id, fmt_yuan(t.amount), t.payment_method,
                                                                    op.username))


@topup.command("unpaid")
@counter_options(keys=False, reader=False)
def unpaid_cmd(session, as_json):
    """Non-cash top-ups whose payment finance has not confirmed yet."""
    session.sign_in()
    items = session.ledger().topup_records.unpaid_topups()
    if as_json:
        emit_json({"ok": True, "unpaid": [{"txn_id": t.txn_id, "card_number": t.card_number, "amount": t.amount,
                                           "payment_method": t.payment_method,
                                           "business_date": t.business_date.isoformat()} for t in items]})
        return
    if not items:
        click.echo("every non-cash top-up's payment is confirmed")
        return
    for t in items:
        click.echo("%s  card %s  %s  %s  %s" % (t.txn_id, t.card_number, fmt_yuan(t.amount), t.payment_method,
                                              t.business_date))


# --- after the cut-off: refund / adjustment (four eyes, card present) ----------------------------

def _adj_doc(a):
    return {"id": a.id, "txn_id": a.txn_id, "card_number": a.card_number, "kind": a.kind, "amount": a.amount,
            "reason": a.reason, "state": a.state, "requested_by": a.requested_by, "approved_by": a.approved_by}


def _request(session, txn_id, kind, amount, reason, as_json):
    op = session.sign_in()
    a = session.ledger().adjustments.request(op.username, txn_id, kind, amount, reason)
    if as_json:
        emit_json({"ok": True, "adjustment": _adj_doc(a)})
    else:
        click.echo("%s %d of top-up %s (%s) requested; next: a second operator (finance or issuer-admin) approves "
                   "it (`icpurse topup approve %d`), then `icpurse topup apply %d` with card %s on the reader" % (
                       kind, a.id, txn_id, fmt_yuan(amount), a.id, a.id, a.card_number))


@topup.command()
@click.argument("txn_id", metavar="TOPUP_ID")
@click.argument("amount", type=FEN, required=False, metavar="FEN")
@click.option("--yuan", "amount_yuan", type=YUAN, default=None, help="The amount in yuan instead of FEN.")
@click.option("--reason", required=True, help="Why (kept with the request and in the audit log).")
@counter_options(keys=False, reader=False)
def refund(session, txn_id, amount, amount_yuan, reason, as_json):
    """Ask to refund (part of) confirmed top-up TOPUP_ID after the cut-off, when it can no longer be
    voided: the amount is taken off the card and paid back to the payer. Needs a second operator's
    approval (`topup approve`), then the card on the reader (`topup apply`)."""
    if (amount is None) == (amount_yuan is None):
        raise click.UsageError("give the amount once: FEN, or --yuan 12.50")
    _request(session, txn_id, "refund", amount if amount is not None else amount_yuan, reason, as_json)


@topup.command()
@click.argument("txn_id", metavar="TOPUP_ID")
@click.option("--credit", "credit", type=FEN, default=None, metavar="FEN",
              help="Put FEN onto the card (the card got less than was paid).")
@click.option("--debit", "debit", type=FEN, default=None, metavar="FEN",
              help="Take FEN off the card (the card got more than was paid).")
@click.option("--reason", required=True, help="Why (kept with the request and in the audit log).")
@counter_options(keys=False, reader=False)
def adjust(session, txn_id, credit, debit, reason, as_json):
    """Ask to correct confirmed top-up TOPUP_ID after the cut-off: --credit or --debit an amount on the
    card. Four eyes and the card present, as for `topup refund`."""
    if (credit is None) == (debit is None):
        raise click.UsageError("give one of --credit FEN or --debit FEN")
    _request(session, txn_id, "credit" if credit is not None else "debit", credit or debit, reason, as_json)


@topup.command()
@click.argument("adjustment_id", type=click.IntRange(1))
@click.option("--reject", is_flag=True, help="Reject the request instead.")
@click.option("--reason", default="", help="Kept in the audit log.")
@counter_options(keys=False, reader=False)
def approve(session, adjustment_id, reject, reason, as_json):
    """The second pair of eyes: approve (or --reject) refund/adjustment ADJUSTMENT_ID. A finance or
    issuer-admin operator other than the one who asked."""
    op = session.sign_in()
    a = session.ledger().adjustments.approve(op.username, adjustment_id, approve=not reject, reason=reason)
    if as_json:
        emit_json({"ok": True, "adjustment": _adj_doc(a)})
    else:
        click.echo("%s %d %s by %s%s" % (a.kind, a.id, a.state, op.username, "; next: `icpurse topup apply %d` with "
                                         "card %s on the reader" % (a.id, a.card_number) if not reject else ""))


@topup.command()
@click.argument("adjustment_id", type=click.IntRange(1))
@click.option("--card-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the card.")
@counter_options()
def apply(session, adjustment_id, card_timeout, as_json):
    """Write approved refund/adjustment ADJUSTMENT_ID to its card on the reader (like a void); the
    money is booked when the card shows it. Safe to run again after an interruption."""
    op = session.sign_in()
    ring, issuer, _ = _keys(session)
    tag = session.card(card_timeout)
    try:
        out = tp.apply_adjustment(session.ledger(), tag, ring, adjustment_id, op.username, issuer=issuer)
    finally:
        release_tag(tag)
    _show([out], as_json, "adjustment")
    click.get_current_context().exit({"confirmed": Exit.OK, "cancelled": Exit.FAILED, "unconfirmed": Exit.CARD,
                                      "undecided": Exit.INTEGRITY}[out.state])


@topup.command()
@click.option("--state", type=click.Choice(["requested", "approved", "rejected", "pending", "unconfirmed",
                                            "confirmed"]), default=None)
@counter_options(keys=False, reader=False)
def adjustments(session, state, as_json):
    """Refunds and adjustments of top-ups, and where each stands."""
    session.sign_in()
    items = session.ledger().adjustments.adjustments(state)
    if as_json:
        emit_json({"ok": True, "adjustments": [_adj_doc(a) for a in items]})
        return
    if not items:
        click.echo("no refunds or adjustments")
        return
    table = Table(title="top-up refunds and adjustments")
    for col in ("#", "top-up", "card", "kind", "amount (yuan)", "state", "asked by", "approved by", "reason"):
        table.add_column(col)
    for a in items:
        table.add_row(str(a.id), a.txn_id, a.card_number, a.kind, fmt_yuan(a.amount, unit=""), a.state,
                      a.requested_by, a.approved_by or "-", a.reason)
    console(180).print(table)
