"""OpenPGP packets (RFC 4880, RFC 6637): framing, MPIs, and public key packets.

The tag and algorithm tables every module of the library shares, packet headers read and
written, and version 4 key packets parsed into `cryptography` public keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from target_adobe_s3.openpgp.errors import DAMAGED, PgpKeyError

TAG_PKESK, TAG_SIGNATURE, TAG_SECRET_KEY, TAG_PUBLIC_KEY = 1, 2, 5, 6
TAG_SECRET_SUBKEY, TAG_LITERAL, TAG_USER_ID, TAG_PUBLIC_SUBKEY = 7, 11, 13, 14
TAG_USER_ATTRIBUTE, TAG_SEIPD, TAG_MDC = 17, 18, 19

ALGO_RSA, ALGO_RSA_E, ALGO_RSA_S, ALGO_ELGAMAL, ALGO_DSA = 1, 2, 3, 16, 17
ALGO_ECDH, ALGO_ECDSA, ALGO_ELGAMAL_OLD, ALGO_EDDSA = 18, 19, 20, 22
RSA_ALGOS = (ALGO_RSA, ALGO_RSA_E, ALGO_RSA_S)

OID_CV25519 = bytes.fromhex("2b060104019755010501")
OID_ED25519 = bytes.fromhex("2b06010401da470f01")
CURVES: dict[bytes, tuple[str, type[ec.EllipticCurve]]] = {
    bytes.fromhex("2a8648ce3d030107"): ("NIST P-256", ec.SECP256R1),
    bytes.fromhex("2b81040022"): ("NIST P-384", ec.SECP384R1),
    bytes.fromhex("2b81040023"): ("NIST P-521", ec.SECP521R1),
    bytes.fromhex("2b2403030208010107"): ("brainpoolP256r1", ec.BrainpoolP256R1),
    bytes.fromhex("2b240303020801010b"): ("brainpoolP384r1", ec.BrainpoolP384R1),
    bytes.fromhex("2b240303020801010d"): ("brainpoolP512r1", ec.BrainpoolP512R1),
}
HASHES: dict[int, tuple[str, type[hashes.HashAlgorithm]]] = {
    2: ("sha1", hashes.SHA1),
    8: ("sha256", hashes.SHA256),
    9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512),
    11: ("sha224", hashes.SHA224),
    12: ("sha3_256", hashes.SHA3_256),
    14: ("sha3_512", hashes.SHA3_512),
}


# --- reading -------------------------------------------------------------------------------


class Reader:
    """A cursor over bytes that raises PgpKeyError (damaged data) when it runs out."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        """The next n bytes."""
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise PgpKeyError(DAMAGED)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int) -> int:
        """The next n bytes as a big-endian unsigned integer."""
        return int.from_bytes(self.take(n), "big")

    def mpi(self) -> bytes:
        """The next multiprecision integer's magnitude bytes (RFC 4880 3.2)."""
        return self.take((self.uint(2) + 7) // 8)

    def done(self) -> bool:
        """True at the end of the data."""
        return self.pos >= len(self.data)


def iter_packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (tag, body) for each packet, old or new header format."""
    reader = Reader(data)
    while not reader.done():
        ctb = reader.uint(1)
        if not ctb & 0x80:
            raise PgpKeyError(DAMAGED)
        if ctb & 0x40:
            tag, length = ctb & 0x3F, _new_length(reader)
        else:
            tag, kind = (ctb >> 2) & 0x0F, ctb & 0x03
            length = len(data) - reader.pos if kind == 3 else reader.uint((1, 2, 4)[kind])
        yield tag, reader.take(length)


def _new_length(reader: Reader) -> int:
    """A new-format body length; partial lengths never occur in key material."""
    first = reader.uint(1)
    if first < 192:
        return first
    if first < 224:
        return ((first - 192) << 8) + reader.uint(1) + 192
    if first == 255:
        return reader.uint(4)
    raise PgpKeyError(DAMAGED)


def mpi_int(raw: bytes) -> int:
    """An MPI's value."""
    return int.from_bytes(raw, "big")


# --- writing -------------------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """A new-format definite body length (RFC 4880 4.2.2)."""
    if length < 192:
        return bytes([length])
    if length < 8384:
        length -= 192
        return bytes([(length >> 8) + 192, length & 0xFF])
    return b"\xff" + length.to_bytes(4, "big")


def packet(tag: int, body: bytes) -> bytes:
    """A whole packet with a new-format header."""
    return bytes([0xC0 | tag]) + encode_length(len(body)) + body


def encode_mpi(raw: bytes) -> bytes:
    """An MPI from big-endian magnitude bytes, leading zeros stripped."""
    raw = raw.lstrip(b"\x00")
    bits = (len(raw) - 1) * 8 + raw[0].bit_length() if raw else 0
    return bits.to_bytes(2, "big") + raw


# --- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPacket:
    """A version 4 public key or subkey packet, parsed."""

    body: bytes = field(repr=False)
    created: int
    algo: int
    name: str
    fingerprint: bytes
    public: object = field(repr=False, compare=False)  # cryptography key object, or None
    oid: bytes = b""
    point: bytes = field(default=b"", repr=False)
    kdf: bytes = b""  # ECDH KDF parameters as stored: 03 01 hash sym

    @property
    def key_id(self) -> bytes:
        """The last 8 bytes of the fingerprint."""
        return self.fingerprint[-8:]

    def hash_prefix(self) -> bytes:
        """The key as it enters fingerprints and signature hashes."""
        return hash_prefix(self.body)


def hash_prefix(body: bytes) -> bytes:
    """A v4 key packet body as hashed: 0x99, 2-byte length, body (RFC 4880 5.2.4, 12.2)."""
    return b"\x99" + len(body).to_bytes(2, "big") + body


def parse_key(body: bytes) -> KeyPacket:
    """Parse a public key or subkey packet body (v4 only)."""
    reader = Reader(body)
    version = reader.uint(1)
    if version == 6:
        raise PgpKeyError(
            "version 6 keys are not supported yet; export a version 4 key (what gpg, sq and "
            "rnp make by default)"
        )
    if version != 4:
        raise PgpKeyError(
            f"version {version} OpenPGP keys are not supported; export a version 4 key "
            "(an RSA or Curve25519 key made by gpg 2.2+, sq or rnp)"
        )
    created, algo = reader.uint(4), reader.uint(1)
    fingerprint = hashlib.sha1(hash_prefix(body)).digest()  # noqa: S324 (v4 fingerprint)
    name, public, extra = _key_material(algo, reader)
    return KeyPacket(body, created, algo, name, fingerprint, public, *extra)


def _key_material(algo: int, reader: Reader) -> tuple[str, object, tuple[bytes, bytes, bytes]]:
    """(display name, cryptography public key or None, (oid, point, kdf)) for an algorithm."""
    if algo in RSA_ALGOS:
        n, e = mpi_int(reader.mpi()), mpi_int(reader.mpi())
        public = _safe(lambda: rsa.RSAPublicNumbers(e, n).public_key())
        return f"RSA-{n.bit_length()}", public, _NO
    if algo in (ALGO_ELGAMAL, ALGO_ELGAMAL_OLD):
        p = mpi_int(reader.mpi())
        return f"ElGamal-{p.bit_length()}", None, _NO
    if algo == ALGO_DSA:
        p, q, g, y = (mpi_int(reader.mpi()) for _ in range(4))
        numbers = dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g))
        return f"DSA-{p.bit_length()}", _safe(numbers.public_key), _NO
    if algo in (ALGO_ECDH, ALGO_ECDSA, ALGO_EDDSA):
        oid = reader.take(reader.uint(1))
        point = reader.mpi()
        kdf = reader.take(reader.uint(1)) if algo == ALGO_ECDH else b""
        return (*_curve_key(algo, oid, point), (oid, point, kdf))
    return f"algorithm {algo}", None, _NO


_NO = (b"", b"", b"")


def _curve_key(algo: int, oid: bytes, point: bytes) -> tuple[str, object]:
    """Display name and public key object of an ECDH, ECDSA or EdDSA key."""
    kind = {ALGO_ECDH: "ECDH", ALGO_ECDSA: "ECDSA", ALGO_EDDSA: "EdDSA"}[algo]
    native = point[1:] if len(point) == 33 and point[0] == 0x40 else b""
    if oid == OID_CV25519 and algo == ALGO_ECDH:
        return f"{kind} Curve25519", _safe(lambda: X25519PublicKey.from_public_bytes(native))
    if oid == OID_ED25519 and algo == ALGO_EDDSA:
        return f"{kind} Ed25519", _safe(lambda: Ed25519PublicKey.from_public_bytes(native))
    if oid in CURVES and algo != ALGO_EDDSA:
        label, curve = CURVES[oid]
        build = lambda: ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)  # noqa: E731
        return f"{kind} {label}", _safe(build)
    return f"{kind} curve {oid.hex()}", None


def _safe(build: Callable[[], object]) -> object:
    """Call a key constructor; None when cryptography refuses the numbers."""
    try:
        return build()
    except (ValueError, UnsupportedAlgorithm):
        return None
