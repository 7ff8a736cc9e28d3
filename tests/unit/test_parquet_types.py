"""Parquet column types from JSON Schema, and the row encoder's checks (formats/parquet_types)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from target_adobe_s3.errors import InputError
from target_adobe_s3.formats.parquet_types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    JSON,
    STRING,
    TEXT,
    TIMESTAMP,
    ColumnType,
    Mismatch,
    column_type,
    compile_row_encoder,
    date_days,
    property_schema,
    timestamp_micros,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "string"}, ColumnType(STRING)),
        ({"type": ["string", "null"]}, ColumnType(STRING)),
        ({"type": ["null", "string"], "format": "date-time"}, ColumnType(TIMESTAMP)),
        ({"type": "string", "format": "date"}, ColumnType(DATE)),
        ({"type": "string", "format": "email"}, ColumnType(STRING)),
        ({"type": ["integer", "null"]}, ColumnType(INT64)),
        ({"type": "number"}, ColumnType(FLOAT64)),
        ({"type": ["integer", "number"]}, ColumnType(FLOAT64)),
        ({"type": "number", "multipleOf": 0.01}, ColumnType(DECIMAL, 2)),
        ({"type": "number", "multipleOf": 1e-10}, ColumnType(DECIMAL, 10)),
        ({"type": "number", "multipleOf": 0.05}, ColumnType(FLOAT64)),
        ({"type": "number", "multipleOf": 1}, ColumnType(FLOAT64)),
        ({"type": "number", "multipleOf": 1e-39}, ColumnType(FLOAT64)),
        ({"type": ["boolean", "null"]}, ColumnType(BOOL)),
        ({"type": "object"}, ColumnType(JSON)),
        ({"type": ["array", "null"], "items": {"type": "string"}}, ColumnType(JSON)),
        ({"type": ["object", "array"]}, ColumnType(JSON)),
        ({"type": ["string", "integer"]}, ColumnType(TEXT)),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, ColumnType(TEXT)),
        ({}, ColumnType(TEXT)),
        ({"type": "null"}, ColumnType(TEXT)),
    ],
)
def test_the_type_comes_from_the_schema(spec: dict[str, Any], expected: ColumnType) -> None:
    assert column_type(spec) == expected


def test_a_nested_property_is_found_and_an_undeclared_one_is_untyped() -> None:
    schema = {
        "properties": {
            "person": {"type": "object", "properties": {"age": {"type": "integer"}}},
            "free": {"type": "object"},
        }
    }
    assert property_schema(("person", "age"), schema) == {"type": "integer"}
    assert property_schema(("free", "x"), schema) == {}
    assert property_schema(("missing",), schema) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T06:18:04Z", datetime(2024, 5, 1, 6, 18, 4, tzinfo=timezone.utc)),
        ("2024-05-01T06:18:04.5+02:00", datetime(2024, 5, 1, 4, 18, 4, 500000, timezone.utc)),
        ("2024-05-01T06:18:04-0130", datetime(2024, 5, 1, 7, 48, 4, tzinfo=timezone.utc)),
        ("2024-05-01 06:18:04.123456789", datetime(2024, 5, 1, 6, 18, 4, 123456, timezone.utc)),
        ("2024-05-01T06:18", datetime(2024, 5, 1, 6, 18, tzinfo=timezone.utc)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
        ("1969-12-31T23:59:59.999999Z", datetime(1969, 12, 31, 23, 59, 59, 999999, timezone.utc)),
    ],
)
def test_a_date_time_is_microseconds_utc_and_no_zone_means_utc(
    text: str, expected: datetime
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert timestamp_micros(text) == (expected - epoch) // timedelta(microseconds=1)


def test_datetime_objects_of_the_sdk_path_are_taken_too() -> None:
    aware = datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2024, 5, 1, 6, 0)
    assert (
        timestamp_micros(aware)
        == timestamp_micros(naive)
        == timestamp_micros("2024-05-01T06:00:00Z")
    )


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2024-13-01T00:00:00Z", "2024-05-01T25:00:00Z", "2024-05-01T06:00+24:00", 5],
)
def test_what_is_no_date_time_is_a_mismatch(value: object) -> None:
    with pytest.raises(Mismatch):
        timestamp_micros(value)


def test_a_date_is_days_since_1970() -> None:
    assert date_days("1970-01-02") == 1
    assert date_days(date(1969, 12, 31)) == -1
    for bad in ("1970-1-2", "1970-02-30", "1970-01-02T00:00:00Z"):
        with pytest.raises(Mismatch):
            date_days(bad)


def encoder(*specs: dict[str, Any]) -> Any:
    names = [f"c{i}" for i in range(len(specs))]
    return compile_row_encoder(
        "members", [f"src.{n}" for n in names], names, [column_type(s) for s in specs]
    )


def test_a_row_is_one_json_array_line_of_storage_values() -> None:
    encode = encoder(
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "number", "multipleOf": 0.01},
        {"type": "boolean"},
        {"type": "string", "format": "date-time"},
        {"type": "object"},
        {"type": ["string", "integer"]},
        {"type": "string"},
    )
    line = encode(
        [
            "a\nb",
            7,
            Decimal("1.5"),
            Decimal("2.5"),
            True,
            "1970-01-01T00:00:01Z",
            {"k": [1]},
            3,
            None,
        ]
    )
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == ["a\nb", 7, 1.5, "2.5", True, 1_000_000, '{"k":[1]}', "3", None]


def test_the_values_given_are_left_as_they_were() -> None:
    values = ["1970-01-01T00:00:00Z"]
    encoder({"type": "string", "format": "date-time"})(values)
    assert values == ["1970-01-01T00:00:00Z"]


@pytest.mark.parametrize(
    ("spec", "value", "reason"),
    [
        ({"type": "integer"}, "12", "got string"),
        ({"type": "integer"}, True, "got boolean"),
        ({"type": "integer"}, 2**63, "outside the int64 range"),
        ({"type": "integer"}, Decimal("1.5"), "not a whole number"),
        ({"type": "number"}, "1.5", "got string"),
        ({"type": "number"}, Decimal("1e400"), "too large for float64"),
        ({"type": "number", "multipleOf": 0.01}, Decimal("1.005"), "more than 2 decimal places"),
        ({"type": "number", "multipleOf": 0.01}, Decimal("1e37"), "outside decimal(38, 2)"),
        ({"type": "boolean"}, 1, "got integer"),
        ({"type": "string"}, 5, "got integer"),
        ({"type": "string", "format": "date-time"}, "soon", "not an ISO 8601 date-time"),
        ({"type": "array"}, "[1]", "got string"),
    ],
)
def test_a_value_that_does_not_fit_names_stream_field_and_column(
    spec: dict[str, Any], value: object, reason: str
) -> None:
    with pytest.raises(InputError) as caught:
        encoder({"type": "string"}, spec)(["ok", value])
    message = str(caught.value)
    assert message.startswith(
        "stream 'members': field 'src.c1' does not fit Parquet column 'c1' of type "
    )
    assert reason in message
    if isinstance(value, str):  # values are personal data: messages never show them
        assert value not in message


def test_whole_numbers_fit_an_integer_column() -> None:
    encode = encoder({"type": "integer"}, {"type": "integer"})
    assert json.loads(encode([Decimal("3.0"), 2**63 - 1])) == [3, 2**63 - 1]
