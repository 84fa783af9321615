"""Shared helpers of the test suites (importable as `support`: pyproject.toml puts tests/ on the
import path through pytest's `pythonpath` option; tests/ itself is not a package).

- `support.clock`    the manual ledger clock (moved by hand, never sleeps)
- `support.ledger`   ledger test constants (operator password, data key, example programmes) and the
                     ledger database backends (SQLite, and a real PostgreSQL)
- `support.store`    the store world: ledger, demo keys, issued cards, provisioned virtual readers
- `support.simproc`  `icpurse sim serve` as a subprocess, and pcscd for the PC/SC tests
- `support.frames`   hex and an independent PN532 frame builder for scripted frames

The fixtures that every suite may use are registered in tests/conftest.py; a suite's own helpers
stay in its folder (`world.py`, `issuance_world.py`, ...).
"""
