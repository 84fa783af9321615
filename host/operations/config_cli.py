"""`icpurse config path|show`: the configuration file and the settings in force."""
import os

import click

from icpurse.host.clikit import config as cfg
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import json_option
from icpurse.host.clikit.output import emit_json


@click.group(cls=Group)
def config():
    """The configuration file (TOML) of the ICPURSE_* settings: where it is, what it sets."""


@config.command()
@json_option
def path(as_json):
    """Where the configuration file is read from ($ICPURSE_CONFIG, else the user's config folder)."""
    p = cfg.config_path()
    if as_json:
        emit_json({"ok": True, "path": str(p), "exists": p.exists()})
    else:
        click.echo("%s%s" % (p, "" if p.exists() else " (not there: create it to set defaults)"))


@config.command()
@json_option
def show(as_json):
    """Every setting, its value and where it comes from (environment or file); secrets are never
    shown or read from the file."""
    found = cfg.read_config()
    rows = []
    for key, what in cfg.SETTINGS.items():
        var = cfg.PREFIX + key.upper()
        value = os.environ.get(var)
        source = "environment" if value is not None and found.get(key) != value else (
            "file" if key in found else None)
        rows.append({"setting": key, "variable": var, "value": value if value is not None else found.get(key),
                     "source": source, "what": what})
    if as_json:
        emit_json({"ok": True, "path": str(cfg.config_path()), "settings": rows})
        return
    click.echo("configuration file: %s" % cfg.config_path())
    for r in rows:
        click.echo("%-12s %-24s %s" % (r["setting"], r["value"] if r["value"] is not None else "-",
                                      "(%s)" % r["source"] if r["source"] else ""))
