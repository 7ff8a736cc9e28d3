"""The FileFormat seam: the registry, and what CSV and NDJSON answer through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

from target_adobe_s3.formats import base
from target_adobe_s3.formats.base import (
    FileFormat,
    FormatOptions,
    RowEncoder,
    build_format,
    file_types,
    get_format,
    register_format,
)
from target_adobe_s3.formats.csv import CsvFormat
from target_adobe_s3.formats.dialect import CsvDialect
from target_adobe_s3.formats.ndjson import NdjsonFormat

DEFAULT = CsvDialect()


@dataclass(frozen=True)
class Options:
    file_type: str = "csv"
    dialect: CsvDialect = DEFAULT
    compression: str = "none"


def test_csv_and_json_are_registered() -> None:
    assert file_types()[:2] == ("csv", "json")
    assert isinstance(build_format(Options()), CsvFormat)
    assert isinstance(build_format(Options(file_type="json")), NdjsonFormat)


def test_an_unknown_file_type_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"^file_type must be one of csv, json, parquet; got 'xml'$"
    ):
        get_format("xml")


def test_a_file_type_is_registered_once() -> None:
    with pytest.raises(ValueError, match=r"^file type 'csv' is registered already$"):
        register_format("csv", CsvFormat.from_options)


def test_a_new_format_is_one_class_and_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_FORMATS", dict(base._FORMATS))

    class Lines(FileFormat):
        file_type = "lines"
        extension = ".txt"
        content_type = "text/plain"
        text_fields = True

        def header_bytes(self, header: Sequence[str]) -> bytes:
            return ("#" + ",".join(header) + "\n").encode()

        def row_encoder(self, header: Sequence[str]) -> RowEncoder:
            return lambda row: (",".join(row) + "\n").encode()

    def make(options: FormatOptions) -> FileFormat:
        return Lines()

    register_format("lines", make)
    made = build_format(Options(file_type="lines"))
    assert made.header_bytes(["a", "b"]) == b"#a,b\n"
    assert made.row_encoder(["a", "b"])(["1", "2"]) == b"1,2\n"


def test_csv_format() -> None:
    csv = build_format(Options(dialect=CsvDialect(delimiter=",")))
    assert (csv.extension, csv.content_type, csv.text_fields) == (
        ".csv",
        "text/csv; charset=utf-8",
        True,
    )
    assert csv.header_bytes(("Email", "a,b")) == b'Email,"a,b"\n'
    assert csv.row_encoder(("Email", "Name"))(["é@x.com", None]) == "é@x.com,\n".encode()


def test_csv_without_header_starts_with_nothing() -> None:
    csv = build_format(Options(dialect=CsvDialect(header=False)))
    assert csv.header_bytes(("Email",)) == b""


def test_ndjson_format() -> None:
    ndjson = build_format(Options(file_type="json"))
    assert (ndjson.extension, ndjson.content_type, ndjson.text_fields) == (
        ".json",
        "application/x-ndjson",
        False,
    )
    assert ndjson.header_bytes(("a",)) == b""
    encode = ndjson.row_encoder(("b", "a"))
    assert encode([Decimal("1.50"), {"x": None}]) == b'{"b":1.50,"a":{"x":null}}\n'
