"""Failures: one clear line, exit code 1 (or 128+signal), no STATE, nothing partial in S3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    MEMBER_SCHEMA,
    objects,
    record_message,
    run_target,
    run_with_stdin_open,
    schema_message,
    singer_text,
    start_target,
    state_message,
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"file_name_template": "%SEGMENT_ID%_%FOO%"}, "file_name_template"),
        ({"file_name_template": "%DATETIME(yyyyMMdd)%"}, "file_name_template"),
        ({"folder_path": "exports/%SEGMENTNAME%"}, "folder_path"),
        ({"folder_path": "my exports"}, "folder_path"),
        ({"bucket": "Bad_Bucket"}, "bucket"),
        ({"bucket": "192.168.1.1"}, "bucket"),
        ({"csv_delimiter": "x"}, "csv_delimiter"),
        ({"fields": ["email", 3]}, "fields"),
        ({"fields": [{"src": "email"}]}, "fields"),
        ({"export_time": "yesterday"}, "export_time"),
        ({"destination_name": "a/b"}, "destination_name"),
        ({"csv_quote": "", "csv_quote_all": True}, "csv_quote_all"),
    ],
)
def test_bad_setting_fails_before_reading_stdin(
    config: dict, tmp_path: Path, change: dict, expected: str
) -> None:
    config.update(change)
    # stdin stays open and empty: the check must not wait for input.
    run = run_with_stdin_open(config, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    text = run.stderr
    assert expected in text
    assert "Traceback" not in text


def test_missing_bucket_fails_with_no_state(config: dict, tmp_path: Path) -> None:
    config["bucket"] = "no-such-bucket-here"
    run = run_target(
        config, [schema_message("m", MEMBER_SCHEMA), state_message({"a": 1})], tmp_path
    )
    assert run.returncode == 1
    assert run.stdout == ""
    assert "no-such-bucket-here" in run.stderr
    assert "does not exist" in run.stderr
    assert "Traceback" not in run.stderr


BAD_INPUT = [
    ('{"type": "SCHEMA", "stream": "m", "schema": ', "input line 2", "not valid JSON"),
    (
        b'{"type": "RECORD", "stream": "m", "record": {"segment_id": "\xff"}}',
        "input line 2",
        "not valid UTF-8",
    ),
    (
        '{"type": "RECORD", "stream": "other", "record": {"segment_id": "s"}}',
        "input line 2",
        "'other'",
    ),
    (
        '{"type": "RECORD", "stream": "m", "record": {"email": "a@x.com"}}',
        "input line 2",
        "segment id field 'segment_id' is missing or empty",
    ),
    (
        '{"type": "RECORD", "stream": "m", "record": {"segment_id": ""}}',
        "input line 2",
        "is missing or empty",
    ),
    (
        '{"type": "RECORD", "stream": "m", "record": {"segment_id": {"a": 1}}}',
        "input line 2",
        "field 'segment_id' should be of type",
    ),
    (
        '{"type": "RECORD", "stream": "m", "record": {"segment_id": "s", "score": "high"}}',
        "input line 2",
        "field 'score' should be of type",
    ),
    ('{"type": "RECORD", "stream": "m"}', "input line 2", "missing required key(s): record"),
    ('{"type": "BOGUS"}', "input line 2", "unknown message type 'BOGUS'"),
    ("[1, 2]", "input line 2", "must be a JSON object"),
]


@pytest.mark.parametrize(("bad_line", "where", "what"), BAD_INPUT)
def test_bad_input_names_the_line_and_emits_no_state(
    config: dict, s3: Any, tmp_path: Path, bad_line: str | bytes, where: str, what: str
) -> None:
    head = singer_text([schema_message("m", MEMBER_SCHEMA)]).encode()
    tail = singer_text(
        [record_message("m", {"segment_id": "s"}), state_message({"after": True})]
    ).encode()
    line = bad_line if isinstance(bad_line, bytes) else bad_line.encode()
    run = run_target(config, head + line + b"\n" + tail, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert where in run.stderr
    assert what in run.stderr
    assert "Traceback" not in run.stderr
    assert "a@x.com" not in run.stderr  # no record content in the log
    assert objects(s3, config["bucket"]) == {}


def test_record_values_never_appear_in_the_error(config: dict, tmp_path: Path) -> None:
    secret_value = "jane.secret@example.com"
    line = json.dumps(
        {"type": "RECORD", "stream": "m", "record": {"segment_id": "s", "score": secret_value}}
    )
    text = singer_text([schema_message("m", MEMBER_SCHEMA)]) + line + "\n"
    run = run_target(config, text, tmp_path)
    assert run.returncode == 1
    assert secret_value not in run.stderr


def test_key_too_long_fails_at_delivery_with_no_state(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    config["folder_path"] = "/".join(["f" * 200] * 5)
    messages = [
        schema_message("m", MEMBER_SCHEMA),
        record_message("m", {"segment_id": "s"}),
        state_message({"x": 1}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "segment 's'" in run.stderr
    assert "1024" in run.stderr or "1,024" in run.stderr
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


def test_sigterm_is_a_failure_not_a_drain(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    with start_target(config, tmp_path) as process:
        stdout, stderr = _feed_then_terminate(process, spool_dir)
    assert process.returncode == 128 + signal.SIGTERM
    assert stdout == b""
    assert "SIGTERM" in stderr.decode()
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


def _feed_then_terminate(process: subprocess.Popen, spool_dir: Path) -> tuple[bytes, bytes]:
    """Send input without closing stdin; SIGTERM once the target spools rows."""
    assert process.stdin is not None
    messages = [schema_message("m", MEMBER_SCHEMA)] + [
        record_message("m", {"segment_id": "s", "email": f"{i}@x.com"}) for i in range(100)
    ]
    process.stdin.write(singer_text([*messages, state_message({"n": 100})]).encode())
    process.stdin.flush()
    # Wait until the target has spooled something, then stop it mid-run.
    deadline = time.monotonic() + 60
    while not any(spool_dir.rglob("part-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(spool_dir.rglob("part-*")), "target never started spooling"
    os.kill(process.pid, signal.SIGTERM)
    return process.communicate(timeout=60)
