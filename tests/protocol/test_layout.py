"""The v1 layout keeps its promises, checked through the datasheet permission model."""
import json

from click.testing import CliRunner

from icpurse.host.cli import main
from icpurse.protocol import layout
from icpurse.protocol.mifare import access, geometry
from icpurse.protocol.mifare.access import Key, Op

SECTORS = {s.number: s for s in layout.sector_map(geometry.CLASSIC_4K)}


def group(block):
    return geometry.access_group(block)


def allows(block, op, key):
    return access.allows(SECTORS[geometry.sector_of_block(block)].conds, group(block), op, key)


def test_every_sector_has_valid_access_bits_and_usable_key_b():
    for spec in SECTORS.values():
        access.decode_access_bits(access.encode_access_bits(spec.conds))  # encodable = valid
        assert not access.key_b_readable(spec.conds[3]), spec.name


def test_store_reader_key_a_cannot_write_identity_or_trailers():
    for block in (layout.IDENTITY_BLOCK, layout.IDENTITY_BLOCK + 1):
        assert allows(block, Op.READ, Key.A)
        assert not allows(block, Op.WRITE, Key.A)
        assert allows(block, Op.WRITE, Key.B)
    for spec in SECTORS.values():
        trailer = geometry.trailer_block(spec.number)
        for op in (Op.WRITE_KEY_A, Op.WRITE_ACCESS, Op.WRITE_KEY_B):
            assert not allows(trailer, op, Key.A), (spec.name, op)
        assert allows(trailer, Op.WRITE_ACCESS, Key.B) and allows(trailer, Op.WRITE_KEY_B, Key.B)


def test_key_a_cannot_increase_value():
    for block in (layout.BALANCE_BLOCK, layout.CEILING_BLOCK):
        assert not allows(block, Op.INCREMENT, Key.A)
        assert not allows(block, Op.WRITE, Key.A)
        assert allows(block, Op.DECREMENT, Key.A) and allows(block, Op.TRANSFER, Key.A)
        assert allows(block, Op.INCREMENT, Key.B) and allows(block, Op.WRITE, Key.B)
    # Prior art: a key-A-writable block in the value sector + RESTORE/TRANSFER would raise the value.
    first = geometry.first_block(layout.VALUE_SECTOR)
    for block in range(first, first + 3):
        assert not allows(block, Op.WRITE, Key.A)
    reserved = layout.CEILING_BLOCK + 1
    assert not allows(reserved, Op.RESTORE, Key.A) and not allows(reserved, Op.RESTORE, Key.B)


def test_reader_can_write_slots_and_log_with_key_a():
    for sector in layout.SLOT_SECTORS + layout.LOG_SECTORS:
        for i in range(layout.RECORD_BLOCKS):
            assert allows(geometry.first_block(sector) + i, Op.WRITE, Key.A)


def test_records_fit_their_blocks_and_sectors_do_not_overlap():
    from icpurse.protocol import records

    for struct in (records.Identity, records.PurseSlot, records.LogEntry):
        assert struct.sizeof() == layout.RECORD_BLOCKS * geometry.BLOCK_SIZE
    numbers = [s.number for s in layout.sector_map(geometry.CLASSIC_1K)]
    assert len(numbers) == len(set(numbers)) and max(numbers) < 16
    assert len(layout.LOG_SECTORS) == records.LOG_ENTRIES
    assert {layout.log_block(n) for n in range(records.LOG_ENTRIES)} == {
        geometry.first_block(s) for s in layout.LOG_SECTORS}


def test_layout_show_json_lists_every_block():
    out = CliRunner().invoke(main, ["layout", "show", "--card", "4k", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert len(data["blocks"]) == 256
    b8 = next(b for b in data["blocks"] if b["block"] == 8)
    assert b8["access"] == "110" and "increment" not in b8["key_a"] and "increment" in b8["key_b"]
    one_k = json.loads(CliRunner().invoke(main, ["layout", "show", "--json"]).output)
    assert len(one_k["blocks"]) == 64 and one_k["layout_version"] == 2
    names = {b["block"]: b["name"] for b in one_k["blocks"]}
    assert (names[6], names[9], names[10], names[12]) == ("identity", "purse", "purse", "free")  # v2: sectors 0-2
    b10 = next(b for b in one_k["blocks"] if b["block"] == 10)
    assert b10["key_a"] == ["read"] and "write" in b10["key_b"]  # the purse header: key B writes it
    v1 = json.loads(CliRunner().invoke(main, ["layout", "show", "--layout", "1", "--json"]).output)
    assert v1["layout_version"] == 1 and {b["block"]: b["name"] for b in v1["blocks"]}[12] != "free"


def test_layout_show_table():
    out = CliRunner().invoke(main, ["layout", "show"])
    assert out.exit_code == 0
    assert "layout v2" in out.output and "purse header" in out.output and "backup value block" in out.output
    out = CliRunner().invoke(main, ["layout", "show", "--layout", "1"])
    assert out.exit_code == 0
    assert "balance value block" in out.output and "purse slot 1" in out.output
