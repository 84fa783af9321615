"""The day configuration the back office signs for a store reader at every sign-in.

`signed_config` turns the terminal's settings (recorded at provisioning, `ledger.store.terminal_settings`),
the blacklist the reader was just sent and the ledger clock into one `DayConfig` record, MAC'd with
the terminal's configuration key (firmware/dayconfig.py `seal`, the reader's own code). The reader
applies exactly that record, so whatever was changed on it since the last sign-in is undone.
"""
import datetime as dt

from icpurse.firmware import dayconfig
from icpurse.host import codec
from icpurse.host.terminals.keys import terminal_keys
from icpurse.protocol import cardtime

CLOCK_WINDOW = 600  # seconds SET_TIME may move a reader's clock back between sign-ins
DEFAULTS = {"mode": "pos", "fixed_price": 0, "grace_days": 0, "txn_cap": 0, "daily_cap": 0, "transparent": False,
            "balance_cap": 0, "v1_until": 0,
            "clock_window": CLOCK_WINDOW}


def settings_of(ledger, number) -> dict:
    out = dict(DEFAULTS)
    out.update(ledger.store.terminal_settings(number))
    return out


def stored_blacklist(version, entries) -> bytes:
    """The blacklist as the reader stores it: version (4 bytes LE) and the sorted 6-byte entries."""
    return version.to_bytes(4, "little") + b"".join(sorted(bytes(e) for e in entries))


def next_cutoff(ledger, when: dt.datetime) -> dt.datetime:
    """The first daily cut-off (日切) of the ledger's business calendar after `when`."""
    cal = ledger.calendar
    local = when.astimezone(cal.tz)
    cut = dt.datetime.combine(local.date(), cal.cutoff, tzinfo=cal.tz)
    if cut <= local:
        cut += dt.timedelta(days=1)
    return cut


def signed_config(ledger, domain, number, info, when, blacklist_version, blacklist_entries, **override) -> bytes:
    """The signed DayConfig for the reader whose INFO is `info` (its key version and the serial after
    the one in force), at ledger time `when`. `override`: settings that differ from the recorded ones
    (e.g. transparent=True for an issuance reader)."""
    s = settings_of(ledger, number)
    s.update(override)
    terminal = int(number)
    version = info["key_version"]
    t = cardtime.seconds(when)
    mode = codec.MODE_FIXED_PRICE if s["mode"] == "fixed-price" else codec.MODE_POS
    digest = dayconfig.blacklist_digest(stored_blacklist(blacklist_version, blacklist_entries))
    return dayconfig.seal(terminal_keys(domain, terminal, version)["config"], terminal, version,
                          info["config_serial"] + 1, t, cardtime.day_of_seconds(t),
                          cardtime.seconds(next_cutoff(ledger, when)), int(s["clock_window"]), mode,
                          int(s["fixed_price"] or 0), int(s["grace_days"]), int(s["txn_cap"]), int(s["daily_cap"]),
                          domain.issuer, 1 if s["transparent"] else 0, blacklist_version, digest,
                          balance_cap=int(s["balance_cap"] or 0), v1_until=int(s["v1_until"] or 0))
