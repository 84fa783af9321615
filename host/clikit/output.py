"""What commands print: one JSON writer, a console for tables, yuan cells."""
import json

import click


def emit_json(doc, sort_keys=False):
    """One JSON document on stdout (UTF-8 text, 2-space indent; dates and the like as strings). A
    failure raised after it adds no second document (group.py)."""
    click.echo(json.dumps(doc, indent=2, sort_keys=sort_keys, ensure_ascii=False, default=str))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        from icpurse.host.clikit import session

        session.of(ctx).json_emitted = True


def console(width=None):
    """A rich Console; piped output gets `width` columns (tables are not wrapped into fragments)."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal or width is None else Console(width=width)


def yuan(amount):
    """A table cell: fen as yuan, '-' for none."""
    from icpurse.protocol.money import fmt_yuan

    return "-" if amount is None else fmt_yuan(amount)


def json_of_text_output(f):
    """--json for a command whose output is text meant for people (e.g. key ceremonies): with
    --json, what it prints becomes one JSON document {"ok": true, "lines": [...]} (errors, as
    everywhere, {"ok": false, ...}). The command itself keeps its text output unchanged."""
    import contextlib
    import functools
    import io

    from icpurse.host.clikit.options import json_option

    @functools.wraps(f)
    def wrapper(*args, as_json=False, **kwargs):
        if not as_json:
            return f(*args, **kwargs)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            result = f(*args, **kwargs)
        emit_json({"ok": True, "lines": [line for line in buf.getvalue().splitlines() if line.strip()]})
        return result

    return json_option(wrapper, help="Print one JSON document: {\"ok\": true, \"lines\": [the text output]}.")
