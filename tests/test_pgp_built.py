"""Keys built here with `cryptography`, for the cases gpg 2.2 will not make on request.

An RSA primary signs its own user id and subkey bindings (RFC 4880 5.2.4), so the subpackets
can be chosen freely: no key flags, a direct-key signature, an unknown critical subpacket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from target_adobe_s3.pgp import PgpKeyError, load_recipient
from target_adobe_s3.pgp_packets import encode_mpi, packet

T0 = 1_700_000_000
NOW = datetime.fromtimestamp(T0 + 86400, timezone.utc)
Subpackets = Sequence[tuple[int, bytes]]


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(65537, 2048) for _ in range(2)]


def key_body(key: rsa.RSAPrivateKey, created: int = T0) -> bytes:
    numbers = key.public_key().public_numbers()
    mpis = encode_mpi(numbers.n.to_bytes(256, "big")) + encode_mpi(numbers.e.to_bytes(3, "big"))
    return b"\x04" + created.to_bytes(4, "big") + b"\x01" + mpis


def subpackets(items: Subpackets) -> bytes:
    return b"".join(bytes([len(data) + 1, kind]) + data for kind, data in items)


def signature(signer: rsa.RSAPrivateKey, sig_type: int, signed: bytes, items: Subpackets) -> bytes:
    """A v4 RSA/SHA-256 signature packet over the hashed material `signed`."""
    area = subpackets([(2, T0.to_bytes(4, "big")), *items])
    hashed = bytes([4, sig_type, 1, 8]) + len(area).to_bytes(2, "big") + area
    digest = hashlib.sha256(signed + hashed + b"\x04\xff" + len(hashed).to_bytes(4, "big"))
    value = signer.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    issuer = subpackets([(16, fingerprint(key_body(signer))[-8:])])
    body = hashed + len(issuer).to_bytes(2, "big") + issuer + digest.digest()[:2]
    return packet(2, body + encode_mpi(value))


def fingerprint(body: bytes) -> bytes:
    return hashlib.sha1(prefix(body)).digest()


def prefix(body: bytes) -> bytes:
    return b"\x99" + len(body).to_bytes(2, "big") + body


def build(
    primary: rsa.RSAPrivateKey,
    uid_items: Subpackets = (),
    direct_items: Subpackets | None = None,
    subkey: rsa.RSAPrivateKey | None = None,
    sub_items: Subpackets = ((27, b"\x0c"),),
) -> bytes:
    """A transferable public key: primary, [direct sig], user id + cert, [subkey + binding]."""
    body = key_body(primary)
    uid = b"Built <built@example.com>"
    out = packet(6, body)
    if direct_items is not None:
        out += signature(primary, 0x1F, prefix(body), direct_items)
    uid_signed = prefix(body) + b"\xb4" + len(uid).to_bytes(4, "big") + uid
    out += packet(13, uid) + signature(primary, 0x13, uid_signed, uid_items)
    if subkey is not None:
        sub = key_body(subkey, T0 + 10)
        out += packet(14, sub) + signature(primary, 0x18, prefix(body) + prefix(sub), sub_items)
    return out


def test_primary_without_key_flags_encrypts_by_its_algorithm(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    recipient = load_recipient(build(rsa_keys[0]), NOW)
    assert recipient.fingerprint == fingerprint(key_body(rsa_keys[0])).hex().upper()
    assert recipient.algorithm == "RSA-2048"
    assert recipient.user_id == "Built <built@example.com>"


def test_primary_flags_sign_only_refused(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    with pytest.raises(PgpKeyError, match="has no encryption key"):
        load_recipient(build(rsa_keys[0], uid_items=[(27, b"\x03")]), NOW)


def test_subkey_chosen_over_encrypting_primary(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    recipient = load_recipient(build(rsa_keys[0], subkey=rsa_keys[1]), NOW)
    assert recipient.fingerprint == fingerprint(key_body(rsa_keys[1], T0 + 10)).hex().upper()


def test_subkey_flagged_for_signing_is_not_used(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    key = build(
        rsa_keys[0], uid_items=[(27, b"\x03")], subkey=rsa_keys[1], sub_items=[(27, b"\x02")]
    )
    with pytest.raises(PgpKeyError, match="has no encryption key"):
        load_recipient(key, NOW)


def test_direct_key_signature_flags_and_expiry(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    signing_only = build(rsa_keys[0], direct_items=[(27, b"\x03")])
    with pytest.raises(PgpKeyError, match="has no encryption key"):
        load_recipient(signing_only, NOW)
    expiring = build(rsa_keys[0], direct_items=[(9, (3600).to_bytes(4, "big"))])
    with pytest.raises(PgpKeyError, match="expired on 2023-11-14"):
        load_recipient(expiring, NOW)
    assert load_recipient(expiring, datetime.fromtimestamp(T0 + 60, timezone.utc))


def test_unknown_critical_subpacket_invalidates_the_signature(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    with pytest.raises(PgpKeyError, match="user id signature does not verify"):
        load_recipient(build(rsa_keys[0], uid_items=[(0x80 | 100, b"x")]), NOW)
    assert load_recipient(build(rsa_keys[0], uid_items=[(100, b"x")]), NOW)


def test_expired_user_id_signature_refused(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    key = build(rsa_keys[0], uid_items=[(3, (60).to_bytes(4, "big"))])
    with pytest.raises(PgpKeyError, match="user id signature does not verify"):
        load_recipient(key, NOW)


def test_signature_by_another_key_refused(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    """A binding made by someone else's key does not bind the subkey."""
    body, sub = key_body(rsa_keys[0]), key_body(rsa_keys[1], T0 + 10)
    uid = b"Built <built@example.com>"
    uid_signed = prefix(body) + b"\xb4" + len(uid).to_bytes(4, "big") + uid
    key = (
        packet(6, body)
        + packet(13, uid)
        + signature(rsa_keys[0], 0x13, uid_signed, [(27, b"\x03")])
        + packet(14, sub)
        + signature(rsa_keys[1], 0x18, prefix(body) + prefix(sub), [(27, b"\x0c")])
    )
    with pytest.raises(PgpKeyError, match="binding its encryption subkey does not verify"):
        load_recipient(key, NOW)


def test_user_attribute_and_trust_packets_are_skipped(rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    key = build(rsa_keys[0]) + packet(17, b"\x05\x01junk") + packet(12, b"\x00\x00")
    assert load_recipient(key, NOW).algorithm == "RSA-2048"
