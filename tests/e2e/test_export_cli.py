"""End to end through the CLI: Singer input → target → local S3 server → read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.support.helpers import (
    MEMBER_SCHEMA,
    error_lines,
    objects,
    open_uploads,
    record_message,
    run_target,
    schema_message,
    state_message,
)

LUX = "25768be6-4a1c-4f0e-9d3e-3c0b8a1e5f10"
LAPSED = "8f14e45f-ceea-467a-9af0-2b1c3d4e5f60"
FANS = "c9f0f895-fb98-4b91-8d7e-1a2b3c4d5e6f"


def member(segment_id: str, name: str | None, email: str, first: str | None, score: Any) -> dict:
    return {
        "segment_id": segment_id,
        "segment_name": name,
        "email": email,
        "first_name": first,
        "score": score,
    }


def three_segments() -> list[dict]:
    return [
        schema_message("members", MEMBER_SCHEMA, ["email"]),
        record_message("members", member(LUX, "Luxury Audience", "a@x.com", "Ana", 1.5)),
        record_message("members", member(LAPSED, "Lapsed Buyers", "b@x.com", "Bo", 2)),
        state_message({"bookmarks": {"members": 2}}),
        record_message("members", member(LUX, "Luxury Audience", "c@x.com", None, None)),
        record_message("members", member(FANS, "Newsletter Fans", "d@x.com", "Dé", 0.25)),
        state_message({"bookmarks": {"members": 4}}),
    ]


def test_three_segments_exact_keys_and_bytes(config: dict, s3: Any, tmp_path: Path) -> None:
    config["folder_path"] = "acme/campaigns/%SEGMENT_NAME%"
    run = run_target(config, three_segments(), tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    stamp = "20240501_061804"
    assert set(found) == {
        f"acme/campaigns/Luxury Audience/amazon_s3_segment{LUX}_{stamp}.csv",
        f"acme/campaigns/Lapsed Buyers/amazon_s3_segment{LAPSED}_{stamp}.csv",
        f"acme/campaigns/Newsletter Fans/amazon_s3_segment{FANS}_{stamp}.csv",
    }
    header = b"segment_id\tsegment_name\temail\tfirst_name\tscore\n"
    lux = found[f"acme/campaigns/Luxury Audience/amazon_s3_segment{LUX}_{stamp}.csv"]
    assert lux == (
        header
        + f"{LUX}\tLuxury Audience\ta@x.com\tAna\t1.5\n".encode()
        + f"{LUX}\tLuxury Audience\tc@x.com\t\t\n".encode()
    )
    fans = found[f"acme/campaigns/Newsletter Fans/amazon_s3_segment{FANS}_{stamp}.csv"]
    assert fans == header + f"{FANS}\tNewsletter Fans\td@x.com\tDé\t0.25\n".encode()


def test_state_is_last_line_and_only_the_latest(config: dict, s3: Any, tmp_path: Path) -> None:
    run = run_target(config, three_segments(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout_lines == [json.dumps({"bookmarks": {"members": 4}})]
    assert len(objects(s3, config["bucket"])) == 3


def test_header_from_schema_when_records_miss_fields(config: dict, s3: Any, tmp_path: Path) -> None:
    config["csv_null_value"] = "null"
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        record_message("members", {"segment_id": "s1", "email": "only@x.com"}),
        record_message("members", {"segment_id": "s1", "first_name": "Zed", "extra": 1}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines() == [
        "segment_id\tsegment_name\temail\tfirst_name\tscore",
        "s1\tnull\tonly@x.com\tnull\tnull",
        "s1\tnull\tnull\tZed\tnull",
    ]


def test_stream_without_segment_field_is_its_own_segment(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config["folder_path"] = "%SEGMENT_NAME%"
    config["segment_names"] = {"vip_customers": "VIP Customers"}
    schema = {"type": "object", "properties": {"email": {"type": "string"}}}
    messages = [
        schema_message("vip_customers", schema),
        record_message("vip_customers", {"email": "v@x.com"}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert objects(s3, config["bucket"]) == {
        "VIP Customers/amazon_s3_segmentvip_customers_20240501_061804.csv": b"email\nv@x.com\n"
    }


def test_fields_select_rename_order_and_nested(config: dict, s3: Any, tmp_path: Path) -> None:
    config["fields"] = [
        {"source": "person.email", "target": "Email"},
        "person.name.firstName",
        "segment_id",
    ]
    config["file_name_template"] = "%DESTINATION_NAME%_%SEGMENT_ID%"
    schema = {
        "type": "object",
        "properties": {
            "segment_id": {"type": "string"},
            "person": {
                "type": "object",
                "properties": {
                    "email": {"type": "string"},
                    "name": {"type": "object", "properties": {"firstName": {"type": "string"}}},
                },
            },
        },
    }
    record = {"segment_id": "s9", "person": {"email": "p@x.com", "name": {"firstName": "Pé"}}}
    run = run_target(config, [schema_message("s", schema), record_message("s", record)], tmp_path)
    assert run.returncode == 0, run.stderr
    assert objects(s3, config["bucket"]) == {
        "amazon_s3_s9.csv": "Email\tperson_name_firstName\tsegment_id\np@x.com\tPé\ts9\n".encode()
    }


def test_two_streams_feed_one_segment_file(config: dict, s3: Any, tmp_path: Path) -> None:
    messages = [
        schema_message("web", MEMBER_SCHEMA),
        schema_message("crm", MEMBER_SCHEMA),
        record_message("web", member("s1", "One", "w@x.com", None, None)),
        record_message("crm", member("s1", "One", "c@x.com", None, None)),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines()[1:] == ["s1\tOne\tw@x.com\t\t", "s1\tOne\tc@x.com\t\t"]


def test_two_streams_with_other_columns_fail_clearly(
    config: dict, s3: Any, tmp_path: Path, spool_dir: Path
) -> None:
    other = {"type": "object", "properties": {"segment_id": {"type": "string"}}}
    messages = [
        schema_message("web", MEMBER_SCHEMA),
        schema_message("crm", other),
        record_message("web", member("s1", "One", "w@x.com", None, None)),
        record_message("crm", {"segment_id": "s1"}),
        state_message({"done": True}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 1
    assert "input line 4" in run.stderr
    assert "stream 'crm' sends rows to segment 's1'" in run.stderr
    assert run.stdout_lines == []
    assert objects(s3, config["bucket"]) == {}
    assert list(spool_dir.iterdir()) == []


def test_schema_change_that_changes_columns_fails_clearly(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    wider = {
        "type": "object",
        "properties": {**MEMBER_SCHEMA["properties"], "country": {"type": "string"}},
    }
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        record_message("members", member("s1", "One", "a@x.com", None, None)),
        schema_message("members", wider),
        record_message("members", {**member("s1", "One", "b@x.com", None, None), "country": "FR"}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 1
    assert "input line 4" in run.stderr
    assert "changed its columns while the file of segment 's1' is open" in run.stderr
    assert objects(s3, config["bucket"]) == {}


def test_large_file_goes_up_as_a_multipart_upload(config: dict, s3: Any, tmp_path: Path) -> None:
    filler = "x" * 1000
    records = [
        record_message("members", member("big", None, f"{i}@x.com", filler, i)) for i in range(9000)
    ]
    run = run_target(config, [schema_message("members", MEMBER_SCHEMA), *records], tmp_path)
    assert run.returncode == 0, run.stderr
    key = "amazon_s3_segmentbig_20240501_061804.csv"
    head = s3.head_object(Bucket=config["bucket"], Key=key)
    assert head["ETag"].strip('"').endswith("-2")  # two parts of a multipart upload
    body = s3.get_object(Bucket=config["bucket"], Key=key)["Body"].read().decode()
    lines = body.splitlines()
    assert len(lines) == 9001
    assert lines[-1] == f"big\t\t8999@x.com\t{filler}\t8999"
    assert open_uploads(s3, config["bucket"]) == []


def test_ids_that_sanitise_alike_get_distinct_keys(config: dict, s3: Any, tmp_path: Path) -> None:
    config["file_name_template"] = "%SEGMENT_ID%"
    ids = ["a/b", "a\\b", "a_b"]
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        *(
            record_message("members", member(segment_id, "n", f"{i}@x.com", None, None))
            for i, segment_id in enumerate(ids)
        ),
        state_message({"n": 3}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    digest = {i: hashlib.sha256(i.encode()).hexdigest()[:12] for i in ids}
    keys = {
        f"a_b~{digest['a/b']}.csv": "0@x.com",
        f"a_b~{digest[ids[1]]}.csv": "1@x.com",
        "a_b.csv": "2@x.com",  # an id that needs no change keeps its name
    }
    assert set(found) == set(keys)
    for key, email in keys.items():
        assert found[key].decode().splitlines()[1].split("\t")[2] == email
    assert run.stdout_lines == ['{"n": 3}']


def test_two_segments_that_would_share_a_key_fail_naming_both(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config["file_name_template"] = "%SEGMENT_ID%_%SEGMENT_NAME%"
    messages = [
        schema_message("members", MEMBER_SCHEMA),
        record_message("members", member("a_b", "c", "1@x.com", None, None)),
        record_message("members", member("a", "b_c", "2@x.com", None, None)),
        state_message({"n": 2}),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    (line,) = error_lines(run.stderr)
    assert line == (
        "Export failed: segment 'a' part 1 and segment 'a_b' part 1 would both be written to "
        "'a_b_c.csv'; give %SEGMENT_ID% a folder of its own (e.g. folder_path "
        "'exports/%SEGMENT_ID%'), where no other text runs into it. No STATE was emitted for "
        "undelivered records."
    )
    assert objects(s3, config["bucket"]) == {}
    assert open_uploads(s3, config["bucket"]) == []


def test_temp_files_are_removed_after_success(
    config: dict, tmp_path: Path, spool_dir: Path
) -> None:
    run = run_target(config, three_segments(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert list(spool_dir.iterdir()) == []


def test_no_records_uploads_nothing_and_passes_state(config: dict, s3: Any, tmp_path: Path) -> None:
    messages = [schema_message("members", MEMBER_SCHEMA), state_message({"n": 0})]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert objects(s3, config["bucket"]) == {}
    assert run.stdout_lines == ['{"n": 0}']


def test_values_are_written_exactly_as_received(config: dict, s3: Any, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "segment_id": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "amount": {"type": "number"},
            "active": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "prefs": {"type": "object"},
        },
    }
    line = (
        '{"type":"RECORD","stream":"m","record":{"segment_id":"s","at":"2024-01-02T03:04:05.600+02:00",'
        '"amount":10.50,"active":true,"tags":["a","é"],"prefs":{"x":1.0,"y":null}}}\n'
    )
    text = json.dumps(schema_message("m", schema)) + "\n" + line
    run = run_target(config, text, tmp_path)
    assert run.returncode == 0, run.stderr
    (body,) = objects(s3, config["bucket"]).values()
    assert body.decode().splitlines()[1] == (
        's\t2024-01-02T03:04:05.600+02:00\t10.50\ttrue\t"[\\"a\\",\\"é\\"]"\t"{\\"x\\":1.0,\\"y\\":null}"'
    )


HOSTILE = [
    "../../escape",
    "/leading/slash",
    "back\\slash",
    "..",
    ".",
    "tab\there\nnewline\x00nul\x7fdel",
    "Ünïcødé 日本 Audience",
    "x" * 1000,
]


def test_hostile_segment_values_stay_inside_the_folder(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config["folder_path"] = "exports/%SEGMENT_NAME%/%SEGMENT_ID%"
    config["file_name_template"] = "%SEGMENT_NAME%_%DATETIME%"
    messages = [schema_message("m", MEMBER_SCHEMA)] + [
        record_message("m", member(value, value, f"{i}@x.com", None, None))
        for i, value in enumerate(HOSTILE)
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    keys = sorted(objects(s3, config["bucket"]))
    assert len(keys) == len(HOSTILE)  # nothing overwrote anything
    for key in keys:
        parts = key.split("/")
        assert parts[0] == "exports"
        assert len(parts) == 4  # exports / name / id / file: one segment per value
        assert all(p not in ("", ".", "..") for p in parts)
        assert not any(ord(c) < 32 or c == "\\" for c in key)
        assert len(key.encode()) <= 1024
    assert any(k.startswith("exports/Ünïcødé 日本 Audience/") for k in keys)
