"""The fast record path and the SDK's record path write the same bytes and the same errors.

`schema_validation: full` takes the SDK's path (jsonschema, sinks); the default takes the
fast path (typed decoder, flat writer); `validate_records: false` takes the fast path
without checks. Every scenario runs through all three and the objects must be equal.
"""

from __future__ import annotations

import io
import random
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from target_adobe_s3.target import TargetAdobeS3
from tests.support.helpers import (
    export_and_take,
    record_message,
    run_target,
    schema_message,
    singer_text,
    state_message,
)

PATHS = {
    "sdk": {"schema_validation": "full"},
    "fast": {},
    "fast-unchecked": {"validate_records": False},
}

FLAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segment_id": {"type": ["string", "integer"]},
        "segment_name": {"type": ["string", "null"]},
        "segment_status": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "score": {"type": ["number", "null"]},
        "visits": {"type": ["integer", "null"]},
        "vip": {"type": ["boolean", "null"]},
        "seen_at": {"type": ["string", "null"], "format": "date-time"},
        "address": {
            "type": ["object", "null"],
            "properties": {"city": {"type": ["string", "null"]}},
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "note": {"type": ["string", "null"]},
        "last_qualification_time": {"type": ["string", "null"]},
    },
    "required": ["email"],
}

NOTES = [
    "plain",
    "",
    None,
    "tab\there",
    'quote " inside',
    "back\\slash",
    "line\nbreak",
    "cr\rhere",
    "=SUM(A1:A2)",
    "+1 555",
    "-minus",
    "@handle",
    "\tleading tab",
    "ünïcödé ✓ 日本",
    "comma, semicolon; pipe|",
]


def flat_records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Records of every value type the writer converts, over four segments."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        segment = i % 4
        record: dict[str, Any] = {
            "segment_id": segment if segment == 3 else f"seg-{segment}",
            "segment_name": None if segment == 2 else f"Segment {segment}",
            "segment_status": rng.choice(["realized", "existing", "exited", "EXITED", None]),
            "email": f"user{rng.randrange(40)}@example.com",
            "score": rng.choice([None, 1, 10.5, -0.25, 1e21, 3.0]),
            "visits": rng.choice([None, 0, 7, 2**70]),
            "vip": rng.choice([None, True, False]),
            "seen_at": rng.choice([None, "2024-05-01T06:18:04.120+02:00", "2024-05-01"]),
            "address": rng.choice([None, {"city": "Köln"}, {"city": None, "zip": "50667"}]),
            "tags": rng.choice([None, [], ["a", "b,c"]]),
            "note": rng.choice(NOTES),
            "last_qualification_time": f"2024-05-0{1 + i % 9}T00:00:00Z",
        }
        if i % 11 == 5:
            del record["note"]  # absent, not null
        records.append(record)
    return records


def flat_messages(count: int = 300) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [schema_message("members", FLAT_SCHEMA, ["email"])]
    for i, record in enumerate(flat_records(count)):
        messages.append(record_message("members", record))
        if i % 50 == 49:
            messages.append(state_message({"offset": i + 1}))
    return messages


def membership_messages() -> list[dict[str, Any]]:
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": ["string", "null"]},
            "score": {"type": ["number", "null"]},
            "segmentMembership": {"type": ["object", "null"]},
        },
    }
    messages: list[dict[str, Any]] = [schema_message("profiles", schema)]
    for i in range(60):
        ups = {
            f"seg-{s}": {
                "status": ["realized", "existing", "exited"][(i + s) % 3],
                "lastQualificationTime": f"2024-05-0{1 + (i + s) % 9}T00:00:00Z",
            }
            for s in range(i % 4)
        }
        messages.append(
            record_message(
                "profiles",
                {
                    "email": f"p{i % 25}@example.com",
                    "score": i / 4,
                    "segmentMembership": {"ups": ups} if i % 7 else None,
                },
            )
        )
    messages.append(state_message({"offset": 60}))
    return messages


