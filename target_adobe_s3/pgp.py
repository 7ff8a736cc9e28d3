"""OpenPGP encryption to one recipient, streaming, on top of `cryptography`.

`load_recipient` parses a transferable public key (RFC 4880 11.1), verifies the
self-signatures binding its user id and subkeys, and chooses the encryption key as gpg does.
`EncryptingWriter` writes a binary OpenPGP message to a sink: a version 3 public-key encrypted
session key packet, then a version 1 symmetrically encrypted integrity protected data packet
(AES-256, OpenPGP CFB, MDC) around a binary literal data packet, both streamed with partial
body lengths so memory stays bounded by about one chunk.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import TracebackType
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from target_adobe_s3.pgp_packets import (
    ALGO_ECDH,
    ALGO_ELGAMAL,
    ALGO_ELGAMAL_OLD,
    ALGO_RSA,
    ALGO_RSA_E,
    EXPORT_HINT,
    FLAG_ENCRYPT,
    HASHES,
    PRIVATE_KEY_REFUSED,
    SIG_CERT_REVOCATION,
    SIG_CERTIFICATIONS,
    SIG_DIRECT_KEY,
    SIG_KEY_REVOCATION,
    SIG_SUBKEY_BINDING,
    SIG_SUBKEY_REVOCATION,
    TAG_LITERAL,
    TAG_PKESK,
    TAG_PUBLIC_KEY,
    TAG_PUBLIC_SUBKEY,
    TAG_SECRET_KEY,
    TAG_SECRET_SUBKEY,
    TAG_SEIPD,
    TAG_SIGNATURE,
    TAG_USER_ATTRIBUTE,
    TAG_USER_ID,
    KeyPacket,
    PgpKeyError,
    Signature,
    encode_length,
    encode_mpi,
    iter_packets,
    key_bytes,
    packet,
    parse_key,
    parse_signature,
    verify,
)

try:
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover (cryptography < 43)
    from cryptography.hazmat.primitives.ciphers.modes import CFB

__all__ = ["EncryptingWriter", "PgpKeyError", "Recipient", "load_recipient"]

SYM_AES256 = 9
_KEK_SIZES = {7: 16, 8: 24, 9: 32}  # AES-128/192/256 for the ECDH key wrap
_ANONYMOUS_SENDER = b"Anonymous Sender    "
_Emit = Callable[[bytes], object]


@dataclass(frozen=True)
class Recipient:
    """The key a file is encrypted to, with what logs show about it."""

    fingerprint: str
    key_id: str
    primary_fingerprint: str
    algorithm: str
    user_id: str
    _key: KeyPacket = field(repr=False, compare=False)


def load_recipient(text: str | bytes, now: datetime | None = None) -> Recipient:
    """Parse, verify and choose the encryption key. Raises PgpKeyError.

    Args:
        text: The public key: armored, Base64 of the armored block or of the binary key, or
            binary; whitespace and lost line breaks are tolerated.
        now: The time at which expiry is judged (default: now; naive means UTC).

    Returns:
        The recipient, ready for EncryptingWriter.
    """
    choice = choose_key(key_bytes(text), now)
    fingerprint = choice.key.fingerprint.hex().upper()
    return Recipient(
        fingerprint=fingerprint,
        key_id=fingerprint[-16:],
        primary_fingerprint=choice.primary.fingerprint.hex().upper(),
        algorithm=choice.key.name,
        user_id=choice.user_id,
        _key=choice.key,
    )


# --- choosing the key ------------------------------------------------------------------------


@dataclass
class _Component:
    """A user id, user attribute or subkey with the signatures that follow it."""

    tag: int
    body: bytes
    sigs: list[Signature] = field(default_factory=list)


@dataclass
class _Cert:
    """A transferable public key split into its components."""

    primary: KeyPacket
    direct: list[Signature]
    user_ids: list[_Component]
    subkeys: list[_Component]


@dataclass(frozen=True)
class Choice:
    """The key chosen for encryption, with what the logs show about its owner."""

    key: KeyPacket
    primary: KeyPacket
    user_id: str


def split_cert(data: bytes) -> _Cert:
    """Group the packets of one transferable public key; refuse secret keys and keyrings."""
    packets = list(iter_packets(data))
    tags = [tag for tag, _ in packets]
    if TAG_SECRET_KEY in tags or TAG_SECRET_SUBKEY in tags:
        raise PgpKeyError(PRIVATE_KEY_REFUSED)
    if not tags or tags[0] != TAG_PUBLIC_KEY:
        raise PgpKeyError(f"the data holds no OpenPGP public key; {EXPORT_HINT}")
    if tags.count(TAG_PUBLIC_KEY) > 1:
        count = tags.count(TAG_PUBLIC_KEY)
        raise PgpKeyError(
            f"the PGP public key setting holds {count} keys; give exactly one recipient key"
        )
    cert = _Cert(parse_key(packets[0][1]), [], [], [])
    current: _Component | None = None
    for tag, body in packets[1:]:
        if tag in (TAG_USER_ID, TAG_USER_ATTRIBUTE, TAG_PUBLIC_SUBKEY):
            current = _Component(tag, body)
            (cert.subkeys if tag == TAG_PUBLIC_SUBKEY else cert.user_ids).append(current)
        elif tag == TAG_SIGNATURE:
            sig = parse_signature(body)
            if sig is not None:
                (current.sigs if current else cert.direct).append(sig)
    return cert


def choose_key(data: bytes, now: datetime | None = None) -> Choice:
    """Verify the key's self-signatures and choose the encryption key, or raise PgpKeyError."""
    cert = split_cert(data)
    now = now or datetime.now(timezone.utc)
    when = int((now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp())
    primary = cert.primary
    label = f"key {primary.fingerprint.hex().upper()}"
    if any(_verified(s, primary, b"", SIG_KEY_REVOCATION) for s in cert.direct):
        raise PgpKeyError(f"{label} is revoked; ask the recipient for their current public key")
    uid, self_sig = _primary_user_id(cert, when)
    self_sig = _with_direct_key_sig(self_sig, cert, when)
    label = f"{label} ({uid})"
    _check_expiry(label, primary, self_sig, when)
    candidates: list[KeyPacket] = []
    problems: list[str] = []
    for subkey in cert.subkeys:
        key, problem = _check_subkey(primary, subkey, when)
        if key is not None:
            candidates.append(key)
        elif problem:
            problems.append(problem)
    if candidates:
        best = max(enumerate(candidates), key=lambda pair: (pair[1].created, pair[0]))[1]
        return Choice(best, primary, uid)
    if _can_encrypt(primary, self_sig.key_flags) and _encryptable(primary):
        return Choice(primary, primary, uid)
    raise PgpKeyError(_no_key_message(label, primary, self_sig, problems))


def _verified(sig: Signature, primary: KeyPacket, signed: bytes, *types: int) -> bool:
    """True if sig has one of the types and verifies by the primary over its key + signed."""
    return sig.sig_type in types and verify(sig, primary, primary.hash_prefix() + signed)


def _primary_user_id(cert: _Cert, now: int) -> tuple[str, Signature]:
    """The primary (else first) valid user id and its newest verified self-certification."""
    valid: list[tuple[str, Signature]] = []
    for component in cert.user_ids:
        if component.tag != TAG_USER_ID:
            continue
        signed = b"\xb4" + len(component.body).to_bytes(4, "big") + component.body
        certs = [
            s for s in component.sigs if _verified(s, cert.primary, signed, *SIG_CERTIFICATIONS)
        ]
        if not certs:
            continue
        newest = max(certs, key=lambda s: s.created)
        revoked = any(
            s.created >= newest.created and _verified(s, cert.primary, signed, SIG_CERT_REVOCATION)
            for s in component.sigs
        )
        if not revoked and not newest.expired(now):
            valid.append((component.body.decode("utf-8", "replace"), newest))
    if not valid:
        if not any(c.tag == TAG_USER_ID for c in cert.user_ids):
            raise PgpKeyError(
                "the PGP public key has no user id (key servers strip unverified ones); "
                f"{EXPORT_HINT} from the recipient's own keyring"
            )
        raise PgpKeyError(
            "the PGP public key's user id signature does not verify (the key was damaged or "
            f"tampered with, or its user ids are revoked or expired); {EXPORT_HINT} again"
        )
    flagged = [pair for pair in valid if pair[1].primary_uid]
    if flagged:
        return max(flagged, key=lambda pair: pair[1].created)
    return valid[0]


def _with_direct_key_sig(self_sig: Signature, cert: _Cert, now: int) -> Signature:
    """The user id self-signature, its missing key flags and expiry taken from a direct sig."""
    direct = [
        s
        for s in cert.direct
        if not s.expired(now) and _verified(s, cert.primary, b"", SIG_DIRECT_KEY)
    ]
    if not direct:
        return self_sig
    newest = max(direct, key=lambda s: s.created)
    return replace(
        self_sig,
        key_flags=newest.key_flags if self_sig.key_flags is None else self_sig.key_flags,
        key_expires=self_sig.key_expires or newest.key_expires,
    )


def _check_expiry(label: str, key: KeyPacket, sig: Signature, now: int) -> None:
    """Refuse a primary key whose self-signature says it has expired."""
    if sig.key_expires and now >= key.created + sig.key_expires:
        raise PgpKeyError(
            f"{label} expired on {_date(key.created + sig.key_expires)}; ask the recipient to "
            f"extend it (`gpg --quick-set-expire {key.fingerprint.hex().upper()} 1y`) and "
            "send the exported public key again"
        )


def _check_subkey(primary: KeyPacket, subkey: _Component, now: int) -> tuple[KeyPacket | None, str]:
    """(the subkey if usable for encryption, else None and why when it is an encryption key)."""
    try:
        key = parse_key(subkey.body)
    except PgpKeyError:
        return None, ""
    signed = key.hash_prefix()
    bindings = [s for s in subkey.sigs if _verified(s, primary, signed, SIG_SUBKEY_BINDING)]
    if not bindings:
        return None, "bad-binding" if _can_encrypt(key, None) else ""
    binding = max(bindings, key=lambda s: s.created)
    if not _can_encrypt(key, binding.key_flags):
        return None, ""
    if any(_verified(s, primary, signed, SIG_SUBKEY_REVOCATION) for s in subkey.sigs):
        return None, "revoked"
    if binding.expired(now) or (binding.key_expires and now >= key.created + binding.key_expires):
        return None, f"expired:{key.created + (binding.key_expires or 0)}"
    if key.algo in (ALGO_ELGAMAL, ALGO_ELGAMAL_OLD):
        return None, "elgamal"
    if not _encryptable(key):
        return None, f"unsupported:{key.name}"
    return key, ""


def _can_encrypt(key: KeyPacket, flags: int | None) -> bool:
    """True if key flags allow encryption, or without flags, if the algorithm encrypts."""
    if flags is not None:
        return bool(flags & FLAG_ENCRYPT)
    return key.algo in (ALGO_RSA, ALGO_RSA_E, ALGO_ECDH, ALGO_ELGAMAL, ALGO_ELGAMAL_OLD)


def _no_key_message(label: str, primary: KeyPacket, sig: Signature, problems: list[str]) -> str:
    """Why no key can be used, and what the recipient should do about it."""
    fpr = primary.fingerprint.hex().upper()
    add = f"`gpg --quick-add-key {fpr} cv25519 encr` (or rsa3072)"
    if "elgamal" in problems or primary.algo in (ALGO_ELGAMAL, ALGO_ELGAMAL_OLD):
        return (
            f"{label}: ElGamal encryption keys are not supported; add an RSA or Curve25519 "
            f"encryption subkey ({add}) and export the key again"
        )
    expired = [int(p.split(":")[1]) for p in problems if p.startswith("expired:")]
    if expired:
        return (
            f"{label}: its encryption subkey expired on {_date(max(expired))}; ask the "
            f"recipient to extend it (`gpg --quick-set-expire {fpr} 1y '*'`) or add a new one "
            f"({add}) and send the exported public key again"
        )
    if "revoked" in problems:
        return (
            f"{label}: its encryption subkeys are revoked; ask the recipient to add a new "
            f"one ({add}) and send the exported public key again"
        )
    if "bad-binding" in problems:
        return (
            f"{label}: the signature binding its encryption subkey does not verify (the key "
            f"was damaged or tampered with); {EXPORT_HINT} again"
        )
    unsupported = [p.split(":", 1)[1] for p in problems if p.startswith("unsupported:")]
    if unsupported or _can_encrypt(primary, sig.key_flags):
        name = unsupported[0] if unsupported else primary.name
        return (
            f"{label}: its encryption key uses {name}, which is not supported; add an RSA "
            f"or Curve25519 encryption subkey ({add}) and export the key again"
        )
    return (
        f"{label} has no encryption key (it can only sign or certify); ask the recipient to "
        f"add an encryption subkey ({add}) and export the key again"
    )


def _date(timestamp: int) -> str:
    """A UTC date for messages."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def _encryptable(key: KeyPacket) -> bool:
    """True if this module can wrap a session key to the key (RSA, or ECDH with known KDF)."""
    if isinstance(key.public, rsa.RSAPublicKey):
        return key.algo in (ALGO_RSA, ALGO_RSA_E)
    if isinstance(key.public, X25519PublicKey | ec.EllipticCurvePublicKey):
        kdf = key.kdf
        return len(kdf) == 3 and kdf[0] == 1 and kdf[1] in (8, 9, 10) and kdf[2] in _KEK_SIZES
    return False


# --- the session key -------------------------------------------------------------------------


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


# --- the encrypted stream --------------------------------------------------------------------


class _PartialBody:
    """Frame a packet body of unknown length in power-of-two partial chunks (RFC 4880 4.2.2.4).

    Buffers less than one chunk: a full chunk goes out as soon as more data follows it, so
    the last part, with a definite length, is never a needless empty one.
    """

    def __init__(self, tag: int, emit: _Emit, chunk_size: int) -> None:
        self._emit = emit
        self._chunk = chunk_size
        self._head = bytes([0xC0 | tag, 0xE0 | (chunk_size.bit_length() - 1)])
        self._ctb = self._head[:1]
        self._buffer = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add body bytes; large writes are framed straight from the caller's buffer."""
        buffer, chunk = self._buffer, self._chunk
        if len(buffer) + len(data) <= chunk:
            buffer += data
            return
        view = memoryview(data)
        fill = chunk - len(buffer)
        buffer += view[:fill]
        self._send(buffer)
        buffer.clear()
        view = view[fill:]
        while len(view) > chunk:
            self._send(view[:chunk])
            view = view[chunk:]
        buffer += view

    def _send(self, part: bytearray | memoryview) -> None:
        """Emit one partial chunk with its length octet (and the packet tag, first time)."""
        self._emit(self._head + part)
        self._head = self._head[-1:]

    def close(self) -> None:
        """Emit the rest with a definite length (zero is fine)."""
        head = self._ctb if len(self._head) == 2 else b""
        self._emit(head + encode_length(len(self._buffer)) + self._buffer)
        self._buffer = bytearray()


class EncryptingWriter(io.BufferedIOBase):
    """A binary file object that encrypts what is written to it into `sink`.

    Writes the session key packet at once; `close()` finishes the message and closes the
    sink. Leaving a `with` block by an exception, or `abort()`, closes the sink without
    finishing, so a failed export never looks like a complete encrypted file.
    """

    def __init__(
        self,
        sink: BinaryIO,
        recipient: Recipient,
        file_name: str,
        mtime: int = 0,
        chunk_size: int = 65536,
    ) -> None:
        super().__init__()
        if chunk_size < 512 or chunk_size > 1 << 30 or chunk_size & (chunk_size - 1):
            raise ValueError("chunk_size must be a power of two from 512 bytes to 1 GiB")
        if not 0 <= mtime < 1 << 32:
            raise ValueError("mtime must fit in 32 bits")
        self._sink = sink
        self._done = False
        session_key = os.urandom(32)
        sink.write(session_key_packet(recipient._key, session_key))
        cipher = Cipher(algorithms.AES(session_key), CFB(bytes(16)))
        self._encryptor = cipher.encryptor()
        self._mdc = hashlib.sha1()  # noqa: S324 (the MDC is SHA-1 by definition, RFC 4880 5.14)
        self._seipd = _PartialBody(TAG_SEIPD, sink.write, chunk_size)
        self._seipd.write(b"\x01")
        prefix = os.urandom(16)
        self._encrypt(prefix + prefix[-2:])
        self._literal = _PartialBody(TAG_LITERAL, self._encrypt, chunk_size)
        self._literal.write(literal_header(file_name, mtime))

    def _encrypt(self, plain: bytes | bytearray) -> None:
        """Hash and encrypt plaintext (OpenPGP CFB without resync is CFB with a zero IV)."""
        self._mdc.update(plain)
        self._seipd.write(self._encryptor.update(plain))

    def writable(self) -> bool:
        """Always True while open."""
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Encrypt data; returns its length in bytes."""
        if self._done:
            raise ValueError("write to closed EncryptingWriter")
        if type(data) is not bytes:
            data = memoryview(data)
            if data.format != "B" or data.ndim != 1:
                data = data.cast("B")
        self._literal.write(data)
        return len(data)

    def flush(self) -> None:
        """Flush the sink (partial chunks are held back: their lengths are powers of two)."""
        super().flush()
        if not self._done:
            self._sink.flush()

    def close(self) -> None:
        """Finish the literal data, the MDC and the last chunk; flush and close the sink."""
        if self.closed:
            return
        try:
            if not self._done:
                self._literal.close()
                self._mdc.update(b"\xd3\x14")
                tail = b"\xd3\x14" + self._mdc.digest()
                self._seipd.write(self._encryptor.update(tail) + self._encryptor.finalize())
                self._seipd.close()
                self._sink.flush()
        finally:
            self.abort()

    def abort(self) -> None:
        """Close the sink without finishing the message (it will not decrypt)."""
        if self.closed:
            return
        self._done = True
        try:
            self._sink.close()
        finally:
            super().close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # Never finish a message from garbage collection: only close() may.
        self._done = True


def literal_header(file_name: str, mtime: int) -> bytes:
    """The literal data packet's fields before the data: 'b', file name, date."""
    name = file_name.encode("utf-8")[:255].decode("utf-8", "ignore").encode("utf-8")
    return b"b" + bytes([len(name)]) + name + mtime.to_bytes(4, "big")
