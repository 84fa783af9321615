"""The day configuration the back office signs for a store reader at every sign-in.

`signed_config` turns the terminal's settings (recorded at provisioning, `ledger.store.terminal_settings`),
the rules of its programme (`programme_settings`: grace, balance cap, per-sale and daily caps, read
from the registered programme at every signing), the blacklist the reader was just sent and the
ledger clock into one `DayConfig` record, MAC'd with the terminal's configuration key
(firmware/dayconfig.py `seal`, the reader's own code). The reader applies exactly that record, so
whatever was changed on it since the last sign-in is undone.
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


CAPS = ("txn_cap", "daily_cap")


def _highest(values):
    """The cap a reader holds every card of a programme to: it cannot tell a card's kind, so the
    highest of the kinds' caps (0 = no cap, as soon as one kind has none)."""
    values = list(values)
    return 0 if not values or None in values else max(values)


def programme_settings(programme) -> dict:
    """Reader settings a programme dictates: the grace period after expiry (longest of its kinds;
    a month counts 31 days so the reader is never stricter than the programme), the balance cap a
    reader holds cards to, and what one card may spend per sale and per business day (`txn_cap`,
    `daily_cap`; per kind in the programme file, the highest of the kinds here; 0 = none)."""
    terms = programme.terms.values()
    months = [t.grace.months for t in terms if t.grace is not None]
    return {"grace_days": 31 * max(months) if months else 0,
            "balance_cap": _highest(t.balance_cap for t in terms),
            "txn_cap": _highest(t.txn_cap for t in terms), "daily_cap": _highest(t.daily_cap for t in terms)}


def stricter(cap, override):
    """The lower of two caps where 0 means none."""
    if not cap:
        return override or 0
    return min(cap, override) if override else cap


def settings_of(ledger, number) -> dict:
    """What the reader of terminal `number` sells by: its recorded settings, and where a programme
    is recorded (`terminal provision --programme`), that programme's rules, read now; a per-sale or
    daily cap recorded for the terminal itself can only make the programme's stricter."""
    recorded = ledger.store.terminal_settings(number)
    out = dict(DEFAULTS)
    out.update(recorded)
    if recorded.get("programme"):
        rules = programme_settings(ledger.programmes.programme(recorded["programme"]))
        out["grace_days"] = rules["grace_days"]
        out["balance_cap"] = rules["balance_cap"]
        for k in CAPS:
            out[k] = stricter(rules[k], int(recorded.get(k) or 0))
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
