"""Package list for the icpurse distribution.

The repository root is the ``icpurse`` package; each part of the architecture is a top-level
folder and becomes ``icpurse.<part>`` (``protocol/`` -> ``icpurse.protocol``).  Only these
parts are installed -- never generic top-level names like ``protocol`` or ``host``.
"""
import os

from setuptools import setup

PARTS = ("protocol", "host", "keys", "hil", "firmware")


def packages():
    found = ["icpurse"]
    for part in PARTS:
        for root, dirs, files in os.walk(part):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
            if "__init__.py" in files:
                found.append("icpurse." + root.replace(os.sep, "."))
    return found


setup(packages=packages())
