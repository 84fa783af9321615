"""The keys of one store terminal, from the issuer's key domain, and signing a link with them.

All four are AN10922 diversifications of the key version's **journal master** (which only the back
office holds) with the terminal number (icpurse.protocol.crypto.kdf):

| key | purpose | the reader holds it | used for |
|---|---|---|---|
| journal | JOURNAL | yes | MAC and chain of its journal records |
| link | LINK | yes | MACs of its state-changing USB link requests and of its answers |
| config | CONFIG | yes | the back office's signed day configuration (firmware/dayconfig.py) |
| transport | TRANSPORT | until its first provisioning | the lab ceremony: the first PROVISION_KEYS |

Which key set holds what (keys/exports.py): a **reader** export of terminal N holds N's four keys
themselves (for the transport key ceremony and N's provisioning); a **collector** export holds the
journal master and derives every terminal's keys (sign-in with the signed day configuration,
collection and its acknowledgements, day close); a **workstation** export holds none of them.

The MACs are symmetric: a reader verifies with the key it holds, so whoever extracts a reader's keys
can sign link requests, configurations and journal records **for that one terminal** — never for
another terminal, never a card's top-up (docs/security.md).
"""
from icpurse.host import codec
from icpurse.protocol.crypto import kdf


class TerminalKeyError(Exception):
    """The reader cannot be reached with this key domain's keys (the message says what to do)."""

    exit_code = 1


def _export(keys):
    from icpurse.keys import exports

    return keys if isinstance(keys, exports.RoleExport) else None


def _master(keys, version):
    export = _export(keys)
    if export is not None and export.role != "collector":
        raise TerminalKeyError("a %s key set cannot sign for other terminals: use a collector key set "
                               "(`icpurse keys export --role collector`)" % export.role)
    try:
        if export is not None:
            return export.versions[version]["journal"].material
        return keys.version(version)["journal"].material
    except KeyError:
        raise TerminalKeyError("the reader uses key version %d, which this key set does not hold" % version) from None


def _own(keys, terminal, version):
    """The reader export's own keys of `version`, or None when `keys` is not a reader export."""
    export = _export(keys)
    if export is None or export.role != "reader":
        return None
    if export.terminal != terminal:
        raise TerminalKeyError("this is the reader key set of terminal %08d, not of %08d: export the one of %08d "
                               "(`icpurse keys export --role reader --terminal %08d`)" % (
                                   export.terminal, terminal, terminal, terminal))
    try:
        return export.versions[version]
    except KeyError:
        raise TerminalKeyError("the reader uses key version %d, which this key set does not hold" % version) from None


def terminal_keys(keys, terminal: int, version: int) -> dict:
    """{journal, link, config}: 16-byte keys of `terminal` for key `version`, from a KeyDomain, a
    collector export (derived from its journal master) or terminal's own reader export."""
    own = _own(keys, terminal, version)
    if own is not None:
        return {name: own[name].material for name in ("journal", "link", "config")}
    master = _master(keys, version)
    return {"journal": kdf.journal_key(master, terminal, version), "link": kdf.link_key(master, terminal, version),
            "config": kdf.config_key(master, terminal, version)}


def transport_key(keys, terminal: int) -> bytes:
    """The one-off key of the lab ceremony for the blank reader that becomes `terminal` (current version)."""
    own = _own(keys, terminal, keys.current)
    if own is not None:
        return own["transport"].material
    return kdf.transport_key(_master(keys, keys.current), terminal, keys.current)


def authenticate(client, keys, terminal: int) -> dict:
    """Make `client` sign state-changing requests with the right key for the reader behind it: the
    link key of its current key version, or -- a blank reader the lab put through the ceremony for
    `terminal` -- the transport key. Returns the reader's INFO."""
    info = client.info()
    state = info["link_state"]
    if state == codec.LINK_STATE_PROVISIONED:
        # its own terminal's key: re-provisioning to another number is signed by the old one
        client.authenticate(terminal_keys(keys, info["terminal"], info["key_version"])["link"])
    elif state == codec.LINK_STATE_TRANSPORT:
        client.authenticate(transport_key(keys, terminal))
    else:
        raise TerminalKeyError(
            "this reader is blank and holds no transport key: put it through the lab ceremony first "
            "(`icpurse terminal transport-key %08d`, docs/hardware.md)" % terminal)
    return info
