"""Daily operations from the command line: sales points, terminal administration (enable/disable,
kiosks), the daily cut-off, operator passwords, the clearing house's 对账, the ledger itself, the
configuration file and the store reader as seen from a till (`reader sell`, `reader mode`).

Each module is one command group (or commands added to an existing group by `host/cli.py`),
written on host/clikit like every other command."""
