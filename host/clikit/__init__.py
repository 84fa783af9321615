"""The one CLI framework of the `icpurse` command (used by every command group, the rig's too).

- `exits.Exit`: the exit codes (0 ok, 1 refused/failed, 2 usage, 3 no reader, 4 card, 5 integrity).
- `failure.Failure`: the one failure type: a message, an exit code and what to do next.
- `errors.failure_of`: the one mapper from the domain's exceptions to a `Failure`.
- `group.Group` / `group.Command`: click classes that apply the mapper once, at the outermost
  command (the `icpurse` root group, or a group invoked on its own): no command needs a decorator.
- `session.Session`: ledger, role-scoped key set (`keys("workstation"|"collector"|"reader")`; the
  keystore's masters only for the key ceremonies), reader, store-reader link and operator, each opened
  on first use and closed at exit; one per invocation, reached through the click context (`pass_session`).
- `options`: `--db`, `--keystore`, `--reader`, `--port`, `--operator`, `--json`, defined once;
  `uses(db=True, keystore="required", json=True, ...)` declares them for a command in one line.
- `output`: one JSON writer (`emit_json`) and console for tables.

A new command: `@group.command()` under a `Group` (or `@click.command(cls=Command)`), its own
options, `@uses(...)` for the shared ones (the command then receives the session first), and
`session.ledger()` / `.keys(role)` / `.card()` / `.sign_in()` in its body; raise
`Failure(message, Exit.X, next_step=...)` for its own refusals. With `json=True` its errors come out
as a JSON document too (`Failure.as_json`).
"""
