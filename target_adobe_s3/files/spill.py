"""Sorted runs of dedup entries on disk: length-prefixed blocks, optionally AES-256-GCM sealed.

A run file is a sequence of blocks, each `>I` length + body. A body is a concatenation of
entries (plain) or their AES-256-GCM ciphertext under a key that only lives in memory, with
a 96-bit counter nonce unique across the whole `SpillCipher`. The reader recomputes the
nonces and checks the block and entry counts kept in memory, so a truncated, reordered or
altered run is an error, never silently different output.

A body is one MessagePack array of entries, each `[key texts, time class, seconds,
nanoseconds, compare text, payload]` (encoded and decoded in C: per-field packing in
Python made spilling the dedup's main cost).
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from target_adobe_s3.errors import TargetError

Key = tuple[str, ...]
# What decides between rows of one key, smallest first: (-time class, -time in ns, compare
# texts as one str that orders as their tuple, payload). Ordering these is the dedup rule.
Pref = tuple[int, int, str, bytes]
Entry = tuple[Key, Pref]

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
    level: int = 0  # 0: spilled from memory; n + 1: merged from runs of level n

    def remove(self) -> None:
        """Delete the file (idempotent)."""
        self.path.unlink(missing_ok=True)


_Wire = tuple[Key, int, int, int, str, bytes]
_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[_Wire]).decode


def _wire(key: Key, pref: Pref) -> _Wire:
    neg_class, neg_ns, compare, payload = pref
    seconds, nanos = divmod(-neg_ns, _NS)
    return (key, -neg_class, seconds, nanos, compare, payload)


def encode_entries(entries: list[Entry]) -> bytes:
    """Serialize the entries of one block."""
    return _ENCODE([_wire(key, pref) for key, pref in entries])


def decode_entries(block: bytes) -> list[Entry]:
    """Deserialize the entries of one block body."""
    try:
        wire = _DECODE(block)
    except msgspec.DecodeError:
        raise SpillError("a spill block is not well formed") from None
    return [
        (key, (-time_class, -(seconds * _NS + nanos), compare, payload))
        for key, time_class, seconds, nanos, compare, payload in wire
    ]


def write_run(
    directory: Path, entries: Iterable[Entry], cipher: SpillCipher | None, block_bytes: int
) -> Run:
    """Write entries (already sorted) to a new 0600 file; the file is removed on failure."""
    fd, name = tempfile.mkstemp(prefix="dedup-", suffix=".run", dir=directory)
    run = Run(Path(name), [])
    try:
        with os.fdopen(fd, "wb") as handle:
            block: list[Entry] = []
            size = 0
            for entry in entries:
                block.append(entry)
                size += 2 * len(entry[1][3]) + 64  # payload, about as much compare text
                run.entries += 1
                if size >= block_bytes:
                    _write_block(handle, run, encode_entries(block), cipher)
                    block, size = [], 0
            if block:
                _write_block(handle, run, encode_entries(block), cipher)
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
        entries = decode_entries(body)
        seen += len(entries)
        yield from entries
    if seen != run.entries or handle.read(1):
        raise SpillError("a spill run does not hold what was written")
