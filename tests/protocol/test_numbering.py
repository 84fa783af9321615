"""Card numbers and issue codes (docs/business-rules.md "Card numbering")."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpurse.protocol.numbering import (
    SCHEMES,
    CardNumberError,
    IssueCode,
    IssueCodeError,
    NumberingScheme,
    Utility12Scheme,
    bcd_to_card_number,
    card_number_from_bcd,
    card_number_to_bcd,
    format_issue_code,
    parse_issue_code,
    scheme_from_config,
)

# face values 200 / 500 / 800 yuan, in fen
FACE = {"1": 20000, "2": 50000, "3": 80000}


@pytest.fixture
def scheme():
    return Utility12Scheme(FACE)


def test_parse(scheme):
    assert scheme.parse("503121234567") == dict(business=5, platform=31, face_code="2", face_value=50000,
                                                 serial=1234567)
    assert scheme.parse("503930000001")["platform"] == 39
    assert scheme.parse("5 031 1 0000042") == scheme.parse("503110000042")  # printed in groups


def test_format(scheme):
    assert scheme.format(platform=31, face_code="2", serial=1234567) == "503121234567"
    assert scheme.format(platform=39, face_value=80000, serial=1) == "503930000001"
    assert scheme.format(platform=35, face_code=1, serial=0) == "503510000000"


def test_validate_returns_canonical(scheme):
    assert scheme.validate(" 5031 2 1234567 ") == "503121234567"
    assert scheme.is_valid("503121234567")
    assert not scheme.is_valid("50312123456")


def test_wrong_length_message(scheme):
    with pytest.raises(CardNumberError) as e:
        scheme.parse("50312123456")
    assert str(e.value) == "card number 50312123456 has 11 digits; expected 12 (K N1N2N3 X Z1..Z7)"
    with pytest.raises(CardNumberError, match="has 13 digits"):
        scheme.parse("5031212345678")


def test_non_digit(scheme):
    with pytest.raises(CardNumberError, match="contains 'A'"):
        scheme.parse("50312A234567")
    with pytest.raises(CardNumberError, match="must be text"):
        scheme.parse(503121234567)


def test_business_code(scheme):
    with pytest.raises(CardNumberError, match="business code K is 4; expected 5"):
        scheme.parse("403121234567")


@pytest.mark.parametrize("number, platform", [("503021234567", "030"), ("504021234567", "040"),
                                              ("500021234567", "000")])
def test_platform_range(scheme, number, platform):
    with pytest.raises(CardNumberError, match="platform number N1N2N3 is %s; expected 031-039" % platform):
        scheme.parse(number)


def test_unknown_face_code(scheme):
    with pytest.raises(CardNumberError, match="face-value code X is 7.*known codes: 1=20000 fen, 2=50000 fen"):
        scheme.parse("503171234567")


def test_format_errors(scheme):
    with pytest.raises(CardNumberError, match="serial"):
        scheme.format(platform=31, face_code="1", serial=10_000_000)
    with pytest.raises(CardNumberError, match="serial"):
        scheme.format(platform=31, face_code="1", serial=-1)
    with pytest.raises(CardNumberError, match="platform"):
        scheme.format(platform=40, face_code="1", serial=1)
    with pytest.raises(CardNumberError, match="means 20000 fen"):
        scheme.format(platform=31, face_code="1", face_value=50000, serial=1)
    with pytest.raises(CardNumberError, match="no code"):
        scheme.format(platform=31, face_value=12345, serial=1)
    with pytest.raises(CardNumberError, match="business code"):
        scheme.format(platform=31, face_code="1", serial=1, business=4)


def test_bad_programme_tables():
    with pytest.raises(ValueError, match="one digit"):
        Utility12Scheme({"10": 100})
    with pytest.raises(ValueError, match="int number of fen"):
        Utility12Scheme({"1": 200.0})
    with pytest.raises(ValueError, match="at least one face-value"):
        Utility12Scheme({})
    with pytest.raises(ValueError, match="face value of code 2"):
        Utility12Scheme({"1": 100, "2": 0})


def test_ambiguous_face_value():
    s = Utility12Scheme({"1": 20000, "4": 20000})
    with pytest.raises(CardNumberError, match="more than one code"):
        s.format(platform=31, face_value=20000, serial=1)


def test_custom_platforms():
    s = Utility12Scheme(FACE, platforms=[31, 33])
    assert s.is_valid("503311234567")
    with pytest.raises(CardNumberError, match="expected 031, 033"):
        s.parse("503211234567")


@given(st.integers(31, 39), st.sampled_from(sorted(FACE)), st.integers(0, 9_999_999))
def test_round_trip(platform, code, serial):
    s = Utility12Scheme(FACE)
    text = s.format(platform=platform, face_code=code, serial=serial)
    assert len(text) == 12 and text[0] == "5"
    assert text == "5%03d%s%07d" % (platform, code, serial)
    assert s.format(**s.parse(text)) == text
    assert card_number_from_bcd(card_number_to_bcd(text)) == text


def test_registry_and_config():
    assert SCHEMES["utility12"] is Utility12Scheme
    assert issubclass(Utility12Scheme, NumberingScheme)
    s = scheme_from_config({"scheme": "utility12", "face_values": {"1": 20000, "2": 50000}})
    assert isinstance(s, Utility12Scheme)
    assert s.parse("503921234567")["face_value"] == 50000
    s = scheme_from_config({"scheme": "utility12", "face_values": {1: 20000}, "platforms": "031-032"})
    assert s.is_valid("503210000001") and not s.is_valid("503310000001")
    s = scheme_from_config({"scheme": "utility12", "face_values": {"1": 20000}, "platforms": ["035"]})
    assert s.platforms == {35}


def test_config_errors():
    with pytest.raises(ValueError, match="unknown card-numbering scheme 'iso7812'; known: utility12"):
        scheme_from_config({"scheme": "iso7812"})
    with pytest.raises(ValueError, match="unknown settings"):
        scheme_from_config({"scheme": "utility12", "face_values": FACE, "facevalues": FACE})
    with pytest.raises(ValueError, match="needs face_values"):
        scheme_from_config({"scheme": "utility12"})
    with pytest.raises(ValueError, match="range like"):
        scheme_from_config({"scheme": "utility12", "face_values": FACE, "platforms": "31 to 39"})


# --- BCD ---


def test_bcd():
    assert card_number_to_bcd("503121234567") == bytes.fromhex("50 31 21 23 45 67")
    assert card_number_from_bcd(bytes.fromhex("50 31 21 23 45 67")) == "503121234567"
    assert bcd_to_card_number(bytes.fromhex("00 00 00 00 00 09")) == "000000000009"


def test_bcd_errors():
    with pytest.raises(CardNumberError, match="non-decimal nibble A"):
        card_number_from_bcd(bytes.fromhex("50 31 2A 23 45 67"))
    with pytest.raises(CardNumberError, match="6 bytes"):
        card_number_from_bcd(bytes(5))
    with pytest.raises(CardNumberError, match="has 11 digits"):
        card_number_to_bcd("50312123456")


@given(st.binary(min_size=6, max_size=6))
def test_bcd_decodes_only_decimal_nibbles(data):
    decimal = all((b >> 4) <= 9 and (b & 15) <= 9 for b in data)
    if decimal:
        assert card_number_to_bcd(card_number_from_bcd(data)) == data
    else:
        with pytest.raises(CardNumberError):
            card_number_from_bcd(data)


# --- issue codes ---


def test_issue_code_example():
    # the 2nd card of a 4-card set of the first 2004 regular series
    code = parse_issue_code("2004P1(4-2)")
    assert code == IssueCode(2004, "P", 1, 4, 2)
    assert (code.year, code.kind, code.series, code.set_size, code.set_index) == (2004, "P", 1, 4, 2)
    assert format_issue_code(code) == "2004P1(4-2)"
    assert str(code) == "2004P1(4-2)"


def test_issue_code_without_set():
    code = parse_issue_code("2010J12")
    assert code == IssueCode(2010, "J", 12, 0, 0)
    assert format_issue_code(code) == "2010J12"


def test_issue_code_lowercase_kind_is_normalised():
    assert format_issue_code(parse_issue_code("2004t3(2-1)")) == "2004T3(2-1)"


@pytest.mark.parametrize("text, match", [
    ("2004Q1(4-2)", "kind letter 'Q' is unknown"),
    ("2004P1(4-5)", "card 5 of a 4-card set"),
    ("2004P1(4-0)", "card 0 of a 4-card set"),
    ("2004P0", "series 0"),
    ("2004P1(0-0)", "set size 0"),
    ("04P1(4-2)", "malformed"),
    ("2004P1(4-2", "malformed"),
    ("2004-P1", "malformed"),
    ("2004P1(256-1)", "set size 256"),
])
def test_issue_code_errors(text, match):
    with pytest.raises(IssueCodeError, match=match):
        parse_issue_code(text)


def test_issue_code_constructor_validates():
    with pytest.raises(IssueCodeError, match="kind"):
        IssueCode(2004, "Z", 1)
    with pytest.raises(IssueCodeError, match="index"):
        format_issue_code((2004, "P", 1, 3, 4))
    with pytest.raises(IssueCodeError, match="year"):
        IssueCode(204, "P", 1)


@given(st.integers(1000, 9999), st.sampled_from("PJTX"), st.integers(1, 255), st.integers(1, 255), st.data())
def test_issue_code_round_trip(year, kind, series, size, data):
    index = data.draw(st.integers(1, size))
    code = IssueCode(year, kind, series, size, index)
    text = format_issue_code(code)
    assert text == "%d%s%d(%d-%d)" % (year, kind, series, size, index)
    assert parse_issue_code(text) == code
