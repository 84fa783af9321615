"""The ``icpurse`` command: one click group; each part of the system registers its sub-commands.

Exit codes (shared by every command):
  0 success · 1 operation refused or failed (clear message) · 2 usage error ·
  3 no reader / device found · 4 card error (absent, wrong type, auth failed) · 5 data integrity
  problem found (MAC, chain, reconciliation difference).
"""
import click

from icpurse import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_READER, EXIT_CARD, EXIT_INTEGRITY = 0, 1, 2, 3, 4, 5


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icpurse")
def main():
    """icpurse: issue, top up, debit and audit MIFARE Classic prepaid cards.

    Start with `icpurse layout show` (the card layout) or `icpurse sim serve --pty` (the virtual
    PN532 reader). `make demo` runs the whole system end to end on the virtual rig.
    """


@main.command()
@click.option("--dir", "out_dir", type=click.Path(file_okay=False),
              help="Where the demo keeps its state (ledger, keystore, reader flash, card dumps, report). "
                   "Default: a new folder demo/<time> under the current folder.")
@click.option("--cards", default=6, show_default=True, help="cards to issue")
@click.option("--sales", default=60, show_default=True, help="sales during the day")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def demo(out_dir, cards, sales, as_json):
    """Run the whole system for one day on the virtual rig (no hardware).

    Issues and tops up cards with the INSECURE DEMO KEYS, provisions two virtual store readers (the
    real firmware on the simulated PN532), sells all day — one card pulled mid-write, one card
    rolled back to an old dump by its holder —, collects the journals, reconciles, blacklists the
    rolled-back card, and writes an HTML report. Exit 0 when nothing was lost and the rollback was
    caught; 5 otherwise."""
    import datetime as dt
    import json
    import os
    import time

    from icpurse.host.demo import run_demo

    if out_dir is None:
        out_dir = os.path.join("demo", dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S"))
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise click.UsageError("%s is not empty: choose another --dir" % out_dir)
    started = time.monotonic()
    say = (lambda text: None) if as_json else click.echo
    summary = run_demo(out_dir, cards=cards, sales=sales, say=say)
    summary["seconds"] = round(time.monotonic() - started, 1)
    ok = summary["nothing_lost"] and summary["rollback_detected"] and summary["rolled_back_card_refused"]
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        click.echo("")
        click.echo("received from holders   %12s yuan" % _yuan(summary["received_fen"]))
        click.echo("redeemed at the readers %12s yuan" % _yuan(summary["redeemed_fen"]))
        click.echo("outstanding (预收资金余额) %10s yuan" % _yuan(summary["outstanding_fen"]))
        click.echo("discrepancy account     %12s yuan" % _yuan(summary["discrepancy_fen"]))
        click.echo("received + discrepancy = redeemed + outstanding: %s" % (
            "yes" if summary["books_add_up"] else "NO"))
        click.echo("nothing lost: %s (every honest card equals the ledger, books balanced, audit log verified)"
                   % ("yes" if summary["nothing_lost"] else "NO"))
        click.echo("rollback detected and blacklisted: %s; refused at the readers after sign-in: %s" % (
            "yes" if summary["rollback_detected"] else "NO", "yes" if summary["rolled_back_card_refused"] else "NO"))
        click.echo("report: %s" % os.path.join(out_dir, "report.html"))
        click.echo("state:  %s   (%.1f s)" % (out_dir, summary["seconds"]))
    raise SystemExit(EXIT_OK if ok else EXIT_INTEGRITY)


def _yuan(fen):
    sign = "-" if fen < 0 else ""
    return "%s%d.%02d" % (sign, abs(fen) // 100, abs(fen) % 100)


def _register():
    # Sub-command groups live with their part of the architecture.
    from icpurse.host.layout_cmd import layout

    main.add_command(layout)

    from icpurse.host.operators_cmd import operator
    from icpurse.host.programmes.cli import programme

    main.add_command(operator)
    main.add_command(programme)

    from icpurse.host.dumps.cli import dump

    main.add_command(dump)

    from icpurse.hil.sim.cli import sim

    main.add_command(sim)

    from icpurse.keys.cli import keys

    main.add_command(keys)

    from icpurse.host.issuance.topup_cli import topup

    main.add_command(topup)

    from icpurse.host.audit.cli import audit
    from icpurse.host.reconcile.cli import blacklist, reconcile
    from icpurse.host.terminals.cli import terminal

    for group in (terminal, audit, reconcile, blacklist):
        main.add_command(group)

    from icpurse.host.issuance.cli import card, readers, sale, stock

    for group in (stock, card, sale, readers):
        main.add_command(group)

    from icpurse.host.reports.cli import report

    main.add_command(report)

    from icpurse.host.lifecycle.cli import holder

    main.add_command(holder)


_register()
