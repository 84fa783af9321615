"""The click classes of every icpurse command: the error mapper applied once, at the outermost
command of an invocation (the `icpurse` root group, or a group or command invoked on its own as
tests do), so every command below it - the rig's and the plugins' included - is covered without
a decorator of its own.

What the outermost command guarantees: an expected error (errors.py) is one `Error: ...` message
on stderr and its exit code, never a traceback; under --json it is also a JSON document on stdout
({"ok": false, "error": ..., "exit_code": ...}) unless the command already printed its own; the
session (ledger, reader, ...) is closed whatever happened. click's own usage errors (exit 2) and
`ctx.exit(code)` pass through unchanged.
"""
import click

from icpurse.host.clikit import session as _session
from icpurse.host.clikit.errors import failure_of
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.output import emit_json


def _outermost(ctx, invoke):
    session = _session.of(ctx)
    try:
        try:
            return invoke(ctx)
        finally:
            session.close()
    except (click.exceptions.Exit, click.Abort):
        raise
    except click.ClickException as e:
        if not isinstance(e, Failure):
            raise  # usage errors: click prints them
        failure = e
    except Exception as e:
        failure = failure_of(e)
        if failure is None:
            raise  # not an expected error: a bug, with its traceback
    if session.as_json and not session.json_emitted:
        emit_json(failure.as_json())
    raise failure from None


class Command(click.Command):
    def invoke(self, ctx):
        if ctx.parent is not None:
            return super().invoke(ctx)
        return _outermost(ctx, super().invoke)


class Group(click.Group):
    command_class = Command
    group_class = type  # sub-groups made with @group.group() are of this class too

    def invoke(self, ctx):
        if ctx.parent is not None:
            return super().invoke(ctx)
        return _outermost(ctx, super().invoke)
