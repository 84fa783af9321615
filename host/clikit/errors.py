"""The one mapper from the domain's exceptions to the CLI's `Failure` (message + exit code).

Exit codes come from the exception itself where it knows its meaning: an `exit_code` class
attribute (ledger, keystore, reader and terminal errors, top-up errors, ...). The table below
covers what cannot carry one (the firmware's card exceptions run on MicroPython and stay lean;
protocol's number parsers) and the wording that says what happened and what to do next. An
exception that is neither in the table nor carries an `exit_code` is a bug: it keeps its
traceback. ValueError and LookupError (bad input a library refused) come last, as refusals.
"""
import functools

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure


@functools.lru_cache(maxsize=None)
def _rules():
    """(exception class, exit code unless it has its own, wording) - the first match wins."""
    from icpurse.firmware.purse import Refused as CardRefused
    from icpurse.firmware.tag import MifareError, TagGone
    from icpurse.host.cards import CardFlowError
    from icpurse.host.ledger.errors import AuthenticationError, LedgerError, Refused
    from icpurse.host.readers.serial import ReaderLinkError
    from icpurse.protocol.numbering import CardNumberError, IssueCodeError

    return (
        (TagGone, Exit.CARD, "no card on the reader (%s): put the card on the reader and try again"),
        (MifareError, Exit.CARD, "card error: %s: present the card again"),
        (CardRefused, Exit.CARD, "card: %s"),
        (CardFlowError, Exit.FAILED, None),  # each carries its own exit_code (refused 1, card 4, integrity 5)
        (AuthenticationError, None, "%s: nothing was done"),
        (Refused, None, "refused: %s"),
        (LedgerError, None, None),
        (ReaderLinkError, None, lambda e: "reader: %s (code %d)" % (e.message, e.code)),
        (CardNumberError, Exit.USAGE, None),  # a card number or issue code typed wrong
        (IssueCodeError, Exit.USAGE, None),
    )


def _text(exc):
    if isinstance(exc, KeyError) and exc.args:  # str(KeyError) is the repr of its argument
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def failure_of(exc):
    """The Failure `exc` means for the user, or None when it is not an expected error (a bug)."""
    if isinstance(exc, Failure):
        return exc
    own = getattr(exc, "exit_code", None)
    own = own if isinstance(own, int) and not isinstance(own, bool) else None
    for cls, code, wording in _rules():
        if isinstance(exc, cls):
            if own is None:
                own = code(exc) if callable(code) else code
            if wording is None:
                message = _text(exc)
            elif callable(wording):
                message = wording(exc)
            else:
                message = wording % _text(exc)
            return Failure(message, Exit.FAILED if own is None else own)
    if own is not None:
        return Failure(_text(exc), own)
    if isinstance(exc, (ValueError, LookupError)):  # bad input refused by a library below
        return Failure(_text(exc), Exit.FAILED)
    return None
