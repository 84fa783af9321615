"""`icpurse keys ...`: create, split, combine, show, roll over and export the issuer's keys (the
commands over the keys library, keys/, which stays free of any CLI). These key ceremonies are the
only commands that open the masters; `export --role workstation|collector|reader` makes the key sets
daily work runs on.

Passphrases come from a hidden prompt or the environment (ICPURSE_KEYSTORE_PASSPHRASE for the
keystore, ICPURSE_TRANSPORT_PASSPHRASE for exports). Key material is printed in exactly one place:
custodian components at `init` / `rollover` (the point of a key ceremony). `show` and every
--json output carry versions, KCVs and roles only. `show` and `export` take `--keystore demo` (the
built-in INSECURE DEMO KEYS) like every other command; errors and exit codes: host/clikit.
"""
import os

import click
from rich.table import Table

from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import KEYSTORE_ENV, uses
from icpurse.host.clikit.output import console, emit_json, json_of_text_output
from icpurse.host.clikit.session import DEMO, demo_banner, keystore_passphrase, transport_passphrase
from icpurse.keys import demo as demo_keys
from icpurse.keys import exports, keystore, split
from icpurse.keys.hierarchy import MASTERS, KeyDomain


_WHO = {"workstation": "issuance workstation", "collector": "back-office collector (verification only)"}


def _refuse_overwrite(path, force):
    if os.path.exists(path) and not force:
        raise Failure("%s exists; refusing to overwrite it (use --force)" % path)


def _demo_banner(obj):
    if getattr(obj, "demo", False):
        demo_banner()


def _kcv_table(summary, title, names=tuple(MASTERS)):
    table = Table(title=title)
    table.add_column("version", justify="right")
    table.add_column("status")
    for name in names:
        table.add_column(name + (" (terminal)" if summary.get("terminal") and name == "journal" else ""))
    for v in summary["versions"]:
        table.add_row(str(v["version"]), v.get("status", ""), *[v["kcv"][n] for n in names])
    console(150).print(table)


def _print_components(by_custodian, threshold, custodians, out_dir):
    """Show (or write to one file per custodian) each custodian's components, once."""
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    for index, comps in sorted(by_custodian.items()):
        head = "# custodian %d of %d: any %d custodians rebuild the masters. Keep secret." % (
            index, custodians, threshold)
        lines = [head] + [c.text() for c in comps]
        if out_dir:
            path = os.path.join(out_dir, "custodian-%d.txt" % index)
            keystore.write_atomic(path, ("\n".join(lines) + "\n").encode("ascii"))
            click.echo("custodian %d: %s  (%s)" % (index, path, ", ".join("%s KCV %s" % (c.master, c.kcv)
                                                                             for c in comps)))
        else:
            click.echo("")
            click.echo("\n".join(lines))
    if not out_dir:
        click.echo("\nThe components are shown once: hand each block to its custodian, then clear the screen.")


# the keystore a command writes (init, combine, demo); the commands that read one take the shared --keystore
_new_keystore = click.option("--keystore", "path", envvar=KEYSTORE_ENV, required=True,
                             type=click.Path(dir_okay=False), help="keystore file (or %s)" % KEYSTORE_ENV)


def _check_n(ctx, param, n):
    if n < 2 or n & (n - 1) or n > 2 ** 20:
        raise click.BadParameter("must be a power of two, 2..2**20")
    return n


_kdf_opt = click.option("--kdf-n", type=int, default=keystore.DEFAULT_N, envvar="ICPURSE_KDF_N", callback=_check_n,
                        show_default=True, help="scrypt cost N (a power of two, at least 2^17; lower is refused "
                                                "except for the INSECURE DEMO KEYS)")


@click.group(cls=Group)
def keys():
    """Issuer keys: hierarchy, split knowledge, encrypted keystore, role exports."""


@keys.command()
@_new_keystore
@click.option("--issuer", type=click.IntRange(1, 0xFFFF), required=True, help="issuer number (identity record)")
@click.option("--name", default="", help="a label for the domain")
@click.option("--custodians", type=click.IntRange(2, 255), default=3, show_default=True)
@click.option("--threshold", type=click.IntRange(2, 255), default=2, show_default=True,
              help="components needed to rebuild a master")
@click.option("--components-out", type=click.Path(file_okay=False),
              help="write custodian-N.txt files (mode 0600) here instead of printing the components")
@_kdf_opt
@click.option("--force", is_flag=True, help="overwrite an existing keystore")
@json_of_text_output
def init(path, issuer, name, custodians, threshold, components_out, kdf_n, force):
    """Create the masters (version 1) and print each custodian's components once."""
    if threshold > custodians:
        raise click.BadParameter("threshold %d > custodians %d" % (threshold, custodians))
    _refuse_overwrite(path, force)
    domain = KeyDomain.generate(issuer, name, custodians, threshold)
    keystore.save_keystore(path, domain, keystore_passphrase(new=True), n=kdf_n)
    click.echo("keystore %s: issuer %d, key version 1" % (path, issuer))
    _print_components(split.split_version(domain, 1), threshold, custodians, components_out)
    _kcv_table(domain.summary(), "masters (KCV)")


@keys.command()
@_new_keystore
@click.option("--from", "sources", multiple=True, type=click.File("r"),
              help="a file of component lines (repeatable); without it, type or paste them")
