"""OpenPGP wire format (RFC 4880, RFC 6637, RFC 9580): armor, packets, keys, signatures.

Reading side only as much as a public key needs; the writing helpers are the packet
headers the encrypting writer emits. Everything here is a small pure function.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

EXPORT_HINT = "export the recipient's public key with `gpg --armor --export <email>`"
DAMAGED = f"the OpenPGP key data is truncated or damaged; {EXPORT_HINT} and paste it again"
PRIVATE_KEY_REFUSED = (
    "this is a PGP secret (private) key: never share it; export the recipient's PUBLIC key "
    "with `gpg --armor --export <email>` instead"
)

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
# Hashed subpackets a self-signature may mark critical and still be understood here.
_KNOWN_SUBPACKETS = frozenset({2, 3, 4, 5, 6, 7, 9, 11, 12, 16, 21, 22, 23, 25, 27, 30, 33, 34})


class PgpKeyError(ValueError):
    """The recipient key cannot be used; the message says what is wrong and what to do."""


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


# --- input forms and armor -------------------------------------------------------------------

_BEGIN = re.compile(r"-----\s*BEGIN\s+([A-Z0-9 ,/]+?)\s*-----")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CRC24_INIT, _CRC24_POLY = 0xB704CE, 0x1864CFB


def _crc24_table() -> tuple[int, ...]:
    """The byte-at-a-time table of the CRC-24 polynomial."""
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ (_CRC24_POLY if crc & 0x800000 else 0)
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 6.1)."""
    crc, table = _CRC24_INIT, _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


def key_bytes(key: str | bytes) -> bytes:
    """Binary OpenPGP data from any accepted form: armored, Base64 (of either), or binary."""
    if isinstance(key, bytes):
        if key[:1] and key[0] & 0x80:
            return key
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise PgpKeyError(_not_a_key()) from None
    text = key.replace("\\r", "\n").replace("\\n", "\n").strip().strip("\"'").strip()
    if not text:
        raise PgpKeyError(f"the PGP public key is empty; {EXPORT_HINT} and paste the whole block")
    if ord(text[0]) >= 0x80 and max(map(ord, text)) < 0x100:
        return text.encode("latin-1")  # binary that went through a str
    if _BEGIN.search(text):
        return _dearmor(text)
    if text.startswith(("ssh-", "ecdsa-sha2-")):
        raise PgpKeyError(f"this is an SSH key, not an OpenPGP key; {EXPORT_HINT}")
    decoded = _b64decode("".join(text.split()))
    if decoded is None:
        raise PgpKeyError(_not_a_key())
    if decoded.lstrip().startswith(b"-----"):
        return _dearmor(decoded.decode("utf-8", "replace"))
    if first_tag(decoded) in (TAG_PUBLIC_KEY, TAG_SECRET_KEY):
        return decoded
    raise PgpKeyError(_not_a_key())


def first_tag(data: bytes) -> int | None:
    """The tag of the first packet, or None if data does not start with a packet header."""
    if not data or not data[0] & 0x80:
        return None
    return data[0] & 0x3F if data[0] & 0x40 else (data[0] >> 2) & 0x0F


def _not_a_key() -> str:
    """The message for text that is no key at all."""
    return (
        "the PGP public key is not an OpenPGP key (expected a block starting with "
        f"'-----BEGIN PGP PUBLIC KEY BLOCK-----', or its Base64); {EXPORT_HINT}"
    )


def _b64decode(text: str) -> bytes | None:
    """Strict Base64 (padding optional), or None."""
    if not text or not _B64.fullmatch(text):
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _dearmor(text: str) -> bytes:
    """The binary content of the first armored block, its CRC24 checked when present."""
    begin = _BEGIN.search(text)
    assert begin is not None
    label = " ".join(begin.group(1).split())
    _check_label(label)
    blocks = len(re.findall(r"BEGIN\s+PGP\s+PUBLIC\s+KEY\s+BLOCK", text))
    if blocks > 1:
        raise PgpKeyError(
            f"the PGP public key setting holds {blocks} keys; give exactly one recipient key"
        )
    end = re.compile(r"-----\s*END\s+" + r"\s+".join(label.split()) + r"\s*-----")
    end_match = end.search(text, begin.end())
    if end_match is None:
        raise PgpKeyError(
            "the armored PGP key has no '-----END PGP PUBLIC KEY BLOCK-----' line; "
            "paste the whole block"
        )
    inner = text[begin.end() : end_match.start()]
    checksum_failed = False
    for candidate in _armor_bodies(inner):
        data, crc = _split_crc(candidate)
        decoded = _b64decode(data)
        if decoded is None:
            continue
        if crc is not None:
            expected = _b64decode(crc)
            if expected is None or int.from_bytes(expected, "big") != crc24(decoded):
                checksum_failed = True
                continue
        elif not _parses(decoded):
            continue
        return decoded
    if checksum_failed:
        raise PgpKeyError(
            "the armored PGP key fails its checksum (it was changed or cut when copied); "
            f"{EXPORT_HINT} and paste it again"
        )
    raise PgpKeyError(DAMAGED)


def _check_label(label: str) -> None:
    """Refuse armored blocks that are not public keys, each with its own advice."""
    if label == "PGP PUBLIC KEY BLOCK":
        return
    if label == "PGP PRIVATE KEY BLOCK":
        raise PgpKeyError(PRIVATE_KEY_REFUSED)
    if label.startswith("PGP "):
        kind = label[4:].lower()
        raise PgpKeyError(f"this is a PGP {kind}, not a public key; {EXPORT_HINT}")
    raise PgpKeyError(
        "this is a PEM key, not an OpenPGP key; export the recipient's key with "
        "`gpg --armor --export <email>`"
    )


def _armor_bodies(inner: str) -> Iterator[str]:
    """Candidate Base64 bodies: by lines first, then (lost line breaks) past the headers."""
    lines = [line.strip() for line in inner.splitlines()]
    while lines and (not lines[0] or ":" in lines[0]):
        lines.pop(0)
    yield "".join("".join(lines).split())
    compact = "".join(inner.split())
    start = compact.rfind(":") + 1
    if start:
        for offset in range(start, min(len(compact), start + 1024)):
            yield compact[offset:]


def _split_crc(body: str) -> tuple[str, str | None]:
    """Split the trailing '=XXXX' checksum off an armor body."""
    if len(body) >= 5 and body[-5] == "=" and "=" not in body[-4:]:
        return body[:-5], body[-4:]
    return body, None


def _parses(data: bytes) -> bool:
    """True if data is a well-formed packet sequence starting with a key packet."""
    try:
        tags = [tag for tag, _ in iter_packets(data)]
    except PgpKeyError:
        return False
    return bool(tags) and tags[0] in (TAG_PUBLIC_KEY, TAG_SECRET_KEY)


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
        raise PgpKeyError("version 6 keys are not supported yet; export a version 4 key")
    if version != 4:
        raise PgpKeyError(
            f"version {version} OpenPGP keys are not supported; export a version 4 key "
            "(an RSA or Curve25519 key made by GnuPG 2.2)"
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


# --- signatures ------------------------------------------------------------------------------

SIG_CERTIFICATIONS = (0x10, 0x11, 0x12, 0x13)
SIG_SUBKEY_BINDING, SIG_DIRECT_KEY = 0x18, 0x1F
SIG_KEY_REVOCATION, SIG_SUBKEY_REVOCATION, SIG_CERT_REVOCATION = 0x20, 0x28, 0x30
FLAG_ENCRYPT = 0x04 | 0x08


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
