"""The run's spool: a private temp directory (0700) of part buffers (0600), removed when done.

Also what a killed run left behind (stale directories, removed), the open-files limit (one
file per open segment), and the one-line messages for a bad temp_dir or a full disk. What
a part's rows go through on their way to its file is `parts.py`; how full upload parts
leave the spool while input is read, `buffer.py`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import stat
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from target_adobe_s3.errors import TargetError
from target_adobe_s3.files.buffer import BufferFiles, Outlet, PartBuffer
from target_adobe_s3.files.parts import Encoding, Part

if TYPE_CHECKING:
    from target_adobe_s3.formats.base import TransformFactory

Outlets = Callable[[Part], Outlet]
"""The outlet of a part, asked when the part opens (its upload, under the part's key)."""


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


_PREFIX = "target-adobe-s3-"
STALE_AFTER = 600.0
"""Seconds without a change before a dead run's spool directory is removed."""


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:40] or "host"


def _owner_prefix() -> str:
    """`target-adobe-s3-<host>-<pid>-`: which run owns a spool directory."""
    return f"{_PREFIX}{_host()}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(parent: Path, now: float | None = None) -> list[Path]:
    """Remove spool directories that killed runs (SIGKILL, power loss) left in `parent`.

    Only directories of this user, named for this host, whose process is gone and in
    which nothing changed for `STALE_AFTER` seconds: a run in another container (its
    pids are not ours to judge) or one still writing is never touched. Returns the
    directories removed.
    """
    now = time.time() if now is None else now
    pattern = re.compile(re.escape(f"{_PREFIX}{_host()}-") + r"(\d+)-[^/]+$")
    removed: list[Path] = []
    try:
        candidates = list(parent.iterdir())
    except OSError:
        return removed
    for path in candidates:
        match = pattern.match(path.name)
        if match is None or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        try:
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            newest = max([info.st_mtime, *(p.lstat().st_mtime for p in path.rglob("*"))])
        except OSError:
            continue
        if now - newest >= STALE_AFTER:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def temp_dir_name(parent: str | None) -> str:
    """How messages name the folder: `temp_dir '<path>'`, or the system temp dir's path."""
    if parent:
        return f"temp_dir '{parent}'"
    return f"the system temp dir '{tempfile.gettempdir()}' (temp_dir is not set)"


def temp_dir_problem(path: Path) -> str | None:
    """Why a run's spool directory cannot be made in `path` (an existing, writable folder)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "does not exist; create it, or point temp_dir at an existing folder"
    except NotADirectoryError:
        return "is not a folder (part of its path is a file); point temp_dir at a folder"
    except OSError as exc:
        return f"cannot be read ({exc.strerror}); point temp_dir at another folder"
    if not stat.S_ISDIR(info.st_mode):
        return "is a file, not a folder; point temp_dir at a folder"
    if not os.access(path, os.W_OK | os.X_OK):
        return "is not writable; make it writable, or point temp_dir at a writable folder"
    return None


def format_size(size: int) -> str:
    """`512 bytes`, `3.2 KiB`, `7.9 MiB`, `1.5 GiB`: a size as people read it."""
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KiB"
    for bigger in ("MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


_FIXES = {
    errno.ENOSPC: "free up space, or point temp_dir at a folder with more room",
    errno.EDQUOT: "raise the disk quota, or point temp_dir at a folder with more room",
    errno.EFBIG: "raise the file size limit (ulimit -f), or lower max_rows_per_file",
}


class Spool:
    """All parts of a run, in a private directory (0700) that `remove` deletes."""

    def __init__(
        self,
        parent: str | None = None,
        encoding: Encoding | None = None,
        outlets: Outlets | None = None,
    ) -> None:
        """Make the run's directory in `parent` (the system temp dir when None).

        With `outlets`, each part's full upload parts leave the spool while input is read;
        without, each part stays whole in its file.

        Raises:
            TargetError: `parent` is not an existing, writable folder (named in the message).
        """
        raise_open_file_limit()
        self.parent = parent
        self.root = root = Path(parent or tempfile.gettempdir())
        if problem := temp_dir_problem(root):
            raise TargetError(f"{temp_dir_name(parent)} {problem}")
        self.stale_removed = remove_stale(root)
        try:
            self.directory = Path(tempfile.mkdtemp(prefix=_owner_prefix(), dir=root))
        except OSError as exc:
            raise TargetError(
                f"{temp_dir_name(parent)}: cannot make a folder there ({exc.strerror}); "
                "point temp_dir at a writable folder"
            ) from None
        os.chmod(self.directory, 0o700)
        # Removed even when the owner forgets (e.g. an embedding program that never
        # reaches end of input): at garbage collection or interpreter exit.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.encoding = encoding or Encoding()
        self.buffers = BufferFiles(self.directory)
        self._outlets = outlets
        self.current: dict[str, Part] = {}
        """Each segment's part that rows are appended to (its latest)."""
        self._parts: list[Part] = []

    def get(self, segment_id: str) -> Part | None:
        """The part of a segment that rows are appended to, if it has one."""
        return self.current.get(segment_id)

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
        transform: TransformFactory | None = None,
    ) -> Part:
        """Start a part of a segment (mode 0600), beginning with `first` (its header row).

        `transform`, when given, makes the file from the row bytes (see `Stack`).

        The segment's rows go to this part from now on; its previous part, if any, must
        be closed by the caller.
        """
        part = Part(segment_id, segment_name, stream_name, header, number)
        outlet = self._outlets(part) if self._outlets is not None else None
        buffer = PartBuffer(self.buffers, outlet)
        try:
            stack = self.encoding.open(buffer, literal_name, transform)
        except BaseException:
            buffer.abort()
            raise
        part.start(stack)
        self.current[segment_id] = part
        self._parts.append(part)
        if first:
            part.write(first)
        return part

    def finish(self) -> list[Part]:
        """Close every part (the streamed ones send their last upload part).

        Returns:
            Every part, sorted by segment id and number (upload order).
        """
        for part in self._parts:
            part.close()
        return sorted(self._parts, key=lambda p: (p.segment_id, p.number))

    def spooled(self) -> tuple[int, int]:
        """How many files and bytes the run has in its directory now (parts, dedup spill)."""
        files = size = 0
        for path in self.directory.rglob("*"):
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode):
                    files += 1
                    size += info.st_size
        return files, size

    def failure(self, exc: OSError) -> str:
        """One line for an I/O error while spooling: where, free space, what was spooled."""
        where = temp_dir_name(self.parent)
        try:
            free = format_size(shutil.disk_usage(self.root).free) + " free there"
        except OSError:
            free = "free space unknown"
        files, size = self.spooled()
        code = errno.errorcode.get(exc.errno or 0)
        reason = (exc.strerror or type(exc).__name__) + (f" ({code})" if code else "")
        fix = _FIXES.get(exc.errno or 0, "check the disk, or point temp_dir at another folder")
        return (
            f"writing temp files in {where} failed: {reason}; {free}, the run had spooled "
            f"{format_size(size)} in {files} file{'' if files == 1 else 's'}; {fix}"
        )

    def remove(self) -> None:
        """Close and delete everything spooled (idempotent)."""
        for part in self._parts:
            part.discard()
        self.buffers.close()
        self._cleanup()
