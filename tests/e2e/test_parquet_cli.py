"""`file_type: parquet` end to end: the CLI against moto, files read back with pyarrow and DuckDB.

Every AEP behaviour with Parquet: types from the schema, nulls, codecs, parts, dedup, the
membership fan-out, mandatory fields, the manifest, empty files and OpenPGP (gpg decrypts
to a file both readers open); a value that does not fit fails at its line; without pyarrow
the run fails before input, naming the extra.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import (
    error_lines,
    export_and_take,
    objects,
    record_message,
    run_target,
    schema_message,
    singer_text,
    state_message,
    write_config,
)
from tests.support.parquet_read import arrow_table, codecs, duckdb_read

STAMP = "20240501_061804"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "segment_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "age": {"type": ["integer", "null"]},
        "score": {"type": ["number", "null"]},
        "price": {"type": ["number", "null"], "multipleOf": 0.01},
        "vip": {"type": ["boolean", "null"]},
        "seen": {"type": ["string", "null"], "format": "date-time"},
        "born": {"type": ["string", "null"], "format": "date"},
        "tags": {"type": ["array", "null"]},
        "person": {
            "type": ["object", "null"],
            "properties": {"home.city": {"type": ["string", "null"]}},
        },
        "misc": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    },
}
FULL = {
    "segment_id": "s1",
    "email": "ana@x.com",
    "age": 41,
    "score": 0.1,
    "price": 12.5,
    "vip": True,
    "seen": "2024-05-01T08:18:04.123456789+02:00",
    "born": "1983-02-28",
    "tags": ["a", 1],
    "person": {"home.city": "Köln"},
    "misc": 3,
}
NULLS = {
    "segment_id": "s1",
    "email": "",
    **{k: None for k in FULL if k not in ("segment_id", "email")},
}
SEEN = datetime(2024, 5, 1, 6, 18, 4, 123456, tzinfo=timezone.utc)


def flat(email: str, segment: str = "s1", **values: Any) -> dict:
    return record_message("m", {"segment_id": segment, "email": email, **values})


@pytest.fixture
def pq_config(config: dict) -> dict:
    config["file_type"] = "parquet"
    return config


def test_types_nulls_and_values_read_back_the_same_with_pyarrow_and_duckdb(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    messages = [
        schema_message("m", SCHEMA),
        record_message("m", FULL),
        record_message("m", NULLS),
        state_message({"done": 1}),
    ]
    run, found = export_and_take(pq_config, messages, tmp_path, s3)
    assert list(found) == [f"amazon_s3_segments1_{STAMP}.parquet"]
    assert [json.loads(line) for line in run.stdout_lines] == [{"done": 1}]
    data = found[f"amazon_s3_segments1_{STAMP}.parquet"]
    table = arrow_table(data)
    assert {f.name: str(f.type) for f in table.schema} == {
        "segment_id": "string",
        "email": "string",
        "age": "int64",
        "score": "double",
        "price": "decimal128(38, 2)",
        "vip": "bool",
        "seen": "timestamp[us, tz=UTC]",
        "born": "date32[day]",
        "tags": "string",
        "person_home_city": "string",  # AEP's `.` → `_`, as in CSV headers
        "misc": "string",
    }
    first, second = table.to_pylist()
    assert first == {
        "segment_id": "s1",
        "email": "ana@x.com",
        "age": 41,
        "score": 0.1,
        "price": Decimal("12.50"),
        "vip": True,
        "seen": SEEN,
        "born": date(1983, 2, 28),
        "tags": '["a",1]',
        "person_home_city": "Köln",
        "misc": "3",
    }
    assert second == {**{k: None for k in first}, "segment_id": "s1", "email": ""}
    columns, rows = duckdb_read(data, tmp_path)
    assert dict(columns) == {
        "segment_id": "VARCHAR",
        "email": "VARCHAR",
        "age": "BIGINT",
        "score": "DOUBLE",
        "price": "DECIMAL(38,2)",
        "vip": "BOOLEAN",
        "seen": "TIMESTAMP WITH TIME ZONE",
        "born": "DATE",
        "tags": "VARCHAR",
        "person_home_city": "VARCHAR",
        "misc": "VARCHAR",
    }
    assert rows == [tuple(first.values()), tuple(second.values())]
    _, parsed = duckdb_read(data, tmp_path, "SELECT tags::JSON->>1 FROM f WHERE age = 41")
    assert parsed == [("1",)]


@pytest.mark.parametrize(
    ("compression", "codec"),
    [("none", "UNCOMPRESSED"), ("gzip", "GZIP"), ("snappy", "SNAPPY"), ("zstd", "ZSTD")],
)
def test_compression_is_the_codec_inside_the_file(
    compression: str, codec: str, pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    pq_config["compression"] = compression
    pq_config["file_name_template"] = "%SEGMENT_ID%"
    messages = [schema_message("m", SCHEMA)] + [flat(f"u{i}@x.com", age=i) for i in range(500)]
    run = run_target(pq_config, messages, tmp_path)
    assert run.returncode == 0, run.stderr
    found = objects(s3, pq_config["bucket"])
    assert list(found) == ["s1.parquet"]  # never `.gz`: the file is compressed inside
    head = s3.head_object(Bucket=pq_config["bucket"], Key="s1.parquet")
    assert head["ContentType"] == "application/vnd.apache.parquet"
    data = found["s1.parquet"]
    assert data[:4] == data[-4:] == b"PAR1"
    assert codecs(data) == {codec}
    _, rows = duckdb_read(data, tmp_path, "SELECT count(*), sum(age), min(email) FROM f")
    assert rows == [(500, sum(range(500)), "u0@x.com")]
    assert arrow_table(data).column("age").to_pylist() == list(range(500))


def test_parts_dedup_mandatory_fields_and_manifest(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    pq_config.update(
        max_rows_per_file=2,
        include_manifest=True,
        deduplication_keys=["email"],
        mandatory_fields=["age"],
        qualification_time_field="seen",
        file_name_template="%SEGMENT_ID%",
        fields=["email", "age", "seen"],
    )
    messages = [schema_message("m", SCHEMA)]
    for i in range(5):
        messages.append(flat(f"u{i}@x.com", age=i, seen="2024-05-01T00:00:00Z"))
    messages.append(flat("u1@x.com", age=100, seen="2024-05-02T00:00:00Z"))  # later: wins
    messages.append(flat("u2@x.com", age=200, seen="2024-04-01T00:00:00Z"))  # earlier: loses
    messages.append(flat("u9@x.com", age=None))  # no age: skipped
    run, found = export_and_take(pq_config, messages, tmp_path, s3)
    manifest = json.loads(found.pop("manifest-amazon_s3-run-1.json"))
    assert sorted(found) == ["s1.parquet", "s1_2.parquet", "s1_3.parquet"]
    tables = [arrow_table(found[k]) for k in ("s1.parquet", "s1_2.parquet", "s1_3.parquet")]
    assert [t.num_rows for t in tables] == [2, 2, 1]
    rows = [row for t in tables for row in t.to_pylist()]
    assert [(r["email"], r["age"]) for r in rows] == [
        ("u0@x.com", 0),
        ("u1@x.com", 100),
        ("u2@x.com", 2),
        ("u3@x.com", 3),
        ("u4@x.com", 4),
    ]
    listed = {entry["name"]: entry for entry in manifest["exportResults"]}
    assert set(listed) == set(found)
    for key, data in found.items():
        assert listed[key]["size"] == len(data)
        assert listed[key]["sha256"] == hashlib.sha256(data).hexdigest()
        assert listed[key]["rows"] == duckdb_read(data, tmp_path, "SELECT count(*) FROM f")[1][0][0]
    assert "2 duplicates" in run.stderr or "2 duplicate" in run.stderr
    assert "missing age" in run.stderr


def test_membership_fan_out_gives_each_segment_its_file(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": ["string", "null"]},
            "segmentMembership": {"type": ["object", "null"]},
        },
    }

    def member(email: str, **segments: str) -> dict:
        ups = {
            sid: {"status": status, "lastQualificationTime": "2024-04-30T10:00:00Z"}
            for sid, status in segments.items()
        }
        return record_message("p", {"email": email, "segmentMembership": {"ups": ups}})

    pq_config["file_name_template"] = "%SEGMENT_ID%"
    messages = [
        schema_message("p", schema),
        member("a@x.com", lux="realized", fans="existing", gone="exited"),
        member("b@x.com", fans="realized"),
    ]
    _, found = export_and_take(pq_config, messages, tmp_path, s3)
    assert sorted(found) == ["fans.parquet", "lux.parquet"]
    fans = arrow_table(found["fans.parquet"])
    assert fans.schema.names == [
        "email",
        "segment_id",
        "segment_name",
        "segment_status",
        "last_qualification_time",
    ]
    assert [(r["email"], r["segment_id"], r["segment_status"]) for r in fans.to_pylist()] == [
        ("a@x.com", "fans", "existing"),
        ("b@x.com", "fans", "realized"),
    ]
    _, rows = duckdb_read(found["lux.parquet"], tmp_path, "SELECT email, segment_id FROM f")
    assert rows == [("a@x.com", "lux")]


def test_an_empty_segment_gets_a_file_with_the_schema_and_no_rows(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    pq_config.update(
        export_empty_files=True,
        segment_names={"s1": "One", "quiet": "Quiet"},
        file_name_template="%SEGMENT_ID%",
    )
    messages = [schema_message("m", SCHEMA), record_message("m", FULL)]
    _, found = export_and_take(pq_config, messages, tmp_path, s3)
    assert sorted(found) == ["quiet.parquet", "s1.parquet"]
    empty = arrow_table(found["quiet.parquet"])
    assert empty.num_rows == 0
    assert empty.schema == arrow_table(found["s1.parquet"]).schema
    columns, rows = duckdb_read(found["quiet.parquet"], tmp_path, "SELECT count(*) FROM f")
    assert ("seen", "TIMESTAMP WITH TIME ZONE") in columns
    assert rows == [(0,)]


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_gpg_decrypts_to_the_file_both_readers_open(
    compression: str, pq_config: dict, gpg_keys: Any, s3: Any, tmp_path: Path
) -> None:
    pq_config.update(compression=compression, file_name_template="%SEGMENT_ID%")
    messages = [schema_message("m", SCHEMA)] + [
        flat(f"u{i}@x.com", age=i, seen="2024-05-01T06:18:04.123456Z") for i in range(3000)
    ]
    _, plain = export_and_take(pq_config, messages, tmp_path, s3)
    pq_config["pgp_public_key"] = gpg_keys.public["cv25519"]
    _, encrypted = export_and_take(pq_config, messages, tmp_path, s3)
    assert list(encrypted) == ["s1.parquet.gpg"]
    result = gpg_keys.decrypt(encrypted["s1.parquet.gpg"])
    assert result.ok, result.status
    assert result.plaintext == plain["s1.parquet"]  # the same file, byte for byte
    table = arrow_table(result.plaintext)
    assert table.num_rows == 3000
    assert set(table.column("seen").to_pylist()) == {SEEN}
    _, rows = duckdb_read(result.plaintext, tmp_path, "SELECT count(*), max(age) FROM f")
    assert rows == [(3000, 2999)]


def test_a_value_that_does_not_fit_its_column_fails_at_its_line(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    messages = [
        schema_message("m", SCHEMA),
        record_message("m", FULL),
        record_message("m", {**FULL, "seen": "last tuesday"}),
        state_message({"done": 1}),
    ]
    run = run_target(pq_config, messages, tmp_path)
    assert run.returncode != 0
    assert run.stdout.strip() == ""  # no STATE
    assert error_lines(run.stderr) == [
        "Export failed at input line 3: stream 'm': field 'seen' does not fit Parquet column "
        "'seen' of type timestamp (UTC): got a string that is not an ISO 8601 date-time. "
        "No STATE was emitted for undelivered records."
    ]
    assert objects(s3, pq_config["bucket"]) == {}


def test_two_streams_with_the_same_columns_of_other_types_fail_before_their_rows(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    ages = {"type": "object", "properties": {"segment_id": {"type": "string"}}}
    messages = [
        schema_message(
            "a", {**ages, "properties": {**ages["properties"], "n": {"type": "integer"}}}
        ),
        schema_message(
            "b", {**ages, "properties": {**ages["properties"], "n": {"type": "string"}}}
        ),
        record_message("b", {"segment_id": "s", "n": "x"}),
    ]
    run = run_target(pq_config, messages, tmp_path)
    assert run.returncode != 0
    [line] = error_lines(run.stderr)
    assert "stream 'b': its Parquet columns have other types than stream 'a'" in line
    assert "'n' int64 → string" in line


def test_snappy_or_zstd_without_parquet_is_one_config_line(config: dict, tmp_path: Path) -> None:
    config["compression"] = "snappy"
    run = run_target(config, [], tmp_path)
    assert run.returncode != 0
    assert error_lines(run.stderr) == [
        "Config validation failed: compression: snappy is a codec inside Parquet files; "
        "with file_type csv choose none or gzip, or set file_type to parquet"
    ]


BLOCK_PYARROW = textwrap.dedent(
    """
    import sys

    class NoPyarrow:
        def find_spec(self, name, path=None, target=None):
            if name == "pyarrow" or name.startswith("pyarrow."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoPyarrow())
    sys.argv[0] = "target-adobe-s3"
    from target_adobe_s3.target import TargetAdobeS3

    try:
        TargetAdobeS3.cli()
    finally:
        assert "pyarrow" not in sys.modules
    """
)


def run_without_pyarrow(
    config: dict, messages: list[dict], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """The CLI in a Python where importing pyarrow fails, as without the extra."""
    return subprocess.run(
        [sys.executable, "-c", BLOCK_PYARROW, "--config", str(write_config(config, tmp_path))],
        input=singer_text(messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_pyarrow_parquet_fails_before_input_naming_the_extra(
    pq_config: dict, s3: Any, tmp_path: Path
) -> None:
    done = run_without_pyarrow(pq_config, [schema_message("m", SCHEMA)], tmp_path)
    assert done.returncode != 0
    assert error_lines(done.stderr) == [
        "Config validation failed: file_type: parquet needs pyarrow, which cannot be "
        "imported (No module named 'pyarrow'); install the extra: "
        "pip install 'target-adobe-s3[parquet]'"
    ]
    assert "Traceback" not in done.stderr
    assert objects(s3, pq_config["bucket"]) == {}


def test_csv_never_imports_pyarrow(config: dict, s3: Any, tmp_path: Path) -> None:
    config["file_name_template"] = "%SEGMENT_ID%"
    done = run_without_pyarrow(
        config, [schema_message("m", SCHEMA), record_message("m", FULL)], tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert list(objects(s3, config["bucket"])) == ["s1.csv"]
