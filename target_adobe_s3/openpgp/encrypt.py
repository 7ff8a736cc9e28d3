"""OpenPGP encryption to one recipient, streaming, on top of `cryptography`.

`load_recipient` reads the recipient's public key in any accepted form and chooses the
encryption key as gpg does. `EncryptingWriter` writes a binary OpenPGP message to a sink: a
version 3 public-key encrypted session key packet, then a version 1 symmetrically encrypted
integrity protected data packet (AES-256, OpenPGP CFB, MDC) around a binary literal data
packet, both streamed with partial body lengths so memory stays bounded by about one chunk
(by under 1 KiB per packet with `eager`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from target_adobe_s3.openpgp.armor import key_bytes
from target_adobe_s3.openpgp.keys import choose_key
from target_adobe_s3.openpgp.packets import TAG_LITERAL, TAG_SEIPD, KeyPacket, encode_length
from target_adobe_s3.openpgp.session import session_key_packet

try:
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover (cryptography < 43)
    from cryptography.hazmat.primitives.ciphers.modes import CFB

_Emit = Callable[[bytes], object]
_log = logging.getLogger(__name__)


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
    """Parse, verify and choose the encryption key.

    Args:
        text: The public key: armored, Base64 of the armored block or of the binary key, or
            binary; whitespace and lost line breaks are tolerated.
        now: The time at which expiry is judged (default: now; naive means UTC).

    Returns:
        The recipient, ready for EncryptingWriter.

    Raises:
        PgpKeyError: the key cannot be used; the message says why and what to do.
    """
    choice = choose_key(key_bytes(text), now)
    fingerprint = choice.key.fingerprint.hex().upper()
    if "brainpool" in choice.key.name:
        _log.warning(brainpool_warning(fingerprint, choice.key.name))
    return Recipient(
        fingerprint=fingerprint,
        key_id=fingerprint[-16:],
        primary_fingerprint=choice.primary.fingerprint.hex().upper(),
        algorithm=choice.key.name,
        user_id=choice.user_id,
        _key=choice.key,
    )


def brainpool_warning(fingerprint: str, name: str) -> str:
    """The one line logged for a brainpool key, which sq's default backend cannot use."""
    curve = name.rsplit(maxsplit=1)[-1]
    return (
        f"pgp_public_key: key {fingerprint} uses {curve}, and Sequoia (sq) cannot decrypt "
        "brainpool keys (its usual Nettle backend lacks them); gpg and rnp can, but a "
        "recipient who decrypts with sq needs an RSA or Curve25519 key"
    )


class _PartialBody:
    """Frame a packet body of unknown length in power-of-two partial chunks (RFC 4880 4.2.2.4).

    Each partial length is a power of two from 512 octets to `chunk_size`; the last part has
    a definite length. By default full chunks only: less than one chunk is held, and a full
    one goes out as soon as more data follows it, so the last part is never a needless empty
    one. `eager` sends what each write brings at once, in parts of decreasing powers of two,
    holding back only the last 1 to 512 octets (all of them while there are no more).
    """

    def __init__(self, tag: int, emit: _Emit, chunk_size: int, eager: bool = False) -> None:
        self._emit = emit
        self._chunk = chunk_size
        self._eager = eager
        self._head = bytes([0xC0 | tag, 0xE0 | (chunk_size.bit_length() - 1)])
        self._ctb = self._head[:1]
        self._started = False
        self._buffer = bytearray()

    @property
    def held(self) -> int:
        """Octets held back, not yet emitted."""
        return len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Add body bytes; large writes are framed straight from the caller's buffer."""
        if self._eager:
            self._write_eager(data)
            return
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
        """Emit one full partial chunk with its length octet (and the packet tag, first time)."""
        self._emit(self._head + part)
        self._head = self._head[-1:]
        self._started = True

    def _write_eager(self, data: bytes | bytearray | memoryview) -> None:
        """Emit all but the last 1 to 512 octets held, in one call to `emit`."""
        held = len(self._buffer) + len(data)
        ready = held - (held % 512 or 512)
        if ready <= 0:
            self._buffer += data
            return
        pieces: list[bytes | memoryview] = [] if self._started else [self._ctb]
        with memoryview(b"".join((self._buffer, data))) as view:
            pos = 0
            while pos < ready:
                size = min(self._chunk, 1 << ((ready - pos).bit_length() - 1))
                pieces.append(bytes([0xE0 | (size.bit_length() - 1)]))
                pieces.append(view[pos : pos + size])
                pos += size
            frames = b"".join(pieces)
            pieces.clear()
            self._buffer = bytearray(view[ready:])  # a new one, as small as what it holds
        self._started = True
        self._emit(frames)

    def close(self) -> None:
        """Emit the rest with a definite length (zero is fine)."""
        head = b"" if self._started else self._ctb
        self._emit(head + encode_length(len(self._buffer)) + self._buffer)
        self._buffer = bytearray()


class EncryptingWriter(io.BufferedIOBase):
    """A binary file object that encrypts what is written to it into `sink`.

    Writes the session key packet at once; `close()` finishes the message and closes the
    sink. Leaving a `with` block by an exception, or `abort()`, closes the sink without
    finishing, so a failed export never looks like a complete encrypted file.

    By default each packet goes out in partial chunks of `chunk_size`, so up to a chunk of
    plaintext and one of ciphertext are held. With `eager`, each write is encrypted and
    passed to the sink (in one call) before `write` returns, but for under 1 KiB held back
    per packet: partial lengths are then powers of two from 512 octets to `chunk_size`, as
    the data allows. Many writers open at once then cost little memory each.
    """

    def __init__(
        self,
        sink: BinaryIO,
        recipient: Recipient,
        file_name: str,
        mtime: int = 0,
        chunk_size: int = 65536,
        *,
        eager: bool = False,
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
        self._seipd = _PartialBody(TAG_SEIPD, sink.write, chunk_size, eager)
        self._seipd.write(b"\x01")
        prefix = os.urandom(16)
        self._encrypt(prefix + prefix[-2:])
        self._literal = _PartialBody(TAG_LITERAL, self._encrypt, chunk_size, eager)
        self._literal.write(literal_header(file_name, mtime))

    def _encrypt(self, plain: bytes | bytearray) -> None:
        """Hash and encrypt plaintext (OpenPGP CFB without resync is CFB with a zero IV)."""
        self._mdc.update(plain)
        self._seipd.write(self._encryptor.update(plain))

    @property
    def buffered(self) -> int:
        """Bytes held in memory, not yet given to the sink (plaintext and ciphertext)."""
        return self._literal.held + self._seipd.held

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
