"""Card numbers and issue codes (docs/business-rules.md "Card numbering"), with pluggable numbering schemes.

The utility-payment card number has 12 digits ``K N1N2N3 X Z1..Z7``: K business code (5),
N1N2N3 platform number (031-039), X face-value code (looked up in the programme's table
code -> face value in fen), Z1..Z7 serial. A programme picks its scheme by name in its config
(`scheme_from_config`); other schemes can be added to `SCHEMES`.

The identity record stores the number as 6 BCD bytes (`card_number_to_bcd`).
Issue codes look like ``2004P1(4-2)``: year, kind letter, series, and optionally (set size - index).
"""
import re
from collections import namedtuple

CARD_NUMBER_BCD_SIZE = 6


class CardNumberError(ValueError):
    """A card number that does not follow its scheme; the message says what is expected."""


class IssueCodeError(ValueError):
    """An issue code that is not ``YYYY<kind><series>[(<size>-<index>)]``."""


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class NumberingScheme:
    """Base class: one way of numbering the cards of a programme."""

    name = None  # key in SCHEMES and in programme configs
    layout = None  # human notation of the digits, used in error messages

    def parse(self, text):
        """Card number text -> dict of its parts; CardNumberError if invalid."""
        raise NotImplementedError

    def format(self, **parts):
        """Parts -> canonical card number text; CardNumberError if a part is invalid."""
        raise NotImplementedError

    def validate(self, text):
        """Return the canonical form of `text`, or raise CardNumberError."""
        return self.format(**self.parse(text))

    def is_valid(self, text):
        try:
            self.validate(text)
        except CardNumberError:
            return False
        return True

    @classmethod
    def from_config(cls, config):
        raise NotImplementedError


def _digits(text, count, layout):
    """Strip blanks (numbers are often printed in groups) and check the digit count."""
    if not isinstance(text, str):
        raise CardNumberError("card number must be text, got %r" % (text,))
    compact = "".join(text.split())
    bad = [ch for ch in compact if ch not in "0123456789"]
    if bad:
        raise CardNumberError("card number %r contains %r; expected %d digits (%s)" % (text, bad[0], count, layout))
    if len(compact) != count:
        raise CardNumberError("card number %s has %d digits; expected %d (%s)" % (compact, len(compact), count, layout))
    return compact


def _describe_platforms(platforms):
    ps = sorted(platforms)
    if ps and ps == list(range(ps[0], ps[-1] + 1)):
        return "%03d-%03d" % (ps[0], ps[-1])
    return ", ".join("%03d" % p for p in ps)


