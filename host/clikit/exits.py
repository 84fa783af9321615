"""The exit codes of every `icpurse` command (README: "Exit codes everywhere")."""
import enum


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1  # refused or failed: the message says why and what to do next
    USAGE = 2  # usage or bad input (click's own usage errors exit 2 as well)
    NO_READER = 3  # no reader or device found
    CARD = 4  # card problem: absent, wrong type, authentication failed, refused by the purse
    INTEGRITY = 5  # integrity problem found: MAC, chain, reconciliation difference, corrupted file
