"""The generated codecs agree with construct under the real MicroPython interpreter too.

Random records are built with construct here (CPython), written as literals into a dual-run test
file, and that file runs in the MicroPython WebAssembly build: every record must encode to
construct's bytes and decode back to construct's values, through the host codec (every record)
and through the device codec (the functions the firmware carries, which the host codec imports)."""
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from icpurse.protocol import codec_spec, codegen

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "micropython" / "run.mjs"
PER_STRUCT = 25


def _value(field, rnd):
    if field.kind == "bytes":
        return bytes(rnd.getrandbits(8) for _ in range(field.size))
    bits = field.size * 8
    if field.signed:
        return rnd.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return rnd.choice((0, (1 << bits) - 1, rnd.randint(0, (1 << bits) - 1)))


@pytest.mark.micropython
def test_codec_equals_construct_under_micropython(tmp_path):
    node = shutil.which("node")
    if node is None or not (ROOT / "tests/micropython/node_modules").is_dir():
        pytest.skip("node or the MicroPython WebAssembly build missing — run `make setup`")
    rnd = random.Random(20261122)
    lines = ["from icpurse.firmware import codec as device", "from icpurse.host import codec", "", "VECTORS = ["]
    for name, struct in codec_spec.STRUCTS:
        fields = [f for f in codegen.describe_struct(struct) if f.kind in ("int", "bytes")]
        for _ in range(PER_STRUCT):
            values = {f.name: _value(f, rnd) for f in fields}
            built = struct.build(values)
            parsed = struct.parse(built)
            lines.append("    (%r, %r, %r)," % (name, tuple(parsed[f.name] for f in fields), built))
    lines += ["]", "", "",
              "def test_encode_and_decode_every_vector():",
              "    on_device = 0",
              "    for name, values, raw in VECTORS:",
              "        assert getattr(codec, 'encode_' + name)(*values) == raw, name",
              "        assert getattr(codec, 'decode_' + name)(raw) == values, name",
              "        for fn in ('encode_', 'decode_'):",
              "            if hasattr(device, fn + name):",
              "                assert getattr(device, fn + name) is getattr(codec, fn + name), name",
              "                on_device += 1",
              "    assert len(VECTORS) == %d" % (PER_STRUCT * len(codec_spec.STRUCTS)),
              "    assert on_device > 0"]
    test_file = tmp_path / "test_codec_vectors_generated.py"
    test_file.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([node, str(RUNNER), str(test_file)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
