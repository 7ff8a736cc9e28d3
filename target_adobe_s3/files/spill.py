"""Sorted runs of dedup entries on disk: length-prefixed blocks, optionally AES-256-GCM sealed.

A run file is a sequence of blocks, each `>I` length + body. A body is a concatenation of
entries (plain) or their AES-256-GCM ciphertext under a key that only lives in memory, with
a 96-bit counter nonce unique across the whole `SpillCipher`. The reader recomputes the
nonces and checks the block and entry counts kept in memory, so a truncated, reordered or
altered run is an error, never silently different output.

A body is a marker byte and one MessagePack array of entries. Marker 0: each entry as it
is held, `[key texts, [-time class, -time in ns, compare text, payload]]`, so a block is
encoded and decoded in one C call each (per-entry work in Python made spilling the dedup's
main cost); marker 1, for a block holding a time past MessagePack's 64-bit integers:
`[key texts, time class, seconds, nanoseconds, compare text, payload]` per entry.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import msgspec

from target_adobe_s3.errors import TargetError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
        # Imported here: cryptography adds ~7 MiB to the process, and only encrypted
        # spills need it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

        self._aead: AESGCM = AESGCM(AESGCM.generate_key(bit_length=256))  # os.urandom inside
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
        from cryptography.exceptions import InvalidTag  # noqa: PLC0415 (loaded with AESGCM)

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
    size: int = 0  # bytes in the file
    level: int = 0  # 0: spilled from memory; n + 1: merged from runs of level n

    def remove(self) -> None:
        """Delete the file (idempotent)."""
        self.path.unlink(missing_ok=True)


_Wire = tuple[Key, int, int, int, str, bytes]
_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[Entry]).decode
_DECODE_WIDE = msgspec.msgpack.Decoder(list[_Wire]).decode
_HELD, _WIDE = b"\x00", b"\x01"


def _wire(key: Key, pref: Pref) -> _Wire:
    neg_class, neg_ns, compare, payload = pref
    seconds, nanos = divmod(-neg_ns, _NS)
    return (key, -neg_class, seconds, nanos, compare, payload)


def encode_entries(entries: list[Entry]) -> bytes:
    """Serialize the entries of one block."""
    try:
        return _HELD + _ENCODE(entries)
    except OverflowError:  # a time past 64 bits (years beyond 1677-2262): the wide form
        return _WIDE + _ENCODE([_wire(key, pref) for key, pref in entries])


def decode_entries(block: bytes) -> list[Entry]:
    """Deserialize the entries of one block body."""
    with memoryview(block) as view:
        try:
            if view[:1] == _HELD:
                return _DECODE(view[1:])
            if view[:1] == _WIDE:
                return [
                    (key, (-time_class, -(seconds * _NS + nanos), compare, payload))
                    for key, time_class, seconds, nanos, compare, payload in _DECODE_WIDE(view[1:])
                ]
        except msgspec.DecodeError:
            pass
    raise SpillError("a spill block is not well formed")


def blocks_of(entries: list[Entry], count: int) -> Iterator[list[Entry]]:
    """The entries in blocks of `count` (at least one)."""
    count = max(count, 1)
    for start in range(0, len(entries), count):
        yield entries[start : start + count]


def write_run(
    directory: Path,
    blocks: Iterable[list[Entry]],
    cipher: SpillCipher | None,
    reuse: Path | None = None,
) -> Run:
    """Write blocks of entries (already sorted) to a run file; the file is removed on failure.

    The file is a new 0600 file in `directory`, or `reuse`: the file of a run that is no
    longer needed, overwritten and cut to its new length. Overwriting blocks a file system
    already holds costs a fraction of allocating new ones (a ninth, measured on ext4).
    """
    if reuse is None:
        fd, name = tempfile.mkstemp(prefix="dedup-", suffix=".run", dir=directory)
        path = Path(name)
    else:
        fd, path = os.open(reuse, os.O_WRONLY), reuse
    run = Run(path, [])
    try:
        with os.fdopen(fd, "wb") as handle:
            for block in blocks:
                if block:
                    _write_block(handle, run, encode_entries(block), cipher)
                    run.entries += len(block)
            handle.truncate()  # what was left of the file's earlier run
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
    run.size += _LEN.size + len(body)


def read_blocks(run: Run, handle: BinaryIO, cipher: SpillCipher | None) -> Iterator[list[Entry]]:
    """Stream the blocks of a run, one in memory at a time."""
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
        yield entries
    if seen != run.entries or handle.read(1):
        raise SpillError("a spill run does not hold what was written")
