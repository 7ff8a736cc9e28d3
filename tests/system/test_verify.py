"""Delivery is verified: what S3 stored (size, SHA-256) against what was sent.

Through tests/support/faultproxy.py in front of moto, where the answer is altered, and
against s3rver 3.7.1 over HTTPS (tests/support/s3_servers.py), a second S3 implementation
that stores botocore's aws-chunked framing as the object's content. The moto-only cases are
in tests/e2e/test_verify.py, the pure ones in tests/unit/test_verify.py.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.s3.upload import PART_SIZE
from tests.support.deliveries import (
    BIG,
    BIG_KEY,
    BOTH,
    SMALL,
    SMALL_KEY,
    STATE,
    WHEN_REQUIRED,
    failure,
    framed_size,
)
from tests.support.faultproxy import FaultProxy
from tests.support.helpers import (
    objects,
    open_uploads,
    rows_by_segment,
    run_target,
    sent_by_segment,
)
from tests.support.s3_servers import S3rver, s3rver_or_skip

# --- through the fault proxy ------------------------------------------------------------------


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
