"""Rig description files (TOML) of the HIL suite; see docs/hil.md."""
