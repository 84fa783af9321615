"""`icpurse ledger init|info`: create the ledger explicitly; say where it is and what it holds."""
import click

from icpurse.host.clikit.options import uses
from icpurse.host.clikit.output import emit_json
from icpurse.host.clikit.group import Group


@click.group(cls=Group)
def ledger():
    """The ledger database itself: create it (`init`), see where it is (`info`)."""


def _shown(url):
    from icpurse.host.ledger.service import shown_url

    return shown_url(url)


@ledger.command()
@uses(db=True, json=True)
def init(session, as_json):
    """Create the ledger at --db (SQLite file or PostgreSQL database) with the current schema, or
    bring an existing one up to date. Commands that only read refuse a ledger that does not exist;
    next: `icpurse operator add NAME --role issuer-admin` (its first operator). On PostgreSQL this is
    the database owner's job (a --db URL naming it, a role allowed to create roles): the schema brings
    the job roles and their privileges (docs/back-office.md). Nothing is audited yet: the log's first
    entry is the first operator's."""
    from icpurse.host.ledger import resolve_url
    from icpurse.host.ledger.db import current_revision, ledger_exists

    url = resolve_url(session.db)
    existed = ledger_exists(url)
    led = session.ledger()
    doc = {"ok": True, "ledger": _shown(url), "created": not existed, "schema": current_revision(led.engine)}
    if as_json:
        emit_json(doc)
    else:
        click.echo("%s ledger at %s (schema %s)%s" % ("created the" if not existed else "up to date: the", doc["ledger"],
                                                      doc["schema"], "; next: `icpurse operator add NAME --role "
                                                      "issuer-admin`" if not existed else ""))


@ledger.command()
@uses(db="existing", json=True)
def info(session, as_json):
    """Where the ledger is, its schema version, operators, cards and the audit log's head."""
    from icpurse.host.ledger import resolve_url
    from icpurse.host.ledger.db import current_revision

    led = session.ledger()
    seq, head = led.audit.audit_head()
    doc = {"ok": True, "ledger": _shown(resolve_url(session.db)), "schema": current_revision(led.engine),
           "operators": len(led.people.operators()), "terminals": len(led.store.terminals()),
           "audit_entries": seq, "audit_head": head, "business_date": led.business_date().isoformat()}
    if as_json:
        emit_json(doc)
    else:
        for k, v in doc.items():
            if k != "ok":
                click.echo("%-14s %s" % (k, v))
