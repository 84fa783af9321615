"""CPython side of the dual-run firmware tests: make ``import mpytest`` work as it does under
MicroPython (where the runner puts this folder on sys.path as /tests_fw).  tests/ deliberately has
no __init__.py, so this folder is a plain directory, not a package."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
