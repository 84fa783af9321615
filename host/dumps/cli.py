"""`icpurse dump ...`: MIFARE Classic dump files between the formats labs use (docs/dumps.md)."""
import json
import os
import sys

import click

from icpurse.host.dumps import FORMATS, DumpError, format_for_path, load, save

EXIT_FAILED, EXIT_USAGE = 1, 2  # host/cli.py's exit code table
_FORMAT_CHOICE = click.Choice(sorted(FORMATS) + ["mfd", "bin", "json", "nfc"], case_sensitive=False)


def _bad_input(message, as_json):
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}))
    else:
        click.echo("error: " + message, err=True)
    sys.exit(EXIT_USAGE)


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


@click.group()
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
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
def info(path, from_fmt, as_json):
    """What a dump file holds: format, size, UID (and where it comes from), ATQA, SAK, unknown bytes.

    Exit 0, or 2 when the file is not a dump (the message says which line or byte)."""
    try:
        d = load(path, from_fmt)
        summary = d.summary()
    except DumpError as e:
        _bad_input(str(e), as_json)
    if as_json:
        click.echo(json.dumps(dict(summary, ok=True, path=path)))
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
@click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
def convert(src, dst, from_fmt, to_fmt, fill, force, as_json):
    """Convert the dump SRC into DST (written atomically: nothing is left half-written).

    Exit 0; 1 when DST exists (give --force) or the target format cannot hold the dump (unknown
    bytes without --fill-unknown); 2 when SRC is not a dump or the format cannot be told."""
    fill = _fill(fill)
    try:
        d = load(src, from_fmt)
    except DumpError as e:
        _bad_input(str(e), as_json)
    target = to_fmt or format_for_path(dst)
    if target is None:
        _bad_input("cannot tell the format from %s: give --to raw|eml|proxmark-json|flipper|mct" % dst, as_json)
    if os.path.exists(dst) and not force:
        _refuse("%s exists: give --force to overwrite it" % dst, as_json)
    try:
        written = save(d, dst, target, fill)
    except DumpError as e:
        _refuse(str(e), as_json)
    out = dict(d.summary(), ok=True, src=src, dst=dst, to=written, filled=d.unknown() if fill is not None else 0)
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo("%s (%s) -> %s (%s)%s" % (src, d.source, dst, written,
                                             ", %d unknown byte(s) written as %02X" % (d.unknown(), fill)
                                             if fill is not None and d.unknown() else ""))


def _refuse(message, as_json):
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}))
    else:
        click.echo("error: " + message, err=True)
    sys.exit(EXIT_FAILED)
