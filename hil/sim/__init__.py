"""The virtual rig: a MIFARE Classic card and PN532 chip model (see docs/simulator.md).

Core modules (marked `# micropython: yes`) run under CPython and MicroPython; the pty, PC/SC and CLI
front ends are CPython only.
"""
