"""The ``icpurse`` command: one click group; each part of the system registers its sub-commands.

The framework every command uses - exit codes, the failure type, the error mapper applied once
here at the root, the lazily opened session and the shared options - is host/clikit/.
Exit codes (shared by every command, host/clikit/exits.py):
  0 success · 1 operation refused or failed (clear message) · 2 usage error ·
  3 no reader / device found · 4 card error (absent, wrong type, auth failed) · 5 data integrity
  problem found (MAC, chain, reconciliation difference).
"""
import click

from icpurse import __version__
from icpurse.host.clikit.group import Group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icpurse")
def main():
    """icpurse: issue, top up, debit and audit MIFARE Classic prepaid cards.

    Start with `icpurse layout show` (the card layout) or `icpurse sim serve --pty` (the virtual
    PN532 reader). `make demo` runs the whole system end to end on the virtual rig.

    Settings (--db, --keystore, --reader, --operator, ...) come from the command line, the
    ICPURSE_* environment variables or the configuration file (`icpurse config show` says where
    it is and what it sets).
    """
    from icpurse.host.clikit.config import apply_config

    apply_config()


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

    from icpurse.host.keys_cmd import keys

    main.add_command(keys)

    from icpurse.host.issuance.topup_cli import topup

    main.add_command(topup)

    from icpurse.host.audit.cli import audit
    from icpurse.host.reconcile.cli import blacklist, reconcile
    from icpurse.host.terminals.cli import terminal

    for group in (terminal, audit, reconcile, blacklist):
        main.add_command(group)

    from icpurse.host.issuance.card_cli import card
    from icpurse.host.issuance.sale_cli import sale
    from icpurse.host.issuance.stock_cli import stock
    from icpurse.host.readers.cli import readers

    for group in (stock, card, sale, readers):
        main.add_command(group)

    from icpurse.host.reports.cli import report

    main.add_command(report)

    from icpurse.host.lifecycle.cli import holder

    main.add_command(holder)

    from icpurse.host.operations import terminal_cli
    from icpurse.host.operations.clearing_cli import clearing
    from icpurse.host.operations.config_cli import config
    from icpurse.host.operations.cutoff_cli import cutoff
    from icpurse.host.operations.ledger_cli import ledger
    from icpurse.host.operations.passwd_cli import passwd
    from icpurse.host.operations.reader_cli import reader
    from icpurse.host.operations.salespoint_cli import salespoint

    for group in (salespoint, cutoff, clearing, ledger, config, reader):
        main.add_command(group)
    for cmd in terminal_cli.COMMANDS:
        terminal.add_command(cmd)
    operator.add_command(passwd)

    # `sim`, `demo`, ...: commands of the parts above the host (the virtual rig), by entry point
    from icpurse.host import plugins

    for name, ep in sorted(plugins.registered(plugins.COMMANDS).items()):
        if name in main.commands:
            continue  # a plugin never replaces a host command
        try:
            main.add_command(plugins.load(ep), name)
        except plugins.Missing:
            continue  # installed without that part (e.g. the product without its test rig)


_register()
