"""OpenPGP: encrypt files to a recipient's public key (RFC 9580 / RFC 4880 subset).

A small library on top of `cryptography` that imports nothing else of the package; the rest
of the package uses only what this module exports. Its layers, lowest first:

- `errors`: `PgpKeyError` (a ValueError) and the message texts the modules share;
- `packets`: packet framing, MPIs, tag and algorithm tables, version 4 key packets;
- `armor`: the key's input forms (armor and its CRC-24, Base64, binary) to packets;
- `signatures`: signature packets, their subpackets, verification;
- `session`: the AES-256 session key wrapped to the recipient (RSA, ECDH);
- `certificate`: a transferable public key grouped, its self-signatures verified;
- `keys`: the encryption key chosen as gpg does, or why none can be used;
- `encrypt`: `load_recipient`, `Recipient` and the streaming `EncryptingWriter`.
"""

from target_adobe_s3.openpgp.encrypt import EncryptingWriter, Recipient, load_recipient
from target_adobe_s3.openpgp.errors import PgpKeyError

__all__ = ["EncryptingWriter", "PgpKeyError", "Recipient", "load_recipient"]
