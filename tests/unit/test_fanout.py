"""Fanned-out rows spliced from pieces (rows.fanout): the bytes of encoding each whole row."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.rows.columns import Column
from target_adobe_s3.rows.fanout import column_runs, spliced_rows
from target_adobe_s3.rows.tally import Tally
from target_adobe_s3.rows.writer import StreamWriter
from tests.unit.test_writer import RowSettings, Sink

DIALECTS = [
    CsvDialect(),
    CsvDialect(delimiter=",", null_value="null", empty_value='""'),
    CsvDialect(quote=""),
    CsvDialect(quote_all=True, delimiter="|"),
]


def test_columns_split_into_runs_of_the_records_and_the_members() -> None:
    assert column_runs(5, {1: 0, 3: 2, 4: 3}) == [
        (False, [0]),
        (True, [1]),
        (False, [2]),
        (True, [3, 4]),
    ]
    assert column_runs(3, {}) == [(False, [0, 1, 2])]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "member_at",
    [{3: 0, 4: 1, 5: 2}, {0: 0, 1: 3}, {0: 2, 2: 0, 5: 1}, {1: 0}, {5: 3}],
    ids=["last", "first", "interleaved", "one-inside", "one-last"],
)
def test_spliced_lines_are_the_whole_rows_lines(
    dialect: CsvDialect, member_at: dict[int, int]
) -> None:
    width = 6
    schema = {"properties": {f"c{i}": {"type": ["object", "string", "null"]} for i in range(width)}}
    columns = [Column((f"c{i}",), f"c{i}") for i in range(width)]
    csv = CsvFormat(dialect)
    whole = csv.stream_encoder("s", columns, schema)

    def encoder_of(indexes: Sequence[int]) -> Any:
        return csv.stream_encoder("s", [columns[i] for i in indexes], schema)

    assert csv.field_separator is not None
    splice = spliced_rows(width, member_at, encoder_of, csv.field_separator)
    assert splice is not None
    pieces = ["ab", "é", " ", '"', "\\", "\n", "\r", ",", "|", "\t", '{"k":"v"}', ""]
    rng = random.Random(7)

    def text() -> str | None:
        return None if rng.random() < 0.2 else "".join(rng.sample(pieces, rng.randint(1, 3)))

    for _ in range(150):
        own = [text() for _ in range(width)]
        line_of = splice(own)
        for _ in range(3):
            member = [text() for _ in range(4)]
            row = [member[member_at[i]] if i in member_at else own[i] for i in range(width)]
            assert line_of(member) == whole(row), row


def test_nothing_to_splice_when_every_column_or_none_is_the_members() -> None:
    def encoder_of(indexes: Sequence[int]) -> Any:
        raise AssertionError("not asked for")

    assert spliced_rows(2, {0: 0, 1: 1}, encoder_of, b",") is None
    assert spliced_rows(2, {}, encoder_of, b",") is None


FIELD_ORDERS = [
    ("email", "n", "address", "segment_id", "segment_name", "segment_status"),
    ("segment_id", "email", "last_qualification_time", "n", "address"),
    ("segment_status", "segment_id"),
]


@pytest.mark.parametrize("names", FIELD_ORDERS, ids=["members-last", "interleaved", "only-members"])
@pytest.mark.parametrize("dialect", DIALECTS[:3])
def test_the_fanned_writer_writes_what_the_general_path_writes(
    names: tuple[str, ...], dialect: CsvDialect
) -> None:
    schema = {
        "properties": {
            "email": {"type": ["string", "null"]},
            "n": {"type": ["number", "null"]},
            "address": {"type": ["object", "null"]},
            "segmentMembership": {"type": ["object", "null"]},
        }
    }
    settings = RowSettings(fields=tuple((name, None) for name in names), formula_escape=True)
    records: list[dict[str, Any]] = [
        {"email": 'a"x', "n": 1.5, "address": {"s": 'q"'}, "segmentMembership": {"ups": {
            "s1": {"status": "realized", "lastQualificationTime": "2024-01-02T03:04:05Z"},
            "=s2": {"status": "existing", "lastQualificationTime": 1700000000},
            "s3": {"status": "exited"},
        }}},
        {"email": None, "n": None, "address": None, "segmentMembership": {"ups": {"s1": None}}},
    ]  # fmt: skip
    sinks = (Sink(), Sink())
    writers = [
        StreamWriter(
            "m",
            schema,
            settings=settings,
            sink=sink,
            tally=Tally(),
            file_format=CsvFormat(dialect),
            progress=lambda _: None,
            typed=True,
        )
        for sink in sinks
    ]
    for record in records:
        writers[0].write(record)
        StreamWriter.write(writers[1], record)
    assert sinks[0].rows == sinks[1].rows
    assert sorted(sinks[0].rows) == ["=s2", "s1"]
    assert sum(map(len, sinks[0].rows.values())) == 3
