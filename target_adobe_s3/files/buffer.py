"""A part's bytes on their way out: a file-backed buffer that hands over each full upload part.

The bottom of a part's stack (parts.py): what reaches it is counted, hashed and written,
unbuffered, to a buffer file (0600) in the spool. With an `Outlet` (the run's uploads), once
the buffer holds a full upload part and more bytes come, that part (`Chunk`) is handed to the
outlet, which uploads it in the background and gives the file back (`Chunk.release`) once it
is up; writing goes on in another buffer file. A file that never fills one part stays in its
one buffer file and goes up whole after end of input. So the temp disk a part holds is at
most one upload part, plus the parts the outlet has in flight.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from target_adobe_s3.errors import TargetError

Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True)
class Chunk:
    """One upload part of a file: the first `size` bytes of `file`, their SHA-256."""

    number: int
    """The part's number in its upload: 1, 2, ..."""
    file: io.FileIO
    size: int
    sha256: bytes
    release: Callable[[], None]
    """Give the buffer file back for reuse (call once the part is up, or dropped)."""


class Outlet(Protocol):
    """Where a part's full upload parts go while input is read (the run's uploads)."""

    def part_size(self, number: int) -> int:
        """How many bytes upload part `number` of the file holds (the last may hold fewer)."""
        ...

    def send(self, chunk: Chunk) -> None:
        """Take a full part and upload it in the background; may wait while too many are queued.

        Raises:
            Exception: the run's uploads failed or were stopped (the chunk is then not taken).
        """
        ...


class BufferFiles:
    """The spool's buffer files: made 0600 in its directory, given back empty, reused."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._free: list[tuple[io.FileIO, Path]] = []
        self._lock = threading.Lock()
        self._made = 0

    def take(self) -> tuple[io.FileIO, Path]:
        """An empty buffer file, open for reading and writing, and its path.

        Raises:
            TargetError: the open-files limit is reached.
            OSError: the file cannot be made.
        """
        with self._lock:
            if self._free:
                return self._free.pop()
            self._made += 1
            number = self._made
        try:
            fd, name = tempfile.mkstemp(prefix=f"part-{number:06d}-", dir=self.directory)
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise TargetError(
                    f"too many segments open at once ({number - 1} temp files) for the "
                    "open-files limit; raise it (ulimit -n)"
                ) from None
            raise
        return io.FileIO(fd, "r+b"), Path(name)

    def give_back(self, file: io.FileIO, path: Path) -> None:
        """Empty a buffer file (its disk space is freed) and keep it for the next `take`."""
        try:
            file.truncate(0)
            file.seek(0)
        except (OSError, ValueError):  # closed or gone (the spool is being removed)
            with contextlib.suppress(OSError):
                file.close()
            return
        with self._lock:
            self._free.append((file, path))

    def close(self) -> None:
        """Close every free buffer file (the spool deletes them)."""
        with self._lock:
            free, self._free = self._free, []
        for file, _ in free:
            file.close()


class PartBuffer:
    """The bottom of a part's stack: counts, hashes and writes what reaches the file.

    Without an outlet, the whole file is one buffer file (`path`). With one, each full
    upload part is handed to it as soon as the next byte comes, and `finish` hands over the
    rest as the last part, unless the file never filled one part (`streamed` is False): then
    `path` holds the whole file.
    """

    def __init__(self, files: BufferFiles, outlet: Outlet | None = None) -> None:
        self._files, self._outlet = files, outlet
        self.file: io.FileIO | None
        self.file, self.path = files.take()
        self.size = 0
        self.sha256 = hashlib.sha256()
        """The whole file's SHA-256."""
        self.streamed = False
        """Whether parts were handed to the outlet (the file is a multipart upload)."""
        self._number = 1
        self._limit = outlet.part_size(1) if outlet is not None else -1
        self._filled = 0
        self._part: hashlib._Hash | None = None
        """The current part's SHA-256, from the second part on: the first part's is the
        whole file's as far as it goes (one pass over the bytes fewer)."""

    def write(self, data: Buffer) -> int:
        """Write every byte of `data`; a full part goes to the outlet first."""
        with memoryview(data) as whole:
            view = whole.cast("B") if whole.format != "B" or whole.ndim != 1 else whole
            size = rest = view.nbytes
            while rest:
                if self._filled == self._limit:
                    self._send()
                room = rest if self._limit < 0 else min(rest, self._limit - self._filled)
                self._write(view[size - rest : size - rest + room])
                rest -= room
        self.size += size
        return size

    def _write(self, piece: memoryview) -> None:
        file = self.file
        assert file is not None, "buffer is closed"
        self.sha256.update(piece)
        if self._part is not None:
            self._part.update(piece)
        done = file.write(piece) or 0
        while done < len(piece):  # a short write to a regular file is rare, but allowed
            done += file.write(piece[done:]) or 0
        self._filled += len(piece)

    def _send(self, *, last: bool = False) -> None:
        """Hand the buffer to the outlet as the next upload part; go on in a fresh file."""
        file, path, outlet = self.file, self.path, self._outlet
        assert file is not None
        assert outlet is not None
        files = self._files
        chunk = Chunk(
            self._number,
            file,
            self._filled,
            (self._part or self.sha256).digest(),  # digest() leaves the hash going on
            lambda: files.give_back(file, path),
        )
        self.file = None
        try:
            outlet.send(chunk)
        except BaseException:
            file.close()
            raise
        self.streamed = True
        if last:
            return
        self._number += 1
        self._limit = outlet.part_size(self._number)
        self._filled = 0
        self._part = hashlib.sha256()
        self.file, self.path = files.take()

    def writable(self) -> bool:
        """Always: a part is written."""
        return True

    def flush(self) -> None:
        """Nothing is buffered in memory."""

    def close(self) -> None:
        """Nothing to do: `finish` or `abort` ends the buffer (OpenPGP calls this first)."""

    @property
    def closed(self) -> bool:
        """Whether the buffer has no file any more."""
        return self.file is None

    def finish(self) -> None:
        """The file is complete: once streamed, its rest goes to the outlet as the last part.

        Otherwise `path` holds the whole file, closed, ready to go up in one request.
        """
        if self.file is None:
            return
        if self.streamed:
            self._send(last=True)
        else:
            self.file.close()
            self.file = None

    def abort(self) -> None:
        """Close the buffer file without handing anything over (idempotent)."""
        file, self.file = self.file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
