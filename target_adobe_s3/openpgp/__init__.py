"""OpenPGP: encrypt files to a recipient's public key (RFC 9580 / RFC 4880 subset)."""
