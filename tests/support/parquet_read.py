"""Read Parquet files back with two independent readers: pyarrow and DuckDB."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq


def arrow_table(data: bytes) -> pa.Table:
    """The file as pyarrow reads it."""
    return pq.read_table(pa.BufferReader(data))


def codecs(data: bytes) -> set[str]:
    """The compression codec of every column chunk (`UNCOMPRESSED`, `SNAPPY`, `GZIP`, `ZSTD`)."""
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    return {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }


def row_groups(data: bytes) -> list[int]:
    """Rows in each row group, in file order."""
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]


def duckdb_read(
    data: bytes, directory: Path, query: str = "SELECT * FROM f"
) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """DuckDB's (column, type) list and the rows of `query` over the file (named `f`)."""
    path = directory / f"{uuid.uuid4().hex}.parquet"
    path.write_bytes(data)
    try:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{path}')")
        columns = [(row[0], row[1]) for row in con.execute("DESCRIBE f").fetchall()]
        rows = con.execute(query).fetchall()
        con.close()
    finally:
        path.unlink()
    return columns, rows
