"""The local disk: temp_dir is checked before input is read; a full disk mid-run is one line.

A temp_dir that is a file, missing or read-only fails before any input is read. A disk that
fills up while rows are spooled (a real 8 MiB tmpfs, or the file size limit of the process)
ends in one line naming temp_dir, its free space and what the run had spooled, with no
STATE, no object in S3 and no temp file left.
"""

from __future__ import annotations

import re
import resource
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    Run,
    big_segment_records,
    error_lines,
    objects,
    open_uploads,
    run_target,
    run_with_stdin_open,
    schema_message,
    singer_text,
    state_message,
    write_config,
)

STATE_TAIL = "No STATE was emitted for undelivered records."


def _mount_tmpfs(where: Path, options: str) -> None:
    """Mount a tmpfs at `where`, or skip the test with the reason."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command; test_file_size_limit_mid_run covers the one-line path")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip()}); "
            "test_file_size_limit_mid_run covers the one-line path"
        )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs, unmounted after the test."""
    where = tmp_path / "small"
    where.mkdir()
    _mount_tmpfs(where, "size=8m,mode=0755")
    yield where
    subprocess.run(["umount", str(where)], check=True)


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs, unmounted after the test."""
    where = tmp_path / "read-only"
    where.mkdir()
    _mount_tmpfs(where, "size=1m,ro")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def _refused_before_input(config: dict, tmp_path: Path, line: str) -> None:
    # stdin stays open and empty: the check must not wait for input.
    run = run_with_stdin_open(config, tmp_path)
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert error_lines(run.stderr) == [line]


def test_temp_dir_that_is_a_file(config: dict, tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("x")
    config["temp_dir"] = str(path)
    line = f"Export failed: temp_dir '{path}' is a file, not a folder; point temp_dir at a folder"
    _refused_before_input(config, tmp_path, line)
    assert path.read_text() == "x"


def test_temp_dir_that_does_not_exist(config: dict, tmp_path: Path) -> None:
    path = tmp_path / "missing"
    config["temp_dir"] = str(path)
    line = (
        f"Export failed: temp_dir '{path}' does not exist; create it, or point temp_dir at an "
        "existing folder"
    )
    _refused_before_input(config, tmp_path, line)
    assert not path.exists()


def test_temp_dir_under_a_file(config: dict, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    path = tmp_path / "a-file" / "spool"
    config["temp_dir"] = str(path)
    line = (
        f"Export failed: temp_dir '{path}' is not a folder (part of its path is a file); "
        "point temp_dir at a folder"
    )
    _refused_before_input(config, tmp_path, line)


def test_temp_dir_that_is_read_only(config: dict, tmp_path: Path, read_only_disk: Path) -> None:
    config["temp_dir"] = str(read_only_disk)
    line = (
        f"Export failed: temp_dir '{read_only_disk}' is not writable; make it writable, or "
        "point temp_dir at a writable folder"
    )
    _refused_before_input(config, tmp_path, line)


def _big_input() -> bytes:
    """Over 12 MiB of hardly compressible rows of one segment, a STATE after them."""
    messages = [schema_message("m", MEMBER_SCHEMA), state_message({"before": 1})]
    messages += big_segment_records("s", 12 * 1024 * 1024)
    messages.append(state_message({"after": 1}))
    return singer_text(messages).encode()


def _assert_nothing_left(run: Run, s3: Any, bucket: str, temp_dir: Path) -> None:
    assert run.stdout == ""  # neither STATE
    assert "Traceback" not in run.stderr
    assert objects(s3, bucket) == {}
    assert open_uploads(s3, bucket) == []
    assert list(temp_dir.iterdir()) == []


def test_full_disk_mid_run(config: dict, s3: Any, tmp_path: Path, small_disk: Path) -> None:
    config["temp_dir"] = str(small_disk)
    run = run_target(config, _big_input(), tmp_path)
    assert run.returncode == 1, run.stderr
    (line,) = error_lines(run.stderr)
    # The 8 MiB disk fills with the first full part; the next byte goes into the file's next
    # part buffer (2 files) while the full one waits for its upload, which on a slow machine
    # may already have emptied it (then 1 file holds what was spooled).
    pattern = (
        re.escape(
            f"Export failed: writing temp files in temp_dir '{small_disk}' failed: No space "
            "left on device (ENOSPC); "
        )
        + r"[0-9.]+ (MiB|KiB|bytes) free there, the run had spooled "
        + r"[0-9.]+ (MiB|KiB|bytes) in (1 file|2 files)"
        + re.escape(f"; free up space, or point temp_dir at a folder with more room. {STATE_TAIL}")
    )
    assert re.fullmatch(pattern, line), line
    _assert_nothing_left(run, s3, config["bucket"], small_disk)


def _limit_file_size() -> None:
    """In the child: files may grow to 1 MiB; past that, writes fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))


def test_file_size_limit_mid_run(config: dict, s3: Any, tmp_path: Path, spool_dir: Path) -> None:
    """No mount needed: the file size limit makes spooling fail with a real EFBIG."""
    done = subprocess.run(
        [TARGET, "--config", str(write_config(config, tmp_path))],
        input=_big_input(),
        capture_output=True,
        timeout=120,
        check=False,
        preexec_fn=_limit_file_size,  # only sets a limit and a signal disposition
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert run.returncode == 1, run.stderr
    (line,) = error_lines(run.stderr)
    pattern = (
        re.escape(f"Export failed: writing temp files in temp_dir '{spool_dir}' failed: ")
        + re.escape("File too large (EFBIG); ")
        + r"[0-9.]+ (bytes|KiB|MiB|GiB|TiB) free there, "
        + re.escape(
            "the run had spooled 1.0 MiB in 1 file; raise the file size limit (ulimit -f), "
            f"or lower max_rows_per_file. {STATE_TAIL}"
        )
    )
    assert re.fullmatch(pattern, line), line
    _assert_nothing_left(run, s3, config["bucket"], spool_dir)
