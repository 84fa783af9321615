"""`icpurse readers`: the card readers visible now (one of them goes to --reader)."""
import click
from rich.table import Table

from icpurse.host.clikit.group import Command
from icpurse.host.clikit.options import json_option
from icpurse.host.clikit.output import console, emit_json
from icpurse.host.readers import list_readers


@click.command(cls=Command)
@json_option
def readers(as_json):
    """List the card readers visible now (use one with --reader SPEC or ICPURSE_READER)."""
    found = list_readers()
    if as_json:
        emit_json({"ok": True, "readers": [{"spec": s, "description": d} for s, d in found]})
        return
    table = Table(title="card readers", title_justify="left")
    table.add_column("--reader")
    table.add_column("description")
    for spec, desc in found:
        table.add_row(spec, desc)
    console(160).print(table)
