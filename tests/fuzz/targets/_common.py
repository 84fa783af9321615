"""Shared plumbing of the atheris targets (tests/fuzz/targets/*.py).

Every target module defines `test_one_input(data)` (raises only on a real bug: an exception the
code under test does not document) and `SEEDS` (bytes worth starting from).  Run them with
`python -m icpurse.hil.fuzz` (all, or `--target NAME`), or one as a script:

    PYTHONPATH=tests/firmware .venv/bin/python tests/fuzz/targets/link_frames.py -atheris_runs=100000
    PYTHONPATH=tests/firmware .venv/bin/python tests/fuzz/targets/link_frames.py -max_total_time=60 CORPUS_DIR

A target imports its neighbours here as top-level modules (a script's folder is on its import
path) and some reuse the firmware tests' helpers (tests/firmware: crashfs, purse_fixtures, ...),
hence PYTHONPATH; hil/fuzz.py sets it for its runs, pytest's `pythonpath` option (pyproject.toml)
for pytest, which imports the same modules and replays the seeds (tests/fuzz/test_targets.py), so
the targets need atheris only when they fuzz.
"""
import contextlib
import sys


def instrument(module_name):
    """Context for the target's imports: atheris coverage instrumentation of icpurse code when the
    target runs as a fuzzer script, nothing when pytest imports it."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=["icpurse"])


def main(module_name, test_one_input):
    if module_name != "__main__":
        return
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def crashfs():
    """The journal tests' in-memory filesystem (tests/firmware/crashfs.py), reused as is."""
    from crashfs import CrashFS

    return CrashFS()


class Input:
    """Draws structured values from the fuzzer's bytes; past the end everything reads as zero,
    so every input is usable and short inputs stay short."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def u8(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def uint(self, nbytes):
        v = 0
        for _ in range(nbytes):
            v = (v << 8) | self.u8()
        return v

    def below(self, n):
        """An int in 0..n-1 (n <= 65536)."""
        return self.uint(1 if n <= 256 else 2) % n if n > 1 else 0

    def flag(self):
        return bool(self.u8() & 1)

    def take(self, n):
        """n bytes (zero-padded at the end of the input)."""
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk + bytes(n - len(chunk))

    def chunk(self, limit=255):
        """A length byte, then that many bytes (up to `limit`; fewer at the end of the input)."""
        n = self.u8() % (limit + 1)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def rest(self):
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk
