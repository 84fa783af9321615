"""The keys of one store terminal, from the issuer's key domain, and signing a link with them.

All four are AN10922 diversifications of the key version's **journal master** (which only the back
office holds) with the terminal number (icpurse.protocol.crypto.kdf):

| key | purpose | the reader holds it | used for |
|---|---|---|---|
| journal | JOURNAL | yes | MAC and chain of its journal records |
| link | LINK | yes | MACs of its state-changing USB link requests and of its answers |
| config | CONFIG | yes | the back office's signed day configuration (firmware/dayconfig.py) |
| transport | TRANSPORT | until its first provisioning | the lab ceremony: the first PROVISION_KEYS |

The MACs are symmetric: a reader verifies with the key it holds, so whoever extracts a reader's keys
can sign link requests, configurations and journal records **for that one terminal** — never for
another terminal, never a card's top-up (docs/security.md).
"""
from icpurse.host import codec
from icpurse.protocol.crypto import kdf


class TerminalKeyError(Exception):
    """The reader cannot be reached with this key domain's keys (the message says what to do)."""

    exit_code = 1


def _master(domain, version):
    try:
        return domain.version(version)["journal"].material
    except KeyError:
        raise TerminalKeyError("the reader uses key version %d, which this keystore does not hold" % version) from None


def terminal_keys(domain, terminal: int, version: int) -> dict:
    """{journal, link, config}: 16-byte keys of `terminal` for key `version`."""
    master = _master(domain, version)
    return {"journal": kdf.journal_key(master, terminal, version), "link": kdf.link_key(master, terminal, version),
            "config": kdf.config_key(master, terminal, version)}


def transport_key(domain, terminal: int) -> bytes:
    """The one-off key of the lab ceremony for the blank reader that becomes `terminal` (current version)."""
    return kdf.transport_key(_master(domain, domain.current), terminal, domain.current)


def authenticate(client, domain, terminal: int) -> dict:
    """Make `client` sign state-changing requests with the right key for the reader behind it: the
    link key of its current key version, or -- a blank reader the lab put through the ceremony for
    `terminal` -- the transport key. Returns the reader's INFO."""
    info = client.info()
    state = info["link_state"]
    if state == codec.LINK_STATE_PROVISIONED:
        # its own terminal's key: re-provisioning to another number is signed by the old one
        client.authenticate(terminal_keys(domain, info["terminal"], info["key_version"])["link"])
    elif state == codec.LINK_STATE_TRANSPORT:
        client.authenticate(transport_key(domain, terminal))
    else:
        raise TerminalKeyError(
            "this reader is blank and holds no transport key: put it through the lab ceremony first "
            "(`icpurse terminal transport-key %08d`, docs/hardware.md)" % terminal)
    return info
