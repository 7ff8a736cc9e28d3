"""Temp data: with a PGP key no plaintext ever reaches temp_dir; modes are private; nothing
is left behind after success, failure or SIGTERM.

tests/e2e/test_encryption_cli.py reads the temp files of one slow-fed run (PGP + dedup spill);
this covers PGP alone, gzip + PGP and gzip + PGP + dedup spill over several segments,
checks every file's and directory's mode while the run is going, and checks the temp dir
after a failed and an interrupted run.
"""

from __future__ import annotations

import gzip
import os
import signal
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import objects, record_message, schema_message, singer_text, start_target

MARKER = b"PLAINTEXT-MARKER"
SCHEMA = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "value": {"type": "string"},
        "filler": {"type": "string"},
    },
}
SEGMENTS = ("alpha", "beta", "gamma")
BATCHES = 3
ROWS = 3000  # per batch; with the filler ~0.8 MB a batch, past a 1 MB dedup budget
FILLER = "f" * 250


def batch(number: int) -> bytes:
    rows = [
        record_message(
            "m",
            {
                "segment_id": SEGMENTS[i % len(SEGMENTS)],
                "value": f"{MARKER.decode()}-{number}-{i:06d}",
                "filler": FILLER,
            },
        )
        for i in range(ROWS)
    ]
    return singer_text(rows).encode()


@dataclass
class Watch:
    """What scanning temp_dir during a run saw."""

    root: Path
    files: set[str] = field(default_factory=set)
    modes: dict[str, int] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)
    scans: int = 0

    def scan(self) -> None:
        """Read every file under the temp dir; note modes and any plaintext marker."""
        self.scans += 1
        for path in self.root.rglob("*"):
            name = str(path.relative_to(self.root))
            try:
                mode = stat.S_IMODE(path.lstat().st_mode)
                data = b"" if path.is_dir() else path.read_bytes()
            except FileNotFoundError:  # removed between listing and reading
                continue
            self.modes[name + ("/" if path.is_dir() else "")] = mode
            if not path.is_dir():
                self.files.add(name)
                if MARKER in data or b"PLAINTEXT" in data or FILLER.encode()[:64] in data:
                    self.leaks.append(name)

    def wait_for(self, pattern: str, timeout: float = 60) -> None:
        """Scan until a file matching `pattern` has been seen (or give up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.scan()
            if any(Path(name).match(pattern) for name in self.files):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {pattern} in the temp dir; saw {sorted(self.files)}")


def feed(process: subprocess.Popen[bytes], watch: Watch, spill: bool) -> None:
    """Write the batches with stdin held open, scanning the temp dir between them."""
    assert process.stdin is not None
    process.stdin.write(singer_text([schema_message("m", SCHEMA)]).encode())
    for number in range(BATCHES):
        process.stdin.write(batch(number))
        process.stdin.flush()
        # Parts are written as rows come, except with dedup: rows spill, parts come at the end.
        watch.wait_for("*/dedup/dedup-*.run" if spill else "*/part-*")
        for _ in range(3):
            watch.scan()


def assert_private(watch: Watch) -> None:
    assert watch.modes, "nothing was seen in the temp dir"
    for name, mode in watch.modes.items():
        expected = 0o700 if name.endswith("/") else 0o600
        assert mode == expected, f"{name}: {oct(mode)}"


VARIANTS: dict[str, dict[str, Any]] = {
    "pgp": {},
    "gzip-pgp": {"compression": "gzip"},
    "gzip-pgp-dedup-spill": {
        "compression": "gzip",
        "deduplication_keys": ["value"],
        "dedup_memory_mb": 1,
    },
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_plaintext_in_temp_files_and_private_modes(
    variant: str, config: dict, gpg_keys: Any, s3: Any, spool_dir: Path, tmp_path: Path
) -> None:
    config.update(pgp_public_key=gpg_keys.public["rsa_subkey"], **VARIANTS[variant])
    spill = "deduplication_keys" in config
    watch = Watch(spool_dir)
    with start_target(config, tmp_path) as process:
        feed(process, watch, spill)
        stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr.decode()
    assert stdout == b""  # no STATE was sent
    assert watch.scans >= BATCHES * 4  # read while the run was going, stdin still open
    assert watch.leaks == []
    assert_private(watch)
    if not spill:
        assert any(Path(name).match("*/part-*") for name in watch.files)
    else:
        assert any(Path(name).match("*/dedup/dedup-*.run") for name in watch.files)
        assert any(name.endswith("dedup/") for name in watch.modes)
    assert list(spool_dir.iterdir()) == []  # removed after success

    found = objects(s3, config["bucket"])
    assert len(found) == len(SEGMENTS)
    total = 0
    for key, body in found.items():
        assert MARKER not in body
        result = gpg_keys.decrypt(body)
        assert result.ok, result.status
        plain = gzip.decompress(result.plaintext) if key.endswith(".gz.gpg") else result.plaintext
        total += plain.count(MARKER)
    assert total == BATCHES * ROWS


def test_nothing_left_after_bad_input_mid_stream(
    config: dict, gpg_keys: Any, s3: Any, spool_dir: Path, tmp_path: Path
) -> None:
    config.update(
        pgp_public_key=gpg_keys.public["rsa_subkey"],
        compression="gzip",
        deduplication_keys=["value"],
        dedup_memory_mb=1,
    )
    watch = Watch(spool_dir)
    with start_target(config, tmp_path) as process:
        feed(process, watch, spill=True)
        assert process.stdin is not None
        process.stdin.write(b'{"type": "RECORD", "stream": "m", "record": {"segment_id": \n')
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert stdout == b""
    assert f"input line {1 + BATCHES * ROWS + 1}: not valid JSON" in stderr.decode()
    assert watch.leaks == []
    assert list(spool_dir.iterdir()) == []
    assert objects(s3, config["bucket"]) == {}


def test_nothing_left_after_sigterm_mid_stream(
    config: dict, gpg_keys: Any, s3: Any, spool_dir: Path, tmp_path: Path
) -> None:
    config.update(
        pgp_public_key=gpg_keys.public["rsa_subkey"],
        deduplication_keys=["value"],
        dedup_memory_mb=1,
    )
    watch = Watch(spool_dir)
    with start_target(config, tmp_path) as process:
        feed(process, watch, spill=True)
        os.kill(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert stdout == b""
    assert "SIGTERM" in stderr.decode()
    assert watch.leaks == []
    assert_private(watch)
    assert list(spool_dir.iterdir()) == []
    assert objects(s3, config["bucket"]) == {}
