"""The manifest document and where it goes (pure functions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from target_adobe_s3.naming.macros import RunContext, Template
from target_adobe_s3.naming.manifest import Delivered, manifest_bytes, manifest_key
from target_adobe_s3.naming.safety import MacroError

RUN = RunContext(datetime(2024, 5, 1, 6, 18, 4, tzinfo=timezone.utc), "run-1", "Acme")


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("", ""),
        ("acme/campaigns", "acme/campaigns"),
        ("acme/campaigns/%SEGMENT_NAME%", "acme/campaigns/"),
        ("acme/seg-%SEGMENT_ID%/x", "acme/"),
        ("%SEGMENT_NAME%/x", ""),
        ("acme/%DATETIME(YYYY)%/%STREAM_NAME%", "acme/2024/"),
        ("acme/%DESTINATION_NAME%", "acme/Acme"),
    ],
)
def test_run_folder_stops_before_the_first_segment_macro(folder: str, expected: str) -> None:
    assert Template.parse(folder).run_folder(RUN) == expected


def test_manifest_key() -> None:
    assert manifest_key("acme/", "Acme", "run-1") == "acme/manifest-Acme-run-1.json"
    assert manifest_key("", "amazon_s3", "r") == "manifest-amazon_s3-r.json"
    with pytest.raises(MacroError):
        manifest_key("acme/", "a/b", "r")


def test_manifest_document_has_aeps_fields_and_ours() -> None:
    files = [
        Delivered("s1", "Luxury", "acme/Luxury/a.csv", 2, 30, "ab" * 32),
        Delivered("s1", "Luxury", "b_2.csv", 1, 10, "cd" * 32, part=2),
    ]
    document = json.loads(manifest_bytes("run-1", RUN.export_time, files))
    assert document == {
        "flowRunId": "run-1",
        "scheduledTime": "2024-05-01T06:18:04Z",
        "exportResults": [
            {
                "sinkPath": "/acme/Luxury",
                "name": "a.csv",
                "size": 30,
                "segmentId": "s1",
                "segmentName": "Luxury",
                "rows": 2,
                "sha256": "ab" * 32,
            },
            {
                "sinkPath": "/",
                "name": "b_2.csv",
                "size": 10,
                "segmentId": "s1",
                "segmentName": "Luxury",
                "rows": 1,
                "sha256": "cd" * 32,
            },
        ],
    }
