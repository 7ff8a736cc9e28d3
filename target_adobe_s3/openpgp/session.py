"""Wrapping the AES-256 session key to the recipient: RSA PKCS#1 v1.5, or ECDH (RFC 6637)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from target_adobe_s3.openpgp.errors import PgpKeyError
from target_adobe_s3.openpgp.packets import (
    ALGO_ECDH,
    ALGO_RSA,
    ALGO_RSA_E,
    HASHES,
    TAG_PKESK,
    KeyPacket,
    encode_mpi,
    packet,
)

SYM_AES256 = 9
_KEK_SIZES = {7: 16, 8: 24, 9: 32}  # AES-128/192/256 for the ECDH key wrap
_ANONYMOUS_SENDER = b"Anonymous Sender    "


def can_wrap(key: KeyPacket) -> bool:
    """True if this module can wrap a session key to the key (RSA, or ECDH with known KDF)."""
    if isinstance(key.public, rsa.RSAPublicKey):
        return key.algo in (ALGO_RSA, ALGO_RSA_E)
    if isinstance(key.public, X25519PublicKey | ec.EllipticCurvePublicKey):
        kdf = key.kdf
        return len(kdf) == 3 and kdf[0] == 1 and kdf[1] in (8, 9, 10) and kdf[2] in _KEK_SIZES
    return False


def session_key_packet(key: KeyPacket, session_key: bytes) -> bytes:
    """A version 3 public-key encrypted session key packet for an AES-256 session key."""
    checksum = (sum(session_key) & 0xFFFF).to_bytes(2, "big")
    block = bytes([SYM_AES256]) + session_key + checksum
    body = b"\x03" + key.key_id + bytes([key.algo])
    if isinstance(key.public, rsa.RSAPublicKey):
        body += encode_mpi(key.public.encrypt(block, padding.PKCS1v15()))
    else:
        body += _ecdh_wrap(key, block)
    return packet(TAG_PKESK, body)


def _ecdh_wrap(key: KeyPacket, block: bytes) -> bytes:
    """The ECDH fields: ephemeral point MPI, then the AES-wrapped session key (RFC 6637 8)."""
    public = key.public
    if isinstance(public, X25519PublicKey):
        ephemeral = X25519PrivateKey.generate()
        shared = ephemeral.exchange(public)
        point = b"\x40" + ephemeral.public_key().public_bytes_raw()
    elif isinstance(public, ec.EllipticCurvePublicKey):
        nist = ec.generate_private_key(public.curve)
        shared = nist.exchange(ec.ECDH(), public)
        point = nist.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    else:  # pragma: no cover (load_recipient only chooses RSA or ECDH keys)
        raise PgpKeyError(f"cannot encrypt to a {key.name} key")
    pad = 8 - len(block) % 8
    wrapped = aes_key_wrap(ecdh_kek(key, shared), block + bytes([pad]) * pad)
    return encode_mpi(point) + bytes([len(wrapped)]) + wrapped


def ecdh_kek(key: KeyPacket, shared: bytes) -> bytes:
    """The key-encryption key from the shared secret (RFC 6637 7, one KDF round)."""
    oid, kdf = key.oid, key.kdf
    param = bytes([len(oid)]) + oid + bytes([ALGO_ECDH, len(kdf)]) + kdf
    param += _ANONYMOUS_SENDER + key.fingerprint
    digest = hashlib.new(HASHES[kdf[1]][0], b"\x00\x00\x00\x01" + shared + param).digest()
    return digest[: _KEK_SIZES[kdf[2]]]
