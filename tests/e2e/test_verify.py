"""Delivery is verified against moto: each upload carries our SHA-256 (checked after upload),
`when_required` sends none and verifies the size, and objects get their file type's
Content-Type. Faults and s3rver: tests/system/test_verify.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.deliveries import (
    BIG_KEY,
    BOTH,
    SMALL_KEY,
    STATE,
    WHEN_REQUIRED,
    composite,
    sha256_b64,
)
from tests.support.helpers import objects, rows_by_segment, run_target, sent_by_segment


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
