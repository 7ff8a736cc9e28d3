"""Per-segment temp files: private directory, 0600 files, removed when done."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from target_adobe_s3.errors import TargetError

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
    handle: BinaryIO | None = field(default=None, repr=False)

    def write(self, data: bytes, rows: int = 0) -> None:
        """Append bytes to the part; `rows` counts the data rows among them."""
        assert self.handle is not None, "part is closed"
        self.handle.write(data)
        self.size += len(data)
        self.rows += rows

    def close(self) -> None:
        """Flush and close the file; the part is then ready to upload."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class Spool:
    """All parts of a run, in a private directory (0700) that `remove` deletes."""

    def __init__(self, parent: str | None = None) -> None:
        raise_open_file_limit()
        self.directory = Path(tempfile.mkdtemp(prefix="target-adobe-s3-", dir=parent))
        os.chmod(self.directory, 0o700)
        # Removed even when the owner forgets (e.g. an embedding program that never
        # reaches end of input): at garbage collection or interpreter exit.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self._parts: dict[str, Part] = {}
        self._count = 0

    def get(self, segment_id: str) -> Part | None:
        """The open part of a segment, if it has one."""
        return self._parts.get(segment_id)

    def open(
        self, segment_id: str, segment_name: str, stream_name: str, header: tuple[str, ...]
    ) -> Part:
        """Start the first part of a segment (files are created with mode 0600)."""
        self._count += 1
        try:
            fd, name = tempfile.mkstemp(prefix=f"part-{self._count:06d}-", dir=self.directory)
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise TargetError(
                    f"too many segments open at once ({len(self._parts)}) for the open-files "
                    "limit; raise it (ulimit -n)"
                ) from None
            raise
        part = Part(segment_id, segment_name, stream_name, header, Path(name))
        part.handle = os.fdopen(fd, "wb", buffering=_BUFFER)
        self._parts[segment_id] = part
        return part

    def finish(self) -> list[Part]:
        """Close every part; returns them sorted by segment id (a stable upload order)."""
        for part in self._parts.values():
            part.close()
        return sorted(self._parts.values(), key=lambda p: p.segment_id)

    def remove(self) -> None:
        """Close and delete everything spooled (idempotent)."""
        for part in self._parts.values():
            part.close()
        self._cleanup()
