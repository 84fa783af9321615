"""MIFARE Classic primitives."""