@click.option("--name", default="", help="a label for the domain")
@_kdf_opt
@click.option("--force", is_flag=True, help="overwrite an existing keystore")
@json_of_text_output
def combine(path, sources, name, kdf_n, force):
    """Rebuild the masters from custodians' components and write them to a keystore."""
    _refuse_overwrite(path, force)
    if sources:
        text = "\n".join(f.read() for f in sources)
    else:
        click.echo("Type or paste component lines (hidden); an empty line ends.", err=True)
        lines = []
        while True:
            try:
                line = click.prompt("component", hide_input=True, default="", show_default=False, err=True)
            except click.Abort:  # end of input
                break
            if not line.strip():
                break
            lines.append(line)
        text = "\n".join(lines)
    domain = split.combine_domain(split.parse_components(text), name)
    keystore.save_keystore(path, domain, keystore_passphrase(new=True), n=kdf_n)
    click.echo("keystore %s: issuer %d, key versions %s, current %d"
               % (path, domain.issuer, sorted(domain.versions), domain.current))
    _kcv_table(domain.summary(), "rebuilt masters (KCV)")


@keys.command()
@click.option("--export", "is_export", is_flag=True, help="the file is a key export (transport passphrase)")
@uses(keystore="required", json=True, json_help="print JSON for scripts")
def show(session, is_export, as_json):
    """Key versions, KCVs and roles (never the keys)."""
    if is_export:
        obj = exports.load_export(session.keystore, transport_passphrase())
    else:
        obj, _ = session.open_keystore()
    _demo_banner(obj)
    summary = obj.summary()
    if as_json:
        emit_json(summary)
        return
    if is_export:
        who = "terminal %08d" % obj.terminal if obj.terminal is not None else _WHO[obj.role]
        title = "%s export for %s, issuer %d" % (obj.role, who, obj.issuer)
        names = exports.ROLES[obj.role]
    else:
        title = "issuer %d%s: current version %d" % (obj.issuer, " (%s)" % obj.name if obj.name else "", obj.current)
        names = tuple(MASTERS)
    if obj.demo:
        title = "%s -- %s" % (demo_keys.WARNING, title)
    _kcv_table(summary, title, names)
    if not is_export:
        click.echo("split knowledge: any %d of %d custodians" % (obj.threshold, obj.custodians))
        for name, (what, roles) in MASTERS.items():
            click.echo("  %-9s %s; held by: %s" % (name, what, ", ".join(roles)))


@keys.command()
@click.option("--components-out", type=click.Path(file_okay=False),
              help="write custodian-N.txt files (mode 0600) here instead of printing the components")
@uses(keystore="required")
@json_of_text_output
def rollover(session, components_out):
    """Create key version n+1 as current; n stays as previous (cards are re-keyed at top-up)."""
    path = session.keystore
    if path == DEMO:
        raise click.UsageError("the built-in demo keys cannot be rolled over: write them to a file "
                               "(`icpurse keys demo --keystore FILE`) and roll that file over")
    domain, passphrase = session.open_keystore()
    _demo_banner(domain)
    new = exports.rollover(domain)
    # a file below the cost policy (the earlier default 2^14) is rewritten at the policy's cost
    keystore.save_keystore(path, domain, passphrase, n=max(keystore.keystore_n(path), keystore.DEFAULT_N))
    click.echo("keystore %s: key version %d is current, %d previous" % (path, new, domain.previous))
    if domain.demo:
        click.echo("%s: version %d is random, not part of the public demo set" % (demo_keys.WARNING, new))
    _print_components(split.split_version(domain, new), domain.threshold, domain.custodians, components_out)


@keys.command("export")
@click.option("--role", type=click.Choice(sorted(exports.ROLES)), required=True)
@click.option("--terminal", type=click.IntRange(1, 99999999), help="the reader's 8-digit terminal number")
@click.option("--version", "versions", type=click.IntRange(1, 255), multiple=True,
              help="key version(s) to export (default: reader current+previous, workstation all)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the encrypted export file")
@_kdf_opt
@click.option("--force", is_flag=True, help="overwrite --out")
@uses(keystore="required", json=True, json_help="print the export's summary as JSON")
def export_cmd(session, role, terminal, versions, out, kdf_n, force, as_json):
    """Write a role-scoped key set, encrypted with a transport passphrase."""
    if (role == "reader") != (terminal is not None):
        raise click.UsageError("--terminal is required for --role reader and only for it")
    _refuse_overwrite(out, force)
    domain, _ = session.open_keystore()
    _demo_banner(domain)
    versions = versions or None
    if role == "reader":
        export = exports.reader_keyset(domain, terminal, versions)
    else:
        export = exports.workstation_keyset(domain, versions)
    exports.save_export(out, export, transport_passphrase(new=True), n=kdf_n)
    if as_json:
        emit_json(dict(export.summary(), file=out))
    else:
        who = "terminal %08d" % terminal if role == "reader" else _WHO[role]
        title = "%s%s export for %s -> %s" % ("%s: " % demo_keys.WARNING if export.demo else "", role, who, out)
        _kcv_table(export.summary(), title, exports.ROLES[role])


@keys.command("demo")
@_new_keystore
@click.option("--versions", type=click.IntRange(1, 255), default=1, show_default=True,
              help="demo key versions 1..N (N current)")
@_kdf_opt
@click.option("--force", is_flag=True, help="overwrite an existing file")
@json_of_text_output
def demo_cmd(path, versions, kdf_n, force):
    """Write the INSECURE DEMO KEYS keystore (public keys, public passphrase): demo and tests only."""
    _refuse_overwrite(path, force)
    domain = demo_keys.demo_domain(versions)
    keystore.save_keystore(path, domain, demo_keys.DEMO_PASSPHRASE, n=kdf_n)
    _demo_banner(domain)
    click.echo("%s written to %s (passphrase %r, public)" % (demo_keys.WARNING, path, demo_keys.DEMO_PASSPHRASE))
    _kcv_table(domain.summary(), "%s (issuer %d)" % (demo_keys.WARNING, domain.issuer))
