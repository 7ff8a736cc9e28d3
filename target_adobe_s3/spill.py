"""Sorted runs of dedup entries on disk: length-prefixed blocks, optionally AES-256-GCM sealed.

A run file is a sequence of blocks, each `>I` length + body. A body is a concatenation of
entries (plain) or their AES-256-GCM ciphertext under a key that only lives in memory, with
a 96-bit counter nonce unique across the whole `SpillCipher`. The reader recomputes the
nonces and checks the block and entry counts kept in memory, so a truncated, reordered or
altered run is an error, never silently different output.

One entry: `>BqIHH` (time class, seconds, nanoseconds, key count, compare count), then
every key text, every compare text and the payload, each as `>I` length + bytes (texts in
UTF-8, lone surrogates kept).
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from target_adobe_s3.errors import TargetError

Key = tuple[str, ...]
# What decides between rows of one key, smallest first: (-time class, -time in ns, compare
# texts, payload). Ordering these tuples is the whole dedup rule.
Pref = tuple[int, int, tuple[str, ...], bytes]
Entry = tuple[Key, Pref]

_HEAD = struct.Struct(">BqIHH")
_LEN = struct.Struct(">I")
_NS = 1_000_000_000


class SpillError(TargetError):
    """A spill run could not be read back as written (truncated or altered on disk)."""


class SpillCipher:
    """AES-256-GCM with a random key held only in memory and a counter nonce."""

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))  # os.urandom inside
        self._counter = 0

    def reserve(self) -> int:
        """The next unused nonce counter (each sealed block uses one)."""
        self._counter += 1
        return self._counter

    def seal(self, counter: int, data: bytes) -> bytes:
        """Encrypt and authenticate one block."""
        return self._aead.encrypt(counter.to_bytes(12, "big"), data, None)

    def open(self, counter: int, data: bytes) -> bytes:
        """Decrypt one block; raises `SpillError` when it is not what was sealed."""
        try:
            return self._aead.decrypt(counter.to_bytes(12, "big"), data, None)
        except InvalidTag:
            raise SpillError("a spill block failed authentication") from None


@dataclass
class Run:
    """One sorted run file and what the reader must find in it."""

    path: Path
    nonces: list[int]
    entries: int = 0

    def remove(self) -> None:
        """Delete the file (idempotent)."""
        self.path.unlink(missing_ok=True)


def _text(value: str) -> bytes:
    data = value.encode("utf-8", "surrogatepass")
    return _LEN.pack(len(data)) + data


def encode_entry(key: Key, pref: Pref) -> bytes:
    """Serialize one entry."""
    neg_class, neg_ns, compare, payload = pref
    seconds, nanos = divmod(-neg_ns, _NS)
    parts = [_HEAD.pack(-neg_class, seconds, nanos, len(key), len(compare))]
    parts.extend(_text(value) for value in key)
    parts.extend(_text(value) for value in compare)
    parts.append(_LEN.pack(len(payload)))
    parts.append(payload)
    return b"".join(parts)


def decode_entries(block: bytes) -> list[Entry]:
    """Deserialize the entries of one block body."""
    out: list[Entry] = []
    view = memoryview(block)
    pos = 0

    def field() -> bytes:
        nonlocal pos
        (size,) = _LEN.unpack_from(view, pos)
        pos += _LEN.size + size
        if pos > len(view):
            raise SpillError("a spill block ends inside an entry")
        return bytes(view[pos - size : pos])

    while pos < len(view):
        time_class, seconds, nanos, n_key, n_compare = _HEAD.unpack_from(view, pos)
        pos += _HEAD.size
        key = tuple(field().decode("utf-8", "surrogatepass") for _ in range(n_key))
        compare = tuple(field().decode("utf-8", "surrogatepass") for _ in range(n_compare))
        payload = field()
        out.append((key, (-time_class, -(seconds * _NS + nanos), compare, payload)))
    return out


def write_run(
    directory: Path, entries: Iterable[Entry], cipher: SpillCipher | None, block_bytes: int
) -> Run:
    """Write entries (already sorted) to a new 0600 file; the file is removed on failure."""
    fd, name = tempfile.mkstemp(prefix="dedup-", suffix=".run", dir=directory)
    run = Run(Path(name), [])
    try:
        with os.fdopen(fd, "wb") as handle:
            block: list[bytes] = []
            size = 0
            for key, pref in entries:
                data = encode_entry(key, pref)
                block.append(data)
                size += len(data)
                run.entries += 1
                if size >= block_bytes:
                    _write_block(handle, run, b"".join(block), cipher)
                    block, size = [], 0
            if block:
                _write_block(handle, run, b"".join(block), cipher)
    except BaseException:
        run.remove()
        raise
    return run


def _write_block(handle: BinaryIO, run: Run, body: bytes, cipher: SpillCipher | None) -> None:
    counter = 0
    if cipher is not None:
        counter = cipher.reserve()
        body = cipher.seal(counter, body)
    handle.write(_LEN.pack(len(body)))
    handle.write(body)
    run.nonces.append(counter)


def read_run(run: Run, handle: BinaryIO, cipher: SpillCipher | None) -> Iterator[Entry]:
    """Stream the entries of a run, one block in memory at a time."""
    seen = 0
    for counter in run.nonces:
        head = handle.read(_LEN.size)
        if len(head) != _LEN.size:
            raise SpillError("a spill run is shorter than written")
        (size,) = _LEN.unpack(head)
        body = handle.read(size)
        if len(body) != size:
            raise SpillError("a spill run is shorter than written")
        if cipher is not None:
            body = cipher.open(counter, body)
        try:
            entries = decode_entries(body)
        except (struct.error, UnicodeDecodeError):
            raise SpillError("a spill block is not well formed") from None
        seen += len(entries)
        yield from entries
    if seen != run.entries or handle.read(1):
        raise SpillError("a spill run does not hold what was written")
