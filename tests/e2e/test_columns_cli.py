"""Columns through the CLI: Singer's `_sdc_*` metadata stays out of files unless named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    TAP_JSONL_SCHEMA,
    objects,
    record_message,
    run_target,
    schema_message,
)


def tap_jsonl_messages() -> list[dict[str, Any]]:
    record = {
        "segment_id": "s1",
        "email": "ana@example.com",
        "_sdc_filename": "/home/etl/exports/members.jsonl",
        "_sdc_last_modified": "2024-04-30T12:00:00+00:00",
    }
    return [schema_message("members", TAP_JSONL_SCHEMA), record_message("members", record)]


@pytest.mark.parametrize("paths", [{}, {"schema_validation": "full"}], ids=["fast", "sdk"])
def test_the_tap_host_s_file_path_is_not_exported_by_default(
    paths: dict[str, Any], config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    run = run_target({**config, **paths}, tap_jsonl_messages(), tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines() == [
        "segment_id\temail\tperson__sdc_note",
        "s1\tana@example.com\t",
    ]


def test_fields_export_singer_metadata_when_named(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config["fields"] = ["email", "_sdc_filename"]
    run = run_target(config, tap_jsonl_messages(), tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines() == [
        "email\t_sdc_filename",
        "ana@example.com\t/home/etl/exports/members.jsonl",
    ]


def test_metadata_the_sdk_adds_is_not_exported_by_default(
    config: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    config["add_record_metadata"] = True
    messages = [
        schema_message(
            "members", {"type": "object", "properties": {"segment_id": {}, "email": {}}}
        ),
        record_message("members", {"segment_id": "s1", "email": "ana@example.com"}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines() == ["segment_id\temail", "s1\tana@example.com"]
