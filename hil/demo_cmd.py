"""`icpurse demo` (= `make demo`), registered from the rig (entry point group `icpurse.commands` in
pyproject.toml) so that the host tools never import the virtual rig. The day itself is hil/demo.py,
imported only when the command runs."""
import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.group import Command
from icpurse.host.clikit.options import json_option
from icpurse.host.clikit.output import emit_json


@click.command(cls=Command)
@click.option("--dir", "out_dir", type=click.Path(file_okay=False),
              help="Where the demo keeps its state (ledger, keystore, reader flash, card dumps, report). "
                   "Default: a new folder demo/<time> under the current folder.")
@click.option("--cards", default=6, show_default=True, help="cards to issue")
@click.option("--sales", default=60, show_default=True, help="sales during the day")
@json_option(help="print the summary as JSON")
def demo(out_dir, cards, sales, as_json):
    """Run the whole system for one day on the virtual rig (no hardware).

    Issues and tops up cards with the INSECURE DEMO KEYS, provisions two virtual store readers (the
    real firmware on the simulated PN532), sells all day — one card pulled mid-write, one card
    rolled back to an old dump by its holder —, collects the journals, reconciles, blacklists the
    rolled-back card, and writes an HTML report. Exit 0 when nothing was lost and the rollback was
    caught; 5 otherwise."""
    import datetime as dt
    import os
    import time

    from icpurse.hil.demo import run_demo
    from icpurse.protocol.money import fmt_yuan

    if out_dir is None:
        out_dir = os.path.join("demo", dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S"))
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise click.UsageError("%s is not empty: choose another --dir" % out_dir)
    started = time.monotonic()
    say = (lambda text: None) if as_json else click.echo
    summary = run_demo(out_dir, cards=cards, sales=sales, say=say)
    summary["seconds"] = round(time.monotonic() - started, 1)
    ok = (summary["nothing_lost"] and summary["rollback_detected"] and summary["rolled_back_card_refused"]
          and summary["v1_card_migrated"])
    if as_json:
        emit_json(summary)
    else:
        click.echo("")
        plain = {"unit": "", "sep": "", "always_decimals": True}  # 1234.50, aligned in the columns below
        click.echo("received from holders   %12s yuan" % fmt_yuan(summary["received_fen"], **plain))
        click.echo("redeemed at the readers %12s yuan" % fmt_yuan(summary["redeemed_fen"], **plain))
        click.echo("outstanding (预收资金余额) %10s yuan" % fmt_yuan(summary["outstanding_fen"], **plain))
        click.echo("discrepancy account     %12s yuan" % fmt_yuan(summary["discrepancy_fen"], **plain))
        click.echo("received + discrepancy = redeemed + outstanding: %s" % (
            "yes" if summary["books_add_up"] else "NO"))
        click.echo("nothing lost: %s (every honest card equals the ledger, books balanced, audit log verified)"
                   % ("yes" if summary["nothing_lost"] else "NO"))
        click.echo("rollback detected and blacklisted: %s; refused at the readers after sign-in: %s" % (
            "yes" if summary["rollback_detected"] else "NO", "yes" if summary["rolled_back_card_refused"] else "NO"))
        click.echo("layout v1 card %s moved to v2 at its top-up: %s" % (
            summary["v1_card"], "yes" if summary["v1_card_migrated"] else "NO"))
        click.echo("report: %s" % os.path.join(out_dir, "report.html"))
        click.echo("state:  %s   (%.1f s)" % (out_dir, summary["seconds"]))
    click.get_current_context().exit(Exit.OK if ok else Exit.INTEGRITY)
