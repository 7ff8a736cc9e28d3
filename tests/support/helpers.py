"""Helpers shared by the tests: build Singer input, run the CLI, read objects back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET = str(Path(sys.executable).with_name("target-adobe-s3"))

MEMBER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "segment_name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "first_name": {"type": ["string", "null"]},
        "score": {"type": ["number", "null"]},
    },
}

TAP_JSONL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "_sdc_filename": {"type": ["string", "null"]},
        "_sdc_last_modified": {"type": ["string", "null"], "format": "date-time"},
        "person": {
            "type": ["object", "null"],
            "properties": {"_sdc_note": {"type": ["string", "null"]}},
        },
    },
}
"""A tap-jsonl stream: Singer's `_sdc_*` metadata beside the members' fields."""

# `2026-11-25 13:35:45,180 | ERROR    | target-adobe-s3                | message`
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \| (\w+) +\| \S+ +\| (.*)$")


def error_lines(stderr: str) -> list[str]:
    """The messages of the ERROR log lines; fails on any line that is not a log line."""
    found = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        match = LOG_LINE.match(line)
        assert match, f"stderr line is not a log line (a multi-line message?): {line[:200]!r}"
        if match.group(1) in ("ERROR", "CRITICAL"):
            found.append(match.group(2))
    return found


def schema_message(stream: str, schema: Mapping[str, Any], keys: Iterable[str] = ()) -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": list(keys)}


def record_message(stream: str, record: Mapping[str, Any]) -> dict:
    return {"type": "RECORD", "stream": stream, "record": record}


def state_message(value: Mapping[str, Any]) -> dict:
    return {"type": "STATE", "value": value}


def singer_text(messages: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stdout_lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]


def write_config(config: Mapping[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def start_target(config: Mapping[str, Any], tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start the CLI with stdin left open; use it in a `with` block."""
    return subprocess.Popen(
        [TARGET, "--config", str(write_config(config, tmp_path)), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_with_stdin_open(
    config: Mapping[str, Any], tmp_path: Path, *args: str, timeout: float = 60
) -> Run:
    """Run the CLI with a stdin that is never written nor closed (it must not wait on it)."""
    with start_target(config, tmp_path, *args) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            process.wait(timeout=timeout)
        finally:
            process.kill()
        stdout, stderr = process.stdout.read(), process.stderr.read()
    return Run(process.returncode, stdout.decode(), stderr.decode())


def run_target(
    config: Mapping[str, Any],
    messages: Iterable[Mapping[str, Any]] | str | bytes,
    tmp_path: Path,
    *,
    timeout: float = 120,
) -> Run:
    """Run the installed `target-adobe-s3` CLI with a config file and stdin."""
    config_path = write_config(config, tmp_path)
    if isinstance(messages, bytes):
        data = messages
    elif isinstance(messages, str):
        data = messages.encode()
    else:
        data = singer_text(messages).encode()
    done = subprocess.run(
        [TARGET, "--config", str(config_path)],
        input=data,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket: key → bytes."""
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def export_and_take(
    config: Mapping[str, Any], messages: Iterable[Mapping[str, Any]], tmp_path: Path, s3: Any
) -> tuple[Run, dict[str, bytes]]:
    """Run a successful export and take its objects, emptying the bucket for the next run."""
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    for key in found:
        s3.delete_object(Bucket=config["bucket"], Key=key)
    return run, found


def open_uploads(s3: Any, bucket: str) -> list[str]:
    """Keys of multipart uploads still open in the bucket."""
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def big_segment_records(
    segment_id: str, size: int, *, seed: int = 0, stream: str = "m"
) -> list[dict]:
    """RECORDs of one segment whose rows come to more than `size` bytes.

    Each `email` is 1,024 characters of Base64 of seeded random bytes: hardly
    compressible, so gzip keeps the file large, and the same for the same seed.
    """
    import base64
    import random

    rng = random.Random(seed)
    records, total = [], 0
    while total <= size:
        email = base64.b64encode(rng.randbytes(768)).decode()
        records.append(record_message(stream, {"segment_id": segment_id, "email": email}))
        total += len(email) + len(segment_id) + 8
    return records


def rows_by_segment(found: Mapping[str, bytes], column: str = "email") -> dict[str, list[str]]:
    """Segment id → sorted `column` values of the rows of tab-delimited CSV objects."""
    rows: dict[str, list[str]] = {}
    for data in found.values():
        header, *lines = data.decode().splitlines()
        columns = header.split("\t")
        for line in lines:
            row = dict(zip(columns, line.split("\t"), strict=True))
            rows.setdefault(row["segment_id"], []).append(row[column])
    return {segment: sorted(values) for segment, values in rows.items()}


def sent_by_segment(data: bytes, column: str = "email") -> dict[str, list[str]]:
    """Segment id → sorted `column` values of the RECORDs of Singer input."""
    rows: dict[str, list[str]] = {}
    for line in data.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            record = message["record"]
            rows.setdefault(record["segment_id"], []).append(record[column])
    return {segment: sorted(values) for segment, values in rows.items()}


def run_check(config: dict[str, Any], tmp_path: Path) -> Run:
    """Run `--config c.json --check` with stdin a pipe that is never closed nor written."""
    return run_with_stdin_open(config, tmp_path, "--check")


def check_columns(run: Run) -> list[tuple[str, str, str]]:
    """Each stdout line of `--check` as (status, what, detail)."""
    found = []
    for line in run.stdout_lines:
        status, what, *rest = line.split(maxsplit=2)
        found.append((status, what, rest[0] if rest else ""))
    return found
