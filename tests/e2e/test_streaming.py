"""Streaming delivery: full parts go up while input is still open, no object is complete
before end of input, and temp disk holds about one part per open file, not the export.

The target reads a pipe that the test keeps open: the test watches moto (ListMultipartUploads,
ListParts, ListObjectsV2) and the spool while the target waits for more input, then closes
the pipe and checks what was delivered.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.helpers import (
    MEMBER_SCHEMA,
    TARGET,
    big_segment_records,
    objects,
    open_uploads,
    record_message,
    rows_by_segment,
    schema_message,
    sent_by_segment,
    singer_text,
    state_message,
    write_config,
)

STATE = {"bookmark": 5}
BIG_KEY = "amazon_s3_segmentb_20240501_061804.csv"
SMALL_KEY = "amazon_s3_segmenta_20240501_061804.csv"


def wait_until(check: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Poll `check` until it holds; fail naming `what` when it never does."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


@contextmanager
def target_reading(config: dict[str, Any], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The target reading a pipe that stays open until the test closes it."""
    out, err = (tmp_path / "stdout").open("wb"), (tmp_path / "stderr").open("wb")
    with out, err:
        process = subprocess.Popen(
            [TARGET, "--config", str(write_config(config, tmp_path))],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdin is not None:
            with suppress(BrokenPipeError):
                process.stdin.close()


def send(stdin: IO[bytes] | None, messages: list[dict]) -> None:
    assert stdin is not None
    stdin.write(singer_text(messages).encode())
    stdin.flush()


def end_input(process: subprocess.Popen[bytes], tmp_path: Path) -> None:
    """Send the STATE, close the pipe, and wait for the run to succeed."""
    send(process.stdin, [state_message(STATE)])
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(120) == 0, (tmp_path / "stderr").read_text()


def parts_of(s3: Any, bucket: str, key: str) -> list[int]:
    """Sizes of the parts S3 holds for the key's open multipart upload (none: [])."""
    uploads = [u for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    mine = [u["UploadId"] for u in uploads if u["Key"] == key]
    if not mine:
        return []
    listing = s3.list_parts(Bucket=bucket, Key=key, UploadId=mine[0])
    return [part["Size"] for part in listing.get("Parts", [])]


def spooled_bytes(spool_dir: Path) -> int:
    return sum(p.stat().st_size for p in spool_dir.rglob("*") if p.is_file())


def test_parts_go_up_while_input_is_open_and_nothing_is_complete_before_its_end(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    bucket = config["bucket"]
    small = [record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)]
    big = big_segment_records("b", PART_SIZE * 5 // 2, seed=3)
    messages = [schema_message("m", MEMBER_SCHEMA), *small, *big]
    with target_reading(config, tmp_path) as process:
        send(process.stdin, messages)
        wait_until(lambda: len(parts_of(s3, bucket, BIG_KEY)) >= 2, "two parts of b uploaded")
        assert parts_of(s3, bucket, BIG_KEY) == [PART_SIZE, PART_SIZE]
        assert process.poll() is None  # still reading input
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0  # nothing complete yet
        end_input(process, tmp_path)
    assert (tmp_path / "stdout").read_text().splitlines() == [json.dumps(STATE)]
    found = objects(s3, bucket)
    assert sorted(found) == [SMALL_KEY, BIG_KEY]
    assert rows_by_segment(found) == sent_by_segment(singer_text(messages).encode())
    head = s3.head_object(Bucket=bucket, Key=BIG_KEY)
    assert head["ETag"].strip('"').endswith("-3")  # the two parts sent early, and the rest
    assert s3.head_object(Bucket=bucket, Key=SMALL_KEY)["ETag"].count("-") == 0  # PutObject
    assert open_uploads(s3, bucket) == []


def test_temp_disk_holds_about_one_part_while_a_large_encrypted_file_streams(
    config: dict[str, Any], s3: Any, tmp_path: Path, spool_dir: Path, gpg_keys: Any
) -> None:
    """Six parts' worth of one segment: once five parts are up, the spool holds at most the
    part being written and one in flight, and never a byte of plaintext."""
    bucket = config["bucket"]
    config = {**config, "pgp_public_key": gpg_keys.public["cv25519"]}
    big = big_segment_records("b", PART_SIZE * 6, seed=8)
    messages = [schema_message("m", MEMBER_SCHEMA), *big]
    key = BIG_KEY + ".gpg"
    plaintext = [r["record"]["email"].encode()[:64] for r in (big[0], big[len(big) // 2], big[-1])]
    with target_reading(config, tmp_path) as process:
        send(process.stdin, messages)
        wait_until(lambda: len(parts_of(s3, bucket, key)) >= 5, "five parts uploaded")
        wait_until(
            lambda: spooled_bytes(spool_dir) <= 2 * PART_SIZE,
            "the spool down to the part being written and one in flight",
        )
        for path in spool_dir.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(text in data for text in plaintext), path
        end_input(process, tmp_path)
    found = objects(s3, bucket)
    assert list(found) == [key]
    result = gpg_keys.decrypt(found[key])
    assert result.ok, result.status
    sent = sent_by_segment(singer_text(messages).encode())
    assert rows_by_segment({BIG_KEY: result.plaintext}) == sent
    assert list(spool_dir.iterdir()) == []


def test_sigterm_during_input_aborts_the_upload_started_while_reading(
    config: dict[str, Any], s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    bucket = config["bucket"]
    messages = [schema_message("m", MEMBER_SCHEMA), *big_segment_records("b", PART_SIZE * 2)]
    with target_reading(config, tmp_path) as process:
        send(process.stdin, [*messages, state_message(STATE)])  # the STATE is never released
        wait_until(lambda: len(parts_of(s3, bucket, BIG_KEY)) >= 1, "a part of b uploaded")
        process.terminate()
        assert process.wait(60) == 128 + signal.SIGTERM
    stderr = (tmp_path / "stderr").read_text()
    assert "Stopped by SIGTERM" in stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "stdout").read_text() == ""
    assert open_uploads(s3, bucket) == []  # aborted by its UploadId
    assert objects(s3, bucket) == {}
    assert list(spool_dir.iterdir()) == []


def test_an_encrypted_parquet_file_streams_its_row_groups_as_parts_during_input(
    config: dict[str, Any], s3: Any, tmp_path: Path, gpg_keys: Any
) -> None:
    """Parquet's row groups go through OpenPGP into the part buffer like CSV rows: full parts
    of the encrypted file are in S3 while input is open, and gpg decrypts the completed object
    to a file pyarrow reads with every row."""
    from tests.support.parquet_read import arrow_table

    bucket = config["bucket"]
    config = {**config, "file_type": "parquet", "pgp_public_key": gpg_keys.public["cv25519"]}
    big = big_segment_records("b", PART_SIZE * 3, seed=5)
    messages = [schema_message("m", MEMBER_SCHEMA), *big]
    key = "amazon_s3_segmentb_20240501_061804.parquet.gpg"
    with target_reading(config, tmp_path) as process:
        send(process.stdin, messages)
        wait_until(lambda: len(parts_of(s3, bucket, key)) >= 2, "two parts of b uploaded")
        assert process.poll() is None  # still reading input
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
        end_input(process, tmp_path)
    assert (tmp_path / "stdout").read_text().splitlines() == [json.dumps(STATE)]
    found = objects(s3, bucket)
    assert list(found) == [key]
    result = gpg_keys.decrypt(found[key])
    assert result.ok, result.status
    table = arrow_table(result.plaintext)
    assert table.num_rows == len(big)
    assert sorted(table.column("email").to_pylist()) == sorted(r["record"]["email"] for r in big)
    assert open_uploads(s3, bucket) == []
