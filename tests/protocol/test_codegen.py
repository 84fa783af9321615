"""The generated firmware codec equals construct, byte for byte, in both directions."""
import subprocess
import sys

import construct as c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpurse.firmware import codec
from icpurse.protocol import codec_spec, codegen


def test_generated_codec_is_fresh():
    # Fails when a protocol/ definition changed without `make gen`.
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
