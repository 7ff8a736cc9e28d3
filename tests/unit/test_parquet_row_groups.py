"""Parquet files from row bytes: bounded row groups, chunks cut anywhere, the shared budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from target_adobe_s3.formats import parquet
from target_adobe_s3.formats.parquet import Budget, Layout, ParquetFormat, RowGroups
from target_adobe_s3.formats.parquet_types import ColumnType, column_type, compile_row_encoder
from target_adobe_s3.rows.columns import Column
from tests.support.parquet_read import arrow_table, codecs, duckdb_read, row_groups

SPECS = {
    "email": {"type": ["string", "null"]},
    "age": {"type": ["integer", "null"]},
    "price": {"type": "number", "multipleOf": 0.01},
    "seen": {"type": "string", "format": "date-time"},
}
TYPES = [column_type(spec) for spec in SPECS.values()]
HEADER = tuple(SPECS)


def rows_bytes(count: int) -> bytes:
    encode = compile_row_encoder("s", list(HEADER), list(HEADER), TYPES)
    return b"".join(
        encode([f"m{i}@x.com", i if i % 3 else None, Decimal(i) / 100, "2024-05-01T00:00:00Z"])
        for i in range(count)
    )


def write_file(data: bytes, chunk: int, budget: Budget | None = None) -> bytes:
    out = bytearray()
    groups = RowGroups(out.extend, Layout(HEADER, TYPES), codec="zstd", budget=budget or Budget())
    for start in range(0, len(data), chunk):
        groups.write(data[start : start + chunk])
    groups.close()
    return bytes(out)


@pytest.mark.parametrize("chunk", [1, 7, 8192, 10**9])
def test_rows_cut_anywhere_come_out_whole(chunk: int, tmp_path: Path) -> None:
    data = write_file(rows_bytes(300), chunk)
    table = arrow_table(data)
    assert table.num_rows == 300
    assert table.column("email").to_pylist() == [f"m{i}@x.com" for i in range(300)]
    assert table.column("age").to_pylist() == [i if i % 3 else None for i in range(300)]
    assert table.column("price").to_pylist()[123] == Decimal("1.23")
    _, rows = duckdb_read(data, tmp_path, "SELECT count(*), count(age), sum(price) FROM f")
    assert rows == [(300, 200, Decimal("448.50"))]
    assert codecs(data) == {"ZSTD"}


def test_row_groups_are_bounded_in_rows_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "GROUP_ROWS", 100)
    assert row_groups(write_file(rows_bytes(250), 10**9)) == [100, 100, 50]
    assert row_groups(write_file(rows_bytes(250), 64)) == [100, 100, 50]
    monkeypatch.setattr(parquet, "GROUP_ROWS", 10**6)
    monkeypatch.setattr(parquet, "GROUP_BYTES", 2000)
    data = rows_bytes(250)
    longest = max(len(line) + 1 for line in data.split(b"\n"))
    sizes = row_groups(write_file(data, 64))
    assert sum(sizes) == 250
    assert len(sizes) > 5
    # A group is written once the rows held reach GROUP_BYTES: at most a chunk past it.
    assert max(sizes) * min(len(line) + 1 for line in data.split(b"\n")[:-1]) < 2000 + 64
    assert longest < 64


def test_past_the_shared_budget_the_part_written_flushes() -> None:
    data = rows_bytes(8)
    half = data.index(b"\n", len(data) // 2) + 1
    budget = Budget(limit=2 * half)
    out_a, out_b = bytearray(), bytearray()
    layout = Layout(HEADER, TYPES)
    a = RowGroups(out_a.extend, layout, codec="none", budget=budget)
    b = RowGroups(out_b.extend, layout, codec="none", budget=budget)
    a.write(data[:half])
    b.write(data[:half])
    assert budget.held == 2 * half
    assert a.buffered == half
    b.write(data[half:])  # over the budget: b writes its rows
    assert b.buffered == 0
    assert budget.held == half
    a.abort()
    assert budget.held == 0
    b.close()
    assert arrow_table(bytes(out_b)).num_rows == 8


def test_a_file_without_rows_has_the_schema_and_no_row(tmp_path: Path) -> None:
    data = write_file(b"", 10)
    table = arrow_table(data)
    assert table.num_rows == 0
    assert table.schema.names == list(HEADER)
    columns, rows = duckdb_read(data, tmp_path, "SELECT count(*) FROM f")
    assert columns == [
        ("email", "VARCHAR"),
        ("age", "BIGINT"),
        ("price", "DECIMAL(38,2)"),
        ("seen", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert rows == [(0,)]


def test_the_first_stream_fixes_a_headers_types() -> None:
    fmt = ParquetFormat("snappy")
    columns = [Column(("age",), "age")]
    fmt.stream_encoder("a", columns, {"properties": {"age": {"type": "integer"}}})
    fmt.stream_encoder("b", columns, {"properties": {"age": {"type": ["integer", "null"]}}})
    with pytest.raises(Exception, match=r"'age' int64 → string") as caught:
        fmt.stream_encoder("c", columns, {"properties": {"age": {"type": "string"}}})
    assert str(caught.value).startswith(
        "stream 'c': its Parquet columns have other types than stream 'a' gave"
    )


def test_parquet_compresses_inside_the_file_only() -> None:
    fmt = ParquetFormat("gzip")
    assert fmt.outer_compression("gzip") == "none"
    assert fmt.codec == "gzip"
    assert fmt.header_bytes(("a",)) == b""
    out = bytearray()
    transform = fmt.part_transform(("never", "typed"))
    groups = transform(out.extend)
    groups.write(b'["x",null]\n')
    groups.close()
    table = arrow_table(bytes(out))
    assert [str(t) for t in table.schema.types] == ["string", "string"]
    assert codecs(bytes(out)) == {"GZIP"}
    assert ColumnType("text").describe() == "string"
