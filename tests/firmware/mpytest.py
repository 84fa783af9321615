"""Tiny test helpers that work under both CPython (pytest) and MicroPython (tests/micropython/run.mjs).

Dual-run test files (tests/firmware/test_*.py) import this instead of pytest: pytest's fixtures and
``pytest.raises`` do not exist under MicroPython.
"""
import sys


def is_micropython():
    return sys.implementation.name == "micropython"


class raises:
    """``with raises(ValueError): ...`` -- fails the test unless the block raises ``exc_type``.

    ``exc_type`` may be a tuple.  ``match`` is a plain substring of ``str(exception)`` (no regex:
    MicroPython's ``re`` is a subset).  The caught exception is kept in ``.value``.
    Any other exception propagates unchanged, as with ``pytest.raises``.
    """

    def __init__(self, exc_type, match=None):
        self.exc_type = exc_type
        self.match = match
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        if exc_type is None:
            raise AssertionError("DID NOT RAISE %r" % (self.exc_type,))
        if not issubclass(exc_type, self.exc_type):
            return False
        if self.match is not None and self.match not in str(exc_value):
            raise AssertionError("%r does not contain %r" % (str(exc_value), self.match))
        self.value = exc_value
        return True


_tmp_count = [0]
_tmp_made = []


def tmpdir():
    """A fresh, empty directory (path string) for one test."""
    if not is_micropython():
        import tempfile

        path = tempfile.mkdtemp(prefix="mpytest-")
        if not _tmp_made:
            import atexit
            import shutil

            atexit.register(lambda: [shutil.rmtree(p, True) for p in _tmp_made])
        _tmp_made.append(path)
        return path
    import os

    try:
        os.mkdir("/tmp")
    except OSError:
        pass  # already there
    while True:
        _tmp_count[0] += 1
        path = "/tmp/mpytest-%d" % _tmp_count[0]
        try:
            os.mkdir(path)
            return path
        except OSError:
            continue  # left over from an earlier test in this interpreter


def alloc_bytes(fn, *args, **kwargs):
    """Run ``fn`` and return ``(result, bytes)``: how much heap it allocated.

    MicroPython: the GC is paused, so the figure is every byte allocated during the call (an upper
    bound of the peak; what matters on a device without spare heap).  CPython: tracemalloc's
    peak.  The two interpreters' figures are not comparable with each other; compare a figure
    only with the same interpreter's earlier runs.
    """
    if is_micropython():
        import gc

        was_enabled = gc.isenabled()  # the runner's --heap may already have paused it
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            result = fn(*args, **kwargs)
            used = gc.mem_alloc() - before
        finally:
            if was_enabled:
                gc.enable()
        return result, used
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn(*args, **kwargs)
        used = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()
    return result, used
