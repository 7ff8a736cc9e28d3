"""Per-segment temp files: private directory, 0600 files, removed when done.

Rows go through an output stack before they reach the disk:
row bytes ─► [gzip] ─► [OpenPGP] ─► digest (size, SHA-256) ─► buffered file.
With encryption on, only ciphertext is ever written to the file.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from target_adobe_s3.errors import TargetError

if TYPE_CHECKING:
    from target_adobe_s3.pgp import Recipient

_BUFFER = 64 * 1024


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one: one file per segment is open.

    Returns:
        The soft limit now in force (0 where the platform has no such limit).
    """
    try:
        import resource  # noqa: PLC0415 (POSIX only)
    except ImportError:  # pragma: no cover
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


class _Digest:
    """The bottom of the stack: counts and hashes the bytes that reach the file."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: Any) -> int:
        self._file.write(data)
        self.sha256.update(data)
        size = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        self.size += size
        return size

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed


@dataclass(frozen=True)
class Encoding:
    """How spooled bytes are stored: gzip, then OpenPGP, each optional."""

    compression: str = "none"
    recipient: Recipient | None = None

    def open(self, file: BinaryIO, literal_name: str) -> tuple[Any, list[Any], _Digest]:
        """Build the stack over `file`; returns (top, layers top-down, digest)."""
        digest = _Digest(file)
        layers: list[Any] = [digest]
        if self.recipient is not None:
            from target_adobe_s3.pgp import EncryptingWriter  # noqa: PLC0415 (only when set)

            layers.insert(0, EncryptingWriter(digest, self.recipient, literal_name))  # type: ignore[arg-type]
        if self.compression == "gzip":
            layers.insert(0, gzip.GzipFile(fileobj=layers[0], mode="wb", mtime=0, compresslevel=6))
        return layers[0], layers, digest


@dataclass
class Part:
    """One spooled file of one segment, open for appending rows."""

    segment_id: str
    segment_name: str
    stream_name: str
    header: tuple[str, ...]
    path: Path
    number: int = 1
    rows: int = 0
    size: int = 0
    sha256: str = ""
    _top: Any = field(default=None, repr=False)
    _layers: list[Any] = field(default_factory=list, repr=False)
    _digest: _Digest | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        """Whether rows can still be appended."""
        return self._top is not None

    def write(self, data: bytes, rows: int = 0) -> None:
        """Append bytes to the part; `rows` counts the data rows among them."""
        assert self._top is not None, "part is closed"
        self._top.write(data)
        self.rows += rows

    def close(self) -> None:
        """Finish every layer (gzip trailer, OpenPGP MDC); the part is then ready to upload."""
        if self._top is None:
            return
        self._top = None
        for layer in self._layers:
            layer.close()
        assert self._digest is not None
        self.size = self._digest.size
        self.sha256 = self._digest.sha256.hexdigest()

    def discard(self) -> None:
        """Close the file without finishing it (the part is being thrown away)."""
        self._top = None
        for layer in self._layers:
            with contextlib.suppress(Exception):
                getattr(layer, "abort", layer.close)()  # an OpenPGP stream is never finished


class Spool:
    """All parts of a run, in a private directory (0700) that `remove` deletes."""

    def __init__(self, parent: str | None = None, encoding: Encoding | None = None) -> None:
        raise_open_file_limit()
        self.directory = Path(tempfile.mkdtemp(prefix="target-adobe-s3-", dir=parent))
        os.chmod(self.directory, 0o700)
        # Removed even when the owner forgets (e.g. an embedding program that never
        # reaches end of input): at garbage collection or interpreter exit.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.encoding = encoding or Encoding()
        self._current: dict[str, Part] = {}
        self._parts: list[Part] = []

    def get(self, segment_id: str) -> Part | None:
        """The part of a segment that rows are appended to, if it has one."""
        return self._current.get(segment_id)

    def open(
        self,
        segment_id: str,
        segment_name: str,
        stream_name: str,
        header: tuple[str, ...],
        *,
        first: bytes = b"",
        literal_name: str = "",
        number: int = 1,
    ) -> Part:
        """Start a part of a segment (mode 0600), beginning with `first` (its header row).

        The segment's rows go to this part from now on; its previous part, if any, must
        be closed by the caller.
        """
        try:
            fd, name = tempfile.mkstemp(
                prefix=f"part-{len(self._parts) + 1:06d}-", dir=self.directory
            )
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise TargetError(
                    f"too many segments open at once ({len(self._current)}) for the "
                    "open-files limit; raise it (ulimit -n)"
                ) from None
            raise
        file = os.fdopen(fd, "wb", buffering=_BUFFER)
        top, layers, digest = self.encoding.open(file, literal_name)
        part = Part(segment_id, segment_name, stream_name, header, Path(name), number)
        part._top, part._layers, part._digest = top, layers, digest
        self._current[segment_id] = part
        self._parts.append(part)
        if first:
            part.write(first)
        return part

    def finish(self) -> list[Part]:
        """Close every part; returns them sorted by segment id and number (upload order)."""
        for part in self._parts:
            part.close()
        return sorted(self._parts, key=lambda p: (p.segment_id, p.number))

    def remove(self) -> None:
        """Close and delete everything spooled (idempotent)."""
        for part in self._parts:
            part.discard()
        self._cleanup()
