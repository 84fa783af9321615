"""`icpurse dump ...`: MIFARE Classic dump files between the formats labs use (docs/dumps.md)."""
import os

import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import json_option
from icpurse.host.clikit.output import emit_json
from icpurse.host.dumps import FORMATS, DumpError, format_for_path, load, save

_FORMAT_CHOICE = click.Choice(sorted(FORMATS) + ["mfd", "bin", "json", "nfc"], case_sensitive=False)
_FORMATS_TEXT = "raw|eml|proxmark-json|flipper|mct"


def _fill(value):
    if value is None:
        return None
    try:
        b = int(value, 16)
    except ValueError:
        b = -1
    if not 0 <= b <= 255 or len(value) != 2:
        raise click.BadParameter("one byte in hex, e.g. 00 or FF", param_hint="--fill-unknown")
    return b


@click.group(cls=Group)
def dump():
    """Read, check and convert MIFARE Classic dump files.

    Formats (detected from the content, never from the name): raw .mfd/.bin (libnfc, MIFARE
    Classic Tool export, proxmark .bin), Proxmark3 .eml and JSON ("FileType": "mfc v2"), Flipper
    Zero .nfc, MIFARE Classic Tool text (+Sector: N). Unknown bytes stay unknown: Flipper writes
    them as ??, MIFARE Classic Tool as --; the other formats cannot say "unknown", so converting a
    partial dump to them needs --fill-unknown.
    """


@dump.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--from", "from_fmt", type=_FORMAT_CHOICE, help="read as this format instead of detecting it")
@json_option(help="one JSON object on stdout")
def info(path, from_fmt, as_json):
    """What a dump file holds: format, size, UID (and where it comes from), ATQA, SAK, unknown bytes.

    Exit 0, or 2 when the file is not a dump (the message says which line or byte)."""
    summary = load(path, from_fmt).summary()  # DumpError: exit 2, the message says where
    if as_json:
        emit_json(dict(summary, ok=True, path=path))
        return
    click.echo("%s: %s dump of a MIFARE Classic %s (%d blocks)" % (path, summary["format"], summary["size"].upper(),
                                                                   summary["blocks"]))
    click.echo("  UID %s (from %s)  ATQA %s (from %s)  SAK %s (from %s)" % (
        summary["uid"] or "unknown", summary["uid_from"], summary["atqa"] or "-", summary["atqa_from"],
        summary["sak"], summary["sak_from"]))
    if summary["unknown_bytes"]:
        click.echo("  %d unknown byte(s) in blocks %s" % (summary["unknown_bytes"],
                                                         ", ".join(map(str, summary["unknown_blocks"]))))
    else:
        click.echo("  every byte known")


@dump.command("convert")
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--from", "from_fmt", type=_FORMAT_CHOICE, help="read SRC as this format instead of detecting it")
@click.option("--to", "to_fmt", type=_FORMAT_CHOICE,
              help="write this format (default: from DST's extension: .mfd/.bin raw, .eml, .json proxmark-json, "
                   ".nfc flipper, .mct mct)")
@click.option("--fill-unknown", "fill", metavar="XX",
              help="write unknown bytes as this byte (hex) in formats that cannot mark them (raw, eml, proxmark-json)")
@click.option("--force", is_flag=True, help="overwrite DST if it exists")
@json_option(help="one JSON object on stdout")
def convert(src, dst, from_fmt, to_fmt, fill, force, as_json):
    """Convert the dump SRC into DST (written atomically: nothing is left half-written).

    Exit 0; 1 when DST exists (give --force) or the target format cannot hold the dump (unknown
    bytes without --fill-unknown); 2 when SRC is not a dump or the format cannot be told."""
    fill = _fill(fill)
    d = load(src, from_fmt)  # DumpError: exit 2
    target = to_fmt or format_for_path(dst)
    if target is None:
        raise Failure("cannot tell the format from %s" % dst, Exit.USAGE, next_step="give --to " + _FORMATS_TEXT)
    if os.path.exists(dst) and not force:
        raise Failure("%s exists" % dst, next_step="give --force to overwrite it, or another DST")
    try:
        written = save(d, dst, target, fill)
    except DumpError as e:  # the dump is fine; the target format cannot hold it
        raise Failure(str(e)) from None
    out = dict(d.summary(), ok=True, src=src, dst=dst, to=written, filled=d.unknown() if fill is not None else 0)
    if as_json:
        emit_json(out)
    else:
        click.echo("%s (%s) -> %s (%s)%s" % (src, d.source, dst, written,
                                             ", %d unknown byte(s) written as %02X" % (d.unknown(), fill)
                                             if fill is not None and d.unknown() else ""))
