"""Who may do what: MF1S50yyX Table 7 (trailer) and Table 8 (data); docs/chip-facts.md "Access conditions".

The expected rights are transcribed here, as text, straight from the datasheet tables
(docs/chip-facts.md "Access conditions") --
deliberately not derived from icpurse.protocol.mifare.access.
"""
import itertools

import pytest

from icpurse.protocol.mifare.access import (
    DATA_TABLE,
    TRAILER_TABLE,
    Key,
    Op,
    allows,
    data_allows,
    describe,
    key_b_readable,
    trailer_allows,
)

# Table 8 (data blocks): C1C2C3 ; read ; write ; increment ; decrement, transfer, restore
DATASHEET_DATA = """
000 ; A|B ; A|B ; A|B ; A|B
010 ; A|B ; never ; never ; never
100 ; A|B ; B ; never ; never
110 ; A|B ; B ; B ; A|B
001 ; A|B ; never ; never ; A|B
011 ; B ; B ; never ; never
101 ; B ; never ; never ; never
111 ; never ; never ; never ; never
"""

# Table 7 (sector trailer): C1C2C3 ; key A read ; key A write ; access read ; access write ; key B read ; key B write
DATASHEET_TRAILER = """
000 ; never ; A ; A ; never ; A ; A
010 ; never ; never ; A ; never ; A ; never
100 ; never ; B ; A|B ; never ; never ; B
110 ; never ; never ; A|B ; never ; never ; never
001 ; never ; A ; A ; A ; A ; A
011 ; never ; B ; A|B ; B ; never ; B
101 ; never ; never ; A|B ; B ; never ; never
111 ; never ; never ; A|B ; never ; never ; never
"""

KEYS = {"A": Key.A, "B": Key.B}
CELL = {"A|B": {Key.A, Key.B}, "A": {Key.A}, "B": {Key.B}, "never": set()}


def _parse(table):
    rows = {}
    for line in table.strip().splitlines():
        cells = [c.strip() for c in line.split(";")]
        rows[int(cells[0], 2)] = [CELL[c] for c in cells[1:]]
    assert sorted(rows) == list(range(8))
    return rows


DATA = _parse(DATASHEET_DATA)
TRAILER = _parse(DATASHEET_TRAILER)
DATA_COLUMNS = [[Op.READ], [Op.WRITE], [Op.INCREMENT], [Op.DECREMENT, Op.TRANSFER, Op.RESTORE]]
TRAILER_COLUMNS = [[Op.READ_KEY_A], [Op.WRITE_KEY_A], [Op.READ_ACCESS], [Op.WRITE_ACCESS], [Op.READ_KEY_B],
                   [Op.WRITE_KEY_B]]


def _mct_key_b_readable(cond):
    # MCT isKeyBReadable: C1 == 0 and C2C3 in {00, 10, 01}  (footnote 1: trailer 000, 010, 001)
    c1, c2c3 = cond >> 2, cond & 3
    return c1 == 0 and c2c3 in (0b00, 0b10, 0b01)


def test_transcription_shape():
    assert all(len(r) == 4 for r in DATA.values())
    assert all(len(r) == 6 for r in TRAILER.values())
    assert DATA[0b110][2] == {Key.B}  # spot check: value block, increment by key B only


@pytest.mark.parametrize("trailer_cond", range(8))
def test_key_b_readable(trailer_cond):
    assert key_b_readable(trailer_cond) == _mct_key_b_readable(trailer_cond)
    assert key_b_readable(trailer_cond) == (Key.A in TRAILER[trailer_cond][4])


@pytest.mark.parametrize("data_cond, trailer_cond", list(itertools.product(range(8), range(8))))
def test_every_data_condition_op_and_key(data_cond, trailer_cond):
    for col, ops in enumerate(DATA_COLUMNS):
        for op in ops:
            for name, key in KEYS.items():
                nominal = key in DATA[data_cond][col]
                # footnote 1: a readable key B cannot be used for any memory access
                expected = nominal and not (key == Key.B and _mct_key_b_readable(trailer_cond))
                got = data_allows(data_cond, trailer_cond, op, key)
                assert got is expected, (format(data_cond, "03b"), format(trailer_cond, "03b"), op, name)


