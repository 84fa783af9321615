"""MIFARE Classic primitives."""
# micropython: yes
