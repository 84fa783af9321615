"""The HIL plugin for this folder when pytest was not started with -p icpurse.hil.pytest_plugin
(`make test` runs tests/hil on the default rig, hil/rigs/virtual.toml)."""
import sys

if "icpurse.hil.pytest_plugin" not in sys.modules:
    from icpurse.hil.pytest_plugin import *  # noqa: F401,F403 (hooks and fixtures)
