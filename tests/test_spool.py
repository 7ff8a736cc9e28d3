"""Spool files: private modes, content as written, removal, and the open-files limit."""

from __future__ import annotations

import gzip
import hashlib
import stat
import subprocess
import sys
from pathlib import Path

from target_adobe_s3.spool import Encoding, Spool


def test_parts_are_private_hold_what_was_written_and_are_removed(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    assert stat.S_IMODE(spool.directory.stat().st_mode) == 0o700
    first = spool.open("b", "B", "m", ("h",))
    second = spool.open("a", "A", "m", ("h",))
    first.write(b"h\n1\n")
    second.write(b"h\n2\n")
    assert spool.get("b") is first
    parts = spool.finish()
    assert [p.segment_id for p in parts] == ["a", "b"]  # stable upload order
    assert first.path.read_bytes() == b"h\n1\n"
    assert first.size == 4
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    spool.remove()
    assert list(tmp_path.iterdir()) == []
    spool.remove()  # idempotent


def test_too_many_segments_for_the_file_limit_is_a_clear_error(tmp_path: Path) -> None:
    script = f"""
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from target_adobe_s3.errors import TargetError
from target_adobe_s3.spool import Encoding, Spool
spool = Spool({str(tmp_path)!r})
try:
    for i in range(200):
        spool.open(f"s{{i}}", "n", "m", ("h",))
except TargetError as exc:
    print(exc)
finally:
    spool.remove()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("too many segments open at once (")
    assert "ulimit -n" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_gzip_part_counts_and_hashes_the_bytes_on_disk(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), Encoding(compression="gzip"))
    part = spool.open("s", "S", "m", ("h",), first=b"h\n")
    for i in range(1000):
        part.write(f"row {i}\n".encode(), rows=1)
    assert part.is_open
    [done] = spool.finish()
    data = done.path.read_bytes()
    assert not done.is_open
    assert done.rows == 1000
    assert done.size == len(data)
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert gzip.decompress(data) == b"h\n" + b"".join(f"row {i}\n".encode() for i in range(1000))
    spool.remove()


def test_a_next_part_takes_over_the_segment(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    first = spool.open("s", "S", "m", ("h",), first=b"h\n")
    first.write(b"1\n", rows=1)
    first.close()
    second = spool.open("s", "S", "m", ("h",), first=b"h\n", number=2)
    second.write(b"2\n", rows=1)
    assert spool.get("s") is second
    assert [(p.number, p.path.read_bytes()) for p in spool.finish()] == [
        (1, b"h\n1\n"),
        (2, b"h\n2\n"),
    ]
    spool.remove()
