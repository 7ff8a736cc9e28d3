"""Version 4 signature packets: typed subpackets, and verification over key material."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from target_adobe_s3.openpgp.errors import DAMAGED, PgpKeyError
from target_adobe_s3.openpgp.packets import HASHES, KeyPacket, Reader, mpi_int

SIG_CERTIFICATIONS = (0x10, 0x11, 0x12, 0x13)
SIG_SUBKEY_BINDING, SIG_DIRECT_KEY = 0x18, 0x1F
SIG_KEY_REVOCATION, SIG_SUBKEY_REVOCATION, SIG_CERT_REVOCATION = 0x20, 0x28, 0x30
# Hashed subpackets a self-signature may mark critical and still be understood here. An
# embedded signature (32: sq marks its signing subkeys' back-signatures critical) only
# matters for signing, so it never changes which key encrypts.
_KNOWN_SUBPACKETS = frozenset({2, 3, 4, 5, 6, 7, 9, 11, 12, 16, 21, 22, 23, 25, 27, 30, 32, 33, 34})


@dataclass(frozen=True)
class Signature:
    """A version 4 signature packet, parsed; only hashed subpackets are trusted."""

    sig_type: int
    algo: int
    hash_algo: int
    hashed: bytes = field(repr=False)  # version through hashed subpackets, as hashed
    left16: bytes = field(repr=False)
    values: tuple[bytes, ...] = field(repr=False)
    created: int = 0
    expires: int | None = None  # seconds after `created`
    key_expires: int | None = None  # seconds after the key's creation
    key_flags: int | None = None
    primary_uid: bool = False
    issuers: frozenset[bytes] = frozenset()  # key ids, from either subpacket area
    understood: bool = True  # False with an unknown critical subpacket

    def expired(self, now: int) -> bool:
        """True if the signature itself has expired at `now`."""
        return bool(self.expires) and now >= self.created + (self.expires or 0)


def parse_signature(body: bytes) -> Signature | None:
    """Parse a signature packet body; None for versions other than 4 (never verified)."""
    reader = Reader(body)
    if reader.uint(1) != 4:
        return None
    sig_type, algo, hash_algo = reader.uint(1), reader.uint(1), reader.uint(1)
    hashed_area = reader.take(reader.uint(2))
    hashed = body[: reader.pos]
    unhashed_area = reader.take(reader.uint(2))
    left16 = reader.take(2)
    values = []
    while not reader.done():
        values.append(reader.mpi())
    info = _SubpacketInfo()
    for kind, data in _subpackets(hashed_area):
        info.apply(kind, data)
    for kind, data in _subpackets(unhashed_area):
        if kind & 0x7F in (16, 33):  # issuer ids only: nothing else unhashed is trusted
            info.apply(kind & 0x7F, data)
    return Signature(
        sig_type,
        algo,
        hash_algo,
        hashed,
        left16,
        tuple(values),
        created=info.created,
        expires=info.expires,
        key_expires=info.key_expires,
        key_flags=info.key_flags,
        primary_uid=info.primary_uid,
        issuers=frozenset(info.issuers),
        understood=info.understood,
    )


def _subpackets(area: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (type with critical bit, data) for each subpacket (RFC 4880 5.2.3.1)."""
    reader = Reader(area)
    while not reader.done():
        first = reader.uint(1)
        if first < 192:
            length = first
        elif first < 255:
            length = ((first - 192) << 8) + reader.uint(1) + 192
        else:
            length = reader.uint(4)
        content = reader.take(length)
        if not content:
            raise PgpKeyError(DAMAGED)
        yield content[0], content[1:]


@dataclass
class _SubpacketInfo:
    """What the subpackets of one signature say, gathered while reading them."""

    created: int = 0
    expires: int | None = None
    key_expires: int | None = None
    key_flags: int | None = None
    primary_uid: bool = False
    understood: bool = True
    issuers: set[bytes] = field(default_factory=set)

    def apply(self, kind: int, data: bytes) -> None:
        """Record one subpacket (type byte with its critical bit, data)."""
        critical, kind = bool(kind & 0x80), kind & 0x7F
        value = int.from_bytes(data[:4], "big")
        if kind == 2:
            self.created = value
        elif kind == 3:
            self.expires = value
        elif kind == 9:
            self.key_expires = value
        elif kind == 27:
            self.key_flags = data[0] if data else 0
        elif kind == 25:
            self.primary_uid = data[:1] != b"\x00"
        elif kind == 16:
            self.issuers.add(data[:8])
        elif kind == 33 and data[:1] == b"\x04":
            self.issuers.add(data[-8:])
        if critical and kind not in _KNOWN_SUBPACKETS:
            self.understood = False


def verify(sig: Signature, key: KeyPacket, signed: bytes) -> bool:
    """True if `sig` over `signed` (the hashed key/user id material) verifies with `key`."""
    if not sig.understood or sig.algo != key.algo or sig.hash_algo not in HASHES:
        return False
    if sig.issuers and key.key_id not in sig.issuers:
        return False
    name, algorithm = HASHES[sig.hash_algo]
    digest = hashlib.new(name, signed + sig.hashed)
    digest.update(b"\x04\xff" + len(sig.hashed).to_bytes(4, "big"))
    value = digest.digest()
    if value[:2] != sig.left16:
        return False
    try:
        _verify_value(sig, key, value, algorithm())
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm, IndexError):
        return False
    return True


def _verify_value(
    sig: Signature, key: KeyPacket, digest: bytes, hash_: hashes.HashAlgorithm
) -> None:
    """Check the signature values over the digest; raises InvalidSignature when wrong."""
    public, prehashed = key.public, utils.Prehashed(hash_)
    if isinstance(public, rsa.RSAPublicKey):
        size = (public.key_size + 7) // 8
        public.verify(sig.values[0].rjust(size, b"\x00"), digest, padding.PKCS1v15(), prehashed)
    elif isinstance(public, Ed25519PublicKey):
        r, s = (value.rjust(32, b"\x00") for value in sig.values[:2])
        public.verify(r + s, digest)
    elif isinstance(public, ec.EllipticCurvePublicKey | dsa.DSAPublicKey):
        der = utils.encode_dss_signature(mpi_int(sig.values[0]), mpi_int(sig.values[1]))
        if isinstance(public, dsa.DSAPublicKey):
            public.verify(der, digest, prehashed)
        else:
            public.verify(der, digest, ec.ECDSA(prehashed))
    else:
        raise InvalidSignature
