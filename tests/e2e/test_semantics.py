"""AEP's export semantics end to end: membership fan-out, export modes, mandatory fields,
parts, gzip, NDJSON, manifest and empty files, read back from the local S3 server."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from tests.support.helpers import (
    export_and_take,
    objects,
    record_message,
    run_target,
    schema_message,
    state_message,
)

STAMP = "20240501_061804"
PROFILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": ["string", "null"]},
        "person": {
            "type": ["object", "null"],
            "properties": {"firstName": {"type": ["string", "null"]}},
        },
        "segmentMembership": {"type": ["object", "null"]},
    },
}


def membership(**segments: tuple[str, str]) -> dict[str, Any]:
    """{"ups": {id: {"status": ..., "lastQualificationTime": ...}}}."""
    return {
        "ups": {
            sid: {"status": status, "lastQualificationTime": time}
            for sid, (status, time) in segments.items()
        }
    }


def profiles() -> list[dict]:
    return [
        schema_message("profiles", PROFILE_SCHEMA, ["email"]),
        record_message(
            "profiles",
            {
                "email": "a@x.com",
                "person": {"firstName": "Ana"},
                "segmentMembership": membership(
                    lux=("realized", "2024-04-30T10:00:00Z"),
                    lapsed=("exited", "2024-04-29T10:00:00Z"),
                    fans=("existing", "2024-04-01T00:00:00Z"),
                ),
            },
        ),
        record_message(
            "profiles",
            {
                "email": "b@x.com",
                "person": {"firstName": "Bo"},
                "segmentMembership": membership(lapsed=("existing", "2024-04-28T10:00:00Z")),
            },
        ),
        record_message("profiles", {"email": "c@x.com", "person": None}),
        state_message({"bookmarks": {"profiles": 3}}),
    ]


def tsv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode()), delimiter="\t"))


def by_name(found: dict[str, bytes]) -> dict[str, bytes]:
    return {key.rsplit("/", 1)[-1]: value for key, value in found.items()}


HEADER = [
    "email",
    "person_firstName",
    "segment_id",
    "segment_name",
    "segment_status",
    "last_qualification_time",
]


def test_membership_map_fans_out_and_full_mode_leaves_out_exited(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config["segment_names"] = {"lux": "Luxury Audience"}
    config["folder_path"] = "aep/%SEGMENT_NAME%"
    run = run_target(config, profiles(), tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    assert set(found) == {
        f"aep/Luxury Audience/amazon_s3_segmentlux_{STAMP}.csv",
        f"aep/lapsed/amazon_s3_segmentlapsed_{STAMP}.csv",
        f"aep/fans/amazon_s3_segmentfans_{STAMP}.csv",
    }
    files = by_name(found)
    assert tsv(files[f"amazon_s3_segmentlux_{STAMP}.csv"]) == [
        HEADER,
        ["a@x.com", "Ana", "lux", "Luxury Audience", "realized", "2024-04-30T10:00:00Z"],
    ]
    # Ana exited "lapsed": a full export is a snapshot of current members only.
    assert tsv(files[f"amazon_s3_segmentlapsed_{STAMP}.csv"]) == [
        HEADER,
        ["b@x.com", "Bo", "lapsed", "lapsed", "existing", "2024-04-28T10:00:00Z"],
    ]
    assert tsv(files[f"amazon_s3_segmentfans_{STAMP}.csv"])[1][4] == "existing"
    assert "1 exited (full mode)" in run.stderr
    assert "1 records had no segment membership" in run.stderr
    assert [json.loads(line) for line in run.stdout_lines] == [{"bookmarks": {"profiles": 3}}]


def test_incremental_mode_keeps_exited_members(config: dict, s3: Any, tmp_path: Path) -> None:
    config["export_mode"] = "incremental"
    config["fields"] = ["email", "segment_status", "last_qualification_time"]
    config["file_name_template"] = "%SEGMENT_ID%"
    run = run_target(config, profiles(), tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, config["bucket"]))
    assert tsv(files["lapsed.csv"]) == [
        ["email", "segment_status", "last_qualification_time"],
        ["a@x.com", "exited", "2024-04-29T10:00:00Z"],
        ["b@x.com", "existing", "2024-04-28T10:00:00Z"],
    ]
    assert tsv(files["lux.csv"])[1] == ["a@x.com", "realized", "2024-04-30T10:00:00Z"]


FLAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "segment_status": {"type": ["string", "null"]},
        "last_qualification_time": {"type": ["string", "null"]},
    },
}


def flat(
    email: str | None,
    phone: str | None = "1",
    time: str | None = None,
    segment: str = "s1",
    status: str = "realized",
) -> dict:
    return record_message(
        "m",
        {
            "segment_id": segment,
            "email": email,
            "phone": phone,
            "segment_status": status,
            "last_qualification_time": time,
        },
    )


def test_mandatory_fields_skip_rows_and_count_them(config: dict, s3: Any, tmp_path: Path) -> None:
    config["mandatory_fields"] = ["email", "phone"]
    config["fields"] = ["email", "phone"]
    config["file_name_template"] = "%SEGMENT_ID%"
    messages = [
        schema_message("m", FLAT_SCHEMA),
        flat("a@x.com"),
        flat(None),
        flat(""),
        record_message("m", {"segment_id": "s1", "phone": "2"}),  # email absent
        flat("b@x.com", phone=None),
        flat("c@x.com", segment="s2"),
        flat("", segment="s2"),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, config["bucket"]))
    assert tsv(files["s1.csv"]) == [["email", "phone"], ["a@x.com", "1"]]
    assert tsv(files["s2.csv"]) == [["email", "phone"], ["c@x.com", "1"]]
    summary = run.stderr.split("Run summary:", 1)[1]
    s1 = next(line for line in summary.splitlines() if line.startswith("s1 "))
    assert "3 missing email, 1 missing phone" in s1
    assert "5 rows skipped" in run.stderr


def test_parts_roll_over_at_max_rows_per_file(config: dict, s3: Any, tmp_path: Path) -> None:
    config["max_rows_per_file"] = 100
    config["fields"] = ["email"]
    config["file_name_template"] = "list_%SEGMENT_ID%"
    messages = [schema_message("m", FLAT_SCHEMA)] + [flat(f"u{i}@x.com") for i in range(250)]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, config["bucket"]))
    assert sorted(files) == ["list_s1.csv", "list_s1_2.csv", "list_s1_3.csv"]
    rows = {name: tsv(data) for name, data in files.items()}
    assert all(r[0] == ["email"] for r in rows.values())  # every part has the header
    assert [len(rows[n]) - 1 for n in sorted(rows)] == [100, 100, 50]
    emails = [r[0] for n in sorted(rows) for r in rows[n][1:]]
    assert emails == [f"u{i}@x.com" for i in range(250)]  # nothing lost, order kept
    assert "part 3" in run.stderr


def test_gzip_holds_the_same_bytes_as_the_plain_file(
    config: dict, s3: Any, bucket: str, tmp_path: Path
) -> None:
    config["file_name_template"] = "%SEGMENT_ID%"
    messages = [schema_message("m", FLAT_SCHEMA)] + [flat(f"u{i}@x.com") for i in range(50)]
    plain = run_target(config, messages, tmp_path)
    assert plain.returncode == 0, plain.stderr
    plain_bytes = by_name(objects(s3, bucket))["s1.csv"]
    s3.delete_object(Bucket=bucket, Key="s1.csv")
    config["compression"] = "gzip"
    zipped = run_target(config, messages, tmp_path)
    assert zipped.returncode == 0, zipped.stderr
    files = by_name(objects(s3, bucket))
    assert list(files) == ["s1.csv.gz"]
    assert files["s1.csv.gz"][:2] == b"\x1f\x8b"
    assert gzip.decompress(files["s1.csv.gz"]) == plain_bytes


def test_ndjson_keeps_json_types_and_nested_values(config: dict, s3: Any, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "segment_id": {"type": "string"},
            "email": {"type": "string"},
            "score": {"type": ["number", "null"]},
            "vip": {"type": "boolean"},
            "tags": {"type": "array"},
            "address": {"type": "object"},
        },
    }
    config["file_type"] = "json"
    config["file_name_template"] = "%SEGMENT_ID%"
    config["fields"] = ["email", "score", "vip", "tags", {"source": "address", "target": "addr"}]
    record = {
        "segment_id": "s1",
        "email": "a@x.com",
        "score": 10.50,
        "vip": True,
        "tags": ["a", "b"],
        "address": {"city": "Köln", "zip": "50667"},
    }
    text = (
        json.dumps(schema_message("m", schema))
        + "\n"
        + json.dumps(record_message("m", record), ensure_ascii=False).replace("10.5", "10.50")
        + "\n"
        + json.dumps(record_message("m", {"segment_id": "s1", "email": "b", "vip": False}))
        + "\n"
    )
    run = run_target(config, text, tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, config["bucket"]))
    assert list(files) == ["s1.json"]
    lines = files["s1.json"].decode().splitlines()
    assert lines[0] == (
        '{"email":"a@x.com","score":10.50,"vip":true,"tags":["a","b"],'
        '"addr":{"city":"Köln","zip":"50667"}}'
    )
    assert json.loads(lines[1]) == {
        "email": "b",
        "score": None,
        "vip": False,
        "tags": None,
        "addr": None,
    }


def test_manifest_lists_every_file_with_size_rows_and_sha256(
    config: dict, s3: Any, tmp_path: Path
) -> None:
    config["include_manifest"] = True
    config["folder_path"] = "acme/%DATETIME(YYYY)%/%SEGMENT_NAME%"
    config["destination_name"] = "Acme"
    config["max_rows_per_file"] = 2
    config["fields"] = ["email"]
    messages = [schema_message("m", FLAT_SCHEMA)] + [
        flat(f"u{i}@x.com", segment="s1" if i % 3 else "s2") for i in range(7)
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, config["bucket"])
    manifest_key = "acme/2024/manifest-Acme-run-1.json"
    assert manifest_key in found
    manifest = json.loads(found.pop(manifest_key))
    assert manifest["flowRunId"] == "run-1"
    assert manifest["scheduledTime"] == "2024-05-01T06:18:04Z"
    listed = {
        f"{entry['sinkPath'].lstrip('/')}/{entry['name']}": entry
        for entry in manifest["exportResults"]
    }
    assert set(listed) == set(found)
    for key, data in found.items():
        entry = listed[key]
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["rows"] == len(tsv(data)) - 1
        assert entry["segmentId"] == entry["segmentName"] == key.split("/")[2]
    assert sum(e["rows"] for e in listed.values()) == 7
    assert len(listed) == 4  # s1: 4 rows in 2 parts; s2: 3 rows in 2 parts


def test_empty_segments_get_header_only_files_on_request(
    config: dict, s3: Any, bucket: str, tmp_path: Path
) -> None:
    config["segment_names"] = {"s1": "Active", "s9": "Dormant"}
    config["fields"] = ["email", "phone"]
    config["file_name_template"] = "%SEGMENT_NAME%_%SEGMENT_ID%"
    messages = [schema_message("m", FLAT_SCHEMA), flat("a@x.com")]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(by_name(objects(s3, bucket))) == ["Active_s1.csv"]
    s3.delete_object(Bucket=bucket, Key="Active_s1.csv")
    config["export_empty_files"] = True
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, bucket))
    assert files == {
        "Active_s1.csv": b"email\tphone\na@x.com\t1\n",
        "Dormant_s9.csv": b"email\tphone\n",
    }


# --- deduplication ---------------------------------------------------------------------------


def dup(email: str, time: str | None, phone: str, segment: str = "s1") -> dict:
    return flat(email, phone=phone, time=time, segment=segment)


def test_dedup_latest_wins_and_ties_break_on_the_other_columns(
    config: dict, s3: Any, bucket: str, tmp_path: Path
) -> None:
    config["deduplication_keys"] = ["email"]
    config["fields"] = ["email", "phone", "last_qualification_time"]
    config["file_name_template"] = "%SEGMENT_ID%"
    rows = [
        dup("a@x.com", "2024-04-01T00:00:00Z", "old"),
        dup("a@x.com", "2024-04-02T00:00:00+02:00", "new"),  # latest: 2024-04-01T22:00Z
        dup("b@x.com", "2024-04-03T00:00:00Z", "latest"),
        dup("b@x.com", "2024-04-01T00:00:00Z", "earlier"),
        dup("c@x.com", "2024-04-05T00:00:00Z", "zz"),
        dup("c@x.com", "2024-04-05T00:00:00Z", "aa"),  # tie: "aa" < "zz"
        dup("d@x.com", None, "no-time"),
        dup("d@x.com", "2024-01-01T00:00:00Z", "has-time"),  # a time beats none
        dup("e@x.com", "2024-04-05T00:00:00Z", "only", segment="s2"),
        dup("a@x.com", "2024-04-05T00:00:00Z", "other-file", segment="s2"),
    ]
    outputs = []
    for order in (rows, list(reversed(rows)), rows[1::2] + rows[::2]):
        messages = [schema_message("m", FLAT_SCHEMA), *order]
        run, found = export_and_take(config, messages, tmp_path, s3)
        outputs.append(by_name(found))
    assert outputs[0] == outputs[1] == outputs[2]  # byte-identical whatever the order
    assert tsv(outputs[0]["s1.csv"])[1:] == [
        ["a@x.com", "new", "2024-04-02T00:00:00+02:00"],
        ["b@x.com", "latest", "2024-04-03T00:00:00Z"],
        ["c@x.com", "aa", "2024-04-05T00:00:00Z"],
        ["d@x.com", "has-time", "2024-01-01T00:00:00Z"],
    ]
    assert [r[0] for r in tsv(outputs[0]["s2.csv"])[1:]] == ["a@x.com", "e@x.com"]
    assert "4 duplicate key" in run.stderr


def test_dedup_spilling_gives_the_same_file_and_parts_count_after_dedup(
    config: dict, s3: Any, bucket: str, tmp_path: Path
) -> None:
    config["deduplication_keys"] = ["email", "phone"]
    config["fields"] = ["email", "phone", "last_qualification_time"]
    config["file_name_template"] = "%SEGMENT_ID%"
    config["max_rows_per_file"] = 5000
    # 12,000 distinct (email, phone) keys, each seen three times with different times:
    # about 2.5 MB of rows, so a 1 MiB budget spills several runs.
    messages = [schema_message("m", FLAT_SCHEMA)]
    for round_ in range(3):
        for i in range(12_000):
            hour = (i * 7 + round_ * 5) % 24
            messages.append(
                dup(f"user{i:05d}@example.com", f"2024-04-01T{hour:02d}:00:00Z", str(i % 2))
            )
    outputs = []
    for memory in (64, 1):
        config["dedup_memory_mb"] = memory
        run, found = export_and_take(config, messages, tmp_path, s3)
        outputs.append(by_name(found))
    assert outputs[0] == outputs[1]
    files = outputs[0]
    assert sorted(files) == ["s1.csv", "s1_2.csv", "s1_3.csv"]
    rows = [row for name in sorted(files) for row in tsv(files[name])[1:]]
    assert len(rows) == 12_000
    assert len({r[0] for r in rows}) == 12_000
    assert [len(tsv(files[n])) - 1 for n in sorted(files)] == [5000, 5000, 2000]
    assert all(r[2].startswith("2024-04-01T") for r in rows)
    assert "24000 duplicate key" in run.stderr


def test_object_options_apply_to_every_file_and_the_manifest(
    config: dict, s3: Any, bucket: str, tmp_path: Path
) -> None:
    config.update(
        server_side_encryption="AES256",
        storage_class="STANDARD_IA",
        acl="bucket-owner-full-control",
        include_manifest=True,
        max_rows_per_file=1,
        file_name_template="%SEGMENT_ID%",
    )
    messages = [schema_message("m", FLAT_SCHEMA), flat("a@x.com"), flat("b@x.com")]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    keys = sorted(objects(s3, bucket))
    assert keys == ["manifest-amazon_s3-run-1.json", "s1.csv", "s1_2.csv"]
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256", key
        assert head["StorageClass"] == "STANDARD_IA", key
        grants = s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert any(g["Permission"] == "FULL_CONTROL" for g in grants), key
    head = s3.head_object(Bucket=bucket, Key="manifest-amazon_s3-run-1.json")
    assert head["ContentType"] == "application/json"


def test_fan_out_dedup_and_ndjson_together(config: dict, s3: Any, tmp_path: Path) -> None:
    """The qualification time of each fanned-out row comes from its map entry."""
    config.update(
        file_type="json",
        deduplication_keys=["email"],
        fields=["email", "segment_status", "last_qualification_time"],
        file_name_template="%SEGMENT_ID%",
        export_mode="incremental",
    )
    messages = [
        schema_message("profiles", PROFILE_SCHEMA),
        record_message(
            "profiles",
            {
                "email": "a@x.com",
                "segmentMembership": membership(
                    lux=("existing", "2024-04-01T00:00:00Z"),
                    fans=("exited", "2024-04-09T00:00:00Z"),
                ),
            },
        ),
        record_message(
            "profiles",
            {
                "email": "a@x.com",
                "segmentMembership": membership(
                    lux=("realized", "2024-04-05T00:00:00Z"),
                    fans=("realized", "2024-04-02T00:00:00Z"),
                ),
            },
        ),
    ]
    run = run_target(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    files = by_name(objects(s3, config["bucket"]))
    assert [json.loads(line) for line in files["lux.json"].splitlines()] == [
        {
            "email": "a@x.com",
            "segment_status": "realized",
            "last_qualification_time": "2024-04-05T00:00:00Z",
        }
    ]
    assert [json.loads(line) for line in files["fans.json"].splitlines()] == [
        {
            "email": "a@x.com",
            "segment_status": "exited",
            "last_qualification_time": "2024-04-09T00:00:00Z",
        }
    ]
