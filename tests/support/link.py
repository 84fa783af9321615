"""Provisioning a (virtual) reader from raw master keys, over its link, the way the back office does
it (host/terminals/service.py does it from a key domain): the lab's transport key ceremony, the
first PROVISION_KEYS under the transport key, then the blacklist and a day configuration signed
with the terminal's configuration key. For tests that use their own masters instead of a keystore."""
from icpurse.firmware import codec, dayconfig, kdf

DAY = 86400


def terminal_keys(journal_master, terminal, version=1):
    return {"journal": kdf.journal_key(journal_master, terminal, version),
            "link": kdf.link_key(journal_master, terminal, version),
            "config": kdf.config_key(journal_master, terminal, version),
            "transport": kdf.transport_key(journal_master, terminal, version)}


def signed_config(client, journal_master, terminal, *, time=9000 * DAY, version=1, mode=codec.MODE_POS,
                  fixed_price=0, grace_days=0, txn_cap=0, daily_cap=0, issuer=1, transparent=False,
                  blacklist=(0, ()), cutoff=0, window=600, serial=None):
    """A DayConfig for the reader behind `client` (its next serial), signed for `terminal`."""
    if serial is None:
        serial = client.info()["config_serial"] + 1
    stored = blacklist[0].to_bytes(4, "little") + b"".join(sorted(bytes(e) for e in blacklist[1]))
    return dayconfig.seal(terminal_keys(journal_master, terminal, version)["config"], terminal, version, serial, time,
                          time // DAY, cutoff, window, mode, fixed_price, grace_days, txn_cap, daily_cap, issuer,
                          1 if transparent else 0, blacklist[0], dayconfig.blacklist_digest(stored))


def provision(vreader, client, terminal, sector_a, purse_mac, journal_master, version=1, **config):
    """Ceremony + keys + blacklist + a signed configuration (CONFIGURE: the day stays closed).
    `vreader`: the hil.sim.rig.VirtualReader behind `client` (the lab writes the transport key into
    its NVS). The client signs with the terminal's link key afterwards."""
    keys = terminal_keys(journal_master, terminal, version)
    vreader.install_transport_key(keys["transport"])
    client.authenticate(keys["transport"])
    client.provision_keys(terminal, version, sector_a, purse_mac, keys["journal"], keys["link"], keys["config"])
    client.authenticate(keys["link"])
    blacklist = config.get("blacklist", (0, ()))
    client.load_blacklist(blacklist[0], list(blacklist[1]))
    client.configure(signed_config(client, journal_master, terminal, version=version, **config))
    return keys


def sign_in(client, journal_master, terminal, operator=1, **config):
    return client.sign_in(operator, signed_config(client, journal_master, terminal, **config))
