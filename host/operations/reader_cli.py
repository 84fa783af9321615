"""`icpurse reader sell|mode`: a store reader driven from the host over its USB link (till
integration), and switching a reader between store and issuance use.

Thin on purpose: each command is one typed request of the link client
(`host/terminals/client.py`, `host/readers/serial.py`) and prints what the reader answered."""
import click

from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.params import FEN, YUAN
from icpurse.protocol.money import fmt_yuan


@click.group(cls=Group)
def reader():
    """A store reader from the host: sell at the till (`sell`), switch it to issuance use (`mode`)."""


@reader.command()
@click.argument("amount", type=FEN, required=False, metavar="FEN")
@click.option("--yuan", "amount_yuan", type=YUAN, default=None, help="The amount in yuan (12.50) instead of FEN.")
@click.option("--ref", "pos_ref", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True,
              help="The till's own reference (receipt number), kept in the reader's journal record.")
@click.option("--timeout", type=click.FloatRange(1, 120), default=30.0, show_default=True,
              help="Seconds the reader waits for the customer's card.")
@uses(link=True, json=True)
def sell(session, amount, amount_yuan, pos_ref, timeout, as_json):
    """Sell AMOUNT (fen) at the till: the store reader on --reader serial:PORT waits for the card and
    debits it (its own rules: blacklist, expiry, caps, balance). Prints the card, the amount, the new
    balance and the journal number for the receipt. Exit 4 when the card is refused or absent."""
    if (amount is None) == (amount_yuan is None):
        raise click.UsageError("give the amount once: FEN, or --yuan 12.50")
    amount = amount if amount is not None else amount_yuan
    from icpurse.protocol.numbering import card_number_from_bcd

    result = dict(session.link().debit(amount, pos_ref, int(timeout * 1000)))
    result["card_number"] = card_number_from_bcd(bytes(result["card_number"]))
    result["recovered"] = bool(result.get("recovered"))
    if as_json:
        emit_json(dict(result, ok=True))
        return
    click.echo("card %s: %s paid, balance %s (journal number %d%s)" % (
        result["card_number"], fmt_yuan(result["amount"]), fmt_yuan(result["balance"]), result["journal_number"],
        ", a torn earlier write was recovered" if result.get("recovered") else ""))


@reader.command()
@click.argument("use", type=click.Choice(["issuance", "store"]))
@uses(db=True, link=True, keystore="required", operator="required", json=True,
      operator_help="who switches the reader (an issuer-admin or a terminal-operator; audited)")
def mode(session, use, as_json):
    """Switch the reader on --reader serial:PORT to ISSUANCE use (transparent card access: the host
    personalises, tops up and audits cards through it, `--reader serial:PORT`) or back to STORE use
    (card access off). Runs on the workstation key set (the issuer's number; the audit key): the
    switch is recorded in the ledger first, by an issuer-admin or a terminal-operator. Its mode and
    price are kept; per-card caps and grace days are reset: run `icpurse terminal provision` again to
    set them for store use."""
    ws = session.keys("workstation")
    op = session.sign_in().username
    client = session.link()
    info = client.info()
    number = "%08d" % info["terminal"] if info["terminal"] else None
    session.ledger().outlets.record_reader_use(op, number, use)
    client.configure(mode=info["mode"], fixed_price=info["fixed_price"], issuer=ws.issuer,
                     transparent=use == "issuance")
    if as_json:
        emit_json({"ok": True, "terminal": info["terminal"], "use": use, "transparent": use == "issuance",
                   "by": op})
    else:
        click.echo("reader %s set to %s use by %s%s" % (
            number or "(not provisioned)", use, op,
            ": use it with --reader serial:PORT" if use == "issuance" else
            "; next: `icpurse terminal provision` to set its caps and grace period"))