class Utility12Scheme(NumberingScheme):
    """12 digits ``K N1N2N3 X Z1..Z7`` of the utility payment card (docs/business-rules.md "Card
    numbering")."""

    name = "utility12"
    layout = "K N1N2N3 X Z1..Z7"
    DIGITS = 12
    BUSINESS_CODE = 5
    SERIAL_DIGITS = 7

    def __init__(self, face_values, platforms=range(31, 40)):
        table = {}
        for code, fen in dict(face_values).items():
            key = str(code)
            if len(key) != 1 or key not in "0123456789":
                raise ValueError("face-value code must be one digit 0-9, got %r" % (code,))
            if not _is_int(fen) or fen <= 0:
                raise ValueError("face value of code %s must be a positive int number of fen, got %r" % (key, fen))
            table[key] = fen
        if not table:
            raise ValueError("a utility12 programme needs at least one face-value code")
        self.face_values = table
        self.platforms = frozenset(platforms)
        if not self.platforms:
            raise ValueError("a utility12 programme needs at least one platform number")
        for p in self.platforms:
            if not _is_int(p) or not 0 <= p <= 999:
                raise ValueError("platform number must be an int 0..999, got %r" % (p,))

    def __repr__(self):
        return "Utility12Scheme(face_values=%r, platforms=%s)" % (self.face_values, _describe_platforms(self.platforms))

    def _known_codes(self):
        return ", ".join("%s=%d fen" % (k, self.face_values[k]) for k in sorted(self.face_values))

    def _check_platform(self, number, platform):
        if platform not in self.platforms:
            raise CardNumberError("card number %s: platform number N1N2N3 is %03d; expected %s" % (
                number, platform, _describe_platforms(self.platforms)))

    def _check_face_code(self, number, code):
        if code not in self.face_values:
            raise CardNumberError("card number %s: face-value code X is %s, which this programme does not define; "
                                  "known codes: %s" % (number, code, self._known_codes()))

    def parse(self, text):
        number = _digits(text, self.DIGITS, self.layout)
        business = int(number[0])
        if business != self.BUSINESS_CODE:
            raise CardNumberError("card number %s: business code K is %d; expected %d" % (
                number, business, self.BUSINESS_CODE))
        platform = int(number[1:4])
        self._check_platform(number, platform)
        code = number[4]
        self._check_face_code(number, code)
        return dict(business=business, platform=platform, face_code=code,
                    face_value=self.face_values[code], serial=int(number[5:]))

    def face_code_for(self, face_value):
        """The code of a face value in fen (CardNumberError if none or ambiguous)."""
        codes = [k for k, v in self.face_values.items() if v == face_value]
        if len(codes) != 1:
            raise CardNumberError("face value %r fen has %s code in this programme; known codes: %s" % (
                face_value, "no" if not codes else "more than one", self._known_codes()))
        return codes[0]

    def format(self, platform, serial, face_code=None, face_value=None, business=BUSINESS_CODE):
        """Card number from platform (int), serial (int) and face_code (digit) and/or face_value (fen)."""
        what = "card number parts"
        if business != self.BUSINESS_CODE:
            raise CardNumberError("%s: business code K is %r; expected %d" % (what, business, self.BUSINESS_CODE))
        if not _is_int(platform):
            raise CardNumberError("%s: platform must be an int, got %r" % (what, platform))
        self._check_platform(what, platform)
        if face_code is None and face_value is None:
            raise CardNumberError("%s: give face_code or face_value" % what)
        if face_code is None:
            face_code = self.face_code_for(face_value)
        face_code = str(face_code)
        self._check_face_code(what, face_code)
        if face_value is not None and face_value != self.face_values[face_code]:
            raise CardNumberError("%s: face-value code %s means %d fen, not %r" % (
                what, face_code, self.face_values[face_code], face_value))
        if not _is_int(serial) or not 0 <= serial < 10 ** self.SERIAL_DIGITS:
            raise CardNumberError("%s: serial Z1..Z7 must be an int 0..9999999, got %r" % (what, serial))
        return "%d%03d%s%07d" % (business, platform, face_code, serial)

    @classmethod
    def from_config(cls, config):
        """{"face_values": {"1": 20000, ...}, "platforms": [31, 32] or "031-039" (optional)}."""
        unknown = set(config) - {"scheme", "face_values", "platforms"}
        if unknown:
            raise ValueError("utility12 numbering: unknown settings %s (known: face_values, platforms)" % sorted(unknown))
        if "face_values" not in config:
            raise ValueError("utility12 numbering needs face_values (code -> face value in fen)")
        platforms = config.get("platforms", range(31, 40))
        if isinstance(platforms, str):
            m = re.fullmatch(r"\s*(\d{1,3})\s*-\s*(\d{1,3})\s*", platforms)
            if not m:
                raise ValueError("platforms must be a list of numbers or a range like '031-039', got %r" % platforms)
            platforms = range(int(m.group(1)), int(m.group(2)) + 1)
        else:
            platforms = [int(p) if isinstance(p, str) and p.isdigit() else p for p in platforms]
        return cls(config["face_values"], platforms)


SCHEMES = {Utility12Scheme.name: Utility12Scheme}


def scheme_from_config(config):
    """Numbering scheme from a programme's config dict: {"scheme": "utility12", ...scheme settings}."""
    name = config.get("scheme")
    if name not in SCHEMES:
        raise ValueError("unknown card-numbering scheme %r; known: %s" % (name, ", ".join(sorted(SCHEMES))))
    return SCHEMES[name].from_config(config)


# --- BCD (identity record) ---


