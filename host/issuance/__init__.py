"""Issuance workstation: personalise, sell/activate, top up."""
