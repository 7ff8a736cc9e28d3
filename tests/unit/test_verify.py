"""What S3 stored against what was sent (s3/verify.py), and the Content-Type by extension."""

from __future__ import annotations

from typing import Any

import pytest

from target_adobe_s3.s3.upload import content_type
from target_adobe_s3.s3.verify import stored_problem


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
