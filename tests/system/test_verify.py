"""Delivery is verified: what S3 stored (size, SHA-256) against what was sent; Content-Type.

Against moto (over HTTP, through tests/support/faultproxy.py where the answer is altered) and
against s3rver 3.7.1 over HTTPS (tests/support/s3_servers.py), a second S3 implementation
that stores botocore's aws-chunked framing as the object's content.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.s3.upload import PART_SIZE, content_type
from target_adobe_s3.s3.verify import stored_problem
from tests.support.faultproxy import FaultProxy
from tests.support.helpers import (
    MEMBER_SCHEMA,
    big_segment_records,
    objects,
    open_uploads,
    record_message,
    rows_by_segment,
    run_target,
    schema_message,
    sent_by_segment,
    singer_text,
    state_message,
)
from tests.support.s3_servers import S3rver, s3rver_or_skip

STATE = {"bookmark": 3}
SMALL_KEY = "amazon_s3_segmenta_20240501_061804.csv"
BIG_KEY = "amazon_s3_segmentb_20240501_061804.csv"
SMALL = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
        state_message(STATE),
    ]
).encode()
"""Segment `a` only: one small file, one PutObject."""
BIG = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *big_segment_records("b", PART_SIZE * 3 // 2, seed=11),
        state_message(STATE),
    ]
).encode()
"""Segment `b` only: over PART_SIZE even gzipped and encrypted, a two-part upload."""
BOTH = singer_text(
    [
        schema_message("m", MEMBER_SCHEMA),
        *(record_message("m", {"segment_id": "a", "email": f"{i}@x.com"}) for i in range(20)),
        *big_segment_records("b", PART_SIZE * 3 // 2, seed=11),
        state_message(STATE),
    ]
).encode()
WHEN_REQUIRED = {
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite(data: bytes) -> str:
    """S3's SHA-256 of a multipart object of PART_SIZE parts: of the parts' digests, -N."""
    digests = [
        hashlib.sha256(data[i : i + PART_SIZE]).digest() for i in range(0, len(data), PART_SIZE)
    ]
    return f"{base64.b64encode(hashlib.sha256(b''.join(digests)).digest()).decode()}-{len(digests)}"


def failure(stderr: str) -> str:
    """The one `Export failed` line of a run, from its message on."""
    lines = [line for line in stderr.splitlines() if "Export failed" in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0][lines[0].index("Export failed") :]


# --- pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a/seg.csv", "text/csv; charset=utf-8"),
        ("a/seg.json", "application/x-ndjson"),
        ("a/seg.csv.gz", "application/gzip"),
        ("a/seg.json.gz", "application/gzip"),
        ("a/seg.csv.gpg", "application/pgp-encrypted"),
        ("a/seg.csv.gz.gpg", "application/pgp-encrypted"),
        ("a/seg.CSV", "text/csv; charset=utf-8"),
        ("a.csv/seg", "application/octet-stream"),
        ("a/.csv", "application/octet-stream"),
        ("seg.txt", "application/octet-stream"),
    ],
)
def test_content_type_is_decided_by_the_last_extension(key: str, expected: str) -> None:
    assert content_type(key) == expected


@pytest.mark.parametrize(
    ("head", "checksum", "problem"),
    [
        ({"ContentLength": 10}, None, None),
        ({"ContentLength": 10, "ChecksumSHA256": "abc="}, None, None),
        ({"ContentLength": 10}, "abc=", None),  # the server shows none: size only
        ({"ContentLength": 10, "ChecksumSHA256": "abc="}, "abc=", None),
        ({"ContentLength": 10, "ChecksumSHA256": "abc=-2"}, "abc=-2", None),
        ({"ContentLength": 10, "ChecksumSHA256": "abc="}, "abc=-2", None),  # moto: no -N
        ({"ContentLength": 52}, "abc=", "S3 stored 52 bytes, 10 were sent"),
        (
            {"ContentLength": 10, "ChecksumSHA256": "xyz="},
            "abc=",
            "S3's SHA-256 is xyz=, the file's is abc=",
        ),
        (
            {"ContentLength": 10, "ChecksumSHA256": "abc=-3"},
            "abc=-2",
            "S3's SHA-256 is abc=-3, the file's is abc=-2",
        ),
    ],
)
def test_stored_problem(head: dict[str, Any], checksum: str | None, problem: str | None) -> None:
    assert stored_problem(head, 10, checksum) == problem


# --- moto: the SHA-256 goes with every upload and is compared ----------------------------------


def test_every_object_carries_our_sha256(config: dict[str, Any], s3: Any, tmp_path: Path) -> None:
    """S3 keeps the SHA-256 sent with the upload: the manifest's for a PutObject, and the
    composite of the parts' SHA-256s for a multipart upload."""
    run = run_target({**config, "include_manifest": True}, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps(STATE)]
    found = objects(s3, config["bucket"])
    manifest = json.loads(found.pop("manifest-amazon_s3-run-1.json"))
    assert sorted(found) == [SMALL_KEY, BIG_KEY]
    sha256 = {entry["name"]: entry["sha256"] for entry in manifest["exportResults"]}
    small = s3.head_object(Bucket=config["bucket"], Key=SMALL_KEY, ChecksumMode="ENABLED")
    assert small["ChecksumSHA256"] == sha256_b64(found[SMALL_KEY])
    assert bytes.fromhex(sha256[SMALL_KEY]) == base64.b64decode(small["ChecksumSHA256"])
    big = s3.head_object(Bucket=config["bucket"], Key=BIG_KEY, ChecksumMode="ENABLED")
    assert len(found[BIG_KEY]) > PART_SIZE
    # moto shows the composite without its `-2`; S3 shows it with.
    assert big["ChecksumSHA256"] == composite(found[BIG_KEY]).partition("-")[0]
    assert "Delivered s3://" in run.stderr


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(s3_endpoint) as running:
        yield running


