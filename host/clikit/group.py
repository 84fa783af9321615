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
import warnings

import click

from icpurse.host.clikit import session as _session
from icpurse.host.clikit.errors import failure_of
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.output import emit_json


def _wants_json(ctx, session):
    """--json was asked for, even when parsing stopped before the option was processed."""
    return session.as_json or "--json" in getattr(session, "argv", ())


def _outermost(ctx, invoke):
    session = _session.of(ctx)
    try:
        try:
            return invoke(ctx)
        finally:
            session.close()
    except click.exceptions.Exit:
        raise
    except click.Abort:
        if _wants_json(ctx, session) and not session.json_emitted:
            emit_json({"ok": False, "error": "aborted: no answer to a prompt (give it in the environment)",
                       "exit_code": 1})
        raise
    except click.ClickException as e:
        if not isinstance(e, Failure):
            # usage errors: click prints them (exit 2); under --json a JSON document says so too
            if _wants_json(ctx, session) and not session.json_emitted:
                emit_json({"ok": False, "error": e.format_message(), "exit_code": e.exit_code})
            raise
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

    def parse_args(self, ctx, args):
        if ctx.parent is None:
            _session.of(ctx).argv = list(args)
        return super().parse_args(ctx, args)


class Group(click.Group):
    command_class = Command
    group_class = type  # sub-groups made with @group.group() are of this class too

    def invoke(self, ctx):
        if ctx.parent is not None:
            return super().invoke(ctx)
        with warnings.catch_warnings():  # click 8.2+ keeps the sub-command's words in protected_args still
            warnings.simplefilter("ignore", DeprecationWarning)
            _session.of(ctx).argv = [*ctx.protected_args, *ctx.args]  # before the sub-commands parse them
        return _outermost(ctx, super().invoke)
