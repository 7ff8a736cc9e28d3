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

from target_adobe_s3.openpgp import PgpKeyError, load_recipient
from target_adobe_s3.openpgp.packets import encode_mpi, packet

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


# --- certificates without user ids (as `sq key generate` makes without --userid) -----------


def build_without_user_id(
    primary: rsa.RSAPrivateKey,
    direct_items: Subpackets | None = ((27, b"\x01"),),
    subkey: rsa.RSAPrivateKey | None = None,
    sub_items: Subpackets = ((27, b"\x0c"),),
    direct_signer: rsa.RSAPrivateKey | None = None,
) -> bytes:
    """A certificate of a primary key, [its direct-key signature], [a subkey + binding]."""
    body = key_body(primary)
    out = packet(6, body)
    if direct_items is not None:
        out += signature(direct_signer or primary, 0x1F, prefix(body), direct_items)
    if subkey is not None:
        sub = key_body(subkey, T0 + 10)
        out += packet(14, sub) + signature(primary, 0x18, prefix(body) + prefix(sub), sub_items)
    return out


def test_without_user_id_the_direct_key_signature_gives_the_flags(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    recipient = load_recipient(build_without_user_id(rsa_keys[0], subkey=rsa_keys[1]), NOW)
    assert recipient.fingerprint == fingerprint(key_body(rsa_keys[1], T0 + 10)).hex().upper()
    assert recipient.primary_fingerprint == fingerprint(key_body(rsa_keys[0])).hex().upper()
    assert recipient.user_id == ""
    encrypting_primary = build_without_user_id(rsa_keys[0], direct_items=[(27, b"\x0c")])
    assert load_recipient(encrypting_primary, NOW).fingerprint == recipient.primary_fingerprint
    with pytest.raises(PgpKeyError, match=r"\(no user id\) has no encryption key"):
        load_recipient(build_without_user_id(rsa_keys[0]), NOW)


def test_without_user_id_the_direct_key_signature_gives_the_expiry(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    key = build_without_user_id(
        rsa_keys[0],
        direct_items=[(27, b"\x01"), (9, (3600).to_bytes(4, "big"))],
        subkey=rsa_keys[1],
    )
    assert load_recipient(key, datetime.fromtimestamp(T0 + 60, timezone.utc))
    with pytest.raises(PgpKeyError) as info:
        load_recipient(key, NOW)
    fpr = fingerprint(key_body(rsa_keys[0])).hex().upper()
    assert str(info.value) == (
        f"key {fpr} (no user id) expired on 2023-11-14; ask the recipient to make a new key "
        "(`sq key generate` or `rnpkeys --generate-key`) and send the exported public key again"
    )


def test_without_user_id_the_binding_gives_the_subkey_expiry(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    key = build_without_user_id(
        rsa_keys[0], subkey=rsa_keys[1], sub_items=[(27, b"\x0c"), (9, (60).to_bytes(4, "big"))]
    )
    with pytest.raises(PgpKeyError, match="its encryption subkey expired on 2023-11-14") as info:
        load_recipient(key, NOW)
    assert "sq key generate" in str(info.value)
    assert "gpg --quick" not in str(info.value)  # gpg cannot import a key without user id


def test_without_user_id_an_expired_direct_key_signature_refused(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    key = build_without_user_id(
        rsa_keys[0], direct_items=[(27, b"\x01"), (3, (60).to_bytes(4, "big"))], subkey=rsa_keys[1]
    )
    with pytest.raises(PgpKeyError, match=r"expired on 2023-11-14 \(its direct-key signature"):
        load_recipient(key, NOW)


def test_without_user_id_or_direct_key_signature_refused(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    with pytest.raises(PgpKeyError) as info:
        load_recipient(build_without_user_id(rsa_keys[0], None, rsa_keys[1]), NOW)
    message = str(info.value)
    assert "has no user id and no direct-key signature" in message
    assert "`sq key extract-cert <key file>`" in message
    assert "`rnpkeys --export-key <email>`" in message


def test_without_user_id_a_direct_key_signature_by_another_key_refused(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    key = build_without_user_id(rsa_keys[0], subkey=rsa_keys[1], direct_signer=rsa_keys[1])
    with pytest.raises(
        PgpKeyError, match="no user id and its direct-key signature does not verify"
    ):
        load_recipient(key, NOW)


def test_with_user_id_a_direct_key_signature_alone_does_not_rescue_a_bad_one(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    """A user id whose certification fails is refused even when a direct-key sig verifies."""
    key = build(rsa_keys[0], uid_items=[(0x80 | 100, b"x")], direct_items=[(27, b"\x0c")])
    with pytest.raises(PgpKeyError, match="user id signature does not verify"):
        load_recipient(key, NOW)


def test_signing_subkey_with_critical_embedded_signature_is_no_tampering(
    rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    """sq marks a signing subkey's back-signature critical: a signing-only key, not a bad one."""
    key = build_without_user_id(
        rsa_keys[0], subkey=rsa_keys[1], sub_items=[(27, b"\x02"), (0x80 | 32, b"\x04")]
    )
    with pytest.raises(PgpKeyError, match=r"has no encryption key \(it can only sign"):
        load_recipient(key, NOW)