@pytest.mark.parametrize(("data", "key"), [(SMALL, SMALL_KEY), (BIG, BIG_KEY)])
def test_a_checksum_that_differs_fails_the_run_and_deletes_the_object(
    config: dict[str, Any],
    proxy: FaultProxy,
    s3: Any,
    tmp_path: Path,
    spool_dir: Path,
    data: bytes,
    key: str,
) -> None:
    """The proxy changes the SHA-256 HeadObject reports, as if S3 held other bytes."""
    rule = proxy.add("wrong_checksum", method="HEAD", pattern=re.escape(key))
    run = run_target({**config, "endpoint_url": proxy.url}, data, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    assert rule.fired == 1
    bucket = config["bucket"]
    assert re.fullmatch(
        rf"Export failed: verifying s3://{bucket}/{key} failed: S3's SHA-256 is \S+, the "
        rf"file's is \S+; the object was deleted\. No STATE was emitted for undelivered "
        r"records\.",
        failure(run.stderr),
    )
    assert objects(s3, bucket) == {}
    assert open_uploads(s3, bucket) == []
    assert list(spool_dir.iterdir()) == []


def test_when_required_sends_no_checksum_and_verifies_the_size(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    run = run_target({**config, **WHEN_REQUIRED}, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    for key in (SMALL_KEY, BIG_KEY):
        head = s3.head_object(Bucket=config["bucket"], Key=key, ChecksumMode="ENABLED")
        assert [name for name in head if name.startswith("Checksum")] == []
    assert rows_by_segment(objects(s3, config["bucket"])) == sent_by_segment(BOTH)


@pytest.mark.parametrize(
    ("changes", "extension", "expected"),
    [
        ({}, ".csv", "text/csv; charset=utf-8"),
        ({"file_type": "json"}, ".json", "application/x-ndjson"),
        ({"compression": "gzip"}, ".csv.gz", "application/gzip"),
        ({"file_type": "json", "compression": "gzip"}, ".json.gz", "application/gzip"),
        ({"pgp": True}, ".csv.gpg", "application/pgp-encrypted"),
        ({"pgp": True, "compression": "gzip"}, ".csv.gz.gpg", "application/pgp-encrypted"),
    ],
)
def test_objects_get_the_content_type_of_their_file_type(
    config: dict[str, Any],
    s3: Any,
    tmp_path: Path,
    gpg_keys: Any,
    changes: dict[str, Any],
    extension: str,
    expected: str,
) -> None:
    """Small (PutObject) and multipart files alike; the manifest is JSON."""
    if changes.pop("pgp", False):
        changes["pgp_public_key"] = gpg_keys.public["cv25519"]
    run = run_target({**config, **changes, "include_manifest": True}, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    bucket = config["bucket"]
    types = {
        key: s3.head_object(Bucket=bucket, Key=key)["ContentType"] for key in objects(s3, bucket)
    }
    assert types == {
        SMALL_KEY.removesuffix(".csv") + extension: expected,
        BIG_KEY.removesuffix(".csv") + extension: expected,
        "manifest-amazon_s3-run-1.json": "application/json",
    }


# --- s3rver over HTTPS ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3rver() -> Iterator[S3rver]:
    yield from s3rver_or_skip()


@pytest.fixture
def on_s3rver(s3rver: S3rver, spool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Settings for a run against s3rver; the target trusts its certificate by AWS_CA_BUNDLE."""
    monkeypatch.setenv("AWS_CA_BUNDLE", str(s3rver.ca_bundle))
    return {
        **s3rver.target_config(s3rver.bucket()),
        "export_time": "2024-05-01T06:18:04Z",
        "run_id": "run-1",
        "temp_dir": str(spool_dir),
    }


def framed_size(size: int) -> int:
    """What s3rver stores for a body of `size` bytes sent aws-chunked with a SHA-256 trailer:
    `<hex size>\\r\\n<body>\\r\\n0\\r\\nx-amz-checksum-sha256:<44 Base64>\\r\\n\\r\\n`."""
    return len(f"{size:x}\r\n") + size + len("\r\n0\r\nx-amz-checksum-sha256:") + 44 + 4


def test_default_settings_on_s3rver_fail_and_delete_the_corrupt_object(
    on_s3rver: dict[str, Any], s3rver: S3rver, tmp_path: Path, spool_dir: Path
) -> None:
    run = run_target(on_s3rver, SMALL, tmp_path)
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    line = failure(run.stderr)
    bucket = on_s3rver["bucket"]
    match = re.fullmatch(
        rf"Export failed: verifying s3://{bucket}/{SMALL_KEY} failed: S3 stored (\d+) bytes, "
        r"(\d+) were sent \(the server may have kept botocore's aws-chunked framing as the "
        r"content, as s3rver does: set request_checksum_calculation and "
        r"response_checksum_validation to when_required\); the object was deleted\. No STATE "
        r"was emitted for undelivered records\.",
        line,
    )
    assert match, line
    stored, sent = int(match[1]), int(match[2])
    assert stored == framed_size(sent)
    assert objects(s3rver.client(), bucket) == {}
    assert list(spool_dir.iterdir()) == []


def test_default_settings_on_s3rver_fail_a_multipart_file_too(
    on_s3rver: dict[str, Any], s3rver: S3rver, tmp_path: Path
) -> None:
    run = run_target(on_s3rver, BIG, tmp_path)
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    bucket = on_s3rver["bucket"]
    match = re.search(
        rf"verifying s3://{bucket}/{BIG_KEY} failed: S3 stored (\d+) bytes, (\d+) were sent ",
        failure(run.stderr),
    )
    assert match
    stored, sent = int(match[1]), int(match[2])
    assert stored > sent  # each part framed (botocore's chunks of the part, a trailer)
    assert objects(s3rver.client(), bucket) == {}


def test_when_required_delivers_to_s3rver_byte_for_byte(
    on_s3rver: dict[str, Any], s3rver: S3rver, tmp_path: Path
) -> None:
    run = run_target({**on_s3rver, **WHEN_REQUIRED}, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps(STATE)]
    client = s3rver.client(**WHEN_REQUIRED)
    found = objects(client, on_s3rver["bucket"])
    assert sorted(found) == [SMALL_KEY, BIG_KEY]
    assert len(found[BIG_KEY]) > PART_SIZE
    assert rows_by_segment(found) == sent_by_segment(BOTH)
    head = client.head_object(Bucket=on_s3rver["bucket"], Key=BIG_KEY)
    assert head["ContentType"] == "text/csv; charset=utf-8"


def test_when_required_delivers_encrypted_files_to_s3rver(
    on_s3rver: dict[str, Any], s3rver: S3rver, tmp_path: Path, gpg_keys: Any
) -> None:
    config = {
        **on_s3rver,
        **WHEN_REQUIRED,
        "compression": "gzip",
        "pgp_public_key": gpg_keys.public["cv25519"],
    }
    run = run_target(config, BOTH, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3rver.client(**WHEN_REQUIRED), on_s3rver["bucket"])
    assert sorted(found) == [SMALL_KEY + ".gz.gpg", BIG_KEY + ".gz.gpg"]
    assert len(found[BIG_KEY + ".gz.gpg"]) > PART_SIZE  # really a multipart upload
    plain = {}
    for key, data in found.items():
        result = gpg_keys.decrypt(data)
        assert result.ok, result.status
        plain[key] = gzip.decompress(result.plaintext)
    assert rows_by_segment(plain) == sent_by_segment(BOTH)


def test_untrusted_certificate_is_one_line(
    s3rver: S3rver, spool_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    config = {**s3rver.target_config(s3rver.bucket()), "temp_dir": str(spool_dir)}
    run = run_target(config, SMALL, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    line = failure(run.stderr)
    assert line.startswith(f"Export failed: checking bucket '{config['bucket']}' failed: SSL ")
    assert "certificate verify failed" in line.lower(), line
    assert line.endswith(
        "(the server's certificate is not trusted: for a private CA or a self-signed "
        "certificate, set AWS_CA_BUNDLE to its PEM file)"
    )
