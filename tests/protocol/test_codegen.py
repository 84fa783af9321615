"""The generated codecs equal construct, byte for byte, in both directions; the device codec holds
only what the firmware uses, the host codec the rest."""
import re
import subprocess
import sys
from pathlib import Path

import construct as c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpurse.firmware import codec as device
from icpurse.host import codec
from icpurse.protocol import codec_spec, codegen, journal, records

ROOT = Path(__file__).resolve().parents[2]


def test_generated_codec_is_fresh():
    # Fails when a protocol/ definition, or the names the firmware uses, changed without `make gen`.
    result = subprocess.run(
        [sys.executable, "-m", "icpurse.protocol.codegen", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _field_strategy(field):
    if field.kind == "bytes":
        return st.binary(min_size=field.size, max_size=field.size)
    bits = field.size * 8
    if field.signed:
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.integers(0, (1 << bits) - 1)


def _record_strategy(struct):
    fields = [f for f in codegen.describe_struct(struct) if f.kind in ("int", "bytes")]
    return st.fixed_dictionaries({f.name: _field_strategy(f) for f in fields})


STRUCTS = dict(codec_spec.STRUCTS)


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_codec_matches_construct(name):
    struct = STRUCTS[name]
    names = getattr(codec, name.upper() + "_FIELDS")
    encode = getattr(codec, "encode_" + name)
    decode = getattr(codec, "decode_" + name)
    assert getattr(codec, name.upper() + "_SIZE") == struct.sizeof()

    @settings(max_examples=200, deadline=None)
    @given(_record_strategy(struct))
    def check(values):
        built = struct.build(values)
        # construct -> codec
        assert encode(**values) == built
        # codec -> construct
        parsed = struct.parse(built)
        decoded = decode(built)
        assert decoded == tuple(parsed[n] for n in names)
        # decoding at an offset inside a larger buffer (the firmware reads blocks into one buffer)
        assert decode(b"\xaa" * 5 + built + b"\x55", 5) == decoded

    check()


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_codec_rejects_what_construct_rejects(name):
    struct = STRUCTS[name]
    fields = [f for f in codegen.describe_struct(struct) if f.kind in ("int", "bytes")]
    good = {f.name: (bytes(f.size) if f.kind == "bytes" else 0) for f in fields}
    encode = getattr(codec, "encode_" + name)
    for f in fields:
        bad = dict(good)
        if f.kind == "bytes":
            bad[f.name] = bytes(f.size + 1)
        else:
            bad[f.name] = 1 << (8 * f.size)
        with pytest.raises(c.ConstructError):
            struct.build(bad)
        with pytest.raises(ValueError):
            encode(**bad)
    with pytest.raises(ValueError):
        getattr(codec, "decode_" + name)(bytes(struct.sizeof() - 1))


def test_generator_refuses_unsupported_fields():
    with pytest.raises(TypeError):
        codegen.describe_struct(c.Struct("x" / c.GreedyBytes))
    with pytest.raises(TypeError):
        codegen.describe_struct(c.Struct("n" / c.Int64ul))


def _public(module):
    return {n for n in vars(module) if not n.startswith("_") and n[0].isalpha()} - {"const", "pack_into",
                                                                                   "unpack_from", "check_uint",
                                                                                   "check_sint", "check_len", "need"}


def _firmware_text():
    return "\n".join(p.read_text() for p in sorted((ROOT / "firmware").rglob("*.py")) if p.name != "codec.py")


def test_device_codec_holds_only_names_the_firmware_uses():
    text = _firmware_text()
    unused = sorted(n for n in _public(device) if not re.search(r"\b%s\b" % n, text))
    assert unused == []


def test_device_codec_leaves_the_simulator_and_host_side_out():
    for name in ("T_READ", "T_PN532_OVERHEAD", "TG_ATQA_1K_4B", "CMD_IN_COMMUNICATE_THRU", "decode_reader_info",
                 "decode_debit_result", "encode_debit_request", "TXN_NAMES", "IDENTITY_FIELDS"):
        assert not hasattr(device, name), name
        assert hasattr(codec, name), name


def test_host_codec_is_the_device_codec_plus_the_rest():
    for name in _public(device):
        assert getattr(codec, name) is getattr(device, name), name
    exported = set()
    for _, cls in codec_spec.CONSTANTS:
        exported |= {k for k in vars(cls) if k.isupper()}
    assert len(_public(codec)) > len(_public(device)) + len(exported) // 4


def test_name_tables():
    # one spelling per kind and state, as the CLI, JSON and reports show them
    assert codec.TXN_NAMES == {codec.TXN_ISSUE: "issue", codec.TXN_LOAD: "top-up", codec.TXN_DEBIT: "debit",
                               codec.TXN_VOID: "void", codec.TXN_REFUND: "refund", codec.TXN_ADJUST: "adjust",
                               codec.TXN_RECOVER: "recover",
                                   codec.TXN_MIGRATE: "migrate"}
    assert codec.JOURNAL_STATE_NAMES == {codec.JR_PENDING: "pending", codec.JR_COMMITTED: "committed",
                                         codec.JR_ROLLED_BACK: "rolled_back"}


def test_generator_refuses_an_incomplete_or_ambiguous_name_table():
    with pytest.raises(ValueError, match="exactly once"):
        codegen._names_item("X", records.TxnKind, {records.TxnKind.LOAD: "top-up"})
    with pytest.raises(ValueError, match="distinct"):
        codegen._names_item("X", journal.RecordState, {1: "a", 2: "a", 3: "b"})
