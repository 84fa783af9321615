"""The one failure type of the CLI: a message, an exit code and, optionally, what to do next."""
import click

from icpurse.host.clikit.exits import Exit


class Failure(click.ClickException):
    """An expected failure of a command: printed as one `Error: ...` line on stderr (and a JSON
    document on stdout under --json), never as a traceback; exits with `exit_code`."""

    def __init__(self, message, exit_code=Exit.FAILED, next_step=None):
        super().__init__(message)
        self.exit_code = int(exit_code)
        self.next_step = next_step

    def format_message(self):
        if self.next_step:
            return "%s\nnext: %s" % (self.message, self.next_step)
        return self.message

    def as_json(self):
        doc = {"ok": False, "error": self.message, "exit_code": self.exit_code}
        if self.next_step:
            doc["next"] = self.next_step
        return doc
