"""The spool: private modes, content as written, removal, stale runs, the open-files limit."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from target_adobe_s3.files import spool as spool_module
from target_adobe_s3.files.spool import Spool, format_size


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
from target_adobe_s3.files.spool import Spool
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


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _leave(parent: Path, name: str, age: float) -> Path:
    path = parent / name
    path.mkdir(mode=0o700)
    (path / "part-000001-x").write_bytes(b"rows")
    old = time.time() - age
    for item in (path / "part-000001-x", path):
        os.utime(item, (old, old))
    return path


def test_stale_spool_directories_of_dead_runs_are_removed(tmp_path: Path) -> None:
    host = spool_module._host()
    dead = _dead_pid()
    stale = _leave(tmp_path, f"target-adobe-s3-{host}-{dead}-abc", spool_module.STALE_AFTER + 5)
    recent = _leave(tmp_path, f"target-adobe-s3-{host}-{dead}-def", 5)
    alive = _leave(tmp_path, f"target-adobe-s3-{host}-{os.getppid()}-ghi", 10_000)
    other_host = _leave(tmp_path, f"target-adobe-s3-elsewhere-{dead}-jkl", 10_000)
    not_ours = _leave(tmp_path, f"other-tool-{host}-{dead}-mno", 10_000)
    assert spool_module.remove_stale(tmp_path) == [stale]
    assert sorted(tmp_path.iterdir()) == sorted([recent, alive, other_host, not_ours])


def test_a_new_spool_names_its_owner_and_clears_stale_ones(tmp_path: Path) -> None:
    stale = _leave(
        tmp_path,
        f"target-adobe-s3-{spool_module._host()}-{_dead_pid()}-x",
        spool_module.STALE_AFTER + 5,
    )
    new = spool_module.Spool(str(tmp_path))
    try:
        assert new.stale_removed == [stale]
        assert new.directory.name.startswith(
            f"target-adobe-s3-{spool_module._host()}-{os.getpid()}-"
        )
        assert spool_module.remove_stale(tmp_path) == []  # a live run's directory is never touched
    finally:
        new.remove()


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (8 * 1024 * 1024, "8.0 MiB"),
        (3 * 1024**3 // 2, "1.5 GiB"),
        (5 * 1024**4, "5.0 TiB"),
        (2048 * 1024**4, "2048.0 TiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text
