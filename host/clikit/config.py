"""The user's configuration file: the `ICPURSE_*` settings in one TOML file, so they need not be
exported in every shell.

Where: `$ICPURSE_CONFIG`, else `config.toml` in the user's configuration folder
(platformdirs: `~/.config/icpurse/config.toml` on Linux). Each key is a setting's name without the
`ICPURSE_` prefix, in lower case:

    db = "sqlite:////srv/icpurse/ledger.db"     # ICPURSE_DB
    keystore = "/srv/icpurse/issuer.keystore"   # ICPURSE_KEYSTORE
    reader = "pcsc"                              # ICPURSE_READER
    operator = "alice"                           # ICPURSE_OPERATOR
    issuer_name = "Example Department Store"     # ICPURSE_ISSUER_NAME (report headers)

Precedence: a command-line option, then the environment, then this file, then the built-in
default. Secrets never go in it (passwords, passphrases, the ledger data key): such a key is
refused, as is an unknown key or a value that is not a string or whole number (exit 2).
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure

CONFIG_ENV = "ICPURSE_CONFIG"
PREFIX = "ICPURSE_"
# name -> what it sets (the option help of each command names the same variable)
SETTINGS = {
    "db": "the ledger database URL (--db)",
    "keystore": "the issuer keystore file, or `demo` (--keystore)",
    "reader": "the card reader: pcsc[:NAME] | serial:PORT | sim[:DIR] (--reader)",
    "operator": "the operator who signs in (--operator)",
    "programme": "the programme cards are personalised under (card personalise --programme)",
    "sim_state": "the folder of the virtual rig's cards (--reader sim)",
    "kdf_n": "the scrypt cost of new keystores and exports",
    "bench_pg": "a PostgreSQL server for `make bench`",
    "issuer_name": "the issuer's name in report headers",
    "timezone": "the time zone reports state times in (e.g. Asia/Shanghai; default: the ledger's, UTC+8)",
}
SECRETS = ("operator_password", "keystore_passphrase", "new_password", "transport_passphrase", "data_key")


def config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("icpurse")) / "config.toml"


def read_config(path: Path | None = None) -> dict:
    """{setting: text} of the configuration file ({} when there is none); Failure (exit 2) when the
    file is not valid or names a secret or an unknown setting."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise Failure("configuration file %s cannot be read (%s)" % (path, e), Exit.USAGE) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise Failure("configuration file %s is not valid TOML: %s" % (path, e), Exit.USAGE,
                      next_step="fix it, or point %s at another file" % CONFIG_ENV) from None
    out = {}
    for key, value in data.items():
        if key in SECRETS:
            raise Failure("configuration file %s: %s is a secret and is never read from a file: give it in %s%s "
                          "or at the prompt" % (path, key, PREFIX, key.upper()), Exit.USAGE)
        if key not in SETTINGS:
            raise Failure("configuration file %s: unknown setting %r; known: %s" % (path, key, ", ".join(SETTINGS)),
                          Exit.USAGE)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise Failure("configuration file %s: %s must be a string or a whole number, got %r" % (
                path, key, value), Exit.USAGE)
        out[key] = str(value)
    return out


def apply_config(path: Path | None = None) -> dict:
    """Fill in the environment from the configuration file where it is not set already (so every
    option's environment variable sees it). Returns {setting: source} for every known setting."""
    found = read_config(path)
    sources = {}
    for key in SETTINGS:
        var = PREFIX + key.upper()
        if var in os.environ:
            sources[key] = "environment"
        elif key in found:
            os.environ[var] = found[key]
            sources[key] = "file"
    return sources