def card_number_to_bcd(text):
    """12-digit card number -> 6 bytes, two digits per byte, first digit in the high nibble."""
    digits = _digits(text, 2 * CARD_NUMBER_BCD_SIZE, "12 digits stored as 6 BCD bytes")
    return bytes(int(digits[i]) << 4 | int(digits[i + 1]) for i in range(0, len(digits), 2))


def card_number_from_bcd(data):
    """6 BCD bytes -> 12-digit card number; CardNumberError on a nibble above 9."""
    if len(data) != CARD_NUMBER_BCD_SIZE:
        raise CardNumberError("BCD card number is %d bytes, got %d" % (CARD_NUMBER_BCD_SIZE, len(data)))
    out = []
    for byte in data:
        for nibble in (byte >> 4, byte & 0x0F):
            if nibble > 9:
                raise CardNumberError("BCD card number %s has the non-decimal nibble %X" % (bytes(data).hex().upper(), nibble))
            out.append(str(nibble))
    return "".join(out)


bcd_to_card_number = card_number_from_bcd


# --- issue codes ---

# Kind letters of the utility card (docs/business-rules.md "Card numbering"); stored as ASCII in the
# identity record.
KINDS = {"P": "regular", "J": "commemorative", "T": "custom design", "X": "special form"}

_ISSUE_RE = re.compile(r"(\d{4})([A-Za-z])(\d{1,3})(?:\((\d{1,3})-(\d{1,3})\))?")


class IssueCode(namedtuple("IssueCode", "year kind series set_size set_index")):
    """Issue code ``2004P1(4-2)``: year, kind letter, series, set size, index in the set.

    A card that is not part of a set has set_size == set_index == 0 and no parentheses.
    Every number fits the identity record (year u16, series / size / index u8).
    """

    __slots__ = ()

    def __new__(cls, year, kind, series, set_size=0, set_index=0):
        self = super().__new__(cls, year, kind, series, set_size, set_index)
        self._check()
        return self

    def _check(self):
        for name in ("year", "series", "set_size", "set_index"):
            if not _is_int(getattr(self, name)):
                raise IssueCodeError("issue code: %s must be an int, got %r" % (name, getattr(self, name)))
        if not 1000 <= self.year <= 9999:
            raise IssueCodeError("issue code: year %d is not a 4-digit year" % self.year)
        if self.kind not in KINDS:
            raise IssueCodeError("issue code: kind letter %r is unknown; expected one of %s (%s)" % (
                self.kind, ", ".join(KINDS), ", ".join("%s %s" % kv for kv in KINDS.items())))
        if not 1 <= self.series <= 255:
            raise IssueCodeError("issue code: series %d out of range 1..255" % self.series)
        if self.set_size == 0 and self.set_index == 0:
            return
        if not 1 <= self.set_size <= 255:
            raise IssueCodeError("issue code: set size %d out of range 1..255" % self.set_size)
        if not 1 <= self.set_index <= self.set_size:
            raise IssueCodeError("issue code: card %d of a %d-card set; expected an index 1..%d" % (
                self.set_index, self.set_size, self.set_size))

    def __str__(self):
        return format_issue_code(self)


def parse_issue_code(text):
    """``2004P1(4-2)`` -> IssueCode(2004, 'P', 1, 4, 2); ``2004P1`` -> IssueCode(2004, 'P', 1, 0, 0)."""
    if not isinstance(text, str):
        raise IssueCodeError("issue code must be text, got %r" % (text,))
    m = _ISSUE_RE.fullmatch(text.strip())
    if not m:
        raise IssueCodeError("issue code %r is malformed; expected YYYY<kind><series>[(<set size>-<index>)], "
                             "e.g. 2004P1(4-2)" % text)
    year, kind, series, size, index = m.groups()
    if size is None:
        return IssueCode(int(year), kind.upper(), int(series))
    if int(size) == 0:  # "no set" is written without parentheses
        raise IssueCodeError("issue code %r: set size 0; a set has 1..255 cards" % text)
    return IssueCode(int(year), kind.upper(), int(series), int(size), int(index))


def format_issue_code(code):
    code = IssueCode(*code)  # re-validates plain tuples
    text = "%04d%s%d" % (code.year, code.kind, code.series)
    if code.set_size:
        text += "(%d-%d)" % (code.set_size, code.set_index)
    return text
