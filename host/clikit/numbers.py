"""A card number typed by an operator, checked against the numbering schemes of the programmes
registered in the ledger before anything is looked up: a number no programme can have is a usage
error (exit 2) that says why, never "no card in the ledger"."""
from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.protocol.numbering import CardNumberError


def check_card_number(session, number: str) -> str:
    """`number` as typed, when at least one registered programme's scheme accepts it (a programme
    without a scheme: any 12 digits); Failure (exit 2) naming each scheme's objection otherwise.
    A ledger with no programmes yet has nothing to check against: the number passes."""
    ledger = session.ledger()
    objections = []
    registered = ledger.programmes.registered()
    if not registered:
        return number
    for reg in registered:
        prog = ledger.programmes.programme(reg.id)
        scheme = prog.numbering_scheme()
        if scheme is None:  # free numbers: the card keeps 12 BCD digits
            if len(number) == 12 and number.isascii() and number.isdigit():
                return number
            objections.append("%s: a card number is 12 digits" % prog.id)
            continue
        try:
            scheme.validate(number)
            return number
        except CardNumberError as e:
            objections.append("%s: %s" % (prog.id, e))
    raise Failure("card number %s fits no programme's numbering: %s" % (number, "; ".join(objections)), Exit.USAGE,
                  next_step="check the number printed on the card")
