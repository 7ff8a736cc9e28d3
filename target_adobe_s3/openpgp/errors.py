"""The OpenPGP library's one error type, and the message texts its modules share.

`PgpKeyError` subclasses ValueError and nothing of the rest of the package: this library
imports nothing above it, and its callers turn the message into their own (one line naming
the setting).
"""

from __future__ import annotations

from datetime import datetime, timezone

EXPORT_COMMANDS = (
    "`gpg --armor --export <email>`, `sq key extract-cert <key file>` (sq 1.x: "
    "`sq cert export --cert <fingerprint>`) or `rnpkeys --export-key <email>`"
)
EXPORT_HINT = f"export the recipient's public key with {EXPORT_COMMANDS}"
DAMAGED = f"the OpenPGP key data is truncated or damaged; {EXPORT_HINT} and paste it again"
PRIVATE_KEY_REFUSED = (
    "this is a PGP secret (private) key: never share it; give the recipient's PUBLIC key "
    f"instead, exported with {EXPORT_COMMANDS}"
)
# What sq and rnp users can do where gpg changes the key (gpg cannot import one without user id).
NEW_KEY = "make a new key (`sq key generate` or `rnpkeys --generate-key`)"


class PgpKeyError(ValueError):
    """The recipient key cannot be used; the message says what is wrong and what to do."""


def utc_date(timestamp: int) -> str:
    """A UTC date for messages."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
