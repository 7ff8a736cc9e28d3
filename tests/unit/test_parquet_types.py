"""Parquet column types from JSON Schema, and the row encoder's checks (formats/parquet_types)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from target_adobe_s3.errors import InputError
from target_adobe_s3.formats.parquet import Layout
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
    _date_fast,
    _timestamp_fast,
    column_type,
    compile_row_encoder,
    date_days,
    general_row_encoder,
    timestamp_micros,
)
from target_adobe_s3.jsontypes import property_schema


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
    assert json.loads(line) == ["a\nb", 7, 1.5, "2.50", True, 1_000_000, {"k": [1]}, "3", None]


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


def test_decimals_use_the_columns_38_digits_and_are_written_at_their_scale() -> None:
    # The default context's 28 digits refused these, or wrote text Arrow could not rescale.
    assert encoder({"type": "number", "multipleOf": 1e-20})([Decimal("123456789.5")]) == (
        b'["123456789.50000000000000000000"]\n'
    )
    nines = Decimal("9" * 37 + ".9")
    assert encoder({"type": "number", "multipleOf": 0.1})([nines]) == f'["{nines}"]\n'.encode()
    padded = Decimal("1.5" + "0" * 45)
    assert encoder({"type": "number", "multipleOf": 0.01})([padded]) == b'["1.50"]\n'


def _mutations(text: str) -> list[str]:
    """The text, and each one-character change of it to a character that parsers treat apart."""
    swaps = "09-:T tZz+.,x\u0663"
    found = [text, text[:-1], text + "0", " " + text, text.replace("-", "", 1)]
    for i in range(len(text)):
        found += [text[:i] + c + text[i + 1 :] for c in swaps]
    return found


def _outcome(parse: Any, value: object) -> object:
    try:
        return parse(value)
    except Mismatch as exc:
        return ("mismatch", str(exc))


@pytest.mark.parametrize(
    "seed",
    ["2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
     "9999-12-31T23:59:59Z", "2024-12-16T24:00:00Z", "2024-06-31T12:00:00Z"],
)  # fmt: skip
def test_the_fast_date_time_parse_agrees_with_the_general_one(seed: str) -> None:
    for text in _mutations(seed):
        assert _outcome(_timestamp_fast, text) == _outcome(timestamp_micros, text), text


@pytest.mark.parametrize(
    "seed", ["2024-02-29", "2023-02-29", "1969-12-31", "0001-01-01", "2024-W51-1"]
)
def test_the_fast_date_parse_agrees_with_the_general_one(seed: str) -> None:
    for text in _mutations(seed):
        assert _outcome(_date_fast, text) == _outcome(date_days, text), text


FAST_TYPES = [
    ColumnType(STRING),
    ColumnType(TEXT),
    ColumnType(INT64),
    ColumnType(FLOAT64),
    ColumnType(DECIMAL, 2),
    ColumnType(BOOL),
    ColumnType(TIMESTAMP),
    ColumnType(DATE),
    ColumnType(JSON),
]


class Text(str):
    """A str subclass: it makes a row leave the fast path."""


FAST_ROWS: list[list[Any]] = [
    ["a", "b", 1, Decimal("1.5"), Decimal("2.25"), True, "2024-05-01T06:18:04Z", "2024-05-01",
     {"k": [1, "é"]}],
    [None] * 9,
    ["", "", -(2**63), Decimal("-0"), 3, False, "2024-05-01T06:18:04.5+02:00", "1969-12-31", []],
    ["x", None, 2**63 - 1, Decimal("-0.0"), Decimal("-1.00"), None, "1970-01-01T00:00:00Z", None,
     {"nested": {"a": None}}],
    ["\n\"q\"", "y", None, Decimal("1e-400"), None, True, "2024-05-01 06:18", "2024-02-29",
     [{"x": Decimal("1.50")}]],
    ["s", None, 0, Decimal("1.7976931348623157e308"), Decimal("0E+5"), False,
     "2024-05-01T06:18:04.123456789Z", "0001-01-01", {}],
    ["s", "t", 5, Decimal("9.99e307"), Decimal("12.3"), True, "2024-05-01", "9999-12-31", [None]],
    ["s", "t", 5, 12, Decimal("1"), True, "0001-01-01T00:00:00Z", "2024-05-01", {"f": 1.5}],
    ["s", "t", 5, 1.25, 1.5, True, "9999-12-31T23:59:59Z", "2024-05-01", {"d": Decimal("-0")}],
    ["s", "t", 5, Decimal("-2.5e-310"), Decimal("-0.01"), True, "1969-12-31T23:59:59Z",
     "2024-05-01", [1]],
    ["s", "t", 5, Decimal("123456789012345678901234567890.123456789"), None, True,
     "2024-02-29T12:00:00Z", "2024-05-01", [1]],
    ["s", "t", 5, Decimal("-0E+3"), None, True, None, None, None],
    ["s", 7, 3, Decimal("1.5"), None, None, None, None, None],  # an int in a text column
    ["s", {"a": 1}, 3, None, None, None, None, None, None],
]  # fmt: skip


@pytest.mark.parametrize("row", FAST_ROWS)
def test_the_fast_path_writes_rows_that_read_back_as_the_general_paths(row: list[Any]) -> None:
    names = [f"c{i}" for i in range(len(FAST_TYPES))]
    fast = compile_row_encoder("s", names, names, FAST_TYPES)
    general = general_row_encoder("s", names, names, FAST_TYPES)
    layout = Layout(names, FAST_TYPES)
    slow_row = [Text(row[0]) if isinstance(row[0], str) else row[0], *row[1:]]  # general path
    written = [fast(row), general(row), fast(slow_row)]
    tables = [layout.batch(line).to_pylist() for line in written]
    assert [repr(t) for t in tables] == [repr(tables[0])] * 3


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (["a", "b", 2**63, Decimal("1e400"), None, None, "soon", None, None], "c2"),
        (["a", "b", 1, Decimal("1e400"), None, None, "soon", None, None], "c3"),
        (["a", "b", 1, Decimal("NaN"), None, None, None, None, None], "c3"),
        (["a", "b", 1, None, None, None, "2024-02-30T00:00:00Z", "2024-02-30", None], "c6"),
        (["a", "b", 1, None, None, None, "2024-12-16T24:00:00Z", None, None], "c6"),
        (["a", "b", 1, None, None, None, None, "2024-02-30", "{}"], "c7"),
        (["a", "b", 1, None, None, None, None, None, "{}"], "c8"),
        (["a", "b", True, None, None, None, None, None, None], "c2"),
        (["a", "b", 1, None, None, 1, None, None, None], "c5"),
        ([1, "b", 1, None, None, None, None, None, None], "c0"),
    ],
)
def test_a_row_off_the_fast_path_names_its_first_value_that_does_not_fit(
    row: list[Any], column: str
) -> None:
    names = [f"c{i}" for i in range(len(FAST_TYPES))]
    with pytest.raises(InputError, match=f"does not fit Parquet column '{column}' of type"):
        compile_row_encoder("s", names, names, FAST_TYPES)(row)


@pytest.mark.parametrize("width", [0, 1, 300])
def test_the_compiled_row_function_takes_any_number_of_columns(width: int) -> None:
    kinds = [ColumnType(INT64), ColumnType(STRING), ColumnType(DATE)]
    types = [kinds[i % 3] for i in range(width)]
    names = [f"c{i}" for i in range(width)]
    values = [[i, f"s{i}", "1970-01-02"][i % 3] for i in range(width)]
    line = compile_row_encoder("s", names, names, types)(values)
    assert json.loads(line) == [[i, f"s{i}", 1][i % 3] for i in range(width)]
    assert line == general_row_encoder("s", names, names, types)(values)
