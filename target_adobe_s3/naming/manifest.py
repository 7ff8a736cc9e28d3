"""The run's manifest: AEP's fields, plus rows and a SHA-256 per file (pure functions)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from target_adobe_s3.naming.safety import check_plain_value, join_key


@dataclass(frozen=True)
class Delivered:
    """A file that is completely in S3."""

    segment_id: str
    segment_name: str
    key: str
    rows: int
    size: int
    sha256: str
    part: int = 1


def manifest_key(run_folder: str, destination_name: str, run_id: str) -> str:
    """`<folder before its first segment macro>/manifest-<destination>-<run id>.json`."""
    name = f"manifest-{destination_name}-{run_id}.json"
    check_plain_value(name)
    return join_key(run_folder, name)


def _instant(t: datetime) -> str:
    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    text = t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def manifest_bytes(run_id: str, export_time: datetime, files: Sequence[Delivered]) -> bytes:
    """The manifest document, as AEP writes it with our extra per-file fields.

    `sinkPath` is the file's folder with a leading `/`, `name` its file name, `size` its
    bytes as uploaded; `segmentId`, `segmentName`, `rows` and `sha256` (of the uploaded
    bytes) are ours.
    """
    results = []
    for file in files:
        folder, _, name = file.key.rpartition("/")
        results.append(
            {
                "sinkPath": "/" + folder,
                "name": name,
                "size": file.size,
                "segmentId": file.segment_id,
                "segmentName": file.segment_name,
                "rows": file.rows,
                "sha256": file.sha256,
            }
        )
    document = {
        "flowRunId": run_id,
        "scheduledTime": _instant(export_time),
        "exportResults": results,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
