"""A stand-in for MicroPython's `cryptolib` where the interpreter lacks it (the WebAssembly build
used by the firmware tests, and CPython): the same API, so the firmware's cryptolib path runs in
the tests (firmware/aes.py imports `cryptolib` first).

    aes(key, mode[, IV])      mode 1 (ECB) or 2 (CBC); IV only for CBC (16 bytes; zeros if left out)
    .encrypt(in_buf[, out_buf])   whole 16-byte blocks; returns out_buf (or new bytes); CBC chains
                                  across calls of one object, as the port's does

The blocks are enciphered by the firmware's own pure-Python AES (firmware/aes.py PyAES128), so a
vector test passing through here proves the cryptolib path's byte handling, not a second AES.
`stats` counts calls, blocks and time spent (hil/bench_mpy.py takes the stand-in's time out of the
firmware's measured CPU and charges the C implementation's instead; docs/reader.md).
"""
try:
    from time import ticks_diff, ticks_us
except ImportError:  # CPython
    from time import perf_counter_ns

    def ticks_us():
        return perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b

MODE_ECB = 1
MODE_CBC = 2
stats = {"calls": 0, "blocks": 0, "us": 0, "bytes": 0}
_schedules = {}  # key -> PyAES128: the stand-in's own speed-up (the port's C does it per object)
# `make bench` sets a dict here: results are remembered by (key, mode, IV, input), so when the same
# debit runs again the stand-in costs a lookup, not a pure-Python AES (hil/bench_mpy.py)
memo = None


class aes:  # noqa: N801 (cryptolib's name)
    def __init__(self, key, mode, IV=None):  # noqa: N803
        if mode not in (MODE_ECB, MODE_CBC):
            raise ValueError("mode")
        if len(key) not in (16, 32) or len(key) != 16:
            raise ValueError("key")  # the firmware uses AES-128 only
        if mode == MODE_ECB and IV is not None:
            raise ValueError("IV")
        if IV is not None and len(IV) != 16:
            raise ValueError("IV")
        self._mode = mode
        self._key = bytes(key)
        self._cipher = None  # the key schedule, made when a block is really enciphered
        self._iv = bytearray(IV if IV is not None else bytes(16))

    def _schedule(self):
        if self._cipher is None:
            from icpurse.firmware.aes import PyAES128

            cipher = _schedules.get(self._key)
            if cipher is None:
                if len(_schedules) > 32:
                    _schedules.clear()
                cipher = _schedules[self._key] = PyAES128(self._key)
            self._cipher = cipher
        return self._cipher

    def encrypt(self, in_buf, out_buf=None):
        t0 = ticks_us()
        n = len(in_buf)
        if memo is not None:
            k = (self._key, self._mode, bytes(self._iv), bytes(in_buf))
            hit = memo.get(k)
            if hit is not None:
                out = bytearray(n) if out_buf is None else out_buf
                out[:n] = hit
                if self._mode == MODE_CBC:
                    self._iv[:] = hit[n - 16:n]
                stats["calls"] += 1
                stats["blocks"] += n // 16
                stats["bytes"] += n
                return bytes(out) if out_buf is None else out_buf
            iv0 = k
        if n % 16:
            raise ValueError("blksize")
        out = bytearray(n) if out_buf is None else out_buf
        if len(out) < n:
            raise ValueError("output too small")
        block = bytearray(16)
        for off in range(0, n, 16):
            for i in range(16):
                block[i] = in_buf[off + i]
            if self._mode == MODE_CBC:
                for i in range(16):
                    block[i] ^= self._iv[i]
            self._schedule().encrypt_into(block, block)
            if self._mode == MODE_CBC:
                self._iv[:] = block
            out[off:off + 16] = block
        stats["calls"] += 1
        stats["blocks"] += n // 16
        stats["bytes"] += n
        stats["us"] += ticks_diff(ticks_us(), t0)
        if memo is not None:
            memo[iv0] = bytes(out[:n])
        return bytes(out) if out_buf is None else out_buf
