"""The record-as-tuple fast path (RecordDecoder.compile_values_line + StreamWriter.values_writer).

Its contract is the dict path's output: for every line, the same rows, the same segments
registered, the same skips and the same one-line errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from target_adobe_s3.errors import InputError
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.intake.decoder import RecordDecoder
from target_adobe_s3.rows.tally import SKIP_EXITED, Tally
from target_adobe_s3.rows.writer import StreamWriter
from tests.unit.test_writer import RowSettings, Sink

SCHEMA: dict[str, Any] = {
    "properties": {
        "segment_id": {"type": ["string", "null"]},
        "segment_status": {"type": ["string", "null"]},
        "email": {"type": "string"},
        "amount": {"type": ["number", "null"]},
        "strict": {"type": "number"},
        "count": {"type": ["integer", "null"]},
        "opted_in": {"type": ["boolean", "null"]},
        "address": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"]},
        "note": {"type": ["string", "null"]},
        "unselected": {"type": ["number", "null"]},
    },
    "required": ["email"],
}
FIELDS = tuple(
    (name, None)
    for name in (
        "email", "amount", "strict", "count", "opted_in", "address", "tags", "note",
        "segment_status", "segment_id",
    )
)  # fmt: skip
RECORDS: list[dict[str, Any]] = [
    {"segment_id": "s1", "email": "a@x", "amount": 10.50, "strict": 1, "count": 3,
     "opted_in": True, "address": {"street": 'Rue "du" Four', "n": 1.50},
     "tags": ["a", "b\\c"], "note": "plain", "segment_status": "realized"},
    {"segment_id": "s1", "email": "b@x", "note": 'two\nlines "q"'},  # most keys absent
    {"segment_id": "s2", "email": "=cmd", "amount": None, "strict": -0.0, "count": None,
     "opted_in": None, "address": None, "tags": None, "note": None, "segment_status": None},
    {"segment_id": "s2", "email": "c@x", "amount": 1e21, "strict": 2, "address": {},
     "tags": [1, 2], "note": "tab\there", "segment_status": "existing"},
    {"segment_id": "s1", "email": "d@x", "strict": 3, "segment_status": "exited"},
    {"segment_id": "s3", "email": "e@x", "strict": 4, "address": {"k": "back\\slash"},
     "note": "", "unselected": 5},
    {"segment_id": "s1", "email": "f@x", "strict": 5, "address": {"a": "x\ty"}},
]  # fmt: skip


def run(
    lines: list[bytes],
    *,
    values: bool,
    dialect: CsvDialect | None = None,
    escape: bool = False,
    schema: dict[str, Any] | None = None,
    settings: RowSettings | None = None,
    file_format: Any = None,
    keys: tuple[str, ...] = ("email",),
) -> tuple[Sink, Tally, list[bool]]:
    """Take the lines through one path; what the sink got, the tally, what each call said."""
    sink, tally, schema = Sink(), Tally(), schema or SCHEMA
    writer = StreamWriter(
        "m",
        schema,
        settings=settings or RowSettings(fields=FIELDS, formula_escape=escape),
        sink=sink,
        file_format=file_format or CsvFormat(dialect or CsvDialect()),
        tally=tally,
        progress=lambda _: None,
        typed=True,
    )
    decoder = RecordDecoder("m", schema, key_properties=list(keys))
    handle = (
        decoder.compile_values_line(writer.values_writer)
        if values
        else decoder.compile_line(writer.write)
    )
    assert handle is not None
    return sink, tally, [handle(line) for line in lines]


@pytest.mark.parametrize("keys", [("email",), ("note", "amount", "count")], ids=["email", "mixed"])
def test_dedup_rows_take_the_tuple_path_with_the_same_keys_times_and_texts(
    keys: tuple[str, ...],
) -> None:
    records = [
        {**record, "last_qualification_time": f"2024-05-0{index % 3 + 1}T00:00:00Z"}
        for index, record in enumerate(RECORDS * 2)
    ]
    schema_time = {"last_qualification_time": {"type": ["string", "null"]}}
    lines = [line_of(record) for record in records]
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], **schema_time}}
    settings = RowSettings(fields=FIELDS, dedup_keys=keys)
    seen = []
    for values in (False, True):
        sink, _, said = run(lines, values=values, schema=schema, settings=settings)
        assert all(said)
        seen.append((sink.deduped, sink.rows))
    assert seen[0] == seen[1]
    assert len(seen[1][0]) == 2 * (len(RECORDS) - 1)
    assert seen[1][1] == {}
    assert {entry[2] for entry in seen[1][0]} == {
        "2024-05-01T00:00:00Z",
        "2024-05-02T00:00:00Z",
        "2024-05-03T00:00:00Z",
    }


def line_of(record: dict[str, Any], stream: str = "m") -> bytes:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record}).encode()


@pytest.mark.parametrize(
    "dialect",
    [
        CsvDialect(),
        CsvDialect(delimiter=","),
        CsvDialect(null_value="null", empty_value='""'),
        CsvDialect(quote=""),
        CsvDialect(quote_all=True),
    ],
    ids=["default", "comma", "null-texts", "unquoted", "quote-all"],
)
@pytest.mark.parametrize("escape", [False, True], ids=["", "formula-escape"])
def test_the_tuple_path_writes_what_the_dict_path_writes(dialect: CsvDialect, escape: bool) -> None:
    lines = [line_of(record) for record in RECORDS]
    by_dict = run(lines, values=False, dialect=dialect, escape=escape)
    by_values = run(lines, values=True, dialect=dialect, escape=escape)
    assert by_values[2] == by_dict[2] == [True] * len(lines)
    assert by_values[0].rows == by_dict[0].rows
    assert by_values[0].registered == by_dict[0].registered
    skips = [
        {sid: dict(t.skipped) for sid, t in tally.segments.items()}
        for tally in (by_values[1], by_dict[1])
    ]
    assert skips[0] == skips[1] == {"s1": {SKIP_EXITED: 1}}
    assert sum(len(rows) for rows in by_values[0].rows.values()) == len(RECORDS) - 1  # exited


def test_exact_text_absent_numbers_and_json_fields_in_the_bytes() -> None:
    first = line_of(RECORDS[0]).replace(b": 10.5,", b": 10.50,").replace(b": 1.5}", b": 1.50}")
    assert b"10.50" in first
    assert b"1.50}" in first
    sink, _, _ = run([first, line_of(RECORDS[1])], values=True)
    assert sink.rows["s1"] == [
        b'a@x\t10.50\t1\t3\ttrue\t"{\\"street\\":\\"Rue \\\\\\"du\\\\\\" Four\\",\\"n\\":1.50}"'
        b'\t"[\\"a\\",\\"b\\\\\\\\c\\"]"\tplain\trealized\ts1\n',
        b'b@x\t\t\t\t\t\t\t"two\nlines \\"q\\""\t\ts1\n',
    ]


NUMBER_NULL = "should be of type ['number', 'null']"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"strict": None}, "'strict' should be of type number, got null"),
        ({"amount": "12"}, f"'amount' {NUMBER_NULL}, got string"),
        ({"unselected": True}, f"'unselected' {NUMBER_NULL}, got boolean"),
    ],
)
def test_a_number_of_the_wrong_type_is_named_on_the_tuple_path(
    record: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        run([line_of({"segment_id": "s", "email": "a", **record})], values=True)
    assert str(caught.value) == f"stream 'm': field {message}"


def test_lines_the_tuple_path_cannot_take_are_left_to_the_general_path() -> None:
    lines = [
        line_of({"email": "a", "segment_id": "s1"}, stream="other"),
        b'{"type":"STATE","value":{}}',
        line_of({"segment_id": "s1"}),  # the key property (and required) email is absent
        line_of({"segment_id": "s1", "email": 5}),
        b"not json",
    ]
    sink, _, said = run(lines, values=True)
    assert said == [False] * len(lines)
    assert sink.rows == {}


def test_a_record_without_its_segment_id_fails_as_on_the_dict_path() -> None:
    messages = []
    for values in (False, True):
        with pytest.raises(InputError) as caught:
            run([line_of({"email": "a"})], values=values)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def settings_without_a_tuple_path() -> list[RowSettings]:
    return [
        RowSettings(fields=FIELDS, mandatory_fields=("email",)),
        RowSettings(fields=(("email", None),)),  # one column
        RowSettings(fields=(("email", None), ("address.street", None))),  # a nested path
    ]


@pytest.mark.parametrize("settings", settings_without_a_tuple_path())
def test_the_writer_has_no_tuple_path_where_it_reads_more_than_top_level_columns(
    settings: RowSettings,
) -> None:
    writer = StreamWriter(
        "m",
        SCHEMA,
        settings=settings,
        sink=Sink(),
        file_format=CsvFormat(CsvDialect()),
        tally=Tally(),
        progress=lambda _: None,
        typed=True,
    )
    assert RecordDecoder("m", SCHEMA).compile_values_line(writer.values_writer) is None


def test_an_unchecked_stream_has_no_tuple_path() -> None:
    decoder = RecordDecoder("m", SCHEMA, check=False)
    assert decoder.compile_values_line(lambda names, as_record: print) is None


MAP_SCHEMA: dict[str, Any] = {
    "properties": {
        "email": {"type": "string"},
        "amount": {"type": ["number", "null"]},
        "address": {"type": ["object", "null"]},
        "segmentMembership": {"type": ["object", "null"]},
    },
    "required": ["email"],
}
MAP_RECORDS: list[dict[str, Any]] = [
    {"email": "a@x", "amount": 1.5, "address": {"s": 'q"'}, "segmentMembership": {"ups": {
        "s1": {"status": "realized", "lastQualificationTime": "2024-01-02T03:04:05Z"},
        "=s2": {"status": "existing", "lastQualificationTime": 1700000000},
        "s3": {"status": "exited"},
    }}},
    {"email": "b@x"},  # no map, no amount
    {"email": "=c", "segmentMembership": {"ups": {"s1": None}, "other": None}},
]  # fmt: skip


@pytest.mark.parametrize(
    "names",
    [
        ("email", "amount", "address", "segment_id", "segment_name", "segment_status"),
        ("segment_id", "email", "last_qualification_time", "amount", "missing_key"),
    ],
    ids=["members-last", "interleaved"],
)
def test_fanned_out_records_take_the_tuple_path_and_write_the_same_rows(
    names: tuple[str, ...],
) -> None:
    schema = {
        **MAP_SCHEMA,
        "properties": {**MAP_SCHEMA["properties"], "missing_key": {"type": ["string", "null"]}},
    }
    lines = [line_of(record) for record in MAP_RECORDS]
    settings = RowSettings(fields=tuple((n, None) for n in names), formula_escape=True)
    results = []
    for values in (False, True):
        sink, tally, said = run(lines, values=values, schema=schema, settings=settings, keys=())
        assert said == [True] * len(lines)
        results.append((sink.rows, sink.registered, tally.without_membership))
    assert results[0] == results[1]
    assert sum(map(len, results[1][0].values())) == 3
    assert results[1][2] == 1


def typed_formats() -> list[Any]:
    from target_adobe_s3.formats.ndjson import NdjsonFormat

    formats: list[Any] = [NdjsonFormat()]
    try:
        from target_adobe_s3.formats.parquet import ParquetFormat
    except ImportError:  # pragma: no cover - pyarrow is in the dev extras
        return formats
    return [*formats, ParquetFormat()]


@pytest.mark.parametrize("file_format", typed_formats(), ids=lambda f: f.file_type)
def test_typed_formats_take_the_tuple_path_with_values_as_decoded(file_format: Any) -> None:
    """NDJSON and Parquet rows get the values themselves: an absent number as None."""
    lines = [line_of(record) for record in RECORDS]
    results = []
    for values in (False, True):
        sink, _, said = run(lines, values=values, file_format=file_format)
        assert all(said)
        results.append((sink.rows, sink.registered))
    assert results[0] == results[1]
    assert sum(map(len, results[1][0].values())) == len(RECORDS) - 1


@pytest.mark.parametrize("values", [False, True], ids=["dict", "tuple"])
def test_a_property_the_decoder_cannot_check_is_converted_as_any_value(values: bool) -> None:
    """`type: string` with `not` is left to a full validator (declared_types): the decoder
    takes any value, so the writer converts the column too (a number once met the join
    unconverted, a TypeError)."""
    schema: dict[str, Any] = {
        "properties": {
            "segment_id": {"type": "string"},
            "email": {"type": "string", "not": {"const": "x"}},
            "note": {"type": ["string", "null"]},
        }
    }
    lines = [
        line_of({"segment_id": "s1", "email": 5, "note": "a"}),
        line_of({"segment_id": "s1", "email": {"k": 1.50}, "note": None}),
    ]
    settings = RowSettings(fields=(("email", None), ("note", None), ("segment_id", None)))
    sink, _, said = run(lines, values=values, schema=schema, settings=settings, keys=())
    assert said == [True, True]
    assert sink.rows == {"s1": [b"5\ta\ts1\n", b'"{\\"k\\":1.5}"\t\ts1\n']}
