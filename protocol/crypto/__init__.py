"""Host-side cryptography: AES-CMAC, AN10922 diversification, icpurse key derivations."""
