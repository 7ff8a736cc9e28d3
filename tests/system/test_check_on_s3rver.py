"""`--check` against s3rver over HTTPS, a second S3 implementation: no multipart listing nor
abort (warnings), and a probe read back framed with botocore's default checksums."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deliveries import WHEN_REQUIRED
from tests.support.helpers import check_columns, objects, run_check
from tests.support.s3_servers import S3rver, s3rver_or_skip


@pytest.fixture(scope="module")
def s3rver() -> Iterator[S3rver]:
    yield from s3rver_or_skip()


@pytest.mark.parametrize("settings", [{}, WHEN_REQUIRED])
def test_check_on_s3rver(
    s3rver: S3rver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str],
) -> None:
    """With botocore's defaults the probe comes back framed; with when_required it is
    whole. s3rver has no multipart listing nor abort: warnings, not failures."""
    monkeypatch.setenv("AWS_CA_BUNDLE", str(s3rver.ca_bundle))
    bucket = s3rver.bucket()
    run = run_check({**s3rver.target_config(bucket), **settings}, tmp_path)
    lines = check_columns(run)
    assert [(status, what) for status, what, _ in lines] == [
        ("ok", "s3:ListBucket"),
        ("ok", "s3:PutObject"),
        ("ok" if settings else "failed", "s3:GetObject"),
        ("ok", "s3:DeleteObject"),
        ("warn", "s3:ListBucketMultipartUploads"),
        ("warn", "s3:AbortMultipartUpload"),
    ]
    probe = lines[1][2]
    if not settings:
        assert run.returncode == 1
        assert re.fullmatch(
            rf"{re.escape(probe)} read back \d+ bytes, 33 were written \(the server may have "
            r"kept botocore's aws-chunked framing as the content, as s3rver does: set "
            r"request_checksum_calculation and response_checksum_validation to "
            r"when_required\)",
            lines[2][2],
        )
    else:
        assert run.returncode == 0, run.stdout + run.stderr
    assert lines[4][2].startswith("NotImplemented: ")
    assert lines[4][2].endswith("; optional")
    assert re.fullmatch(
        rf"MethodNotAllowed: .*: the server cannot abort uploads, so a failed run leaves its "
        rf"parts; abort upload \S+ of {re.escape(probe)} by hand \(it holds no part\)",
        lines[5][2],
    )
    assert objects(s3rver.client(), bucket) == {}