@pytest.mark.parametrize("trailer_cond", range(8))
def test_every_trailer_condition_op_and_key(trailer_cond):
    for col, ops in enumerate(TRAILER_COLUMNS):
        for op in ops:
            for name, key in KEYS.items():
                expected = key in TRAILER[trailer_cond][col]
                assert trailer_allows(trailer_cond, op, key) is expected, (format(trailer_cond, "03b"), op, name)


def test_tables_match_datasheet_nominally():
    # The raw tables (before footnote 1) equal the transcription, column by column.
    for cond in range(8):
        for col, ops in enumerate(DATA_COLUMNS):
            for op in ops:
                mask = DATA_TABLE[cond][op]
                assert {k for k, bit in ((Key.A, 1), (Key.B, 2)) if mask & bit} == DATA[cond][col]
        for col, ops in enumerate(TRAILER_COLUMNS):
            mask = TRAILER_TABLE[cond][ops[0] - Op.TRAILER_FIRST]
            assert {k for k, bit in ((Key.A, 1), (Key.B, 2)) if mask & bit} == TRAILER[cond][col]


def test_key_b_readable_blocks_key_b_even_where_table_says_b():
    # transport trailer 001: data 000 says A|B, but key B (readable) cannot be used
    assert data_allows(0b000, 0b001, Op.WRITE, Key.A)
    assert not data_allows(0b000, 0b001, Op.WRITE, Key.B)
    assert not data_allows(0b000, 0b001, Op.READ, Key.B)
    # with trailer 011 key B works
    assert data_allows(0b000, 0b011, Op.WRITE, Key.B)


def test_allows_dispatches_on_group():
    conds = (0b110, 0b110, 0b100, 0b011)  # the icpurse value sector (docs/card-layout.md, sector 2)
    assert allows(conds, 0, Op.DECREMENT, Key.A)
    assert allows(conds, 0, Op.TRANSFER, Key.A)
    assert not allows(conds, 0, Op.INCREMENT, Key.A)
    assert not allows(conds, 0, Op.WRITE, Key.A)
    assert allows(conds, 0, Op.INCREMENT, Key.B)
    assert not allows(conds, 2, Op.RESTORE, Key.A)
    assert not allows(conds, 2, Op.RESTORE, Key.B)
    assert allows(conds, 3, Op.READ_ACCESS, Key.A)
    assert not allows(conds, 3, Op.WRITE_ACCESS, Key.A)
    assert allows(conds, 3, Op.WRITE_KEY_B, Key.B)
    assert not allows(conds, 3, Op.READ_KEY_B, Key.B)


def test_errors():
    with pytest.raises(ValueError, match="not a data-block operation"):
        data_allows(0, 3, Op.READ_KEY_A, Key.A)
    with pytest.raises(ValueError, match="not a sector-trailer operation"):
        trailer_allows(3, Op.READ, Key.A)
    with pytest.raises(ValueError, match="Key.A"):
        data_allows(0, 3, Op.READ, 0x30)
    with pytest.raises(ValueError, match="0..7"):
        data_allows(8, 3, Op.READ, Key.A)
    with pytest.raises(ValueError, match="group"):
        allows((0, 0, 0, 3), 4, Op.READ, Key.A)
    with pytest.raises(ValueError, match="4 values"):
        allows((0, 0, 3), 0, Op.READ, Key.A)


def test_key_constants_are_auth_commands():
    assert (Key.A, Key.B) == (0x60, 0x61)


def test_describe():
    assert describe(0b110) == "read A|B, write B, increment B, decrement/transfer/restore A|B"
    assert describe(0b100) == "read A|B, write B, increment never, decrement/transfer/restore never"
    assert describe(0b111) == "read never, write never, increment never, decrement/transfer/restore never"
    assert describe(0b011, trailer=True) == (
        "key A read never, write B; access bits read A|B, write B; key B read never, write B")
    assert "key B readable" in describe(0b001, trailer=True)
    assert "key B readable" not in describe(0b011, trailer=True)
