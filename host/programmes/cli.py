"""`icpurse programme ...`: check programmes files against their regulatory profiles, list them."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import json_option, uses
from icpurse.host.clikit.output import emit_json, json_of_text_output
from icpurse.host.programmes.check import check_programme
from icpurse.host.programmes.model import load_programmes
from icpurse.host.programmes.profiles import load_profile, profile_names
from icpurse.protocol.money import fmt_yuan


@click.group(cls=Group)
def programme():
    """Card programmes (products) and their regulatory profiles (MOFCOM, PBOC, utility)."""


@programme.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--profile", "profile_name", default=None,
              help="Check against this profile (name or TOML file) instead of each programme's own.")
@json_option(help="Machine-readable output.")
def check(file, profile_name, as_json):
    """List every rule the programmes in FILE break. Exit 1 when there are violations, 2 when FILE is
    not a valid programmes file."""
    progs = load_programmes(file)
    override = load_profile(profile_name) if profile_name else None
    results = [(p, check_programme(p, override)) for p in progs]
    violations = [v for _, vs in results for v in vs]
    if as_json:
        emit_json({
            "file": str(file),
            "programmes": [{"id": p.id, "profile": (override.id if override else p.profile), "ok": not vs,
                            "violations": [v.as_dict() for v in vs]} for p, vs in results],
        })
    else:
        console = Console()
        for p, vs in results:
            prof = override.id if override else p.profile
            if not vs:
                console.print("[green]OK[/green] %s (%s): no violations of the %s profile" % (p.id, p.name, prof))
                continue
            table = Table(title="%s (%s): %d violation(s) of the %s profile" % (p.id, p.name, len(vs), prof),
                          title_justify="left", show_lines=True)
            table.add_column("rule", no_wrap=True)
            for col in ("setting", "kind", "what is wrong"):
                table.add_column(col, overflow="fold")
            for v in vs:
                table.add_row(v.rule, v.setting, v.kind or "", v.message)
            console.print(table)
    click.get_current_context().exit(Exit.FAILED if violations else Exit.OK)


@programme.command(name="list")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option(help="Machine-readable output.")
def list_(file, as_json):
    """The programmes defined in FILE."""
    progs = load_programmes(file)
    rows = []
    for p in progs:
        rows.append({
            "id": p.id, "name": p.name, "issuer": p.issuer, "profile": p.profile, "kinds": list(p.kinds),
            "face_values": list(p.face_values), "reloadable": p.reloadable,
            "caps": {k: t.balance_cap for k, t in p.terms.items()},
            "validity": {k: (str(t.validity) if t.validity else "none") for k, t in p.terms.items()},
            "numbering": (p.numbering or {}).get("scheme"),
        })
    if as_json:
        emit_json(rows)
        return
    table = Table(title="programmes in %s" % file, title_justify="left")
    for col in ("id", "name", "profile", "kinds", "face values", "cap", "validity", "numbering"):
        table.add_column(col, overflow="fold")
    for r, p in zip(rows, progs):
        table.add_row(r["id"], r["name"], r["profile"], ", ".join(r["kinds"]),
                      " / ".join(fmt_yuan(v) for v in r["face_values"]),
                      "; ".join("%s %s" % (k, fmt_yuan(c) if c is not None else "profile") for k, c in r["caps"].items()),
                      "; ".join("%s %s" % kv for kv in r["validity"].items()), r["numbering"] or "free")
    Console().print(table)


@programme.command()
@json_option(help="Machine-readable output (amounts in integer fen).")
def profiles(as_json):
    """The shipped regulatory profiles and their main figures."""
    if as_json:
        rows = []
        for name in profile_names():
            pr = load_profile(name)
            rows.append({"id": pr.id, "name": pr.name, "cap_named": pr.cap_named, "cap_anonymous": pr.cap_anonymous,
                         "anonymous_min_months": pr.anonymous_min_months,
                         "redemption_cash_limit": pr.redemption_cash_limit, "source": pr.source})
        emit_json({"ok": True, "profiles": rows})
        return
    table = Table(title="regulatory profiles", title_justify="left")
    for col in ("id", "name", "named cap", "anonymous cap", "anonymous validity", "cash refund limit", "source"):
        table.add_column(col, overflow="fold")
    for name in profile_names():
        pr = load_profile(name)
        fy = lambda v: fmt_yuan(v) if v is not None else "-"  # noqa: E731
        table.add_row(pr.id, pr.name, fy(pr.cap_named), fy(pr.cap_anonymous),
                      ">= %d months" % pr.anonymous_min_months if pr.anonymous_min_months else "-",
                      fy(pr.redemption_cash_limit), pr.source)
    Console().print(table)


@programme.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "programme_id", default=None, help="register only this programme of the file")
@click.option("--override-reason", default=None,
              help="register a programme that breaks its profile anyway (audited; the reason is kept)")
@uses(db=True, operator="required",
      operator_help="an issuer-admin (password from ICPURSE_OPERATOR_PASSWORD or a prompt)")
@json_of_text_output
def register(session, file, programme_id, override_reason):
    """Register the programmes of FILE in the ledger so cards can be issued under them.

    A programme with violations of its regulatory profile is refused unless --override-reason
    is given; the override and its reason go into the audit log."""
    from icpurse.host.ledger.errors import LedgerError

    programmes = load_programmes(file)
    if programme_id:
        programmes = [p for p in programmes if p.id == programme_id]
        if not programmes:
            raise click.UsageError("no programme %r in %s" % (programme_id, file))
    ledger = session.ledger()
    admin = session.sign_in().username
    for p in programmes:
        try:
            ledger.programmes.register_programme(admin, p, override_reason=override_reason)
        except LedgerError as e:
            raise Failure("%s: %s (nothing was registered for it)" % (p.id, e)) from None
        click.echo("programme %s registered%s" % (p.id, " (override: %s)" % override_reason
                                                 if override_reason else ""))