SCENARIOS: dict[str, tuple[dict[str, Any], Any]] = {
    "flat-defaults": ({}, flat_messages),
    "flat-incremental-formula-escape": (
        {"export_mode": "incremental", "csv_formula_escape": True},
        flat_messages,
    ),
    "flat-csv-options-and-parts": (
        {
            "csv_delimiter": ",",
            "csv_quote": "",
            "csv_null_value": "null",
            "csv_empty_value": '""',
            "max_rows_per_file": 20,
            "mandatory_fields": ["note"],
        },
        flat_messages,
    ),
    "flat-quote-all-gzip": ({"csv_quote_all": True, "compression": "gzip"}, flat_messages),
    "flat-selected-fields": (
        {
            "fields": ["email", {"source": "address.city", "target": "city"}, "score", "note"],
            "folder_path": "exports/%SEGMENT_NAME%",
        },
        flat_messages,
    ),
    "flat-dedup": (
        {"deduplication_keys": ["email"], "include_manifest": True},
        flat_messages,
    ),
    "flat-ndjson": ({"file_type": "json"}, flat_messages),
    "membership-fan-out": ({"export_mode": "incremental"}, membership_messages),
    "membership-dedup-full": ({"deduplication_keys": ["email"]}, membership_messages),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_record_paths_write_the_same_bytes(
    scenario: str, config: dict, s3: Any, tmp_path: Path
) -> None:
    settings, messages = SCENARIOS[scenario]
    written: dict[str, dict[str, bytes]] = {}
    states: dict[str, list[str]] = {}
    for name, path_settings in PATHS.items():
        run, found = export_and_take(
            {**config, **settings, **path_settings}, messages(), tmp_path, s3
        )
        assert found, f"{name} wrote nothing"
        written[name] = found
        states[name] = run.stdout_lines
    assert written["fast"] == written["sdk"]
    assert written["fast-unchecked"] == written["sdk"]
    assert states["fast"] == states["sdk"] == states["fast-unchecked"]
    assert len(states["sdk"]) == 1  # the last STATE only, after delivery


def test_the_scenarios_hit_what_the_fast_path_converts(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    """Guard against a vacuous comparison: the flat files hold every kind of value."""
    _, found = export_and_take(config, flat_messages(), tmp_path, s3)
    text = b"".join(found.values()).decode()
    for fragment in ("1E+21", "10.5", "1180591620717411303424", "true", "\tKöln\t", '"[\\"a'):
        assert fragment in text
    assert '"tab\there"' in text  # quoted by the per-field rules
    assert "=SUM(A1:A2)" in text  # unescaped by default, as AEP writes it
    assert "exited" not in text.lower()  # full mode leaves exited members out


BAD_RECORDS = [
    pytest.param(
        {"segment_id": "s", "email": 5},
        "stream 'members': field 'email' should be of type ['string', 'null'], got integer",
        id="wrong-type",
    ),
    pytest.param(
        {"segment_id": "s", "email": "a@x", "score": "12"},
        "stream 'members': field 'score' should be of type ['number', 'null'], got string",
        id="string-for-number",
    ),
    pytest.param(
        {"segment_id": "s", "email": "a@x", "vip": 1},
        "stream 'members': field 'vip' should be of type ['boolean', 'null'], got integer",
        id="integer-for-boolean",
    ),
    pytest.param(
        {"segment_id": "s", "email": "a@x", "visits": 1.5},
        "stream 'members': field 'visits' should be of type ['integer', 'null'], got number",
        id="number-for-integer",
    ),
    pytest.param(
        {"segment_id": "s"},
        "stream 'members': required field 'email' is missing",
        id="required-missing",
    ),
    pytest.param(
        {"segment_id": "", "email": "a@x"},
        "stream 'members': segment id field 'segment_id' is missing or empty",
        id="empty-segment-id",
    ),
]


@pytest.mark.parametrize(("record", "message"), BAD_RECORDS)
@pytest.mark.parametrize("path", ["sdk", "fast"])
def test_both_record_paths_give_the_same_error(
    record: dict, message: str, path: str, config: dict, s3: Any, tmp_path: Path
) -> None:
    good = {"segment_id": "s", "email": "ok@example.com"}
    messages = [
        schema_message("members", FLAT_SCHEMA),
        record_message("members", good),
        state_message({"offset": 1}),
        record_message("members", record),
    ]
    run = run_target({**config, **PATHS[path]}, messages, tmp_path)
    assert run.returncode == 1
    assert f"Export failed at input line 4: {message}." in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("path", ["sdk", "fast", "fast-unchecked"])
def test_a_missing_key_property_is_named_on_every_path(
    path: str, config: dict, s3: Any, tmp_path: Path
) -> None:
    messages = [
        schema_message("members", FLAT_SCHEMA, ["email", "visits"]),
        record_message("members", {"segment_id": "s", "email": "a@x"}),
    ]
    run = run_target({**config, **PATHS[path]}, messages, tmp_path)
    assert run.returncode == 1
    assert "stream 'members': key property 'visits' is missing from a record" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_new_schema_takes_over_the_stream_at_once(config: dict, s3: Any, tmp_path: Path) -> None:
    """The reader tries the last stream's whole-line decoder first; a SCHEMA must end that."""
    loose = {"type": "object", "properties": {"segment_id": {"type": "string"}, "n": {}}}
    strict = {
        "type": "object",
        "properties": {"segment_id": {"type": "string"}, "n": {"type": "integer"}},
    }
    messages = [
        schema_message("members", loose),
        record_message("members", {"segment_id": "s", "n": "text is fine here"}),
        record_message("members", {"segment_id": "s", "n": "and here"}),
        schema_message("members", strict),
        record_message("members", {"segment_id": "s", "n": "not any more"}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 1
    assert (
        "input line 5: stream 'members': field 'n' should be of type integer, got string"
        in run.stderr
    )


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_counts_every_record(
    path: str, config: dict, s3: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The fast path counts in batches; the totals are the SDK path's."""
    messages = flat_messages(5000)
    target = TargetAdobeS3(config={**config, **PATHS[path]})
    with redirect_stdout(io.StringIO()):
        counts = target.process_lines(io.StringIO(singer_text(messages)))
        target.process_endofpipe()
    assert counts["RECORD"] == 5000
    (sink,) = target._sinks_active.values()
    assert (sink._total_records_read, sink.record_counter_metric.value) == (5000, 5000)
    assert target.export.progress.records == 5000
